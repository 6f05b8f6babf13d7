/*
 * test_kql_fn_str.c - unit tests of Kusto's string predicates (kql_str.c),
 * the regex cache, and the string functions of kql_fn_str.c called through
 * their table rows, with the examples of Kusto's documentation as cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_val.h"

static vg_arena A;
static vg_diag D;
static kql_ctx C;

static int setup(void **state)
{
    vg_arena_init(&A, 0, 0);
    memset(&C, 0, sizeof C);
    C.arena = &A;
    C.diag = &D;
    D.msg[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    kql_ctx_free_regexes(&C);
    assert_null(C.regexes);
    vg_arena_free(&A);
    return 0;
}

static const kql_fn_def *def(const char *name)
{
    for (size_t i = 0; i < kql_fn_str_ndefs; i++)
        if (strcmp(kql_fn_str_defs[i].name, name) == 0)
            return &kql_fn_str_defs[i];
    fail_msg("no function %s", name);
    return NULL;
}

static kql_val S(const char *s) { return kql_string(vg_str_c(s)); }
static kql_val L(int64_t i) { return kql_long(i); }

#define CALL(name, ...)                                                                    \
    call_fn(name, (kql_val[]){ __VA_ARGS__ },                                              \
            (uint32_t)(sizeof((kql_val[]){ __VA_ARGS__ }) / sizeof(kql_val)))

static kql_val call_fn(const char *name, const kql_val *args, uint32_t n)
{
    const kql_fn_def *d = def(name);
    assert_true(n >= d->min_args && n <= d->max_args);
    kql_val r = d->fn(&C, args, n);
    if (d->ret != KQL_T_ANY)
        assert_int_equal(r.t, d->ret);
    return r;
}

/* The value's text (JSON for dynamics) as a C string in the arena. */
static const char *txt(kql_val v)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    if (v.t == VG_T_DYNAMIC)
        kql_val_json(&b, v);
    else
        kql_val_text(&b, v);
    char *s = vg_arena_memdup(&A, b.p ? b.p : "", b.n);
    vg_buf_free(&b);
    return s;
}

#define EQ(expr, want) assert_string_equal(txt(expr), want)

static bool has(const char *h, const char *n) { return kql_str_has(vg_str_c(h), vg_str_c(n), false); }
static bool has_cs(const char *h, const char *n) { return kql_str_has(vg_str_c(h), vg_str_c(n), true); }

static void test_predicates(void **state)
{
    assert_true(has("North America", "america"));
    assert_false(has_cs("North America", "america"));
    assert_true(has_cs("North America", "America"));
    assert_true(has("a-b", "a-b"));
    assert_false(has("abcd", "bc"));
    assert_false(has("abcd", "abc"));
    assert_true(has("abc def", "def"));
    assert_true(has("x abc-def y", "abc-def"));
    assert_false(has("xabc-def y", "abc-def"));
    assert_false(has("x abc-defy", "abc-def"));
    assert_true(has("abc-def", "-def"));      /* leading separator: no start boundary */
    assert_true(has("abc-def", "abc-"));
    assert_true(has("anything", ""));
    assert_true(has("", ""));
    assert_false(has("", "a"));
    assert_true(has("cmd.exe /c whoami", "cmd.exe"));
    assert_true(has("C:\\Windows\\System32\\cmd.exe", "system32"));
    assert_false(has("C:\\Windows\\System32x\\cmd.exe", "system32"));
    /* the first occurrence is inside a term, a later one is aligned */
    assert_true(has("xfoo foo", "foo"));
    assert_true(has("foofoo foo", "foo"));
    assert_true(has("caf\xc3\xa9 bar", "caf\xc3\xa9"));
    assert_false(has("caf\xc3\xa9 bar", "caf"));   /* é continues the term */

    vg_str h = VG_STR_LIT("North America");
    assert_true(kql_str_hasprefix(h, VG_STR_LIT("ame"), false));
    assert_false(kql_str_hasprefix(h, VG_STR_LIT("mer"), false));
    assert_false(kql_str_hasprefix(h, VG_STR_LIT("ame"), true));
    assert_true(kql_str_hassuffix(h, VG_STR_LIT("rth"), false));
    assert_true(kql_str_hassuffix(h, VG_STR_LIT("ica"), false));
    assert_false(kql_str_hassuffix(h, VG_STR_LIT("ric"), false));
    assert_true(kql_str_hasprefix(h, VG_STR_LIT(""), false));

    assert_true(kql_str_contains(VG_STR_LIT("FabriKam"), VG_STR_LIT("BRik"), false));
    assert_false(kql_str_contains(VG_STR_LIT("FabriKam"), VG_STR_LIT("BRik"), true));
    assert_true(kql_str_contains(VG_STR_LIT("FabriKam"), VG_STR_LIT("Kam"), true));
    assert_false(kql_str_contains(VG_STR_LIT("Fabrikam"), VG_STR_LIT("xyz"), false));
    assert_true(kql_str_contains(VG_STR_LIT("abc"), VG_STR_LIT(""), false));
    assert_false(kql_str_contains(VG_STR_LIT(""), VG_STR_LIT("a"), false));
    assert_false(kql_str_contains(VG_STR_LIT("ab"), VG_STR_LIT("abc"), false));
    /* non-letters must not match through the | 0x20 fold ('@' vs '`', '\r' vs '-') */
    assert_false(kql_str_contains(VG_STR_LIT("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`a`xxxxxxxxxxxxxx"),
                                  VG_STR_LIT("@a@"), false));
    assert_false(kql_str_contains(VG_STR_LIT("-x-"), VG_STR_LIT("\rx\r"), false));
    assert_true(kql_str_endswith(VG_STR_LIT("Fabrikam"), VG_STR_LIT("Kam"), false));
    assert_false(kql_str_endswith(VG_STR_LIT("Fabrikam"), VG_STR_LIT("Kam"), true));
    assert_true(kql_str_startswith(VG_STR_LIT("Fabrikam"), VG_STR_LIT("fab"), false));
    assert_false(kql_str_startswith(VG_STR_LIT("Fabrikam"), VG_STR_LIT("fab"), true));
    assert_true(kql_str_startswith(VG_STR_LIT("x"), VG_STR_LIT(""), true));
    assert_false(kql_str_startswith(VG_STR_LIT("x"), VG_STR_LIT("xy"), false));

    /* long haystacks: every position of the SIMD loop and the tail */
    char big[200];
    for (size_t len = 1; len < 40; len++) {
        for (size_t pos = 0; pos + 6 <= sizeof big - 1; pos += 7) {
            memset(big, 'a', sizeof big);
            memcpy(big + pos, "PowerS", 6);
            vg_str hay = vg_str_make(big, sizeof big);
            assert_true(kql_str_contains(hay, VG_STR_LIT("powers"), false));
            assert_false(kql_str_contains(hay, VG_STR_LIT("powerz"), false));
            assert_true(kql_str_contains(hay, VG_STR_LIT("PowerS"), true));
            assert_false(kql_str_contains(hay, VG_STR_LIT("powers"), true));
            hay.n = pos + 5;   /* the needle is cut by the end */
            assert_false(kql_str_contains(hay, VG_STR_LIT("powers"), false));
        }
    }
}

static void test_regex_cache(void **state)
{
    kql_regex *r1 = kql_regex_get(&C, VG_STR_LIT("a(b+)c"));
    assert_non_null(r1);
    assert_ptr_equal(kql_regex_get(&C, VG_STR_LIT("a(b+)c")), r1);
    assert_int_equal(kql_regex_groups(r1), 1);
    size_t ov[4];
    assert_int_equal(kql_regex_match(r1, VG_STR_LIT("xxabbbc"), 0, ov, 2), 2);
    assert_int_equal(ov[0], 2);
    assert_int_equal(ov[1], 7);
    assert_int_equal(ov[2], 3);
    assert_int_equal(ov[3], 6);
    assert_int_equal(kql_regex_match(r1, VG_STR_LIT("xxabbbc"), 3, ov, 2), 0);

    assert_null(kql_regex_get(&C, VG_STR_LIT("a(b")));
    assert_int_equal(C.err, VG_EPARSE);
    assert_non_null(strstr(D.msg, "invalid regular expression 'a(b'"));
    assert_non_null(strstr(D.msg, "at offset 3"));
    C.err = VG_OK;

    /* catastrophic backtracking stops with an error, not a hang */
    kql_regex *bad = kql_regex_get(&C, VG_STR_LIT("(a+)+$"));
    assert_non_null(bad);
    char subj[64];
    memset(subj, 'a', sizeof subj - 1);
    subj[sizeof subj - 1] = 'b';
    int rc = kql_regex_match(bad, vg_str_make(subj, sizeof subj), 0, ov, 1);
    assert_true(rc < 0);
    assert_int_equal(C.err, VG_ELIMIT);
    C.err = VG_OK;

    /* many distinct patterns: the cache stays bounded and keeps working */
    for (int i = 0; i < 600; i++) {
        char p[32];
        int n = snprintf(p, sizeof p, "x%d", i);
        kql_regex *r = kql_regex_get(&C, vg_str_make(p, (size_t)n));
        assert_non_null(r);
        assert_int_equal(kql_regex_match(r, vg_str_make(p, (size_t)n), 0, ov, 1), 1);
    }
}

static void test_basic_fns(void **state)
{
    EQ(CALL("strlen", S("hello")), "5");
    EQ(CALL("strlen", S("\xe2\x92\xa6\xe2\x92\xb0")), "2");
    EQ(CALL("string_size", S("\xe2\x92\xa6\xe2\x92\xb0")), "6");
    EQ(CALL("strlen", L(1234)), "4");
    EQ(CALL("substring", S("123456"), L(1)), "23456");
    EQ(CALL("substring", S("123456"), L(2), L(2)), "34");
    EQ(CALL("substring", S("ABCD"), L(0), L(2)), "AB");
    EQ(CALL("substring", S("123456"), L(-2), L(2)), "56");
    EQ(CALL("substring", S("123456"), L(10)), "");
    EQ(CALL("substring", S("123456"), L(-10), L(2)), "12");
    EQ(CALL("substring", S("123456"), L(2), L(100)), "3456");
    EQ(CALL("substring", S("123456"), L(2), L(-1)), "");
    EQ(CALL("substring", S("123456"), kql_null(VG_T_LONG)), "");
    EQ(CALL("substring", S("\xc3\xa9t\xc3\xa9"), L(1), L(2)), "t\xc3\xa9");
    EQ(CALL("tolower", S("HeLLo 1")), "hello 1");
    EQ(CALL("toupper", S("HeLLo 1")), "HELLO 1");
    EQ(CALL("reverse", S("ABCD")), "DCBA");
    EQ(CALL("reverse", S("a\xc3\xa9z")), "z\xc3\xa9" "a");
    EQ(CALL("reverse", L(123)), "321");
    EQ(CALL("tostring", L(123)), "123");
    EQ(CALL("tostring", kql_null(VG_T_LONG)), "");
    EQ(CALL("isempty", S("")), "true");
    EQ(CALL("isempty", S("x")), "false");
    EQ(CALL("isempty", kql_null(VG_T_LONG)), "true");
    EQ(CALL("isempty", L(0)), "false");
    EQ(CALL("isnotempty", S("x")), "true");
    EQ(CALL("isnotempty", kql_null(VG_T_DATETIME)), "false");
    EQ(CALL("strcmp", S("ABC"), S("ABC")), "0");
    EQ(CALL("strcmp", S("abc"), S("ABC")), "1");
    EQ(CALL("strcmp", S("ABC"), S("abc")), "-1");
    EQ(CALL("strcmp", S("abcde"), S("abc")), "1");
}

static void test_concat_split(void **state)
{
    EQ(CALL("strcat", S("hello"), S(" "), S("world")), "hello world");
    EQ(CALL("strcat", S("a"), L(1), kql_real(1.5), kql_bool(true), kql_null(VG_T_LONG)), "a11.5true");
    EQ(CALL("strcat_delim", S("-"), S("1"), S("2"), S("A"), L(1)), "1-2-A-1");
    EQ(CALL("strcat_delim", S(":"), S("a")), "a");
    const vg_json *arr = kql_dyn_parse(&A, VG_STR_LIT("[1, \"b\", null, {\"k\":1}]"));
    EQ(CALL("strcat_array", kql_dynamic(arr), S("-")), "1-b--{\"k\":1}");
    EQ(CALL("strcat_array", kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("[]"))), S("-")), "");
    EQ(CALL("strcat_array", S("notarray"), S("-")), "");

    EQ(CALL("split", S("aa_bb"), S("_")), "[\"aa\",\"bb\"]");
    EQ(CALL("split", S("aaa_bbb_ccc"), S("_"), L(1)), "[\"bbb\"]");
    EQ(CALL("split", S(""), S("_")), "[\"\"]");
    EQ(CALL("split", S("a__b"), S("_")), "[\"a\",\"\",\"b\"]");
    EQ(CALL("split", S("aabbcc"), S("bb")), "[\"aa\",\"cc\"]");
    EQ(CALL("split", S("aabbcc"), S("x")), "[\"aabbcc\"]");
    EQ(CALL("split", S("a_b"), S("_"), L(5)), "[]");
    EQ(CALL("split", S("_a_"), S("_")), "[\"\",\"a\",\"\"]");
}

static void test_trim_replace(void **state)
{
    EQ(CALL("trim", S("--"), S("--https://bing.com--")), "https://bing.com");
    EQ(CALL("trim", S("[^\\w]+"), S("- Te st1// $")), "Te st1");
    EQ(CALL("trim_start", S("[^\\w]+"), S("-  Te st1")), "Te st1");
    EQ(CALL("trim_start", S("\\d+"), S("123abc123")), "abc123");
    EQ(CALL("trim_end", S("\\d+"), S("123abc123")), "123abc");
    EQ(CALL("trim_end", S("[^\\w]+"), S("bing.com//  ")), "bing.com");
    EQ(CALL("trim", S("\\s"), S("  x  ")), "x");
    EQ(CALL("trim", S("x"), S("xxxx")), "");

    EQ(CALL("replace_string", S("A magic trick can turn a cat into a dog"), S("cat"), S("hamster")),
       "A magic trick can turn a hamster into a dog");
    EQ(CALL("replace_string", S("aaa"), S("aa"), S("b")), "ba");
    EQ(CALL("replace_string", S("abc"), S(""), S("x")), "abc");
    EQ(CALL("replace_regex", S("Number is 1"), S("is (\\d+)"), S("was: \\1")), "Number was: 1");
    EQ(CALL("replace_regex", S("a1b22c333"), S("\\d+"), S("#")), "a#b#c#");
    EQ(CALL("replace_regex", S("abc"), S("x*"), S("-")), "-a-b-c-");
    EQ(CALL("replace_regex", S("hello"), S("(l+)"), S("[\\0|\\1]")), "he[ll|ll]o");
    EQ(CALL("replace_regex", S("abc"), S("("), S("-")), "");
    assert_int_equal(C.err, VG_EPARSE);
    C.err = VG_OK;
}

static void test_regex_fns(void **state)
{
    EQ(CALL("extract", S("x=([0-9.]+)"), L(1), S("hello x=45.6|wo")), "45.6");
    EQ(CALL("extract", S("x=([0-9.]+)"), L(0), S("hello x=45.6|wo")), "x=45.6");
    EQ(CALL("extract", S("x=([0-9.]+)"), L(2), S("hello x=45.6|wo")), "");
    EQ(CALL("extract", S("x=([0-9.]+)"), L(1), S("nothing")), "");
    EQ(CALL("extract", S("(a)|(b)"), L(1), S("b")), "");

    EQ(CALL("extract_all", S("(\\d+)"), S("a1 b22 c333")), "[\"1\",\"22\",\"333\"]");
    EQ(CALL("extract_all", S("\\d+"), S("a1 b22")), "[\"1\",\"22\"]");
    EQ(CALL("extract_all", S("(\\w)(\\d+)"), S("a1 b22")), "[[\"a\",\"1\"],[\"b\",\"22\"]]");
    EQ(CALL("extract_all", S("(\\d+)"), S("none")), "null");
    EQ(CALL("extract_all", S("([\\da-f]{2})([\\da-f]{2})"),
            kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("[2]"))), S("82b8be2d")),
       "[\"b8\",\"2d\"]");
    EQ(CALL("extract_all", S("([\\da-f]{2})([\\da-f]{2})"),
            kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("[2,1]"))), S("82b8be2d")),
       "[[\"b8\",\"82\"],[\"2d\",\"be\"]]");

    EQ(CALL("countof", S("aaa"), S("a")), "3");
    EQ(CALL("countof", S("aaaa"), S("aa")), "3");
    EQ(CALL("countof", S("aaaa"), S("aa"), S("normal")), "3");
    EQ(CALL("countof", S("aaaa"), S("aa"), S("regex")), "2");
    EQ(CALL("countof", S("abcabc"), S("a.c"), S("regex")), "2");
    EQ(CALL("countof", S("ababa"), S("ab"), S("normal")), "2");
    EQ(CALL("countof", S("ababa"), S("aba")), "2");
    EQ(CALL("countof", S("ababa"), S("aba"), S("regex")), "1");
    EQ(CALL("countof", S("The cat sat on the mat"), S("at")), "3");
    EQ(CALL("countof", S("abc"), S("b"), S("bogus")), "");
    EQ(CALL("countof", S("abc"), S("")), "0");

    EQ(CALL("indexof", S("abcdefg"), S("cde")), "2");
    EQ(CALL("indexof", S("abcdefg"), S("cde"), L(1), L(4)), "2");
    EQ(CALL("indexof", S("abcdefg"), S("cde"), L(1), L(2)), "-1");
    EQ(CALL("indexof", S("abcdefg"), S("cde"), L(3), L(4)), "-1");
    EQ(CALL("indexof", S("abcdefg"), S("cde"), L(-5)), "2");
    EQ(CALL("indexof", L(1234567), L(5), L(1), L(4)), "4");
    EQ(CALL("indexof", S("abcdefg"), S("cde"), L(2), L(-1)), "2");
    EQ(CALL("indexof", S("abcdefgabcdefg"), S("cde"), L(1), L(10), L(2)), "9");
    EQ(CALL("indexof", S("abcdefgabcdefg"), S("cde"), L(1), L(-1), L(3)), "-1");
    EQ(CALL("indexof", S("abc"), S("b"), L(0), L(-2)), "");
    EQ(CALL("indexof", S("Hello, world, hello!"), S("lo"), L(5)), "17");
    EQ(CALL("indexof", S("\xc3\xa9" "abc"), S("b")), "2");
}

static void test_encodings(void **state)
{
    EQ(CALL("base64_encode_tostring", S("Kusto")), "S3VzdG8=");
    EQ(CALL("base64_encode_tostring", S("Kusto1")), "S3VzdG8x");
    EQ(CALL("base64_encode_tostring", S("Kusto12")), "S3VzdG8xMg==");
    EQ(CALL("base64_encode_tostring", S("")), "");
    EQ(CALL("base64_decode_tostring", S("S3VzdG8=")), "Kusto");
    EQ(CALL("base64_decode_tostring", S("S3VzdG8xMg==")), "Kusto12");
    EQ(CALL("base64_decode_tostring", S("S3V$dG8=")), "");
    EQ(CALL("url_encode", S("https://www.bing.com/")), "https%3a%2f%2fwww.bing.com%2f");
    EQ(CALL("url_encode", S("a b&c")), "a+b%26c");
    EQ(CALL("url_decode", S("https%3a%2f%2fwww.bing.com%2f")), "https://www.bing.com/");
    EQ(CALL("url_decode", S("a+b%2")), "a b%2");
    EQ(CALL("url_decode", S("%zz%")), "%zz%");

    EQ(CALL("hash_sha256", S("World")), "78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524");
    EQ(CALL("hash_md5", S("World")), "f5a7924e621e84c9280a9a27e1bcb7f6");
    EQ(CALL("hash_sha1", S("World")), "70c07ec18ef89c5309bbb0937f3a6342411e1fdd");
    EQ(CALL("hash_sha256", kql_null(VG_T_LONG)), "");

    EQ(CALL("tohex", L(256)), "100");
    EQ(CALL("tohex", L(-546)), "fffffffffffffdde");
    EQ(CALL("tohex", kql_int(-546)), "fffffdde");
    EQ(CALL("tohex", L(546), L(8)), "00000222");
    EQ(CALL("tohex", kql_null(VG_T_LONG)), "");
}

static void test_parse_command_line(void **state)
{
    EQ(CALL("parse_command_line", S("echo \"hello world!\" print$?"), S("windows")),
       "[\"echo\",\"hello world!\",\"print$?\"]");
    EQ(CALL("parse_command_line", S("\"C:\\Program Files\\a.exe\" -x \"a\\\"b\" c\\\\\\\"d e\\\\\"f g\""),
            S("windows")),
       "[\"C:\\\\Program Files\\\\a.exe\",\"-x\",\"a\\\"b\",\"c\\\\\\\"d\",\"e\\\\f g\"]");
    EQ(CALL("parse_command_line", S("a\\b c\\\\d"), S("windows")), "[\"a\\\\b\",\"c\\\\\\\\d\"]");
    EQ(CALL("parse_command_line", S("cmd \"a\"\"b\" \"\""), S("windows")), "[\"cmd\",\"a\\\"b\",\"\"]");
    EQ(CALL("parse_command_line", S("  "), S("windows")), "[\"\"]");
    EQ(CALL("parse_command_line", S(""), S("windows")), "[]");
    EQ(CALL("parse_command_line", S("x"), S("linux")), "null");
    EQ(CALL("parse_command_line", S("\"unterminated arg"), S("windows")), "[\"unterminated arg\"]");
}

/* Every function with arguments of every kind (nulls, odd strings, huge and
 * negative numbers, dynamics): no crash, results of the declared type. */
static void test_robust(void **state)
{
    const vg_json *arr = kql_dyn_parse(&A, VG_STR_LIT("[1, \"a\", [2], {\"k\": null}]"));
    const kql_val vals[] = {
        S(""), S("a"), S("a(b)c"), S("("), S("\\"), S("%"), S("%4"), S("\"\\\""), S("=="),
        S("x\xff\xfe\xc3"), S("S3VzdG8="), S("windows"), S("regex"), S("(a*)*"), S(".*"),
        L(0), L(-1), L(1), L(INT64_MAX), L(INT64_MIN), kql_int(-5), kql_real(1e300), kql_real(-0.5),
        kql_null(VG_T_LONG), kql_null(VG_T_STRING), kql_null(VG_T_DYNAMIC), kql_null(VG_T_REAL),
        kql_bool(true), kql_datetime(0), kql_timespan(-1), kql_dynamic(arr),
        kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("[1]"))),
    };
    const size_t nv = sizeof vals / sizeof vals[0];
    uint32_t rnd = 12345;
    for (size_t f = 0; f < kql_fn_str_ndefs; f++) {
        const kql_fn_def *d = &kql_fn_str_defs[f];
        uint32_t maxn = d->max_args > 4 ? 4 : d->max_args;
        for (int iter = 0; iter < 3000; iter++) {
            kql_val args[4];
            rnd = rnd * 1103515245u + 12345u;
            uint32_t n = d->min_args + (rnd >> 16) % (maxn - d->min_args + 1);
            for (uint32_t i = 0; i < n; i++) {
                rnd = rnd * 1103515245u + 12345u;
                args[i] = vals[(rnd >> 16) % nv];
            }
            kql_val r = d->fn(&C, args, n);
            if (d->ret != KQL_T_ANY)
                assert_int_equal(r.t, d->ret);
            if (r.t == VG_T_STRING)
                assert_non_null(r.u.s.p);
            (void)txt(r);
            C.err = VG_OK;
        }
    }
}

static void test_table(void **state)
{
    /* every row is well formed and names are unique */
    assert_true(kql_fn_str_ndefs >= 30);
    for (size_t i = 0; i < kql_fn_str_ndefs; i++) {
        const kql_fn_def *d = &kql_fn_str_defs[i];
        assert_non_null(d->fn);
        assert_non_null(d->doc);
        assert_true(d->min_args <= d->max_args);
        assert_true(d->ret != KQL_T_ANY || d->typer != NULL);
        for (size_t j = i + 1; j < kql_fn_str_ndefs; j++)
            assert_string_not_equal(d->name, kql_fn_str_defs[j].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_predicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_fns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concat_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex_fns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_command_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robust, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
