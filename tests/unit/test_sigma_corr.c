/*
 * test_sigma_corr.c - unit tests of the Sigma correlation engine
 * (src/detect/sigma_corr.c): hand-made event sequences for every
 * correlation type, window edges, grouping, out-of-order arrival, lateness,
 * closing conditions, state limits, aliases and chaining.
 *
 * The rules are built by hand (no YAML loader): a fixture holds an array of
 * sg_rule and an sg_ruleset pointing at it. Events are a few field=value
 * pairs; the emit callback copies each alert into a global list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_err.h"
#include "core/vg_str.h"
#include "detect/sigma.h"
#include "detect/sigma_corr.h"

#define SEC 10000000LL
#define T_MAX_RULES 8
#define T_MAX_ALERTS 256
#define T_MAX_FIELDS 4

/* ---- fixture: rules by hand ---- */

typedef struct fixture {
    sg_rule rules[T_MAX_RULES];
    sg_ruleset rs;
    sg_bound bounds[T_MAX_RULES][2];
    vg_str refs[T_MAX_RULES][4];
    vg_str groups[T_MAX_RULES][2];
} fixture;

static fixture F;

static void fx_reset(void)
{
    memset(&F, 0, sizeof F);
    F.rs.rules = F.rules;
    F.rs.cap = T_MAX_RULES;
}

static sg_rule *fx_base(const char *name, const char *id)
{
    sg_rule *r = &F.rules[F.rs.nrules++];
    r->kind = SG_KIND_RULE;
    r->title = vg_str_c(name);
    r->name = vg_str_c(name);
    r->id = id ? vg_str_c(id) : VG_STR_NULL;
    r->file = VG_STR_LIT("test.yml");
    return r;
}

/* A correlation over refs (NULL-terminated), grouped by group (or NULL),
 * with one bound (cmp < 0: none). */
static sg_rule *fx_corr(const char *name, sg_corr_type type, const char **refs, const char *group,
                        int64_t span, int cmp, double bound)
{
    uint32_t i = F.rs.nrules;
    sg_rule *r = &F.rules[F.rs.nrules++];
    r->kind = SG_KIND_CORRELATION;
    r->title = vg_str_c(name);
    r->name = vg_str_c(name);
    r->file = VG_STR_LIT("corr.yml");
    r->corr.type = type;
    r->corr.rules = F.refs[i];
    for (const char **p = refs; *p; p++)
        F.refs[i][r->corr.nrules++] = vg_str_c(*p);
    r->corr.group_by = F.groups[i];
    if (group)
        F.groups[i][r->corr.ngroup_by++] = vg_str_c(group);
    r->corr.timespan = span;
    r->corr.bounds = F.bounds[i];
    if (cmp >= 0)
        F.bounds[i][r->corr.nbounds++] = (sg_bound){ (sg_cmp)cmp, bound };
    return r;
}

static void fx_bound(sg_rule *r, sg_cmp cmp, double v)
{
    r->corr.bounds[r->corr.nbounds++] = (sg_bound){ cmp, v };
}

/* ---- events ---- */

typedef struct tev {
    const char *k[T_MAX_FIELDS];
    const char *v[T_MAX_FIELDS];
} tev;

static vg_err tev_field(void *ctx, vg_str name, vg_str *out)
{
    const tev *t = ctx;
    for (int i = 0; i < T_MAX_FIELDS && t->k[i]; i++)
        if (vg_str_eqc(name, t->k[i])) {
            *out = vg_str_c(t->v[i]);
            return VG_OK;
        }
    return VG_ENOTFOUND;
}

/* ---- alerts ---- */

typedef struct talert {
    const sg_rule *rule;
    int64_t first, last;
    double value;
    char group[2][64];
    uint64_t events[SG_CORR_MAX_EVIDENCE];
    uint32_t nevents;
} talert;

static talert A[T_MAX_ALERTS];
static int NA;

static void on_alert(void *ctx, const sg_corr_alert *a)
{
    assert_true(NA < T_MAX_ALERTS);
    talert *t = &A[NA++];
    memset(t, 0, sizeof *t);
    t->rule = a->rule;
    t->first = a->first_ts;
    t->last = a->last_ts;
    t->value = a->value;
    for (uint32_t k = 0; k < a->rule->corr.ngroup_by && k < 2; k++)
        vg_str_copy_c(t->group[k], sizeof t->group[k], a->group[k]);
    t->nevents = a->nevents;
    memcpy(t->events, a->events, a->nevents * sizeof *a->events);
}

static sg_corr_engine *engine(int64_t lateness, uint32_t max_groups, uint32_t max_events)
{
    sg_corr_opts o = { lateness, max_groups, max_events };
    sg_corr_engine *e = NULL;
    vg_diag d = { { 0 } };
    vg_err err = sg_corr_new(&F.rs, &o, &e, &d);
    if (err)
        fail_msg("sg_corr_new: %s: %s", vg_strerror(err), d.msg);
    NA = 0;
    return e;
}

/* Offers a hit of rule r at second sec with user= (or no user when NULL). */
static void hit(sg_corr_engine *e, const sg_rule *r, int64_t ts, const char *user, uint64_t ref)
{
    tev t = { { "user" }, { user } };
    if (!user)
        t.k[0] = NULL;
    sg_corr_hit h = { r, ts, tev_field, &t, ref };
    assert_int_equal(sg_corr_offer(e, &h, on_alert, NULL), VG_OK);
}

static void hit2(sg_corr_engine *e, const sg_rule *r, int64_t ts, const char *k1, const char *v1,
                 const char *k2, const char *v2, uint64_t ref)
{
    tev t = { { k1, k2 }, { v1, v2 } };
    sg_corr_hit h = { r, ts, tev_field, &t, ref };
    assert_int_equal(sg_corr_offer(e, &h, on_alert, NULL), VG_OK);
}

static const char *R_LOGIN[] = { "login_fail", NULL };

/* ---- event_count ---- */

static void test_event_count_fires_at_nth(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(0, 0, 0);
    hit(e, b, 10 * SEC, "alice", 1);
    hit(e, b, 20 * SEC, "alice", 2);
    assert_int_equal(NA, 0);
    hit(e, b, 30 * SEC, "alice", 3);
    assert_int_equal(NA, 1);
    assert_string_equal(A[0].group[0], "alice");
    assert_true(A[0].value == 3);
    assert_int_equal(A[0].first, 10 * SEC);
    assert_int_equal(A[0].last, 30 * SEC);
    assert_int_equal(A[0].nevents, 3);
    assert_int_equal(A[0].events[0], 1);
    assert_int_equal(A[0].events[2], 3);
    assert_ptr_equal(A[0].rule, &F.rules[1]);
    sg_corr_free(e);
}

static void test_event_count_spread_beyond_timespan(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(0, 0, 0);
    for (int i = 0; i < 10; i++)
        hit(e, b, i * 31 * SEC, "alice", (uint64_t)i);   /* at most 2 in any 60 s */
    assert_int_equal(NA, 0);
    sg_corr_free(e);
}

/* Windows are inclusive: events exactly timespan apart share a window. */
static void test_window_edges_inclusive(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(0, 0, 0);
    hit(e, b, 0, "alice", 1);
    hit(e, b, 30 * SEC, "alice", 2);
    hit(e, b, 60 * SEC, "alice", 3);
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].first, 0);
    assert_int_equal(A[0].last, 60 * SEC);
    sg_corr_free(e);

    e = engine(0, 0, 0);
    hit(e, b, 0, "bob", 1);
    hit(e, b, 30 * SEC, "bob", 2);
    hit(e, b, 60 * SEC + 1, "bob", 3);   /* one tick too far */
    assert_int_equal(NA, 0);
    hit(e, b, 60 * SEC + 2, "bob", 4);   /* 30 s, 60 s+1, 60 s+2 */
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].first, 30 * SEC);
    sg_corr_free(e);
}

static void test_group_by_separation(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(0, 0, 0);
    hit(e, b, 1 * SEC, "alice", 1);
    hit(e, b, 2 * SEC, "bob", 2);
    hit(e, b, 3 * SEC, "alice", 3);
    hit(e, b, 4 * SEC, "bob", 4);
    hit(e, b, 5 * SEC, NULL, 5);   /* no user: the "" group */
    hit(e, b, 6 * SEC, NULL, 6);
    assert_int_equal(NA, 0);
    hit(e, b, 7 * SEC, "bob", 7);
    assert_int_equal(NA, 1);
    assert_string_equal(A[0].group[0], "bob");
    assert_int_equal(A[0].events[0], 2);
    assert_int_equal(A[0].events[1], 4);
    assert_int_equal(A[0].events[2], 7);
    hit(e, b, 8 * SEC, NULL, 8);
    assert_int_equal(NA, 2);
    assert_string_equal(A[1].group[0], "");
    sg_corr_free(e);
}

/* After firing the events are consumed: no alert on every further event. */
static void test_refire_suppression(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(0, 0, 0);
    for (int i = 1; i <= 5; i++)
        hit(e, b, i * SEC, "alice", (uint64_t)i);
    assert_int_equal(NA, 1);
    hit(e, b, 6 * SEC, "alice", 6);
    assert_int_equal(NA, 2);
    assert_int_equal(A[1].first, 4 * SEC);
    assert_int_equal(A[1].last, 6 * SEC);
    sg_corr_stats st;
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.hits, 6);
    assert_int_equal(st.alerts, 2);
    sg_corr_free(e);
}

/* ---- value_count, value_sum/avg/percentile ---- */

static void test_value_count_distinct(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    sg_rule *c = fx_corr("spray", SG_CORR_VALUE_COUNT, R_LOGIN, "src", 60 * SEC, SG_CMP_GTE, 3);
    c->corr.field = VG_STR_LIT("user");
    sg_corr_engine *e = engine(0, 0, 0);
    hit2(e, b, 1 * SEC, "src", "10.0.0.1", "user", "alice", 1);
    hit2(e, b, 2 * SEC, "src", "10.0.0.1", "user", "alice", 2);
    hit2(e, b, 3 * SEC, "src", "10.0.0.1", "user", "bob", 3);
    hit2(e, b, 4 * SEC, "src", "10.0.0.1", "user", "bob", 4);
    hit2(e, b, 5 * SEC, "src", "10.0.0.2", "user", "carol", 5);   /* other group */
    hit2(e, b, 6 * SEC, "src", "10.0.0.1", NULL, NULL, 6);        /* no value: ignored */
    assert_int_equal(NA, 0);
    hit2(e, b, 7 * SEC, "src", "10.0.0.1", "user", "carol", 7);
    assert_int_equal(NA, 1);
    assert_true(A[0].value == 3);
    assert_string_equal(A[0].group[0], "10.0.0.1");
    assert_int_equal(A[0].nevents, 5);
    sg_corr_free(e);
}

static void test_value_sum_avg_percentile(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("xfer", NULL);
    const char *refs[] = { "xfer", NULL };
    sg_rule *s = fx_corr("sum", SG_CORR_VALUE_SUM, refs, "user", 60 * SEC, SG_CMP_GT, 100);
    sg_rule *a = fx_corr("avg", SG_CORR_VALUE_AVG, refs, "user", 60 * SEC, SG_CMP_GTE, 50);
    sg_rule *p = fx_corr("p50", SG_CORR_VALUE_PERCENTILE, refs, "user", 60 * SEC, SG_CMP_GTE, 40);
    s->corr.field = a->corr.field = p->corr.field = VG_STR_LIT("bytes");
    p->corr.percentile = 50;
    sg_corr_engine *e = engine(0, 0, 0);
    hit2(e, b, 1 * SEC, "user", "u", "bytes", "10", 1);
    hit2(e, b, 2 * SEC, "user", "u", "bytes", "lots", 2);   /* not a number: ignored */
    hit2(e, b, 3 * SEC, "user", "u", "bytes", "30", 3);
    assert_int_equal(NA, 0);
    hit2(e, b, 4 * SEC, "user", "u", "bytes", "70", 4);
    /* sum 110 > 100; avg 36.7 < 50; median of 10,30,70 = 30 < 40 */
    assert_int_equal(NA, 1);
    assert_ptr_equal(A[0].rule, s);
    assert_true(A[0].value == 110);
    hit2(e, b, 5 * SEC, "user", "u", "bytes", "90", 5);
    /* avg 50 >= 50; median of 10,30,70,90 = 50 >= 40 */
    assert_int_equal(NA, 3);
    assert_ptr_equal(A[1].rule, a);
    assert_true(A[1].value == 50);
    assert_ptr_equal(A[2].rule, p);
    assert_true(A[2].value == 50);
    sg_corr_free(e);
}

/* ---- temporal, temporal_ordered ---- */

static const char *R_AB[] = { "recon", "exfil", NULL };

static void test_temporal_both_orders(void **state)
{
    fx_reset();
    sg_rule *ra = fx_base("recon", NULL);
    sg_rule *rb = fx_base("exfil", NULL);
    fx_corr("chain", SG_CORR_TEMPORAL, R_AB, "user", 60 * SEC, -1, 0);
    sg_corr_engine *e = engine(0, 0, 0);
    hit(e, ra, 1 * SEC, "alice", 1);
    hit(e, ra, 2 * SEC, "alice", 2);
    assert_int_equal(NA, 0);
    hit(e, rb, 3 * SEC, "alice", 3);
    assert_int_equal(NA, 1);
    assert_true(A[0].value == 2);
    hit(e, rb, 10 * SEC, "bob", 4);
    hit(e, ra, 11 * SEC, "bob", 5);
    assert_int_equal(NA, 2);
    assert_string_equal(A[1].group[0], "bob");
    /* too far apart */
    hit(e, rb, 100 * SEC, "carol", 6);
    hit(e, ra, 161 * SEC, "carol", 7);
    assert_int_equal(NA, 2);
    sg_corr_free(e);
}

static void test_temporal_ordered(void **state)
{
    fx_reset();
    sg_rule *ra = fx_base("recon", NULL);
    sg_rule *rb = fx_base("exfil", NULL);
    fx_corr("chain", SG_CORR_TEMPORAL_ORDERED, R_AB, "user", 60 * SEC, -1, 0);
    sg_corr_engine *e = engine(30 * SEC, 0, 0);
    hit(e, ra, 1 * SEC, "alice", 1);
    hit(e, rb, 2 * SEC, "alice", 2);
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].events[0], 1);
    hit(e, rb, 10 * SEC, "bob", 3);   /* wrong order */
    hit(e, ra, 11 * SEC, "bob", 4);
    assert_int_equal(NA, 1);
    /* out of order arrival, right order in time */
    hit(e, rb, 21 * SEC, "carol", 5);
    hit(e, ra, 20 * SEC, "carol", 6);
    assert_int_equal(NA, 2);
    assert_string_equal(A[1].group[0], "carol");
    assert_int_equal(A[1].first, 20 * SEC);
    sg_corr_free(e);
}

/* ---- time: out of order, lateness, closing conditions ---- */

typedef struct tin {
    int64_t ts;
    const char *user;
    uint64_t ref;
} tin;

static int run_seq(const tin *in, int n, talert *out)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(120 * SEC, 0, 0);
    for (int i = 0; i < n; i++)
        hit(e, b, in[i].ts, in[i].user, in[i].ref);
    assert_int_equal(sg_corr_advance(e, 1000 * SEC, on_alert, NULL), VG_OK);
    sg_corr_stats st;
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.late_dropped, 0);
    sg_corr_free(e);
    memcpy(out, A, (size_t)NA * sizeof *A);
    return NA;
}

static void test_out_of_order_same_alerts(void **state)
{
    static const tin ordered[] = {
        { 10 * SEC, "alice", 1 }, { 15 * SEC, "bob", 2 },   { 20 * SEC, "alice", 3 },
        { 25 * SEC, "alice", 4 }, { 30 * SEC, "bob", 5 },   { 90 * SEC, "bob", 6 },
        { 95 * SEC, "alice", 7 }, { 100 * SEC, "alice", 8 }, { 110 * SEC, "alice", 9 },
    };
    static const tin shuffled[] = {
        { 25 * SEC, "alice", 4 }, { 15 * SEC, "bob", 2 },    { 10 * SEC, "alice", 1 },
        { 30 * SEC, "bob", 5 },   { 20 * SEC, "alice", 3 },  { 110 * SEC, "alice", 9 },
        { 95 * SEC, "alice", 7 }, { 90 * SEC, "bob", 6 },    { 100 * SEC, "alice", 8 },
    };
    talert a1[T_MAX_ALERTS], a2[T_MAX_ALERTS];
    int n1 = run_seq(ordered, 9, a1), n2 = run_seq(shuffled, 9, a2);
    assert_int_equal(n1, 2);
    assert_int_equal(n2, n1);
    for (int i = 0; i < n1; i++) {
        assert_string_equal(a1[i].group[0], a2[i].group[0]);
        assert_int_equal(a1[i].first, a2[i].first);
        assert_int_equal(a1[i].last, a2[i].last);
        assert_true(a1[i].value == a2[i].value);
        assert_int_equal(a1[i].nevents, a2[i].nevents);
        for (uint32_t k = 0; k < a1[i].nevents; k++)
            assert_int_equal(a1[i].events[k], a2[i].events[k]);
    }
    assert_int_equal(a1[0].first, 10 * SEC);
    assert_int_equal(a1[1].first, 95 * SEC);
}

static void test_late_events_dropped(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 600 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(10 * SEC, 0, 0);
    hit(e, b, 100 * SEC, "alice", 1);
    hit(e, b, 90 * SEC, "alice", 2);    /* exactly lateness behind: accepted */
    hit(e, b, 89 * SEC, "alice", 3);    /* too late */
    hit(e, b, 50 * SEC, "alice", 4);    /* too late */
    assert_int_equal(NA, 0);
    sg_corr_stats st;
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.late_dropped, 2);
    hit(e, b, 101 * SEC, "alice", 5);
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].first, 90 * SEC);
    sg_corr_free(e);
}

static void test_lt_decided_at_advance(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("rare", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_LT, 3);
    sg_corr_engine *e = engine(10 * SEC, 0, 0);
    hit(e, b, 0, "alice", 1);
    hit(e, b, 10 * SEC, "alice", 2);
    for (int i = 0; i < 4; i++)
        hit(e, b, i * SEC, "bob", (uint64_t)(10 + i));
    assert_int_equal(NA, 0);
    /* window [0, 60 s] closes when now - lateness > 60 s */
    assert_int_equal(sg_corr_advance(e, 70 * SEC, on_alert, NULL), VG_OK);
    assert_int_equal(NA, 0);
    assert_int_equal(sg_corr_advance(e, 70 * SEC + 1, on_alert, NULL), VG_OK);
    assert_int_equal(NA, 1);
    assert_string_equal(A[0].group[0], "alice");
    assert_true(A[0].value == 2);
    assert_int_equal(A[0].last, 10 * SEC);
    /* state is gone: a second advance says nothing more */
    assert_int_equal(sg_corr_advance(e, 1000 * SEC, on_alert, NULL), VG_OK);
    assert_int_equal(NA, 1);
    sg_corr_free(e);
}

/* eq and ranges are closing conditions too: the window is counted whole. */
static void test_range_decided_at_close(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    sg_rule *c = fx_corr("exact", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 2);
    fx_bound(c, SG_CMP_LTE, 3);
    sg_corr_engine *e = engine(0, 0, 0);
    hit(e, b, 0, "alice", 1);
    hit(e, b, 1 * SEC, "alice", 2);
    hit(e, b, 2 * SEC, "alice", 3);
    hit(e, b, 3 * SEC, "alice", 4);   /* 4 in [0, 60]: no */
    hit(e, b, 61 * SEC, "alice", 5);  /* next window [61, 121] */
    hit(e, b, 62 * SEC, "alice", 6);
    assert_int_equal(NA, 0);
    assert_int_equal(sg_corr_advance(e, 200 * SEC, on_alert, NULL), VG_OK);
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].first, 61 * SEC);
    assert_true(A[0].value == 2);
    sg_corr_free(e);
}

/* ---- limits ---- */

static void test_eviction_limits(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 600 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(0, 2, 4);
    const char *users[] = { "u1", "u2", "u3", "u4", "u5" };
    for (int i = 0; i < 5; i++)
        hit(e, b, (i + 1) * SEC, users[i], (uint64_t)i);
    sg_corr_stats st;
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.groups_evicted, 3);
    /* u1 was evicted: two more events do not reach 3 */
    hit(e, b, 10 * SEC, "u1", 10);
    hit(e, b, 11 * SEC, "u1", 11);
    assert_int_equal(NA, 0);
    hit(e, b, 12 * SEC, "u1", 12);
    assert_int_equal(NA, 1);
    sg_corr_free(e);

    /* max_events: a "gte 6" can never hold with 4 events held */
    fx_reset();
    b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 600 * SEC, SG_CMP_GTE, 6);
    e = engine(0, 2, 4);
    for (int i = 0; i < 100; i++)
        hit(e, b, i * SEC, "alice", (uint64_t)i);
    assert_int_equal(NA, 0);
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.events_evicted, 96);
    sg_corr_free(e);
}

/* Many groups through a small table: insert, evict, expire, reuse. */
static void test_many_groups_churn(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 5 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = engine(SEC, 50, 8);
    char name[32];
    int expect = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "user%d", (i * 7919) % 97);
        hit(e, b, i * (SEC / 10), name, (uint64_t)i);
        if (i % 100 == 0)
            assert_int_equal(sg_corr_advance(e, i * (SEC / 10), on_alert, NULL), VG_OK);
        if (NA > 50) {
            expect += NA;
            NA = 0;
        }
    }
    sg_corr_stats st;
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.alerts, (uint64_t)(expect + NA));
    assert_true(st.groups_evicted > 0);
    sg_corr_free(e);
}

/* ---- aliases, references, chaining ---- */

static void test_alias_resolution(void **state)
{
    fx_reset();
    sg_rule *ra = fx_base("recon", NULL);
    sg_rule *rb = fx_base("exfil", "0b8c9c1e-0000-4000-8000-000000000001");
    const char *refs[] = { "recon", "0b8c9c1e-0000-4000-8000-000000000001", NULL };
    sg_rule *c = fx_corr("chain", SG_CORR_TEMPORAL, refs, "account", 60 * SEC, -1, 0);
    static vg_str arules[2], afields[2];
    static sg_alias al;
    arules[0] = VG_STR_LIT("recon");
    afields[0] = VG_STR_LIT("SubjectUserName");
    arules[1] = VG_STR_LIT("exfil");   /* by name, although referenced by id */
    afields[1] = VG_STR_LIT("TargetUserName");
    al = (sg_alias){ VG_STR_LIT("account"), arules, afields, 2 };
    c->corr.aliases = &al;
    c->corr.naliases = 1;
    sg_corr_engine *e = engine(0, 0, 0);
    assert_true(sg_corr_wants(e, ra));
    assert_true(sg_corr_wants(e, rb));
    assert_false(sg_corr_wants(e, c));
    hit2(e, ra, 1 * SEC, "SubjectUserName", "alice", "TargetUserName", "bob", 1);
    hit2(e, rb, 2 * SEC, "SubjectUserName", "bob", "TargetUserName", "carol", 2);
    assert_int_equal(NA, 0);   /* alice vs carol */
    hit2(e, rb, 3 * SEC, "SubjectUserName", "x", "TargetUserName", "alice", 3);
    assert_int_equal(NA, 1);
    assert_string_equal(A[0].group[0], "alice");
    sg_corr_free(e);
}

static void test_chaining(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    sg_rule *inner = fx_corr("pair", SG_CORR_EVENT_COUNT, R_LOGIN, "user", 60 * SEC, SG_CMP_GTE, 2);
    const char *refs[] = { "pair", NULL };
    sg_rule *outer = fx_corr("pairs", SG_CORR_EVENT_COUNT, refs, "user", 600 * SEC, SG_CMP_GTE, 2);
    sg_corr_engine *e = engine(0, 0, 0);
    assert_true(sg_corr_wants(e, inner));
    hit(e, b, 1 * SEC, "alice", 1);
    hit(e, b, 2 * SEC, "alice", 2);
    assert_int_equal(NA, 1);
    assert_ptr_equal(A[0].rule, inner);
    hit(e, b, 3 * SEC, "bob", 3);
    hit(e, b, 4 * SEC, "bob", 4);   /* inner for bob: outer holds 1 for bob */
    assert_int_equal(NA, 2);
    hit(e, b, 300 * SEC, "alice", 5);
    hit(e, b, 301 * SEC, "alice", 6);
    assert_int_equal(NA, 4);
    assert_ptr_equal(A[2].rule, inner);
    assert_ptr_equal(A[3].rule, outer);
    assert_string_equal(A[3].group[0], "alice");
    assert_int_equal(A[3].first, 2 * SEC);
    assert_int_equal(A[3].last, 301 * SEC);
    assert_int_equal(A[3].events[0], 2);
    assert_int_equal(A[3].events[1], 6);
    sg_corr_free(e);
}

static void test_unknown_reference(void **state)
{
    fx_reset();
    fx_base("login_fail", NULL);
    const char *refs[] = { "login_fail", "no_such_rule", NULL };
    fx_corr("Brute force", SG_CORR_EVENT_COUNT, refs, "user", 60 * SEC, SG_CMP_GTE, 3);
    sg_corr_engine *e = (sg_corr_engine *)1;
    vg_diag d = { { 0 } };
    assert_int_equal(sg_corr_new(&F.rs, NULL, &e, &d), VG_ENOTFOUND);
    assert_null(e);
    assert_non_null(strstr(d.msg, "Brute force"));
    assert_non_null(strstr(d.msg, "corr.yml"));
    assert_non_null(strstr(d.msg, "no_such_rule"));
}

static void test_bad_definitions(void **state)
{
    vg_diag d;
    sg_corr_engine *e = NULL;
    /* a cycle through two correlations */
    fx_reset();
    const char *ra[] = { "b", NULL }, *rb[] = { "a", NULL };
    fx_corr("a", SG_CORR_EVENT_COUNT, ra, NULL, 60 * SEC, SG_CMP_GTE, 2);
    fx_corr("b", SG_CORR_EVENT_COUNT, rb, NULL, 60 * SEC, SG_CMP_GTE, 2);
    assert_int_equal(sg_corr_new(&F.rs, NULL, &e, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "cycle"));
    /* event_count without a condition, value_count without a field */
    fx_reset();
    fx_base("login_fail", NULL);
    fx_corr("nocond", SG_CORR_EVENT_COUNT, R_LOGIN, NULL, 60 * SEC, -1, 0);
    assert_int_equal(sg_corr_new(&F.rs, NULL, &e, &d), VG_EINVAL);
    fx_reset();
    fx_base("login_fail", NULL);
    fx_corr("nofield", SG_CORR_VALUE_COUNT, R_LOGIN, NULL, 60 * SEC, SG_CMP_GT, 2);
    assert_int_equal(sg_corr_new(&F.rs, NULL, &e, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "field"));
    /* negative lateness */
    sg_corr_opts o = { -1, 0, 0 };
    assert_int_equal(sg_corr_new(&F.rs, &o, &e, &d), VG_EINVAL);
}

/* No group-by: one group; and rules nobody refers to are ignored. */
static void test_no_group_by_and_unwanted(void **state)
{
    fx_reset();
    sg_rule *b = fx_base("login_fail", NULL);
    sg_rule *other = fx_base("other", NULL);
    fx_corr("brute", SG_CORR_EVENT_COUNT, R_LOGIN, NULL, 60 * SEC, SG_CMP_GT, 2);
    sg_corr_engine *e = engine(0, 0, 0);
    assert_false(sg_corr_wants(e, other));
    hit(e, other, 1 * SEC, "a", 1);
    hit(e, b, 1 * SEC, "a", 2);
    hit(e, b, 2 * SEC, "b", 3);
    assert_int_equal(NA, 0);
    hit(e, b, 3 * SEC, NULL, 4);
    assert_int_equal(NA, 1);
    sg_corr_stats st;
    sg_corr_get_stats(e, &st);
    assert_int_equal(st.hits, 3);
    sg_corr_free(e);
}

/* ---- a brute-force model, in-order streams ---- */

typedef struct oev {
    int64_t ts;
    int user, host;
    uint64_t ref;
} oev;

/* The documented semantics, naively: per user a list; on each event drop
 * what is older than ts - span; when the condition holds over what is left,
 * alert and clear the list. distinct: count distinct hosts, else events. */
static int oracle(const oev *in, int n, int64_t span, int need, bool distinct, talert *out)
{
    static oev held[3][512];
    int nheld[3] = { 0 }, na = 0;
    for (int i = 0; i < n; i++) {
        int u = in[i].user, k = 0;
        held[u][nheld[u]++] = in[i];
        for (int j = 0; j < nheld[u]; j++)
            if (held[u][j].ts >= in[i].ts - span)
                held[u][k++] = held[u][j];
        nheld[u] = k;
        int v = k;
        if (distinct) {
            bool seen[8] = { false };
            v = 0;
            for (int j = 0; j < k; j++)
                if (!seen[held[u][j].host]) {
                    seen[held[u][j].host] = true;
                    v++;
                }
        }
        if (v >= need) {
            talert *a = &out[na++];
            memset(a, 0, sizeof *a);
            a->first = held[u][0].ts;
            a->last = held[u][k - 1].ts;
            a->value = v;
            snprintf(a->group[0], sizeof a->group[0], "u%d", u);
            a->nevents = (uint32_t)k;
            for (int j = 0; j < k && j < SG_CORR_MAX_EVIDENCE; j++)
                a->events[j] = held[u][j].ref;
            nheld[u] = 0;
        }
    }
    return na;
}

static void test_random_against_model(void **state)
{
    static const char *users[] = { "u0", "u1", "u2" }, *hosts[] = { "h0", "h1", "h2", "h3", "h4" };
    static oev in[400];
    static talert want[400];
    uint32_t seed = 12345;
    for (int round = 0; round < 20; round++) {
        bool distinct = round % 2;
        int64_t ts = 0;
        for (int i = 0; i < 400; i++) {
            seed = seed * 1103515245u + 12345u;
            ts += (int64_t)((seed >> 8) % 21) * SEC;   /* ties happen (step 0) */
            in[i] = (oev){ ts, (int)((seed >> 20) % 3), (int)((seed >> 24) % 5), (uint64_t)i };
        }
        int nwant = oracle(in, 400, 60 * SEC, distinct ? 3 : 4, distinct, want);
        assert_true(nwant > 0 && nwant < T_MAX_ALERTS);

        fx_reset();
        sg_rule *b = fx_base("login_fail", NULL);
        sg_rule *c = fx_corr("m", distinct ? SG_CORR_VALUE_COUNT : SG_CORR_EVENT_COUNT, R_LOGIN,
                             "user", 60 * SEC, SG_CMP_GTE, distinct ? 3 : 4);
        c->corr.field = VG_STR_LIT("host");
        sg_corr_engine *e = engine(0, 0, 0);
        for (int i = 0; i < 400; i++) {
            hit2(e, b, in[i].ts, "user", users[in[i].user], "host", hosts[in[i].host], in[i].ref);
            if (i % 50 == 0)
                assert_int_equal(sg_corr_advance(e, in[i].ts, on_alert, NULL), VG_OK);
        }
        sg_corr_free(e);
        assert_int_equal(NA, nwant);
        for (int i = 0; i < NA; i++) {
            assert_string_equal(A[i].group[0], want[i].group[0]);
            assert_int_equal(A[i].first, want[i].first);
            assert_int_equal(A[i].last, want[i].last);
            assert_true(A[i].value == want[i].value);
            assert_int_equal(A[i].nevents, want[i].nevents);
            for (uint32_t k = 0; k < A[i].nevents; k++)
                assert_int_equal(A[i].events[k], want[i].events[k]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_count_fires_at_nth),
        cmocka_unit_test(test_event_count_spread_beyond_timespan),
        cmocka_unit_test(test_window_edges_inclusive),
        cmocka_unit_test(test_group_by_separation),
        cmocka_unit_test(test_refire_suppression),
        cmocka_unit_test(test_value_count_distinct),
        cmocka_unit_test(test_value_sum_avg_percentile),
        cmocka_unit_test(test_temporal_both_orders),
        cmocka_unit_test(test_temporal_ordered),
        cmocka_unit_test(test_out_of_order_same_alerts),
        cmocka_unit_test(test_late_events_dropped),
        cmocka_unit_test(test_lt_decided_at_advance),
        cmocka_unit_test(test_range_decided_at_close),
        cmocka_unit_test(test_eviction_limits),
        cmocka_unit_test(test_many_groups_churn),
        cmocka_unit_test(test_alias_resolution),
        cmocka_unit_test(test_chaining),
        cmocka_unit_test(test_unknown_reference),
        cmocka_unit_test(test_bad_definitions),
        cmocka_unit_test(test_no_group_by_and_unwanted),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
