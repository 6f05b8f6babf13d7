/*
 * test_kql_val.c - unit tests of the KQL executor's values (kql_val.c):
 * Kusto's text of every type, casts, equality/order/hash, dynamic values
 * and columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_val.h"

static vg_arena A;

static int setup(void **state)
{
    vg_arena_init(&A, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    vg_arena_free(&A);
    return 0;
}

#define assert_str(s, lit) assert_string_equal(vg_str_dup(&A, (s)).p, (lit))

static void check_text(kql_val v, const char *want)
{
    vg_str s = kql_to_string(&A, v);
    assert_str(s, want);
    vg_buf b;
    vg_buf_init(&b, 0);
    kql_val_text(&b, v);
    assert_int_equal(b.n, strlen(want));
    assert_memory_equal(b.n ? b.p : "", want, b.n);
    vg_buf_free(&b);
}

static void check_json(kql_val v, const char *want)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    kql_val_json(&b, v);
    assert_string_equal(vg_buf_cstr(&b), want);
    vg_buf_free(&b);
}

/* kql_val_json must always produce a JSON document vg_json_parse accepts. */
static void check_json_valid(kql_val v)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    kql_val_json(&b, v);
    vg_json *j;
    assert_int_equal(vg_json_parse(&A, vg_str_make(b.p, b.n), &j, NULL), VG_OK);
    vg_buf_free(&b);
}

static void test_text(void **state)
{
    check_text(kql_long(-42), "-42");
    check_text(kql_int(7), "7");
    check_text(kql_bool(true), "true");
    check_text(kql_bool(false), "false");
    check_text(kql_null(VG_T_LONG), "");
    check_text(kql_null(VG_T_STRING), "");
    check_text(kql_real(1.0), "1");
    check_text(kql_real(1.5), "1.5");
    check_text(kql_real(0.1), "0.1");
    check_text(kql_real(-2.25), "-2.25");
    check_text(kql_real(1.0 / 3), "0.3333333333333333");
    check_text(kql_real(1e20), "1E+20");
    check_text(kql_real(123456789012345.0), "123456789012345");
    check_text(kql_real(1e15), "1E+15");
    check_text(kql_real(0.0001), "0.0001");
    check_text(kql_real(0.00001), "1E-05");
    check_text(kql_real(1.5e-7), "1.5E-07");
    check_text(kql_real(NAN), "NaN");
    check_text(kql_real(INFINITY), "Infinity");
    check_text(kql_real(-INFINITY), "-Infinity");
    check_text(kql_real(0.0), "0");

    vg_time t = vg_time_from_civil(2024, 1, 2, 3, 4, 5, 0);
    check_text(kql_datetime(t), "2024-01-02T03:04:05Z");
    check_text(kql_datetime(t + 1234567), "2024-01-02T03:04:05.1234567Z");
    check_text(kql_datetime(t + 1000000), "2024-01-02T03:04:05.1Z");
    check_text(kql_datetime(t + 10), "2024-01-02T03:04:05.000001Z");

    check_text(kql_timespan(VG_TICKS_PER_DAY), "1.00:00:00");
    check_text(kql_timespan(90 * 60 * VG_TICKS_PER_SEC), "01:30:00");
    check_text(kql_timespan(15 * VG_TICKS_PER_SEC), "00:00:15");
    check_text(kql_timespan(15 * VG_TICKS_PER_SEC / 10), "00:00:01.5000000");
    check_text(kql_timespan(-VG_TICKS_PER_SEC), "-00:00:01");
    check_text(kql_timespan(VG_TICKS_PER_DAY + 2 * 3600 * VG_TICKS_PER_SEC + 3 * 60 * VG_TICKS_PER_SEC +
                            4 * VG_TICKS_PER_SEC + 5000000),
               "1.02:03:04.5000000");
    check_text(kql_timespan(0), "00:00:00");
    check_text(kql_timespan(INT64_MIN), "-10675199.02:48:05.4775808");

    const vg_json *d = kql_dyn_parse(&A, VG_STR_LIT("{\"a\": [1, \"x\", null], \"b\": true}"));
    check_text(kql_dynamic(d), "{\"a\":[1,\"x\",null],\"b\":true}");
    check_text(kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("\"str\""))), "str");
    check_text(kql_null(VG_T_DYNAMIC), "");
    check_text(kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("1.50"))), "1.5");
    check_text(kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("-12"))), "-12");
    check_text(kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("1e2"))), "100");
}

static void test_json(void **state)
{
    check_json(kql_long(12), "12");
    check_json(kql_real(1.5), "1.5");
    check_json(kql_real(NAN), "\"NaN\"");
    check_json(kql_bool(true), "true");
    check_json(kql_null(VG_T_DATETIME), "null");
    check_json(kql_null(VG_T_STRING), "\"\"");
    check_json(kql_string(VG_STR_LIT("a\"b")), "\"a\\\"b\"");
    check_json(kql_datetime(vg_time_from_civil(2024, 1, 2, 3, 4, 5, 0)), "\"2024-01-02T03:04:05Z\"");
    check_json(kql_timespan(VG_TICKS_PER_DAY), "\"1.00:00:00\"");
    check_json(kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("[1, {\"k\": \"v\"}]"))), "[1,{\"k\":\"v\"}]");
    check_json(kql_null(VG_T_DYNAMIC), "null");
}

static void test_parse_timespan(void **state)
{
    int64_t t;
    assert_true(kql_parse_timespan(VG_STR_LIT("1.02:03:04.5"), &t));
    assert_int_equal(t, VG_TICKS_PER_DAY + (2 * 3600 + 3 * 60 + 4) * VG_TICKS_PER_SEC + 5000000);
    assert_true(kql_parse_timespan(VG_STR_LIT("02:03"), &t));
    assert_int_equal(t, (2 * 3600 + 3 * 60) * VG_TICKS_PER_SEC);
    assert_true(kql_parse_timespan(VG_STR_LIT("-00:00:01"), &t));
    assert_int_equal(t, -VG_TICKS_PER_SEC);
    assert_true(kql_parse_timespan(VG_STR_LIT("5m"), &t));
    assert_int_equal(t, 300 * VG_TICKS_PER_SEC);
    assert_true(kql_parse_timespan(VG_STR_LIT("1d"), &t));
    assert_int_equal(t, VG_TICKS_PER_DAY);
    assert_true(kql_parse_timespan(VG_STR_LIT("1.5s"), &t));
    assert_int_equal(t, 15000000);
    assert_true(kql_parse_timespan(VG_STR_LIT("100ms"), &t));
    assert_int_equal(t, 100 * VG_TICKS_PER_MS);
    assert_true(kql_parse_timespan(VG_STR_LIT("3"), &t));
    assert_int_equal(t, 3 * VG_TICKS_PER_DAY);
    assert_false(kql_parse_timespan(VG_STR_LIT("abc"), &t));
    assert_false(kql_parse_timespan(VG_STR_LIT(""), &t));
    assert_false(kql_parse_timespan(VG_STR_LIT("5q"), &t));
    assert_false(kql_parse_timespan(VG_STR_LIT("25:00:00"), &t));
    assert_false(kql_parse_timespan(VG_STR_LIT("1:"), &t));
    assert_false(kql_parse_timespan(VG_STR_LIT("99999999999999999999d"), &t));
}

static void test_cast(void **state)
{
    kql_val v = kql_cast(&A, kql_string(VG_STR_LIT("12")), VG_T_LONG);
    assert_false(v.null);
    assert_int_equal(v.t, VG_T_LONG);
    assert_int_equal(v.u.i, 12);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("x")), VG_T_LONG).null);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("")), VG_T_LONG).null);
    assert_int_equal(kql_cast(&A, kql_real(1.9), VG_T_LONG).u.i, 1);
    assert_int_equal(kql_cast(&A, kql_real(-1.9), VG_T_LONG).u.i, -1);
    assert_true(kql_cast(&A, kql_real(NAN), VG_T_LONG).null);
    assert_true(kql_cast(&A, kql_real(1e300), VG_T_LONG).null);
    assert_true(kql_cast(&A, kql_long(1LL << 40), VG_T_INT).null);
    assert_int_equal(kql_cast(&A, kql_long(5), VG_T_INT).u.i, 5);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("1.5")), VG_T_REAL).u.r == 1.5);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("0x10")), VG_T_REAL).null);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("abc")), VG_T_REAL).null);
    assert_true(kql_cast(&A, kql_long(3), VG_T_REAL).u.r == 3.0);

    v = kql_cast(&A, kql_string(VG_STR_LIT("true")), VG_T_BOOL);
    assert_false(v.null);
    assert_true(v.u.i);
    assert_false(kql_cast(&A, kql_string(VG_STR_LIT("FALSE")), VG_T_BOOL).u.i);
    assert_true(kql_cast(&A, kql_long(123), VG_T_BOOL).u.i);
    assert_false(kql_cast(&A, kql_long(0), VG_T_BOOL).u.i);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("yes")), VG_T_BOOL).null);

    v = kql_cast(&A, kql_string(VG_STR_LIT("2024-01-02T03:04:05Z")), VG_T_DATETIME);
    assert_false(v.null);
    assert_int_equal(v.u.i, vg_time_from_civil(2024, 1, 2, 3, 4, 5, 0));
    v = kql_cast(&A, kql_string(VG_STR_LIT("2024-01-02 03:04:05.5")), VG_T_DATETIME);
    assert_int_equal(v.u.i, vg_time_from_civil(2024, 1, 2, 3, 4, 5, 5000000));
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("not a date")), VG_T_DATETIME).null);
    vg_time want = vg_time_from_civil(2014, 11, 8, 15, 5, 2, 0);
    v = kql_cast(&A, kql_string(VG_STR_LIT("Sat, 8 Nov 2014 15:05:02 GMT")), VG_T_DATETIME);
    assert_false(v.null);
    assert_int_equal(v.u.i, want);
    v = kql_cast(&A, kql_string(VG_STR_LIT("Saturday, 08-Nov-14 15:05:02 GMT")), VG_T_DATETIME);
    assert_int_equal(v.u.i, want);
    v = kql_cast(&A, kql_string(VG_STR_LIT("8 Nov 14 17:05:02 +0200")), VG_T_DATETIME);
    assert_int_equal(v.u.i, want);
    v = kql_cast(&A, kql_string(VG_STR_LIT("Sat, 8 Nov 2014 10:05:02 EST")), VG_T_DATETIME);
    assert_int_equal(v.u.i, want);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("Sat, 8 Foo 2014 10:05:02 EST")), VG_T_DATETIME).null);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("8 Nov 2014 10:05:02 XYZ")), VG_T_DATETIME).null);
    /* tolong(datetime) counts ticks from 0001-01-01 and back */
    v = kql_cast(&A, kql_datetime(0), VG_T_LONG);
    assert_int_equal(v.u.i, 621355968000000000LL);
    assert_int_equal(kql_cast(&A, v, VG_T_DATETIME).u.i, 0);

    v = kql_cast(&A, kql_string(VG_STR_LIT("01:30:00")), VG_T_TIMESPAN);
    assert_int_equal(v.u.i, 90 * 60 * VG_TICKS_PER_SEC);
    assert_true(kql_cast(&A, kql_string(VG_STR_LIT("zz")), VG_T_TIMESPAN).null);

    assert_str(kql_cast(&A, kql_real(2.5), VG_T_STRING).u.s, "2.5");
    assert_str(kql_cast(&A, kql_null(VG_T_LONG), VG_T_STRING).u.s, "");
    assert_true(kql_cast(&A, kql_null(VG_T_STRING), VG_T_LONG).null);

    /* dynamic: scalars convert, containers do not */
    const vg_json *d = kql_dyn_parse(&A, VG_STR_LIT("[\"7\", 8, 2.5]"));
    assert_int_equal(kql_cast(&A, kql_dynamic(kql_dyn_index(d, 0)), VG_T_LONG).u.i, 7);
    assert_int_equal(kql_cast(&A, kql_dynamic(kql_dyn_index(d, 1)), VG_T_LONG).u.i, 8);
    assert_true(kql_cast(&A, kql_dynamic(kql_dyn_index(d, 2)), VG_T_REAL).u.r == 2.5);
    assert_true(kql_cast(&A, kql_dynamic(d), VG_T_LONG).null);
    v = kql_cast(&A, kql_string(VG_STR_LIT("{\"a\":1}")), VG_T_DYNAMIC);
    assert_int_equal(v.t, VG_T_DYNAMIC);
    assert_int_equal(v.u.d->kind, VG_JSON_OBJECT);
}

static void test_eq_cmp_hash(void **state)
{
    assert_true(kql_val_eq(kql_long(1), kql_real(1.0)));
    assert_true(kql_val_eq(kql_int(1), kql_long(1)));
    assert_false(kql_val_eq(kql_long(1), kql_real(1.5)));
    assert_false(kql_val_eq(kql_null(VG_T_LONG), kql_null(VG_T_LONG)));
    assert_false(kql_val_eq(kql_string(VG_STR_LIT("a")), kql_string(VG_STR_LIT("A"))));
    assert_true(kql_val_eq(kql_string(VG_STR_LIT("ab")), kql_string(VG_STR_LIT("ab"))));
    assert_false(kql_val_eq(kql_string(VG_STR_LIT("1")), kql_long(1)));
    assert_true(kql_val_eq(kql_datetime(5), kql_datetime(5)));
    assert_false(kql_val_eq(kql_datetime(5), kql_timespan(5)));
    const vg_json *d1 = kql_dyn_parse(&A, VG_STR_LIT("{\"a\": [1,2]}"));
    const vg_json *d2 = kql_dyn_parse(&A, VG_STR_LIT("{\"a\":[1, 2]}"));
    const vg_json *d3 = kql_dyn_parse(&A, VG_STR_LIT("{\"a\":[2, 1]}"));
    assert_true(kql_val_eq(kql_dynamic(d1), kql_dynamic(d2)));
    assert_false(kql_val_eq(kql_dynamic(d1), kql_dynamic(d3)));
    assert_int_equal(kql_val_hash(kql_dynamic(d1)), kql_val_hash(kql_dynamic(d2)));
    assert_true(kql_val_eq(kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("5"))), kql_long(5)));

    assert_int_equal(kql_val_hash(kql_long(3)), kql_val_hash(kql_real(3.0)));
    assert_int_equal(kql_val_hash(kql_long(3)), kql_val_hash(kql_int(3)));
    assert_true(kql_val_hash(kql_long(3)) != kql_val_hash(kql_long(4)));
    assert_int_equal(kql_val_hash(kql_string(VG_STR_LIT("x"))), kql_val_hash(kql_string(VG_STR_LIT("x"))));

    assert_true(kql_val_cmp(kql_null(VG_T_LONG), kql_long(INT64_MIN)) < 0);
    assert_true(kql_val_cmp(kql_long(INT64_MIN), kql_null(VG_T_LONG)) > 0);
    assert_int_equal(kql_val_cmp(kql_null(VG_T_LONG), kql_null(VG_T_LONG)), 0);
    assert_true(kql_val_cmp(kql_long(1), kql_real(1.5)) < 0);
    assert_true(kql_val_cmp(kql_real(2.5), kql_long(2)) > 0);
    assert_true(kql_val_cmp(kql_long(-3), kql_real(-2.5)) < 0);
    assert_true(kql_val_cmp(kql_long(-2), kql_real(-2.5)) > 0);
    assert_int_equal(kql_val_cmp(kql_long(2), kql_real(2.0)), 0);
    assert_true(kql_val_cmp(kql_long(INT64_MAX), kql_real(1e19)) < 0);
    assert_true(kql_val_cmp(kql_string(VG_STR_LIT("B")), kql_string(VG_STR_LIT("a"))) < 0);
    assert_true(kql_val_cmp(kql_string(VG_STR_LIT("ab")), kql_string(VG_STR_LIT("abc"))) < 0);
    assert_true(kql_val_cmp(kql_bool(false), kql_bool(true)) < 0);
    assert_true(kql_val_cmp(kql_datetime(10), kql_datetime(9)) > 0);
}

static void test_dynamic(void **state)
{
    vg_json *arr = kql_dyn_array(&A, 3);
    assert_non_null(arr);
    assert_true(kql_dyn_push(arr, kql_dyn_from(&A, kql_long(1))));
    assert_true(kql_dyn_push(arr, kql_dyn_from(&A, kql_string(VG_STR_LIT("s")))));
    assert_true(kql_dyn_push(arr, kql_dyn_from(&A, kql_null(VG_T_REAL))));
    assert_false(kql_dyn_push(arr, kql_dyn_from(&A, kql_long(4))));   /* full */
    vg_json *bag = kql_dyn_bag(&A, 4);
    assert_true(kql_dyn_put(&A, bag, VG_STR_LIT("arr"), arr));
    assert_true(kql_dyn_put(&A, bag, VG_STR_LIT("t"),
                            kql_dyn_from(&A, kql_datetime(vg_time_from_civil(2024, 1, 2, 0, 0, 0, 0)))));
    assert_true(kql_dyn_put(&A, bag, VG_STR_LIT("r"), kql_dyn_from(&A, kql_real(0.5))));
    assert_true(kql_dyn_put(&A, bag, VG_STR_LIT("r"), kql_dyn_from(&A, kql_real(2.5))));  /* replaces */
    assert_true(kql_dyn_put(&A, bag, VG_STR_LIT("b"), kql_dyn_from(&A, kql_bool(true))));
    check_json(kql_dynamic(bag),
               "{\"arr\":[1,\"s\",null],\"t\":\"2024-01-02T00:00:00Z\",\"r\":2.5,\"b\":true}");

    kql_val s = kql_dyn_scalar(kql_dyn_member(bag, VG_STR_LIT("r")));
    assert_int_equal(s.t, VG_T_REAL);
    assert_true(s.u.r == 2.5);
    s = kql_dyn_scalar(kql_dyn_index(arr, 0));
    assert_int_equal(s.t, VG_T_LONG);
    assert_int_equal(s.u.i, 1);
    s = kql_dyn_scalar(kql_dyn_index(arr, -2));
    assert_int_equal(s.t, VG_T_STRING);
    assert_str(s.u.s, "s");
    s = kql_dyn_scalar(kql_dyn_index(arr, 2));
    assert_true(s.null);
    assert_null(kql_dyn_index(arr, 3));
    assert_null(kql_dyn_index(arr, -4));
    assert_null(kql_dyn_member(bag, VG_STR_LIT("zz")));
    assert_null(kql_dyn_member(arr, VG_STR_LIT("arr")));
    assert_int_equal(kql_dyn_scalar(kql_dyn_member(bag, VG_STR_LIT("b"))).t, VG_T_BOOL);
    assert_int_equal(kql_dyn_scalar(kql_dyn_member(bag, VG_STR_LIT("arr"))).t, VG_T_DYNAMIC);

    /* text that is not JSON becomes a dynamic string */
    const vg_json *p = kql_dyn_parse(&A, VG_STR_LIT("hello {"));
    assert_int_equal(p->kind, VG_JSON_STRING);
    assert_str(p->str, "hello {");
    p = kql_dyn_parse(&A, VG_STR_LIT("12345678901234567890"));
    assert_int_equal(kql_dyn_scalar(p).t, VG_T_REAL);
}

static void test_columns(void **state)
{
    kql_col c;
    assert_int_equal(kql_col_alloc(&A, VG_T_LONG, 130, &c), VG_OK);
    assert_true(kql_col_get(&c, 0).null);
    assert_true(kql_col_get(&c, 129).null);
    kql_col_set(&c, 129, kql_long(9));
    kql_col_set(&c, 64, kql_real(2.7));   /* converted */
    assert_int_equal(kql_col_get(&c, 129).u.i, 9);
    assert_false(kql_col_get(&c, 129).null);
    assert_int_equal(kql_col_get(&c, 64).u.i, 2);
    kql_col_set(&c, 129, kql_null(VG_T_LONG));
    assert_true(kql_col_get(&c, 129).null);
    assert_true(kql_col_get(&c, 500).null);   /* out of range reads null */

    assert_int_equal(kql_col_alloc(&A, VG_T_STRING, 3, &c), VG_OK);
    kql_val s = kql_col_get(&c, 1);
    assert_false(s.null);
    assert_int_equal(s.u.s.n, 0);
    kql_col_set(&c, 2, kql_string(VG_STR_LIT("abc")));
    assert_str(kql_col_get(&c, 2).u.s, "abc");

    assert_int_equal(kql_col_alloc(&A, VG_T_BOOL, 2, &c), VG_OK);
    kql_col_set(&c, 1, kql_bool(true));
    assert_true(kql_col_get(&c, 1).u.i);
    assert_true(kql_col_get(&c, 0).null);

    assert_int_equal(kql_col_alloc(&A, VG_T_DYNAMIC, 2, &c), VG_OK);
    assert_true(kql_col_get(&c, 0).null);
    kql_col_set(&c, 0, kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("[1]"))));
    assert_int_equal(kql_col_get(&c, 0).u.d->kind, VG_JSON_ARRAY);
}

/* Every value cast to every type and compared with every other: no crash,
 * casts yield the target type, eq implies equal hashes and cmp == 0. */
static void test_matrix(void **state)
{
    const kql_val vals[] = {
        kql_long(0), kql_long(-7), kql_long(INT64_MAX), kql_long(INT64_MIN), kql_int(3), kql_real(3.0),
        kql_real(-0.0), kql_real(NAN), kql_real(INFINITY), kql_real(1e300), kql_bool(true),
        kql_bool(false), kql_datetime(VG_TIME_MIN), kql_datetime(VG_TIME_MAX), kql_timespan(INT64_MIN),
        kql_timespan(INT64_MAX), kql_string(VG_STR_LIT("")), kql_string(VG_STR_LIT("3")),
        kql_string(VG_STR_LIT("  -12 ")), kql_string(VG_STR_LIT("1e999")), kql_string(VG_STR_LIT("0x")),
        kql_string(VG_STR_LIT("9223372036854775808")), kql_string(VG_STR_LIT("1.00:00:00")),
        kql_string(VG_STR_LIT("[1,2]")), kql_string(VG_STR_LIT("Mon, 1 Jan")),
        kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("{\"a\":[1,{}]}"))),
        kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("3"))), kql_dynamic(kql_dyn_parse(&A, VG_STR_LIT("\"x\""))),
        kql_null(VG_T_LONG), kql_null(VG_T_DYNAMIC), kql_null(VG_T_DATETIME), kql_null(VG_T_BOOL),
    };
    const size_t nv = sizeof vals / sizeof vals[0];
    for (size_t i = 0; i < nv; i++) {
        for (int t = 0; t < VG_T_COUNT_; t++) {
            kql_val c = kql_cast(&A, vals[i], (vg_type)t);
            assert_int_equal(c.t, t);
            (void)kql_to_string(&A, c);
            check_json_valid(c);
        }
        for (size_t j = 0; j < nv; j++) {
            bool eq = kql_val_eq(vals[i], vals[j]);
            int c1 = kql_val_cmp(vals[i], vals[j]), c2 = kql_val_cmp(vals[j], vals[i]);
            assert_int_equal(c1, -c2);
            assert_int_equal(eq, kql_val_eq(vals[j], vals[i]));
            if (eq) {
                assert_int_equal(c1, 0);
                assert_true(kql_val_hash(vals[i]) == kql_val_hash(vals[j]));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_timespan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eq_cmp_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
