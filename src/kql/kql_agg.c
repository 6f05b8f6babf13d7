/*
 * kql_agg.c - the aggregation functions of summarize: the kql_agg_def table
 * (count, dcount, count_distinct, sum, avg, min/max, make_list/make_set/
 * make_bag, arg_max/arg_min, take_any, percentile(s)/percentiles_array,
 * stdev/variance, binary_all_*, hll/hll_merge and their *if forms), the
 * typers of all of them, the lookup, and the aggregations that need no
 * sketch. dcount/count_distinct/hll and the percentiles keep sketches and
 * live in kql_agg_sketch.c (shared declarations: kql_agg_int.h).
 *
 * Each aggregation is a fixed-size state (init/add/merge/finish) that the
 * summarize operator keeps per group. Anything of variable size a state keeps
 * (copied strings, dynamic trees, value lists, sketches) is allocated in the
 * arena passed to add/merge, never on the heap, so dropping the operator's
 * arena frees every group at once. Constant arguments (dcount accuracy,
 * maxSize, the percentile p) arrive with every row and are read once, on the
 * first row. Every state can be merged (two threads' partials of one group).
 *
 * Behaviour on no rows follows Kusto's "default values of aggregations":
 * count, countif, dcount, dcountif, sum, sumif, stdev*, variance* give 0;
 * make_list/make_set give [] and make_bag {}; everything else is null. A
 * group whose values are all null gets the same answers. A null whose type a state never saw (no rows at all) is returned as a null
 * dynamic; the executor converts it to the column's type.
 *
 * Limits: make_list/make_set/make_bag keep at most KQL_AGG_LIST_MAX elements
 * (Kusto's default and maximum maxSize). The sketches' limits are described
 * in kql_agg_sketch.c.
 * NaN is skipped by min/max, arg_max/arg_min keys and make_set.
 * A kept dynamic value (arg_max, take_any, min/max) is held as its JSON text
 * in one reusable buffer, at most KQL_AGG_HELD_MAX bytes.
 *
 * add() has no error channel: when the arena runs out, a state stops
 * growing (lists are cut short, sketches stop taking values) and finish()
 * returns what it has.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_map.h"
#include "kql/kql_agg_int.h"

#define KQL_AGG_LIST_MAX 1048576u
#define KQL_AGG_HELD_MAX (16u << 20)

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* maxSize argument: Kusto's default and maximum is 1048576. */
static uint32_t arg_max_size(const kql_val *args, uint32_t nargs, uint32_t i)
{
    double d;
    if (!arg_num(args, nargs, i, &d) || d < 1 || d >= (double)KQL_AGG_LIST_MAX)
        return KQL_AGG_LIST_MAX;
    return (uint32_t)d;
}

/* A deep copy of a dynamic tree into a (bounded depth, as the parser's). */
static vg_json *json_copy(vg_arena *a, const vg_json *s, unsigned depth)
{
    if (!s || depth > VG_JSON_MAX_DEPTH)
        return NULL;
    vg_json *d = vg_arena_alloc(a, sizeof *d);
    if (!d)
        return NULL;
    d->kind = s->kind;
    d->str = s->str.n ? vg_str_dup(a, s->str) : (vg_str){ "", 0 };
    d->key = s->key.n ? vg_str_dup(a, s->key) : (vg_str){ "", 0 };
    if (!d->str.p) d->str = (vg_str){ "", 0 };
    if (!d->key.p) d->key = (vg_str){ "", 0 };
    d->n = 0;
    d->kids = NULL;
    if (s->n && s->kids) {
        d->kids = vg_arena_alloc(a, (size_t)s->n * sizeof *d->kids);
        if (!d->kids)
            return d;
        for (uint32_t i = 0; i < s->n; i++) {
            vg_json *k = json_copy(a, s->kids[i], depth + 1);
            if (k)
                d->kids[d->n++] = k;
        }
    }
    return d;
}

/* A copy of v whose payload lives in a. */
static kql_val val_copy(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_STRING) {
        if (v.u.s.n == 0)
            return kql_string((vg_str){ "", 0 });
        vg_str s = vg_str_dup(a, v.u.s);
        return kql_string(s.p ? s : (vg_str){ "", 0 });
    }
    if (v.t == VG_T_DYNAMIC)
        return v.null ? kql_dynamic(NULL) : kql_dynamic(json_copy(a, v.u.d, 0));
    return v;
}

/* The null returned when a state never saw the type of its input. */
static kql_val untyped_null(void) { return kql_dynamic(NULL); }

/* ---- a kept value with a reusable buffer ----
 * min/max/arg_max replace their kept value often; reusing one buffer keeps
 * the arena from growing with every replacement. Dynamic values are kept as
 * JSON text and parsed back at finish. */
typedef struct held {
    kql_val v;        /* strings point into buf; dynamic text: null placeholder */
    char *buf;
    uint32_t cap, dlen;
    bool dtext;
} held;

static bool held_room(vg_arena *a, held *h, size_t n)
{
    if (n <= h->cap)
        return true;
    if (n > KQL_AGG_HELD_MAX)
        return false;
    size_t c = h->cap ? (size_t)h->cap * 2 : 32;
    if (c < n) c = n;
    if (c > KQL_AGG_HELD_MAX) c = KQL_AGG_HELD_MAX;
    char *p = vg_arena_alloc(a, c);
    if (!p)
        return false;
    h->buf = p;
    h->cap = (uint32_t)c;
    return true;
}

static void held_set(vg_arena *a, held *h, kql_val v)
{
    h->dtext = false;
    if (v.t == VG_T_STRING) {
        if (v.u.s.n && held_room(a, h, v.u.s.n)) {
            memmove(h->buf, v.u.s.p, v.u.s.n);
            h->v = kql_string((vg_str){ h->buf, v.u.s.n });
        } else {
            h->v = kql_string((vg_str){ "", 0 });
        }
        return;
    }
    if (v.t == VG_T_DYNAMIC) {
        h->v = kql_dynamic(NULL);
        if (v.null)
            return;
        vg_buf b;
        vg_buf_init(&b, KQL_AGG_HELD_MAX);
        vg_json_write(&b, v.u.d);
        if (!b.failed && held_room(a, h, b.n)) {
            memcpy(h->buf, b.p, b.n);
            h->dlen = (uint32_t)b.n;
            h->dtext = true;
        }
        vg_buf_free(&b);
        return;
    }
    h->v = v;
}

static void held_copy(vg_arena *a, held *dst, const held *src)
{
    if (!src->dtext) {
        held_set(a, dst, src->v);
        return;
    }
    dst->v = kql_dynamic(NULL);
    dst->dtext = false;
    if (held_room(a, dst, src->dlen)) {
        memcpy(dst->buf, src->buf, src->dlen);
        dst->dlen = src->dlen;
        dst->dtext = true;
    }
}

/* The kept value, allocated in a (the caller's result arena). */
static kql_val held_get(vg_arena *a, const held *h)
{
    if (h->dtext) {
        /* the parsed tree may point into its text: parse a copy made in a */
        char *t = vg_arena_memdup(a, h->buf, h->dlen);
        return t ? kql_dynamic(kql_dyn_parse(a, (vg_str){ t, h->dlen })) : kql_dynamic(NULL);
    }
    return val_copy(a, h->v);
}

/* ------------------------------------------------------------------ */
/* typers                                                              */

#define TB(t) (1u << (t))
#define T_NUM (TB(VG_T_INT) | TB(VG_T_LONG) | TB(VG_T_REAL))
#define T_ALL (0xffu)

/* Checks argument i (when present) against a mask of accepted types. */
static bool want(const char *fn, const vg_type *a, uint32_t n, uint32_t i, unsigned mask,
                 const char *what, vg_diag *d)
{
    if (i >= n || a[i] == KQL_T_ANY || (a[i] < VG_T_COUNT_ && (mask & TB(a[i]))))
        return true;
    vg_diag_set(d, VG_ETYPE, "%s(): argument %u expects %s, got %s", fn, i + 1, what,
                a[i] < VG_T_COUNT_ ? vg_type_name(a[i]) : "?");
    return false;
}

static vg_type ty_long_pred(const char *fn, const vg_type *a, uint32_t n, uint32_t pred, uint32_t k,
                            vg_diag *d)
{
    if (pred < 32 && !want(fn, a, n, pred, TB(VG_T_BOOL), "a bool predicate", d))
        return VG_T_COUNT_;
    if (k < 32 && !want(fn, a, n, k, T_NUM, "a constant integer", d))
        return VG_T_COUNT_;
    return VG_T_LONG;
}

static vg_type ty_count(const vg_type *a, uint32_t n, vg_diag *d) { return ty_long_pred("count", a, n, 99, 99, d); }
static vg_type ty_countif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_long_pred("countif", a, n, 0, 99, d); }
static vg_type ty_dcount(const vg_type *a, uint32_t n, vg_diag *d) { return ty_long_pred("dcount", a, n, 99, 1, d); }
static vg_type ty_dcountif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_long_pred("dcountif", a, n, 1, 2, d); }

static vg_type ty_sum_(const char *fn, const vg_type *a, uint32_t n, bool pred, vg_diag *d)
{
    if (!want(fn, a, n, 0, T_NUM | TB(VG_T_TIMESPAN), "a numeric or timespan argument", d))
        return VG_T_COUNT_;
    if (pred && !want(fn, a, n, 1, TB(VG_T_BOOL), "a bool predicate", d))
        return VG_T_COUNT_;
    if (n == 0 || a[0] == KQL_T_ANY || a[0] == VG_T_REAL)
        return VG_T_REAL;
    return a[0] == VG_T_TIMESPAN ? VG_T_TIMESPAN : VG_T_LONG;
}
static vg_type ty_sum(const vg_type *a, uint32_t n, vg_diag *d) { return ty_sum_("sum", a, n, false, d); }
static vg_type ty_sumif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_sum_("sumif", a, n, true, d); }

static vg_type ty_real_(const char *fn, const vg_type *a, uint32_t n, bool pred, vg_diag *d)
{
    if (!want(fn, a, n, 0, T_NUM, "a numeric argument", d))
        return VG_T_COUNT_;
    if (pred && !want(fn, a, n, 1, TB(VG_T_BOOL), "a bool predicate", d))
        return VG_T_COUNT_;
    return VG_T_REAL;
}
static vg_type ty_avg(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("avg", a, n, false, d); }
static vg_type ty_avgif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("avgif", a, n, true, d); }
static vg_type ty_stdev(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("stdev", a, n, false, d); }
static vg_type ty_stdevif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("stdevif", a, n, true, d); }
static vg_type ty_stdevp(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("stdevp", a, n, false, d); }
static vg_type ty_variance(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("variance", a, n, false, d); }
static vg_type ty_varianceif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("varianceif", a, n, true, d); }
static vg_type ty_variancep(const vg_type *a, uint32_t n, vg_diag *d) { return ty_real_("variancep", a, n, false, d); }

/* Same type as the first argument (which may not be dynamic when it is
 * compared). */
static vg_type ty_same_(const char *fn, const vg_type *a, uint32_t n, bool ordered, uint32_t pred, vg_diag *d)
{
    if (ordered && !want(fn, a, n, 0, T_ALL & ~TB(VG_T_DYNAMIC), "a scalar (not dynamic) argument", d))
        return VG_T_COUNT_;
    if (pred < 32 && !want(fn, a, n, pred, TB(VG_T_BOOL), "a bool predicate", d))
        return VG_T_COUNT_;
    if (n == 0 || a[0] == KQL_T_ANY)
        return VG_T_DYNAMIC;
    return a[0];
}
static vg_type ty_min(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("min", a, n, true, 99, d); }
static vg_type ty_max(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("max", a, n, true, 99, d); }
static vg_type ty_minif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("minif", a, n, true, 1, d); }
static vg_type ty_maxif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("maxif", a, n, true, 1, d); }
static vg_type ty_arg_max(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("arg_max", a, n, true, 99, d); }
static vg_type ty_arg_min(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("arg_min", a, n, true, 99, d); }
static vg_type ty_take_any(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("take_any", a, n, false, 99, d); }
static vg_type ty_take_anyif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_same_("take_anyif", a, n, false, 1, d); }

static vg_type ty_dyn_(const char *fn, const vg_type *a, uint32_t n, bool bag, uint32_t pred, uint32_t k, vg_diag *d)
{
    if (bag && !want(fn, a, n, 0, TB(VG_T_DYNAMIC), "a dynamic property bag", d))
        return VG_T_COUNT_;
    if (pred < 32 && !want(fn, a, n, pred, TB(VG_T_BOOL), "a bool predicate", d))
        return VG_T_COUNT_;
    if (!want(fn, a, n, k, T_NUM, "a constant integer maxSize", d))
        return VG_T_COUNT_;
    return VG_T_DYNAMIC;
}
static vg_type ty_make_list(const vg_type *a, uint32_t n, vg_diag *d) { return ty_dyn_("make_list", a, n, false, 99, 1, d); }
static vg_type ty_make_list_if(const vg_type *a, uint32_t n, vg_diag *d) { return ty_dyn_("make_list_if", a, n, false, 1, 2, d); }
static vg_type ty_make_set(const vg_type *a, uint32_t n, vg_diag *d) { return ty_dyn_("make_set", a, n, false, 99, 1, d); }
static vg_type ty_make_set_if(const vg_type *a, uint32_t n, vg_diag *d) { return ty_dyn_("make_set_if", a, n, false, 1, 2, d); }
static vg_type ty_make_bag(const vg_type *a, uint32_t n, vg_diag *d) { return ty_dyn_("make_bag", a, n, true, 99, 1, d); }
static vg_type ty_make_bag_if(const vg_type *a, uint32_t n, vg_diag *d) { return ty_dyn_("make_bag_if", a, n, true, 1, 2, d); }

static vg_type ty_pct_(const char *fn, const vg_type *a, uint32_t n, vg_diag *d)
{
    if (!want(fn, a, n, 0, T_NUM | TB(VG_T_DATETIME) | TB(VG_T_TIMESPAN),
              "a numeric, datetime or timespan argument", d))
        return VG_T_COUNT_;
    for (uint32_t i = 1; i < n; i++)
        if (!want(fn, a, n, i, T_NUM, "a constant numeric percentile", d))
            return VG_T_COUNT_;
    if (n == 0 || a[0] == KQL_T_ANY)
        return VG_T_REAL;
    return a[0];
}
static vg_type ty_percentile(const vg_type *a, uint32_t n, vg_diag *d) { return ty_pct_("percentile", a, n, d); }
static vg_type ty_percentiles(const vg_type *a, uint32_t n, vg_diag *d) { return ty_pct_("percentiles", a, n, d); }
static vg_type ty_pct_array(const vg_type *a, uint32_t n, vg_diag *d)
{
    if (!want("percentiles_array", a, n, 0, T_NUM | TB(VG_T_DATETIME) | TB(VG_T_TIMESPAN),
              "a numeric, datetime or timespan argument", d))
        return VG_T_COUNT_;
    for (uint32_t i = 1; i < n; i++)
        if (!want("percentiles_array", a, n, i, T_NUM | (n == 2 ? TB(VG_T_DYNAMIC) : 0u),
                  "constant numeric percentiles", d))
            return VG_T_COUNT_;
    return VG_T_DYNAMIC;
}
static vg_type ty_count_distinct(const vg_type *a, uint32_t n, vg_diag *d) { return ty_long_pred("count_distinct", a, n, 99, 99, d); }
static vg_type ty_count_distinctif(const vg_type *a, uint32_t n, vg_diag *d) { return ty_long_pred("count_distinctif", a, n, 1, 99, d); }
static vg_type ty_hll(const vg_type *a, uint32_t n, vg_diag *d)
{
    return ty_long_pred("hll", a, n, 99, 1, d) == VG_T_COUNT_ ? VG_T_COUNT_ : VG_T_DYNAMIC;
}
static vg_type ty_hll_if(const vg_type *a, uint32_t n, vg_diag *d)
{
    return ty_long_pred("hll_if", a, n, 1, 2, d) == VG_T_COUNT_ ? VG_T_COUNT_ : VG_T_DYNAMIC;
}
static vg_type ty_hll_merge(const vg_type *a, uint32_t n, vg_diag *d)
{
    return want("hll_merge", a, n, 0, TB(VG_T_DYNAMIC), "an hll() sketch", d) ? VG_T_DYNAMIC : VG_T_COUNT_;
}

/* ------------------------------------------------------------------ */
/* count, countif                                                      */

typedef struct { int64_t n; } st_count;

static void count_init(void *s) { memset(s, 0, sizeof(st_count)); }
static void count_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    if (n == 0 || !args[0].null)
        ((st_count *)s)->n++;
}
static void countif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    if (arg_true(args, n, 0))
        ((st_count *)s)->n++;
}
static void count_merge(vg_arena *a, void *d, const void *s) { ((st_count *)d)->n += ((const st_count *)s)->n; }
static void count_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    if (nout) out[0] = kql_long(((st_count *)s)->n);
}

/* ------------------------------------------------------------------ */
/* sum, sumif                                                          */

enum { SUM_INT = 1, SUM_REAL = 2, SUM_TS = 4 };
typedef struct { uint64_t i; double r; uint8_t kinds; } st_sum;

static void sum_init(void *s) { memset(s, 0, sizeof(st_sum)); }
static void sum_one(st_sum *S, kql_val v)
{
    v = undyn(v);
    if (v.null)
        return;
    switch (v.t) {
    case VG_T_INT: case VG_T_LONG: S->i += (uint64_t)v.u.i; S->kinds |= SUM_INT; break;
    case VG_T_TIMESPAN: S->i += (uint64_t)v.u.i; S->kinds |= SUM_TS; break;
    case VG_T_REAL: S->r += v.u.r; S->kinds |= SUM_REAL; break;
    default: break;   /* not summable: ignored (the typer rejects it) */
    }
}
static void sum_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) sum_one(s, args[0]); }
static void sumif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    if (arg_true(args, n, 1)) sum_one(s, args[0]);
}
static void sum_merge(vg_arena *a, void *d, const void *s)
{
    st_sum *D = d;
    const st_sum *S = s;
    D->i += S->i;
    D->r += S->r;
    D->kinds |= S->kinds;
}
static void sum_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_sum *S = s;
    if (!nout) return;
    if (S->kinds & SUM_REAL)
        out[0] = kql_real(S->r + (double)(int64_t)S->i);
    else if (S->kinds & SUM_TS)
        out[0] = kql_timespan((int64_t)S->i);
    else
        out[0] = kql_long((int64_t)S->i);
}

/* ------------------------------------------------------------------ */
/* avg, stdev, variance (Welford; merged with Chan's formula)          */

typedef struct { uint64_t n; double mean, m2; } st_mom;

static void mom_init(void *s) { memset(s, 0, sizeof(st_mom)); }
static void mom_one(st_mom *S, kql_val v)
{
    double x;
    if (!arg_num(&v, 1, 0, &x))
        return;
    S->n++;
    double delta = x - S->mean;
    S->mean += delta / (double)S->n;
    S->m2 += delta * (x - S->mean);
}
static void mom_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) mom_one(s, args[0]); }
static void momif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    if (arg_true(args, n, 1)) mom_one(s, args[0]);
}
static void mom_merge(vg_arena *a, void *d, const void *s)
{
    st_mom *D = d;
    const st_mom *S = s;
    if (S->n == 0) return;
    if (D->n == 0) { *D = *S; return; }
    double na = (double)D->n, nb = (double)S->n, n = na + nb;
    double delta = S->mean - D->mean;
    D->mean += delta * nb / n;
    D->m2 += S->m2 + delta * delta * na * nb / n;
    D->n += S->n;
}
static void avg_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_mom *S = s;
    if (nout) out[0] = S->n ? kql_real(S->mean) : kql_null(VG_T_REAL);
}
static double var_of(const st_mom *S, bool sample)
{
    if (S->n == 0 || (sample && S->n < 2))
        return 0.0;
    double v = S->m2 / (double)(sample ? S->n - 1 : S->n);
    return v < 0 ? 0.0 : v;
}
static void variance_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout) { if (nout) out[0] = kql_real(var_of(s, true)); }
static void variancep_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout) { if (nout) out[0] = kql_real(var_of(s, false)); }
static void stdev_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout) { if (nout) out[0] = kql_real(sqrt(var_of(s, true))); }
static void stdevp_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout) { if (nout) out[0] = kql_real(sqrt(var_of(s, false))); }

/* ------------------------------------------------------------------ */
/* min, max, minif, maxif                                              */

typedef struct { held h; vg_type t; bool typed, has; } st_ext;

static void ext_init(void *s) { memset(s, 0, sizeof(st_ext)); }
/* dir: -1 keeps the smallest, +1 the largest; ties keep the first seen. */
static void ext_one(vg_arena *a, st_ext *S, kql_val v, int dir)
{
    v = undyn(v);
    if (!S->typed) { S->t = v.t; S->typed = true; }
    if (v.null || v.t == VG_T_DYNAMIC || (v.t == VG_T_REAL && isnan(v.u.r)))
        return;
    if (!S->has || kql_val_cmp(v, S->h.v) * dir > 0) {
        held_set(a, &S->h, v);
        S->has = true;
    }
}
static void min_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) ext_one(a, s, args[0], -1); }
static void max_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) ext_one(a, s, args[0], 1); }
static void minif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    if (n && arg_true(args, n, 1)) ext_one(a, s, args[0], -1);
    else if (n && !((st_ext *)s)->typed) { ((st_ext *)s)->t = args[0].t; ((st_ext *)s)->typed = true; }
}
static void maxif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    if (n && arg_true(args, n, 1)) ext_one(a, s, args[0], 1);
    else if (n && !((st_ext *)s)->typed) { ((st_ext *)s)->t = args[0].t; ((st_ext *)s)->typed = true; }
}
static void ext_merge(vg_arena *a, void *d, const void *s, int dir)
{
    st_ext *D = d;
    const st_ext *S = s;
    if (!D->typed && S->typed) { D->t = S->t; D->typed = true; }
    if (S->has && (!D->has || kql_val_cmp(S->h.v, D->h.v) * dir > 0)) {
        held_copy(a, &D->h, &S->h);
        D->has = true;
    }
}
static void min_merge(vg_arena *a, void *d, const void *s) { ext_merge(a, d, s, -1); }
static void max_merge(vg_arena *a, void *d, const void *s) { ext_merge(a, d, s, 1); }
static void ext_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_ext *S = s;
    if (!nout) return;
    if (S->has) out[0] = held_get(a, &S->h);
    else if (!S->typed || S->t == VG_T_DYNAMIC) out[0] = untyped_null();
    else out[0] = kql_null(S->t);
}

/* ------------------------------------------------------------------ */
/* arg_max, arg_min, take_any                                          */

/* key: the maximized value (arg_*), vals: the values returned with it. */
typedef struct { held key; held *vals; uint32_t nvals; bool has, started; } st_row;

static void row_init(void *s) { memset(s, 0, sizeof(st_row)); }

/* Allocates vals on the first row and records typed nulls, so that a
 * group whose keys are all null still yields nulls of the right types. */
static void row_start(vg_arena *a, st_row *S, const kql_val *vals, uint32_t nvals, kql_val key)
{
    if (S->started)
        return;
    S->started = true;
    S->key.v = key.t == VG_T_DYNAMIC ? kql_dynamic(NULL) : kql_null(key.t);
    if (nvals == 0)
        return;
    S->vals = vg_arena_zalloc(a, (size_t)nvals * sizeof *S->vals);
    if (!S->vals)
        return;
    S->nvals = nvals;
    for (uint32_t i = 0; i < nvals; i++)
        S->vals[i].v = vals[i].t == VG_T_DYNAMIC ? kql_dynamic(NULL) : kql_null(vals[i].t);
}

static void row_take(vg_arena *a, st_row *S, kql_val key, const kql_val *vals, uint32_t nvals)
{
    held_set(a, &S->key, key);
    for (uint32_t i = 0; i < S->nvals && i < nvals; i++)
        held_set(a, &S->vals[i], vals[i]);
    S->has = true;
}

static void argext_one(vg_arena *a, st_row *S, const kql_val *args, uint32_t n, int dir)
{
    if (n == 0)
        return;
    row_start(a, S, args + 1, n - 1, args[0]);
    kql_val k = undyn(args[0]);
    if (k.null || k.t == VG_T_DYNAMIC || (k.t == VG_T_REAL && isnan(k.u.r)))
        return;
    if (!S->has || kql_val_cmp(k, S->key.v) * dir > 0)
        row_take(a, S, k, args + 1, n - 1);
}
static void arg_max_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { argext_one(a, s, args, n, 1); }
static void arg_min_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { argext_one(a, s, args, n, -1); }

static void row_copy(vg_arena *a, st_row *D, const st_row *S)
{
    if (!D->started) {
        D->started = true;
        D->key.v = S->key.dtext ? kql_dynamic(NULL) : S->key.v;
        if (D->key.v.t == VG_T_STRING) D->key.v = kql_string((vg_str){ "", 0 });
        if (S->nvals) {
            D->vals = vg_arena_zalloc(a, (size_t)S->nvals * sizeof *D->vals);
            if (D->vals) {
                D->nvals = S->nvals;
                for (uint32_t i = 0; i < S->nvals; i++) {
                    vg_type t = S->vals[i].dtext ? VG_T_DYNAMIC : S->vals[i].v.t;
                    D->vals[i].v = t == VG_T_DYNAMIC ? kql_dynamic(NULL) : kql_null(t);
                }
            }
        }
    }
    if (!S->has)
        return;
    held_copy(a, &D->key, &S->key);
    for (uint32_t i = 0; i < D->nvals && i < S->nvals; i++)
        held_copy(a, &D->vals[i], &S->vals[i]);
    D->has = true;
}

static void argext_merge(vg_arena *a, void *d, const void *s, int dir)
{
    st_row *D = d;
    const st_row *S = s;
    if (!S->started)
        return;
    if (!D->started || (S->has && (!D->has || kql_val_cmp(S->key.v, D->key.v) * dir > 0)))
        row_copy(a, D, S);
}
static void arg_max_merge(vg_arena *a, void *d, const void *s) { argext_merge(a, d, s, 1); }
static void arg_min_merge(vg_arena *a, void *d, const void *s) { argext_merge(a, d, s, -1); }

static kql_val held_out(vg_arena *a, const held *h, bool started)
{
    if (!started)
        return untyped_null();
    return held_get(a, h);
}

/* out[0] = the key, out[1..] = the values of its row. */
static void arg_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_row *S = s;
    if (!nout) return;
    out[0] = held_out(a, &S->key, S->started);
    for (uint32_t i = 1; i < nout; i++)
        out[i] = i - 1 < S->nvals ? held_get(a, &S->vals[i - 1]) : untyped_null();
}

/* take_any: with one argument, the first non-null, non-empty value (as
 * Kusto tries to return a non-empty value for a single column); with
 * several, the values of the first row. Kusto's choice is arbitrary; this
 * one is deterministic for a given input order. */
static void take_any_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    st_row *S = s;
    if (n == 0 || S->has)
        return;
    row_start(a, S, args, n, kql_null(VG_T_BOOL));
    if (n == 1) {
        kql_val v = args[0];
        if (v.null || (v.t == VG_T_STRING && v.u.s.n == 0))
            return;
    }
    for (uint32_t i = 0; i < S->nvals && i < n; i++)
        held_set(a, &S->vals[i], args[i]);
    S->has = true;
}
static void take_anyif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    st_row *S = s;
    if (n == 0 || S->has)
        return;
    row_start(a, S, args, 1, kql_null(VG_T_BOOL));
    if (!arg_true(args, n, 1) || args[0].null || (args[0].t == VG_T_STRING && args[0].u.s.n == 0))
        return;
    if (S->nvals)
        held_set(a, &S->vals[0], args[0]);
    S->has = true;
}
static void take_any_merge(vg_arena *a, void *d, const void *s)
{
    st_row *D = d;
    const st_row *S = s;
    if (S->started && (!D->started || (!D->has && S->has)))
        row_copy(a, D, S);
}
static void take_any_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_row *S = s;
    for (uint32_t i = 0; i < nout; i++)
        out[i] = i < S->nvals ? held_get(a, &S->vals[i]) : untyped_null();
}

/* ------------------------------------------------------------------ */
/* make_list, make_set, make_bag                                       */

/* A list of values; with a slot table it is a set (make_set: values, by
 * kql_val_eq; make_bag: members, by key). */
typedef struct {
    kql_val *v;
    uint64_t *h;          /* hash of each element (sets and bags) */
    uint32_t n, cap, hcap;
    uint32_t *slot;       /* index + 1, 0 = empty; nslot a power of two */
    uint32_t nslot;
    uint32_t max;
    bool max_read;
} st_list;

static void list_init(void *s) { memset(s, 0, sizeof(st_list)); }

static void list_max(st_list *L, const kql_val *args, uint32_t n, uint32_t i)
{
    if (!L->max_read) {
        L->max = arg_max_size(args, n, i);
        L->max_read = true;
    }
}

static bool list_push(vg_arena *a, st_list *L, kql_val v, bool copy)
{
    uint32_t lim = L->max_read ? L->max : KQL_AGG_LIST_MAX;
    if (L->n >= lim)
        return false;
    if (!grow(a, (void **)&L->v, &L->cap, L->n + 1, sizeof *L->v, lim))
        return false;
    L->v[L->n++] = copy ? val_copy(a, v) : v;
    return true;
}

static vg_str member_key(kql_val v) { return v.u.d ? v.u.d->key : (vg_str){ "", 0 }; }

static uint64_t elem_hash(kql_val v, bool bag)
{
    if (bag) {
        vg_str k = member_key(v);
        return vg_hash(k.p ? k.p : "", k.n);
    }
    return kql_val_hash(v);
}
static bool elem_eq(kql_val a, kql_val b, bool bag)
{
    return bag ? vg_str_eq(member_key(a), member_key(b)) : kql_val_eq(a, b);
}

static bool set_rehash(vg_arena *a, st_list *L, uint32_t nslot)
{
    uint32_t *slot = vg_arena_zalloc(a, (size_t)nslot * sizeof *slot);
    if (!slot)
        return false;
    for (uint32_t i = 0; i < L->n; i++) {
        uint32_t j = (uint32_t)L->h[i] & (nslot - 1);
        while (slot[j]) j = (j + 1) & (nslot - 1);
        slot[j] = i + 1;
    }
    L->slot = slot;
    L->nslot = nslot;
    return true;
}

/* Adds v unless an equal element is there; v is copied into a. */
static void set_add(vg_arena *a, st_list *L, kql_val v, bool bag)
{
    uint32_t lim = L->max_read ? L->max : KQL_AGG_LIST_MAX;
    if (L->n >= lim)
        return;
    uint64_t h = elem_hash(v, bag);
    if (L->nslot) {
        for (uint32_t j = (uint32_t)h & (L->nslot - 1), probes = 0; L->slot[j] && probes < L->nslot;
             j = (j + 1) & (L->nslot - 1), probes++) {
            uint32_t i = L->slot[j] - 1;
            if (L->h[i] == h && elem_eq(L->v[i], v, bag))
                return;
        }
    }
    if (!grow(a, (void **)&L->h, &L->hcap, L->n + 1, sizeof *L->h, lim) ||
        !grow(a, (void **)&L->v, &L->cap, L->n + 1, sizeof *L->v, lim))
        return;
    if ((uint64_t)(L->n + 1) * 2 > L->nslot && !set_rehash(a, L, L->nslot ? L->nslot * 2 : 32))
        return;
    kql_val c = bag ? kql_dynamic(json_copy(a, v.u.d, 0)) : val_copy(a, v);
    if (bag && !c.u.d)
        return;
    uint32_t j = (uint32_t)h & (L->nslot - 1);
    while (L->slot[j]) j = (j + 1) & (L->nslot - 1);
    L->slot[j] = L->n + 1;
    L->h[L->n] = h;
    L->v[L->n++] = c;
}

static void list_one(vg_arena *a, st_list *L, kql_val v)
{
    if (v.null)
        return;
    list_push(a, L, v, true);
}
/* make_set takes the elements of a dynamic array one by one, as Kusto does. */
static void set_one(vg_arena *a, st_list *L, kql_val v)
{
    if (v.null)
        return;
    if (v.t == VG_T_DYNAMIC && v.u.d && v.u.d->kind == VG_JSON_ARRAY) {
        for (uint32_t i = 0; i < v.u.d->n; i++) {
            kql_val e = kql_dyn_scalar(v.u.d->kids[i]);
            if (!e.null && !(e.t == VG_T_REAL && isnan(e.u.r)))
                set_add(a, L, e, false);
        }
        return;
    }
    v = undyn(v);
    if (v.t == VG_T_REAL && isnan(v.u.r))
        return;   /* NaN equals nothing: it would be added again and again */
    set_add(a, L, v, false);
}
/* make_bag merges property bags; the first value of a key wins. */
static void bag_one(vg_arena *a, st_list *L, kql_val v)
{
    if (v.t != VG_T_DYNAMIC || v.null || !v.u.d || v.u.d->kind != VG_JSON_OBJECT)
        return;
    for (uint32_t i = 0; i < v.u.d->n; i++)
        set_add(a, L, (kql_val){ .t = VG_T_DYNAMIC, .u.d = v.u.d->kids[i] }, true);
}

static void make_list_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 1);
    if (n) list_one(a, s, args[0]);
}
static void make_list_if_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 2);
    if (arg_true(args, n, 1)) list_one(a, s, args[0]);
}
static void make_set_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 1);
    if (n) set_one(a, s, args[0]);
}
static void make_set_if_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 2);
    if (arg_true(args, n, 1)) set_one(a, s, args[0]);
}
static void make_bag_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 1);
    if (n) bag_one(a, s, args[0]);
}
static void make_bag_if_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 2);
    if (arg_true(args, n, 1)) bag_one(a, s, args[0]);
}

static void list_adopt_max(st_list *D, const st_list *S)
{
    if (!D->max_read && S->max_read) {
        D->max = S->max;
        D->max_read = true;
    }
}
static void make_list_merge(vg_arena *a, void *d, const void *s)
{
    const st_list *S = s;
    list_adopt_max(d, S);
    for (uint32_t i = 0; i < S->n; i++)
        if (!list_push(a, d, S->v[i], true))
            break;
}
static void make_set_merge(vg_arena *a, void *d, const void *s)
{
    const st_list *S = s;
    list_adopt_max(d, S);
    for (uint32_t i = 0; i < S->n; i++)
        set_add(a, d, S->v[i], false);
}
static void make_bag_merge(vg_arena *a, void *d, const void *s)
{
    const st_list *S = s;
    list_adopt_max(d, S);
    for (uint32_t i = 0; i < S->n; i++)
        set_add(a, d, S->v[i], true);
}

static void list_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_list *L = s;
    if (!nout) return;
    vg_json *arr = kql_dyn_array(a, L->n);
    if (!arr) { out[0] = kql_null(VG_T_DYNAMIC); return; }
    for (uint32_t i = 0; i < L->n; i++) {
        const vg_json *e = kql_dyn_from(a, val_copy(a, L->v[i]));
        if (e) kql_dyn_push(arr, e);
    }
    out[0] = kql_dynamic(arr);
}
static void bag_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_list *L = s;
    if (!nout) return;
    vg_json *bag = kql_dyn_bag(a, L->n);
    if (!bag) { out[0] = kql_null(VG_T_DYNAMIC); return; }
    for (uint32_t i = 0; i < L->n; i++) {
        const vg_json *e = json_copy(a, L->v[i].u.d, 0);
        if (e) kql_dyn_put(a, bag, member_key(L->v[i]), e);
    }
    out[0] = kql_dynamic(bag);
}

/* ------------------------------------------------------------------ */
/* binary_all_and / _or / _xor                                         */

typedef struct { uint64_t v; bool has; } st_bits;
enum { BIT_AND, BIT_OR, BIT_XOR };

static void bits_init(void *s) { memset(s, 0, sizeof(st_bits)); }
static void bits_one(st_bits *S, kql_val v, int op)
{
    v = undyn(v);
    if (v.null || (v.t != VG_T_INT && v.t != VG_T_LONG))
        return;
    uint64_t x = (uint64_t)v.u.i;
    if (!S->has) { S->v = x; S->has = true; return; }
    S->v = op == BIT_AND ? S->v & x : op == BIT_OR ? S->v | x : S->v ^ x;
}
static void bits_merge(void *d, const void *s, int op)
{
    const st_bits *S = s;
    if (S->has) bits_one(d, kql_long((int64_t)S->v), op);
}
static void band_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) bits_one(s, args[0], BIT_AND); }
static void bor_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) bits_one(s, args[0], BIT_OR); }
static void bxor_add(vg_arena *a, void *s, const kql_val *args, uint32_t n) { if (n) bits_one(s, args[0], BIT_XOR); }
static void band_merge(vg_arena *a, void *d, const void *s) { bits_merge(d, s, BIT_AND); }
static void bor_merge(vg_arena *a, void *d, const void *s) { bits_merge(d, s, BIT_OR); }
static void bxor_merge(vg_arena *a, void *d, const void *s) { bits_merge(d, s, BIT_XOR); }
static void bits_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_bits *S = s;
    if (nout) out[0] = S->has ? kql_long((int64_t)S->v) : kql_null(VG_T_LONG);
}

static vg_type ty_bits_(const char *fn, const vg_type *a, uint32_t n, vg_diag *d)
{
    if (!want(fn, a, n, 0, TB(VG_T_INT) | TB(VG_T_LONG), "an integer argument", d))
        return VG_T_COUNT_;
    return VG_T_LONG;
}
static vg_type ty_band(const vg_type *a, uint32_t n, vg_diag *d) { return ty_bits_("binary_all_and", a, n, d); }
static vg_type ty_bor(const vg_type *a, uint32_t n, vg_diag *d) { return ty_bits_("binary_all_or", a, n, d); }
static vg_type ty_bxor(const vg_type *a, uint32_t n, vg_diag *d) { return ty_bits_("binary_all_xor", a, n, d); }
static vg_type ty_make_list_nulls(const vg_type *a, uint32_t n, vg_diag *d)
{
    return ty_dyn_("make_list_with_nulls", a, n, false, 99, 1, d);
}

/* make_list_with_nulls: nulls become JSON nulls. */
static void make_list_nulls_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    list_max(s, args, n, 1);
    if (n) list_push(a, s, args[0].null ? kql_dynamic(NULL) : args[0], true);
}

/* ------------------------------------------------------------------ */
/* the table                                                           */

#define AGG(nm, lo, hi, ty, st, in, ad, mg, fi, dc) \
    { .name = nm, .min_args = lo, .max_args = hi, .ret = KQL_T_ANY, .typer = ty, \
      .state_size = sizeof(st), .init = in, .add = ad, .merge = mg, .finish = fi, .doc = dc }

static const kql_agg_def agg_defs[] = {
    AGG("count", 0, 1, ty_count, st_count, count_init, count_add, count_merge, count_finish,
        "count(): the number of rows in the group (count(x): rows where x is not null)."),
    AGG("countif", 1, 1, ty_countif, st_count, count_init, countif_add, count_merge, count_finish,
        "countif(predicate): the number of rows where predicate is true."),
    AGG("dcount", 1, 2, ty_dcount, st_dc, kql_agg_dc_init, kql_agg_dcount_add, kql_agg_dcount_merge, kql_agg_dcount_finish,
        "dcount(expr[, accuracy]): estimated number of distinct non-null values; accuracy 0..4 "
        "(default 1, ~0.8% error); exact up to 1,000 values (8,000 at accuracy >= 2)."),
    AGG("dcountif", 2, 3, ty_dcountif, st_dc, kql_agg_dc_init, kql_agg_dcountif_add, kql_agg_dcount_merge, kql_agg_dcount_finish,
        "dcountif(expr, predicate[, accuracy]): dcount of expr over the rows where predicate is true."),
    AGG("sum", 1, 1, ty_sum, st_sum, sum_init, sum_add, sum_merge, sum_finish,
        "sum(expr): the sum of the non-null values (long for integers, real, timespan); 0 with no values."),
    AGG("sumif", 2, 2, ty_sumif, st_sum, sum_init, sumif_add, sum_merge, sum_finish,
        "sumif(expr, predicate): sum of expr over the rows where predicate is true."),
    AGG("avg", 1, 1, ty_avg, st_mom, mom_init, mom_add, mom_merge, avg_finish,
        "avg(expr): the mean of the non-null values, as real; null with no values."),
    AGG("avgif", 2, 2, ty_avgif, st_mom, mom_init, momif_add, mom_merge, avg_finish,
        "avgif(expr, predicate): avg of expr over the rows where predicate is true."),
    AGG("min", 1, 1, ty_min, st_ext, ext_init, min_add, min_merge, ext_finish,
        "min(expr): the smallest non-null value (strings bytewise); null with no values."),
    AGG("max", 1, 1, ty_max, st_ext, ext_init, max_add, max_merge, ext_finish,
        "max(expr): the largest non-null value (strings bytewise); null with no values."),
    AGG("minif", 2, 2, ty_minif, st_ext, ext_init, minif_add, min_merge, ext_finish,
        "minif(expr, predicate): min of expr over the rows where predicate is true."),
    AGG("maxif", 2, 2, ty_maxif, st_ext, ext_init, maxif_add, max_merge, ext_finish,
        "maxif(expr, predicate): max of expr over the rows where predicate is true."),
    AGG("make_list", 1, 2, ty_make_list, st_list, list_init, make_list_add, make_list_merge, list_finish,
        "make_list(expr[, maxSize]): dynamic array of the non-null values in input order "
        "(maxSize default and maximum 1048576)."),
    AGG("make_list_if", 2, 3, ty_make_list_if, st_list, list_init, make_list_if_add, make_list_merge, list_finish,
        "make_list_if(expr, predicate[, maxSize]): make_list over the rows where predicate is true."),
    AGG("makelist", 1, 2, ty_make_list, st_list, list_init, make_list_add, make_list_merge, list_finish,
        "makelist(expr[, maxSize]): deprecated alias of make_list."),
    AGG("make_set", 1, 2, ty_make_set, st_list, list_init, make_set_add, make_set_merge, list_finish,
        "make_set(expr[, maxSize]): dynamic array of the distinct non-null values in first-seen order; "
        "elements of dynamic arrays are taken one by one."),
    AGG("make_set_if", 2, 3, ty_make_set_if, st_list, list_init, make_set_if_add, make_set_merge, list_finish,
        "make_set_if(expr, predicate[, maxSize]): make_set over the rows where predicate is true."),
    AGG("makeset", 1, 2, ty_make_set, st_list, list_init, make_set_add, make_set_merge, list_finish,
        "makeset(expr[, maxSize]): deprecated alias of make_set."),
    AGG("make_bag", 1, 2, ty_make_bag, st_list, list_init, make_bag_add, make_bag_merge, bag_finish,
        "make_bag(expr[, maxSize]): property bag merging the bags of the group (other values are "
        "skipped); the first value of a key wins."),
    AGG("make_bag_if", 2, 3, ty_make_bag_if, st_list, list_init, make_bag_if_add, make_bag_merge, bag_finish,
        "make_bag_if(expr, predicate[, maxSize]): make_bag over the rows where predicate is true."),
    AGG("arg_max", 1, 255, ty_arg_max, st_row, row_init, arg_max_add, arg_max_merge, arg_finish,
        "arg_max(expr, col, ...): the largest expr and the given columns of its row (first row "
        "wins ties; rows with a null expr are skipped)."),
    AGG("arg_min", 1, 255, ty_arg_min, st_row, row_init, arg_min_add, arg_min_merge, arg_finish,
        "arg_min(expr, col, ...): the smallest expr and the given columns of its row."),
    AGG("take_any", 1, 255, ty_take_any, st_row, row_init, take_any_add, take_any_merge, take_any_finish,
        "take_any(expr, ...): the values of one row of the group (Vigil: the first row; with one "
        "argument, the first non-null, non-empty value)."),
    AGG("any", 1, 255, ty_take_any, st_row, row_init, take_any_add, take_any_merge, take_any_finish,
        "any(expr, ...): deprecated alias of take_any."),
    AGG("take_anyif", 2, 2, ty_take_anyif, st_row, row_init, take_anyif_add, take_any_merge, take_any_finish,
        "take_anyif(expr, predicate): take_any over the rows where predicate is true."),
    AGG("anyif", 2, 2, ty_take_anyif, st_row, row_init, take_anyif_add, take_any_merge, take_any_finish,
        "anyif(expr, predicate): deprecated alias of take_anyif."),
    AGG("percentile", 2, 2, ty_percentile, st_pct, kql_agg_pct_init, kql_agg_pct_add, kql_agg_pct_merge, kql_agg_pct_finish,
        "percentile(expr, p): nearest-rank p-th percentile (0..100), an input value of expr's type; "
        "exact up to 32,768 values per group, then a compacting sketch."),
    AGG("percentiles", 2, 65, ty_percentiles, st_pct, kql_agg_pct_init, kql_agg_pct_add, kql_agg_pct_merge, kql_agg_pct_finish,
        "percentiles(expr, p1, p2, ...): one column per percentile, as percentile()."),
    AGG("stdev", 1, 1, ty_stdev, st_mom, mom_init, mom_add, mom_merge, stdev_finish,
        "stdev(expr): sample standard deviation (n-1); 0 with fewer than two values."),
    AGG("stdevif", 2, 2, ty_stdevif, st_mom, mom_init, momif_add, mom_merge, stdev_finish,
        "stdevif(expr, predicate): stdev over the rows where predicate is true."),
    AGG("stdevp", 1, 1, ty_stdevp, st_mom, mom_init, mom_add, mom_merge, stdevp_finish,
        "stdevp(expr): population standard deviation (n)."),
    AGG("variance", 1, 1, ty_variance, st_mom, mom_init, mom_add, mom_merge, variance_finish,
        "variance(expr): sample variance (n-1); 0 with fewer than two values."),
    AGG("varianceif", 2, 2, ty_varianceif, st_mom, mom_init, momif_add, mom_merge, variance_finish,
        "varianceif(expr, predicate): variance over the rows where predicate is true."),
    AGG("variancep", 1, 1, ty_variancep, st_mom, mom_init, mom_add, mom_merge, variancep_finish,
        "variancep(expr): population variance (n)."),
    AGG("percentiles_array", 2, 65, ty_pct_array, st_pct, kql_agg_pct_init, kql_agg_pct_add, kql_agg_pct_merge, kql_agg_pct_array_finish,
        "percentiles_array(expr, p1, p2, ...) or (expr, dynamic([p1, ...])): the percentiles as one "
        "dynamic array."),
    AGG("make_list_with_nulls", 1, 2, ty_make_list_nulls, st_list, list_init, make_list_nulls_add, make_list_merge,
        list_finish, "make_list_with_nulls(expr[, maxSize]): make_list that keeps nulls as JSON nulls."),
    AGG("count_distinct", 1, 1, ty_count_distinct, st_dc, kql_agg_dc_init, kql_agg_count_distinct_add, kql_agg_dcount_merge, kql_agg_dcount_finish,
        "count_distinct(expr): the number of distinct non-null values; exact up to 2^20 values per "
        "group (64-bit hashes), then estimated (~0.2%)."),
    AGG("count_distinctif", 2, 2, ty_count_distinctif, st_dc, kql_agg_dc_init, kql_agg_count_distinctif_add, kql_agg_dcount_merge,
        kql_agg_dcount_finish, "count_distinctif(expr, predicate): count_distinct over the rows where predicate is true."),
    AGG("binary_all_and", 1, 1, ty_band, st_bits, bits_init, band_add, band_merge, bits_finish,
        "binary_all_and(expr): bitwise AND of the non-null values; null with none."),
    AGG("binary_all_or", 1, 1, ty_bor, st_bits, bits_init, bor_add, bor_merge, bits_finish,
        "binary_all_or(expr): bitwise OR of the non-null values; null with none."),
    AGG("binary_all_xor", 1, 1, ty_bxor, st_bits, bits_init, bxor_add, bxor_merge, bits_finish,
        "binary_all_xor(expr): bitwise XOR of the non-null values; null with none."),
    AGG("hll", 1, 2, ty_hll, st_dc, kql_agg_dc_init, kql_agg_hll_add, kql_agg_dcount_merge, kql_agg_hll_finish,
        "hll(expr[, accuracy]): dcount's intermediate sketch, for hll_merge() and dcount_hll()."),
    AGG("hll_if", 2, 3, ty_hll_if, st_dc, kql_agg_dc_init, kql_agg_hll_if_add, kql_agg_dcount_merge, kql_agg_hll_finish,
        "hll_if(expr, predicate[, accuracy]): hll over the rows where predicate is true."),
    AGG("hll_merge", 1, 1, ty_hll_merge, st_dc, kql_agg_dc_init, kql_agg_hll_merge_add, kql_agg_dcount_merge, kql_agg_hll_finish,
        "hll_merge(sketch): merges the hll() sketches of the group into one (values that are not "
        "sketches are skipped)."),
};

#define N_AGG (sizeof agg_defs / sizeof agg_defs[0])

const kql_agg_def *kql_agg_find(vg_str name)
{
    for (size_t i = 0; i < N_AGG; i++)
        if (vg_str_eqc(name, agg_defs[i].name))
            return &agg_defs[i];
    return NULL;
}

static const kql_agg_def *agg_ptrs[N_AGG];
static pthread_once_t agg_once = PTHREAD_ONCE_INIT;
static void agg_fill(void)
{
    for (size_t i = 0; i < N_AGG; i++)
        agg_ptrs[i] = &agg_defs[i];
}

const kql_agg_def *const *kql_agg_all(size_t *n)
{
    pthread_once(&agg_once, agg_fill);
    if (n) *n = N_AGG;
    return agg_ptrs;
}
