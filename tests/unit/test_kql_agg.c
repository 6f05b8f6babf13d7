/*
 * test_kql_agg.c - unit tests of the KQL aggregation table (kql_agg.c): rows
 * fed through init/add/finish, merge against a single pass, Kusto's null and
 * empty-group rules, dcount accuracy, nearest-rank percentiles, arg_max ties,
 * make_list/make_set/make_bag output and the typers' messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_val.h"

#define MAXA 8

/* One aggregation run: state in its own arena, results in another. */
typedef struct run {
    const kql_agg_def *def;
    vg_arena a, out;
    void *st;
} run;

static void run_start(run *r, const char *name)
{
    r->def = kql_agg_find(vg_str_c(name));
    assert_non_null(r->def);
    vg_arena_init(&r->a, 0, 0);
    vg_arena_init(&r->out, 0, 0);
    r->st = vg_arena_zalloc(&r->a, r->def->state_size);
    assert_non_null(r->st);
    r->def->init(r->st);
}

static void run_add(run *r, const kql_val *args, uint32_t n) { r->def->add(&r->a, r->st, args, n); }

static void run_end(run *r)
{
    vg_arena_free(&r->a);
    vg_arena_free(&r->out);
}

static kql_val run_finish1(run *r)
{
    kql_val v;
    r->def->finish(&r->out, r->st, &v, 1);
    return v;
}

/* JSON text of a dynamic result, in a static buffer. */
static const char *json_of(kql_val v)
{
    static char text[4096];
    vg_buf b;
    vg_buf_init(&b, 0);
    kql_val_json(&b, v);
    vg_str_copy_c(text, sizeof text, vg_str_make(b.p ? b.p : "", b.n));
    vg_buf_free(&b);
    return text;
}

static kql_val S(const char *s) { return kql_string(vg_str_c(s)); }

/* ---------------------------------------------------------------- */

static void test_registry(void **state)
{
    size_t n = 0;
    const kql_agg_def *const *all = kql_agg_all(&n);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(all[i]->name);
        assert_non_null(all[i]->init);
        assert_non_null(all[i]->add);
        assert_non_null(all[i]->merge);
        assert_non_null(all[i]->finish);
        assert_non_null(all[i]->typer);
        assert_true(all[i]->state_size > 0);
        assert_true(all[i]->min_args <= all[i]->max_args);
        assert_ptr_equal(kql_agg_find(vg_str_c(all[i]->name)), all[i]);
    }
    assert_null(kql_agg_find(vg_str_c("nosuch")));
    assert_null(kql_agg_find(vg_str_c("COUNT")));   /* names are case-sensitive */
    assert_non_null(kql_agg_find(vg_str_make("dcountXYZ", 6)));
}

static void test_typers(void **state)
{
    vg_diag d;
    vg_diag_clear(&d);
    vg_type t[3] = { VG_T_STRING };
    const kql_agg_def *sum = kql_agg_find(vg_str_c("sum"));
    assert_int_equal(sum->typer(t, 1, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "sum()"));
    assert_non_null(strstr(d.msg, "string"));
    t[0] = VG_T_INT;
    assert_int_equal(sum->typer(t, 1, &d), VG_T_LONG);
    t[0] = VG_T_REAL;
    assert_int_equal(sum->typer(t, 1, &d), VG_T_REAL);
    t[0] = VG_T_TIMESPAN;
    assert_int_equal(sum->typer(t, 1, &d), VG_T_TIMESPAN);

    t[0] = VG_T_LONG;
    assert_int_equal(kql_agg_find(vg_str_c("avg"))->typer(t, 1, &d), VG_T_REAL);
    assert_int_equal(kql_agg_find(vg_str_c("count"))->typer(t, 0, &d), VG_T_LONG);
    t[0] = VG_T_STRING;
    assert_int_equal(kql_agg_find(vg_str_c("max"))->typer(t, 1, &d), VG_T_STRING);
    assert_int_equal(kql_agg_find(vg_str_c("dcount"))->typer(t, 1, &d), VG_T_LONG);
    assert_int_equal(kql_agg_find(vg_str_c("make_set"))->typer(t, 1, &d), VG_T_DYNAMIC);
    t[0] = VG_T_DATETIME;
    t[1] = VG_T_LONG;
    t[2] = VG_T_REAL;
    assert_int_equal(kql_agg_find(vg_str_c("percentiles"))->typer(t, 3, &d), VG_T_DATETIME);

    /* predicates must be bool */
    vg_diag_clear(&d);
    t[0] = VG_T_LONG;
    assert_int_equal(kql_agg_find(vg_str_c("countif"))->typer(t, 1, &d), VG_T_COUNT_);
    assert_non_null(strstr(d.msg, "countif()"));
    t[1] = VG_T_STRING;
    assert_int_equal(kql_agg_find(vg_str_c("sumif"))->typer(t, 2, &d), VG_T_COUNT_);
    /* make_bag wants a dynamic; percentiles a number, not a string */
    assert_int_equal(kql_agg_find(vg_str_c("make_bag"))->typer(t, 1, &d), VG_T_COUNT_);
    t[0] = VG_T_STRING;
    assert_int_equal(kql_agg_find(vg_str_c("percentile"))->typer(t, 2, &d), VG_T_COUNT_);
}

static void test_count_sum_empty(void **state)
{
    /* Kusto's defaults for no rows: count and sum 0, avg/min null, make_* [] */
    const char *zero[] = { "count", "countif", "dcount", "sum", "sumif", "stdev", "variance" };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        run r;
        run_start(&r, zero[i]);
        kql_val v = run_finish1(&r);
        assert_false(v.null);
        assert_true(v.t == VG_T_LONG ? v.u.i == 0 : v.u.r == 0.0);
        run_end(&r);
    }
    const char *nul[] = { "avg", "min", "max", "percentile", "arg_max" };
    for (size_t i = 0; i < sizeof nul / sizeof nul[0]; i++) {
        run r;
        run_start(&r, nul[i]);
        kql_val v = run_finish1(&r);
        assert_true(v.null);
        run_end(&r);
    }
    run r;
    run_start(&r, "make_list");
    assert_string_equal(json_of(run_finish1(&r)), "[]");
    run_end(&r);
    run_start(&r, "make_bag");
    assert_string_equal(json_of(run_finish1(&r)), "{}");
    run_end(&r);
}

static void test_count_sum_avg(void **state)
{
    run r;
    run_start(&r, "count");
    for (int i = 0; i < 5; i++) run_add(&r, NULL, 0);
    kql_val v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_LONG);
    assert_int_equal(v.u.i, 5);
    run_end(&r);

    run_start(&r, "countif");
    kql_val b[] = { kql_bool(true), kql_bool(false), kql_null(VG_T_BOOL), kql_bool(true) };
    for (int i = 0; i < 4; i++) run_add(&r, &b[i], 1);
    assert_int_equal(run_finish1(&r).u.i, 2);
    run_end(&r);

    /* longs sum to a long; nulls ignored */
    run_start(&r, "sum");
    kql_val l[] = { kql_long(1), kql_null(VG_T_LONG), kql_long(2), kql_int(3) };
    for (int i = 0; i < 4; i++) run_add(&r, &l[i], 1);
    v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_LONG);
    assert_int_equal(v.u.i, 6);
    run_end(&r);

    run_start(&r, "sum");
    kql_val x[] = { kql_real(1.5), kql_real(2.25) };
    for (int i = 0; i < 2; i++) run_add(&r, &x[i], 1);
    v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_REAL);
    assert_true(v.u.r == 3.75);
    run_end(&r);

    run_start(&r, "sum");
    kql_val ts[] = { kql_timespan(10000000), kql_timespan(5), kql_null(VG_T_TIMESPAN) };
    for (int i = 0; i < 3; i++) run_add(&r, &ts[i], 1);
    v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_TIMESPAN);
    assert_int_equal(v.u.i, 10000005);
    run_end(&r);

    run_start(&r, "sumif");
    kql_val si[][2] = { { kql_long(10), kql_bool(true) }, { kql_long(20), kql_bool(false) },
                        { kql_long(30), kql_bool(true) } };
    for (int i = 0; i < 3; i++) run_add(&r, si[i], 2);
    assert_int_equal(run_finish1(&r).u.i, 40);
    run_end(&r);

    /* avg of integers is a real; nulls are not counted */
    run_start(&r, "avg");
    kql_val a[] = { kql_long(1), kql_long(2), kql_null(VG_T_LONG), kql_long(4), kql_long(3) };
    for (int i = 0; i < 5; i++) run_add(&r, &a[i], 1);
    v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_REAL);
    assert_true(fabs(v.u.r - 2.5) < 1e-12);
    run_end(&r);

    /* avg over only nulls: null */
    run_start(&r, "avg");
    run_add(&r, &a[2], 1);
    assert_true(run_finish1(&r).null);
    run_end(&r);
}

static void test_min_max(void **state)
{
    run r;
    char buf[8];
    run_start(&r, "min");
    const char *words[] = { "b", "a", "B", "ab" };
    for (int i = 0; i < 4; i++) {
        /* the argument's bytes change after add: the state must have copied them */
        snprintf(buf, sizeof buf, "%s", words[i]);
        kql_val v = kql_string(vg_str_c(buf));
        run_add(&r, &v, 1);
        memset(buf, 'z', sizeof buf - 1);
    }
    kql_val v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_STRING);
    assert_int_equal(v.u.s.n, 1);
    assert_memory_equal(v.u.s.p, "B", 1);   /* bytewise: 'B' < 'a' */
    run_end(&r);

    run_start(&r, "max");
    for (int i = 0; i < 4; i++) {
        kql_val w = S(words[i]);
        run_add(&r, &w, 1);
    }
    v = run_finish1(&r);
    assert_int_equal(v.u.s.n, 1);
    assert_memory_equal(v.u.s.p, "b", 1);
    run_end(&r);

    run_start(&r, "max");
    kql_val n[] = { kql_null(VG_T_LONG), kql_long(-5), kql_long(7), kql_null(VG_T_LONG), kql_long(3) };
    for (int i = 0; i < 5; i++) run_add(&r, &n[i], 1);
    v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_LONG);
    assert_int_equal(v.u.i, 7);
    run_end(&r);

    /* only nulls: a null of the input's type */
    run_start(&r, "min");
    run_add(&r, &n[0], 1);
    v = run_finish1(&r);
    assert_true(v.null);
    assert_int_equal(v.t, VG_T_LONG);
    run_end(&r);

    run_start(&r, "minif");
    kql_val mi[][2] = { { kql_long(1), kql_bool(false) }, { kql_long(5), kql_bool(true) },
                        { kql_long(3), kql_bool(true) } };
    for (int i = 0; i < 3; i++) run_add(&r, mi[i], 2);
    assert_int_equal(run_finish1(&r).u.i, 3);
    run_end(&r);

    /* NaN is skipped */
    run_start(&r, "min");
    kql_val nn[] = { kql_real(2), kql_real(NAN), kql_real(1) };
    for (int i = 0; i < 3; i++) run_add(&r, &nn[i], 1);
    assert_true(run_finish1(&r).u.r == 1.0);
    run_end(&r);

    /* datetimes keep their type */
    run_start(&r, "max");
    kql_val dt[] = { kql_datetime(100), kql_datetime(300), kql_datetime(200) };
    for (int i = 0; i < 3; i++) run_add(&r, &dt[i], 1);
    v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_DATETIME);
    assert_int_equal(v.u.i, 300);
    run_end(&r);
}

static void test_stdev_variance(void **state)
{
    const double xs[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
    struct { const char *name; double want; } c[] = {
        { "variancep", 4.0 }, { "stdevp", 2.0 }, { "variance", 32.0 / 7 }, { "stdev", 2.1380899352993950 },
    };
    for (size_t k = 0; k < 4; k++) {
        run r;
        run_start(&r, c[k].name);
        for (int i = 0; i < 8; i++) {
            kql_val v = (i & 1) ? kql_long((int64_t)xs[i]) : kql_real(xs[i]);
            run_add(&r, &v, 1);
        }
        kql_val nl = kql_null(VG_T_REAL);
        run_add(&r, &nl, 1);
        kql_val v = run_finish1(&r);
        assert_int_equal(v.t, VG_T_REAL);
        assert_true(fabs(v.u.r - c[k].want) < 1e-9);
        run_end(&r);
    }
    /* one value: sample variance 0 */
    run r;
    run_start(&r, "variance");
    kql_val one = kql_long(42);
    run_add(&r, &one, 1);
    assert_true(run_finish1(&r).u.r == 0.0);
    run_end(&r);
}

/* Feeds args rows [0, n) into one state, or [0, cut) and [cut, n) into two
 * merged states; returns nout results in out (allocated in r->out). */
static void feed(run *r, const kql_val (*rows)[MAXA], uint32_t nargs, uint32_t n, uint32_t cut,
                 kql_val *out, uint32_t nout)
{
    if (cut >= n) {
        for (uint32_t i = 0; i < n; i++) run_add(r, rows[i], nargs);
    } else {
        void *second = vg_arena_zalloc(&r->a, r->def->state_size);
        assert_non_null(second);
        r->def->init(second);
        for (uint32_t i = 0; i < cut; i++) run_add(r, rows[i], nargs);
        for (uint32_t i = cut; i < n; i++) r->def->add(&r->a, second, rows[i], nargs);
        r->def->merge(&r->a, r->st, second);
    }
    r->def->finish(&r->out, r->st, out, nout);
}

static void test_arg_max_ties(void **state)
{
    kql_val rows[6][MAXA] = {
        { kql_long(1), S("a"), kql_long(10) },
        { kql_long(3), S("b"), kql_long(20) },
        { kql_long(3), S("c"), kql_long(30) },
        { kql_null(VG_T_LONG), S("d"), kql_long(40) },
        { kql_long(2), S("e"), kql_long(50) },
        { kql_long(1), S("f"), kql_long(60) },
    };
    for (uint32_t cut = 1; cut <= 6; cut++) {
        run r;
        kql_val out[3];
        run_start(&r, "arg_max");
        feed(&r, (const kql_val (*)[MAXA])rows, 3, 6, cut, out, 3);
        assert_int_equal(out[0].u.i, 3);
        assert_memory_equal(out[1].u.s.p, "b", 1);   /* first of the tied rows */
        assert_int_equal(out[2].u.i, 20);
        run_end(&r);

        run_start(&r, "arg_min");
        feed(&r, (const kql_val (*)[MAXA])rows, 3, 6, cut, out, 3);
        assert_int_equal(out[0].u.i, 1);
        assert_memory_equal(out[1].u.s.p, "a", 1);
        assert_int_equal(out[2].u.i, 10);
        run_end(&r);
    }
    /* all keys null: nulls, typed from the rows */
    run r;
    kql_val out[2];
    run_start(&r, "arg_max");
    kql_val row[2] = { kql_null(VG_T_REAL), kql_long(5) };
    run_add(&r, row, 2);
    r.def->finish(&r.out, r.st, out, 2);
    assert_true(out[0].null);
    assert_int_equal(out[0].t, VG_T_REAL);
    assert_true(out[1].null);
    assert_int_equal(out[1].t, VG_T_LONG);
    run_end(&r);

    /* a dynamic value is kept through its text */
    run_start(&r, "arg_max");
    vg_arena tmp;
    vg_arena_init(&tmp, 0, 0);
    kql_val drow[2] = { kql_long(1), kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("{\"k\":[1,2]}"))) };
    run_add(&r, drow, 2);
    vg_arena_free(&tmp);
    r.def->finish(&r.out, r.st, out, 2);
    assert_string_equal(json_of(out[1]), "{\"k\":[1,2]}");
    run_end(&r);
}

static void test_take_any(void **state)
{
    run r;
    run_start(&r, "take_any");
    kql_val v[] = { S(""), S("x"), S("y") };
    for (int i = 0; i < 3; i++) run_add(&r, &v[i], 1);
    kql_val o = run_finish1(&r);
    assert_int_equal(o.u.s.n, 1);
    assert_memory_equal(o.u.s.p, "x", 1);
    run_end(&r);

    run_start(&r, "take_any");
    kql_val rows[2][2] = { { kql_null(VG_T_LONG), S("p") }, { kql_long(2), S("q") } };
    for (int i = 0; i < 2; i++) run_add(&r, rows[i], 2);
    kql_val out[2];
    r.def->finish(&r.out, r.st, out, 2);
    assert_true(out[0].null);   /* several arguments: the first row as it is */
    assert_memory_equal(out[1].u.s.p, "p", 1);
    run_end(&r);
}

static void test_make_list_set_bag(void **state)
{
    kql_val rows[6][MAXA] = {
        { kql_long(1) }, { kql_long(2) }, { kql_long(1) }, { kql_null(VG_T_LONG) }, { kql_real(2.0) }, { kql_long(3) },
    };
    for (uint32_t cut = 2; cut <= 6; cut++) {
        run r;
        kql_val out;
        run_start(&r, "make_set");
        feed(&r, (const kql_val (*)[MAXA])rows, 1, 6, cut, &out, 1);
        assert_string_equal(json_of(out), "[1,2,3]");   /* first-seen order, 2.0 == 2 */
        run_end(&r);

        run_start(&r, "make_list");
        feed(&r, (const kql_val (*)[MAXA])rows, 1, 6, cut, &out, 1);
        assert_string_equal(json_of(out), "[1,2,1,2,3]");
        run_end(&r);
    }
    /* maxSize */
    run r;
    run_start(&r, "make_set");
    for (int i = 0; i < 6; i++) {
        kql_val a[2] = { rows[i][0], kql_long(2) };
        run_add(&r, a, 2);
    }
    assert_string_equal(json_of(run_finish1(&r)), "[1,2]");
    run_end(&r);

    /* make_set takes array elements; make_list keeps arrays whole */
    vg_arena tmp;
    vg_arena_init(&tmp, 0, 0);
    kql_val arr[2] = { kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("[\"a\",\"b\"]"))),
                       kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("[\"b\",\"c\",null]"))) };
    run_start(&r, "make_set");
    run_add(&r, &arr[0], 1);
    run_add(&r, &arr[1], 1);
    assert_string_equal(json_of(run_finish1(&r)), "[\"a\",\"b\",\"c\"]");
    run_end(&r);
    run_start(&r, "make_list");
    run_add(&r, &arr[0], 1);
    run_add(&r, &arr[1], 1);
    assert_string_equal(json_of(run_finish1(&r)), "[[\"a\",\"b\"],[\"b\",\"c\",null]]");
    run_end(&r);

    /* make_bag: first value of a key wins, non-bags skipped */
    kql_val bags[3] = { kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("{\"a\":1,\"foo\":42}"))),
                        kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("[1]"))),
                        kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("{\"b\":2,\"foo\":17}"))) };
    run_start(&r, "make_bag");
    for (int i = 0; i < 3; i++) run_add(&r, &bags[i], 1);
    vg_arena_free(&tmp);   /* the state must not point into the input */
    assert_string_equal(json_of(run_finish1(&r)), "{\"a\":1,\"foo\":42,\"b\":2}");
    run_end(&r);

    /* make_list_if with strings and datetimes */
    run_start(&r, "make_list_if");
    kql_val li[][2] = { { S("x"), kql_bool(true) }, { S("y"), kql_bool(false) }, { S(""), kql_bool(true) } };
    for (int i = 0; i < 3; i++) run_add(&r, li[i], 2);
    assert_string_equal(json_of(run_finish1(&r)), "[\"x\",\"\"]");
    run_end(&r);
}

/* A deterministic shuffle (xorshift). */
static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_percentiles_small(void **state)
{
    /* 15 20 35 40 50: nearest rank ceil(p*N/100) */
    const int64_t vals[] = { 40, 15, 50, 35, 20 };
    kql_val rows[5][MAXA];
    for (int i = 0; i < 5; i++) {
        rows[i][0] = kql_long(vals[i]);
        rows[i][1] = kql_long(0);    rows[i][2] = kql_long(30); rows[i][3] = kql_long(40);
        rows[i][4] = kql_long(50);   rows[i][5] = kql_long(100); rows[i][6] = kql_real(5);
    }
    const int64_t want[] = { 15, 20, 20, 35, 50, 15 };
    for (uint32_t cut = 1; cut <= 5; cut++) {
        run r;
        kql_val out[6];
        run_start(&r, "percentiles");
        feed(&r, (const kql_val (*)[MAXA])rows, 7, 5, cut, out, 6);
        for (int k = 0; k < 6; k++) {
            assert_int_equal(out[k].t, VG_T_LONG);
            assert_int_equal(out[k].u.i, want[k]);
        }
        run_end(&r);
    }
    /* 1..10: p50 = 5, p90 = 9, p95 = 10, p10 = 1; timespans stay timespans */
    kql_val tr[10][MAXA];
    for (int i = 0; i < 10; i++) {
        tr[i][0] = kql_timespan((int64_t)((i * 7) % 10 + 1));
        tr[i][1] = kql_real(50); tr[i][2] = kql_long(90); tr[i][3] = kql_long(95); tr[i][4] = kql_long(10);
        tr[i][5] = kql_null(VG_T_REAL);
    }
    run r;
    kql_val out[5];
    run_start(&r, "percentiles");
    feed(&r, (const kql_val (*)[MAXA])tr, 6, 10, 10, out, 5);
    const int64_t w2[] = { 5, 9, 10, 1 };
    for (int k = 0; k < 4; k++) {
        assert_int_equal(out[k].t, VG_T_TIMESPAN);
        assert_int_equal(out[k].u.i, w2[k]);
    }
    assert_true(out[4].null);   /* a null percentile */
    run_end(&r);

    /* reals and nulls */
    run_start(&r, "percentile");
    kql_val rr[][2] = { { kql_real(2.5), kql_long(50) }, { kql_null(VG_T_REAL), kql_long(50) },
                        { kql_real(-1.5), kql_long(50) }, { kql_real(9), kql_long(50) } };
    for (int i = 0; i < 4; i++) run_add(&r, rr[i], 2);
    kql_val v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_REAL);
    assert_true(v.u.r == 2.5);
    run_end(&r);
}

static void test_percentiles_large(void **state)
{
    /* 200,000 distinct values: beyond the exact buffer, the sketch stays
     * within a fraction of a percent of the true rank */
    enum { N = 200000 };
    int64_t *perm = malloc(N * sizeof *perm);
    assert_non_null(perm);
    for (int64_t i = 0; i < N; i++) perm[i] = i;
    for (int64_t i = N - 1; i > 0; i--) {
        int64_t j = (int64_t)(next_rand() % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int merged = 0; merged < 2; merged++) {
        run r;
        run_start(&r, "percentiles");
        void *second = NULL;
        if (merged) {
            second = vg_arena_zalloc(&r.a, r.def->state_size);
            r.def->init(second);
        }
        for (int64_t i = 0; i < N; i++) {
            kql_val a[4] = { kql_long(perm[i]), kql_long(50), kql_long(99), kql_long(1) };
            r.def->add(&r.a, merged && (i & 1) ? second : r.st, a, 4);
        }
        if (merged) r.def->merge(&r.a, r.st, second);
        kql_val out[3];
        r.def->finish(&r.out, r.st, out, 3);
        /* true nearest-rank answers: 99999, 197999, 1999 */
        assert_true(llabs(out[0].u.i - 99999) < N / 200);
        assert_true(llabs(out[1].u.i - 197999) < N / 200);
        assert_true(llabs(out[2].u.i - 1999) < N / 200);
        run_end(&r);
    }
    free(perm);
}

static int64_t dcount_of(int acc, uint32_t lo, uint32_t hi, uint32_t lo2, uint32_t hi2, uint32_t reps)
{
    run r;
    char buf[32];
    run_start(&r, "dcount");
    void *second = vg_arena_zalloc(&r.a, r.def->state_size);
    r.def->init(second);
    for (uint32_t rep = 0; rep < reps; rep++) {
        for (uint32_t i = lo; i < hi; i++) {
            int n = snprintf(buf, sizeof buf, "host-%u", i);
            kql_val a[2] = { kql_string(vg_str_make(buf, (size_t)n)), kql_long(acc) };
            r.def->add(&r.a, r.st, a, acc < 0 ? 1 : 2);
        }
        for (uint32_t i = lo2; i < hi2; i++) {
            int n = snprintf(buf, sizeof buf, "host-%u", i);
            kql_val a[2] = { kql_string(vg_str_make(buf, (size_t)n)), kql_long(acc) };
            r.def->add(&r.a, second, a, acc < 0 ? 1 : 2);
        }
    }
    r.def->merge(&r.a, r.st, second);
    kql_val v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_LONG);
    run_end(&r);
    return v.u.i;
}

static void test_dcount(void **state)
{
    /* exact for small cardinalities, duplicates and overlap included */
    assert_int_equal(dcount_of(-1, 0, 100, 0, 0, 3), 100);
    assert_int_equal(dcount_of(-1, 0, 60, 40, 100, 2), 100);
    assert_int_equal(dcount_of(1, 0, 1000, 500, 1000, 1), 1000);
    assert_int_equal(dcount_of(2, 0, 5000, 3000, 8000, 1), 8000);
    /* 100k distinct: default accuracy ~0.8%, accept 3% (about 4 sigma) */
    int64_t e = dcount_of(-1, 0, 100000, 0, 0, 1);
    assert_true(llabs(e - 100000) < 3000);
    e = dcount_of(-1, 0, 60000, 40000, 100000, 1);
    assert_true(llabs(e - 100000) < 3000);
    /* accuracy 0 (2^12 registers, ~1.6%): accept 6% */
    e = dcount_of(0, 0, 100000, 0, 0, 1);
    assert_true(llabs(e - 100000) < 6000);
    /* accuracy 4 (2^18 registers) near its exact threshold and beyond */
    e = dcount_of(4, 0, 20000, 0, 0, 1);
    assert_true(llabs(e - 20000) < 200);

    /* numbers hash by value: 1 and 1.0 are one value; nulls are ignored */
    run r;
    run_start(&r, "dcountif");
    kql_val rows[][2] = { { kql_long(1), kql_bool(true) }, { kql_real(1.0), kql_bool(true) },
                          { kql_long(2), kql_bool(false) }, { kql_null(VG_T_LONG), kql_bool(true) },
                          { kql_long(3), kql_bool(true) } };
    for (int i = 0; i < 5; i++) run_add(&r, rows[i], 2);
    assert_int_equal(run_finish1(&r).u.i, 2);
    run_end(&r);
}

static void test_merge_equals_single(void **state)
{
    const char *names[] = { "count", "sum", "avg", "min", "max", "variance", "stdevp", "dcount", "make_set",
                            "make_list", "take_any" };
    enum { N = 500 };
    static kql_val rows[N][MAXA];
    for (int i = 0; i < N; i++)
        rows[i][0] = i % 17 == 0 ? kql_null(VG_T_LONG) : kql_long((int64_t)((i * 37) % 101) - 50);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        run r1, r2;
        kql_val o1, o2;
        run_start(&r1, names[k]);
        run_start(&r2, names[k]);
        feed(&r1, (const kql_val (*)[MAXA])rows, 1, N, N, &o1, 1);
        feed(&r2, (const kql_val (*)[MAXA])rows, 1, N, 123, &o2, 1);
        assert_int_equal(o1.t, o2.t);
        assert_int_equal(o1.null, o2.null);
        if (o1.t == VG_T_REAL)
            assert_true(fabs(o1.u.r - o2.u.r) < 1e-9);
        else if (o1.t == VG_T_DYNAMIC) {
            char a[4096];
            vg_str_copy_c(a, sizeof a, vg_str_c(json_of(o1)));
            assert_string_equal(a, json_of(o2));
        } else
            assert_int_equal(o1.u.i, o2.u.i);
        run_end(&r1);
        run_end(&r2);
    }
}

static void test_more(void **state)
{
    run r;
    /* percentiles_array, both call forms */
    vg_arena tmp;
    vg_arena_init(&tmp, 0, 0);
    kql_val ps = kql_dynamic(kql_dyn_parse(&tmp, vg_str_c("[50, 100]")));
    run_start(&r, "percentiles_array");
    for (int i = 1; i <= 4; i++) {
        kql_val a[2] = { kql_long(i * 10), ps };
        run_add(&r, a, 2);
    }
    assert_string_equal(json_of(run_finish1(&r)), "[20,40]");
    run_end(&r);
    run_start(&r, "percentiles_array");
    for (int i = 1; i <= 4; i++) {
        kql_val a[3] = { kql_long(i * 10), kql_long(0), kql_long(75) };
        run_add(&r, a, 3);
    }
    assert_string_equal(json_of(run_finish1(&r)), "[10,30]");
    run_end(&r);
    vg_arena_free(&tmp);

    /* binary_all_*: nulls ignored; none: null */
    const char *bn[] = { "binary_all_and", "binary_all_or", "binary_all_xor" };

    kql_val bv[] = { kql_long(0x7f), kql_null(VG_T_LONG), kql_long(0x4 | 0x2), kql_long(0x4 | 0x1) };
    for (int k = 0; k < 3; k++) {
        run_start(&r, bn[k]);
        for (int i = 0; i < 4; i++) run_add(&r, &bv[i], 1);
        kql_val v = run_finish1(&r);
        int64_t want = k == 0 ? (0x7f & 0x6 & 0x5) : k == 1 ? (0x7f | 0x6 | 0x5) : (0x7f ^ 0x6 ^ 0x5);

        assert_false(v.null);
        assert_int_equal(v.u.i, want);
        run_end(&r);
        run_start(&r, bn[k]);
        run_add(&r, &bv[1], 1);
        assert_true(run_finish1(&r).null);
        run_end(&r);
    }

    /* make_list_with_nulls keeps the nulls */
    run_start(&r, "make_list_with_nulls");
    for (int i = 0; i < 3; i++) run_add(&r, &bv[i], 1);
    assert_string_equal(json_of(run_finish1(&r)), "[127,null,6]");
    run_end(&r);

    /* count_distinct is exact well past dcount's exact range */
    run_start(&r, "count_distinct");
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < 50000; i++) {
            kql_val v = kql_long(i * 31);
            run_add(&r, &v, 1);
        }
    kql_val v = run_finish1(&r);
    assert_int_equal(v.u.i, 50000);
    run_end(&r);
}

/* hll of rows [lo, hi) as JSON text, re-parsed (as a stored sketch would be). */
static const vg_json *hll_of(vg_arena *keep, int64_t lo, int64_t hi, int acc)
{
    run r;
    run_start(&r, "hll");
    for (int64_t i = lo; i < hi; i++) {
        kql_val a[2] = { kql_long(i), kql_long(acc) };
        run_add(&r, a, 2);
    }
    kql_val v = run_finish1(&r);
    assert_int_equal(v.t, VG_T_DYNAMIC);
    vg_buf b;
    vg_buf_init(&b, 0);
    kql_val_json(&b, v);
    char *text = vg_arena_memdup(keep, b.p, b.n);   /* the tree may point into its text */
    const vg_json *d = kql_dyn_parse(keep, vg_str_make(text, b.n));
    vg_buf_free(&b);
    run_end(&r);
    return d;
}

static void test_hll(void **state)
{
    vg_arena k;
    vg_arena_init(&k, 0, 0);
    /* small: exact through the sketch */
    const vg_json *s1 = hll_of(&k, 0, 100, 1);
    assert_int_equal(kql_hll_dcount(&k, s1), 100);
    /* large, merged by the aggregation hll_merge and by the scalar helper */
    const vg_json *a = hll_of(&k, 0, 60000, 1), *b = hll_of(&k, 40000, 100000, 1);
    run r;
    run_start(&r, "hll_merge");
    kql_val rows[3] = { kql_dynamic(a), kql_long(5) /* not a sketch: skipped */, kql_dynamic(b) };
    for (int i = 0; i < 3; i++) run_add(&r, &rows[i], 1);
    kql_val m = run_finish1(&r);
    int64_t e = kql_hll_dcount(&r.out, m.u.d);
    assert_true(llabs(e - 100000) < 3000);
    run_end(&r);
    const vg_json *both[2] = { a, b };
    const vg_json *m2 = kql_hll_merge(&k, both, 2);
    assert_non_null(m2);
    assert_true(llabs(kql_hll_dcount(&k, m2) - 100000) < 3000);
    /* sparse + dense of different accuracies */
    const vg_json *mix[2] = { s1, hll_of(&k, 50, 20000, 4) };
    int64_t e2 = kql_hll_dcount(&k, kql_hll_merge(&k, mix, 2));
    assert_true(llabs(e2 - 20000) < 600);
    /* not sketches */
    assert_int_equal(kql_hll_dcount(&k, kql_dyn_parse(&k, vg_str_c("[1,2,3]"))), -1);
    assert_int_equal(kql_hll_dcount(&k, kql_dyn_parse(&k, vg_str_c("[\"vigil.hll.1\",14,1000,\"d\",\"zz\"]"))), -1);
    assert_null(kql_hll_merge(&k, (const vg_json *const[]){ kql_dyn_parse(&k, vg_str_c("{}")) }, 1));
    vg_arena_free(&k);
}

/* Any value of any type, nulls, NaN and odd dynamics included. */
static kql_val random_val(vg_arena *a)
{
    static const char *dyn[] = { "[1,\"a\",[2]]", "{\"x\":{\"y\":null}}", "null", "\"s\"", "3.5", "[]",
                                 "{}", "[\"vigil.hll.1\",14,1000,\"s\",\"00\"]" };
    static const char *str[] = { "", "a", "abc", "\xff\xfe", "zzzzzzzzzzzzzzzzzzzzzzzz" };
    uint64_t r = next_rand();
    switch (r % 10) {
    case 0: return kql_null((vg_type)((r >> 8) % VG_T_COUNT_));
    case 1: return kql_bool((r >> 8) & 1);
    case 2: return kql_int((int64_t)(r >> 40) - 100000);
    case 3: return kql_long((int64_t)(r >> 1) * ((r & 2) ? -1 : 1));
    case 4: {
        double d[] = { NAN, INFINITY, -INFINITY, -0.0, 1e308, 0.5 };
        return kql_real((r >> 8) % 3 ? (double)(int64_t)(r >> 12) / 7.0 : d[(r >> 16) % 6]);
    }
    case 5: return kql_datetime((int64_t)(r >> 4));
    case 6: return kql_timespan((int64_t)(r >> 20) - 5000);
    case 7: return S(str[(r >> 8) % 5]);
    default: return kql_dynamic(kql_dyn_parse(a, vg_str_c(dyn[(r >> 8) % 8])));
    }
}

/* Never crash on any input: every aggregation, random rows, merged halves. */
static void test_random_inputs(void **state)
{
    size_t n = 0;
    const kql_agg_def *const *all = kql_agg_all(&n);
    for (size_t k = 0; k < n; k++) {
        const kql_agg_def *d = all[k];
        for (int round = 0; round < 4; round++) {
            vg_arena a, out, in;
            vg_arena_init(&a, 0, 0);
            vg_arena_init(&out, 0, 0);
            vg_arena_init(&in, 0, 0);
            void *s1 = vg_arena_zalloc(&a, d->state_size), *s2 = vg_arena_zalloc(&a, d->state_size);
            assert_non_null(s1);
            assert_non_null(s2);
            d->init(s1);
            d->init(s2);
            uint32_t nargs = d->min_args + (uint32_t)(next_rand() % 4);
            if (nargs > d->max_args) nargs = d->max_args;
            if (nargs > MAXA) nargs = MAXA;
            for (int row = 0; row < 300; row++) {
                kql_val args[MAXA];
                for (uint32_t i = 0; i < nargs; i++) args[i] = random_val(&in);
                d->add(&a, row & 1 ? s2 : s1, args, nargs);
                if (row % 50 == 49)
                    vg_arena_reset(&in);   /* inputs die with their batch */
            }
            d->merge(&a, s1, s2);
            kql_val outs[MAXA + 1];
            uint32_t nout = nargs ? nargs : 1;
            for (uint32_t o = 0; o < nout; o++) outs[o] = kql_null(VG_T_COUNT_);
            d->finish(&out, s1, outs, nout);
            bool multi = !strcmp(d->name, "arg_max") || !strcmp(d->name, "arg_min") ||
                         !strcmp(d->name, "percentiles") || !strncmp(d->name, "take_any", 8) ||
                         !strcmp(d->name, "any");
            if (!multi) nout = 1;
            for (uint32_t o = 0; o < nout; o++) {
                assert_true(outs[o].t < VG_T_COUNT_);
                vg_buf b;
                vg_buf_init(&b, 0);
                kql_val_json(&b, outs[o]);
                vg_buf_free(&b);
            }
            if (!strcmp(d->name, "count") && nargs == 0) {
                assert_int_equal(outs[0].u.i, 300);
            }
            vg_arena_free(&in);
            vg_arena_free(&a);
            vg_arena_free(&out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_typers),
        cmocka_unit_test(test_count_sum_empty),
        cmocka_unit_test(test_count_sum_avg),
        cmocka_unit_test(test_min_max),
        cmocka_unit_test(test_stdev_variance),
        cmocka_unit_test(test_arg_max_ties),
        cmocka_unit_test(test_take_any),
        cmocka_unit_test(test_make_list_set_bag),
        cmocka_unit_test(test_percentiles_small),
        cmocka_unit_test(test_percentiles_large),
        cmocka_unit_test(test_dcount),
        cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_more),
        cmocka_unit_test(test_hll),
        cmocka_unit_test(test_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
