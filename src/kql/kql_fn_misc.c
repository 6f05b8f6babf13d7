/*
 * kql_fn_misc.c - Kusto's logic, math, binary, format_bytes and hash
 * functions: table kql_fn_misc_defs, joined into the registry by kql_fn.c.
 * The dynamic/array/set/bag functions are in kql_fn_dyn.c, the IP, URL,
 * path and geo ones in kql_fn_net.c; the argument helpers they share with
 * this file are in kql_fn_int.h.
 *
 * Null rules follow Kusto: math on a null is null; iff() takes a null
 * condition as false; coalesce() skips nulls and empty strings. A datetime
 * outside 0001..9999 reaching a dynamic or a text is taken as null.
 *
 * Typing of iff/case/coalesce/min_of/max_of: the common type of the
 * branches (INT+LONG -> LONG, any number + REAL -> REAL, anything + DYNAMIC
 * -> DYNAMIC, same type -> that type); other mixes are an error at bind time.
 * At run time the chosen branch is promoted the same way, so the value's
 * type matches what the typer announced. Most other rows check their
 * argument types at bind time through a signature string (kql_fn_check_sig).
 */
#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "kql/kql_fn_int.h"

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
        return kql_dynamic(kql_fn_dyn_from(ctx->arena, v));
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
    return kql_arg_i64(a[0], &i) ? kql_bool(i == 0) : kql_null(VG_T_BOOL);
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
    return kql_arg_real(a[0], &x) ? kql_real(fabs(x)) : kql_null(VG_T_REAL);
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
    if (n > 1 && !kql_arg_i64(a[1], &prec))
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
    if (!kql_arg_real(a[0], &x))
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
    return kql_arg_real(a[0], &x) ? kql_real(ceil(x)) : kql_null(VG_T_REAL);
}

static kql_val fn_sign(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (is_int_type(a[0].t)) {
        if (a[0].null)
            return kql_null(a[0].t);
        return int_like(a[0], (a[0].u.i > 0) - (a[0].u.i < 0));
    }
    double x;
    if (!kql_arg_real(a[0], &x) || isnan(x))
        return kql_null(VG_T_REAL);
    return kql_real((x > 0) - (x < 0));
}

/* log-like functions: null outside their domain, as Kusto */
static kql_val real1(const kql_val *a, double (*f)(double), bool positive_only, bool nonneg_only)
{
    double x;
    if (!kql_arg_real(a[0], &x))
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
    if (!kql_arg_real(a[0], &y) || !kql_arg_real(a[1], &x))
        return kql_null(VG_T_REAL);
    return kql_real(atan2(y, x));
}

static kql_val fn_bitset_count_ones(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    int64_t x;
    if (!kql_arg_i64(a[0], &x))
        return kql_null(VG_T_LONG);
    return kql_long(__builtin_popcountll((unsigned long long)x));
}

static kql_val fn_pow(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x, y;
    if (!kql_arg_real(a[0], &x) || !kql_arg_real(a[1], &y))
        return kql_null(VG_T_REAL);
    return kql_real(pow(x, y));
}

static kql_val fn_isnan(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x;
    return kql_arg_real(a[0], &x) ? kql_bool(isnan(x)) : kql_null(VG_T_BOOL);
}

static kql_val fn_isinf(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x;
    return kql_arg_real(a[0], &x) ? kql_bool(isinf(x)) : kql_null(VG_T_BOOL);
}

static kql_val fn_isfinite(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    double x;
    return kql_arg_real(a[0], &x) ? kql_bool(isfinite(x)) : kql_null(VG_T_BOOL);
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
        if (!kql_arg_i64(a[0], &x) || (n > 1 && !kql_arg_i64(a[1], &y))) \
            return kql_null(VG_T_LONG); \
        return kql_long(expr); \
    }
BIN_OP(binary_and, x & y)
BIN_OP(binary_or, x | y)
BIN_OP(binary_xor, x ^ y)
BIN_OP(binary_not, ~x)
BIN_OP(binary_shift_left, y < 0 || y > 63 ? 0 : (int64_t)((uint64_t)x << y))
BIN_OP(binary_shift_right, y < 0 || y > 63 ? 0 : (int64_t)((uint64_t)x >> y))

/* ---- format_bytes, hash ---- */

/* format_bytes(size[, precision[, units[, base]]]): "564 Bytes", "10.1 KB",
 * "19 MB"; base 2 (1024, default) or 10 (1000); units Bytes, KB .. EB, or
 * empty to choose the largest unit not above the size. */
static kql_val fn_format_bytes(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    static const char *const units[] = { "Bytes", "KB", "MB", "GB", "TB", "PB", "EB" };
    double x;
    int64_t prec = 0, base = 2;
    vg_str unit = VG_STR_LIT("");
    if (!kql_arg_real(a[0], &x) || !isfinite(x) || (n > 1 && !kql_arg_i64(a[1], &prec)) ||
        (n > 2 && !kql_arg_str(a[2], &unit)) || (n > 3 && !kql_arg_i64(a[3], &base)) || (base != 2 && base != 10))
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

/* hash(source[, mod]): XXH64 (seed 0) of the value's text, as Kusto's xxhash64 */
static kql_val fn_hash(kql_ctx *ctx, const kql_val *a, uint32_t n)
{
    if (a[0].null)
        return kql_null(VG_T_LONG);
    vg_str s = a[0].t == VG_T_STRING ? a[0].u.s : kql_fn_text(ctx->arena, a[0]);
    uint64_t h = XXH64(s.p ? s.p : "", s.n, 0);
    if (n > 1) {
        int64_t m;
        if (!kql_arg_i64(a[1], &m) || m <= 0)
            return kql_null(VG_T_LONG);
        return kql_long((int64_t)(h % (uint64_t)m));
    }
    return kql_long((int64_t)h);
}

KQL_FN_SIG(not, VG_T_BOOL, "b")
KQL_FN_SIG(log, VG_T_REAL, "n")
KQL_FN_SIG(log10, VG_T_REAL, "n")
KQL_FN_SIG(log2, VG_T_REAL, "n")
KQL_FN_SIG(exp, VG_T_REAL, "n")
KQL_FN_SIG(exp2, VG_T_REAL, "n")
KQL_FN_SIG(exp10, VG_T_REAL, "n")
KQL_FN_SIG(sqrt, VG_T_REAL, "n")
KQL_FN_SIG(pow, VG_T_REAL, "n")
KQL_FN_SIG(isnan, VG_T_BOOL, "n")
KQL_FN_SIG(isinf, VG_T_BOOL, "n")
KQL_FN_SIG(isfinite, VG_T_BOOL, "n")
KQL_FN_SIG(binary_and, VG_T_LONG, "n")
KQL_FN_SIG(binary_or, VG_T_LONG, "n")
KQL_FN_SIG(binary_xor, VG_T_LONG, "n")
KQL_FN_SIG(binary_not, VG_T_LONG, "n")
KQL_FN_SIG(binary_shift_left, VG_T_LONG, "n")
KQL_FN_SIG(binary_shift_right, VG_T_LONG, "n")
KQL_FN_SIG(hash, VG_T_LONG, "an")
KQL_FN_SIG(format_bytes, VG_T_STRING, "nnsn")
KQL_FN_SIG(sin, VG_T_REAL, "n")
KQL_FN_SIG(cos, VG_T_REAL, "n")
KQL_FN_SIG(tan, VG_T_REAL, "n")
KQL_FN_SIG(cot, VG_T_REAL, "n")
KQL_FN_SIG(asin, VG_T_REAL, "n")
KQL_FN_SIG(acos, VG_T_REAL, "n")
KQL_FN_SIG(atan, VG_T_REAL, "n")
KQL_FN_SIG(atan2, VG_T_REAL, "n")
KQL_FN_SIG(degrees, VG_T_REAL, "n")
KQL_FN_SIG(radians, VG_T_REAL, "n")
KQL_FN_SIG(gamma, VG_T_REAL, "n")
KQL_FN_SIG(loggamma, VG_T_REAL, "n")
KQL_FN_SIG(bitset_count_ones, VG_T_LONG, "n")

const kql_fn_def kql_fn_misc_defs[] = {
    KQL_FN_TYPED("iff", 3, 3, iff_type, fn_iff, "iff(condition, then, else): a null condition counts as false"),
    KQL_FN_TYPED("case", 3, 255, case_type, fn_case, "case(predicate1, then1, ..., else): the value of the first true predicate"),
    KQL_FN_TYPED("coalesce", 1, 64, coalesce_type, fn_coalesce, "coalesce(a, b, ...): the first value that is not null (nor an empty string)"),
    KQL_FN_TYPED("not", 1, 1, sig_not, fn_not, "not(bool): negation; null stays null"),
    KQL_FN_ROW("isnull", 1, 1, VG_T_BOOL, fn_isnull, "isnull(value): true for null (a string is never null)"),
    KQL_FN_ROW("isnotnull", 1, 1, VG_T_BOOL, fn_isnotnull, "isnotnull(value)"),
    KQL_FN_TYPED("abs", 1, 1, abs_type, fn_abs, "abs(number)"),
    KQL_FN_TYPED("round", 1, 2, round_type, fn_round, "round(number[, precision]): half away from zero"),
    KQL_FN_TYPED("ceiling", 1, 1, ceiling_type, fn_ceiling, "ceiling(number)"),
    KQL_FN_TYPED("sign", 1, 1, sign_type, fn_sign, "sign(number): -1, 0 or 1"),
    KQL_FN_TYPED("log", 1, 1, sig_log, fn_log, "log(x): natural logarithm; null for x <= 0"),
    KQL_FN_TYPED("log10", 1, 1, sig_log10, fn_log10, "log10(x); null for x <= 0"),
    KQL_FN_TYPED("log2", 1, 1, sig_log2, fn_log2, "log2(x); null for x <= 0"),
    KQL_FN_TYPED("exp", 1, 1, sig_exp, fn_exp, "exp(x)"),
    KQL_FN_TYPED("exp2", 1, 1, sig_exp2, fn_exp2, "exp2(x)"),
    KQL_FN_TYPED("exp10", 1, 1, sig_exp10, fn_exp10, "exp10(x)"),
    KQL_FN_TYPED("sqrt", 1, 1, sig_sqrt, fn_sqrt, "sqrt(x); null for x < 0"),
    KQL_FN_TYPED("pow", 2, 2, sig_pow, fn_pow, "pow(base, exponent)"),
    KQL_FN_TYPED("isnan", 1, 1, sig_isnan, fn_isnan, "isnan(x)"),
    KQL_FN_TYPED("isinf", 1, 1, sig_isinf, fn_isinf, "isinf(x)"),
    KQL_FN_TYPED("isfinite", 1, 1, sig_isfinite, fn_isfinite, "isfinite(x)"),
    KQL_FN_TYPED("min_of", 1, 64, minmax_type, fn_min_of, "min_of(a, b, ...): the smallest argument; nulls ignored"),
    KQL_FN_TYPED("max_of", 1, 64, minmax_type, fn_max_of, "max_of(a, b, ...): the largest argument; nulls ignored"),
    KQL_FN_TYPED("binary_and", 2, 2, sig_binary_and, fn_binary_and, "binary_and(a, b)"),
    KQL_FN_TYPED("binary_or", 2, 2, sig_binary_or, fn_binary_or, "binary_or(a, b)"),
    KQL_FN_TYPED("binary_xor", 2, 2, sig_binary_xor, fn_binary_xor, "binary_xor(a, b)"),
    KQL_FN_TYPED("binary_not", 1, 1, sig_binary_not, fn_binary_not, "binary_not(a)"),
    KQL_FN_TYPED("binary_shift_left", 2, 2, sig_binary_shift_left, fn_binary_shift_left, "binary_shift_left(a, n)"),
    KQL_FN_TYPED("binary_shift_right", 2, 2, sig_binary_shift_right, fn_binary_shift_right, "binary_shift_right(a, n): logical shift"),
    KQL_FN_ROW("pi", 0, 0, VG_T_REAL, fn_pi, "pi(): 3.14159..."),
    KQL_FN_TYPED("sin", 1, 1, sig_sin, fn_sin, "sin(x)"),
    KQL_FN_TYPED("cos", 1, 1, sig_cos, fn_cos, "cos(x)"),
    KQL_FN_TYPED("tan", 1, 1, sig_tan, fn_tan, "tan(x)"),
    KQL_FN_TYPED("cot", 1, 1, sig_cot, fn_cot, "cot(x)"),
    KQL_FN_TYPED("asin", 1, 1, sig_asin, fn_asin, "asin(x)"),
    KQL_FN_TYPED("acos", 1, 1, sig_acos, fn_acos, "acos(x)"),
    KQL_FN_TYPED("atan", 1, 1, sig_atan, fn_atan, "atan(x)"),
    KQL_FN_TYPED("atan2", 2, 2, sig_atan2, fn_atan2, "atan2(y, x)"),
    KQL_FN_TYPED("degrees", 1, 1, sig_degrees, fn_degrees, "degrees(radians)"),
    KQL_FN_TYPED("radians", 1, 1, sig_radians, fn_radians, "radians(degrees)"),
    KQL_FN_TYPED("gamma", 1, 1, sig_gamma, fn_gamma, "gamma(x)"),
    KQL_FN_TYPED("loggamma", 1, 1, sig_loggamma, fn_loggamma, "loggamma(x)"),
    KQL_FN_TYPED("bitset_count_ones", 1, 1, sig_bitset_count_ones, fn_bitset_count_ones, "bitset_count_ones(long): number of set bits"),
    KQL_FN_TYPED("format_bytes", 1, 4, sig_format_bytes, fn_format_bytes, "format_bytes(size[, precision[, units[, base]]]): \"10.1 KB\""),
    KQL_FN_TYPED("hash", 1, 2, sig_hash, fn_hash, "hash(value[, mod]): xxhash64 of the value's text"),
};
const size_t kql_fn_misc_ndefs = sizeof kql_fn_misc_defs / sizeof kql_fn_misc_defs[0];
