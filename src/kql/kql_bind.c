/*
 * kql_bind.c - the binder: syntax expressions → typed kx_expr trees.
 *
 * Names resolve against the input row's columns first, then let-bound
 * scalars (innermost scope first); calls against user functions (let f =
 * (...) {...}, inlined with their parameters bound), then the function
 * registry, then (inside summarize) the aggregations. Types follow Kusto's
 * rules for arithmetic and comparison; a comparison of incompatible types
 * is an error, as in Kusto. Sub-expressions without column references are
 * folded into constants here, so that `Timestamp > ago(7d)` reaches the
 * planner as a column compared with a constant and can prune the store.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/vg_time.h"
#include "kql/kql_exec.h"

static kx_expr *new_expr(kx_query *q, kx_ek k, vg_type t, uint32_t n, vg_kql_pos pos)
{
    kx_expr *x = vg_arena_zalloc(q->a, sizeof *x);
    if (!x) {
        kx_fail(q, pos, VG_ENOMEM, "out of memory");
        return NULL;
    }
    x->k = k;
    x->type = t;
    x->n = n;
    x->pos = pos;
    if (n) {
        x->args = vg_arena_zalloc(q->a, n * sizeof *x->args);
        if (!x->args) {
            kx_fail(q, pos, VG_ENOMEM, "out of memory");
            return NULL;
        }
    }
    return x;
}

kx_expr *kx_const_expr(kx_query *q, kql_val v)
{
    kx_expr *x = new_expr(q, KX_CONST, v.t, 0, (vg_kql_pos){ 0 });
    if (x)
        x->kv = v;
    return x;
}

static bool is_const(const kx_expr *x) { return x->k == KX_CONST; }

/* Evaluates a column-free expression once and replaces it by its value. */
static kx_expr *fold(kx_bind *b, kx_expr *x)
{
    if (!x || x->k == KX_CONST || x->k == KX_ROWFN)
        return x;
    for (uint32_t i = 0; i < x->n; i++)
        if (!is_const(x->args[i]))
            return x;
    if (x->k == KX_COL)
        return x;
    kx_chunk one = { .n = 1, .cols = NULL };
    kx_evalctx e = { .q = b->q, .arena = b->q->a, .in = &one };
    kx_vec v;
    if (kx_eval(&e, x, &v))
        return NULL;
    kql_val k = kx_vec_get(&v, 0);
    if (k.t != x->type && !(k.null && k.t == x->type))
        k = kql_cast(b->q->a, k, x->type);
    kx_expr *c = kx_const_expr(b->q, k);
    if (c) {
        c->pos = x->pos;
        c->type = x->type;
        c->kv.t = x->type;
    }
    return c;
}

vg_type kx_common_type(vg_type a, vg_type b)
{
    if (a == b)
        return a;
    if (a == KQL_T_ANY)
        return b;
    if (b == KQL_T_ANY)
        return a;
    if (kql_type_numeric(a) && kql_type_numeric(b))
        return (a == VG_T_REAL || b == VG_T_REAL) ? VG_T_REAL : VG_T_LONG;
    if (a == VG_T_DYNAMIC || b == VG_T_DYNAMIC)
        return VG_T_DYNAMIC;
    return KQL_T_ANY;
}

/* ---- dynamic literals ---- */

const vg_json *kx_dyn_literal(kx_query *q, const vg_kql_node *n)
{
    if (n->kind == VG_KQL_DYNAMIC)
        return n->n ? kx_dyn_literal(q, n->kids[0]) : kql_dyn_from(q->a, kql_null(VG_T_DYNAMIC));
    switch (n->kind) {
    case VG_KQL_ARRAY: {
        vg_json *arr = kql_dyn_array(q->a, n->n);
        if (!arr)
            return NULL;
        for (uint32_t i = 0; i < n->n; i++)
            kql_dyn_push(arr, kx_dyn_literal(q, n->kids[i]));
        return arr;
    }
    case VG_KQL_BAG: {
        vg_json *bag = kql_dyn_bag(q->a, n->n);
        if (!bag)
            return NULL;
        for (uint32_t i = 0; i < n->n; i++)
            kql_dyn_put(q->a, bag, n->kids[i]->name, kx_dyn_literal(q, n->kids[i]->kids[0]));
        return bag;
    }
    default: {
        kx_bind b = { .q = q };
        static const kx_schema empty = { 0 };
        b.in = &empty;
        kql_val v;
        if (kx_bind_const(&b, n, &v))
            return NULL;
        return kql_dyn_from(q->a, v);
    }
    }
}

/* ---- names ---- */

static vg_str auto_name(kx_query *q, uint32_t *counter)
{
    char buf[32];
    int k = snprintf(buf, sizeof buf, "Column%u", ++*counter);
    return vg_str_dup(q->a, vg_str_make(buf, (size_t)k));
}

vg_str kx_expr_name(kx_query *q, const vg_kql_node *n, uint32_t *counter)
{
    switch (n->kind) {
    case VG_KQL_NAME:
        return n->name;
    case VG_KQL_MEMBER:
        if (n->kids[0]->kind == VG_KQL_NAME &&
            (vg_str_eqc(n->kids[0]->name, "$left") || vg_str_eqc(n->kids[0]->name, "$right")))
            return n->name;
        /* Kusto: x.y names the column x_y */
        {
            vg_str base = kx_expr_name(q, n->kids[0], counter);
            char *p = vg_arena_printf(q->a, "%.*s_%.*s", (int)base.n, base.p, (int)n->name.n,
                                      n->name.p);
            return vg_str_c(p);
        }
    case VG_KQL_INDEX:
        if (n->kids[1]->kind == VG_KQL_STRING) {
            vg_str base = kx_expr_name(q, n->kids[0], counter);
            char *p = vg_arena_printf(q->a, "%.*s_%.*s", (int)base.n, base.p,
                                      (int)n->kids[1]->name.n, n->kids[1]->name.p);
            return vg_str_c(p);
        }
        return auto_name(q, counter);
    default:
        return auto_name(q, counter);
    }
}

/* ---- operators ---- */

static bool is_str_op(int op)
{
    switch (op) {
    case VG_KQL_T_HAS: case VG_KQL_T_NHAS: case VG_KQL_T_HAS_CS: case VG_KQL_T_NHAS_CS:
    case VG_KQL_T_HASPREFIX: case VG_KQL_T_NHASPREFIX: case VG_KQL_T_HASPREFIX_CS:
    case VG_KQL_T_NHASPREFIX_CS: case VG_KQL_T_HASSUFFIX: case VG_KQL_T_NHASSUFFIX:
    case VG_KQL_T_HASSUFFIX_CS: case VG_KQL_T_NHASSUFFIX_CS: case VG_KQL_T_CONTAINS:
    case VG_KQL_T_NCONTAINS: case VG_KQL_T_CONTAINS_CS: case VG_KQL_T_NCONTAINS_CS:
    case VG_KQL_T_STARTSWITH: case VG_KQL_T_NSTARTSWITH: case VG_KQL_T_STARTSWITH_CS:
    case VG_KQL_T_NSTARTSWITH_CS: case VG_KQL_T_ENDSWITH: case VG_KQL_T_NENDSWITH:
    case VG_KQL_T_ENDSWITH_CS: case VG_KQL_T_NENDSWITH_CS: case VG_KQL_T_EQTILDE:
    case VG_KQL_T_NTILDE: case VG_KQL_T_MATCHES_REGEX:
        return true;
    default:
        return false;
    }
}

static bool is_cmp_op(int op)
{
    return op == VG_KQL_T_EQEQ || op == VG_KQL_T_NEQ || op == VG_KQL_T_LT || op == VG_KQL_T_LE ||
           op == VG_KQL_T_GT || op == VG_KQL_T_GE || op == VG_KQL_T_LTGT;
}

static bool comparable(vg_type a, vg_type b)
{
    if (a == b || a == VG_T_DYNAMIC || b == VG_T_DYNAMIC)
        return true;
    if (kql_type_numeric(a) && kql_type_numeric(b))
        return true;
    return false;
}

/* Result type of arithmetic, or VG_T_COUNT_ when the types do not mix. */
static vg_type arith_type(int op, vg_type a, vg_type b)
{
    if (a == VG_T_DYNAMIC || b == VG_T_DYNAMIC)
        return VG_T_REAL;
    bool na = kql_type_numeric(a), nb = kql_type_numeric(b);
    if (na && nb) {
        if (a == VG_T_REAL || b == VG_T_REAL)
            return VG_T_REAL;
        if (a == VG_T_INT && b == VG_T_INT)
            return VG_T_INT;
        return VG_T_LONG;
    }
    switch (op) {
    case VG_KQL_T_PLUS:
        if ((a == VG_T_DATETIME && b == VG_T_TIMESPAN) || (a == VG_T_TIMESPAN && b == VG_T_DATETIME))
            return VG_T_DATETIME;
        if (a == VG_T_TIMESPAN && b == VG_T_TIMESPAN)
            return VG_T_TIMESPAN;
        break;
    case VG_KQL_T_MINUS:
        if (a == VG_T_DATETIME && b == VG_T_DATETIME)
            return VG_T_TIMESPAN;
        if (a == VG_T_DATETIME && b == VG_T_TIMESPAN)
            return VG_T_DATETIME;
        if (a == VG_T_TIMESPAN && b == VG_T_TIMESPAN)
            return VG_T_TIMESPAN;
        break;
    case VG_KQL_T_STAR:
        if ((a == VG_T_TIMESPAN && nb) || (na && b == VG_T_TIMESPAN))
            return VG_T_TIMESPAN;
        break;
    case VG_KQL_T_SLASH:
        if (a == VG_T_TIMESPAN && nb)
            return VG_T_TIMESPAN;
        if (a == VG_T_TIMESPAN && b == VG_T_TIMESPAN)
            return VG_T_REAL;
        break;
    case VG_KQL_T_PERCENT:
        if (a == VG_T_TIMESPAN && b == VG_T_TIMESPAN)
            return VG_T_TIMESPAN;
        break;
    default:
        break;
    }
    return VG_T_COUNT_;
}

static const char *tname(vg_type t) { return t == KQL_T_ANY ? "any" : vg_type_name(t); }

/* ---- user functions ---- */

static kx_expr *bind_user_fn(kx_bind *b, kx_let *fn, const vg_kql_node *call)
{
    kx_query *q = b->q;
    const vg_kql_node *params = fn->node->kids[0], *body = fn->node->kids[1];
    if (call->n > params->n)
        return kx_fail(q, call->pos, VG_EPARSE, "function '%.*s' takes %u arguments, got %u",
                       (int)fn->name.n, fn->name.p, params->n, call->n), NULL;
    if (++q->depth > VG_KQL_MAX_DEPTH)
        return kx_fail(q, call->pos, VG_ELIMIT, "functions call each other too deeply"), NULL;
    kx_scope sc = { .up = fn->scope };
    for (uint32_t i = 0; i < params->n; i++) {
        const vg_kql_node *p = params->kids[i];
        kx_expr *v;
        if (i < call->n)
            v = kx_bind_expr(b, call->kids[i]);
        else if (p->n)
            v = kx_bind_expr(b, p->kids[0]);
        else
            return kx_fail(q, call->pos, VG_EPARSE, "function '%.*s': no value for parameter '%.*s'",
                           (int)fn->name.n, fn->name.p, (int)p->name.n, p->name.p), NULL;
        if (!v)
            return NULL;
        kx_let *l = kx_scope_add(q, &sc, p->name, KX_LET_SCALAR);
        if (!l)
            return NULL;
        l->scalar = v;
    }
    kx_bind inner = *b;
    inner.scope = &sc;
    kx_expr *res = NULL;
    for (uint32_t i = 0; i < body->n; i++) {
        const vg_kql_node *s = body->kids[i];
        if (s->kind == VG_KQL_LET) {
            kx_expr *v = kx_bind_expr(&inner, s->kids[0]);
            if (!v)
                return NULL;
            kx_let *l = kx_scope_add(q, &sc, s->name, KX_LET_SCALAR);
            if (!l)
                return NULL;
            l->scalar = v;
        } else if (s->kind == VG_KQL_LET_FUNC) {
            kx_let *l = kx_scope_add(q, &sc, s->name, KX_LET_FUNC);
            if (!l)
                return NULL;
            l->node = s;
        } else {
            res = kx_bind_expr(&inner, s);
        }
    }
    q->depth--;
    if (!res && !q->err)
        kx_fail(q, call->pos, VG_EPARSE, "function '%.*s' has no result expression",
                (int)fn->name.n, fn->name.p);
    return res;
}

/* ---- calls ---- */

static kx_expr *bind_agg(kx_bind *b, const kql_agg_def *def, const vg_kql_node *n);

static kx_expr *bind_subquery_scalar(kx_bind *b, const vg_kql_node *n)
{
    kx_rel *r;
    if (kx_plan_rel(b->q, b->scope, n, &r))
        return NULL;
    kql_val v = kql_null(r->sch.n ? r->sch.types[0] : VG_T_DYNAMIC);
    if (r->sch.n && r->rows) {
        v = kx_val_copy(b->q->a, kql_col_get(&r->chunks[0].cols[0], 0));
    }
    kx_rel_free(r);
    return kx_const_expr(b->q, v);
}

static kx_expr *bind_call(kx_bind *b, const vg_kql_node *n)
{
    kx_query *q = b->q;
    if (vg_str_eqc(n->name, "toscalar")) {
        if (n->n != 1)
            return kx_fail(q, n->pos, VG_EPARSE, "toscalar() takes one tabular argument"), NULL;
        return bind_subquery_scalar(b, n->kids[0]);
    }
    if (vg_str_eqc(n->name, "row_number") || vg_str_eqc(n->name, "prev") ||
        vg_str_eqc(n->name, "next")) {
        if (!b->allow_rowfn)
            return kx_fail(q, n->pos, VG_EPARSE,
                           "%.*s() needs serialized input: add `| serialize` (or sort) before it",
                           (int)n->name.n, n->name.p), NULL;
        int kind = n->name.p[0] == 'r' ? 0 : n->name.p[0] == 'p' ? 1 : 2;
        kx_expr *x = new_expr(q, KX_ROWFN, VG_T_LONG, kind ? n->n : 0, n->pos);
        if (!x)
            return NULL;
        x->op = kind;
        if (kind == 0) {
            x->kv = kql_long(1);
            if (n->n >= 1 && kx_bind_const(b, n->kids[0], &x->kv))
                return NULL;
            return x;
        }
        if (n->n < 1 || n->n > 3)
            return kx_fail(q, n->pos, VG_EPARSE, "%.*s(column[, offset[, default]])",
                           (int)n->name.n, n->name.p), NULL;
        for (uint32_t i = 0; i < n->n; i++)
            if (!(x->args[i] = kx_bind_expr(b, n->kids[i])))
                return NULL;
        if (x->args[0]->k != KX_COL)
            return kx_fail(q, n->pos, VG_EUNSUPPORTED,
                           "%.*s(): Vigil supports a column as the first argument; "
                           "extend the expression into a column first",
                           (int)n->name.n, n->name.p), NULL;
        x->type = x->args[0]->type;
        return x;
    }
    /* typeof(T): a type name, as extract()'s 4th argument takes it;
     * real(nan), real(+inf), real(-inf): the special reals */
    if (vg_str_eqc(n->name, "typeof") && n->n == 1 && n->kids[0]->kind == VG_KQL_NAME)
        return kx_const_expr(q, kql_string(n->kids[0]->name));
    if ((vg_str_eqc(n->name, "real") || vg_str_eqc(n->name, "double")) && n->n == 1) {
        const vg_kql_node *k = n->kids[0];
        if (k->kind == VG_KQL_NAME && (vg_str_eqc(k->name, "nan") || vg_str_eqc(k->name, "inf")))
            return kx_const_expr(q, kql_real(k->name.p[0] == 'n' ? NAN : INFINITY));
        if (k->kind == VG_KQL_UNARY && k->kids[0]->kind == VG_KQL_NAME && vg_str_eqc(k->kids[0]->name, "inf"))
            return kx_const_expr(q, kql_real(k->op == VG_KQL_T_MINUS ? -INFINITY : INFINITY));
    }
    kx_let *l = kx_scope_find(b->scope, n->name);
    if (l && l->kind == KX_LET_FUNC)
        return bind_user_fn(b, l, n);
    if (b->aggs) {
        const kql_agg_def *ad = kql_agg_find(n->name);
        if (ad)
            return bind_agg(b, ad, n);
    }
    const kql_fn_def *fd = kql_fn_find(n->name);
    if (!fd) {
        if (kql_agg_find(n->name))
            return kx_fail(q, n->pos, VG_EPARSE,
                           "'%.*s' is an aggregation: it can only be used in summarize, "
                           "make-series or as an argument of an aggregation context",
                           (int)n->name.n, n->name.p), NULL;
        return kx_fail(q, n->pos, VG_EPARSE, "Unknown function: '%.*s'", (int)n->name.n,
                       n->name.p), NULL;
    }
    if (n->n < fd->min_args || n->n > fd->max_args)
        return kx_fail(q, n->pos, VG_EPARSE, "%s(): expects %u to %u arguments, got %u", fd->name,
                       fd->min_args, fd->max_args, n->n), NULL;
    if (n->n > KX_MAX_ARGS)
        return kx_fail(q, n->pos, VG_ELIMIT, "%s(): at most %d arguments", fd->name, KX_MAX_ARGS), NULL;
    kx_expr *x = new_expr(q, KX_CALL, VG_T_COUNT_, n->n, n->pos);
    if (!x)
        return NULL;
    x->fn = fd;
    vg_type at[KX_MAX_ARGS];
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *a = n->kids[i];
        if (a->kind == VG_KQL_NAMED_ARG)
            a = a->kids[0];
        if (!(x->args[i] = kx_bind_expr(b, a)))
            return NULL;
        at[i] = x->args[i]->type;
        if ((fd->const_args >> i & 1) && !is_const(x->args[i]))
            return kx_fail(q, a->pos, VG_EPARSE, "%s(): argument %u must be a constant", fd->name,
                           i + 1), NULL;
    }
    if (!strcmp(fd->name, "extract") && n->n == 4) {
        /* extract(re, group, source, typeof(T)): the match converted to T */
        vg_type to = VG_T_COUNT_;
        if (x->args[3]->k == KX_CONST && x->args[3]->kv.t == VG_T_STRING &&
            !kx_type_from_name(x->args[3]->kv.u.s, &to))
            to = VG_T_COUNT_;
        if (to == VG_T_COUNT_)
            return kx_fail(q, n->kids[3]->pos, VG_EPARSE, "extract(): the 4th argument is typeof(type)"), NULL;
        x->n = 3;
        x->type = VG_T_STRING;
        kx_expr *c = new_expr(q, KX_CAST, to, 1, n->pos);
        if (!c)
            return NULL;
        c->args[0] = x;
        return fold(b, c);
    }
    if (fd->ret != KQL_T_ANY) {
        x->type = fd->ret;
    } else {
        vg_diag d2;
        vg_diag_clear(&d2);
        x->type = fd->typer ? fd->typer(at, n->n, &d2) : VG_T_COUNT_;
        if (x->type == VG_T_COUNT_)
            return kx_fail(q, n->pos, VG_ETYPE, "%s", d2.msg[0] ? d2.msg : "argument types do not fit"),
                   NULL;
    }
    return fold(b, x);
}

/* An aggregation inside summarize: its arguments bind against the
 * summarize input; the call becomes a reference to its output slot. */
static kx_expr *bind_agg(kx_bind *b, const kql_agg_def *def, const vg_kql_node *n)
{
    kx_query *q = b->q;
    kx_aggs *A = b->aggs;
    if (n->n < def->min_args || n->n > def->max_args)
        return kx_fail(q, n->pos, VG_EPARSE, "%s(): expects %u to %u arguments, got %u", def->name,
                       def->min_args, def->max_args, n->n), NULL;
    kx_bind ab = *b;
    ab.in = b->agg_in;
    ab.aggs = NULL;
    bool argmax = !strcmp(def->name, "arg_max") || !strcmp(def->name, "arg_min");
    bool pcts = !strcmp(def->name, "percentiles");
    /* arguments, with * expanded for arg_max/arg_min */
    kx_expr *args[KX_MAX_COLS + 1];
    vg_str argnames[KX_MAX_COLS + 1];
    uint32_t na = 0;
    uint32_t counter = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *a = n->kids[i];
        if (a->kind == VG_KQL_STAR) {
            if (!argmax)
                return kx_fail(q, a->pos, VG_EPARSE, "'*' is only allowed in arg_max/arg_min"), NULL;
            for (uint32_t c = 0; c < ab.in->n && na < KX_MAX_COLS; c++) {
                /* skip the maximized column itself */
                if (na && args[0]->k == KX_COL && args[0]->col == (int)c)
                    continue;
                bool bykey = false;
                for (uint32_t k = 0; k < b->nby && !bykey; k++)
                    bykey = vg_str_eq(b->by_names[k], ab.in->names[c]);
                if (bykey)
                    continue;
                kx_expr *x = new_expr(q, KX_COL, ab.in->types[c], 0, a->pos);
                if (!x)
                    return NULL;
                x->col = (int)c;
                argnames[na] = ab.in->names[c];
                args[na++] = x;
            }
            continue;
        }
        vg_str nm = VG_STR_NULL;
        if (a->kind == VG_KQL_ASSIGN) {
            nm = a->kids[0]->name;
            a = a->kids[1];
        }
        if (na >= KX_MAX_COLS)
            return kx_fail(q, a->pos, VG_ELIMIT, "too many arguments"), NULL;
        if (!(args[na] = kx_bind_expr(&ab, a)))
            return NULL;
        argnames[na] = nm.p ? nm : kx_expr_name(q, a, &counter);
        na++;
    }
    uint32_t nout = argmax ? (na ? na : 1) : pcts ? (na > 1 ? na - 1 : 1) : 1;
    if (A->n == A->cap) {
        uint32_t nc = A->cap ? A->cap * 2 : 8;
        kx_aggcall *c = vg_arena_alloc(q->a, nc * sizeof *c);
        if (!c)
            return NULL;
        if (A->n)
            memcpy(c, A->calls, A->n * sizeof *c);
        A->calls = c;
        A->cap = nc;
    }
    kx_aggcall *call = &A->calls[A->n++];
    memset(call, 0, sizeof *call);
    call->def = def;
    call->nargs = na;
    call->args = vg_arena_alloc(q->a, (na ? na : 1) * sizeof *call->args);
    if (!call->args)
        return NULL;
    memcpy(call->args, args, na * sizeof *args);
    call->nout = nout;
    call->out0 = A->nslots;
    call->out_types = vg_arena_alloc(q->a, nout * sizeof(vg_type));
    vg_str *names = vg_arena_alloc(q->a, (A->nslots + nout) * sizeof(vg_str));
    if (!call->out_types || !names)
        return NULL;
    if (A->nslots)
        memcpy(names, A->slot_names, A->nslots * sizeof(vg_str));
    vg_type at[KX_MAX_ARGS];
    for (uint32_t i = 0; i < na && i < KX_MAX_ARGS; i++)
        at[i] = args[i]->type;
    vg_type rt = def->ret;
    if (rt == KQL_T_ANY) {
        vg_diag d2;
        vg_diag_clear(&d2);
        rt = def->typer ? def->typer(at, na < KX_MAX_ARGS ? na : KX_MAX_ARGS, &d2) : VG_T_COUNT_;
        if (rt == VG_T_COUNT_)
            return kx_fail(q, n->pos, VG_ETYPE, "%s", d2.msg[0] ? d2.msg : "argument types do not fit"),
                   NULL;
    }
    /* default column names, as Kusto makes them */
    vg_str a0 = na ? argnames[0] : VG_STR_NULL;
    for (uint32_t o = 0; o < nout; o++) {
        vg_str nm;
        if (argmax) {
            call->out_types[o] = na ? args[o]->type : VG_T_LONG;
            nm = na ? argnames[o] : vg_str_c(def->name);
            if (o == 0 && na && args[0]->k != KX_COL)
                nm = vg_str_c(vg_arena_printf(q->a, "%s", !strcmp(def->name, "arg_max") ? "max_" : "min_"));
        } else if (pcts) {
            call->out_types[o] = rt;
            kql_val p = kql_long(50);
            if (na > o + 1 && args[o + 1]->k == KX_CONST)
                p = args[o + 1]->kv;
            vg_str ps = kql_to_string(q->a, p);
            char *s = vg_arena_printf(q->a, "percentile_%.*s_%.*s", (int)a0.n, a0.p, (int)ps.n, ps.p);
            for (char *c = s; c && *c; c++)
                if (*c == '.')
                    *c = '_';
            nm = vg_str_c(s);
        } else {
            call->out_types[o] = rt;
            const char *dn = def->name;
            const char *prefix = dn;
            if (!strcmp(dn, "make_set")) prefix = "set";
            else if (!strcmp(dn, "make_list")) prefix = "list";
            else if (!strcmp(dn, "make_set_if")) prefix = "set";
            else if (!strcmp(dn, "make_list_if")) prefix = "list";
            else if (!strcmp(dn, "make_bag")) prefix = "bag";
            else if (!strcmp(dn, "take_any") || !strcmp(dn, "any")) prefix = "any";
            if (!strcmp(dn, "count") || !strcmp(dn, "countif") || !na)
                nm = vg_str_c(vg_arena_printf(q->a, "%s_", dn));
            else if (!strcmp(dn, "percentile")) {
                kql_val p = na > 1 && args[1]->k == KX_CONST ? args[1]->kv : kql_long(50);
                vg_str ps = kql_to_string(q->a, p);
                char *s = vg_arena_printf(q->a, "percentile_%.*s_%.*s", (int)a0.n, a0.p, (int)ps.n, ps.p);
                for (char *c = s; c && *c; c++)
                    if (*c == '.')
                        *c = '_';
                nm = vg_str_c(s);
            } else
                nm = vg_str_c(vg_arena_printf(q->a, "%s_%.*s", prefix, (int)a0.n, a0.p));
        }
        names[A->nslots + o] = nm;
    }
    A->slot_names = names;
    A->nslots += nout;
    kx_expr *ref = new_expr(q, KX_COL, call->out_types[0], 0, n->pos);
    if (!ref)
        return NULL;
    ref->col = (int)(b->agg_base + call->out0);
    return ref;
}

/* ---- expressions ---- */

static kx_expr *bind_in(kx_bind *b, const vg_kql_node *n)
{
    kx_query *q = b->q;
    kx_expr *x = new_expr(q, KX_IN, VG_T_BOOL, 1, n->pos);
    if (!x || !(x->args[0] = kx_bind_expr(b, n->kids[0])))
        return NULL;
    x->op = n->op;
    /* items: constants, dynamic arrays (flattened), or one sub-query */
    uint32_t cap = 16, cnt = 0;
    kql_val *set = vg_arena_alloc(q->a, cap * sizeof *set);
    if (!set)
        return NULL;
#define PUSH_(v)                                                                   \
    do {                                                                           \
        if (cnt == cap) {                                                          \
            kql_val *ns_ = vg_arena_alloc(q->a, cap * 2 * sizeof *ns_);            \
            if (!ns_) return NULL;                                                 \
            memcpy(ns_, set, cnt * sizeof *ns_);                                   \
            set = ns_;                                                             \
            cap *= 2;                                                              \
        }                                                                          \
        set[cnt++] = (v);                                                          \
    } while (0)
    for (uint32_t i = 1; i < n->n; i++) {
        const vg_kql_node *it = n->kids[i];
        bool tabular = it->kind == VG_KQL_PIPELINE || it->kind == VG_KQL_TABLE ||
                       it->kind == VG_KQL_DATATABLE || it->kind == VG_KQL_UNION ||
                       it->kind == VG_KQL_PRINT || it->kind == VG_KQL_RANGE;
        if (it->kind == VG_KQL_NAME) {
            kx_let *l = kx_scope_find(b->scope, it->name);
            if ((l && (l->kind == KX_LET_TABULAR || l->kind == KX_LET_REL)) ||
                (!l && kx_schema_find(b->in, it->name) < 0 && vg_schema_table(it->name)))
                tabular = true;
        }
        if (tabular) {
            kx_rel *r;
            if (kx_plan_rel(q, b->scope, it, &r))
                return NULL;
            for (uint32_t c = 0; c < r->nchunks && r->sch.n; c++)
                for (uint32_t k = 0; k < r->chunks[c].n; k++) {
                    kql_val v = kql_col_get(&r->chunks[c].cols[0], k);
                    if (v.t == VG_T_STRING)
                        v.u.s = vg_str_dup(q->a, v.u.s);
                    else if (v.t == VG_T_DYNAMIC)
                        v = kql_string(kql_to_string(q->a, v));
                    PUSH_(v);
                }
            kx_rel_free(r);
            continue;
        }
        kx_expr *e = kx_bind_expr(b, it);
        if (!e)
            return NULL;
        if (!is_const(e))
            return kx_fail(q, it->pos, VG_EUNSUPPORTED,
                           "the items of '%s' must be constants or a tabular expression",
                           vg_kql_tok_op((vg_kql_tok)n->op)), NULL;
        if (e->kv.t == VG_T_DYNAMIC && !e->kv.null && e->kv.u.d->kind == VG_JSON_ARRAY) {
            for (uint32_t k = 0; k < e->kv.u.d->n; k++)
                PUSH_(kql_dyn_scalar(e->kv.u.d->kids[k]));
        } else {
            PUSH_(e->kv);
        }
    }
#undef PUSH_
    x->set = set;
    x->nset = cnt;
    return x;
}

kx_expr *kx_bind_expr(kx_bind *b, const vg_kql_node *n)
{
    kx_query *q = b->q;
    if (q->err)
        return NULL;
    if (++q->depth > VG_KQL_MAX_HEIGHT + VG_KQL_MAX_DEPTH)
        return kx_fail(q, n->pos, VG_ELIMIT, "expression nested too deeply"), NULL;
    kx_expr *x = NULL;
    switch (n->kind) {
    case VG_KQL_NAME: {
        int c = b->in ? kx_schema_find(b->in, n->name) : -1;
        if (c >= 0) {
            x = new_expr(q, KX_COL, b->in->types[c], 0, n->pos);
            if (x)
                x->col = c;
            break;
        }
        kx_let *l = kx_scope_find(b->scope, n->name);
        if (l && l->kind == KX_LET_SCALAR) {
            x = l->scalar;
            break;
        }
        if (l && (l->kind == KX_LET_TABULAR || l->kind == KX_LET_REL)) {
            kx_fail(q, n->pos, VG_EPARSE,
                    "'%.*s' is a tabular expression; use toscalar(%.*s) for its value",
                    (int)n->name.n, n->name.p, (int)n->name.n, n->name.p);
            break;
        }
        kx_fail(q, n->pos, VG_EPARSE, "Failed to resolve column '%.*s'", (int)n->name.n, n->name.p);
        break;
    }
    case VG_KQL_BOOL:
        x = kx_const_expr(q, kql_bool(n->i != 0));
        break;
    case VG_KQL_LONG:
        x = kx_const_expr(q, kql_long(n->i));
        break;
    case VG_KQL_INT:
        x = kx_const_expr(q, kql_int(n->i));
        break;
    case VG_KQL_REAL:
        x = kx_const_expr(q, kql_real(n->r));
        break;
    case VG_KQL_STRING:
        x = kx_const_expr(q, kql_string(n->name));
        break;
    case VG_KQL_GUID:
        x = kx_const_expr(q, kql_string(n->text));
        break;
    case VG_KQL_TIMESPAN:
        x = kx_const_expr(q, kql_timespan(n->i));
        break;
    case VG_KQL_DATETIME: {
        vg_time t;
        vg_str txt = vg_str_trim(n->text);
        if (txt.n == 0 || vg_str_eqc(txt, "null")) {
            x = kx_const_expr(q, kql_null(VG_T_DATETIME));
            break;
        }
        if (vg_time_parse_any(txt, &t)) {
            kql_val v = kql_cast(q->a, kql_string(txt), VG_T_DATETIME);
            if (v.null) {
                kx_fail(q, n->pos, VG_EPARSE, "invalid datetime literal '%.*s'", (int)txt.n, txt.p);
                break;
            }
            t = v.u.i;
        }
        x = kx_const_expr(q, kql_datetime(t));
        break;
    }
    case VG_KQL_TYPED_NULL: {
        vg_type t = VG_T_DYNAMIC;
        kx_type_from_name(n->text, &t);
        x = kx_const_expr(q, kql_null(t));
        break;
    }
    case VG_KQL_DYNAMIC: case VG_KQL_ARRAY: case VG_KQL_BAG: {
        const vg_json *d = kx_dyn_literal(q, n);
        if (!q->err)
            x = kx_const_expr(q, kql_dynamic(d));
        break;
    }
    case VG_KQL_UNARY: {
        kx_expr *a = kx_bind_expr(b, n->kids[0]);
        if (!a)
            break;
        if (n->op == VG_KQL_T_PLUS) {
            x = a;
            break;
        }
        if (!kql_type_numeric(a->type) && a->type != VG_T_TIMESPAN && a->type != VG_T_DYNAMIC) {
            kx_fail(q, n->pos, VG_ETYPE, "unary '-' expects a number or timespan, got %s",
                    tname(a->type));
            break;
        }
        x = new_expr(q, KX_NEG, a->type == VG_T_DYNAMIC ? VG_T_REAL : a->type, 1, n->pos);
        if (x) {
            x->args[0] = a;
            x = fold(b, x);
        }
        break;
    }
    case VG_KQL_BINARY: {
        kx_expr *l = kx_bind_expr(b, n->kids[0]);
        kx_expr *r = l ? kx_bind_expr(b, n->kids[1]) : NULL;
        if (!r)
            break;
        int op = n->op;
        if (op == VG_KQL_T_AND || op == VG_KQL_T_OR) {
            if ((l->type != VG_T_BOOL && l->type != VG_T_DYNAMIC) ||
                (r->type != VG_T_BOOL && r->type != VG_T_DYNAMIC)) {
                kx_fail(q, n->pos, VG_ETYPE, "'%s' expects bool operands, got %s and %s",
                        op == VG_KQL_T_AND ? "and" : "or", tname(l->type), tname(r->type));
                break;
            }
            x = new_expr(q, op == VG_KQL_T_AND ? KX_AND : KX_OR, VG_T_BOOL, 2, n->pos);
        } else if (is_cmp_op(op)) {
            if (!comparable(l->type, r->type)) {
                kx_fail(q, n->pos, VG_ETYPE,
                        "Cannot compare values of types %s and %s. Try adding explicit casts",
                        tname(l->type), tname(r->type));
                break;
            }
            x = new_expr(q, KX_BIN, VG_T_BOOL, 2, n->pos);
        } else if (is_str_op(op)) {
            if (op == VG_KQL_T_MATCHES_REGEX && !is_const(r)) {
                kx_fail(q, n->kids[1]->pos, VG_EPARSE, "'matches regex' needs a constant pattern");
                break;
            }
            x = new_expr(q, KX_BIN, VG_T_BOOL, 2, n->pos);
        } else {
            vg_type t = arith_type(op, l->type, r->type);
            if (t == VG_T_COUNT_) {
                kx_fail(q, n->pos, VG_ETYPE, "operator '%s' cannot be applied to %s and %s",
                        vg_kql_tok_op((vg_kql_tok)op), tname(l->type), tname(r->type));
                break;
            }
            x = new_expr(q, KX_BIN, t, 2, n->pos);
        }
        if (x) {
            x->op = op;
            x->args[0] = l;
            x->args[1] = r;
            x = fold(b, x);
        }
        break;
    }
    case VG_KQL_BETWEEN: {
        x = new_expr(q, KX_BETWEEN, VG_T_BOOL, 3, n->pos);
        if (!x)
            break;
        x->op = n->op;
        for (int i = 0; i < 3; i++)
            if (!(x->args[i] = kx_bind_expr(b, n->kids[i])))
                return NULL;
        x = fold(b, x);
        break;
    }
    case VG_KQL_IN:
        x = bind_in(b, n);
        if (x)
            x = fold(b, x);
        break;
    case VG_KQL_CALL:
        x = bind_call(b, n);
        break;
    case VG_KQL_MEMBER: {
        const vg_kql_node *o = n->kids[0];
        if (o->kind == VG_KQL_NAME && (vg_str_eqc(o->name, "$left") || vg_str_eqc(o->name, "$right"))) {
            const kx_schema *s = o->name.p[1] == 'l' ? b->in : b->right;
            int c = s ? kx_schema_find(s, n->name) : -1;
            if (c < 0) {
                kx_fail(q, n->pos, VG_EPARSE, "Failed to resolve column '%.*s' on the %s side",
                        (int)n->name.n, n->name.p, o->name.p[1] == 'l' ? "left" : "right");
                break;
            }
            x = new_expr(q, KX_COL, s->types[c], 0, n->pos);
            if (x) {
                x->col = c;
                x->op = o->name.p[1] == 'l' ? 0 : 1;  /* side, read by the join planner */
            }
            break;
        }
        kx_expr *a = kx_bind_expr(b, o);
        if (!a)
            break;
        x = new_expr(q, KX_MEMBER, VG_T_DYNAMIC, 1, n->pos);
        if (x) {
            x->args[0] = a;
            x->name = n->name;
            x = fold(b, x);
        }
        break;
    }
    case VG_KQL_INDEX: {
        kx_expr *a = kx_bind_expr(b, n->kids[0]);
        kx_expr *i = a ? kx_bind_expr(b, n->kids[1]) : NULL;
        if (!i)
            break;
        x = new_expr(q, KX_INDEX, VG_T_DYNAMIC, 2, n->pos);
        if (x) {
            x->args[0] = a;
            x->args[1] = i;
            x = fold(b, x);
        }
        break;
    }
    case VG_KQL_ASSIGN:
        kx_fail(q, n->pos, VG_EPARSE, "an assignment is not allowed here");
        break;
    case VG_KQL_STAR:
        kx_fail(q, n->pos, VG_EPARSE, "'*' is not allowed here");
        break;
    default:
        kx_fail(q, n->pos, VG_EPARSE, "a %s is not a scalar expression", vg_kql_kind_name(n->kind));
        break;
    }
    q->depth--;
    if (!x && !q->err)
        kx_fail(q, n->pos, VG_ENOMEM, "out of memory");
    return q->err ? NULL : x;
}

vg_err kx_bind_const(kx_bind *b, const vg_kql_node *n, kql_val *out)
{
    kx_expr *x = kx_bind_expr(b, n);
    if (!x)
        return b->q->err ? b->q->err : VG_EPARSE;
    if (x->k != KX_CONST)
        return kx_fail(b->q, n->pos, VG_EPARSE, "a constant is expected here");
    *out = x->kv;
    return VG_OK;
}
