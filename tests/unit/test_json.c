/*
 * test_json.c - unit tests of the hand-written JSON reader (pull and DOM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_json.h"

static vg_err parse(const char *text, vg_json **out, vg_arena *a, vg_diag *d)
{
    return vg_json_parse(a, vg_str_c(text), out, d);
}

static void test_dom(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_json *j;
    vg_diag d;
    assert_int_equal(parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"x\\u00e9\\n\"}, "
                           "\"e\": \"\\ud83d\\ude00\"} ", &j, &a, &d), VG_OK);
    assert_int_equal(j->kind, VG_JSON_OBJECT);
    assert_int_equal(j->n, 3);
    const vg_json *arr = vg_json_get(j, "a");
    assert_int_equal(arr->n, 5);
    assert_true(vg_str_eqc(vg_json_text(arr->kids[1]), "-2.5e3"));
    assert_int_equal(arr->kids[4]->kind, VG_JSON_NULL);
    const vg_json *c = vg_json_path(j, "b.c");
    assert_non_null(c);
    assert_true(vg_str_eqc(c->str, "x\xc3\xa9\n"));
    assert_true(vg_str_eqc(vg_json_get(j, "e")->str, "\xf0\x9f\x98\x80"));
    assert_null(vg_json_path(j, "b.zz"));
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_json_write(&b, j);
    assert_string_equal(vg_buf_cstr(&b),
                        "{\"a\":[1,-2.5e3,true,false,null],\"b\":{\"c\":\"x\xc3\xa9\\n\"},\"e\":\"\xf0\x9f\x98\x80\"}");
    vg_buf_free(&b);
    vg_arena_free(&a);
}

static void expect_bad(const char *text, const char *needle)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_json *j;
    vg_diag d = { "" };
    vg_err e = parse(text, &j, &a, &d);
    assert_int_not_equal(e, VG_OK);
    if (needle && !strstr(d.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, d.msg, needle);
    vg_arena_free(&a);
}

static void test_errors(void **state)
{
    expect_bad("", "byte 0");
    expect_bad("{", "unexpected end");
    expect_bad("{\"a\" 1}", "expected ':'");
    expect_bad("{\"a\":1,}", "member name");
    expect_bad("[1 2]", "expected ',' or ']'");
    expect_bad("\"abc", "unterminated");
    expect_bad("\"a\x01\"", "control character");
    expect_bad("\"\\x\"", "bad escape");
    expect_bad("01", "after the value");
    expect_bad("-", "expected a value");
    expect_bad("1.", "digits after");
    expect_bad("tru", "expected a value");
    expect_bad("{} x", "after the value");
    /* depth is bounded */
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    expect_bad(deep, "deeper");
}

static void test_pull(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_json_pull j;
    vg_diag d;
    const char *text = "{\"k1\":\"v\\\"1\",\"k2\":{\"x\":[1,{\"y\":2}]},\"k3\":12}";
    vg_json_pull_init(&j, vg_str_c(text), &a, &d);
    assert_int_equal(vg_json_pull_obj_begin(&j), VG_OK);
    vg_str k;
    bool done;
    vg_json_val v;
    assert_int_equal(vg_json_pull_obj_key(&j, &k, &done), VG_OK);
    assert_true(vg_str_eqc(k, "k1"));
    assert_int_equal(vg_json_pull_value(&j, &v), VG_OK);
    assert_true(vg_str_eqc(v.str, "v\"1"));
    assert_int_equal(vg_json_pull_obj_key(&j, &k, &done), VG_OK);
    assert_int_equal(vg_json_pull_value(&j, &v), VG_OK);
    assert_int_equal(v.kind, VG_JSON_OBJECT);
    assert_true(vg_str_eqc(v.str, "{\"x\":[1,{\"y\":2}]}"));
    assert_int_equal(vg_json_pull_obj_key(&j, &k, &done), VG_OK);
    assert_int_equal(vg_json_pull_value(&j, &v), VG_OK);
    assert_int_equal(v.kind, VG_JSON_NUMBER);
    assert_int_equal(vg_json_pull_obj_key(&j, &k, &done), VG_OK);
    assert_true(done);
    assert_int_equal(vg_json_pull_end(&j), VG_OK);

    /* missing comma between members is an error */
    vg_json_pull_init(&j, vg_str_c("{\"a\":1 \"b\":2}"), &a, &d);
    assert_int_equal(vg_json_pull_obj_begin(&j), VG_OK);
    assert_int_equal(vg_json_pull_obj_key(&j, &k, &done), VG_OK);
    assert_int_equal(vg_json_pull_value(&j, &v), VG_OK);
    assert_int_equal(vg_json_pull_obj_key(&j, &k, &done), VG_EPARSE);

    assert_int_equal(vg_json_lookup(vg_str_c(text), VG_STR_LIT("k3"), &a, &v), VG_OK);
    assert_true(vg_str_eqc(v.str, "12"));
    assert_int_equal(vg_json_lookup(vg_str_c(text), VG_STR_LIT("x"), &a, &v), VG_ENOTFOUND);
    vg_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dom),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_pull),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
