/*
 * kql_agg_sketch.c - the aggregations of summarize that keep a sketch:
 * dcount/dcountif, count_distinct/count_distinctif, hll/hll_if/hll_merge
 * (dcount's sketch as a dynamic value, also read by the scalar functions
 * dcount_hll and hll_merge through kql_hll_dcount/kql_hll_merge), and
 * percentile/percentiles/percentiles_array. Their rows, typers and docs are
 * in kql_agg.c's table; the shared declarations in kql_agg_int.h.
 *
 * dcount is exact (a set of 64-bit hashes) up to 1,000 distinct values
 * (8,000 at accuracy >= 2), then a HyperLogLog of 2^12..2^18 one-byte
 * registers per Kusto's accuracy table, estimated with Ertl's improved
 * estimator (no empirical bias tables). count_distinct is exact up to 2^20
 * values, then the 2^18-register HyperLogLog.
 * percentile(s) are exact nearest-rank up to KQL_AGG_PCT_K values per group;
 * past that, values go through a hierarchy of compactors (each level holds
 * up to K values of weight 2^level, and a full level is sorted and every
 * other value promoted), which bounds memory by KQL_AGG_PCT_LEVELS * K
 * values and keeps the rank error near 1/K; answers are still input values.
 *
 * As every aggregation state, a sketch lives in the arena passed to
 * add/merge; when the arena runs out it stops taking values and finish()
 * answers from what it has.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_agg_int.h"

#define KQL_AGG_PCT_K 32768u
#define KQL_AGG_PCT_MAXP 256        /* percentiles asked in one call */
#define KQL_AGG_DISTINCT_EXACT (1u << 20)
#define KQL_AGG_DCOUNT_EXACT_LO 1000u
#define KQL_AGG_DCOUNT_EXACT_HI 8000u

/* ------------------------------------------------------------------ */
/* dcount, dcountif                                                    */

void kql_agg_dc_init(void *s) { memset(s, 0, sizeof(st_dc)); }

/* splitmix64's finalizer: spreads whatever kql_val_hash gives over 64 bits. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Kusto's accuracy levels 0..4: 2^12, 2^14, 2^16, 2^17, 2^18 registers. */
static void dc_setup(st_dc *S, const kql_val *args, uint32_t n, uint32_t i)
{
    static const uint8_t prec[5] = { 12, 14, 16, 17, 18 };
    if (S->p)
        return;
    double acc = 1;
    if (!arg_num(args, n, i, &acc)) acc = 1;
    int k = acc < 0 ? 0 : acc > 4 ? 4 : (int)acc;
    S->p = prec[k];
    S->limit = k >= 2 ? KQL_AGG_DCOUNT_EXACT_HI : KQL_AGG_DCOUNT_EXACT_LO;
}

static void reg_put(uint8_t *reg, uint8_t p, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> (64 - p));
    uint64_t w = h << p;
    uint8_t r = w ? (uint8_t)(__builtin_clzll(w) + 1) : (uint8_t)(64 - p + 1);
    if (r > reg[idx]) reg[idx] = r;
}

static bool dc_dense(vg_arena *a, st_dc *S)
{
    if (S->reg)
        return true;
    S->reg = vg_arena_zalloc(a, (size_t)1 << S->p);
    if (!S->reg)
        return false;
    for (uint32_t i = 0; i < S->spcap; i++)
        if (S->sp[i]) reg_put(S->reg, S->p, S->sp[i]);
    S->sp = NULL;
    S->nsp = S->spcap = 0;
    return true;
}

static void dc_hash(vg_arena *a, st_dc *S, uint64_t h)
{
    if (h == 0) h = 1;   /* 0 marks an empty slot */
    if (S->reg) { reg_put(S->reg, S->p, h); return; }
    if (S->spcap) {
        uint32_t j = (uint32_t)h & (S->spcap - 1);
        for (uint32_t k = 0; S->sp[j] && k < S->spcap; k++, j = (j + 1) & (S->spcap - 1))
            if (S->sp[j] == h) return;
    }
    if (S->nsp + 1 > S->limit) {
        if (dc_dense(a, S)) reg_put(S->reg, S->p, h);
        return;
    }
    if ((S->nsp + 1) * 2 > S->spcap) {
        uint32_t nc = S->spcap ? S->spcap * 2 : 64;
        uint64_t *t = vg_arena_zalloc(a, (size_t)nc * sizeof *t);
        if (!t) return;
        for (uint32_t i = 0; i < S->spcap; i++) {
            if (!S->sp[i]) continue;
            uint32_t j = (uint32_t)S->sp[i] & (nc - 1);
            while (t[j]) j = (j + 1) & (nc - 1);
            t[j] = S->sp[i];
        }
        S->sp = t;
        S->spcap = nc;
    }
    uint32_t j = (uint32_t)h & (S->spcap - 1);
    while (S->sp[j]) j = (j + 1) & (S->spcap - 1);
    S->sp[j] = h;
    S->nsp++;
}

static void dc_one(vg_arena *a, st_dc *S, kql_val v)
{
    if (v.null)
        return;
    dc_hash(a, S, mix64(kql_val_hash(v)));
}
void kql_agg_dcount_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    dc_setup(s, args, n, 1);
    if (n) dc_one(a, s, args[0]);
}
void kql_agg_dcountif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    dc_setup(s, args, n, 2);
    if (arg_true(args, n, 1)) dc_one(a, s, args[0]);
}

/* Registers of precision P folded into a table of precision p <= P. */
static void reg_fold(uint8_t *dst, uint8_t p, const uint8_t *src, uint8_t P)
{
    uint32_t d = (uint32_t)(P - p);
    for (uint32_t idx = 0; idx < (1u << P); idx++) {
        uint32_t r = src[idx];
        if (!r) continue;
        uint32_t low = idx & ((1u << d) - 1);
        uint32_t nr = low ? d - (32 - (uint32_t)__builtin_clz(low)) + 1 : d + r;
        if (nr > 64u - p + 1) nr = 64u - p + 1;
        uint32_t j = idx >> d;
        if (nr > dst[j]) dst[j] = (uint8_t)nr;
    }
}

void kql_agg_dcount_merge(vg_arena *a, void *d, const void *s)
{
    st_dc *D = d;
    const st_dc *S = s;
    if (!S->p)
        return;
    if (!D->p) { D->p = S->p; D->limit = S->limit; }
    if (!S->reg) {
        for (uint32_t i = 0; i < S->spcap; i++)
            if (S->sp[i]) dc_hash(a, D, S->sp[i]);
        return;
    }
    if (!dc_dense(a, D))
        return;
    if (D->p > S->p) {
        uint8_t *r = vg_arena_zalloc(a, (size_t)1 << S->p);
        if (!r) return;
        reg_fold(r, S->p, D->reg, D->p);
        D->reg = r;
        D->p = S->p;
    }
    reg_fold(D->reg, D->p, S->reg, S->p);
}

/* Ertl, "New cardinality estimation algorithms for HyperLogLog sketches"
 * (2017): the improved raw estimator, unbiased over the whole range. */
static double ertl_sigma(double x)
{
    if (x >= 1.0) return INFINITY;
    double y = 1, z = x;
    for (int i = 0; i < 200; i++) {
        x *= x;
        double zp = z;
        z += x * y;
        y += y;
        if (z == zp) break;
    }
    return z;
}
static double ertl_tau(double x)
{
    if (x <= 0.0 || x >= 1.0) return 0.0;
    double y = 1, z = 1 - x;
    for (int i = 0; i < 200; i++) {
        x = sqrt(x);
        double zp = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
        if (z == zp) break;
    }
    return z / 3;
}
static double hll_estimate(const uint8_t *reg, uint8_t p)
{
    uint32_t q = 64u - p, m = 1u << p;
    uint32_t c[66] = { 0 };
    for (uint32_t i = 0; i < m; i++)
        c[reg[i] <= q + 1 ? reg[i] : q + 1]++;
    double dm = (double)m;
    double z = dm * ertl_tau((dm - c[q + 1]) / dm);
    for (uint32_t k = q; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += dm * ertl_sigma(c[0] / dm);
    if (!isfinite(z) || z <= 0)
        return 0;
    return dm * dm / (2.0 * log(2.0)) / z;
}

void kql_agg_dcount_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_dc *S = s;
    if (!nout) return;
    out[0] = kql_long(S->reg ? (int64_t)llround(hll_estimate(S->reg, S->p)) : (int64_t)S->nsp);
}

/* count_distinct: exact (a set of 64-bit hashes) up to 2^20 distinct
 * values per group, then the 2^18-register HyperLogLog (~0.2%). */
static void cd_setup(st_dc *S)
{
    if (S->p) return;
    S->p = 18;
    S->limit = KQL_AGG_DISTINCT_EXACT;
}
void kql_agg_count_distinct_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    cd_setup(s);
    if (n) dc_one(a, s, args[0]);
}
void kql_agg_count_distinctif_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    cd_setup(s);
    if (arg_true(args, n, 1)) dc_one(a, s, args[0]);
}

/* ------------------------------------------------------------------ */
/* percentile, percentiles                                             */

void kql_agg_pct_init(void *s) { memset(s, 0, sizeof(st_pct)); }

/* Values are kept as order-preserving unsigned keys. */
static uint64_t enc_i64(int64_t i) { return (uint64_t)i ^ (1ULL << 63); }
static int64_t dec_i64(uint64_t u) { return (int64_t)(u ^ (1ULL << 63)); }
static uint64_t enc_f64(double d)
{
    uint64_t b;
    if (d == 0) d = 0;   /* -0 and 0 are one value */
    memcpy(&b, &d, sizeof b);
    return (b >> 63) ? ~b : b | (1ULL << 63);
}
static double dec_f64(uint64_t u)
{
    uint64_t b = (u >> 63) ? u & ~(1ULL << 63) : ~u;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void pct_push(vg_arena *a, st_pct *S, unsigned L, uint64_t x);

static void pct_compact(vg_arena *a, st_pct *S, unsigned L)
{
    uint32_t cnt = S->n[L];
    qsort(S->lv[L], cnt, sizeof(uint64_t), cmp_u64);
    uint32_t off = (uint32_t)((S->toggle >> L) & 1);
    S->toggle ^= 1ULL << L;
    S->n[L] = 0;
    for (uint32_t i = off; i < cnt; i += 2)
        pct_push(a, S, L + 1, S->lv[L][i]);
}

static void pct_push(vg_arena *a, st_pct *S, unsigned L, uint64_t x)
{
    if (L >= KQL_AGG_PCT_LEVELS)
        return;   /* 2^40 * K values: not reachable */
    if (!grow(a, (void **)&S->lv[L], &S->cap[L], S->n[L] + 1, sizeof(uint64_t), KQL_AGG_PCT_K))
        return;
    S->lv[L][S->n[L]++] = x;
    if (S->n[L] >= KQL_AGG_PCT_K)
        pct_compact(a, S, L);
}

static void pct_read_ps(vg_arena *a, st_pct *S, const kql_val *args, uint32_t n)
{
    if (S->ps_read)
        return;
    S->ps_read = true;
    if (n < 2) return;
    const vg_json *arr = NULL;
    if (n == 2 && args[1].t == VG_T_DYNAMIC && !args[1].null && args[1].u.d->kind == VG_JSON_ARRAY)
        arr = args[1].u.d;   /* percentiles_array(x, dynamic([50, 90])) */
    uint32_t np = arr ? arr->n : n - 1;
    if (np == 0 || np > KQL_AGG_PCT_MAXP) return;
    S->ps = vg_arena_alloc(a, (size_t)np * sizeof *S->ps);
    if (!S->ps) return;
    S->nps = np;
    for (uint32_t i = 0; i < np; i++) {
        kql_val e = arr ? kql_dyn_scalar(arr->kids[i]) : args[i + 1];
        if (!arg_num(&e, 1, 0, &S->ps[i])) S->ps[i] = NAN;
    }
}

void kql_agg_pct_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    st_pct *S = s;
    if (n == 0) return;
    pct_read_ps(a, S, args, n);
    kql_val v = undyn(args[0]);
    if (v.null) return;
    if (v.t != VG_T_INT && v.t != VG_T_LONG && v.t != VG_T_REAL && v.t != VG_T_DATETIME && v.t != VG_T_TIMESPAN)
        return;
    if (!S->typed) { S->t = v.t; S->typed = true; }
    uint64_t x;
    if (S->t == VG_T_REAL) {
        double d = v.t == VG_T_REAL ? v.u.r : (double)v.u.i;
        if (isnan(d)) return;
        x = enc_f64(d);
    } else {
        if (v.t == VG_T_REAL && (isnan(v.u.r) || fabs(v.u.r) >= 9.2e18)) return;
        x = enc_i64(v.t == VG_T_REAL ? (int64_t)v.u.r : v.u.i);
    }
    pct_push(a, S, 0, x);
}

void kql_agg_pct_merge(vg_arena *a, void *d, const void *s)
{
    st_pct *D = d;
    const st_pct *S = s;
    if (!D->ps_read && S->ps_read) {
        D->ps_read = true;
        if (S->nps && (D->ps = vg_arena_alloc(a, (size_t)S->nps * sizeof *D->ps))) {
            memcpy(D->ps, S->ps, (size_t)S->nps * sizeof *D->ps);
            D->nps = S->nps;
        }
    }
    if (!S->typed) return;
    if (!D->typed) { D->t = S->t; D->typed = true; }
    bool conv = (D->t == VG_T_REAL) != (S->t == VG_T_REAL);
    for (unsigned L = 0; L < KQL_AGG_PCT_LEVELS; L++)
        for (uint32_t i = 0; i < S->n[L]; i++) {
            uint64_t x = S->lv[L][i];
            if (conv)
                x = D->t == VG_T_REAL ? enc_f64((double)dec_i64(x)) : enc_i64((int64_t)dec_f64(x));
            pct_push(a, D, L, x);
        }
}

typedef struct { uint64_t v, w; } wval;
static int cmp_wval(const void *x, const void *y)
{
    uint64_t a = ((const wval *)x)->v, b = ((const wval *)y)->v;
    return a < b ? -1 : a > b;
}

static kql_val pct_value(const st_pct *S, uint64_t x)
{
    switch (S->t) {
    case VG_T_REAL: return kql_real(dec_f64(x));
    case VG_T_INT: return kql_int(dec_i64(x));
    case VG_T_DATETIME: return kql_datetime(dec_i64(x));
    case VG_T_TIMESPAN: return kql_timespan(dec_i64(x));
    default: return kql_long(dec_i64(x));
    }
}

/* Nearest rank: the smallest value v such that p% of the values are <= v,
 * i.e. the value of rank ceil(p/100 * N) (rank 1 for p = 0). */
void kql_agg_pct_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_pct *S = s;
    kql_val none = S->typed ? kql_null(S->t) : kql_null(VG_T_REAL);
    size_t total = 0;
    for (unsigned L = 0; L < KQL_AGG_PCT_LEVELS; L++) total += S->n[L];
    wval *w = total ? vg_arena_alloc(a, total * sizeof *w) : NULL;
    uint64_t W = 0;
    size_t k = 0;
    if (w) {
        for (unsigned L = 0; L < KQL_AGG_PCT_LEVELS; L++)
            for (uint32_t i = 0; i < S->n[L]; i++) {
                w[k].v = S->lv[L][i];
                w[k].w = 1ULL << L;
                W += w[k++].w;
            }
        qsort(w, k, sizeof *w, cmp_wval);
    }
    for (uint32_t o = 0; o < nout; o++) {
        double p = o < S->nps ? S->ps[o] : NAN;
        if (!w || k == 0 || isnan(p) || p < 0 || p > 100) { out[o] = none; continue; }
        long double r = ceill((long double)p * (long double)W / 100.0L);
        uint64_t rank = r < 1 ? 1 : r > (long double)W ? W : (uint64_t)r;
        uint64_t cum = 0;
        size_t i = 0;
        for (; i + 1 < k; i++) {
            cum += w[i].w;
            if (cum >= rank) break;
        }
        out[o] = pct_value(S, w[i].v);
    }
}

/* percentiles_array: the same answers as one dynamic array. */
void kql_agg_pct_array_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    st_pct *S = s;
    if (!nout) return;
    uint32_t np = S->nps;
    kql_val *vals = np ? vg_arena_alloc(a, (size_t)np * sizeof *vals) : NULL;
    vg_json *arr = kql_dyn_array(a, np);
    if (!arr || (np && !vals)) { out[0] = kql_null(VG_T_DYNAMIC); return; }
    if (np) kql_agg_pct_finish(a, s, vals, np);
    for (uint32_t i = 0; i < np; i++)
        kql_dyn_push(arr, kql_dyn_from(a, vals[i]));
    out[0] = kql_dynamic(arr);
}

/* ------------------------------------------------------------------ */
/* hll, hll_if, hll_merge: dcount's sketch as a dynamic value          */

/* Vigil's sketch format (Kusto's is opaque too; only hll_merge and
 * dcount_hll read it): ["vigil.hll.1", p, limit, "s"|"d", hex], where hex
 * is the exact phase's 64-bit hashes (16 digits each) or the 2^p
 * registers (2 digits each). */
#define HLL_TAG "vigil.hll.1"

static const char hexd[] = "0123456789abcdef";

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static const vg_json *hll_to_dyn(vg_arena *a, const st_dc *S)
{
    vg_json *arr = kql_dyn_array(a, 5);
    if (!arr)
        return NULL;
    size_t n = S->reg ? (size_t)2 << S->p : (size_t)S->nsp * 16;
    char *hex = vg_arena_alloc(a, n + 1);
    if (!hex)
        return NULL;
    size_t k = 0;
    if (S->reg) {
        for (uint32_t i = 0; i < (1u << S->p); i++) {
            hex[k++] = hexd[S->reg[i] >> 4];
            hex[k++] = hexd[S->reg[i] & 15];
        }
    } else {
        for (uint32_t i = 0; i < S->spcap; i++) {
            if (!S->sp[i]) continue;
            for (int b = 60; b >= 0; b -= 4)
                hex[k++] = hexd[(S->sp[i] >> b) & 15];
        }
    }
    hex[k] = '\0';
    kql_dyn_push(arr, kql_dyn_from(a, kql_string(VG_STR_LIT(HLL_TAG))));
    kql_dyn_push(arr, kql_dyn_from(a, kql_long(S->p ? S->p : 14)));
    kql_dyn_push(arr, kql_dyn_from(a, kql_long(S->p ? S->limit : KQL_AGG_DCOUNT_EXACT_LO)));
    kql_dyn_push(arr, kql_dyn_from(a, kql_string(S->reg ? VG_STR_LIT("d") : VG_STR_LIT("s"))));
    kql_dyn_push(arr, kql_dyn_from(a, kql_string((vg_str){ hex, k })));
    return arr;
}

/* Reads a sketch into T (allocated in a); false when d is not one. */
static bool hll_from_dyn(vg_arena *a, const vg_json *d, st_dc *T)
{
    memset(T, 0, sizeof *T);
    if (!d || d->kind != VG_JSON_ARRAY || d->n != 5 || !vg_str_eqc(vg_json_text(d->kids[0]), HLL_TAG))
        return false;
    int64_t p, lim;
    if (vg_str_to_i64(vg_json_text(d->kids[1]), &p) || vg_str_to_i64(vg_json_text(d->kids[2]), &lim))
        return false;
    if (p < 4 || p > 18 || lim < 1 || lim > (int64_t)KQL_AGG_DISTINCT_EXACT)
        return false;
    vg_str mode = vg_json_text(d->kids[3]), hex = vg_json_text(d->kids[4]);
    T->p = (uint8_t)p;
    T->limit = (uint32_t)lim;
    if (vg_str_eqc(mode, "d")) {
        if (hex.n != (size_t)2 << p)
            return false;
        T->reg = vg_arena_zalloc(a, (size_t)1 << p);
        if (!T->reg)
            return false;
        for (uint32_t i = 0; i < (1u << p); i++) {
            int hi = hexv(hex.p[2 * i]), lo = hexv(hex.p[2 * i + 1]);
            if (hi < 0 || lo < 0 || hi * 16 + lo > 64 - p + 1)
                return false;
            T->reg[i] = (uint8_t)(hi * 16 + lo);
        }
        return true;
    }
    if (!vg_str_eqc(mode, "s") || hex.n % 16 || hex.n / 16 > (size_t)lim)
        return false;
    for (size_t i = 0; i < hex.n; i += 16) {
        uint64_t h = 0;
        for (size_t j = 0; j < 16; j++) {
            int v = hexv(hex.p[i + j]);
            if (v < 0)
                return false;
            h = h << 4 | (uint64_t)v;
        }
        dc_hash(a, T, h);
    }
    return true;
}

void kql_agg_hll_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    dc_setup(s, args, n, 1);
    if (n) dc_one(a, s, args[0]);
}
void kql_agg_hll_if_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    dc_setup(s, args, n, 2);
    if (arg_true(args, n, 1)) dc_one(a, s, args[0]);
}
void kql_agg_hll_merge_add(vg_arena *a, void *s, const kql_val *args, uint32_t n)
{
    st_dc T;
    if (n && args[0].t == VG_T_DYNAMIC && !args[0].null && hll_from_dyn(a, args[0].u.d, &T))
        kql_agg_dcount_merge(a, s, &T);
}
void kql_agg_hll_finish(vg_arena *a, void *s, kql_val *out, uint32_t nout)
{
    if (nout) out[0] = kql_dynamic(hll_to_dyn(a, s));
}

int64_t kql_hll_dcount(vg_arena *a, const vg_json *sketch)
{
    st_dc T;
    if (!hll_from_dyn(a, sketch, &T))
        return -1;
    kql_val v;
    kql_agg_dcount_finish(a, &T, &v, 1);
    return v.u.i;
}

const vg_json *kql_hll_merge(vg_arena *a, const vg_json *const *sketches, uint32_t n)
{
    st_dc D, T;
    memset(&D, 0, sizeof D);
    for (uint32_t i = 0; i < n; i++) {
        if (!hll_from_dyn(a, sketches[i], &T))
            return NULL;
        kql_agg_dcount_merge(a, &D, &T);
    }
    return hll_to_dyn(a, &D);
}
