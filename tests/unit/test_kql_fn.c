/*
 * test_kql_fn.c - unit tests of the KQL scalar function registry (kql_fn.c)
 * and the time and misc function tables: each case goes through
 * kql_fn_find() and the row's fn/typer, with Kusto's documented examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>
#include <stdio.h>
#include <unistd.h>

#include "kql/kql_val.h"

static vg_arena A;
static kql_ctx C;

static int setup(void **state)
{
    vg_arena_init(&A, 0, 0);
    memset(&C, 0, sizeof C);
    C.arena = &A;
    C.now = vg_time_from_civil(2024, 3, 10, 12, 0, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    vg_arena_free(&A);
    return 0;
}

static const kql_fn_def *fn(const char *name)
{
    const kql_fn_def *d = kql_fn_find(vg_str_c(name));
    if (!d)
        fail_msg("function %s not registered", name);
    return d;
}

static kql_val callv(const char *name, const kql_val *args, uint32_t n)
{
    const kql_fn_def *d = fn(name);
    if (n < d->min_args || n > d->max_args)
        fail_msg("%s: %u arguments out of [%u, %u]", name, n, d->min_args, d->max_args);
    return d->fn(&C, args, n);
}

#define CALL(name, ...) callv(name, (const kql_val[]){ __VA_ARGS__ }, \
                              sizeof((const kql_val[]){ __VA_ARGS__ }) / sizeof(kql_val))

static kql_val S(const char *s) { return kql_string(vg_str_c(s)); }
static kql_val DT(const char *iso)
{
    vg_time t;
    if (vg_time_parse_iso(vg_str_c(iso), &t) != VG_OK)
        fail_msg("bad datetime literal %s", iso);
    return kql_datetime(t);
}
static kql_val TS(int64_t secs) { return kql_timespan(secs * VG_TICKS_PER_SEC); }
static kql_val J(const char *json) { return kql_dynamic(kql_dyn_parse(&A, vg_str_c(json))); }

static const char *text(kql_val v) { return vg_str_dup(&A, kql_to_string(&A, v)).p; }
static const char *json(kql_val v)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    kql_val_json(&b, v);
    const char *r = vg_arena_memdup(&A, b.p ? b.p : "", b.n);
    vg_buf_free(&b);
    return r;
}

#define assert_text(v, want) assert_string_equal(text(v), want)
#define assert_json(v, want) assert_string_equal(json(v), want)

static void assert_dt(kql_val v, const char *iso)
{
    assert_int_equal(v.t, VG_T_DATETIME);
    assert_false(v.null);
    assert_int_equal(v.u.i, DT(iso).u.i);
}

static void assert_long(kql_val v, int64_t want)
{
    if (v.t != VG_T_LONG && v.t != VG_T_INT)
        fail_msg("type %s, wanted long", vg_type_name(v.t));
    assert_false(v.null);
    assert_int_equal(v.u.i, want);
}

static void assert_bool(kql_val v, bool want)
{
    assert_int_equal(v.t, VG_T_BOOL);
    assert_false(v.null);
    assert_int_equal(v.u.i, want);
}

static void assert_real(kql_val v, double want)
{
    assert_int_equal(v.t, VG_T_REAL);
    assert_false(v.null);
    assert_true(fabs(v.u.r - want) < 1e-9);
}

static void assert_null_of(kql_val v, vg_type t)
{
    assert_int_equal(v.t, t);
    assert_true(v.null);
}

static vg_type type_of(const char *name, const vg_type *args, uint32_t n, vg_diag *d)
{
    const kql_fn_def *f = fn(name);
    if (f->ret != KQL_T_ANY)
        return f->ret;
    return f->typer(args, n, d);
}

/* ---- registry ---- */

static void test_registry(void **state)
{
    size_t n;
    const kql_fn_def *const *all = kql_fn_all(&n);
    assert_true(n > 100);
    for (size_t i = 1; i < n; i++)
        if (strcmp(all[i - 1]->name, all[i]->name) >= 0)
            fail_msg("registry not sorted/unique at %s, %s", all[i - 1]->name, all[i]->name);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(all[i]->fn);
        assert_true(all[i]->min_args <= all[i]->max_args);
        assert_true(all[i]->ret != KQL_T_ANY || all[i]->typer != NULL);
        assert_non_null(all[i]->doc);
    }
    assert_null(kql_fn_find(vg_str_c("no_such_function")));
    assert_null(kql_fn_find(vg_str_c("IFF")));   /* case-sensitive */
    /* aliases share the implementation */
    assert_ptr_equal(fn("iif")->fn, fn("iff")->fn);
    assert_ptr_equal(fn("toreal")->fn, fn("todouble")->fn);
    assert_ptr_equal(fn("floor")->fn, fn("bin")->fn);
    assert_ptr_equal(fn("pack")->fn, fn("bag_pack")->fn);
    assert_ptr_equal(fn("parse_json")->fn, fn("todynamic")->fn);
    assert_string_equal(fn("iif")->name, "iif");
    assert_ptr_equal(fn("notempty")->fn, fn("isnotempty")->fn);   /* alias of a string function */
    assert_null(kql_fn_find(vg_str_c("empty")));                   /* not a Kusto name */
    /* a counted name, not NUL-terminated */
    assert_non_null(kql_fn_find(vg_str_make("agoxyz", 3)));
}

/* ---- time ---- */

static void test_bin(void **state)
{
    assert_real(CALL("bin", kql_real(4.5), kql_long(1)), 4.0);
    assert_long(CALL("bin", kql_long(-5), kql_long(2)), -6);
    assert_long(CALL("bin", kql_long(7), kql_long(5)), 5);
    kql_val r = CALL("bin", TS(16 * 86400), TS(7 * 86400));
    assert_int_equal(r.t, VG_T_TIMESPAN);
    assert_int_equal(r.u.i, 14 * VG_TICKS_PER_DAY);
    assert_dt(CALL("bin", DT("1970-05-11T13:45:07Z"), TS(86400)), "1970-05-11T00:00:00Z");
    assert_dt(CALL("bin", DT("1969-12-31T23:59:59Z"), TS(3600)), "1969-12-31T23:00:00Z");
    /* 7d bins are counted from 0001-01-01 (a Monday) */
    assert_dt(CALL("bin", DT("2024-03-10T05:00:00Z"), TS(7 * 86400)), "2024-03-04T00:00:00Z");
    assert_null_of(CALL("bin", kql_null(VG_T_LONG), kql_long(2)), VG_T_LONG);
    assert_null_of(CALL("bin", kql_long(5), kql_long(-2)), VG_T_LONG);
    assert_null_of(CALL("bin", DT("2024-01-01"), TS(0)), VG_T_DATETIME);
    assert_real(CALL("floor", kql_real(-0.5), kql_long(1)), -1.0);

    assert_real(CALL("bin_at", kql_real(6.5), kql_real(2.5), kql_long(7)), 4.5);
    r = CALL("bin_at", TS(3600), TS(86400), TS(12 * 3600));
    assert_int_equal(r.u.i, -12 * 3600 * VG_TICKS_PER_SEC);
    assert_dt(CALL("bin_at", DT("2017-05-15T10:20:00Z"), TS(86400), DT("1970-01-01T12:00:00Z")),
              "2017-05-14T12:00:00Z");
    assert_dt(CALL("bin_at", DT("2017-05-17T10:20:00Z"), TS(7 * 86400), DT("2017-06-04T00:00:00Z")),
              "2017-05-14T00:00:00Z");

    vg_diag d = { "" };
    vg_type t[2] = { VG_T_LONG, VG_T_REAL };
    assert_int_equal(type_of("bin", t, 2, &d), VG_T_REAL);
    t[0] = VG_T_DATETIME;
    t[1] = VG_T_TIMESPAN;
    assert_int_equal(type_of("bin", t, 2, &d), VG_T_DATETIME);
    t[1] = VG_T_STRING;
    assert_int_equal(type_of("bin", t, 2, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "bin()"));
}

static void test_start_end(void **state)
{
    assert_dt(CALL("startofweek", DT("2017-01-01T10:10:17Z"), kql_long(-1)), "2016-12-25");
    assert_dt(CALL("startofweek", DT("2017-01-01T10:10:17Z")), "2017-01-01");
    assert_dt(CALL("startofweek", DT("2017-01-01T10:10:17Z"), kql_long(1)), "2017-01-08");
    assert_dt(CALL("startofweek", DT("2025-06-14")), "2025-06-08");
    assert_dt(CALL("startofday", DT("2017-01-01T10:10:17Z"), kql_long(-1)), "2016-12-31");
    assert_dt(CALL("startofmonth", DT("2017-01-01T10:10:17Z"), kql_long(-1)), "2016-12-01");
    assert_dt(CALL("startofmonth", DT("2017-01-31T10:10:17Z"), kql_long(13)), "2018-02-01");
    assert_dt(CALL("startofyear", DT("2017-01-01T10:10:17Z"), kql_long(1)), "2018-01-01");
    assert_dt(CALL("endofday", DT("2017-01-01T10:10:17Z"), kql_long(-1)), "2016-12-31T23:59:59.9999999Z");
    assert_dt(CALL("endofweek", DT("2017-01-01T10:10:17Z")), "2017-01-07T23:59:59.9999999Z");
    assert_dt(CALL("endofmonth", DT("2016-02-03T10:10:17Z")), "2016-02-29T23:59:59.9999999Z");
    assert_dt(CALL("endofyear", DT("2017-01-01T10:10:17Z"), kql_long(1)), "2018-12-31T23:59:59.9999999Z");
    assert_dt(CALL("endofyear", DT("9999-05-01")), "9999-12-31T23:59:59.9999999Z");
    assert_null_of(CALL("startofyear", DT("9999-05-01"), kql_long(1)), VG_T_DATETIME);
    assert_dt(CALL("endofday", DT("9999-12-31T05:00:00Z")), "9999-12-31T23:59:59.9999999Z");
    assert_dt(CALL("endofweek", DT("9999-12-30")), "9999-12-31T23:59:59.9999999Z");
    assert_dt(CALL("endofday", DT("2020-01-01"), kql_long(1000000)), "4757-11-28T23:59:59.9999999Z");
    assert_null_of(CALL("endofday", DT("2020-01-01"), kql_long(5000000)), VG_T_DATETIME);
    assert_dt(CALL("startofday", DT("2020-01-01"), kql_long(-737424)), "0001-01-01");
    assert_null_of(CALL("startofday", kql_null(VG_T_DATETIME)), VG_T_DATETIME);
}

static void test_parts(void **state)
{
    kql_val r = CALL("dayofweek", DT("1947-11-30T10:00:05Z"));   /* a Sunday */
    assert_int_equal(r.t, VG_T_TIMESPAN);
    assert_int_equal(r.u.i, 0);
    r = CALL("dayofweek", DT("1970-05-11"));   /* Monday */
    assert_int_equal(r.u.i, VG_TICKS_PER_DAY);
    assert_long(CALL("dayofmonth", DT("2015-12-14")), 14);
    assert_long(CALL("dayofyear", DT("2015-12-14")), 348);
    assert_long(CALL("dayofyear", DT("2016-12-31")), 366);
    assert_long(CALL("hourofday", DT("2015-12-14T18:54:00Z")), 18);
    assert_long(CALL("getmonth", DT("2015-10-12")), 10);
    assert_long(CALL("monthofyear", DT("2015-12-14")), 12);
    assert_long(CALL("getyear", DT("2015-10-12")), 2015);
    /* ISO 8601 weeks */
    assert_long(CALL("weekofyear", DT("2015-12-14")), 51);
    assert_long(CALL("weekofyear", DT("2000-01-01")), 52);
    assert_long(CALL("weekofyear", DT("2024-12-31")), 1);
    assert_long(CALL("weekofyear", DT("2025-12-31")), 1);
    assert_long(CALL("weekofyear", DT("2020-12-31")), 53);
    kql_val dt = DT("2017-10-30T01:02:03.7654321Z");
    assert_long(CALL("datetime_part", S("Year"), dt), 2017);
    assert_long(CALL("datetime_part", S("Quarter"), dt), 4);
    assert_long(CALL("datetime_part", S("dayOfYear"), dt), 303);
    assert_long(CALL("datetime_part", S("week_of_year"), dt), 44);
    assert_long(CALL("datetime_part", S("Millisecond"), dt), 765);
    assert_long(CALL("datetime_part", S("Microsecond"), dt), 765432);
    assert_long(CALL("datetime_part", S("Nanosecond"), dt), 765432100);
    assert_null_of(CALL("datetime_part", S("fortnight"), dt), VG_T_INT);
}

static void test_diff_add(void **state)
{
    /* the examples of Kusto's datetime_diff page */
    assert_long(CALL("datetime_diff", S("year"), DT("2017-01-01"), DT("2000-12-31")), 17);
    assert_long(CALL("datetime_diff", S("quarter"), DT("2017-07-01"), DT("2017-03-30")), 2);
    assert_long(CALL("datetime_diff", S("month"), DT("2017-01-01"), DT("2015-12-30")), 13);
    assert_long(CALL("datetime_diff", S("week"), DT("2017-10-29 00:00"), DT("2017-09-30 23:59")), 5);
    assert_long(CALL("datetime_diff", S("day"), DT("2017-10-29 00:00"), DT("2017-09-30 23:59")), 29);
    assert_long(CALL("datetime_diff", S("hour"), DT("2017-10-31 01:00"), DT("2017-10-30 23:59")), 2);
    assert_long(CALL("datetime_diff", S("minute"), DT("2017-10-30 23:05:01"), DT("2017-10-30 23:00:59")), 5);
    assert_long(CALL("datetime_diff", S("second"), DT("2017-10-30 23:00:10.100"), DT("2017-10-30 23:00:00.900")), 10);
    assert_long(CALL("datetime_diff", S("millisecond"), DT("2017-10-30 23:00:00.200100"),
                     DT("2017-10-30 23:00:00.100900")), 100);
    assert_long(CALL("datetime_diff", S("microsecond"), DT("2017-10-30 23:00:00.1009001"),
                     DT("2017-10-30 23:00:00.1008009")), 100);
    assert_long(CALL("datetime_diff", S("nanosecond"), DT("2017-10-30 23:00:00.0000000"),
                     DT("2017-10-30 23:00:00.0000007")), -700);
    assert_long(CALL("datetime_diff", S("day"), DT("1960-01-01"), DT("1960-01-02T12:00:00Z")), -1);
    assert_null_of(CALL("datetime_diff", S("day"), kql_null(VG_T_DATETIME), DT("2017-01-01")), VG_T_LONG);

    assert_dt(CALL("datetime_add", S("month"), kql_long(1), DT("2017-01-31")), "2017-02-28");
    assert_dt(CALL("datetime_add", S("year"), kql_long(-5), DT("2017-10-30 01:02:03.7654321")),
              "2012-10-30T01:02:03.7654321Z");
    assert_dt(CALL("datetime_add", S("quarter"), kql_long(1), DT("2017-11-30")), "2018-02-28");
    assert_dt(CALL("datetime_add", S("week"), kql_long(1), DT("2017-10-30")), "2017-11-06");
    assert_dt(CALL("datetime_add", S("hour"), kql_long(-25), DT("2017-10-30")), "2017-10-28T23:00:00Z");
    assert_dt(CALL("datetime_add", S("millisecond"), kql_long(5), DT("2017-10-30")), "2017-10-30T00:00:00.005Z");
    assert_null_of(CALL("datetime_add", S("year"), kql_long(9000), DT("2017-10-30")), VG_T_DATETIME);
    assert_null_of(CALL("datetime_add", S("second"), kql_long(INT64_MAX), DT("2017-10-30")), VG_T_DATETIME);
}

static void test_format(void **state)
{
    kql_val dt = DT("2015-12-14T02:03:04.12345Z");
    assert_text(CALL("format_datetime", dt, S("y-M-d h:m:s.fffffff")), "15-12-14 2:3:4.1234500");
    assert_text(CALL("format_datetime", DT("2017-01-29T09:00:05Z"), S("yy-MM-dd [HH:mm:ss]")),
                "17-01-29 [09:00:05]");
    assert_text(CALL("format_datetime", DT("2017-01-29T09:00:05Z"), S("yyyy-M-dd [H:mm:ss]")),
                "2017-1-29 [9:00:05]");
    assert_text(CALL("format_datetime", DT("2017-01-29T19:00:05Z"), S("yy-MM-dd [hh:mm:ss tt]")),
                "17-01-29 [07:00:05 PM]");
    assert_text(CALL("format_datetime", DT("2009-06-15T13:45:30.617Z"), S("ss.FFFF")), "30.617");
    assert_text(CALL("format_datetime", DT("2009-06-15T13:45:30Z"), S("HH:mm:ss.FFF")), "13:45:30");
    assert_text(CALL("format_datetime", DT("2009-06-15T13:45:30.005Z"), S("ff")), "00");
    assert_text(CALL("format_datetime", kql_null(VG_T_DATETIME), S("yyyy")), "");   /* a string is never null */

    kql_val ts = kql_timespan(14 * VG_TICKS_PER_DAY + (2 * 3600 + 3 * 60 + 4) * VG_TICKS_PER_SEC + 1234500);
    assert_text(CALL("format_timespan", ts, S("h:m:s.fffffff")), "2:3:4.1234500");
    assert_text(CALL("format_timespan", ts, S("h:m:s.FFFFFFF")), "2:3:4.12345");
    assert_text(CALL("format_timespan", ts, S("hh:mm:ss.FF")), "02:03:04.12");
    assert_text(CALL("format_timespan", ts, S("ddd.h:mm:ss [fffffff]")), "014.2:03:04 [1234500]");
    assert_text(CALL("format_timespan", kql_timespan(-90 * VG_TICKS_PER_SEC), S("mm:ss")), "-01:30");
}

static void test_time_misc(void **state)
{
    kql_val r = CALL("ago", TS(3600));
    assert_dt(r, "2024-03-10T11:00:00Z");
    assert_dt(CALL("now"), "2024-03-10T12:00:00Z");
    assert_dt(CALL("now", TS(-86400)), "2024-03-09T12:00:00Z");
    assert_null_of(CALL("ago", kql_null(VG_T_TIMESPAN)), VG_T_DATETIME);
    assert_dt(CALL("unixtime_seconds_todatetime", kql_long(1546300800)), "2019-01-01");
    assert_dt(CALL("unixtime_seconds_todatetime", kql_real(1546300800.5)), "2019-01-01T00:00:00.5Z");
    assert_dt(CALL("unixtime_milliseconds_todatetime", kql_long(1546300800123)), "2019-01-01T00:00:00.123Z");
    assert_dt(CALL("unixtime_microseconds_todatetime", kql_long(1546300800123456)), "2019-01-01T00:00:00.123456Z");
    assert_dt(CALL("unixtime_nanoseconds_todatetime", kql_long(1546300800123456789)), "2019-01-01T00:00:00.1234567Z");
    assert_null_of(CALL("unixtime_seconds_todatetime", kql_long(INT64_MAX)), VG_T_DATETIME);
    assert_dt(CALL("make_datetime", kql_long(2017), kql_long(10), kql_long(1), kql_long(12), kql_long(10),
                   kql_real(30.5)), "2017-10-01T12:10:30.5Z");
    assert_null_of(CALL("make_datetime", kql_long(2017), kql_long(2), kql_long(30)), VG_T_DATETIME);
    r = CALL("make_timespan", kql_long(1), kql_long(2), kql_long(3), kql_long(4));
    assert_int_equal(r.u.i, (86400 + 7200 + 180 + 4) * VG_TICKS_PER_SEC);
    /* conversions go through kql_cast */
    assert_long(CALL("tolong", S("123")), 123);
    assert_null_of(CALL("tolong", S("abc")), VG_T_LONG);
    assert_real(CALL("toreal", S("1.5")), 1.5);
    assert_dt(CALL("todatetime", S("2015-12-24")), "2015-12-24");
}

/* Argument types are checked at bind time, naming the function. */
static void test_signatures(void **state)
{
    vg_diag d = { "" };
    vg_type s1[1] = { VG_T_STRING };
    assert_int_equal(type_of("ago", s1, 1, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "ago(): argument #1 must be a timespan, not string"));
    vg_type t1[1] = { VG_T_TIMESPAN };
    assert_int_equal(type_of("ago", t1, 1, &d), VG_T_DATETIME);
    vg_type u1[1] = { KQL_T_ANY };
    assert_int_equal(type_of("dayofweek", u1, 1, &d), VG_T_TIMESPAN);
    vg_type dd[3] = { VG_T_STRING, VG_T_DATETIME, VG_T_LONG };
    assert_int_equal(type_of("datetime_diff", dd, 3, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "datetime_diff(): argument #3"));
    dd[2] = VG_T_DATETIME;
    assert_int_equal(type_of("datetime_diff", dd, 3, &d), VG_T_LONG);
    vg_type sl[3] = { VG_T_DYNAMIC, VG_T_INT, VG_T_LONG };
    assert_int_equal(type_of("array_slice", sl, 3, &d), VG_T_DYNAMIC);
    sl[0] = VG_T_STRING;
    assert_int_equal(type_of("array_slice", sl, 3, &d), VG_T_COUNT_);
    vg_type ip[2] = { VG_T_STRING, VG_T_LONG };
    assert_int_equal(type_of("ipv4_is_in_range", ip, 2, &d), VG_T_COUNT_);
    vg_type b1[1] = { VG_T_LONG };
    assert_int_equal(type_of("not", b1, 1, &d), VG_T_COUNT_);
    /* an alias checks as its target */
    assert_int_equal(type_of("toreal", s1, 1, &d), VG_T_REAL);
}

/* ---- misc ---- */

static void test_logic(void **state)
{
    assert_long(CALL("iff", kql_bool(true), kql_long(1), kql_long(2)), 1);
    assert_long(CALL("iif", kql_null(VG_T_BOOL), kql_long(1), kql_long(2)), 2);
    kql_val r = CALL("iff", kql_bool(true), kql_long(1), kql_real(2.5));
    assert_real(r, 1.0);   /* promoted to the common type */
    vg_diag d = { "" };
    vg_type t3[3] = { VG_T_BOOL, VG_T_LONG, VG_T_REAL };
    assert_int_equal(type_of("iff", t3, 3, &d), VG_T_REAL);
    t3[1] = VG_T_INT;
    t3[2] = VG_T_LONG;
    assert_int_equal(type_of("iff", t3, 3, &d), VG_T_LONG);
    t3[1] = VG_T_STRING;
    assert_int_equal(type_of("iff", t3, 3, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "iff(): the branches have different types (string and long)"));
    t3[2] = VG_T_DYNAMIC;
    assert_int_equal(type_of("iff", t3, 3, &d), VG_T_DYNAMIC);
    t3[0] = VG_T_STRING;
    assert_int_equal(type_of("iff", t3, 3, &d), VG_T_COUNT_);

    /* case(pred, val, ..., else) */
    assert_text(CALL("case", kql_bool(false), S("a"), kql_bool(true), S("b"), S("c")), "b");
    assert_text(CALL("case", kql_bool(false), S("a"), kql_null(VG_T_BOOL), S("b"), S("c")), "c");
    vg_type t5[5] = { VG_T_BOOL, VG_T_LONG, VG_T_BOOL, VG_T_LONG, VG_T_STRING };
    assert_int_equal(type_of("case", t5, 5, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "case()"));
    t5[4] = VG_T_INT;
    assert_int_equal(type_of("case", t5, 5, &d), VG_T_LONG);
    assert_int_equal(type_of("case", t5, 4, &d), VG_T_COUNT_);

    assert_long(CALL("coalesce", kql_null(VG_T_LONG), kql_long(42), kql_long(7)), 42);
    assert_text(CALL("coalesce", S(""), S("x")), "x");
    assert_null_of(CALL("coalesce", kql_null(VG_T_LONG), kql_null(VG_T_LONG)), VG_T_LONG);

    assert_bool(CALL("not", kql_bool(false)), true);
    assert_null_of(CALL("not", kql_null(VG_T_BOOL)), VG_T_BOOL);
    assert_bool(CALL("isnull", kql_null(VG_T_REAL)), true);
    assert_bool(CALL("isnull", S("")), false);
    assert_bool(CALL("isnull", J("null")), true);
    assert_bool(CALL("isnotnull", kql_long(0)), true);
    assert_bool(CALL("notnull", kql_null(VG_T_LONG)), false);
}

static void test_math(void **state)
{
    assert_long(CALL("abs", kql_long(-5)), 5);
    assert_int_equal(CALL("abs", kql_long(-5)).t, VG_T_LONG);
    assert_real(CALL("abs", kql_real(-2.5)), 2.5);
    assert_null_of(CALL("abs", kql_null(VG_T_LONG)), VG_T_LONG);
    assert_real(CALL("round", kql_real(2.98765), kql_long(3)), 2.988);
    assert_real(CALL("round", kql_real(2.15), kql_long(1)), 2.2);
    assert_real(CALL("round", kql_real(2.15)), 2.0);
    assert_real(CALL("round", kql_real(-50.55), kql_long(-2)), -100);
    assert_real(CALL("round", kql_real(21.5), kql_long(-1)), 20);
    assert_long(CALL("round", kql_long(1250), kql_long(-2)), 1300);
    assert_long(CALL("round", kql_long(-1250), kql_long(-2)), -1300);
    assert_real(CALL("ceiling", kql_real(-1.1)), -1);
    assert_real(CALL("sign", kql_real(-42.5)), -1);
    assert_long(CALL("sign", kql_long(0)), 0);
    assert_real(CALL("log", kql_real(M_E)), 1);
    assert_null_of(CALL("log", kql_long(0)), VG_T_REAL);
    assert_null_of(CALL("log10", kql_long(-1)), VG_T_REAL);
    assert_real(CALL("log2", kql_long(8)), 3);
    assert_real(CALL("exp", kql_long(0)), 1);
    assert_real(CALL("pow", kql_long(2), kql_long(10)), 1024);
    assert_real(CALL("sqrt", kql_long(16)), 4);
    assert_null_of(CALL("sqrt", kql_long(-16)), VG_T_REAL);
    assert_long(CALL("max_of", kql_long(10), kql_long(1), kql_long(-3), kql_long(17)), 17);
    assert_long(CALL("min_of", kql_long(10), kql_null(VG_T_LONG), kql_long(-3)), -3);
    assert_real(CALL("max_of", kql_long(10), kql_real(10.5)), 10.5);
    assert_dt(CALL("max_of", DT("2020-01-01"), DT("2021-01-01")), "2021-01-01");
    assert_long(CALL("binary_and", kql_long(12), kql_long(10)), 8);
    assert_long(CALL("binary_shift_left", kql_long(1), kql_long(4)), 16);
    assert_real(CALL("pi"), M_PI);
    assert_real(CALL("degrees", kql_real(M_PI)), 180);
    assert_real(CALL("atan2", kql_long(1), kql_long(1)), M_PI / 4);
    assert_long(CALL("bitset_count_ones", kql_long(42)), 3);
    /* the examples of Kusto's format_bytes page */
    assert_text(CALL("format_bytes", kql_long(564)), "564 Bytes");
    assert_text(CALL("format_bytes", kql_long(10332), kql_long(1)), "10.1 KB");
    assert_text(CALL("format_bytes", kql_long(20010332)), "19 MB");
    assert_text(CALL("format_bytes", kql_long(20010332), kql_long(2)), "19.08 MB");
    assert_text(CALL("format_bytes", kql_long(20010332), kql_long(0), S("KB")), "19541 KB");
    assert_text(CALL("format_bytes", kql_long(20010332), kql_long(0), S(""), kql_long(10)), "20 MB");
    assert_text(CALL("format_bytes", kql_null(VG_T_LONG)), "");
}

static void test_arrays(void **state)
{
    assert_long(CALL("array_length", J("[1,2,3]")), 3);
    assert_null_of(CALL("array_length", J("{\"a\":1}")), VG_T_LONG);
    assert_null_of(CALL("array_length", S("[1]")), VG_T_LONG);
    assert_json(CALL("array_concat", J("[1,2]"), J("[\"a\"]")), "[1,2,\"a\"]");
    assert_null_of(CALL("array_concat", J("[1,2]"), J("5")), VG_T_DYNAMIC);
    /* the examples of Kusto's array_slice page */
    assert_json(CALL("array_slice", J("[1,2,3]"), kql_long(1), kql_long(2)), "[2,3]");
    assert_json(CALL("array_slice", J("[1,2,3,4,5]"), kql_long(2), kql_long(-1)), "[3,4,5]");
    assert_json(CALL("array_slice", J("[1,2,3,4,5]"), kql_long(-3), kql_long(-2)), "[3,4]");
    assert_json(CALL("array_slice", J("[1,2,3]"), kql_long(5), kql_long(7)), "[]");
    assert_json(CALL("array_slice", J("[1,2,3]"), kql_long(-10), kql_long(10)), "[1,2,3]");
    assert_long(CALL("array_index_of", J("[\"a\",\"b\",\"c\"]"), S("b")), 1);
    assert_long(CALL("array_index_of", J("[1,2,3]"), kql_long(4)), -1);
    assert_long(CALL("array_index_of", J("[1,2,1,2]"), kql_long(2), kql_long(0), kql_long(-1), kql_long(2)), 3);
    /* the examples of Kusto's array_index_of page */
    kql_val words = J("[\"this\", \"is\", \"an\", \"example\", \"an\", \"example\"]");
    assert_long(CALL("array_index_of", words, S("an")), 2);
    assert_long(CALL("array_index_of", words, S("example"), kql_long(1), kql_long(3)), 3);
    assert_long(CALL("array_index_of", words, S("example"), kql_long(1), kql_long(2)), -1);
    assert_long(CALL("array_index_of", words, S("is"), kql_long(2), kql_long(4)), -1);
    assert_long(CALL("array_index_of", words, S("example"), kql_long(2), kql_long(-1)), 3);
    assert_long(CALL("array_index_of", words, S("an"), kql_long(1), kql_long(-1), kql_long(2)), 4);
    assert_long(CALL("array_index_of", words, S("an"), kql_long(1), kql_long(-1), kql_long(3)), -1);
    assert_long(CALL("array_index_of", words, S("an"), kql_long(-3)), 4);
    assert_long(CALL("array_index_of", words, S("is"), kql_long(-4)), -1);
    assert_null_of(CALL("array_index_of", words, S("is"), kql_long(0), kql_long(-2)), VG_T_LONG);
    assert_null_of(CALL("array_index_of", words, S("is"), kql_long(0), kql_long(-1), kql_long(-1)), VG_T_LONG);
    assert_real(CALL("array_sum", J("[1,2.5,3]")), 6.5);
    assert_json(CALL("array_reverse", J("[1,2,3]")), "[3,2,1]");
    assert_json(CALL("array_sort_asc", J("[3,null,1,2]")), "[1,2,3,null]");
    assert_json(CALL("array_sort_desc", J("[\"b\",\"c\",\"a\"]")), "[\"c\",\"b\",\"a\"]");
    assert_json(CALL("array_sort_asc", J("[3,null,1]"), kql_bool(false)), "[null,1,3]");

    /* sets */
    assert_bool(CALL("set_has_element", J("[\"this\",\"string\"]"), S("string")), true);
    assert_bool(CALL("set_has_element", J("[1,2,3]"), kql_long(4)), false);
    assert_json(CALL("set_union", J("[1,2,3]"), J("[1,4]"), J("[3,\"x\"]")), "[1,2,3,4,\"x\"]");
    assert_json(CALL("set_intersect", J("[1,2,3,2]"), J("[2,3,5]"), J("[3,2]")), "[2,3]");
    assert_json(CALL("set_difference", J("[1,2,3,1]"), J("[2]"), J("[9,3]")), "[1]");
    assert_null_of(CALL("set_union", J("[1]"), S("x")), VG_T_DYNAMIC);

    /* bags */
    assert_json(CALL("bag_pack", S("Level"), S("Information"), S("ProcessID"), kql_long(1234)),
                "{\"Level\":\"Information\",\"ProcessID\":1234}");
    assert_json(CALL("pack_array", kql_long(1), S("a"), kql_null(VG_T_LONG)), "[1,\"a\",null]");
    assert_json(CALL("bag_keys", J("{\"a\":1,\"b\":{\"c\":2}}")), "[\"a\",\"b\"]");
    assert_bool(CALL("bag_has_key", J("{\"a\":1}"), S("a")), true);
    assert_bool(CALL("bag_has_key", J("{\"a\":1}"), S("b")), false);
    assert_json(CALL("bag_remove_keys", J("{\"a\":1,\"b\":2,\"c\":3}"), J("[\"a\",\"c\"]")), "{\"b\":2}");
    assert_json(CALL("bag_merge", J("{\"a\":1}"), J("{\"a\":2,\"b\":3}")), "{\"a\":1,\"b\":3}");
    vg_diag d = { "" };
    vg_type t3[3] = { VG_T_STRING, VG_T_LONG, VG_T_STRING };
    assert_int_equal(type_of("bag_pack", t3, 3, &d), VG_T_COUNT_);

    /* series */
    assert_json(CALL("series_add", J("[1,2,3]"), J("[10,20]")), "[11,22,null]");
    assert_json(CALL("series_multiply", J("[1,2.5]"), kql_long(2)), "[2,5]");
    assert_json(CALL("series_divide", J("[1,3]"), J("[2,0.5]")), "[0.5,6]");
    assert_json(CALL("series_subtract", kql_long(10), J("[1,\"x\"]")), "[9,null]");

    assert_text(CALL("gettype", J("[1]")), "array");
    assert_text(CALL("gettype", J("{}")), "dictionary");
    assert_text(CALL("gettype", kql_long(1)), "long");
    assert_text(CALL("gettype", J("null")), "null");
    assert_json(CALL("todynamic", S("{\"a\":[1,2]}")), "{\"a\":[1,2]}");
    assert_json(CALL("zip", J("[1,2]"), J("[\"a\",\"b\"]")), "[[1,\"a\"],[2,\"b\"]]");
    assert_json(CALL("zip", J("[1,2]"), J("[true]")), "[[1,true],[2,null]]");
    /* the example of Kusto's array_iff page, and scalars for the branches */
    assert_json(CALL("array_iff", J("[true,false,true]"), J("[1,2,3]"), J("[4,5,6]")), "[1,5,3]");
    assert_json(CALL("array_iff", J("[true,false,true,\"x\"]"), J("[1,2]"), J("[4,5,6]")), "[1,5,null,null]");
    assert_json(CALL("array_iff", J("[1,0,-1,44,0]"), kql_long(1), kql_long(0)), "[1,0,1,1,0]");
    assert_json(CALL("array_iif", J("[false,true]"), kql_long(1), S("x")), "[\"x\",1]");
    assert_null_of(CALL("zip", J("[1,2]"), S("x")), VG_T_DYNAMIC);
    assert_json(CALL("range", kql_long(1), kql_long(8), kql_long(3)), "[1,4,7]");
    assert_json(CALL("range", kql_long(1), kql_long(3)), "[1,2,3]");
    assert_json(CALL("range", kql_long(5), kql_long(1), kql_long(-2)), "[5,3,1]");
    assert_json(CALL("range", kql_long(5), kql_long(1)), "[]");
    assert_json(CALL("range", kql_real(0.5), kql_real(1.5), kql_real(0.5)), "[0.5,1,1.5]");
    assert_json(CALL("range", TS(3600), TS(3 * 3600)), "[\"01:00:00\",\"02:00:00\",\"03:00:00\"]");
    kql_val days = CALL("range", DT("2007-01-01"), DT("2007-01-03"), TS(86400));
    assert_long(CALL("array_length", days), 3);
    assert_dt(CALL("todatetime", kql_dynamic(days.u.d->kids[2])), "2007-01-03");
    kql_val big = CALL("range", kql_long(1), kql_long(1000000000));
    assert_int_equal(big.u.d->n, 1048576);   /* truncated at 2^20 */
    assert_null_of(CALL("range", kql_long(1), kql_long(5), kql_long(0)), VG_T_DYNAMIC);
    assert_null_of(CALL("range", kql_real(NAN), kql_long(5)), VG_T_DYNAMIC);
    assert_null_of(CALL("range", kql_null(VG_T_LONG), kql_long(5)), VG_T_DYNAMIC);
    assert_json(CALL("range", kql_long(INT64_MIN), kql_long(INT64_MAX), kql_long(INT64_MAX)),
                "[-9223372036854775808,-1,9223372036854775806]");
    assert_null_of(CALL("range", DT("2007-01-01"), kql_long(5)), VG_T_DYNAMIC);
    assert_json(CALL("repeat", S("a"), kql_long(3)), "[\"a\",\"a\",\"a\"]");
    assert_json(CALL("repeat", kql_long(1), kql_long(-1)), "[]");
}

static void test_ipv4(void **state)
{
    assert_long(CALL("parse_ipv4", S("127.0.0.1")), 2130706433);
    assert_long(CALL("parse_ipv4", S("192.1.168.1")), 3221334017);
    assert_long(CALL("parse_ipv4", S("192.1.168.1/24")), 3221334016);
    assert_null_of(CALL("parse_ipv4", S("192.1.168")), VG_T_LONG);
    assert_null_of(CALL("parse_ipv4", S("256.1.1.1")), VG_T_LONG);
    assert_null_of(CALL("parse_ipv4", S("")), VG_T_LONG);
    assert_long(CALL("parse_ipv4_mask", S("192.1.168.2"), kql_long(10)), 3221225472);
    assert_bool(CALL("ipv4_is_private", S("192.168.1.1/24")), true);
    assert_bool(CALL("ipv4_is_private", S("10.1.2.3/24")), true);
    assert_bool(CALL("ipv4_is_private", S("202.1.2.3")), false);
    assert_bool(CALL("ipv4_is_private", S("172.15.255.255")), false);
    assert_bool(CALL("ipv4_is_private", S("172.31.255.255")), true);
    assert_bool(CALL("ipv4_is_private", S("10.0.0.0/7")), false);
    assert_null_of(CALL("ipv4_is_private", S("no")), VG_T_BOOL);
    assert_bool(CALL("ipv4_is_in_range", S("192.168.1.1"), S("192.168.1.1")), true);
    assert_bool(CALL("ipv4_is_in_range", S("192.168.1.1"), S("192.168.1.255/24")), true);
    assert_bool(CALL("ipv4_is_in_range", S("192.168.2.1"), S("192.168.1.255/24")), false);
    assert_bool(CALL("ipv4_is_in_range", S("10.1.1.1"), S("10.0.0.0/8")), true);
    assert_null_of(CALL("ipv4_is_in_range", S("x"), S("10.0.0.0/8")), VG_T_BOOL);
    assert_bool(CALL("ipv4_is_in_any_range", S("192.168.2.1"), J("[\"10.0.0.0/8\",\"192.168.0.0/16\"]")), true);
    assert_bool(CALL("ipv4_is_match", S("192.168.1.1/24"), S("192.168.1.255")), true);
    assert_bool(CALL("ipv4_is_match", S("192.168.1.1"), S("192.168.1.255"), kql_long(24)), true);
    assert_bool(CALL("ipv4_is_match", S("192.168.1.1"), S("192.168.1.255")), false);
    assert_long(CALL("ipv4_compare", S("192.168.1.1"), S("192.168.1.255")), -1);
    assert_long(CALL("ipv4_compare", S("192.168.1.255"), S("192.168.1.1")), 1);
    assert_long(CALL("ipv4_compare", S("192.168.1.1/24"), S("192.168.1.255/24")), 0);
    assert_text(CALL("format_ipv4", kql_long(3232236031)), "192.168.1.255");
    assert_text(CALL("format_ipv4_mask", S("192.168.1.255"), kql_long(24)), "192.168.1.0/24");
    /* IPv6 (the examples of Kusto's ipv6_compare/parse_ipv6 pages) */
    assert_text(CALL("parse_ipv6", S("127.0.0.1")), "0000:0000:0000:0000:0000:ffff:7f00:0001");
    assert_text(CALL("parse_ipv6", S("fe80::85d:e82c:9446:7994")), "fe80:0000:0000:0000:085d:e82c:9446:7994");
    assert_text(CALL("parse_ipv6", S("fe80::85d:e82c:9446:7994/120")), "fe80:0000:0000:0000:085d:e82c:9446:7900");
    assert_long(CALL("ipv6_compare", S("::ffff:7f00:1"), S("127.0.0.1")), 0);
    assert_long(CALL("ipv6_compare", S("fe80::85d:e82c:9446:7994"), S("fe80::85d:e82c:9446:7995")), -1);
    assert_long(CALL("ipv6_compare", S("fe80::85d:e82c:9446:7994/127"), S("fe80::85d:e82c:9446:7995/127")), 0);
    assert_long(CALL("ipv6_compare", S("fe80::85d:e82c:9446:7994"), S("fe80::85d:e82c:9446:7995"), kql_long(127)), 0);
    assert_bool(CALL("ipv6_is_match", S("192.168.1.1/24"), S("192.168.1.255/24")), true);
    assert_null_of(CALL("ipv6_compare", S("zz::1"), S("::1")), VG_T_LONG);
    /* addresses inside text */
    assert_bool(CALL("has_ipv4", S("Requests from: 192.168.1.1, 10.1.1.115 and 10.1.1.201"), S("10.1.1.115")), true);
    assert_bool(CALL("has_ipv4", S("Requests from: 192.168.1.1, 10.1.1.115 and 10.1.1.201"), S("10.1.1.11")), false);
    assert_bool(CALL("has_ipv4", S("Requests from:192.168.1.1.15"), S("192.168.1.1")), false);
    assert_bool(CALL("has_ipv4", S("from 192.168.1.1."), S("192.168.1.1")), true);
    assert_bool(CALL("has_ipv4", S("id192.168.1.1"), S("192.168.1.1")), false);
    assert_bool(CALL("has_ipv4_prefix", S("Requests from: 192.168.1.1, 10.1.1.115"), S("10.1.1.")), true);
    assert_bool(CALL("has_ipv4_prefix", S("Requests from: 192.168.1.1, 10.1.1.115"), S("10.1.2.")), false);
    assert_bool(CALL("has_any_ipv4", S("a 10.0.0.1 b"), J("[\"1.1.1.1\",\"10.0.0.1\"]")), true);
    assert_bool(CALL("has_any_ipv4", S("a 10.0.0.1 b"), S("1.1.1.1"), S("2.2.2.2")), false);
    assert_bool(CALL("has_any_ipv4_prefix", S("a 10.0.0.1 b"), S("127."), S("10.")), true);
}

static void test_url_path(void **state)
{
    assert_json(CALL("parse_url", S("scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment")),
                "{\"Scheme\":\"scheme\",\"Host\":\"host\",\"Port\":\"1234\",\"Path\":\"/this/is/a/path\","
                "\"Username\":\"username\",\"Password\":\"password\","
                "\"Query Parameters\":{\"k1\":\"v1\",\"k2\":\"v2\"},\"Fragment\":\"fragment\"}");
    assert_json(CALL("parse_url", S("https://www.bing.com")),
                "{\"Scheme\":\"https\",\"Host\":\"www.bing.com\",\"Port\":\"\",\"Path\":\"\",\"Username\":\"\","
                "\"Password\":\"\",\"Query Parameters\":{},\"Fragment\":\"\"}");
    kql_val u = CALL("parse_url", S("http://[::1]:8080/a?q=a%20b+c&q=2"));
    assert_json(u, "{\"Scheme\":\"http\",\"Host\":\"[::1]\",\"Port\":\"8080\",\"Path\":\"/a\",\"Username\":\"\","
                   "\"Password\":\"\",\"Query Parameters\":{\"q\":\"a b c,2\"},\"Fragment\":\"\"}");
    assert_json(CALL("parse_url", S("not a url")),
                "{\"Scheme\":\"\",\"Host\":\"\",\"Port\":\"\",\"Path\":\"\",\"Username\":\"\",\"Password\":\"\","
                "\"Query Parameters\":{},\"Fragment\":\"\"}");

    /* the examples of Kusto's parse_path page */
    assert_json(CALL("parse_path", S("C:\\temp\\file.txt")),
                "{\"Scheme\":\"\",\"RootPath\":\"C:\",\"DirectoryPath\":\"C:\\\\temp\",\"DirectoryName\":\"temp\","
                "\"Filename\":\"file.txt\",\"Extension\":\"txt\",\"AlternateDataStreamName\":\"\"}");
    assert_json(CALL("parse_path", S("temp\\file.txt")),
                "{\"Scheme\":\"\",\"RootPath\":\"\",\"DirectoryPath\":\"temp\",\"DirectoryName\":\"temp\","
                "\"Filename\":\"file.txt\",\"Extension\":\"txt\",\"AlternateDataStreamName\":\"\"}");
    assert_json(CALL("parse_path", S("file://C:/temp/file.txt:some.exe")),
                "{\"Scheme\":\"file\",\"RootPath\":\"C:\",\"DirectoryPath\":\"C:/temp\",\"DirectoryName\":\"temp\","
                "\"Filename\":\"file.txt\",\"Extension\":\"txt\",\"AlternateDataStreamName\":\"some.exe\"}");
    assert_json(CALL("parse_path", S("\\\\shared\\users\\temp\\file.txt.gz")),
                "{\"Scheme\":\"\",\"RootPath\":\"\",\"DirectoryPath\":\"\\\\\\\\shared\\\\users\\\\temp\","
                "\"DirectoryName\":\"temp\",\"Filename\":\"file.txt.gz\",\"Extension\":\"gz\","
                "\"AlternateDataStreamName\":\"\"}");
    assert_json(CALL("parse_path", S("/usr/lib/temp/file.txt")),
                "{\"Scheme\":\"\",\"RootPath\":\"\",\"DirectoryPath\":\"/usr/lib/temp\",\"DirectoryName\":\"temp\","
                "\"Filename\":\"file.txt\",\"Extension\":\"txt\",\"AlternateDataStreamName\":\"\"}");
    assert_null_of(CALL("parse_path", kql_long(1)), VG_T_DYNAMIC);
    assert_json(CALL("parse_urlquery", S("k1=v1&k2=v2&k3=v3")),
                "{\"Query Parameters\":{\"k1\":\"v1\",\"k2\":\"v2\",\"k3\":\"v3\"}}");
}

/* A minimal MaxMind DB (IPv4, one search node whose both records point at
 * one data map), written by hand from the MMDB format specification. */
static void put_bytes(vg_buf *b, const char *p, size_t n) { vg_buf_put(b, p, n); }
static void mm_str(vg_buf *b, const char *s)
{
    vg_buf_putc(b, (char)(0x40 | strlen(s)));
    put_bytes(b, s, strlen(s));
}
static void mm_map(vg_buf *b, int pairs) { vg_buf_putc(b, (char)(0xe0 | pairs)); }
static void mm_double(vg_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    vg_buf_putc(b, 0x68);
    for (int i = 7; i >= 0; i--)
        vg_buf_putc(b, (char)(u >> (i * 8)));
}
static void mm_u16(vg_buf *b, unsigned v)
{
    vg_buf_putc(b, (char)0xa2);
    vg_buf_putc(b, (char)(v >> 8));
    vg_buf_putc(b, (char)v);
}
static void mm_names(vg_buf *b, const char *en)
{
    mm_map(b, 1);
    mm_str(b, "names");
    mm_map(b, 1);
    mm_str(b, "en");
    mm_str(b, en);
}

static bool write_test_mmdb(const char *path)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    /* search tree: node 0, 24-bit records, both = node_count + 16 + 0 */
    static const char tree[6] = { 0, 0, 17, 0, 0, 17 };
    put_bytes(&b, tree, 6);
    for (int i = 0; i < 16; i++)
        vg_buf_putc(&b, 0);
    mm_map(&b, 4);
    mm_str(&b, "country");
    mm_names(&b, "Testland");
    mm_str(&b, "city");
    mm_names(&b, "Testville");
    mm_str(&b, "subdivisions");
    vg_buf_putc(&b, 0x01);   /* array of 1 (extended type 11) */
    vg_buf_putc(&b, 0x04);
    mm_names(&b, "Teststate");
    mm_str(&b, "location");
    mm_map(&b, 2);
    mm_str(&b, "latitude");
    mm_double(&b, 47.5);
    mm_str(&b, "longitude");
    mm_double(&b, -122.25);
    put_bytes(&b, "\xab\xcd\xefMaxMind.com", 14);
    mm_map(&b, 9);
    mm_str(&b, "languages");
    vg_buf_putc(&b, 0x01);
    vg_buf_putc(&b, 0x04);
    mm_str(&b, "en");
    mm_str(&b, "description");
    mm_map(&b, 1);
    mm_str(&b, "en");
    mm_str(&b, "test");
    mm_str(&b, "node_count");
    vg_buf_putc(&b, (char)0xc1);
    vg_buf_putc(&b, 1);
    mm_str(&b, "record_size");
    mm_u16(&b, 24);
    mm_str(&b, "ip_version");
    mm_u16(&b, 4);
    mm_str(&b, "database_type");
    mm_str(&b, "Vigil-Test");
    mm_str(&b, "binary_format_major_version");
    mm_u16(&b, 2);
    mm_str(&b, "binary_format_minor_version");
    mm_u16(&b, 0);
    mm_str(&b, "build_epoch");
    vg_buf_putc(&b, 0x01);   /* uint64 (extended type 9), 1 byte */
    vg_buf_putc(&b, 0x02);
    vg_buf_putc(&b, 1);
    FILE *f = fopen(path, "wb");
    bool ok = f && !b.failed && fwrite(b.p, 1, b.n, f) == b.n;
    if (f)
        ok = fclose(f) == 0 && ok;
    vg_buf_free(&b);
    return ok;
}

static void test_geo_db(void **state)
{
    char path[] = "/tmp/vigil-test-geo-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(write_test_mmdb(path));
    MMDB_s db;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db);
    unlink(path);
    if (rc != MMDB_SUCCESS)
        fail_msg("MMDB_open: %s", MMDB_strerror(rc));
    C.geo = &db;
    assert_json(CALL("geo_info_from_ip_address", S("20.53.203.50")),
                "{\"country\":\"Testland\",\"state\":\"Teststate\",\"city\":\"Testville\","
                "\"latitude\":47.5,\"longitude\":-122.25}");
    assert_null_of(CALL("geo_info_from_ip_address", S("not an ip")), VG_T_DYNAMIC);
    assert_null_of(CALL("geo_info_from_ip_address", S("")), VG_T_DYNAMIC);
    C.geo = NULL;
    MMDB_close(&db);
}

static void test_geo_hash(void **state)
{
    /* no database: null */
    assert_null_of(CALL("geo_info_from_ip_address", S("20.53.203.50")), VG_T_DYNAMIC);
    /* Kusto's hash page: hash("World") and hash("World", 100) */
    assert_long(CALL("hash", S("World")), 1846988464401551951LL);
    assert_long(CALL("hash", S("World"), kql_long(100)), 51);
    assert_null_of(CALL("hash", kql_null(VG_T_LONG)), VG_T_LONG);
}

/* Every function of the time and misc tables with odd arguments of every
 * type (nulls, extremes, junk text, containers): results must carry a
 * valid type and nothing may crash (the suite also runs under ASan/UBSan). */
static void run_table(const kql_fn_def *t, size_t n, const kql_val *pool, size_t npool)
{
    /* results go to their own arena, reset per call; the pool stays in A */
    vg_arena res;
    vg_arena_init(&res, 0, 0);
    C.arena = &res;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        /* range/repeat build up to 2^20 elements per call: tested on their own */
        if (!strcmp(t[i].name, "range") || !strcmp(t[i].name, "repeat"))
            continue;
        uint32_t hi = t[i].max_args < 6 ? t[i].max_args : 6;
        for (uint32_t na = t[i].min_args; na <= hi; na++)
            for (int round = 0; round < 300; round++) {
                kql_val args[6];
                for (uint32_t k = 0; k < na; k++) {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    args[k] = pool[rng % npool];
                }
                kql_val r = t[i].fn(&C, args, na);
                if ((unsigned)r.t >= VG_T_COUNT_)
                    fail_msg("%s returned type %d", t[i].name, (int)r.t);
                if (r.t == VG_T_STRING && r.u.s.n && !r.u.s.p)
                    fail_msg("%s returned a string without bytes", t[i].name);
                /* (a datetime outside 0001..9999 passed through by iff/min_of
                 * is not rendered: that is kql_val.c's concern) */
                if (r.t != VG_T_DATETIME || r.null || (r.u.i >= VG_TIME_MIN && r.u.i <= VG_TIME_MAX))
                    (void)kql_to_string(&res, r);
                vg_arena_reset(&res);
            }
    }
    vg_arena_free(&res);
    C.arena = &A;
}

static void test_no_crash(void **state)
{
    const kql_val pool[] = {
        kql_null(VG_T_BOOL), kql_null(VG_T_INT), kql_null(VG_T_LONG), kql_null(VG_T_REAL),
        kql_null(VG_T_DATETIME), kql_null(VG_T_TIMESPAN), kql_null(VG_T_DYNAMIC),
        kql_long(INT64_MIN), kql_long(INT64_MAX), kql_long(-1), kql_long(0), kql_long(3), kql_int(-7),
        kql_real(NAN), kql_real(INFINITY), kql_real(-1e300), kql_real(0.5), kql_bool(true),
        kql_datetime(VG_TIME_MIN), kql_datetime(VG_TIME_MAX), kql_datetime(INT64_MAX),
        kql_datetime(INT64_MIN), kql_datetime(0), kql_timespan(INT64_MIN), kql_timespan(INT64_MAX),
        kql_timespan(-1), kql_timespan(VG_TICKS_PER_DAY),
        S(""), S("abc"), S("day"), S("month"), S("yyyy-MM-dd HH:mm:ss.fffffff tt FFFFFFFFFF dddddddddd"),
        S("1.2.3.4/33"), S("10.0.0.1/8"), S("%"), S("://"), S("a://@:/?&=&#"), S("http://h/%zz?%4"),
        S("\\\\?\\C:"), S(":"), S("C:"), S("[1,2]"), S("2024-01-01"),
        J("[1,\"a\",null,[2],{\"k\":1},1.5,true]"), J("{\"a\":1,\"b\":[1]}"), J("[]"), J("{}"),
        J("\"str\""), J("12"), J("[\"10.0.0.0/8\",5]"),
    };
    run_table(kql_fn_time_defs, kql_fn_time_ndefs, pool, sizeof pool / sizeof pool[0]);
    run_table(kql_fn_misc_defs, kql_fn_misc_ndefs, pool, sizeof pool / sizeof pool[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_misc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_math, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geo_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geo_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_crash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
