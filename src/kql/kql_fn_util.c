/*
 * kql_fn_util.c - the argument getters, dynamic-value helpers and the
 * signature checker shared by the scalar function tables (kql_fn_time.c,
 * kql_fn_misc.c, kql_fn_net.c, kql_fn_dyn.c); declared in kql_fn_int.h.
 *
 * A dynamic is unwrapped with kql_dyn_scalar, which yields only a bool,
 * long, real, string or dynamic: a bool counts as an integer (as a bool
 * value does), never as a real; a string never counts as a number.
 */
#include <math.h>
#include <string.h>

#include "kql/kql_fn_int.h"

bool kql_arg_i64(kql_val v, int64_t *o)
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
        return s.t != VG_T_DYNAMIC && s.t != VG_T_STRING && kql_arg_i64(s, o);
    }
    default:
        return false;
    }
}

bool kql_arg_real(kql_val v, double *o)
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
        return (s.t == VG_T_LONG || s.t == VG_T_REAL) && kql_arg_real(s, o);
    }
    default:
        return false;
    }
}

const vg_json *kql_fn_dyn_from(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_DATETIME && !v.null && (v.u.i < VG_TIME_MIN || v.u.i > VG_TIME_MAX))
        v = kql_null(VG_T_DATETIME);
    return kql_dyn_from(a, v);
}

vg_str kql_fn_text(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_DATETIME && !v.null && (v.u.i < VG_TIME_MIN || v.u.i > VG_TIME_MAX))
        v = kql_null(VG_T_DATETIME);
    return kql_to_string(a, v);
}

const vg_json *kql_fn_dyn_str(kql_ctx *ctx, vg_str s) { return kql_fn_dyn_from(ctx->arena, kql_string(s)); }

vg_type kql_fn_check_sig(const char *fname, const char *sig, vg_type ret, const vg_type *t, uint32_t n,
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
