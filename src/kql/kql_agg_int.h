/*
 * kql_agg_int.h - private to kql_agg.c and kql_agg_sketch.c: what the
 * aggregation table (kql_agg.c) needs from the sketch-based aggregations
 * (kql_agg_sketch.c: dcount/count_distinct/hll and percentiles) and the
 * argument helpers both use.
 *
 * The sketch states are declared here only because the table records their
 * sizes; their fields belong to kql_agg_sketch.c. The functions follow the
 * kql_agg_def contract (kql_val.h): variable-size data goes in the arena
 * passed to add/merge, and add() stops growing when the arena runs out.
 */
#ifndef KQL_AGG_INT_H
#define KQL_AGG_INT_H

#include <math.h>
#include <string.h>

#include "kql/kql_val.h"

#define KQL_AGG_PCT_LEVELS 40

/* A dynamic scalar read as its natural type (numbers, strings, bools);
 * arrays, bags and other types pass through. */
static inline kql_val undyn(kql_val v)
{
    if (v.t != VG_T_DYNAMIC)
        return v;
    if (v.null || !v.u.d)
        return kql_dynamic(NULL);
    if (v.u.d->kind == VG_JSON_OBJECT || v.u.d->kind == VG_JSON_ARRAY)
        return v;
    return kql_dyn_scalar(v.u.d);
}

/* Argument i is a true bool (null and missing are false, as in Kusto). */
static inline bool arg_true(const kql_val *args, uint32_t nargs, uint32_t i)
{
    if (i >= nargs)
        return false;
    kql_val v = undyn(args[i]);
    return v.t == VG_T_BOOL && !v.null && v.u.i != 0;
}

/* Argument i as a number; false when absent, null or not numeric. */
static inline bool arg_num(const kql_val *args, uint32_t nargs, uint32_t i, double *out)
{
    if (i >= nargs)
        return false;
    kql_val v = undyn(args[i]);
    if (v.null)
        return false;
    switch (v.t) {
    case VG_T_INT: case VG_T_LONG: *out = (double)v.u.i; return true;
    case VG_T_REAL: if (isnan(v.u.r)) return false; *out = v.u.r; return true;
    default: return false;
    }
}

/* ---- growable arrays in an arena (old blocks are abandoned: the waste is
 * at most the final size) ---- */
static inline bool grow(vg_arena *a, void **p, uint32_t *cap, uint32_t need, size_t elsz, uint32_t limit)
{
    if (need <= *cap)
        return true;
    if (need > limit)
        return false;
    uint64_t c = *cap ? (uint64_t)*cap * 2 : 16;
    if (c < need) c = need;
    if (c > limit) c = limit;
    void *n = vg_arena_alloc(a, (size_t)c * elsz);
    if (!n)
        return false;
    if (*p && *cap)
        memcpy(n, *p, (size_t)*cap * elsz);
    *p = n;
    *cap = (uint32_t)c;
    return true;
}

/* ---- dcount, dcountif, count_distinct, hll (kql_agg_sketch.c) ---- */

typedef struct {
    uint64_t *sp;      /* exact phase: open-addressing set of hashes (0 = empty) */
    uint32_t nsp, spcap, limit;
    uint8_t *reg;      /* HyperLogLog phase: 2^p registers */
    uint8_t p;         /* 0 = no row yet (accuracy not read) */
} st_dc;

void kql_agg_dc_init(void *s);
void kql_agg_dcount_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_dcountif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_count_distinct_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_count_distinctif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_hll_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_hll_if_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_hll_merge_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_dcount_merge(vg_arena *a, void *d, const void *s);
void kql_agg_dcount_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout);
void kql_agg_hll_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout);

/* ---- percentile, percentiles, percentiles_array (kql_agg_sketch.c) ---- */

typedef struct {
    uint64_t *lv[KQL_AGG_PCT_LEVELS];   /* level L: values of weight 2^L */
    uint32_t n[KQL_AGG_PCT_LEVELS], cap[KQL_AGG_PCT_LEVELS];
    uint64_t toggle;                    /* bit L: which half level L promotes next */
    double *ps;                         /* the percentiles asked */
    uint32_t nps;
    vg_type t;
    bool typed, ps_read;
} st_pct;

void kql_agg_pct_init(void *s);
void kql_agg_pct_add(vg_arena *a, void *s, const kql_val *args, uint32_t n);
void kql_agg_pct_merge(vg_arena *a, void *d, const void *s);
void kql_agg_pct_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout);
void kql_agg_pct_array_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout);

#endif
