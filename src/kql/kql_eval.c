/*
 * kql_eval.c - vectorized evaluation of bound expressions over a chunk.
 *
 * Each node evaluates all rows of the chunk at once into a kx_vec (a column,
 * or one constant for every row). The common hunting predicates - a string
 * column compared with a constant by ==, =~, has, contains, startswith,
 * endswith, in; an integer/datetime column against a constant; and/or/not -
 * run as tight loops over the column arrays. Everything else goes through
 * the generic row path (kql_val per row), which is slower but complete.
 * Predicates can also produce a selection vector directly (kx_eval_sel),
 * which is what `where` uses.
 */
#include <math.h>
#include <string.h>

#include "kql/kql_exec.h"

static inline kql_ctx *ectx(kx_evalctx *e) { return e->ctx ? e->ctx : &e->q->ctx; }

static vg_err oom(kx_evalctx *e) { return kx_fail(e->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory"); }

vg_err kx_vec_col(vg_arena *a, const kx_vec *v, vg_type t, uint32_t n, kql_col *out)
{
    if (!v->konst && v->c.type == t) {
        *out = v->c;
        return VG_OK;
    }
    if (kql_col_alloc(a, t, n, out))
        return VG_ENOMEM;
    for (uint32_t r = 0; r < n; r++)
        kql_col_set(out, r, kx_vec_get(v, r));
    return VG_OK;
}

static inline bool col_valid(const kql_col *c, uint32_t r)
{
    return !c->valid || vg_bit_get(c->valid, r);
}

/* Is a bool vector true at row r (null = false)? */
static inline bool vec_true(const kx_vec *v, uint32_t r)
{
    if (v->konst)
        return !v->k.null && v->k.u.i != 0;
    if (v->c.type == VG_T_BOOL)
        return col_valid(&v->c, r) && v->c.v.b[r];
    kql_val x = kql_col_get(&v->c, r);
    if (x.t == VG_T_DYNAMIC)
        x = x.null ? x : kql_dyn_scalar(x.u.d);
    return !x.null && x.t == VG_T_BOOL && x.u.i;
}

/* ---- string predicates ---- */

typedef bool (*str_pred)(vg_str hay, vg_str needle, bool cs);

static bool p_eq(vg_str h, vg_str n, bool cs) { return cs ? vg_str_eq(h, n) : vg_str_eq_ci(h, n); }

/* op → predicate, case sensitivity and negation. */
static bool str_op(int op, str_pred *f, bool *cs, bool *neg)
{
    *neg = false;
    *cs = false;
    switch (op) {
    case VG_KQL_T_EQEQ: *f = p_eq; *cs = true; return true;
    case VG_KQL_T_NEQ: case VG_KQL_T_LTGT: *f = p_eq; *cs = true; *neg = true; return true;
    case VG_KQL_T_EQTILDE: *f = p_eq; return true;
    case VG_KQL_T_NTILDE: *f = p_eq; *neg = true; return true;
    case VG_KQL_T_HAS: *f = kql_str_has; return true;
    case VG_KQL_T_NHAS: *f = kql_str_has; *neg = true; return true;
    case VG_KQL_T_HAS_CS: *f = kql_str_has; *cs = true; return true;
    case VG_KQL_T_NHAS_CS: *f = kql_str_has; *cs = true; *neg = true; return true;
    case VG_KQL_T_HASPREFIX: *f = kql_str_hasprefix; return true;
    case VG_KQL_T_NHASPREFIX: *f = kql_str_hasprefix; *neg = true; return true;
    case VG_KQL_T_HASPREFIX_CS: *f = kql_str_hasprefix; *cs = true; return true;
    case VG_KQL_T_NHASPREFIX_CS: *f = kql_str_hasprefix; *cs = true; *neg = true; return true;
    case VG_KQL_T_HASSUFFIX: *f = kql_str_hassuffix; return true;
    case VG_KQL_T_NHASSUFFIX: *f = kql_str_hassuffix; *neg = true; return true;
    case VG_KQL_T_HASSUFFIX_CS: *f = kql_str_hassuffix; *cs = true; return true;
    case VG_KQL_T_NHASSUFFIX_CS: *f = kql_str_hassuffix; *cs = true; *neg = true; return true;
    case VG_KQL_T_CONTAINS: *f = kql_str_contains; return true;
    case VG_KQL_T_NCONTAINS: *f = kql_str_contains; *neg = true; return true;
    case VG_KQL_T_CONTAINS_CS: *f = kql_str_contains; *cs = true; return true;
    case VG_KQL_T_NCONTAINS_CS: *f = kql_str_contains; *cs = true; *neg = true; return true;
    case VG_KQL_T_STARTSWITH: *f = kql_str_startswith; return true;
    case VG_KQL_T_NSTARTSWITH: *f = kql_str_startswith; *neg = true; return true;
    case VG_KQL_T_STARTSWITH_CS: *f = kql_str_startswith; *cs = true; return true;
    case VG_KQL_T_NSTARTSWITH_CS: *f = kql_str_startswith; *cs = true; *neg = true; return true;
    case VG_KQL_T_ENDSWITH: *f = kql_str_endswith; return true;
    case VG_KQL_T_NENDSWITH: *f = kql_str_endswith; *neg = true; return true;
    case VG_KQL_T_ENDSWITH_CS: *f = kql_str_endswith; *cs = true; return true;
    case VG_KQL_T_NENDSWITH_CS: *f = kql_str_endswith; *cs = true; *neg = true; return true;
    default: return false;
    }
}

/* The text of a value for string operators (dynamic strings unquoted). */
static vg_str as_text(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_STRING)
        return v.u.s;
    if (v.null)
        return (vg_str){ "", 0 };
    return kql_to_string(a, v);
}

/* ---- generic scalar semantics (one row) ---- */

static double num(kql_val v) { return v.t == VG_T_REAL ? v.u.r : (double)v.u.i; }

static kql_val undyn(kql_val v)
{
    if (v.t == VG_T_DYNAMIC && !v.null)
        return kql_dyn_scalar(v.u.d);
    return v;
}

static kql_val arith(kx_evalctx *e, int op, vg_type rt, kql_val a, kql_val b)
{
    a = undyn(a);
    b = undyn(b);
    if (a.null || b.null)
        return kql_null(rt);
    if (a.t == VG_T_STRING || b.t == VG_T_STRING || a.t == VG_T_DYNAMIC || b.t == VG_T_DYNAMIC)
        return kql_null(rt);
    if (rt == VG_T_REAL) {
        double x = num(a), y = num(b), r;
        if (a.t == VG_T_TIMESPAN && b.t == VG_T_TIMESPAN && op == VG_KQL_T_SLASH)
            return y == 0 ? kql_null(rt) : kql_real((double)a.u.i / (double)b.u.i);
        switch (op) {
        case VG_KQL_T_PLUS: r = x + y; break;
        case VG_KQL_T_MINUS: r = x - y; break;
        case VG_KQL_T_STAR: r = x * y; break;
        case VG_KQL_T_SLASH: r = x / y; break;
        case VG_KQL_T_PERCENT: r = fmod(x, y); break;
        default: return kql_null(rt);
        }
        return kql_real(r);
    }
    if (rt == VG_T_TIMESPAN && (op == VG_KQL_T_STAR || op == VG_KQL_T_SLASH)) {
        /* timespan * number, timespan / number */
        kql_val ts = a.t == VG_T_TIMESPAN ? a : b, k = a.t == VG_T_TIMESPAN ? b : a;
        double f = num(k);
        if (op == VG_KQL_T_SLASH) {
            if (f == 0)
                return kql_null(rt);
            return kql_timespan((int64_t)((double)ts.u.i / f));
        }
        return kql_timespan((int64_t)((double)ts.u.i * f));
    }
    int64_t x = a.u.i, y = b.u.i, r;
    if (a.t == VG_T_REAL)
        x = (int64_t)a.u.r;
    if (b.t == VG_T_REAL)
        y = (int64_t)b.u.r;
    switch (op) {
    case VG_KQL_T_PLUS: r = (int64_t)((uint64_t)x + (uint64_t)y); break;
    case VG_KQL_T_MINUS: r = (int64_t)((uint64_t)x - (uint64_t)y); break;
    case VG_KQL_T_STAR: r = (int64_t)((uint64_t)x * (uint64_t)y); break;
    case VG_KQL_T_SLASH:
        if (y == 0 || (x == INT64_MIN && y == -1))
            return kql_null(rt);
        r = x / y;
        break;
    case VG_KQL_T_PERCENT:
        if (y == 0 || (x == INT64_MIN && y == -1))
            return kql_null(rt);
        r = x % y;
        break;
    default: return kql_null(rt);
    }
    (void)e;
    kql_val v = { .t = rt, .u.i = r };
    return v;
}

/* Comparison of two values: -2 when not comparable or null. */
static int compare(kql_val a, kql_val b)
{
    a = undyn(a);
    b = undyn(b);
    if (a.null || b.null)
        return -2;
    bool na = kql_type_numeric(a.t), nb = kql_type_numeric(b.t);
    if (na && nb) {
        if (a.t != VG_T_REAL && b.t != VG_T_REAL)
            return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
        double x = num(a), y = num(b);
        if (isnan(x) || isnan(y))
            return -2;
        return x < y ? -1 : x > y;
    }
    if (a.t == VG_T_STRING && b.t == VG_T_STRING) {
        int c = vg_str_cmp(a.u.s, b.u.s);
        return c < 0 ? -1 : c > 0;
    }
    if (a.t == b.t && a.t != VG_T_DYNAMIC)
        return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
    if (a.t == VG_T_DYNAMIC || b.t == VG_T_DYNAMIC)
        return kql_val_eq(a, b) ? 0 : -2;
    return -2;
}

static kql_val cmp_row(kx_evalctx *e, int op, kql_val a, kql_val b)
{
    if (a.t == VG_T_STRING || b.t == VG_T_STRING) {
        /* string equality; ordering of strings */
        if (op == VG_KQL_T_EQEQ || op == VG_KQL_T_NEQ || op == VG_KQL_T_LTGT) {
            kql_val ua = undyn(a), ub = undyn(b);
            if ((ua.null && ua.t != VG_T_STRING) || (ub.null && ub.t != VG_T_STRING))
                return kql_null(VG_T_BOOL);
            bool eq = vg_str_eq(as_text(e->arena, ua), as_text(e->arena, ub));
            return kql_bool(op == VG_KQL_T_EQEQ ? eq : !eq);
        }
    }
    /* Kusto: null == value is false and null != value is true; two nulls
     * (and orderings with a null) give null */
    if (op == VG_KQL_T_EQEQ || op == VG_KQL_T_NEQ || op == VG_KQL_T_LTGT) {
        kql_val ua = undyn(a), ub = undyn(b);
        bool an = ua.null && ua.t != VG_T_STRING, bn = ub.null && ub.t != VG_T_STRING;
        if (an && bn)
            return kql_null(VG_T_BOOL);
        if (an || bn)
            return kql_bool(op != VG_KQL_T_EQEQ);
    }
    int c = compare(a, b);
    if (c == -2) {
        if (op == VG_KQL_T_NEQ || op == VG_KQL_T_LTGT)
            return kql_bool(true);
        if (op == VG_KQL_T_EQEQ)
            return kql_bool(false);
        return kql_null(VG_T_BOOL);
    }
    switch (op) {
    case VG_KQL_T_EQEQ: return kql_bool(c == 0);
    case VG_KQL_T_NEQ: case VG_KQL_T_LTGT: return kql_bool(c != 0);
    case VG_KQL_T_LT: return kql_bool(c < 0);
    case VG_KQL_T_LE: return kql_bool(c <= 0);
    case VG_KQL_T_GT: return kql_bool(c > 0);
    case VG_KQL_T_GE: return kql_bool(c >= 0);
    default: return kql_null(VG_T_BOOL);
    }
}

static kql_val regex_row(kx_evalctx *e, kql_val a, const kx_vec *pat)
{
    kql_regex *re = kql_regex_get(ectx(e), pat->k.u.s);
    if (!re)
        return kql_null(VG_T_BOOL);
    size_t ov[2];
    int m = kql_regex_match(re, as_text(e->arena, undyn(a)), 0, ov, 1);
    return kql_bool(m > 0);
}

/* ---- node evaluation ---- */

static vg_err eval_bin(kx_evalctx *e, const kx_expr *x, kx_vec *out)
{
    uint32_t n = e->in->n;
    kx_vec a, b;
    vg_err err = kx_eval(e, x->args[0], &a);
    if (!err)
        err = kx_eval(e, x->args[1], &b);
    if (err)
        return err;
    int op = x->op;
    if (kql_col_alloc(e->arena, x->type, n, &out->c))
        return oom(e);
    out->konst = false;
    kql_col *o = &out->c;

    /* fast: string column (op) constant string */
    str_pred f;
    bool cs, neg;
    if (!a.konst && a.c.type == VG_T_STRING && b.konst && b.k.t == VG_T_STRING &&
        str_op(op, &f, &cs, &neg)) {
        vg_str needle = b.k.u.s;
        const vg_str *s = a.c.v.s;
        if (a.c.codes && a.c.ndict <= 4096) {
            /* dictionary-coded: decide once per dictionary entry */
            uint8_t tab[4097];
            for (uint32_t i = 0; i < a.c.ndict; i++)
                tab[i] = f(a.c.dict[i], needle, cs) != neg;
            uint8_t nullv = f((vg_str){ "", 0 }, needle, cs) != neg;
            const uint16_t *cd = a.c.codes;
            for (uint32_t r = 0; r < n; r++)
                o->v.b[r] = cd[r] == 0xFFFF ? nullv : tab[cd[r]];
            o->valid = NULL;
            return VG_OK;
        }
        if (!s) {
            /* codes only, too many entries for a table: row by row */
            for (uint32_t r = 0; r < n; r++)
                o->v.b[r] = f(kql_col_str(&a.c, r), needle, cs) != neg;
            o->valid = NULL;
            return VG_OK;
        }
        if (f == p_eq && cs) {
            for (uint32_t r = 0; r < n; r++)
                o->v.b[r] = (s[r].n == needle.n && (needle.n == 0 || memcmp(s[r].p, needle.p, needle.n) == 0)) != neg;
        } else {
            for (uint32_t r = 0; r < n; r++)
                o->v.b[r] = f(s[r], needle, cs) != neg;
        }
        o->valid = NULL;
        return VG_OK;
    }
    /* fast: int64 column compared with a constant of the same kind */
    if (!a.konst && vg_type_is_i64(a.c.type) && b.konst && !b.k.null && vg_type_is_i64(b.k.t) &&
        x->type == VG_T_BOOL && (op == VG_KQL_T_EQEQ || op == VG_KQL_T_NEQ || op == VG_KQL_T_LT ||
                                 op == VG_KQL_T_LE || op == VG_KQL_T_GT || op == VG_KQL_T_GE)) {
        const int64_t *v = a.c.v.i64;
        int64_t k = b.k.u.i;
        uint8_t *ob = o->v.b;
        switch (op) {
        case VG_KQL_T_EQEQ: for (uint32_t r = 0; r < n; r++) ob[r] = v[r] == k; break;
        case VG_KQL_T_NEQ: for (uint32_t r = 0; r < n; r++) ob[r] = v[r] != k; break;
        case VG_KQL_T_LT: for (uint32_t r = 0; r < n; r++) ob[r] = v[r] < k; break;
        case VG_KQL_T_LE: for (uint32_t r = 0; r < n; r++) ob[r] = v[r] <= k; break;
        case VG_KQL_T_GT: for (uint32_t r = 0; r < n; r++) ob[r] = v[r] > k; break;
        default: for (uint32_t r = 0; r < n; r++) ob[r] = v[r] >= k; break;
        }
        if (a.c.valid && (op == VG_KQL_T_EQEQ || op == VG_KQL_T_NEQ)) {
            /* null == k is false, null != k is true */
            for (uint32_t r = 0; r < n; r++)
                if (!vg_bit_get(a.c.valid, r))
                    ob[r] = op == VG_KQL_T_NEQ;
            o->valid = NULL;
        } else if (a.c.valid) {
            size_t words = (n + 63) / 64;
            o->valid = vg_arena_alloc(e->arena, words * 8);
            if (!o->valid)
                return oom(e);
            memcpy(o->valid, a.c.valid, words * 8);
        } else {
            o->valid = NULL;
        }
        return VG_OK;
    }
    /* generic */
    bool pred = x->type == VG_T_BOOL;
    for (uint32_t r = 0; r < n; r++) {
        kql_val va = kx_vec_get(&a, r), vb = kx_vec_get(&b, r), res;
        if (op == VG_KQL_T_MATCHES_REGEX)
            res = regex_row(e, va, &b);
        else if (pred && str_op(op, &f, &cs, &neg) && !(f == p_eq && cs)) {
            kql_val ua = undyn(va), ub = undyn(vb);
            res = kql_bool(f(as_text(e->arena, ua), as_text(e->arena, ub), cs) != neg);
        } else if (pred)
            res = cmp_row(e, op, va, vb);
        else
            res = arith(e, op, x->type, va, vb);
        kql_col_set(o, r, res);
    }
    return ectx(e)->err ? kx_seterr(e->q, ectx(e)->err) : VG_OK;
}

/* Hash set for long `in` lists. */
typedef struct kx_inset {
    uint32_t mask;
    int32_t *slots;   /* index into set, -1 empty */
} kx_inset;

static bool in_match(kx_evalctx *e, const kx_expr *x, kql_val v)
{
    bool ci = x->op == VG_KQL_T_IN_CI || x->op == VG_KQL_T_NIN_CI;
    bool has = x->op == VG_KQL_T_HAS_ANY || x->op == VG_KQL_T_HAS_ALL;
    v = undyn(v);
    if (has) {
        vg_str hay = as_text(e->arena, v);
        bool all = x->op == VG_KQL_T_HAS_ALL;
        for (uint32_t i = 0; i < x->nset; i++) {
            bool h = kql_str_has(hay, as_text(e->arena, x->set[i]), false);
            if (all && !h)
                return false;
            if (!all && h)
                return true;
        }
        return all;
    }
    if (v.null && v.t != VG_T_STRING)
        return false;
    for (uint32_t i = 0; i < x->nset; i++) {
        kql_val s = x->set[i];
        if (v.t == VG_T_STRING || s.t == VG_T_STRING) {
            vg_str a = as_text(e->arena, v), b = as_text(e->arena, s);
            if (ci ? vg_str_eq_ci(a, b) : vg_str_eq(a, b))
                return true;
        } else if (kql_val_eq(v, s))
            return true;
    }
    return false;
}

static vg_err eval_in(kx_evalctx *e, const kx_expr *x, kx_vec *out)
{
    uint32_t n = e->in->n;
    kx_vec a;
    vg_err err = kx_eval(e, x->args[0], &a);
    if (err)
        return err;
    if (kql_col_alloc(e->arena, VG_T_BOOL, n, &out->c))
        return oom(e);
    out->konst = false;
    bool neg = x->op == VG_KQL_T_NIN || x->op == VG_KQL_T_NIN_CI;
    bool ci = x->op == VG_KQL_T_IN_CI || x->op == VG_KQL_T_NIN_CI;
    if (!a.konst && a.c.type == VG_T_STRING && (x->op == VG_KQL_T_IN || x->op == VG_KQL_T_NIN ||
                                                ci)) {
        /* string column in constant strings */
        bool all_str = true;
        for (uint32_t i = 0; i < x->nset; i++)
            all_str &= x->set[i].t == VG_T_STRING;
        if (all_str) {
            for (uint32_t r = 0; r < n; r++) {
                vg_str s = kql_col_str(&a.c, r);
                bool m = false;
                for (uint32_t i = 0; i < x->nset && !m; i++)
                    m = ci ? vg_str_eq_ci(s, x->set[i].u.s) : vg_str_eq(s, x->set[i].u.s);
                out->c.v.b[r] = m != neg;
            }
            out->c.valid = NULL;
            return VG_OK;
        }
    }
    for (uint32_t r = 0; r < n; r++) {
        kql_val v = kx_vec_get(&a, r);
        out->c.v.b[r] = in_match(e, x, v) != neg;
    }
    out->c.valid = NULL;
    return VG_OK;
}

static vg_err eval_logic(kx_evalctx *e, const kx_expr *x, kx_vec *out)
{
    uint32_t n = e->in->n;
    kx_vec a, b;
    vg_err err = kx_eval(e, x->args[0], &a);
    if (!err)
        err = kx_eval(e, x->args[1], &b);
    if (err)
        return err;
    if (kql_col_alloc(e->arena, VG_T_BOOL, n, &out->c))
        return oom(e);
    out->konst = false;
    bool isand = x->k == KX_AND;
    for (uint32_t r = 0; r < n; r++) {
        kql_val va = undyn(kx_vec_get(&a, r)), vb = undyn(kx_vec_get(&b, r));
        bool an = va.null || va.t != VG_T_BOOL, bn = vb.null || vb.t != VG_T_BOOL;
        bool av = !an && va.u.i, bv = !bn && vb.u.i;
        kql_val res;
        if (isand) {
            if ((!an && !av) || (!bn && !bv))
                res = kql_bool(false);
            else if (an || bn)
                res = kql_null(VG_T_BOOL);
            else
                res = kql_bool(true);
        } else {
            if (av || bv)
                res = kql_bool(true);
            else if (an || bn)
                res = kql_null(VG_T_BOOL);
            else
                res = kql_bool(false);
        }
        kql_col_set(&out->c, r, res);
    }
    return VG_OK;
}

static vg_err eval_call(kx_evalctx *e, const kx_expr *x, kx_vec *out)
{
    uint32_t n = e->in->n;
    kx_vec av[KX_MAX_ARGS];
    bool allk = true;
    for (uint32_t i = 0; i < x->n; i++) {
        vg_err err = kx_eval(e, x->args[i], &av[i]);
        if (err)
            return err;
        allk &= av[i].konst;
    }
    kql_ctx ctx = *ectx(e);
    ctx.arena = e->arena;
    kql_val args[KX_MAX_ARGS];
    /* bin(datetime column, timespan constant): the hot key of time charts,
     * as a loop (bins count from 0001-01-01 as kql_fn_time.c's bin does);
     * rows outside the datetime range take the row path below */
    if (x->n == 2 && !av[0].konst && av[0].c.type == VG_T_DATETIME && av[1].konst &&
        av[1].k.t == VG_T_TIMESPAN && !av[1].k.null && av[1].k.u.i > 0 && x->type == VG_T_DATETIME &&
        (!strcmp(x->fn->name, "bin") || !strcmp(x->fn->name, "floor"))) {
        if (kql_col_alloc(e->arena, VG_T_DATETIME, n, &out->c))
            return oom(e);
        out->konst = false;
        int64_t size = av[1].k.u.i;
        const kql_col *in = &av[0].c;
        for (uint32_t r = 0; r < n; r++) {
            if (in->valid && !vg_bit_get(in->valid, r))
                continue;
            int64_t v = in->v.i64[r];
            if (v < VG_TIME_MIN || v > VG_TIME_MAX) {
                args[0] = kql_col_get(in, r);
                args[1] = av[1].k;
                kql_col_set(&out->c, r, x->fn->fn(&ctx, args, 2));
                continue;
            }
            int64_t off = v - VG_TIME_MIN;
            out->c.v.i64[r] = off / size * size + VG_TIME_MIN;
            vg_bit_set(out->c.valid, r);
        }
        return VG_OK;
    }
    if (allk) {
        for (uint32_t i = 0; i < x->n; i++)
            args[i] = av[i].k;
        out->konst = true;
        out->k = x->fn->fn(&ctx, args, x->n);
        if (out->k.t != x->type)
            out->k = kql_cast(e->arena, out->k, x->type);
        ectx(e)->regexes = ctx.regexes;
        if (ctx.err)
            return kx_seterr(e->q, ctx.err);
        return VG_OK;
    }
    if (kql_col_alloc(e->arena, x->type, n, &out->c))
        return oom(e);
    out->konst = false;
    for (uint32_t r = 0; r < n; r++) {
        for (uint32_t i = 0; i < x->n; i++)
            args[i] = kx_vec_get(&av[i], r);
        kql_col_set(&out->c, r, x->fn->fn(&ctx, args, x->n));
        if (ctx.err)
            break;
    }
    ectx(e)->regexes = ctx.regexes;
    if (ctx.err)
        return kx_seterr(e->q, ctx.err);
    return VG_OK;
}

static vg_err eval_rowfn(kx_evalctx *e, const kx_expr *x, kx_vec *out);

vg_err kx_eval(kx_evalctx *e, const kx_expr *x, kx_vec *out)
{
    uint32_t n = e->in->n;
    switch (x->k) {
    case KX_CONST:
        out->konst = true;
        out->k = x->kv;
        return VG_OK;
    case KX_COL:
        out->konst = false;
        out->c = e->in->cols[x->col];
        return VG_OK;
    case KX_BIN:
        return eval_bin(e, x, out);
    case KX_AND: case KX_OR:
        return eval_logic(e, x, out);
    case KX_IN:
        return eval_in(e, x, out);
    case KX_CALL:
        return eval_call(e, x, out);
    case KX_ROWFN:
        return eval_rowfn(e, x, out);
    default:
        break;
    }
    /* one-argument-or-more generic nodes */
    kx_vec av[3];
    for (uint32_t i = 0; i < x->n && i < 3; i++) {
        vg_err err = kx_eval(e, x->args[i], &av[i]);
        if (err)
            return err;
    }
    if (kql_col_alloc(e->arena, x->type, n, &out->c))
        return oom(e);
    out->konst = false;
    for (uint32_t r = 0; r < n; r++) {
        kql_val res;
        switch (x->k) {
        case KX_NEG: {
            kql_val v = undyn(kx_vec_get(&av[0], r));
            if (v.null || v.t == VG_T_STRING || v.t == VG_T_DYNAMIC)
                res = kql_null(x->type);
            else if (v.t == VG_T_REAL)
                res = kql_real(-v.u.r);
            else {
                res = v;
                res.u.i = (int64_t)(0 - (uint64_t)v.u.i);
            }
            break;
        }
        case KX_BETWEEN: {
            kql_val v = kx_vec_get(&av[0], r);
            kql_val lo = kx_vec_get(&av[1], r), hi = kx_vec_get(&av[2], r);
            /* `x between (a .. b)` with a timespan upper bound on datetimes: a + b */
            if (undyn(v).t == VG_T_DATETIME && hi.t == VG_T_TIMESPAN && lo.t == VG_T_DATETIME &&
                !lo.null && !hi.null)
                hi = kql_datetime(lo.u.i + hi.u.i);
            int c1 = compare(v, lo), c2 = compare(v, hi);
            if (c1 == -2 || c2 == -2)
                res = kql_null(VG_T_BOOL);
            else {
                bool in = c1 >= 0 && c2 <= 0;
                res = kql_bool(x->op == VG_KQL_T_BETWEEN ? in : !in);
            }
            break;
        }
        case KX_MEMBER: {
            kql_val v = kx_vec_get(&av[0], r);
            const vg_json *d = NULL;
            if (v.t == VG_T_DYNAMIC && !v.null)
                d = kql_dyn_member(v.u.d, x->name);
            res = kql_dynamic(d);
            break;
        }
        case KX_INDEX: {
            kql_val v = kx_vec_get(&av[0], r), i = undyn(kx_vec_get(&av[1], r));
            const vg_json *d = NULL;
            if (v.t == VG_T_DYNAMIC && !v.null && !i.null) {
                if (i.t == VG_T_STRING)
                    d = kql_dyn_member(v.u.d, i.u.s);
                else if (vg_type_is_i64(i.t))
                    d = kql_dyn_index(v.u.d, i.u.i);
                else if (i.t == VG_T_REAL)
                    d = kql_dyn_index(v.u.d, (int64_t)i.u.r);
            }
            res = kql_dynamic(d);
            break;
        }
        case KX_CAST:
            res = kql_cast(e->arena, kx_vec_get(&av[0], r), x->type);
            break;
        default:
            return kx_fail(e->q, x->pos, VG_EUNSUPPORTED, "cannot evaluate this expression");
        }
        kql_col_set(&out->c, r, res);
    }
    return VG_OK;
}

/* row_number(), prev(), next(): rows of this chunk, with neighbours read from
 * e->win (the whole serialized relation) when the chunk is part of one. */

static vg_err eval_rowfn(kx_evalctx *e, const kx_expr *x, kx_vec *out)
{
    uint32_t n = e->in->n;
    if (kql_col_alloc(e->arena, x->type, n, &out->c))
        return oom(e);
    out->konst = false;
    if (x->op == 0) {
        int64_t start = x->kv.null ? 1 : x->kv.u.i;
        for (uint32_t r = 0; r < n; r++)
            kql_col_set(&out->c, r, kql_long(start + (int64_t)(e->row_base + r)));
        return VG_OK;
    }
    int64_t off = 1;
    kx_vec dv = { .konst = true, .k = kql_null(x->type) };
    if (x->n >= 2) {
        kx_vec ov;
        vg_err err = kx_eval(e, x->args[1], &ov);
        if (err)
            return err;
        if (ov.konst && !ov.k.null)
            off = ov.k.u.i;
    }
    if (x->n >= 3) {
        vg_err err = kx_eval(e, x->args[2], &dv);
        if (err)
            return err;
    }
    int col = x->args[0]->col;
    const kx_rel *rel = e->win ? e->win->rel : NULL;
    for (uint32_t r = 0; r < n; r++) {
        int64_t g = (int64_t)(e->row_base + r) + (x->op == 1 ? -off : off);
        kql_val v = kx_vec_get(&dv, r);
        if (rel) {
            if (g >= 0 && (uint64_t)g < rel->rows) {
                uint32_t ci, ri;
                kx_rel_locate(rel, (uint64_t)g, &ci, &ri);
                v = kql_col_get(&rel->chunks[ci].cols[col], ri);
            }
        } else {
            int64_t lr = g - (int64_t)e->row_base;
            if (lr >= 0 && lr < n)
                v = kql_col_get(&e->in->cols[col], (uint32_t)lr);
        }
        kql_col_set(&out->c, r, v);
    }
    return VG_OK;
}

static uint32_t chunk_width(const kx_expr *x)
{
    uint32_t w = x->k == KX_COL ? (uint32_t)x->col + 1 : 0;
    for (uint32_t i = 0; i < x->n; i++) {
        uint32_t k = chunk_width(x->args[i]);
        if (k > w)
            w = k;
    }
    return w;
}

vg_err kx_eval_sel(kx_evalctx *e, const kx_expr *x, uint32_t *sel, uint32_t *nsel)
{
    uint32_t n = e->in->n;
    /* and-chains: filter by the left side first, then evaluate the right
     * side only on the survivors (a costly `contains` after a selective
     * `==` runs on a few rows, not on all of them) */
    if (x->k == KX_AND) {
        vg_err err = kx_eval_sel(e, x->args[0], sel, nsel);
        if (err || *nsel == 0)
            return err;
        if (*nsel == n)
            return kx_eval_sel(e, x->args[1], sel, nsel);
        uint32_t w = chunk_width(x->args[1]);
        kx_schema ws = { .n = w };
        kx_chunk sub;
        if (kx_chunk_gather(e->arena, &ws, e->in, sel, *nsel, &sub))
            return kx_fail(e->q, x->pos, VG_ENOMEM, "out of memory");
        uint32_t *sel2 = vg_arena_alloc(e->arena, (*nsel ? *nsel : 1) * sizeof *sel2);
        if (!sel2)
            return kx_fail(e->q, x->pos, VG_ENOMEM, "out of memory");
        kx_evalctx e2 = *e;
        e2.in = &sub;
        uint32_t n2;
        if ((err = kx_eval_sel(&e2, x->args[1], sel2, &n2)))
            return err;
        for (uint32_t k = 0; k < n2; k++)
            sel[k] = sel[sel2[k]];
        *nsel = n2;
        return VG_OK;
    }
    kx_vec v;
    vg_err err = kx_eval(e, x, &v);
    if (err)
        return err;
    uint32_t k = 0;
    if (v.konst) {
        if (!v.k.null && v.k.t == VG_T_BOOL && v.k.u.i)
            for (uint32_t r = 0; r < n; r++)
                sel[k++] = r;
    } else if (v.c.type == VG_T_BOOL && !v.c.valid) {
        const uint8_t *b = v.c.v.b;
        for (uint32_t r = 0; r < n; r++) {
            sel[k] = r;
            k += b[r] != 0;
        }
    } else {
        for (uint32_t r = 0; r < n; r++)
            if (vec_true(&v, r))
                sel[k++] = r;
    }
    *nsel = k;
    return VG_OK;
}
