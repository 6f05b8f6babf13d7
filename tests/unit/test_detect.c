/*
 * test_detect.c - unit tests of the Sigma matcher internals (detect_int.h):
 * globs as regexes (dt_glob_regex, through PCRE2 and through the pattern
 * databases, Hyperscan and portable) against the direct glob matcher
 * (dt_glob_match) on generated glob/value pairs with every anchor, cased and
 * not; CIDR parsing and containment; the Defender spellings of rule values
 * (dt_xform_glob); the Sigma field -> column mapping (dt_map_field); the
 * logsource routes (dt_route_for); and a hand-written rule set compiled with
 * vg_detect_build_from and run over hand-built batches, on both backends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_int.h"
#include "detect/sigma.h"

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: reproducible across runs and platforms */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 33) % n;
}

/* A printable form of bytes (for failure messages). */
static const char *show(vg_str s, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < s.n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    buf[o] = 0;
    return buf;
}

static const char *anchor_name(sg_anchor a)
{
    static const char *const n[] = { "exact", "contains", "startswith", "endswith" };
    return n[a];
}

/* Glob pieces: literals (some regex metacharacters, case pairs, a byte
 * above 0x7f, a newline), wildcards, escapes, and a lone backslash. */
static const char *const glob_tokens[] = {
    "a", "b", "A", "B", ".", "(", "+", "\n", "\xe9", "\xc9", "*", "*", "?", "\\*", "\\?", "\\\\", "\\",
    "\\a",
};
static const char value_bytes[] = { 'a', 'b', 'A', 'B', '.', '(', '+', '\n', '\xe9', '\xc9', '*', '?', '\\' };

static size_t gen_glob(char *out, size_t cap)
{
    size_t n = 0, parts = rnd(7);
    for (size_t i = 0; i < parts; i++) {
        const char *t = glob_tokens[rnd(sizeof glob_tokens / sizeof glob_tokens[0])];
        size_t tn = strlen(t);
        if (n + tn >= cap)
            break;
        memcpy(out + n, t, tn);
        n += tn;
    }
    out[n] = 0;
    return n;
}

static size_t gen_value(char *out, size_t cap, vg_str glob)
{
    /* half the values are built from the glob (wildcards filled in), so
     * that matches are common; the rest are random bytes */
    size_t n = 0;
    if (rnd(2)) {
        if (rnd(3) == 0)
            for (size_t k = rnd(3); k > 0 && n < cap - 1; k--)
                out[n++] = value_bytes[rnd(sizeof value_bytes)];
        for (size_t i = 0; i < glob.n && n < cap - 4; i++) {
            char c = glob.p[i];
            if (c == '\\' && i + 1 < glob.n && strchr("*?\\", glob.p[i + 1])) {
                out[n++] = glob.p[++i];
            } else if (c == '*') {
                for (size_t k = rnd(3); k > 0; k--)
                    out[n++] = value_bytes[rnd(sizeof value_bytes)];
            } else if (c == '?') {
                out[n++] = value_bytes[rnd(sizeof value_bytes)];
            } else if (rnd(8) == 0 && c >= 'a' && c <= 'z') {
                out[n++] = (char)(c - 32);
            } else {
                out[n++] = c;
            }
        }
        if (rnd(3) == 0)
            for (size_t k = rnd(3); k > 0 && n < cap - 1; k--)
                out[n++] = value_bytes[rnd(sizeof value_bytes)];
    } else {
        for (size_t k = rnd(9); k > 0 && n < cap - 1; k--)
            out[n++] = value_bytes[rnd(sizeof value_bytes)];
    }
    out[n] = 0;
    return n;
}

/* ---- globs: regex form through PCRE2 vs the direct matcher ---- */

static void test_glob_regex_shape(void **state)
{
    (void)state;
    vg_buf b;
    vg_buf_init(&b, 0);
    dt_glob_regex(&b, VG_STR_LIT("a*b?c.d"), SG_ANCHOR_EXACT);
    assert_string_equal(vg_buf_cstr(&b), "\\Aa.*b.c\\.d\\z");
    vg_buf_clear(&b);
    dt_glob_regex(&b, VG_STR_LIT("x\\*y\\?z\\\\w\\v"), SG_ANCHOR_CONTAINS);
    assert_string_equal(vg_buf_cstr(&b), "x\\*y\\?z\\\\w\\\\v");
    vg_buf_clear(&b);
    dt_glob_regex(&b, VG_STR_LIT("C:\\Win"), SG_ANCHOR_STARTSWITH);
    assert_string_equal(vg_buf_cstr(&b), "\\AC:\\\\Win");
    vg_buf_clear(&b);
    dt_glob_regex(&b, VG_STR_LIT("\xe9\n"), SG_ANCHOR_ENDSWITH);
    assert_string_equal(vg_buf_cstr(&b), "\\xe9\\x0a\\z");
    vg_buf_free(&b);
}

static void test_glob_match_cases(void **state)
{
    (void)state;
    static const struct {
        const char *glob;
        sg_anchor anchor;
        bool cased;
        const char *value;
        bool want;
    } c[] = {
        { "abc", SG_ANCHOR_EXACT, false, "ABC", true },
        { "abc", SG_ANCHOR_EXACT, true, "ABC", false },
        { "abc", SG_ANCHOR_EXACT, false, "abcd", false },
        { "a*c", SG_ANCHOR_EXACT, false, "ac", true },
        { "a*c", SG_ANCHOR_EXACT, false, "a\nbc", true },
        { "a?c", SG_ANCHOR_EXACT, false, "ac", false },
        { "a\\*c", SG_ANCHOR_EXACT, false, "a*c", true },
        { "a\\*c", SG_ANCHOR_EXACT, false, "abc", false },
        { "a\\\\c", SG_ANCHOR_EXACT, false, "a\\c", true },
        { "a\\c", SG_ANCHOR_EXACT, false, "a\\c", true },
        { "\\cmd.exe", SG_ANCHOR_ENDSWITH, false, "C:\\Windows\\System32\\CMD.EXE", true },
        { "\\cmd.exe", SG_ANCHOR_ENDSWITH, false, "C:\\Windows\\System32\\xcmd.exe", false },
        { "whoami", SG_ANCHOR_CONTAINS, false, "cmd /c WHOAMI /all", true },
        /* in a canonical glob a backslash before a star escapes it: "\\*" is a
         * literal star, "\\\\*" a backslash then a wildcard */
        { "C:\\Users\\*\\AppData", SG_ANCHOR_STARTSWITH, false, "c:\\users\\bob\\appdata\\x", false },
        { "C:\\Users\\*\\AppData", SG_ANCHOR_STARTSWITH, false, "c:\\users*\\appdata\\x", true },
        { "C:\\Users\\\\*\\AppData", SG_ANCHOR_STARTSWITH, false, "c:\\users\\bob\\appdata\\x", true },
        { "", SG_ANCHOR_EXACT, false, "", true },
        { "", SG_ANCHOR_EXACT, false, "x", false },
        { "", SG_ANCHOR_CONTAINS, false, "", true },
        { "*", SG_ANCHOR_EXACT, false, "", true },
        { "?", SG_ANCHOR_CONTAINS, false, "", false },
        { "\xe9", SG_ANCHOR_EXACT, false, "\xc9", false },   /* only ASCII folds */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        bool got = dt_glob_match(vg_str_c(c[i].glob), c[i].anchor, c[i].cased, vg_str_c(c[i].value));
        if (got != c[i].want)
            fail_msg("case %zu: glob '%s' %s%s on '%s': got %d", i, c[i].glob, anchor_name(c[i].anchor),
                     c[i].cased ? " cased" : "", c[i].value, got);
    }
}

#define GEN_GLOBS 1500
#define GEN_VALUES 24

static void test_glob_regex_agrees_with_match(void **state)
{
    (void)state;
    rng_state = 0x1234567887654321ull;
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    assert_non_null(md);
    vg_buf b;
    vg_buf_init(&b, 0);
    uint64_t pairs = 0, matched = 0;
    for (int gi = 0; gi < GEN_GLOBS; gi++) {
        char gbuf[64], vbufs[GEN_VALUES][64];
        size_t vlen[GEN_VALUES];
        vg_str glob = vg_str_make(gbuf, gen_glob(gbuf, sizeof gbuf));
        for (int vi = 0; vi < GEN_VALUES; vi++)
            vlen[vi] = gen_value(vbufs[vi], sizeof vbufs[vi], glob);
        for (int an = 0; an < 4; an++) {
            for (int cased = 0; cased < 2; cased++) {
                vg_buf_clear(&b);
                dt_glob_regex(&b, glob, (sg_anchor)an);
                int ec;
                PCRE2_SIZE off;
                pcre2_code *re = pcre2_compile((PCRE2_SPTR)vg_buf_cstr(&b), b.n,
                                               PCRE2_DOTALL | (cased ? 0 : PCRE2_CASELESS), &ec, &off, NULL);
                char s1[256], s2[256];
                if (!re)
                    fail_msg("glob '%s': regex /%s/ does not compile (offset %zu)",
                             show(glob, s1, sizeof s1), b.p, (size_t)off);
                for (int vi = 0; vi < GEN_VALUES; vi++) {
                    vg_str v = vg_str_make(vbufs[vi], vlen[vi]);
                    bool want = pcre2_match(re, (PCRE2_SPTR)v.p, v.n, 0, 0, md, NULL) >= 0;
                    bool got = dt_glob_match(glob, (sg_anchor)an, cased, v);
                    if (got != want)
                        fail_msg("glob '%s' %s%s on '%s': dt_glob_match %d, regex /%s/ %d",
                                 show(glob, s1, sizeof s1), anchor_name((sg_anchor)an),
                                 cased ? " cased" : "", show(v, s2, sizeof s2), got, b.p, want);
                    pairs++;
                    matched += got;
                }
                pcre2_code_free(re);
            }
        }
    }
    vg_buf_free(&b);
    pcre2_match_data_free(md);
    print_message("  %llu glob/value pairs, %llu matches\n", (unsigned long long)pairs,
                  (unsigned long long)matched);
    /* the generator must exercise both outcomes */
    assert_true(matched > pairs / 10);
    assert_true(matched < pairs * 9 / 10);
}

/* ---- globs through the pattern databases (Hyperscan and portable) ---- */

#define DB_GLOBS 120
#define DB_VALUES 40

typedef struct hitset {
    uint8_t hit[DB_GLOBS * 8];
} hitset;

static void on_db_hit(void *ctx, const dt_pat *p)
{
    hitset *h = ctx;
    for (uint32_t i = 0; i < p->ntargets; i++)
        h->hit[p->targets[i].item] = 1;
}

static void db_agrees(bool portable)
{
    rng_state = portable ? 0xabcdef0123456789ull : 0x0123456789abcdefull;
    static char gbuf[DB_GLOBS][64];
    static char vbuf[DB_VALUES][64];
    vg_str globs[DB_GLOBS], vals[DB_VALUES];
    for (int i = 0; i < DB_GLOBS; i++)
        globs[i] = vg_str_make(gbuf[i], gen_glob(gbuf[i], sizeof gbuf[i]));
    for (int i = 0; i < DB_VALUES; i++)
        vals[i] = vg_str_make(vbuf[i], gen_value(vbuf[i], sizeof vbuf[i], globs[rnd(DB_GLOBS)]));
    vals[0] = vg_str_make(vbuf[0], 0);   /* the empty value */
    dt_db db;
    memset(&db, 0, sizeof db);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    for (int i = 0; i < DB_GLOBS; i++)
        for (int k = 0; k < 8; k++) {
            dt_target t = { (uint32_t)(i * 8 + k), DT_NONE };
            assert_int_equal(dt_db_add_glob(&db, &a, globs[i], (sg_anchor)(k / 2), k % 2, t), VG_OK);
        }
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = dt_db_compile(&db, portable, NULL, &d);
    if (e)
        fail_msg("dt_db_compile: %s", d.msg);
    void *scratch = NULL;
    assert_int_equal(dt_db_scratch(&db, &scratch), VG_OK);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    uint64_t matched = 0;
    for (int vi = 0; vi < DB_VALUES; vi++) {
        hitset h;
        memset(&h, 0, sizeof h);
        assert_int_equal(dt_db_scan(&db, scratch, md, vals[vi], on_db_hit, &h), VG_OK);
        for (int i = 0; i < DB_GLOBS; i++)
            for (int k = 0; k < 8; k++) {
                bool want = dt_glob_match(globs[i], (sg_anchor)(k / 2), k % 2, vals[vi]);
                char s1[256], s2[256];
                if (h.hit[i * 8 + k] != want)
                    fail_msg("%s database: glob '%s' %s%s on '%s': database %d, dt_glob_match %d",
                             db.hs ? "hyperscan" : "pcre2", show(globs[i], s1, sizeof s1),
                             anchor_name((sg_anchor)(k / 2)), k % 2 ? " cased" : "",
                             show(vals[vi], s2, sizeof s2), h.hit[i * 8 + k], want);
                matched += want;
            }
    }
    assert_true(matched > 0);
    pcre2_match_data_free(md);
    dt_scratch_free(scratch);
    dt_db_free(&db);
    vg_arena_free(&a);
}

static void test_db_portable_agrees(void **state)
{
    (void)state;
    db_agrees(true);
}

static void test_db_hyperscan_agrees(void **state)
{
    (void)state;
#ifdef VG_HAVE_HYPERSCAN
    db_agrees(false);
#else
    skip();
#endif
}

/* ---- CIDR ---- */

static bool in(const char *cidr, const char *addr)
{
    dt_cidr c;
    if (!dt_cidr_parse(vg_str_c(cidr), &c))
        fail_msg("'%s' does not parse", cidr);
    return dt_cidr_contains(&c, vg_str_c(addr));
}

static void test_cidr(void **state)
{
    (void)state;
    dt_cidr c;
    assert_true(dt_cidr_parse(VG_STR_LIT("10.0.0.0/8"), &c));
    assert_int_equal(c.family, 4);
    assert_int_equal(c.prefix, 8);
    assert_true(in("10.0.0.0/8", "10.1.2.3"));
    assert_true(in("10.0.0.0/8", "10.255.255.255"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_false(in("10.0.0.0/8", "9.255.255.255"));
    assert_true(in("10.0.0.0/8", " 10.1.2.3 "));               /* trimmed */
    assert_true(in("172.16.0.0/12", "172.31.255.1"));
    assert_false(in("172.16.0.0/12", "172.32.0.1"));
    assert_true(in("192.168.1.5", "192.168.1.5"));             /* bare address: /32 */
    assert_false(in("192.168.1.5", "192.168.1.6"));
    assert_true(in("10.1.2.3/8", "10.200.0.1"));               /* host bits ignored */
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_false(in("0.0.0.0/0", "::1"));                      /* families differ */
    assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));          /* v4-mapped value */
    assert_true(in("::ffff:10.0.0.0", "10.0.0.0"));
    assert_true(in("2001:db8::/32", "2001:db8::1"));
    assert_true(in("2001:db8::/32", "2001:DB8:ffff::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    assert_true(in("fe80::/10", "febf::1"));
    assert_false(in("fe80::/10", "fec0::1"));
    assert_true(in("::1/128", "::1"));
    assert_false(in("::1/128", "::2"));
    assert_false(in("::/0", "10.0.0.1"));
    assert_true(in("::/0", "2001::1"));
    assert_false(in("10.0.0.0/8", "not-an-ip"));
    assert_false(in("10.0.0.0/8", ""));
    assert_false(in("10.0.0.0/8", "10.1.2"));
    assert_false(in("10.0.0.0/8", "10.1.2.3/8"));
    /* bad CIDR text */
    static const char *const bad[] = {
        "", "abc", "10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8",
        "::/129", "10.0.0.0/8/8", "256.0.0.0/8", "1.2.3.4 /8", "10.0.0.0/99999999999999999999999",
        "gggg::/16",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dt_cidr_parse(vg_str_c(bad[i]), &c))
            fail_msg("'%s' parsed as a CIDR", bad[i]);
    assert_false(c.ok);
    assert_false(dt_cidr_contains(&c, VG_STR_LIT("10.0.0.1")));   /* a failed parse matches nothing */
    /* a v4-mapped network with its v6 prefix length is the v4 network */
    assert_true(in("::ffff:10.0.0.0/104", "10.1.2.3"));
    assert_false(in("::ffff:10.0.0.0/104", "11.1.2.3"));
    assert_false(dt_cidr_parse(VG_STR_LIT("::ffff:10.0.0.0/95"), &c));
}

/* ---- Defender spellings of rule values ---- */

static void xf(dt_xform x, sg_anchor an, const char *in_glob, const char *want)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_str got = dt_xform_glob(&a, x, an, vg_str_c(in_glob));
    if (!vg_str_eqc(got, want))
        fail_msg("xform %d %s '%s': got '%.*s', expected '%s'", (int)x, anchor_name(an), in_glob,
                 VG_STR_FMT(got), want);
    vg_arena_free(&a);
}

static void test_xform(void **state)
{
    (void)state;
    /* registry hives: only where the value starts the field */
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKLM\\Software\\x", "HKEY_LOCAL_MACHINE\\Software\\x");
    xf(DT_X_REGKEY, SG_ANCHOR_STARTSWITH, "HKLM\\Software\\", "HKEY_LOCAL_MACHINE\\Software\\");
    xf(DT_X_REGKEY, SG_ANCHOR_STARTSWITH, "hklm\\Software", "HKEY_LOCAL_MACHINE\\Software");
    xf(DT_X_REGKEY, SG_ANCHOR_CONTAINS, "HKLM\\Software", "HKLM\\Software");
    xf(DT_X_REGKEY, SG_ANCHOR_ENDSWITH, "HKLM\\Software", "HKLM\\Software");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKU\\S-1-5-21\\x", "HKEY_USERS\\S-1-5-21\\x");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKCU\\Environment", "HKEY_CURRENT_USER\\Environment");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKCR\\.exe", "HKEY_CLASSES_ROOT\\.exe");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKCC\\x", "HKEY_CURRENT_CONFIG\\x");
    xf(DT_X_REGKEY, SG_ANCHOR_STARTSWITH, "\\REGISTRY\\MACHINE\\SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM");
    xf(DT_X_REGKEY, SG_ANCHOR_STARTSWITH, "\\REGISTRY\\USER\\S-1", "HKEY_USERS\\S-1");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKLMX\\a", "HKLMX\\a");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKLM", "HKLM");
    xf(DT_X_REGKEY, SG_ANCHOR_EXACT, "HKLM\\*\\Run", "HKEY_LOCAL_MACHINE\\*\\Run");
    /* an escaped backslash after the hive still reads as one backslash */
    xf(DT_X_REGKEY, SG_ANCHOR_STARTSWITH, "HKLM\\\\*", "HKEY_LOCAL_MACHINE\\\\*");
    {
        vg_arena a;
        vg_arena_init(&a, 0, 0);
        vg_str g = dt_xform_glob(&a, DT_X_REGKEY, SG_ANCHOR_STARTSWITH, VG_STR_LIT("HKLM\\\\*"));
        assert_true(dt_glob_match(g, SG_ANCHOR_STARTSWITH, false, VG_STR_LIT("HKEY_LOCAL_MACHINE\\SOFTWARE")));
        vg_arena_free(&a);
    }
    /* registry data: DWORD and QWORD as Defender's decimal */
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0x00000010)", "16");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0x00000000)", "0");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "dword (0x0000000A)", "10");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0xffffffff)", "4294967295");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "QWORD (0x00000001-0x00000002)", "4294967298");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "QWORD (0x00000000-0x00000010)", "16");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "QWORD (0xffffffff-0xffffffff)", "18446744073709551615");
    xf(DT_X_REGDATA, SG_ANCHOR_CONTAINS, "DWORD (0x00000010)", "DWORD (0x00000010)");
    xf(DT_X_REGDATA, SG_ANCHOR_STARTSWITH, "DWORD (0x00000010)", "DWORD (0x00000010)");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0x0000001g)", "DWORD (0x0000001g)");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0x0000001*)", "DWORD (0x0000001*)");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0x00000010", "DWORD (0x00000010");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "DWORD (0x000000100)", "DWORD (0x000000100)");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "QWORD (0x00000001_0x00000002)", "QWORD (0x00000001_0x00000002)");
    xf(DT_X_REGDATA, SG_ANCHOR_EXACT, "Binary Data", "Binary Data");
    /* Sysmon EventType -> Defender ActionType */
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "SetValue", "RegistryValueSet");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "setvalue", "RegistryValueSet");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "CreateKey", "RegistryKeyCreated");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "DeleteKey", "RegistryKeyDeleted");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "DeleteValue", "RegistryValueDeleted");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "RenameKey", "RegistryKeyRenamed");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_CONTAINS, "SetValue", "SetValue");
    xf(DT_X_EVENTTYPE, SG_ANCHOR_EXACT, "SetValues", "SetValues");
    xf(DT_X_NONE, SG_ANCHOR_EXACT, "HKLM\\x", "HKLM\\x");
}

/* ---- Sigma field -> Defender column ---- */

static const vg_table_def *table(const char *name)
{
    const vg_table_def *t = vg_schema_table(vg_str_c(name));
    if (!t)
        fail_msg("no table %s", name);
    return t;
}

static int col(const vg_table_def *t, const char *name)
{
    int c = vg_schema_col(t, vg_str_c(name));
    if (c < 0)
        fail_msg("no column %s.%s", t->name, name);
    return c;
}

static void test_map_field(void **state)
{
    (void)state;
    const vg_table_def *pe = table("DeviceProcessEvents");
    dt_colmap m = dt_map_field(pe, VG_STR_LIT("Image"));
    assert_int_equal(m.col, col(pe, "FolderPath"));
    assert_int_equal(m.virt, DT_VIRT_NONE);
    assert_int_equal(m.xform, DT_X_NONE);
    m = dt_map_field(pe, VG_STR_LIT("image"));                   /* case-insensitive */
    assert_int_equal(m.col, col(pe, "FolderPath"));
    m = dt_map_field(pe, VG_STR_LIT("CommandLine"));
    assert_int_equal(m.col, col(pe, "ProcessCommandLine"));
    m = dt_map_field(pe, VG_STR_LIT("ParentImage"));             /* table mapping before generic */
    assert_int_equal(m.col, col(pe, "InitiatingProcessFolderPath"));
    m = dt_map_field(pe, VG_STR_LIT("User"));
    assert_int_equal(m.virt, DT_VIRT_ACCOUNT);
    assert_int_equal(m.col, col(pe, "AccountDomain"));
    assert_int_equal(m.col2, col(pe, "AccountName"));
    m = dt_map_field(pe, VG_STR_LIT("Hashes"));
    assert_int_equal(m.virt, DT_VIRT_HASHES);
    assert_int_equal(m.col, col(pe, "SHA1"));
    assert_int_equal(m.col2, col(pe, "MD5"));
    assert_int_equal(m.col3, col(pe, "SHA256"));
    m = dt_map_field(pe, VG_STR_LIT("Computer"));                /* generic */
    assert_int_equal(m.col, col(pe, "DeviceName"));
    m = dt_map_field(pe, VG_STR_LIT("ProcessCommandLine"));      /* a Defender column by name */
    assert_int_equal(m.col, col(pe, "ProcessCommandLine"));
    assert_int_equal(m.virt, DT_VIRT_NONE);
    m = dt_map_field(pe, VG_STR_LIT("NoSuchField"));
    assert_int_equal(m.col, -1);
    assert_int_equal(m.virt, DT_VIRT_NONE);
    m = dt_map_field(pe, VG_STR_LIT(""));
    assert_int_equal(m.col, -1);

    const vg_table_def *ne = table("DeviceNetworkEvents");
    m = dt_map_field(ne, VG_STR_LIT("Image"));                   /* generic: the initiating process */
    assert_int_equal(m.col, col(ne, "InitiatingProcessFolderPath"));
    m = dt_map_field(ne, VG_STR_LIT("DestinationIp"));
    assert_int_equal(m.col, col(ne, "RemoteIP"));
    m = dt_map_field(ne, VG_STR_LIT("User"));
    assert_int_equal(m.virt, DT_VIRT_ACCOUNT);
    assert_int_equal(m.col, col(ne, "InitiatingProcessAccountDomain"));
    assert_int_equal(m.col2, col(ne, "InitiatingProcessAccountName"));

    const vg_table_def *re = table("DeviceRegistryEvents");
    m = dt_map_field(re, VG_STR_LIT("TargetObject"));
    assert_int_equal(m.virt, DT_VIRT_REGPATH);
    assert_int_equal(m.xform, DT_X_REGKEY);
    assert_int_equal(m.col, col(re, "RegistryKey"));
    assert_int_equal(m.col2, col(re, "RegistryValueName"));
    m = dt_map_field(re, VG_STR_LIT("Details"));
    assert_int_equal(m.col, col(re, "RegistryValueData"));
    assert_int_equal(m.xform, DT_X_REGDATA);
    m = dt_map_field(re, VG_STR_LIT("EventType"));
    assert_int_equal(m.col, col(re, "ActionType"));
    assert_int_equal(m.xform, DT_X_EVENTTYPE);
}

/* ---- logsource routes ---- */

static sg_logsource ls(const char *category, const char *product, const char *service)
{
    sg_logsource l;
    memset(&l, 0, sizeof l);
    if (category)
        l.category = vg_str_c(category);
    if (product)
        l.product = vg_str_c(product);
    if (service)
        l.service = vg_str_c(service);
    return l;
}

static bool has_win(const dt_route *r, const char *channel, int32_t id)
{
    for (uint32_t i = 0; i < r->nwin; i++)
        if (r->win[i].channel && strcmp(r->win[i].channel, channel) == 0 && r->win[i].eventid == id)
            return true;
    return false;
}

static void test_route(void **state)
{
    (void)state;
    dt_route r;
    sg_logsource l = ls("process_creation", "windows", NULL);
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 2);
    assert_true(has_win(&r, "Microsoft-Windows-Sysmon/Operational", 1));
    assert_true(has_win(&r, "Security", 4688));
    assert_int_equal(r.table, table("DeviceProcessEvents")->id);
    assert_int_equal(r.nactions, 0);

    l = ls("process_creation", NULL, NULL);                      /* no product: Linux Sysmon too */
    assert_true(dt_route_for(&l, &r));
    assert_true(has_win(&r, "Linux-Sysmon/Operational", 1));
    l = ls("process_creation", "linux", NULL);
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 1);
    assert_true(has_win(&r, "Linux-Sysmon/Operational", 1));
    l = ls("process_creation", "macos", NULL);                   /* native rows only */
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 0);
    assert_int_equal(r.table, table("DeviceProcessEvents")->id);

    l = ls(NULL, "windows", "security");
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 1);
    assert_true(has_win(&r, "Security", -1));
    assert_int_equal(r.table, -1);
    l = ls(NULL, NULL, "powershell");
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 2);
    l = ls(NULL, "linux", "security");                           /* a Windows service on Linux */
    assert_false(dt_route_for(&l, &r));
    l = ls(NULL, "windows", "no-such-service");
    assert_false(dt_route_for(&l, &r));

    l = ls("registry_set", "windows", NULL);
    assert_true(dt_route_for(&l, &r));
    assert_true(has_win(&r, "Microsoft-Windows-Sysmon/Operational", 13));
    assert_int_equal(r.table, table("DeviceRegistryEvents")->id);
    assert_int_equal(r.nactions, 1);
    assert_string_equal(r.actions[0], "RegistryValueSet");
    l = ls("registry_add", "windows", NULL);
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 1);
    assert_string_equal(r.win[0].cond_field, "EventType");
    assert_string_equal(r.win[0].cond_value, "CreateKey");
    l = ls("antivirus", NULL, NULL);
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.nwin, 12);
    assert_non_null(r.aliases);
    l = ls("sysmon_status", "windows", NULL);                    /* Windows events only */
    assert_true(dt_route_for(&l, &r));
    assert_int_equal(r.table, -1);
    assert_int_equal(r.nwin, 2);

    l = ls("no_such_category", "windows", NULL);
    assert_false(dt_route_for(&l, &r));
    l = ls("registry_set", "linux", NULL);                       /* product mismatch */
    assert_false(dt_route_for(&l, &r));
    l = ls(NULL, NULL, NULL);
    assert_false(dt_route_for(&l, &r));
}

/* ---- end to end: rules text -> vg_detect -> batches ---- */

static const char rules_text[] =
    "title: mimikatz on the command line\n"
    "id: 11111111-0000-4000-8000-000000000001\n"
    "logsource: {category: process_creation, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        CommandLine|contains: mimikatz\n"
    "    condition: sel\n"
    "level: high\n"
    "---\n"
    "title: whoami from cmd\n"
    "id: 11111111-0000-4000-8000-000000000002\n"
    "logsource: {category: process_creation, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        Image|endswith: '\\cmd.exe'\n"
    "        CommandLine|contains|all: ['/c', 'whoami']\n"
    "    condition: sel\n"
    "level: medium\n"
    "---\n"
    "title: admin account\n"
    "id: 11111111-0000-4000-8000-000000000003\n"
    "logsource: {category: process_creation, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        User|startswith: 'CORP\\adm'\n"
    "    condition: sel\n"
    "level: low\n"
    "---\n"
    "title: failed logon of vgit\n"
    "id: 11111111-0000-4000-8000-000000000004\n"
    "logsource: {product: windows, service: security}\n"
    "detection:\n"
    "    sel:\n"
    "        EventID: 4625\n"
    "        TargetUserName: vgit\n"
    "    condition: sel\n"
    "level: medium\n"
    "---\n"
    "title: invoke expression\n"
    "id: 11111111-0000-4000-8000-000000000005\n"
    "logsource: {category: process_creation, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        CommandLine|re: '(?i)invoke-[a-z]+ession'\n"
    "    filter:\n"
    "        CommandLine|contains: 'benign'\n"
    "    condition: sel and not filter\n"
    "level: medium\n"
    "---\n"
    "title: registry value 16 under HKLM Vgit\n"
    "id: 11111111-0000-4000-8000-000000000006\n"
    "logsource: {category: registry_set, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        TargetObject|startswith: 'HKLM\\Software\\Vgit\\'\n"
    "        Details: 'DWORD (0x00000010)'\n"
    "    condition: sel\n"
    "level: high\n"
    "---\n"
    "title: registry SetValue of Level\n"
    "id: 11111111-0000-4000-8000-000000000007\n"
    "logsource: {category: registry_event, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        EventType: SetValue\n"
    "        TargetObject|endswith: '\\Level'\n"
    "    condition: sel\n"
    "level: medium\n"
    "---\n"
    "title: connection to 10/8 on 445\n"
    "id: 11111111-0000-4000-8000-000000000008\n"
    "logsource: {category: network_connection, product: windows}\n"
    "detection:\n"
    "    sel:\n"
    "        DestinationIp|cidr: '10.0.0.0/8'\n"
    "        DestinationPort: 445\n"
    "    condition: sel\n"
    "level: medium\n";

#define NRULES 8

typedef struct counts {
    uint32_t n[NRULES + 1];
    uint32_t rows[NRULES + 1][16];   /* the rows each rule matched, in order */
} counts;

static void on_match(void *ctx, const vg_detect_rule *rule, const vg_batch *b, uint32_t row)
{
    counts *c = ctx;
    vg_str id = rule->sg->id;
    assert_true(id.n == 36);
    int k = id.p[35] - '0';
    assert_in_range(k, 1, NRULES);
    if (c->n[k] < 16)
        c->rows[k][c->n[k]] = row;
    c->n[k]++;
}

/* Adds a row: column/value pairs (NULL-terminated), then the raw record (or NULL). */
static void row(vg_batch *b, const char *raw, ...)
{
    int64_t r = vg_batch_add_row(b);
    assert_true(r >= 0);
    va_list ap;
    va_start(ap, raw);
    for (;;) {
        const char *c = va_arg(ap, const char *);
        if (!c)
            break;
        const char *v = va_arg(ap, const char *);
        vg_diag d;
        vg_diag_clear(&d);
        if (vg_batch_set_text(b, col(b->table, c), (uint32_t)r, vg_str_c(v), &d))
            fail_msg("%s = %s: %s", c, v, d.msg);
    }
    va_end(ap);
    if (raw)
        assert_int_equal(vg_batch_set_raw(b, (uint32_t)r, vg_str_c(raw)), VG_OK);
}

#define SYSMON "\"Channel\":\"Microsoft-Windows-Sysmon/Operational\""

static void end_to_end(bool portable)
{
    sg_ruleset *rs = calloc(1, sizeof *rs);
    assert_non_null(rs);
    sg_ruleset_init(rs);
    assert_int_equal(sg_load_text(rs, VG_STR_LIT("e2e.yml"), vg_str_c(rules_text)), VG_OK);
    for (uint32_t i = 0; i < rs->nfailures; i++)
        print_message("  failure: %.*s\n", VG_STR_FMT(rs->failures[i].reason));
    assert_int_equal(rs->nfailures, 0);
    assert_int_equal(rs->nrules, NRULES);
    vg_detect_opts o;
    memset(&o, 0, sizeof o);
    o.portable = portable;
    vg_detect *det = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    if (vg_detect_build_from(rs, &o, &det, &d))
        fail_msg("vg_detect_build_from: %s", d.msg);
    const vg_detect_report *rep = vg_detect_get_report(det);
    assert_int_equal(rep->compiled, NRULES);
    assert_int_equal(rep->enabled, NRULES);
    assert_int_equal(rep->nfailures, 0);
    assert_string_equal(vg_detect_backend(det),
#ifdef VG_HAVE_HYPERSCAN
                        portable ? "pcre2" : "hyperscan"
#else
                        "pcre2"
#endif
    );
    vg_detect_scanner *sc = NULL;
    assert_int_equal(vg_detect_scanner_new(det, &sc, &d), VG_OK);

    /* processes: native rows (columns) and Windows events (raw records) */
    vg_batch pb;
    assert_int_equal(vg_batch_init(&pb, table("DeviceProcessEvents"), 64, NULL, true), VG_OK);
    row(&pb, NULL, "ActionType", "ProcessCreated", "ProcessCommandLine", "run MIMIKATZ.exe", NULL);   /* 0: r1 */
    row(&pb, "{" SYSMON ",\"EventID\":1,\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\","
             "\"CommandLine\":\"cmd /c whoami /all\",\"User\":\"CORP\\\\admin\"}", NULL);           /* 1: r2 r3 */
    row(&pb, NULL, "FolderPath", "C:\\Windows\\System32\\CMD.EXE", "ProcessCommandLine", "cmd /c dir",
        NULL);                                                                                       /* 2: - */
    row(&pb, NULL, "FolderPath", "C:\\Windows\\System32\\CMD.EXE", "ProcessCommandLine", "cmd /C WHOAMI",
        NULL);                                                                                       /* 3: r2 */
    row(&pb, NULL, "AccountDomain", "CORP", "AccountName", "adm-bob", "ProcessCommandLine",
        "powershell Invoke-Expression x", NULL);                                                     /* 4: r3 r5 */
    row(&pb, NULL, "ProcessCommandLine", "powershell invoke-expression benign", NULL);               /* 5: - */
    row(&pb, "{\"Channel\":\"Security\",\"EventID\":4625,\"TargetUserName\":\"vgit\"}", NULL);      /* 6: r4 */
    row(&pb, "{\"Channel\":\"Security\",\"EventID\":4625,\"TargetUserName\":\"other\"}", NULL);     /* 7: - */
    row(&pb, "{\"Channel\":\"Security\",\"EventID\":4624,\"TargetUserName\":\"vgit\"}", NULL);      /* 8: - */
    row(&pb, "{" SYSMON ",\"EventID\":3,\"CommandLine\":\"mimikatz\"}", NULL);                       /* 9: - (not a process) */
    row(&pb, "{" SYSMON ",\"EventID\":1,\"CommandLine\":\"x mimikatz\"}", NULL);                     /* 10: r1 */
    row(&pb, NULL, "ProcessCommandLine", "mimikat", NULL);                                           /* 11: - */
    counts c;
    memset(&c, 0, sizeof c);
    if (vg_detect_scan(sc, &pb, on_match, &c, &d))
        fail_msg("scan: %s", d.msg);
    static const uint32_t want_p[NRULES + 1] = { 0, 2, 2, 2, 1, 1, 0, 0, 0 };
    for (int k = 1; k <= NRULES; k++)
        if (c.n[k] != want_p[k])
            fail_msg("%s: processes: rule %d matched %u rows, expected %u", portable ? "pcre2" : "hyperscan",
                     k, c.n[k], want_p[k]);
    assert_int_equal(c.rows[1][0], 0);
    assert_int_equal(c.rows[1][1], 10);
    assert_int_equal(c.rows[2][0], 1);
    assert_int_equal(c.rows[2][1], 3);
    assert_int_equal(c.rows[3][0], 1);
    assert_int_equal(c.rows[3][1], 4);
    assert_int_equal(c.rows[4][0], 6);
    assert_int_equal(c.rows[5][0], 4);
    /* scanning the same batch again gives the same answer (memo, marks) */
    counts c2;
    memset(&c2, 0, sizeof c2);
    assert_int_equal(vg_detect_scan(sc, &pb, on_match, &c2, &d), VG_OK);
    assert_memory_equal(c.n, c2.n, sizeof c.n);

    /* registry: Defender's spellings (HKEY_LOCAL_MACHINE, decimal data, ActionType) */
    vg_batch rb;
    assert_int_equal(vg_batch_init(&rb, table("DeviceRegistryEvents"), 16, NULL, true), VG_OK);
    row(&rb, NULL, "ActionType", "RegistryValueSet", "RegistryKey", "HKEY_LOCAL_MACHINE\\Software\\Vgit",
        "RegistryValueName", "Level", "RegistryValueData", "16", NULL);                             /* 0: r6 r7 */
    row(&rb, NULL, "ActionType", "RegistryValueSet", "RegistryKey", "HKEY_LOCAL_MACHINE\\Software\\Vgit",
        "RegistryValueName", "Level", "RegistryValueData", "17", NULL);                             /* 1: r7 */
    row(&rb, NULL, "ActionType", "RegistryKeyCreated", "RegistryKey", "HKEY_LOCAL_MACHINE\\Software\\Vgit",
        "RegistryValueName", "Level", "RegistryValueData", "16", NULL);                             /* 2: - */
    row(&rb, NULL, "ActionType", "RegistryValueSet", "RegistryKey", "HKEY_CURRENT_USER\\Software\\Vgit",
        "RegistryValueName", "Other", "RegistryValueData", "16", NULL);                             /* 3: - */
    row(&rb, "{" SYSMON ",\"EventID\":13,\"EventType\":\"SetValue\",\"TargetObject\":"
             "\"HKLM\\\\Software\\\\Vgit\\\\Level\",\"Details\":\"DWORD (0x00000010)\"}", NULL);       /* 4: r6 r7 */
    memset(&c, 0, sizeof c);
    assert_int_equal(vg_detect_scan(sc, &rb, on_match, &c, &d), VG_OK);
    static const uint32_t want_r[NRULES + 1] = { 0, 0, 0, 0, 0, 0, 2, 3, 0 };
    for (int k = 1; k <= NRULES; k++)
        if (c.n[k] != want_r[k])
            fail_msg("%s: registry: rule %d matched %u rows, expected %u", portable ? "pcre2" : "hyperscan",
                     k, c.n[k], want_r[k]);
    assert_int_equal(c.rows[6][0], 0);
    assert_int_equal(c.rows[6][1], 4);

    /* network: CIDR and a number */
    vg_batch nb;
    assert_int_equal(vg_batch_init(&nb, table("DeviceNetworkEvents"), 16, NULL, true), VG_OK);
    row(&nb, NULL, "ActionType", "ConnectionSuccess", "RemoteIP", "10.9.8.7", "RemotePort", "445", NULL);   /* 0: r8 */
    row(&nb, NULL, "ActionType", "ConnectionSuccess", "RemoteIP", "11.9.8.7", "RemotePort", "445", NULL);   /* 1: - */
    row(&nb, NULL, "ActionType", "ConnectionSuccess", "RemoteIP", "10.9.8.7", "RemotePort", "443", NULL);   /* 2: - */
    row(&nb, NULL, "ActionType", "ConnectionSuccess", "RemoteIP", "::ffff:10.1.1.1", "RemotePort", "445",
        NULL);                                                                                       /* 3: r8 */
    memset(&c, 0, sizeof c);
    assert_int_equal(vg_detect_scan(sc, &nb, on_match, &c, &d), VG_OK);
    static const uint32_t want_n[NRULES + 1] = { 0, 0, 0, 0, 0, 0, 0, 0, 2 };
    for (int k = 1; k <= NRULES; k++)
        if (c.n[k] != want_n[k])
            fail_msg("%s: network: rule %d matched %u rows, expected %u", portable ? "pcre2" : "hyperscan",
                     k, c.n[k], want_n[k]);

    /* the field values rules read */
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    const vg_detect_rule *r3 = vg_detect_find(det, VG_STR_LIT("11111111-0000-4000-8000-000000000003"));
    assert_non_null(r3);
    vg_str v;
    assert_int_equal(vg_detect_field(det, r3, &pb, 4, VG_STR_LIT("User"), &a, &v), VG_OK);
    assert_true(vg_str_eqc(v, "CORP\\adm-bob"));
    assert_int_equal(vg_detect_field(det, r3, &pb, 1, VG_STR_LIT("User"), &a, &v), VG_OK);
    assert_true(vg_str_eqc(v, "CORP\\admin"));
    assert_int_equal(vg_detect_field(det, r3, &pb, 2, VG_STR_LIT("User"), &a, &v), VG_ENOTFOUND);
    vg_arena_free(&a);

    vg_batch_free(&pb);
    vg_batch_free(&rb);
    vg_batch_free(&nb);
    vg_detect_scanner_free(sc);
    vg_detect_release(det);
}

static void test_end_to_end_hyperscan(void **state)
{
    (void)state;
    end_to_end(false);
}

static void test_end_to_end_portable(void **state)
{
    (void)state;
    end_to_end(true);
}

/* ---- differential: both backends, and a scanner that has seen other
 * batches (its memo and row signatures) against a fresh one ---- */

typedef struct matchlist {
    uint32_t n;
    uint32_t v[8192];          /* rule index << 16 | row */
} matchlist;

static void on_match_list(void *ctx, const vg_detect_rule *rule, const vg_batch *b, uint32_t row)
{
    matchlist *m = ctx;
    (void)b;
    if (m->n < sizeof m->v / sizeof m->v[0])
        m->v[m->n++] = rule->index << 16 | row;
}

static vg_detect *build(bool portable)
{
    sg_ruleset *rs = calloc(1, sizeof *rs);
    assert_non_null(rs);
    sg_ruleset_init(rs);
    assert_int_equal(sg_load_text(rs, VG_STR_LIT("e2e.yml"), vg_str_c(rules_text)), VG_OK);
    vg_detect_opts o;
    memset(&o, 0, sizeof o);
    o.portable = portable;
    vg_detect *det = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    if (vg_detect_build_from(rs, &o, &det, &d))
        fail_msg("build: %s", d.msg);
    return det;
}

static void random_batch(vg_batch *b, uint32_t rows)
{
    static const char *const cmd[] = {
        "cmd /c whoami", "cmd /c dir", "x MimiKatz y", "powershell Invoke-Expression a",
        "powershell invoke-expression benign", "notepad", "", "whoami /c", "/C WHOAMI",
    };
    static const char *const img[] = {
        "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\CMD.EXE", "C:\\x\\cmd.exe.bak",
        "C:\\Windows\\notepad.exe",
    };
    static const char *const dom[] = { "CORP", "corp", "OTHER" };
    static const char *const name[] = { "adm-bob", "admin", "bob" };
    vg_batch_reset(b);
    for (uint32_t i = 0; i < rows; i++) {
        int64_t r = vg_batch_add_row(b);
        assert_true(r >= 0);
        const char *c = cmd[rnd(sizeof cmd / sizeof cmd[0])];
        const char *im = img[rnd(sizeof img / sizeof img[0])];
        switch (rnd(4)) {
        case 0: {   /* a Sysmon or Security event */
            char raw[512];
            vg_buf jb;
            vg_buf_init(&jb, 0);
            vg_buf_put_json_str(&jb, vg_str_c(c));
            vg_buf_puts(&jb, ",\"Image\":");
            vg_buf_put_json_str(&jb, vg_str_c(im));
            snprintf(raw, sizeof raw, "{\"Channel\":\"%s\",\"EventID\":%s,\"CommandLine\":%s,"
                     "\"TargetUserName\":\"%s\",\"User\":\"%s\\\\%s\"}",
                     rnd(2) ? "Microsoft-Windows-Sysmon/Operational" : "Security",
                     rnd(2) ? "1" : (rnd(2) ? "4625" : "4688"), vg_buf_cstr(&jb),
                     rnd(2) ? "vgit" : "VGIT", dom[rnd(3)], name[rnd(3)]);
            vg_buf_free(&jb);
            assert_int_equal(vg_batch_set_raw(b, (uint32_t)r, vg_str_c(raw)), VG_OK);
            break;
        }
        default:
            assert_int_equal(vg_batch_set_str(b, col(b->table, "ProcessCommandLine"), (uint32_t)r,
                                              vg_str_c(c)), VG_OK);
            assert_int_equal(vg_batch_set_str(b, col(b->table, "FolderPath"), (uint32_t)r, vg_str_c(im)),
                             VG_OK);
            if (rnd(2)) {
                assert_int_equal(vg_batch_set_str(b, col(b->table, "AccountDomain"), (uint32_t)r,
                                                  vg_str_c(dom[rnd(3)])), VG_OK);
                assert_int_equal(vg_batch_set_str(b, col(b->table, "AccountName"), (uint32_t)r,
                                                  vg_str_c(name[rnd(3)])), VG_OK);
            }
            break;
        }
    }
}

static void test_differential(void **state)
{
    (void)state;
    rng_state = 0x5eed5eed5eed5eedull;
    vg_detect *hs = build(false), *pc = build(true);
    vg_detect_scanner *s_hs = NULL, *s_pc = NULL, *s_fresh = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    assert_int_equal(vg_detect_scanner_new(hs, &s_hs, &d), VG_OK);
    assert_int_equal(vg_detect_scanner_new(pc, &s_pc, &d), VG_OK);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, table("DeviceProcessEvents"), 1000, NULL, true), VG_OK);
    static matchlist m1, m2, m3;
    uint32_t total = 0;
    for (int round = 0; round < 6; round++) {
        random_batch(&b, 1000);
        m1.n = m2.n = m3.n = 0;
        assert_int_equal(vg_detect_scan(s_hs, &b, on_match_list, &m1, &d), VG_OK);
        assert_int_equal(vg_detect_scan(s_pc, &b, on_match_list, &m2, &d), VG_OK);
        /* a scanner that has seen no batch before this one */
        assert_int_equal(vg_detect_scanner_new(pc, &s_fresh, &d), VG_OK);
        assert_int_equal(vg_detect_scan(s_fresh, &b, on_match_list, &m3, &d), VG_OK);
        vg_detect_scanner_free(s_fresh);
        if (m1.n != m2.n || memcmp(m1.v, m2.v, m1.n * sizeof m1.v[0]) != 0)
            fail_msg("round %d: hyperscan %u matches, pcre2 %u, or different rows", round, m1.n, m2.n);
        if (m2.n != m3.n || memcmp(m2.v, m3.v, m2.n * sizeof m2.v[0]) != 0)
            fail_msg("round %d: a scanner after %d batches found %u matches, a fresh one %u", round,
                     round, m2.n, m3.n);
        total += m1.n;
    }
    print_message("  %u matches over 6000 rows, the same on every path\n", total);
    assert_true(total > 1000);
    vg_batch_free(&b);
    vg_detect_scanner_free(s_hs);
    vg_detect_scanner_free(s_pc);
    vg_detect_release(hs);
    vg_detect_release(pc);
}

/* selectors and levels on the same rules */
static void test_select(void **state)
{
    (void)state;
    static const struct {
        const char *enable, *disable;
        sg_level min;
        uint32_t want;
    } c[] = {
        { NULL, NULL, SG_LEVEL_INFORMATIONAL, NRULES },
        { NULL, NULL, SG_LEVEL_HIGH, 2 },
        { NULL, NULL, SG_LEVEL_MEDIUM, 7 },
        { "id:11111111-0000-4000-8000-000000000001", NULL, SG_LEVEL_INFORMATIONAL, 1 },
        { "11111111-0000-4000-8000-000000000001", NULL, SG_LEVEL_INFORMATIONAL, 1 },
        { NULL, "id:11111111-0000-4000-8000-000000000001", SG_LEVEL_INFORMATIONAL, NRULES - 1 },
        { "level:medium", NULL, SG_LEVEL_INFORMATIONAL, 5 },
        { "path:e2e", "level:medium", SG_LEVEL_INFORMATIONAL, 3 },
        { "path:nothere", NULL, SG_LEVEL_INFORMATIONAL, 0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        sg_ruleset *rs = calloc(1, sizeof *rs);
        sg_ruleset_init(rs);
        assert_int_equal(sg_load_text(rs, VG_STR_LIT("e2e.yml"), vg_str_c(rules_text)), VG_OK);
        vg_detect_opts o;
        memset(&o, 0, sizeof o);
        o.portable = true;
        o.min_level = c[i].min;
        if (c[i].enable)
            o.enable[o.nenable++] = c[i].enable;
        if (c[i].disable)
            o.disable[o.ndisable++] = c[i].disable;
        vg_detect *det = NULL;
        vg_diag d;
        vg_diag_clear(&d);
        assert_int_equal(vg_detect_build_from(rs, &o, &det, &d), VG_OK);
        if (vg_detect_get_report(det)->enabled != c[i].want)
            fail_msg("case %zu: %u rules enabled, expected %u", i, vg_detect_get_report(det)->enabled,
                     c[i].want);
        vg_detect_release(det);
    }
    /* a selector of an unknown kind is an error naming it */
    sg_ruleset *rs = calloc(1, sizeof *rs);
    sg_ruleset_init(rs);
    assert_int_equal(sg_load_text(rs, VG_STR_LIT("e2e.yml"), vg_str_c(rules_text)), VG_OK);
    vg_detect_opts o;
    memset(&o, 0, sizeof o);
    o.portable = true;
    o.disable[o.ndisable++] = "bogus:x";
    vg_detect *det = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    assert_int_equal(vg_detect_build_from(rs, &o, &det, &d), VG_EINVAL);
    assert_null(det);
    assert_non_null(strstr(d.msg, "bogus:x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_regex_shape),
        cmocka_unit_test(test_glob_match_cases),
        cmocka_unit_test(test_glob_regex_agrees_with_match),
        cmocka_unit_test(test_db_portable_agrees),
        cmocka_unit_test(test_db_hyperscan_agrees),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_xform),
        cmocka_unit_test(test_map_field),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_end_to_end_hyperscan),
        cmocka_unit_test(test_end_to_end_portable),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
