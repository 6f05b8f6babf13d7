/*
 * kql_fn_misc.c - Kusto's logic, math, dynamic/array/set/bag, IPv4/IPv6,
 * URL/path, geo and hash functions: table kql_fn_misc_defs, joined into the
 * registry by kql_fn.c.
 *
 * Null rules follow Kusto: math on a null is null; iff() takes a null
 * condition as false; coalesce() skips nulls and empty strings; array and
 * set functions return null when an argument is not an array. Dynamic
 * results are built in ctx->arena with the kql_dyn_* helpers; a datetime
 * outside 0001..9999 reaching a dynamic or a text is taken as null.
 *
 * Typing of iff/case/coalesce/min_of/max_of: the common type of the
 * branches (INT+LONG -> LONG, any number + REAL -> REAL, anything + DYNAMIC
 * -> DYNAMIC, same type -> that type); other mixes are an error at bind time.
 * At run time the chosen branch is promoted the same way, so the value's
 * type matches what the typer announced. Most other rows check their
 * argument types at bind time through a signature string (check_sig).
 *
 * Limits: arrays built here hold at most KQL_FN_MAX_ELEMS elements (range()
 * truncates at 2^20 as Kusto), parse_url keeps KQL_URL_MAX_PARAMS query
 * parameters, has_any_ipv4 looks for at most 64 addresses.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <xxhash.h>
#include <maxminddb.h>

#include "kql/kql_val.h"

/* Largest array a set/array function builds (matches the DOM node bound). */
#define KQL_FN_MAX_ELEMS VG_JSON_MAX_NODES
/* Query parameters kept by parse_url (later ones are dropped). */
#define KQL_URL_MAX_PARAMS 256

/* ---- argument helpers ---- */

static bool get_i64(kql_val v, int64_t *o)
{
    if (v.null)
        return false;
    switch (v.t) {
    case VG_T_INT: case VG_T_LONG: case VG_T_BOOL:
        *o = v.u.i;
        return true;
    case VG_T_REAL:
        if (!isfinite(v.u.r) || v.u.r >= 9.2e18 || v.u.r <= -9.2e18)
            return false;
        *o = (int64_t)v.u.r;
        return true;
    case VG_T_DYNAMIC: {
        kql_val s = kql_dyn_scalar(v.u.d);
        return s.t != VG_T_DYNAMIC && s.t != VG_T_STRING && get_i64(s, o);
    }
    default:
        return false;
    }
}

static bool get_real(kql_val v, double *o)
{
    if (v.null)
        return false;
    switch (v.t) {
    case VG_T_INT: case VG_T_LONG:
        *o = (double)v.u.i;
        return true;
    case VG_T_REAL:
        *o = v.u.r;
        return true;
    case VG_T_DYNAMIC: {
        kql_val s = kql_dyn_scalar(v.u.d);
        return (s.t == VG_T_LONG || s.t == VG_T_REAL) && get_real(s, o);
    }
    default:
        return false;
    }
}

static bool get_str(kql_val v, vg_str *o)
{
    if (v.t == VG_T_STRING) {
        *o = v.u.s;
        return true;
    }
    if (v.t == VG_T_DYNAMIC && !v.null && v.u.d->kind == VG_JSON_STRING) {
        *o = v.u.d->str;
        return true;
    }
    return false;
}

/* The dynamic array in v, or NULL. */
static const vg_json *get_array(kql_val v)
{
    return v.t == VG_T_DYNAMIC && !v.null && v.u.d->kind == VG_JSON_ARRAY ? v.u.d : NULL;
}

static const vg_json *get_bag(kql_val v)
{
    return v.t == VG_T_DYNAMIC && !v.null && v.u.d->kind == VG_JSON_OBJECT ? v.u.d : NULL;
}

/* kql_dyn_from, with a datetime outside 0001..9999 taken as null. */
static const vg_json *dyn_from(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_DATETIME && !v.null && (v.u.i < VG_TIME_MIN || v.u.i > VG_TIME_MAX))
        v = kql_null(VG_T_DATETIME);
    return kql_dyn_from(a, v);
}

static vg_str to_text(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_DATETIME && !v.null && (v.u.i < VG_TIME_MIN || v.u.i > VG_TIME_MAX))
        v = kql_null(VG_T_DATETIME);
    return kql_to_string(a, v);
}

static kql_val dyn_result(const vg_json *d) { return d ? kql_dynamic(d) : kql_null(VG_T_DYNAMIC); }

static const vg_json *dyn_str(kql_ctx *ctx, vg_str s) { return dyn_from(ctx->arena, kql_string(s)); }

/* ---- common type of branches ---- */

static vg_type common2(vg_type a, vg_type b)
{
    if (a == KQL_T_ANY)
        return b;
    if (b == KQL_T_ANY || a == b)
        return a;
    if (a == VG_T_DYNAMIC || b == VG_T_DYNAMIC)
        return VG_T_DYNAMIC;
    if (kql_type_numeric(a) && kql_type_numeric(b))
        return a == VG_T_REAL || b == VG_T_REAL ? VG_T_REAL : VG_T_LONG;
    return VG_T_COUNT_;
}

/* Common type of types[idx[0..n)]; error message in d naming fname. */
static vg_type common_of(const char *fname, const vg_type *t, const uint32_t *idx, uint32_t n, vg_diag *d)
{
    vg_type c = KQL_T_ANY;
    for (uint32_t i = 0; i < n; i++) {
        vg_type x = t[idx[i]];
        vg_type r = common2(c, x);
        if (r == VG_T_COUNT_) {
            vg_diag_set(d, VG_ETYPE, "%s(): the branches have different types (%s and %s)", fname,
                        vg_type_name(c), vg_type_name(x));
            return VG_T_COUNT_;
        }
        c = r;
    }
    /* all unknown: the result is dynamic */
    return c == KQL_T_ANY ? VG_T_DYNAMIC : c;
}

static kql_val promote(kql_ctx *ctx, kql_val v, vg_type t)
{
    if (v.t == t || t == VG_T_COUNT_)
        return v;
    if (t == VG_T_DYNAMIC) {
        if (v.null)
            return kql_null(VG_T_DYNAMIC);
        return kql_dynamic(dyn_from(ctx->arena, v));
    }
    if (v.null)
        return kql_null(t);
    if (t == VG_T_REAL && (v.t == VG_T_INT || v.t == VG_T_LONG))
        return kql_real((double)v.u.i);
    if (t == VG_T_LONG && v.t == VG_T_INT)
        return kql_long(v.u.i);
    return v;
}

/* runtime common type of a[idx...] */
static vg_type runtime_common(const kql_val *a, const uint32_t *idx, uint32_t n)
{
    vg_type c = KQL_T_ANY;
    for (uint32_t i = 0; i < n; i++) {
        vg_type r = common2(c, a[idx[i]].t);
        if (r == VG_T_COUNT_)
            return VG_T_COUNT_;
        c = r;
    }
    return c;
}

static vg_type iff_type(const vg_type *t, uint32_t n, vg_diag *d)
{
    if (t[0] != KQL_T_ANY && t[0] != VG_T_BOOL && t[0] != VG_T_DYNAMIC) {
        vg_diag_set(d, VG_ETYPE, "iff(): the condition must be a bool, not %s", vg_type_name(t[0]));
        return VG_T_COUNT_;
    }
    static const uint32_t idx[] = { 1, 2 };
    return common_of("iff", t, idx, 2, d);
}

static bool truthy(kql_val c)
{
    if (c.null)
        return false;
    if (c.t == VG_T_BOOL)
        return c.u.i != 0;
    if (c.t == VG_T_DYNAMIC)
        return c.u.d && c.u.d->kind == VG_JSON_TRUE;
    return false;
}

static kql_val fn_iff(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    static const uint32_t idx[] = { 1, 2 };
    vg_type t = runtime_common(a, idx, 2);
    return promote(ctx, truthy(a[0]) ? a[1] : a[2], t);
}

/* case(pred1, val1, ..., predN, valN, else) */
static vg_type case_type(const vg_type *t, uint32_t n, vg_diag *d)
{
    if (n < 3 || n % 2 == 0) {
        vg_diag_set(d, VG_EINVAL, "case(): expects predicate/value pairs and an else value (an odd number of arguments, at least 3)");
        return VG_T_COUNT_;
    }
    uint32_t idx[128] = { 0 };
    uint32_t k = 0;
    for (uint32_t i = 0; i + 1 < n; i += 2) {
        if (t[i] != KQL_T_ANY && t[i] != VG_T_BOOL && t[i] != VG_T_DYNAMIC) {
            vg_diag_set(d, VG_ETYPE, "case(): predicate %u must be a bool, not %s", i / 2 + 1,
                        vg_type_name(t[i]));
            return VG_T_COUNT_;
        }
        if (k < 127)
            idx[k++] = i + 1;
    }
    idx[k++] = n - 1;
    return common_of("case", t, idx, k, d);
}

static kql_val fn_case(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t idx[128] = { 0 };
    uint32_t k = 0;
    for (uint32_t i = 1; i < n && k < 128; i += 2)
        idx[k++] = i;
    if (n % 2 == 1 && k < 128)
        idx[k++] = n - 1;
    vg_type t = runtime_common(a, idx, k);
    for (uint32_t i = 0; i + 1 < n; i += 2)
        if (truthy(a[i]))
            return promote(ctx, a[i + 1], t);
    return promote(ctx, a[n - 1], t);
}

static vg_type all_common(const char *fname, const vg_type *t, uint32_t n, vg_diag *d)
{
    uint32_t idx[64] = { 0 };
    uint32_t k = n < 64 ? n : 64;
    for (uint32_t i = 0; i < k; i++)
        idx[i] = i;
    return common_of(fname, t, idx, k, d);
}

static vg_type coalesce_type(const vg_type *t, uint32_t n, vg_diag *d) { return all_common("coalesce", t, n, d); }

static bool is_empty_val(kql_val v)
{
    if (v.t == VG_T_STRING)
        return v.u.s.n == 0;
    return v.null;
}

static kql_val fn_coalesce(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t idx[64] = { 0 };
    uint32_t k = n < 64 ? n : 64;
    for (uint32_t i = 0; i < k; i++)
        idx[i] = i;
    vg_type t = runtime_common(a, idx, k);
    for (uint32_t i = 0; i < k; i++)
        if (!is_empty_val(a[i]))
            return promote(ctx, a[i], t);
    return promote(ctx, a[k - 1], t);
}

static kql_val fn_not(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].null)
        return kql_null(VG_T_BOOL);
    if (a[0].t == VG_T_DYNAMIC)
        return a[0].u.d->kind == VG_JSON_TRUE ? kql_bool(false)
               : a[0].u.d->kind == VG_JSON_FALSE ? kql_bool(true) : kql_null(VG_T_BOOL);
    int64_t i;
    return get_i64(a[0], &i) ? kql_bool(i == 0) : kql_null(VG_T_BOOL);
}

static kql_val fn_isnull(kql_ctx *ctx, const kql_val *a, uint32_t n) { return kql_bool(a[0].null); }
static kql_val fn_isnotnull(kql_ctx *ctx, const kql_val *a, uint32_t n) { return kql_bool(!a[0].null); }

/* ---- math ---- */

static vg_type same_numeric(const char *fname, vg_type t, vg_diag *d, bool timespan_ok)
{
    if (t == KQL_T_ANY || t == VG_T_DYNAMIC)
        return VG_T_REAL;
    if (kql_type_numeric(t) || (timespan_ok && t == VG_T_TIMESPAN))
        return t;
    vg_diag_set(d, VG_ETYPE, "%s(): expects a number, not %s", fname, vg_type_name(t));
    return VG_T_COUNT_;
}

static vg_type abs_type(const vg_type *t, uint32_t n, vg_diag *d) { return same_numeric("abs", t[0], d, true); }
static vg_type round_type(const vg_type *t, uint32_t n, vg_diag *d) { return same_numeric("round", t[0], d, false); }
static vg_type ceiling_type(const vg_type *t, uint32_t n, vg_diag *d) { return same_numeric("ceiling", t[0], d, false); }
static vg_type sign_type(const vg_type *t, uint32_t n, vg_diag *d) { return same_numeric("sign", t[0], d, false); }

/* An integer result in the argument's integer type. */
static kql_val int_like(kql_val like, int64_t i)
{
    if (like.t == VG_T_INT)
        return kql_int(i);
    if (like.t == VG_T_TIMESPAN)
        return kql_timespan(i);
    return kql_long(i);
}

static bool is_int_type(vg_type t) { return t == VG_T_INT || t == VG_T_LONG || t == VG_T_TIMESPAN; }

static kql_val fn_abs(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (is_int_type(a[0].t)) {
        if (a[0].null || a[0].u.i == INT64_MIN)
            return kql_null(a[0].t);
        return int_like(a[0], a[0].u.i < 0 ? -a[0].u.i : a[0].u.i);
    }
    double x;
    return get_real(a[0], &x) ? kql_real(fabs(x)) : kql_null(VG_T_REAL);
}

static double pow10i(int p)
{
    double r = 1;
    for (int i = 0; i < p; i++)
        r *= 10;
    return r;
}

static kql_val fn_round(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t prec = 0;
    if (n > 1 && !get_i64(a[1], &prec))
        return kql_null(is_int_type(a[0].t) ? a[0].t : VG_T_REAL);
    if (is_int_type(a[0].t)) {
        if (a[0].null)
            return kql_null(a[0].t);
        if (prec >= 0)
            return a[0];
        if (prec < -18)
            return int_like(a[0], 0);
        int64_t m = 1;
        for (int64_t i = 0; i < -prec; i++)
            m *= 10;
        int64_t x = a[0].u.i, q = x / m, r = x % m;
        /* half away from zero */
        if (r >= 0 ? r * 2 >= m : -r * 2 >= m)
            q += x < 0 ? -1 : 1;
        int64_t res;
        if (__builtin_mul_overflow(q, m, &res))
            return kql_null(a[0].t);
        return int_like(a[0], res);
    }
    double x;
    if (!get_real(a[0], &x))
        return kql_null(VG_T_REAL);
    if (prec > 15 || !isfinite(x))
        return kql_real(x);
    if (prec >= 0) {
        double m = pow10i((int)prec);
        return kql_real(round(x * m) / m);
    }
    if (prec < -300)
        return kql_real(0);
    double m = pow10i((int)-prec);
    return kql_real(round(x / m) * m);
}

static kql_val fn_ceiling(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (is_int_type(a[0].t))
        return a[0];
    double x;
    return get_real(a[0], &x) ? kql_real(ceil(x)) : kql_null(VG_T_REAL);
}

static kql_val fn_sign(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (is_int_type(a[0].t)) {
        if (a[0].null)
            return kql_null(a[0].t);
        return int_like(a[0], (a[0].u.i > 0) - (a[0].u.i < 0));
    }
    double x;
    if (!get_real(a[0], &x) || isnan(x))
        return kql_null(VG_T_REAL);
    return kql_real((x > 0) - (x < 0));
}

/* log-like functions: null outside their domain, as Kusto */
static kql_val real1(const kql_val *a, double (*f)(double), bool positive_only, bool nonneg_only)
{
    double x;
    if (!get_real(a[0], &x))
        return kql_null(VG_T_REAL);
    if ((positive_only && !(x > 0)) || (nonneg_only && !(x >= 0)))
        return kql_null(VG_T_REAL);
    return kql_real(f(x));
}

static double exp10_(double x) { return pow(10, x); }

static kql_val fn_log(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, log, true, false); }
static kql_val fn_log10(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, log10, true, false); }
static kql_val fn_log2(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, log2, true, false); }
static kql_val fn_exp(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, exp, false, false); }
static kql_val fn_exp2(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, exp2, false, false); }
static kql_val fn_exp10(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, exp10_, false, false); }
static kql_val fn_sqrt(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, sqrt, false, true); }

static kql_val fn_pi(kql_ctx *ctx, const kql_val *a, uint32_t n) { return kql_real(M_PI); }
static double degrees_(double x) { return x * 180.0 / M_PI; }
static double radians_(double x) { return x * M_PI / 180.0; }
static double cot_(double x) { return 1.0 / tan(x); }
static kql_val fn_sin(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, sin, false, false); }
static kql_val fn_cos(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, cos, false, false); }
static kql_val fn_tan(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, tan, false, false); }
static kql_val fn_cot(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, cot_, false, false); }
static kql_val fn_asin(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, asin, false, false); }
static kql_val fn_acos(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, acos, false, false); }
static kql_val fn_atan(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, atan, false, false); }
static kql_val fn_degrees(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, degrees_, false, false); }
static kql_val fn_radians(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, radians_, false, false); }
static kql_val fn_gamma(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, tgamma, false, false); }
static kql_val fn_loggamma(kql_ctx *ctx, const kql_val *a, uint32_t n) { return real1(a, lgamma, false, false); }

static kql_val fn_atan2(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double y, x;
    if (!get_real(a[0], &y) || !get_real(a[1], &x))
        return kql_null(VG_T_REAL);
    return kql_real(atan2(y, x));
}

static kql_val fn_bitset_count_ones(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t x;
    if (!get_i64(a[0], &x))
        return kql_null(VG_T_LONG);
    return kql_long(__builtin_popcountll((unsigned long long)x));
}

static kql_val fn_pow(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x, y;
    if (!get_real(a[0], &x) || !get_real(a[1], &y))
        return kql_null(VG_T_REAL);
    return kql_real(pow(x, y));
}

static kql_val fn_isnan(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x;
    return get_real(a[0], &x) ? kql_bool(isnan(x)) : kql_null(VG_T_BOOL);
}

static kql_val fn_isinf(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x;
    return get_real(a[0], &x) ? kql_bool(isinf(x)) : kql_null(VG_T_BOOL);
}

static kql_val fn_isfinite(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x;
    return get_real(a[0], &x) ? kql_bool(isfinite(x)) : kql_null(VG_T_BOOL);
}

static vg_type minmax_type(const vg_type *t, uint32_t n, vg_diag *d) { return all_common("min_of/max_of", t, n, d); }

static kql_val min_max(kql_ctx *ctx, const kql_val *a, uint32_t n, int sign)
{
    uint32_t idx[64] = { 0 };
    uint32_t k = n < 64 ? n : 64;
    for (uint32_t i = 0; i < k; i++)
        idx[i] = i;
    vg_type t = runtime_common(a, idx, k);
    kql_val best = kql_null(t == VG_T_COUNT_ ? a[0].t : t);
    bool have = false;
    for (uint32_t i = 0; i < k; i++) {
        if (a[i].null)
            continue;   /* nulls are ignored */
        kql_val v = promote(ctx, a[i], t);
        if (!have || kql_val_cmp(v, best) * sign > 0) {
            best = v;
            have = true;
        }
    }
    return best;
}

static kql_val fn_min_of(kql_ctx *ctx, const kql_val *a, uint32_t n) { return min_max(ctx, a, n, -1); }
static kql_val fn_max_of(kql_ctx *ctx, const kql_val *a, uint32_t n) { return min_max(ctx, a, n, 1); }

#define BIN_OP(name, expr) \
    static kql_val fn_##name(kql_ctx *ctx, const kql_val *a, uint32_t n) \
    { \
        int64_t x, y = 0; \
        if (!get_i64(a[0], &x) || (n > 1 && !get_i64(a[1], &y))) \
            return kql_null(VG_T_LONG); \
        return kql_long(expr); \
    }
BIN_OP(binary_and, x & y)
BIN_OP(binary_or, x | y)
BIN_OP(binary_xor, x ^ y)
BIN_OP(binary_not, ~x)
BIN_OP(binary_shift_left, y < 0 || y > 63 ? 0 : (int64_t)((uint64_t)x << y))
BIN_OP(binary_shift_right, y < 0 || y > 63 ? 0 : (int64_t)((uint64_t)x >> y))

/* ---- dynamic values, arrays, sets, bags ---- */

static kql_val fn_todynamic(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].t == VG_T_STRING)
        return dyn_result(kql_dyn_parse(ctx->arena, a[0].u.s));
    if (a[0].t == VG_T_DYNAMIC)
        return a[0];
    return a[0].null ? kql_null(VG_T_DYNAMIC) : dyn_result(dyn_from(ctx->arena, a[0]));
}

static kql_val fn_gettype(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const char *s;
    if (a[0].t == VG_T_DYNAMIC) {
        const vg_json *d = a[0].u.d;
        if (!d || d->kind == VG_JSON_NULL)
            s = "null";
        else if (d->kind == VG_JSON_ARRAY)
            s = "array";
        else if (d->kind == VG_JSON_OBJECT)
            s = "dictionary";
        else
            s = vg_type_name(kql_dyn_scalar(d).t);
    } else {
        s = vg_type_name(a[0].t);
    }
    return kql_string(vg_str_c(s));
}

static kql_val fn_array_length(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = get_array(a[0]);
    return arr ? kql_long(arr->n) : kql_null(VG_T_LONG);
}

static kql_val fn_array_concat(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *arr = get_array(a[i]);
        if (!arr)
            return kql_null(VG_T_DYNAMIC);
        total += arr->n;
    }
    if (total > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, (uint32_t)total);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < a[i].u.d->n; j++)
            kql_dyn_push(out, a[i].u.d->kids[j]);
    return kql_dynamic(out);
}

static kql_val fn_array_slice(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = get_array(a[0]);
    int64_t s, e;
    if (!arr || !get_i64(a[1], &s) || !get_i64(a[2], &e))
        return kql_null(VG_T_DYNAMIC);
    int64_t len = arr->n;
    if (s < 0)
        s += len;
    if (e < 0)
        e += len;
    if (s < 0)
        s = 0;
    if (e >= len)
        e = len - 1;
    uint32_t cnt = s <= e ? (uint32_t)(e - s + 1) : 0;
    vg_json *out = kql_dyn_array(ctx->arena, cnt);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < cnt; i++)
        kql_dyn_push(out, arr->kids[s + i]);
    return kql_dynamic(out);
}

static kql_val fn_array_reverse(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = get_array(a[0]);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, arr->n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = arr->n; i > 0; i--)
        kql_dyn_push(out, arr->kids[i - 1]);
    return kql_dynamic(out);
}

static bool elem_eq(const vg_json *el, kql_val v)
{
    kql_val e = kql_dyn_scalar(el);
    if (v.t == VG_T_DYNAMIC && !v.null)
        v = kql_dyn_scalar(v.u.d);
    return kql_val_eq(e, v);
}

/* array_index_of(array, value[, start[, length[, occurrence]]]): -1 when
 * absent; null for occurrence < 0 or length < -1 (length -1 = unlimited);
 * a negative start counts from the end. */
static kql_val fn_array_index_of(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = get_array(a[0]);
    if (!arr)
        return kql_null(VG_T_LONG);
    int64_t len = arr->n, start = 0, cnt = -1, occ = 1;
    if ((n > 2 && !get_i64(a[2], &start)) || (n > 3 && !get_i64(a[3], &cnt)) ||
        (n > 4 && !get_i64(a[4], &occ)) || occ < 0 || cnt < -1)
        return kql_null(VG_T_LONG);
    if (start < 0)
        start = start + len < 0 ? 0 : start + len;
    if (start >= len || occ == 0)
        return kql_long(-1);
    int64_t end = cnt < 0 || cnt > len - start ? len : start + cnt;
    for (int64_t i = start; i < end; i++)
        if (elem_eq(arr->kids[i], a[1]) && --occ == 0)
            return kql_long(i);
    return kql_long(-1);
}

static kql_val fn_array_sum(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = get_array(a[0]);
    if (!arr)
        return kql_null(VG_T_REAL);
    double s = 0;
    for (uint32_t i = 0; i < arr->n; i++) {
        double x;
        if (!get_real(kql_dyn_scalar(arr->kids[i]), &x))
            return kql_null(VG_T_REAL);
        s += x;
    }
    return kql_real(s);
}

/* An open-addressing set of elements (by kql_val_eq/hash of the scalar; JSON nulls by a flag). */
typedef struct jset {
    const vg_json **slot;
    uint32_t mask;
    bool has_null;
} jset;

static bool jset_init(vg_arena *a, jset *s, uint32_t n)
{
    uint32_t cap = 16;
    while (cap < n * 2u && cap < (1u << 22))
        cap <<= 1;
    s->slot = vg_arena_zalloc(a, cap * sizeof *s->slot);
    s->mask = cap - 1;
    s->has_null = false;
    return s->slot != NULL;
}

/* Inserts el when add; returns true when el was already present. */
static bool jset_find(jset *s, const vg_json *el, bool add)
{
    kql_val v = kql_dyn_scalar(el);
    if (v.null) {
        bool had = s->has_null;
        if (add)
            s->has_null = true;
        return had;
    }
    uint64_t h = kql_val_hash(v);
    for (uint32_t i = 0; i <= s->mask; i++) {
        uint32_t k = (uint32_t)(h + i) & s->mask;
        if (!s->slot[k]) {
            if (add)
                s->slot[k] = el;
            return false;
        }
        if (kql_val_eq(kql_dyn_scalar(s->slot[k]), v))
            return true;
    }
    return false;
}

static kql_val fn_set_has_element(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *arr = get_array(a[0]);
    if (!arr)
        return kql_null(VG_T_BOOL);
    for (uint32_t i = 0; i < arr->n; i++)
        if (elem_eq(arr->kids[i], a[1]))
            return kql_bool(true);
    return kql_bool(false);
}

typedef enum { SET_UNION, SET_INTERSECT, SET_DIFFERENCE } set_op;

static kql_val set_fn(kql_ctx *ctx, const kql_val *a, uint32_t n, set_op op)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *arr = get_array(a[i]);
        if (!arr)
            return kql_null(VG_T_DYNAMIC);
        total += arr->n;
    }
    if (total > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    uint32_t cap = op == SET_UNION ? (uint32_t)total : a[0].u.d->n;
    vg_json *out = kql_dyn_array(ctx->arena, cap);
    jset seen;
    if (!out || !jset_init(ctx->arena, &seen, cap))
        return kql_null(VG_T_DYNAMIC);
    if (op == SET_UNION) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < a[i].u.d->n; j++)
                if (!jset_find(&seen, a[i].u.d->kids[j], true))
                    kql_dyn_push(out, a[i].u.d->kids[j]);
        return kql_dynamic(out);
    }
    /* one set per other array, built once */
    jset *others = vg_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *others);
    if (!others)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 1; i < n; i++) {
        if (!jset_init(ctx->arena, &others[i], a[i].u.d->n))
            return kql_null(VG_T_DYNAMIC);
        for (uint32_t j = 0; j < a[i].u.d->n; j++)
            jset_find(&others[i], a[i].u.d->kids[j], true);
    }
    const vg_json *first = a[0].u.d;
    for (uint32_t j = 0; j < first->n; j++) {
        const vg_json *el = first->kids[j];
        if (jset_find(&seen, el, true))
            continue;
        bool keep = true;
        for (uint32_t i = 1; i < n && keep; i++) {
            bool in = jset_find(&others[i], el, false);
            keep = op == SET_INTERSECT ? in : !in;
        }
        if (keep)
            kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

static kql_val fn_set_union(kql_ctx *ctx, const kql_val *a, uint32_t n) { return set_fn(ctx, a, n, SET_UNION); }
static kql_val fn_set_intersect(kql_ctx *ctx, const kql_val *a, uint32_t n) { return set_fn(ctx, a, n, SET_INTERSECT); }
static kql_val fn_set_difference(kql_ctx *ctx, const kql_val *a, uint32_t n) { return set_fn(ctx, a, n, SET_DIFFERENCE); }

typedef struct sort_item {
    kql_val v;
    const vg_json *el;
    uint32_t pos;
} sort_item;

static int cmp_asc(const void *x, const void *y)
{
    const sort_item *a = x, *b = y;
    int c = kql_val_cmp(a->v, b->v);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static kql_val array_sort(kql_ctx *ctx, const kql_val *a, uint32_t n, bool desc)
{
    const vg_json *arr = get_array(a[0]);
    if (!arr)
        return kql_null(VG_T_DYNAMIC);
    bool nulls_last = true;
    if (n > 1) {
        if (a[1].t != VG_T_BOOL || a[1].null)
            return kql_null(VG_T_DYNAMIC);
        nulls_last = a[1].u.i != 0;
    }
    uint32_t cnt = arr->n;
    sort_item *items = vg_arena_alloc(ctx->arena, (cnt ? cnt : 1) * sizeof *items);
    vg_json *out = kql_dyn_array(ctx->arena, cnt);
    if (!items || !out)
        return kql_null(VG_T_DYNAMIC);
    uint32_t k = 0, nulls = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        kql_val v = kql_dyn_scalar(arr->kids[i]);
        if (v.null) {
            nulls++;
            continue;
        }
        items[k++] = (sort_item){ v, arr->kids[i], i };
    }
    qsort(items, k, sizeof *items, cmp_asc);
    const vg_json *null_el = dyn_from(ctx->arena, kql_null(VG_T_DYNAMIC));
    if (!nulls_last)
        for (uint32_t i = 0; i < nulls; i++)
            kql_dyn_push(out, null_el);
    for (uint32_t i = 0; i < k; i++)
        kql_dyn_push(out, items[desc ? k - 1 - i : i].el);
    if (nulls_last)
        for (uint32_t i = 0; i < nulls; i++)
            kql_dyn_push(out, null_el);
    return kql_dynamic(out);
}

static kql_val fn_array_sort_asc(kql_ctx *ctx, const kql_val *a, uint32_t n) { return array_sort(ctx, a, n, false); }
static kql_val fn_array_sort_desc(kql_ctx *ctx, const kql_val *a, uint32_t n) { return array_sort(ctx, a, n, true); }

static kql_val fn_pack_array(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_json *out = kql_dyn_array(ctx->arena, n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *el = a[i].t == VG_T_DYNAMIC ? a[i].u.d : NULL;
        if (!el)
            el = dyn_from(ctx->arena, a[i]);
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

static vg_type bag_pack_type(const vg_type *t, uint32_t n, vg_diag *d)
{
    if (n % 2 != 0) {
        vg_diag_set(d, VG_EINVAL, "bag_pack(): expects key/value pairs (an even number of arguments)");
        return VG_T_COUNT_;
    }
    return VG_T_DYNAMIC;
}

static kql_val fn_bag_pack(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_json *out = kql_dyn_bag(ctx->arena, n / 2);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i + 1 < n; i += 2) {
        vg_str key;
        if (!get_str(a[i], &key))
            key = to_text(ctx->arena, a[i]);
        const vg_json *el = a[i + 1].t == VG_T_DYNAMIC ? a[i + 1].u.d : dyn_from(ctx->arena, a[i + 1]);
        if (!kql_dyn_put(ctx->arena, out, key, el))
            return kql_null(VG_T_DYNAMIC);
    }
    return kql_dynamic(out);
}

static kql_val fn_bag_keys(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *bag = get_bag(a[0]);
    if (!bag)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, bag->n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < bag->n; i++)
        kql_dyn_push(out, dyn_str(ctx, bag->kids[i]->key));
    return kql_dynamic(out);
}

static kql_val fn_bag_has_key(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *bag = get_bag(a[0]);
    vg_str key;
    if (!bag || !get_str(a[1], &key))
        return kql_null(VG_T_BOOL);
    return kql_bool(kql_dyn_member(bag, key) != NULL);
}

static kql_val fn_bag_remove_keys(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *bag = get_bag(a[0]);
    const vg_json *keys = get_array(a[1]);
    if (!bag || !keys)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_bag(ctx->arena, bag->n);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < bag->n; i++) {
        bool drop = false;
        for (uint32_t j = 0; j < keys->n && !drop; j++)
            drop = keys->kids[j]->kind == VG_JSON_STRING && vg_str_eq(keys->kids[j]->str, bag->kids[i]->key);
        if (!drop)
            kql_dyn_push(out, bag->kids[i]);
    }
    return kql_dynamic(out);
}

static kql_val fn_bag_merge(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!get_bag(a[i]))
            return kql_null(VG_T_DYNAMIC);
        total += a[i].u.d->n;
    }
    if (total > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_bag(ctx->arena, (uint32_t)total);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    /* on a duplicate key the first bag wins */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < a[i].u.d->n; j++)
            if (!kql_dyn_member(out, a[i].u.d->kids[j]->key))
                kql_dyn_push(out, a[i].u.d->kids[j]);
    return kql_dynamic(out);
}

/* range(start, stop[, step]): numbers, datetimes or timespans (step 1, or 1h
 * for times); stop inclusive; truncated at KQL_FN_MAX_RANGE elements (2^20)
 * as Kusto. */
#define KQL_FN_MAX_RANGE 1048576
static kql_val fn_range(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].null || a[1].null || (n > 2 && a[2].null))
        return kql_null(VG_T_DYNAMIC);
    bool real = a[0].t == VG_T_REAL || a[1].t == VG_T_REAL || (n > 2 && a[2].t == VG_T_REAL);
    vg_json *out = NULL;
    if (!real && (vg_type_is_i64(a[0].t) || a[0].t == VG_T_DYNAMIC)) {
        int64_t st, en, step = 1;
        bool timeish = a[0].t == VG_T_DATETIME || a[0].t == VG_T_TIMESPAN;
        if (timeish) {
            if (a[1].t != a[0].t || (n > 2 && a[2].t != VG_T_TIMESPAN))
                return kql_null(VG_T_DYNAMIC);
            st = a[0].u.i;
            en = a[1].u.i;
            if (n > 2)
                step = a[2].u.i;
            else
                step = 3600 * VG_TICKS_PER_SEC;
        } else if (!get_i64(a[0], &st) || !get_i64(a[1], &en) || (n > 2 && !get_i64(a[2], &step))) {
            return kql_null(VG_T_DYNAMIC);
        }
        if (step == 0)
            return kql_null(VG_T_DYNAMIC);
        /* count = floor((en - st) / step) + 1, in 128-bit to avoid overflow */
        __int128 diff = (__int128)en - st;
        __int128 cnt = (diff >= 0) == (step > 0) || diff == 0 ? diff / step + 1 : 0;
        if (cnt < 0)
            cnt = 0;
        if (cnt > KQL_FN_MAX_RANGE)
            cnt = KQL_FN_MAX_RANGE;
        out = kql_dyn_array(ctx->arena, (uint32_t)cnt);
        if (!out)
            return kql_null(VG_T_DYNAMIC);
        for (int64_t i = 0; i < (int64_t)cnt; i++) {
            int64_t v = (int64_t)((__int128)st + (__int128)i * step);
            kql_val x = a[0].t == VG_T_DATETIME ? kql_datetime(v) : a[0].t == VG_T_TIMESPAN ? kql_timespan(v) : kql_long(v);
            const vg_json *el = dyn_from(ctx->arena, x);
            if (!el)
                return kql_null(VG_T_DYNAMIC);
            kql_dyn_push(out, el);
        }
        return kql_dynamic(out);
    }
    double st, en, step = 1;
    if (!get_real(a[0], &st) || !get_real(a[1], &en) || (n > 2 && !get_real(a[2], &step)) || step == 0 ||
        !isfinite(st) || !isfinite(en) || !isfinite(step))
        return kql_null(VG_T_DYNAMIC);
    double cnt = floor((en - st) / step) + 1;
    if (!(cnt >= 0))
        cnt = 0;
    if (cnt > KQL_FN_MAX_RANGE)
        cnt = KQL_FN_MAX_RANGE;
    out = kql_dyn_array(ctx->arena, (uint32_t)cnt);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < (uint32_t)cnt; i++) {
        const vg_json *el = dyn_from(ctx->arena, kql_real(st + i * step));
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

/* repeat(value, count): an array of count copies (empty when count <= 0) */
static kql_val fn_repeat(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t cnt;
    if (!get_i64(a[1], &cnt))
        return kql_null(VG_T_DYNAMIC);
    if (cnt < 0)
        cnt = 0;
    if (cnt > KQL_FN_MAX_RANGE)
        return kql_null(VG_T_DYNAMIC);
    const vg_json *el = a[0].t == VG_T_DYNAMIC && a[0].u.d ? a[0].u.d : dyn_from(ctx->arena, a[0]);
    vg_json *out = kql_dyn_array(ctx->arena, (uint32_t)cnt);
    if (!el || !out)
        return kql_null(VG_T_DYNAMIC);
    for (int64_t i = 0; i < cnt; i++)
        kql_dyn_push(out, el);
    return kql_dynamic(out);
}

/* array_iff(conditions, ifTrue, ifFalse): element-wise; a condition is a
 * bool or a number (non-zero = true); ifTrue/ifFalse are arrays (read at the
 * same index) or scalars; any other condition, or a missing element, gives
 * null. */
static kql_val fn_array_iff(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    const vg_json *cond = get_array(a[0]);
    if (!cond)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, cond->n);
    const vg_json *null_el = dyn_from(ctx->arena, kql_null(VG_T_DYNAMIC));
    if (!out || !null_el)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < cond->n; i++) {
        const vg_json *c = cond->kids[i], *el = null_el;
        double num;
        int truth = c->kind == VG_JSON_TRUE ? 1 : c->kind == VG_JSON_FALSE ? 0 : -1;
        if (truth < 0 && get_real(kql_dyn_scalar(c), &num))
            truth = num != 0;   /* numbers: non-zero is true */
        if (truth >= 0) {
            kql_val pick = a[truth ? 1 : 2];
            const vg_json *arr = get_array(pick);
            if (arr)
                el = i < arr->n ? arr->kids[i] : null_el;
            else if (pick.t == VG_T_DYNAMIC)
                el = pick.u.d ? pick.u.d : null_el;
            else
                el = dyn_from(ctx->arena, pick);
        }
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

/* zip(array1, array2, ...): an array of arrays, the i-th holding the i-th
 * element of each input; shorter inputs give null. */
static kql_val fn_zip(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_json *arr = get_array(a[i]);
        if (!arr)
            return kql_null(VG_T_DYNAMIC);
        if (arr->n > len)
            len = arr->n;
    }
    if ((uint64_t)len * (n + 1) > KQL_FN_MAX_ELEMS)
        return kql_null(VG_T_DYNAMIC);
    vg_json *out = kql_dyn_array(ctx->arena, len);
    const vg_json *null_el = dyn_from(ctx->arena, kql_null(VG_T_DYNAMIC));
    if (!out || !null_el)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t r = 0; r < len; r++) {
        vg_json *tuple = kql_dyn_array(ctx->arena, n);
        if (!tuple)
            return kql_null(VG_T_DYNAMIC);
        for (uint32_t i = 0; i < n; i++)
            kql_dyn_push(tuple, r < a[i].u.d->n ? a[i].u.d->kids[r] : null_el);
        kql_dyn_push(out, tuple);
    }
    return kql_dynamic(out);
}

/* series_add/subtract/multiply/divide: element-wise over arrays (a number
 * stands for a constant series); the result has the longer length, and a
 * missing or non-numeric element gives null. Integers stay integers but for
 * divide. */
typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV } series_op;

static bool series_elem(kql_val v, uint32_t i, kql_val *out)
{
    const vg_json *arr = get_array(v);
    if (arr) {
        if (i >= arr->n)
            return false;
        *out = kql_dyn_scalar(arr->kids[i]);
    } else {
        *out = v;
    }
    return !out->null && (out->t == VG_T_LONG || out->t == VG_T_INT || out->t == VG_T_REAL);
}

static kql_val series_fn(kql_ctx *ctx, const kql_val *a, series_op op)
{
    const vg_json *x = get_array(a[0]), *y = get_array(a[1]);
    if (!x && !y)
        return kql_null(VG_T_DYNAMIC);
    double d;
    if ((!x && !get_real(a[0], &d)) || (!y && !get_real(a[1], &d)))
        return kql_null(VG_T_DYNAMIC);
    uint32_t len = x ? x->n : 0;
    if (y && y->n > len)
        len = y->n;
    vg_json *out = kql_dyn_array(ctx->arena, len);
    if (!out)
        return kql_null(VG_T_DYNAMIC);
    for (uint32_t i = 0; i < len; i++) {
        kql_val p, q, r = kql_null(VG_T_DYNAMIC);
        if (series_elem(a[0], i, &p) && series_elem(a[1], i, &q)) {
            bool ints = p.t != VG_T_REAL && q.t != VG_T_REAL && op != OP_DIV;
            int64_t ri;
            if (ints) {
                bool ovf = op == OP_ADD ? __builtin_add_overflow(p.u.i, q.u.i, &ri)
                           : op == OP_SUB ? __builtin_sub_overflow(p.u.i, q.u.i, &ri)
                                          : __builtin_mul_overflow(p.u.i, q.u.i, &ri);
                r = ovf ? kql_null(VG_T_LONG) : kql_long(ri);
            } else {
                double pa = p.t == VG_T_REAL ? p.u.r : (double)p.u.i;
                double qa = q.t == VG_T_REAL ? q.u.r : (double)q.u.i;
                double res = op == OP_ADD ? pa + qa : op == OP_SUB ? pa - qa : op == OP_MUL ? pa * qa : pa / qa;
                r = kql_real(res);
            }
        }
        const vg_json *el = dyn_from(ctx->arena, r);
        if (!el)
            return kql_null(VG_T_DYNAMIC);
        kql_dyn_push(out, el);
    }
    return kql_dynamic(out);
}

static kql_val fn_series_add(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_ADD); }
static kql_val fn_series_subtract(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_SUB); }
static kql_val fn_series_multiply(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_MUL); }
static kql_val fn_series_divide(kql_ctx *ctx, const kql_val *a, uint32_t n) { return series_fn(ctx, a, OP_DIV); }

/* ---- IPv4 ---- */

/* "a.b.c.d" with an optional "/prefix"; prefix 32 when absent. */
static bool ipv4_parse(vg_str s, uint32_t *ip, int *prefix)
{
    s = vg_str_trim(s);
    size_t i = 0;
    uint32_t v = 0;
    for (int oct = 0; oct < 4; oct++) {
        if (oct > 0) {
            if (i >= s.n || s.p[i] != '.')
                return false;
            i++;
        }
        size_t st = i;
        uint32_t o = 0;
        while (i < s.n && i - st < 3 && s.p[i] >= '0' && s.p[i] <= '9')
            o = o * 10 + (uint32_t)(s.p[i++] - '0');
        if (i == st || o > 255)
            return false;
        v = v << 8 | o;
    }
    int p = 32;
    if (i < s.n && s.p[i] == '/') {
        i++;
        size_t st = i;
        p = 0;
        while (i < s.n && i - st < 2 && s.p[i] >= '0' && s.p[i] <= '9')
            p = p * 10 + (s.p[i++] - '0');
        if (i == st || p > 32)
            return false;
    }
    if (i != s.n)
        return false;
    *ip = v;
    *prefix = p;
    return true;
}

static uint32_t mask_of(int prefix) { return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix); }

/* An IPv4 argument: a string (possibly CIDR) or a long. */
static bool get_ipv4(kql_val v, uint32_t *ip, int *prefix)
{
    vg_str s;
    if (get_str(v, &s))
        return ipv4_parse(s, ip, prefix);
    int64_t i;
    if ((v.t == VG_T_LONG || v.t == VG_T_INT) && get_i64(v, &i) && i >= 0 && i <= 0xffffffffLL) {
        *ip = (uint32_t)i;
        *prefix = 32;
        return true;
    }
    return false;
}

static kql_val fn_parse_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip;
    int p;
    vg_str s;
    if (!get_str(a[0], &s) || !ipv4_parse(s, &ip, &p))
        return kql_null(VG_T_LONG);
    return kql_long(ip & mask_of(p));
}

static kql_val fn_parse_ipv4_mask(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip;
    int p;
    int64_t m;
    vg_str s;
    if (!get_str(a[0], &s) || !ipv4_parse(s, &ip, &p) || !get_i64(a[1], &m) || m < 0 || m > 32)
        return kql_null(VG_T_LONG);
    if (m < p)
        p = (int)m;
    return kql_long(ip & mask_of(p));
}

static kql_val fn_ipv4_is_private(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    static const struct { uint32_t net; int prefix; } priv[] = {
        { 0x0a000000u, 8 }, { 0xac100000u, 12 }, { 0xc0a80000u, 16 },
    };
    uint32_t ip;
    int p;
    if (!get_ipv4(a[0], &ip, &p))
        return kql_null(VG_T_BOOL);
    for (size_t i = 0; i < 3; i++)
        if (p >= priv[i].prefix && (ip & mask_of(priv[i].prefix)) == priv[i].net)
            return kql_bool(true);
    return kql_bool(false);
}

static kql_val fn_ipv4_is_in_range(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip, net;
    int p, rp;
    if (!get_ipv4(a[0], &ip, &p) || !get_ipv4(a[1], &net, &rp))
        return kql_null(VG_T_BOOL);
    return kql_bool((ip & mask_of(rp)) == (net & mask_of(rp)));
}

static kql_val fn_ipv4_is_in_any_range(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip, net;
    int p, rp;
    if (!get_ipv4(a[0], &ip, &p))
        return kql_null(VG_T_BOOL);
    for (uint32_t i = 1; i < n; i++) {
        const vg_json *arr = get_array(a[i]);
        uint32_t cnt = arr ? arr->n : 1;
        for (uint32_t j = 0; j < cnt; j++) {
            kql_val r = arr ? kql_dyn_scalar(arr->kids[j]) : a[i];
            if (get_ipv4(r, &net, &rp) && (ip & mask_of(rp)) == (net & mask_of(rp)))
                return kql_bool(true);
        }
    }
    return kql_bool(false);
}

/* ipv4_compare/ipv4_is_match: the smaller of both prefixes and the explicit one */
static bool ipv4_pair(const kql_val *a, uint32_t n, uint32_t *x, uint32_t *y)
{
    int p1, p2;
    int64_t pm = 32;
    if (!get_ipv4(a[0], x, &p1) || !get_ipv4(a[1], y, &p2) || (n > 2 && !get_i64(a[2], &pm)) ||
        pm < 0 || pm > 32)
        return false;
    int p = p1 < p2 ? p1 : p2;
    if (pm < p)
        p = (int)pm;
    *x &= mask_of(p);
    *y &= mask_of(p);
    return true;
}

static kql_val fn_ipv4_compare(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t x, y;
    if (!ipv4_pair(a, n, &x, &y))
        return kql_null(VG_T_LONG);
    return kql_long((x > y) - (x < y));
}

static kql_val fn_ipv4_is_match(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t x, y;
    if (!ipv4_pair(a, n, &x, &y))
        return kql_null(VG_T_BOOL);
    return kql_bool(x == y);
}

static kql_val ipv4_text(kql_ctx *ctx, uint32_t ip, int prefix, bool with_prefix)
{
    char *buf = vg_arena_alloc(ctx->arena, 24);
    if (!buf)
        return kql_null(VG_T_STRING);
    ip &= mask_of(prefix);
    int k = with_prefix
                ? snprintf(buf, 24, "%u.%u.%u.%u/%d", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255, prefix)
                : snprintf(buf, 24, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    return k > 0 && k < 24 ? kql_string(vg_str_make(buf, (size_t)k)) : kql_null(VG_T_STRING);
}

static kql_val format_ipv4_impl(kql_ctx *ctx, const kql_val *a, uint32_t n, bool with_prefix)
{
    uint32_t ip;
    int p;
    int64_t m = 32;
    if (!get_ipv4(a[0], &ip, &p) || (n > 1 && !get_i64(a[1], &m)) || m < 0 || m > 32)
        return kql_null(VG_T_STRING);
    if (m < p)
        p = (int)m;
    return ipv4_text(ctx, ip, p, with_prefix);
}

static kql_val fn_format_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n) { return format_ipv4_impl(ctx, a, n, false); }
static kql_val fn_format_ipv4_mask(kql_ctx *ctx, const kql_val *a, uint32_t n) { return format_ipv4_impl(ctx, a, n, true); }

static kql_val fn_ipv4_netmask_suffix(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint32_t ip;
    int p;
    vg_str s;
    if (!get_str(a[0], &s) || !ipv4_parse(s, &ip, &p))
        return kql_null(VG_T_INT);
    return kql_int(p);
}

/* ---- IPv6 ---- */

/* An IPv6 address with an optional "/prefix" (default 128); an IPv4
 * address reads as its IPv4-mapped form ::ffff:a.b.c.d (prefix 96 + its own). */
static bool ipv6_parse(vg_str s, uint8_t out[16], int *prefix)
{
    s = vg_str_trim(s);
    uint32_t v4;
    int p4;
    if (vg_str_chr(s, ':') < 0) {
        if (!ipv4_parse(s, &v4, &p4))
            return false;
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        out[12] = (uint8_t)(v4 >> 24);
        out[13] = (uint8_t)(v4 >> 16);
        out[14] = (uint8_t)(v4 >> 8);
        out[15] = (uint8_t)v4;
        *prefix = 96 + p4;
        return true;
    }
    int p = 128;
    ptrdiff_t slash = vg_str_chr(s, '/');
    vg_str addr = s;
    if (slash >= 0) {
        vg_str ps = vg_str_make(s.p + slash + 1, s.n - (size_t)slash - 1);
        int64_t pv;
        if (vg_str_to_i64(ps, &pv) != VG_OK || pv < 0 || pv > 128)
            return false;
        p = (int)pv;
        addr = vg_str_make(s.p, (size_t)slash);
    }
    char buf[INET6_ADDRSTRLEN + 1];
    if (addr.n == 0 || addr.n >= sizeof buf)
        return false;
    vg_str_copy_c(buf, sizeof buf, addr);
    if (inet_pton(AF_INET6, buf, out) != 1)
        return false;
    *prefix = p;
    return true;
}

static void ipv6_mask(uint8_t a[16], int prefix)
{
    for (int i = 0; i < 16; i++) {
        int bits = prefix - i * 8;
        a[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
    }
}

static bool ipv6_pair(const kql_val *a, uint32_t n, uint8_t x[16], uint8_t y[16])
{
    vg_str s1, s2;
    int p1, p2;
    int64_t pm = 128;
    if (!get_str(a[0], &s1) || !get_str(a[1], &s2) || !ipv6_parse(s1, x, &p1) || !ipv6_parse(s2, y, &p2) ||
        (n > 2 && !get_i64(a[2], &pm)) || pm < 0 || pm > 128)
        return false;
    int p = p1 < p2 ? p1 : p2;
    if (pm < p)
        p = (int)pm;
    ipv6_mask(x, p);
    ipv6_mask(y, p);
    return true;
}

static kql_val fn_ipv6_compare(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint8_t x[16], y[16];
    if (!ipv6_pair(a, n, x, y))
        return kql_null(VG_T_LONG);
    int c = memcmp(x, y, 16);
    return kql_long((c > 0) - (c < 0));
}

static kql_val fn_ipv6_is_match(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint8_t x[16], y[16];
    if (!ipv6_pair(a, n, x, y))
        return kql_null(VG_T_BOOL);
    return kql_bool(memcmp(x, y, 16) == 0);
}

/* parse_ipv6(ip): the canonical text, eight groups of four hex digits */
static kql_val fn_parse_ipv6(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    uint8_t x[16];
    int p;
    vg_str s;
    if (!get_str(a[0], &s) || !ipv6_parse(s, x, &p))
        return kql_null(VG_T_STRING);
    ipv6_mask(x, p);
    char *buf = vg_arena_alloc(ctx->arena, 40);
    if (!buf)
        return kql_null(VG_T_STRING);
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i > 0 && i % 2 == 0)
            buf[k++] = ':';
        buf[k++] = hex[x[i] >> 4];
        buf[k++] = hex[x[i] & 15];
    }
    return kql_string(vg_str_make(buf, k));
}

/* ---- IPv4 addresses inside text (has_ipv4 and friends) ---- */

/* An address in text must stand alone: no letter, digit or '.' right
 * before it, and after it no letter or digit, nor a '.' followed by a digit
 * (a sentence may end with the address). Calls found() for each; stops
 * when it returns true. */
static bool scan_ipv4(vg_str t, bool (*found)(uint32_t ip, void *arg), void *arg)
{
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            continue;
        if (i > 0 && (isalnum((unsigned char)t.p[i - 1]) || t.p[i - 1] == '.'))
            continue;
        size_t j = i;
        uint32_t v = 0;
        int oct = 0;
        bool ok = true;
        for (; oct < 4; oct++) {
            if (oct > 0) {
                if (j >= t.n || t.p[j] != '.') {
                    ok = false;
                    break;
                }
                j++;
            }
            size_t st = j;
            uint32_t o = 0;
            while (j < t.n && j - st < 4 && t.p[j] >= '0' && t.p[j] <= '9')
                o = o * 10 + (uint32_t)(t.p[j++] - '0');
            if (j == st || j - st > 3 || o > 255) {
                ok = false;
                break;
            }
            v = v << 8 | o;
        }
        if (ok && j < t.n && (isalnum((unsigned char)t.p[j]) ||
                              (t.p[j] == '.' && j + 1 < t.n && isdigit((unsigned char)t.p[j + 1]))))
            ok = false;
        if (ok && found(v, arg))
            return true;
        /* skip the rest of this run of digits and dots */
        while (i + 1 < t.n && (isdigit((unsigned char)t.p[i + 1]) || t.p[i + 1] == '.'))
            i++;
    }
    return false;
}

typedef struct ip_want {
    const uint32_t *net;
    const int *prefix;
    uint32_t n;
} ip_want;

static bool ip_matches(uint32_t ip, void *arg)
{
    const ip_want *w = arg;
    for (uint32_t i = 0; i < w->n; i++)
        if ((ip & mask_of(w->prefix[i])) == (w->net[i] & mask_of(w->prefix[i])))
            return true;
    return false;
}

/* A prefix "10.1." or "10.1" (octets given) as a network and a prefix length;
 * a full address is itself. */
static bool ipv4_prefix_parse(vg_str s, uint32_t *net, int *bits)
{
    int p;
    if (ipv4_parse(s, net, &p)) {
        *bits = p;
        return true;
    }
    s = vg_str_trim(s);
    if (s.n > 0 && s.p[s.n - 1] == '.')
        s.n--;
    uint32_t v = 0;
    int oct = 0;
    size_t i = 0;
    while (oct < 3) {
        size_t st = i;
        uint32_t o = 0;
        while (i < s.n && i - st < 3 && s.p[i] >= '0' && s.p[i] <= '9')
            o = o * 10 + (uint32_t)(s.p[i++] - '0');
        if (i == st || o > 255)
            return false;
        v = v << 8 | o;
        oct++;
        if (i == s.n)
            break;
        if (s.p[i++] != '.')
            return false;
    }
    if (i != s.n)
        return false;
    *net = v << (8 * (4 - oct));
    *bits = 8 * oct;
    return true;
}

/* has_ipv4(text, ip), has_ipv4_prefix(text, prefix), has_any_ipv4(text, ip...|array),
 * has_any_ipv4_prefix(text, prefix...|array) */
static kql_val has_ipv4_impl(const kql_val *a, uint32_t n, bool prefix, bool any)
{
    vg_str text;
    if (!get_str(a[0], &text))
        return kql_null(VG_T_BOOL);
    uint32_t nets[64];
    int bits[64];
    uint32_t k = 0;
    for (uint32_t i = 1; i < n && k < 64; i++) {
        const vg_json *arr = any ? get_array(a[i]) : NULL;
        uint32_t cnt = arr ? arr->n : 1;
        for (uint32_t j = 0; j < cnt && k < 64; j++) {
            kql_val v = arr ? kql_dyn_scalar(arr->kids[j]) : a[i];
            vg_str s;
            if (!get_str(v, &s))
                continue;
            bool ok = prefix ? ipv4_prefix_parse(s, &nets[k], &bits[k]) : ipv4_parse(s, &nets[k], &bits[k]);
            if (ok) {
                if (!prefix)
                    bits[k] = 32;   /* has_ipv4 wants the exact address */
                k++;
            }
        }
    }
    if (k == 0)
        return any ? kql_bool(false) : kql_null(VG_T_BOOL);
    ip_want w = { nets, bits, k };
    return kql_bool(scan_ipv4(text, ip_matches, &w));
}

static kql_val fn_has_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, false, false); }
static kql_val fn_has_ipv4_prefix(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, true, false); }
static kql_val fn_has_any_ipv4(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, false, true); }
static kql_val fn_has_any_ipv4_prefix(kql_ctx *ctx, const kql_val *a, uint32_t n) { return has_ipv4_impl(a, n, true, true); }

/* ---- parse_url, parse_path ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Form decoding of a query component: %XX and '+' as a space. */
static vg_str url_decode(vg_arena *a, vg_str s)
{
    char *o = vg_arena_alloc(a, s.n + 1);
    if (!o)
        return VG_STR_LIT("");
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        int h1, h2;
        if (s.p[i] == '%' && i + 2 < s.n &&
            (h1 = hexval(s.p[i + 1])) >= 0 && (h2 = hexval(s.p[i + 2])) >= 0) {
            o[k++] = (char)(h1 * 16 + h2);
            i += 2;
        } else {
            o[k++] = s.p[i] == '+' ? ' ' : s.p[i];
        }
    }
    o[k] = '\0';
    return vg_str_make(o, k);
}

static vg_str sub(vg_str s, size_t from, size_t to) { return vg_str_make(s.p + from, to > from ? to - from : 0); }

static size_t find_any(vg_str s, size_t from, const char *set)
{
    for (size_t i = from; i < s.n; i++)
        if (strchr(set, s.p[i]) && s.p[i] != '\0')
            return i;
    return s.n;
}

static bool put_str(kql_ctx *ctx, vg_json *bag, const char *key, vg_str v)
{
    return kql_dyn_put(ctx->arena, bag, vg_str_c(key), dyn_str(ctx, v));
}

/* The bag of a query string's parameters (form-decoded; a repeated key
 * gets its values joined with ',' as .NET's ParseQueryString). */
static vg_json *query_bag(kql_ctx *ctx, vg_str query)
{
    vg_str empty = VG_STR_LIT("");
    vg_str keys[KQL_URL_MAX_PARAMS], vals[KQL_URL_MAX_PARAMS];
    uint32_t np = 0;
    for (size_t qs = 0; qs < query.n && np < KQL_URL_MAX_PARAMS;) {
        size_t qe = find_any(query, qs, "&");
        vg_str kv = sub(query, qs, qe);
        qs = qe + 1;
        if (kv.n == 0)
            continue;
        ptrdiff_t eq = vg_str_chr(kv, '=');
        vg_str k = url_decode(ctx->arena, eq >= 0 ? sub(kv, 0, (size_t)eq) : kv);
        vg_str v = eq >= 0 ? url_decode(ctx->arena, sub(kv, (size_t)eq + 1, kv.n)) : empty;
        uint32_t j = 0;
        while (j < np && !vg_str_eq(keys[j], k))
            j++;
        if (j < np) {
            char *joined = vg_arena_printf(ctx->arena, "%.*s,%.*s", VG_STR_FMT(vals[j]), VG_STR_FMT(v));
            if (joined)
                vals[j] = vg_str_c(joined);
        } else {
            keys[np] = k;
            vals[np++] = v;
        }
    }
    vg_json *qp = kql_dyn_bag(ctx->arena, np);
    if (!qp)
        return NULL;
    for (uint32_t j = 0; j < np; j++)
        kql_dyn_put(ctx->arena, qp, keys[j], dyn_str(ctx, vals[j]));
    return qp;
}

/* parse_urlquery(query): {"Query Parameters": {...}}; a leading '?' is skipped */
static kql_val fn_parse_urlquery(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str q;
    if (!get_str(a[0], &q))
        return kql_null(VG_T_DYNAMIC);
    if (q.n > 0 && q.p[0] == '?')
        q = sub(q, 1, q.n);
    vg_json *qp = query_bag(ctx, q);
    vg_json *bag = kql_dyn_bag(ctx->arena, 1);
    if (!qp || !bag || !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("Query Parameters"), qp))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

static kql_val fn_parse_url(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s, empty = VG_STR_LIT("");
    if (!get_str(a[0], &s))
        return kql_null(VG_T_DYNAMIC);
    vg_str scheme = empty, host = empty, port = empty, path = empty, user = empty, pass = empty,
           query = empty, frag = empty;
    /* scheme "://" is required; otherwise every part is empty */
    size_t i = 0;
    while (i < s.n && (isalnum((unsigned char)s.p[i]) || s.p[i] == '+' || s.p[i] == '-' || s.p[i] == '.'))
        i++;
    bool ok = i > 0 && isalpha((unsigned char)s.p[0]) && i + 3 <= s.n && memcmp(s.p + i, "://", 3) == 0;
    if (ok) {
        scheme = sub(s, 0, i);
        size_t as = i + 3, ae = find_any(s, as, "/?#");
        vg_str auth = sub(s, as, ae);
        ptrdiff_t at = vg_str_rchr(auth, '@');
        if (at >= 0) {
            vg_str ui = sub(auth, 0, (size_t)at);
            ptrdiff_t c = vg_str_chr(ui, ':');
            user = c >= 0 ? sub(ui, 0, (size_t)c) : ui;
            pass = c >= 0 ? sub(ui, (size_t)c + 1, ui.n) : empty;
            auth = sub(auth, (size_t)at + 1, auth.n);
        }
        ptrdiff_t colon = vg_str_rchr(auth, ':');
        ptrdiff_t rb = vg_str_rchr(auth, ']');
        if (colon >= 0 && colon > rb) {
            host = sub(auth, 0, (size_t)colon);
            port = sub(auth, (size_t)colon + 1, auth.n);
        } else {
            host = auth;
        }
        size_t pe = find_any(s, ae, "?#");
        path = sub(s, ae, pe);
        if (pe < s.n && s.p[pe] == '?') {
            size_t qe = find_any(s, pe + 1, "#");
            query = sub(s, pe + 1, qe);
            pe = qe;
        }
        if (pe < s.n && s.p[pe] == '#')
            frag = sub(s, pe + 1, s.n);
    }
    vg_json *bag = kql_dyn_bag(ctx->arena, 8);
    if (!bag)
        return kql_null(VG_T_DYNAMIC);
    vg_json *qp = query_bag(ctx, query);
    if (!qp)
        return kql_null(VG_T_DYNAMIC);
    if (!put_str(ctx, bag, "Scheme", scheme) || !put_str(ctx, bag, "Host", host) ||
        !put_str(ctx, bag, "Port", port) || !put_str(ctx, bag, "Path", path) ||
        !put_str(ctx, bag, "Username", user) || !put_str(ctx, bag, "Password", pass) ||
        !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("Query Parameters"), qp) ||
        !put_str(ctx, bag, "Fragment", frag))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

static bool is_sep(char c) { return c == '/' || c == '\\'; }

static kql_val fn_parse_path(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s, empty = VG_STR_LIT("");
    if (!get_str(a[0], &s))
        return kql_null(VG_T_DYNAMIC);
    vg_str scheme = empty, root = empty, dirpath = empty, dirname = empty, file = empty, ext = empty,
           ads = empty;
    vg_str p = s;
    /* scheme "x://" */
    size_t i = 0;
    while (i < p.n && isalpha((unsigned char)p.p[i]))
        i++;
    if (i > 1 && i + 3 <= p.n && memcmp(p.p + i, "://", 3) == 0) {
        scheme = sub(p, 0, i);
        p = sub(p, i + 3, p.n);
    }
    /* root: a drive letter, also after a long-path prefix \\?\ or \\.\ */
    vg_str r = p;
    if (r.n >= 4 && is_sep(r.p[0]) && is_sep(r.p[1]) && (r.p[2] == '?' || r.p[2] == '.') && is_sep(r.p[3]))
        r = sub(r, 4, r.n);
    if (r.n >= 2 && isalpha((unsigned char)r.p[0]) && r.p[1] == ':')
        root = sub(r, 0, 2);
    ptrdiff_t last = -1;
    for (size_t k = 0; k < p.n; k++)
        if (is_sep(p.p[k]))
            last = (ptrdiff_t)k;
    if (last >= 0) {
        dirpath = sub(p, 0, (size_t)last);
        file = sub(p, (size_t)last + 1, p.n);
    } else {
        file = p;
    }
    /* the directory's own name: the last component of the directory path */
    ptrdiff_t dl = -1;
    for (size_t k = 0; k < dirpath.n; k++)
        if (is_sep(dirpath.p[k]))
            dl = (ptrdiff_t)k;
    dirname = sub(dirpath, (size_t)(dl + 1), dirpath.n);
    if (root.n && vg_str_eq(dirname, root))
        dirname = empty;
    /* alternate data stream: "file.txt:stream" */
    ptrdiff_t colon = vg_str_chr(file, ':');
    if (colon >= 0) {
        ads = sub(file, (size_t)colon + 1, file.n);
        file = sub(file, 0, (size_t)colon);
    }
    ptrdiff_t dot = vg_str_rchr(file, '.');
    if (dot >= 0)
        ext = sub(file, (size_t)dot + 1, file.n);
    vg_json *bag = kql_dyn_bag(ctx->arena, 7);
    if (!bag || !put_str(ctx, bag, "Scheme", scheme) || !put_str(ctx, bag, "RootPath", root) ||
        !put_str(ctx, bag, "DirectoryPath", dirpath) || !put_str(ctx, bag, "DirectoryName", dirname) ||
        !put_str(ctx, bag, "Filename", file) || !put_str(ctx, bag, "Extension", ext) ||
        !put_str(ctx, bag, "AlternateDataStreamName", ads))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

/* format_bytes(size[, precision[, units[, base]]]): "564 Bytes", "10.1 KB",
 * "19 MB"; base 2 (1024, default) or 10 (1000); units Bytes, KB .. EB, or
 * empty to choose the largest unit not above the size. */
static kql_val fn_format_bytes(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    static const char *const units[] = { "Bytes", "KB", "MB", "GB", "TB", "PB", "EB" };
    double x;
    int64_t prec = 0, base = 2;
    vg_str unit = VG_STR_LIT("");
    if (!get_real(a[0], &x) || !isfinite(x) || (n > 1 && !get_i64(a[1], &prec)) ||
        (n > 2 && !get_str(a[2], &unit)) || (n > 3 && !get_i64(a[3], &base)) || (base != 2 && base != 10))
        return kql_null(VG_T_STRING);
    if (prec < 0)
        prec = 0;
    if (prec > 15)
        prec = 15;
    double step = base == 2 ? 1024.0 : 1000.0;
    int u = -1;
    for (int i = 0; i < 7 && unit.n; i++)
        if (vg_str_eqc_ci(unit, units[i]))
            u = i;
    if (u < 0) {
        u = 0;
        for (double ax = fabs(x); ax >= step && u < 6; ax /= step)
            u++;
    }
    double v = x;
    for (int i = 0; i < u; i++)
        v /= step;
    char *t = u == 0 ? vg_arena_printf(ctx->arena, "%.0f %s", v, units[u])
                     : vg_arena_printf(ctx->arena, "%.*f %s", (int)prec, v, units[u]);
    return t ? kql_string(vg_str_c(t)) : kql_null(VG_T_STRING);
}

/* ---- geo, hash ---- */

static vg_str mmdb_text(kql_ctx *ctx, MMDB_entry_s *e, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return VG_STR_LIT("");
    return vg_str_dup(ctx->arena, vg_str_make(d.utf8_string, d.data_size));
}

static const vg_json *mmdb_num(kql_ctx *ctx, MMDB_entry_s *e, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_DOUBLE)
        return dyn_from(ctx->arena, kql_null(VG_T_REAL));
    return dyn_from(ctx->arena, kql_real(d.double_value));
}

static kql_val fn_geo_info_from_ip_address(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    vg_str s;
    if (!ctx->geo || !get_str(a[0], &s))
        return kql_null(VG_T_DYNAMIC);
    char ip[64];
    s = vg_str_trim(s);
    if (s.n == 0 || s.n >= sizeof ip)
        return kql_null(VG_T_DYNAMIC);
    vg_str_copy_c(ip, sizeof ip, s);
    int gai = 0, err = 0;
    MMDB_lookup_result_s res = MMDB_lookup_string((MMDB_s *)ctx->geo, ip, &gai, &err);
    if (gai != 0 || err != MMDB_SUCCESS || !res.found_entry)
        return kql_null(VG_T_DYNAMIC);
    static const char *const country[] = { "country", "names", "en", NULL };
    static const char *const state[] = { "subdivisions", "0", "names", "en", NULL };
    static const char *const city[] = { "city", "names", "en", NULL };
    static const char *const lat[] = { "location", "latitude", NULL };
    static const char *const lon[] = { "location", "longitude", NULL };
    vg_json *bag = kql_dyn_bag(ctx->arena, 5);
    if (!bag || !put_str(ctx, bag, "country", mmdb_text(ctx, &res.entry, country)) ||
        !put_str(ctx, bag, "state", mmdb_text(ctx, &res.entry, state)) ||
        !put_str(ctx, bag, "city", mmdb_text(ctx, &res.entry, city)) ||
        !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("latitude"), mmdb_num(ctx, &res.entry, lat)) ||
        !kql_dyn_put(ctx->arena, bag, VG_STR_LIT("longitude"), mmdb_num(ctx, &res.entry, lon)))
        return kql_null(VG_T_DYNAMIC);
    return kql_dynamic(bag);
}

/* hash(source[, mod]): XXH64 (seed 0) of the value's text, as Kusto's xxhash64 */
static kql_val fn_hash(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].null)
        return kql_null(VG_T_LONG);
    vg_str s = a[0].t == VG_T_STRING ? a[0].u.s : to_text(ctx->arena, a[0]);
    uint64_t h = XXH64(s.p ? s.p : "", s.n, 0);
    if (n > 1) {
        int64_t m;
        if (!get_i64(a[1], &m) || m <= 0)
            return kql_null(VG_T_LONG);
        return kql_long((int64_t)(h % (uint64_t)m));
    }
    return kql_long((int64_t)h);
}

/* Argument checks at bind time: one letter per argument, the last one
 * repeating: d datetime, t timespan, n number, s string, b bool, y dynamic,
 * a anything. An argument of unknown type or of type dynamic always fits
 * (a dynamic is checked when the row runs). The same rule as in
 * kql_fn_time.c. */
static vg_type check_sig(const char *fname, const char *sig, vg_type ret, const vg_type *t, uint32_t n,
                         vg_diag *d)
{
    size_t len = strlen(sig);
    for (uint32_t i = 0; i < n && len > 0; i++) {
        char k = sig[i < len ? i : len - 1];
        vg_type x = t[i];
        if (x == KQL_T_ANY || x == VG_T_DYNAMIC || k == 'a')
            continue;
        bool ok = k == 'd' ? x == VG_T_DATETIME : k == 't' ? x == VG_T_TIMESPAN
                : k == 'n' ? kql_type_numeric(x) : k == 's' ? x == VG_T_STRING
                : k == 'b' ? x == VG_T_BOOL : false;
        if (!ok) {
            const char *want = k == 'd' ? "a datetime" : k == 't' ? "a timespan" : k == 'n' ? "a number"
                             : k == 's' ? "a string" : k == 'b' ? "a bool" : "a dynamic value";
            vg_diag_set(d, VG_ETYPE, "%s(): argument #%u must be %s, not %s", fname, i + 1, want,
                        vg_type_name(x));
            return VG_T_COUNT_;
        }
    }
    return ret;
}

#define SIG(id, ret, sig) \
    static vg_type sig_##id(const vg_type *t, uint32_t n, vg_diag *d) { return check_sig(#id, sig, ret, t, n, d); }
SIG(not, VG_T_BOOL, "b")
SIG(log, VG_T_REAL, "n")
SIG(log10, VG_T_REAL, "n")
SIG(log2, VG_T_REAL, "n")
SIG(exp, VG_T_REAL, "n")
SIG(exp2, VG_T_REAL, "n")
SIG(exp10, VG_T_REAL, "n")
SIG(sqrt, VG_T_REAL, "n")
SIG(pow, VG_T_REAL, "n")
SIG(isnan, VG_T_BOOL, "n")
SIG(isinf, VG_T_BOOL, "n")
SIG(isfinite, VG_T_BOOL, "n")
SIG(binary_and, VG_T_LONG, "n")
SIG(binary_or, VG_T_LONG, "n")
SIG(binary_xor, VG_T_LONG, "n")
SIG(binary_not, VG_T_LONG, "n")
SIG(binary_shift_left, VG_T_LONG, "n")
SIG(binary_shift_right, VG_T_LONG, "n")
SIG(array_length, VG_T_LONG, "y")
SIG(array_concat, VG_T_DYNAMIC, "y")
SIG(array_slice, VG_T_DYNAMIC, "ynn")
SIG(array_reverse, VG_T_DYNAMIC, "y")
SIG(array_index_of, VG_T_LONG, "yann")
SIG(array_sum, VG_T_REAL, "y")
SIG(array_sort_asc, VG_T_DYNAMIC, "yb")
SIG(array_sort_desc, VG_T_DYNAMIC, "yb")
SIG(set_has_element, VG_T_BOOL, "ya")
SIG(set_union, VG_T_DYNAMIC, "y")
SIG(set_intersect, VG_T_DYNAMIC, "y")
SIG(set_difference, VG_T_DYNAMIC, "y")
SIG(bag_keys, VG_T_DYNAMIC, "y")
SIG(bag_has_key, VG_T_BOOL, "ys")
SIG(bag_remove_keys, VG_T_DYNAMIC, "yy")
SIG(bag_merge, VG_T_DYNAMIC, "y")
SIG(parse_ipv4, VG_T_LONG, "s")
SIG(parse_ipv4_mask, VG_T_LONG, "sn")
SIG(ipv4_is_private, VG_T_BOOL, "s")
SIG(ipv4_is_in_range, VG_T_BOOL, "ss")
SIG(ipv4_is_in_any_range, VG_T_BOOL, "sa")
SIG(ipv4_is_match, VG_T_BOOL, "ssn")
SIG(ipv4_compare, VG_T_LONG, "ssn")
SIG(ipv4_netmask_suffix, VG_T_INT, "s")
SIG(format_ipv4, VG_T_STRING, "an")
SIG(format_ipv4_mask, VG_T_STRING, "an")
SIG(parse_url, VG_T_DYNAMIC, "s")
SIG(parse_path, VG_T_DYNAMIC, "s")
SIG(geo_info_from_ip_address, VG_T_DYNAMIC, "s")
SIG(hash, VG_T_LONG, "an")
SIG(zip, VG_T_DYNAMIC, "y")
SIG(array_iff, VG_T_DYNAMIC, "yaa")
SIG(format_bytes, VG_T_STRING, "nnsn")
SIG(sin, VG_T_REAL, "n")
SIG(cos, VG_T_REAL, "n")
SIG(tan, VG_T_REAL, "n")
SIG(cot, VG_T_REAL, "n")
SIG(asin, VG_T_REAL, "n")
SIG(acos, VG_T_REAL, "n")
SIG(atan, VG_T_REAL, "n")
SIG(atan2, VG_T_REAL, "n")
SIG(degrees, VG_T_REAL, "n")
SIG(radians, VG_T_REAL, "n")
SIG(gamma, VG_T_REAL, "n")
SIG(loggamma, VG_T_REAL, "n")
SIG(bitset_count_ones, VG_T_LONG, "n")
SIG(repeat, VG_T_DYNAMIC, "an")
SIG(parse_urlquery, VG_T_DYNAMIC, "s")
SIG(parse_ipv6, VG_T_STRING, "s")
SIG(ipv6_compare, VG_T_LONG, "ssn")
SIG(ipv6_is_match, VG_T_BOOL, "ssn")
SIG(has_ipv4, VG_T_BOOL, "ss")
SIG(has_ipv4_prefix, VG_T_BOOL, "ss")
SIG(has_any_ipv4, VG_T_BOOL, "sa")
SIG(has_any_ipv4_prefix, VG_T_BOOL, "sa")

#define R(name_, lo, hi, ret_, fn_, doc_) \
    { .name = name_, .min_args = lo, .max_args = hi, .ret = ret_, .fn = fn_, .doc = doc_ }
#define S(name_, lo, hi, typer_, fn_, doc_) \
    { .name = name_, .min_args = lo, .max_args = hi, .ret = KQL_T_ANY, .typer = typer_, .fn = fn_, .doc = doc_ }
#define T(name_, lo, hi, typer_, fn_, doc_) \
    { .name = name_, .min_args = lo, .max_args = hi, .ret = KQL_T_ANY, .typer = typer_, .fn = fn_, .doc = doc_ }

const kql_fn_def kql_fn_misc_defs[] = {
    T("iff", 3, 3, iff_type, fn_iff, "iff(condition, then, else): a null condition counts as false"),
    T("case", 3, 255, case_type, fn_case, "case(predicate1, then1, ..., else): the value of the first true predicate"),
    T("coalesce", 1, 64, coalesce_type, fn_coalesce, "coalesce(a, b, ...): the first value that is not null (nor an empty string)"),
    S("not", 1, 1, sig_not, fn_not, "not(bool): negation; null stays null"),
    R("isnull", 1, 1, VG_T_BOOL, fn_isnull, "isnull(value): true for null (a string is never null)"),
    R("isnotnull", 1, 1, VG_T_BOOL, fn_isnotnull, "isnotnull(value)"),
    T("abs", 1, 1, abs_type, fn_abs, "abs(number)"),
    T("round", 1, 2, round_type, fn_round, "round(number[, precision]): half away from zero"),
    T("ceiling", 1, 1, ceiling_type, fn_ceiling, "ceiling(number)"),
    T("sign", 1, 1, sign_type, fn_sign, "sign(number): -1, 0 or 1"),
    S("log", 1, 1, sig_log, fn_log, "log(x): natural logarithm; null for x <= 0"),
    S("log10", 1, 1, sig_log10, fn_log10, "log10(x); null for x <= 0"),
    S("log2", 1, 1, sig_log2, fn_log2, "log2(x); null for x <= 0"),
    S("exp", 1, 1, sig_exp, fn_exp, "exp(x)"),
    S("exp2", 1, 1, sig_exp2, fn_exp2, "exp2(x)"),
    S("exp10", 1, 1, sig_exp10, fn_exp10, "exp10(x)"),
    S("sqrt", 1, 1, sig_sqrt, fn_sqrt, "sqrt(x); null for x < 0"),
    S("pow", 2, 2, sig_pow, fn_pow, "pow(base, exponent)"),
    S("isnan", 1, 1, sig_isnan, fn_isnan, "isnan(x)"),
    S("isinf", 1, 1, sig_isinf, fn_isinf, "isinf(x)"),
    S("isfinite", 1, 1, sig_isfinite, fn_isfinite, "isfinite(x)"),
    T("min_of", 1, 64, minmax_type, fn_min_of, "min_of(a, b, ...): the smallest argument; nulls ignored"),
    T("max_of", 1, 64, minmax_type, fn_max_of, "max_of(a, b, ...): the largest argument; nulls ignored"),
    S("binary_and", 2, 2, sig_binary_and, fn_binary_and, "binary_and(a, b)"),
    S("binary_or", 2, 2, sig_binary_or, fn_binary_or, "binary_or(a, b)"),
    S("binary_xor", 2, 2, sig_binary_xor, fn_binary_xor, "binary_xor(a, b)"),
    S("binary_not", 1, 1, sig_binary_not, fn_binary_not, "binary_not(a)"),
    S("binary_shift_left", 2, 2, sig_binary_shift_left, fn_binary_shift_left, "binary_shift_left(a, n)"),
    S("binary_shift_right", 2, 2, sig_binary_shift_right, fn_binary_shift_right, "binary_shift_right(a, n): logical shift"),
    R("todynamic", 1, 1, VG_T_DYNAMIC, fn_todynamic, "todynamic(json): text that is not JSON becomes a dynamic string"),
    R("gettype", 1, 1, VG_T_STRING, fn_gettype, "gettype(value): long, real, string, datetime, ..., array, dictionary, null"),
    S("array_length", 1, 1, sig_array_length, fn_array_length, "array_length(array): null when not an array"),
    S("array_concat", 1, 64, sig_array_concat, fn_array_concat, "array_concat(array1, ...)"),
    S("array_slice", 3, 3, sig_array_slice, fn_array_slice, "array_slice(array, start, end): end inclusive; negatives count from the end"),
    S("array_reverse", 1, 1, sig_array_reverse, fn_array_reverse, "array_reverse(array)"),
    S("array_index_of", 2, 5, sig_array_index_of, fn_array_index_of, "array_index_of(array, value[, start[, length[, occurrence]]]): -1 when absent"),
    S("array_sum", 1, 1, sig_array_sum, fn_array_sum, "array_sum(array)"),
    S("array_sort_asc", 1, 2, sig_array_sort_asc, fn_array_sort_asc, "array_sort_asc(array[, nulls_last])"),
    S("array_sort_desc", 1, 2, sig_array_sort_desc, fn_array_sort_desc, "array_sort_desc(array[, nulls_last])"),
    S("set_has_element", 2, 2, sig_set_has_element, fn_set_has_element, "set_has_element(array, value)"),
    S("set_union", 2, 64, sig_set_union, fn_set_union, "set_union(array1, array2, ...): distinct values of all arrays"),
    S("set_intersect", 2, 64, sig_set_intersect, fn_set_intersect, "set_intersect(array1, array2, ...): distinct values in every array"),
    S("set_difference", 2, 64, sig_set_difference, fn_set_difference, "set_difference(array1, array2, ...): distinct values of array1 in no other"),
    R("pack_array", 1, 255, VG_T_DYNAMIC, fn_pack_array, "pack_array(v1, v2, ...)"),
    T("bag_pack", 0, 254, bag_pack_type, fn_bag_pack, "bag_pack(key1, value1, ...): a property bag"),
    S("bag_keys", 1, 1, sig_bag_keys, fn_bag_keys, "bag_keys(bag): the keys"),
    S("bag_has_key", 2, 2, sig_bag_has_key, fn_bag_has_key, "bag_has_key(bag, key)"),
    S("bag_remove_keys", 2, 2, sig_bag_remove_keys, fn_bag_remove_keys, "bag_remove_keys(bag, keysArray)"),
    S("bag_merge", 2, 64, sig_bag_merge, fn_bag_merge, "bag_merge(bag1, bag2, ...): on duplicate keys the first wins"),
    S("array_iff", 3, 3, sig_array_iff, fn_array_iff, "array_iff(conditions, ifTrue, ifFalse): element-wise iff"),
    S("zip", 2, 16, sig_zip, fn_zip, "zip(array1, array2, ...): an array of arrays pairing the elements (null past the end)"),
    R("series_add", 2, 2, VG_T_DYNAMIC, fn_series_add, "series_add(series1, series2): element-wise"),
    R("series_subtract", 2, 2, VG_T_DYNAMIC, fn_series_subtract, "series_subtract(series1, series2): element-wise"),
    R("series_multiply", 2, 2, VG_T_DYNAMIC, fn_series_multiply, "series_multiply(series1, series2): element-wise"),
    R("series_divide", 2, 2, VG_T_DYNAMIC, fn_series_divide, "series_divide(series1, series2): element-wise, real"),
    S("parse_ipv4", 1, 1, sig_parse_ipv4, fn_parse_ipv4, "parse_ipv4(ip): the address as a long (masked by a /prefix)"),
    S("parse_ipv4_mask", 2, 2, sig_parse_ipv4_mask, fn_parse_ipv4_mask, "parse_ipv4_mask(ip, prefix)"),
    S("ipv4_is_private", 1, 1, sig_ipv4_is_private, fn_ipv4_is_private, "ipv4_is_private(ip): in 10/8, 172.16/12 or 192.168/16"),
    S("ipv4_is_in_range", 2, 2, sig_ipv4_is_in_range, fn_ipv4_is_in_range, "ipv4_is_in_range(ip, range)"),
    S("ipv4_is_in_any_range", 2, 64, sig_ipv4_is_in_any_range, fn_ipv4_is_in_any_range, "ipv4_is_in_any_range(ip, range1, ...) or (ip, array)"),
    S("ipv4_is_match", 2, 3, sig_ipv4_is_match, fn_ipv4_is_match, "ipv4_is_match(ip1, ip2[, prefix])"),
    S("ipv4_compare", 2, 3, sig_ipv4_compare, fn_ipv4_compare, "ipv4_compare(ip1, ip2[, prefix]): -1, 0 or 1"),
    S("ipv4_netmask_suffix", 1, 1, sig_ipv4_netmask_suffix, fn_ipv4_netmask_suffix, "ipv4_netmask_suffix(ip): the /prefix (32 when absent)"),
    S("format_ipv4", 1, 2, sig_format_ipv4, fn_format_ipv4, "format_ipv4(ip[, prefix])"),
    S("format_ipv4_mask", 1, 2, sig_format_ipv4_mask, fn_format_ipv4_mask, "format_ipv4_mask(ip[, prefix]): a.b.c.d/prefix"),
    R("pi", 0, 0, VG_T_REAL, fn_pi, "pi(): 3.14159..."),
    S("sin", 1, 1, sig_sin, fn_sin, "sin(x)"),
    S("cos", 1, 1, sig_cos, fn_cos, "cos(x)"),
    S("tan", 1, 1, sig_tan, fn_tan, "tan(x)"),
    S("cot", 1, 1, sig_cot, fn_cot, "cot(x)"),
    S("asin", 1, 1, sig_asin, fn_asin, "asin(x)"),
    S("acos", 1, 1, sig_acos, fn_acos, "acos(x)"),
    S("atan", 1, 1, sig_atan, fn_atan, "atan(x)"),
    S("atan2", 2, 2, sig_atan2, fn_atan2, "atan2(y, x)"),
    S("degrees", 1, 1, sig_degrees, fn_degrees, "degrees(radians)"),
    S("radians", 1, 1, sig_radians, fn_radians, "radians(degrees)"),
    S("gamma", 1, 1, sig_gamma, fn_gamma, "gamma(x)"),
    S("loggamma", 1, 1, sig_loggamma, fn_loggamma, "loggamma(x)"),
    S("bitset_count_ones", 1, 1, sig_bitset_count_ones, fn_bitset_count_ones, "bitset_count_ones(long): number of set bits"),
    R("range", 2, 3, VG_T_DYNAMIC, fn_range, "range(start, stop[, step]): an array from start to stop inclusive"),
    S("repeat", 2, 2, sig_repeat, fn_repeat, "repeat(value, count): an array of count copies of value"),
    S("parse_urlquery", 1, 1, sig_parse_urlquery, fn_parse_urlquery, "parse_urlquery(query): {\"Query Parameters\": {...}}"),
    S("parse_ipv6", 1, 1, sig_parse_ipv6, fn_parse_ipv6, "parse_ipv6(ip): canonical IPv6 text (IPv4 as ::ffff:a.b.c.d)"),
    S("ipv6_compare", 2, 3, sig_ipv6_compare, fn_ipv6_compare, "ipv6_compare(ip1, ip2[, prefix]): -1, 0 or 1 (IPv4 accepted)"),
    S("ipv6_is_match", 2, 3, sig_ipv6_is_match, fn_ipv6_is_match, "ipv6_is_match(ip1, ip2[, prefix])"),
    S("has_ipv4", 2, 2, sig_has_ipv4, fn_has_ipv4, "has_ipv4(text, ip): the address appears in the text, delimited"),
    S("has_ipv4_prefix", 2, 2, sig_has_ipv4_prefix, fn_has_ipv4_prefix, "has_ipv4_prefix(text, prefix): an address of the text starts with prefix"),
    S("has_any_ipv4", 2, 64, sig_has_any_ipv4, fn_has_any_ipv4, "has_any_ipv4(text, ip1, ...) or (text, array)"),
    S("has_any_ipv4_prefix", 2, 64, sig_has_any_ipv4_prefix, fn_has_any_ipv4_prefix, "has_any_ipv4_prefix(text, prefix1, ...) or (text, array)"),
    S("format_bytes", 1, 4, sig_format_bytes, fn_format_bytes, "format_bytes(size[, precision[, units[, base]]]): \"10.1 KB\""),
    S("parse_url", 1, 1, sig_parse_url, fn_parse_url, "parse_url(url): Scheme, Host, Port, Path, Username, Password, Query Parameters, Fragment"),
    S("parse_path", 1, 1, sig_parse_path, fn_parse_path, "parse_path(path): Scheme, RootPath, DirectoryPath, DirectoryName, Filename, Extension, AlternateDataStreamName"),
    S("geo_info_from_ip_address", 1, 1, sig_geo_info_from_ip_address, fn_geo_info_from_ip_address,
      "geo_info_from_ip_address(ip): country, state, city, latitude, longitude (null without a GeoIP database)"),
    S("hash", 1, 2, sig_hash, fn_hash, "hash(value[, mod]): xxhash64 of the value's text"),
};
const size_t kql_fn_misc_ndefs = sizeof kql_fn_misc_defs / sizeof kql_fn_misc_defs[0];
