/*
 * kql_fn_int.h - private to the scalar function tables (kql_fn_time.c,
 * kql_fn_misc.c, kql_fn_net.c, kql_fn_dyn.c): the argument getters, the
 * dynamic-value helpers and the bind-time signature checker they share.
 * The out-of-line ones live in kql_fn_util.c.
 *
 * The getters never fail a query: they return false when the argument is
 * null or does not convert, and the row then returns a null of its type.
 * A dynamic holding a scalar is unwrapped (a JSON number counts as a
 * number, a JSON string as a string); a container never converts. Values
 * built here live in the caller's arena (ctx->arena for a row).
 */
#ifndef VG_KQL_FN_INT_H
#define VG_KQL_FN_INT_H

#include "kql/kql_val.h"

/* An integer from an int, long, bool, finite real within +-9.2e18 (truncated),
 * or a dynamic holding one of those. */
bool kql_arg_i64(kql_val v, int64_t *o);
/* A real from an int, long, real, or a dynamic number. */
bool kql_arg_real(kql_val v, double *o);

/* The text of a string, or of a dynamic string (never converted). */
static inline bool kql_arg_str(kql_val v, vg_str *o)
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

/* The dynamic array (or property bag) in v, or NULL. */
static inline const vg_json *kql_arg_array(kql_val v)
{
    return v.t == VG_T_DYNAMIC && !v.null && v.u.d->kind == VG_JSON_ARRAY ? v.u.d : NULL;
}

static inline const vg_json *kql_arg_bag(kql_val v)
{
    return v.t == VG_T_DYNAMIC && !v.null && v.u.d->kind == VG_JSON_OBJECT ? v.u.d : NULL;
}

/* kql_dyn_from and kql_to_string, with a datetime outside 0001..9999 taken
 * as null. */
const vg_json *kql_fn_dyn_from(vg_arena *a, kql_val v);
vg_str kql_fn_text(vg_arena *a, kql_val v);
/* A string as a dynamic value in ctx->arena (NULL when out of memory). */
const vg_json *kql_fn_dyn_str(kql_ctx *ctx, vg_str s);

/* A dynamic result, or a dynamic null when building it failed. */
static inline kql_val kql_fn_dyn_result(const vg_json *d) { return d ? kql_dynamic(d) : kql_null(VG_T_DYNAMIC); }

/* Argument checks at bind time: one letter per argument, the last one
 * repeating: d datetime, t timespan, n number, s string, b bool, y dynamic,
 * a anything. An argument of unknown type or of type dynamic always fits
 * (a dynamic is checked when the row runs). Returns ret, or VG_T_COUNT_
 * with the error in d naming fname. */
vg_type kql_fn_check_sig(const char *fname, const char *sig, vg_type ret, const vg_type *t, uint32_t n,
                         vg_diag *d);

/* KQL_FN_SIG(id, ret, sig) defines the typer sig_<id> of function id. */
#define KQL_FN_SIG(id, ret, sig) \
    static vg_type sig_##id(const vg_type *t, uint32_t n, vg_diag *d) \
    { \
        return kql_fn_check_sig(#id, sig, ret, t, n, d); \
    }

/* Table rows: KQL_FN_ROW has a fixed result type; KQL_FN_TYPED asks its
 * typer at bind time. */
#define KQL_FN_ROW(name_, lo, hi, ret_, fn_, doc_) \
    { .name = name_, .min_args = lo, .max_args = hi, .ret = ret_, .fn = fn_, .doc = doc_ }
#define KQL_FN_TYPED(name_, lo, hi, typer_, fn_, doc_) \
    { .name = name_, .min_args = lo, .max_args = hi, .ret = KQL_T_ANY, .typer = typer_, .fn = fn_, .doc = doc_ }

#endif
