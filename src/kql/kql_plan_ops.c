/*
 * kql_plan_ops.c - planning the tabular operators that follow '|': binds
 * each operator's expressions against the schema produced so far and
 * builds its output schema with Kusto's naming rules (extend replaces a
 * column of the same name in place; join suffixes duplicated right-side
 * names with 1; summarize names aggregates count_, dcount_X, ...).
 */
#include <stdio.h>
#include <string.h>

#include "kql/kql_exec.h"


/* project / extend: items are NAME, ASSIGN or expressions. */
static kx_op *plan_project(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n, bool extend)
{
    uint32_t cap = (extend ? in->sch.n : 0) + n->n * 4 + 1;
    kx_schema s = kx_schema_alloc(q, cap);
    kx_expr **ex = vg_arena_alloc(q->a, cap * sizeof *ex);
    if (q->err || !ex)
        return NULL;
    s.n = 0;
    if (extend)
        for (uint32_t c = 0; c < in->sch.n; c++) {
            s.names[s.n] = in->sch.names[c];
            s.types[s.n] = in->sch.types[c];
            ex[s.n++] = kx_col_expr(q, &in->sch, (int)c);
        }
    uint32_t counter = 0;
    /* later items may name the columns earlier items define */
    kx_scope *defs = vg_arena_zalloc(q->a, sizeof *defs);
    if (!defs)
        return NULL;
    defs->up = sc;
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *it = n->kids[i];
        kx_bind b = { .q = q, .scope = defs, .in = &in->sch, .allow_rowfn = in->serialized };
        const vg_kql_node *target = NULL, *e = it;
        if (it->kind == VG_KQL_ASSIGN) {
            target = it->kids[0];
            e = it->kids[1];
        }
        if (!extend && it->kind == VG_KQL_NAME && memchr(it->name.p, '*', it->name.n)) {
            for (uint32_t c = 0; c < in->sch.n && s.n < cap; c++)
                if (vg_str_wild_match(it->name, in->sch.names[c]) && kx_schema_find(&s, in->sch.names[c]) < 0) {
                    s.names[s.n] = in->sch.names[c];
                    s.types[s.n] = in->sch.types[c];
                    ex[s.n++] = kx_col_expr(q, &in->sch, (int)c);
                }
            continue;
        }
        kx_expr *x = kx_bind_expr(&b, e);
        if (!x)
            return NULL;
        if (target && target->kind == VG_KQL_LIST) {
            kx_fail(q, target->pos, VG_EUNSUPPORTED, "(a, b) = ... assignments are not supported");
            return NULL;
        }
        vg_str name = target ? target->name : kx_expr_name(q, e, &counter);
        if (kx_schema_find(&in->sch, name) < 0) {
            kx_let *l = kx_scope_add(q, defs, name, KX_LET_SCALAR);
            if (!l)
                return NULL;
            l->scalar = x;
        }
        int at = kx_schema_find(&s, name);
        if (at >= 0 && extend) {
            /* extend replaces a column: it moves to the end, as in Kusto */
            for (uint32_t k = (uint32_t)at; k + 1 < s.n; k++) {
                s.names[k] = s.names[k + 1];
                s.types[k] = s.types[k + 1];
                ex[k] = ex[k + 1];
            }
            s.n--;
            at = -1;
        }
        if (at >= 0 && target) {
            ex[at] = x;
            s.types[at] = x->type;
            continue;
        }
        if (at >= 0) {
            kx_fail(q, it->pos, VG_EPARSE, "column '%.*s' is projected twice", (int)name.n, name.p);
            return NULL;
        }
        s.names[s.n] = name;
        s.types[s.n] = x->type;
        ex[s.n++] = x;
    }
    return kx_op_project(q, in, &s, ex);
}

/* project-away / project-keep (wildcards) */
static kx_op *plan_away_keep(kx_query *q, kx_op *in, const vg_kql_node *n, bool keep)
{
    bool *hit = vg_arena_zalloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof(bool));
    if (!hit)
        return NULL;
    for (uint32_t i = 0; i < n->n; i++) {
        vg_str pat = n->kids[i]->name;
        bool any = false;
        for (uint32_t c = 0; c < in->sch.n; c++)
            if (vg_str_wild_match(pat, in->sch.names[c]))
                hit[c] = any = true;
        if (!any && !memchr(pat.p, '*', pat.n)) {
            kx_fail(q, n->kids[i]->pos, VG_EPARSE, "Failed to resolve column '%.*s'", (int)pat.n, pat.p);
            return NULL;
        }
    }
    kx_schema s = kx_schema_alloc(q, in->sch.n);
    kx_expr **ex = vg_arena_alloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof *ex);
    if (q->err || !ex)
        return NULL;
    s.n = 0;
    for (uint32_t c = 0; c < in->sch.n; c++)
        if (hit[c] == keep) {
            s.names[s.n] = in->sch.names[c];
            s.types[s.n] = in->sch.types[c];
            ex[s.n++] = kx_col_expr(q, &in->sch, (int)c);
        }
    return kx_op_project(q, in, &s, ex);
}

static kx_op *plan_rename(kx_query *q, kx_op *in, const vg_kql_node *n)
{
    kx_schema s = kx_schema_alloc(q, in->sch.n);
    kx_expr **ex = vg_arena_alloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof *ex);
    if (q->err || !ex)
        return NULL;
    for (uint32_t c = 0; c < in->sch.n; c++) {
        s.names[c] = in->sch.names[c];
        s.types[c] = in->sch.types[c];
        ex[c] = kx_col_expr(q, &in->sch, (int)c);
    }
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *a = n->kids[i];
        vg_str to = a->kids[0]->name, from = a->kids[1]->name;
        int c = kx_schema_find(&in->sch, from);
        if (c < 0) {
            kx_fail(q, a->kids[1]->pos, VG_EPARSE, "Failed to resolve column '%.*s'", (int)from.n, from.p);
            return NULL;
        }
        s.names[c] = to;
    }
    return kx_op_project(q, in, &s, ex);
}

static kx_op *plan_reorder(kx_query *q, kx_op *in, const vg_kql_node *n)
{
    kx_schema s = kx_schema_alloc(q, in->sch.n);
    kx_expr **ex = vg_arena_alloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof *ex);
    bool *used = vg_arena_zalloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof(bool));
    if (q->err || !ex || !used)
        return NULL;
    s.n = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *k = n->kids[i];
        vg_str pat = k->kind == VG_KQL_SORT_KEY ? k->kids[0]->name : k->name;
        int dir = k->kind == VG_KQL_SORT_KEY ? k->op : 0;
        uint32_t first = s.n;
        for (uint32_t c = 0; c < in->sch.n; c++)
            if (!used[c] && vg_str_wild_match(pat, in->sch.names[c])) {
                used[c] = true;
                s.names[s.n] = in->sch.names[c];
                s.types[s.n] = in->sch.types[c];
                ex[s.n++] = kx_col_expr(q, &in->sch, (int)c);
            }
        /* `* asc` / `* desc`: the matched columns ordered by name */
        if (dir & (VG_KQL_SORT_ASC | VG_KQL_SORT_DESC))
            for (uint32_t a = first; a < s.n; a++)
                for (uint32_t b2 = a + 1; b2 < s.n; b2++) {
                    int c = vg_str_cmp(s.names[a], s.names[b2]);
                    if ((dir & VG_KQL_SORT_ASC) ? c > 0 : c < 0) {
                        vg_str tn = s.names[a]; s.names[a] = s.names[b2]; s.names[b2] = tn;
                        vg_type tt = s.types[a]; s.types[a] = s.types[b2]; s.types[b2] = tt;
                        kx_expr *te = ex[a]; ex[a] = ex[b2]; ex[b2] = te;
                    }
                }
    }
    for (uint32_t c = 0; c < in->sch.n; c++)
        if (!used[c]) {
            s.names[s.n] = in->sch.names[c];
            s.types[s.n] = in->sch.types[c];
            ex[s.n++] = kx_col_expr(q, &in->sch, (int)c);
        }
    return kx_op_project(q, in, &s, ex);
}

/* summarize [aggs] by [keys] */
static kx_op *plan_summarize(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    const vg_kql_node *aggs = n->kids[1], *by = n->kids[2];
    uint32_t nkeys = by ? by->n : 0;
    kx_expr **keys = vg_arena_alloc(q->a, (nkeys ? nkeys : 1) * sizeof *keys);
    vg_str *knames = vg_arena_alloc(q->a, (nkeys ? nkeys : 1) * sizeof *knames);
    if (!keys || !knames)
        return NULL;
    uint32_t counter = 0;
    for (uint32_t k = 0; k < nkeys; k++) {
        const vg_kql_node *e = by->kids[k];
        kx_bind b = { .q = q, .scope = sc, .in = &in->sch };
        vg_str nm = VG_STR_NULL;
        if (e->kind == VG_KQL_ASSIGN) {
            nm = e->kids[0]->name;
            e = e->kids[1];
        }
        if (!(keys[k] = kx_bind_expr(&b, e)))
            return NULL;
        if (!nm.p) {
            /* bin(Timestamp, 1h) and friends are named after their column */
            const vg_kql_node *c = e;
            while (c->kind == VG_KQL_CALL && c->n >= 1 &&
                   (vg_str_eqc(c->name, "bin") || vg_str_eqc(c->name, "floor") ||
                    vg_str_eqc(c->name, "bin_at") || vg_str_eqc(c->name, "startofday") ||
                    vg_str_eqc(c->name, "startofweek") || vg_str_eqc(c->name, "startofmonth") ||
                    vg_str_eqc(c->name, "tolower") || vg_str_eqc(c->name, "toupper") ||
                    vg_str_eqc(c->name, "tostring")) && c->kids[0]->kind != VG_KQL_CALL)
                c = c->kids[0];
            nm = c->kind == VG_KQL_NAME ? c->name : kx_expr_name(q, e, &counter);
        }
        knames[k] = nm;
    }
    kx_aggs *A = vg_arena_zalloc(q->a, sizeof *A);
    if (!A)
        return NULL;
    uint32_t nout = aggs ? aggs->n : 0;
    kx_expr **post = vg_arena_alloc(q->a, (nkeys + nout * 2 + KX_MAX_COLS) * sizeof *post);
    vg_str *pnames = vg_arena_alloc(q->a, (nkeys + nout * 2 + KX_MAX_COLS) * sizeof *pnames);
    vg_type *ptypes = vg_arena_alloc(q->a, (nkeys + nout * 2 + KX_MAX_COLS) * sizeof *ptypes);
    if (!post || !pnames || !ptypes)
        return NULL;
    uint32_t np = 0;
    for (uint32_t k = 0; k < nkeys; k++) {
        post[np] = vg_arena_zalloc(q->a, sizeof(kx_expr));
        if (!post[np])
            return NULL;
        post[np]->k = KX_COL;
        post[np]->col = (int)k;
        post[np]->type = keys[k]->type;
        pnames[np] = knames[k];
        ptypes[np++] = keys[k]->type;
    }
    for (uint32_t i = 0; i < nout; i++) {
        const vg_kql_node *e = aggs->kids[i];
        vg_str nm = VG_STR_NULL;
        if (e->kind == VG_KQL_ASSIGN) {
            if (e->kids[0]->kind == VG_KQL_LIST) {
                /* (a, b) = arg_max(...) */
                kx_fail(q, e->pos, VG_EUNSUPPORTED, "(a, b) = ... assignments are not supported");
                return NULL;
            }
            nm = e->kids[0]->name;
            e = e->kids[1];
        }
        uint32_t before = A->n;
        kx_bind b = { .q = q, .scope = sc, .in = NULL, .aggs = A, .agg_in = &in->sch,
                      .agg_base = nkeys, .by_names = knames, .nby = nkeys };
        static const kx_schema empty = { 0 };
        b.in = &empty;
        kx_expr *x = kx_bind_expr(&b, e);
        if (!x)
            return NULL;
        if (A->n == before) {
            kx_fail(q, e->pos, VG_EPARSE, "summarize: the expression must contain an aggregation "
                                          "(count(), sum(), ...)");
            return NULL;
        }
        kx_aggcall *c = &A->calls[before];
        bool direct = x->k == KX_COL && A->n == before + 1;
        if (direct && c->nout > 1) {
            /* arg_max(T, a, b) / percentiles(x, 5, 50): one column per output */
            for (uint32_t o = 0; o < c->nout; o++) {
                post[np] = vg_arena_zalloc(q->a, sizeof(kx_expr));
                if (!post[np])
                    return NULL;
                post[np]->k = KX_COL;
                post[np]->col = (int)(nkeys + c->out0 + o);
                post[np]->type = c->out_types[o];
                pnames[np] = (o == 0 && nm.p) ? nm : A->slot_names[c->out0 + o];
                if (kx_schema_find(&(kx_schema){ np, pnames, ptypes }, pnames[np]) >= 0)
                    pnames[np] = vg_str_c(vg_arena_printf(q->a, "%.*s1", (int)pnames[np].n, pnames[np].p));
                ptypes[np++] = c->out_types[o];
                if (np >= nkeys + nout * 2 + KX_MAX_COLS - 1)
                    break;
            }
            continue;
        }
        post[np] = x;
        pnames[np] = nm.p ? nm : direct ? A->slot_names[c->out0] : kx_expr_name(q, e, &counter);
        ptypes[np++] = x->type;
    }
    kx_schema mid = kx_schema_alloc(q, nkeys + A->nslots);
    if (q->err)
        return NULL;
    for (uint32_t k = 0; k < nkeys; k++) {
        mid.names[k] = knames[k];
        mid.types[k] = keys[k]->type;
    }
    for (uint32_t a = 0; a < A->n; a++)
        for (uint32_t o = 0; o < A->calls[a].nout; o++) {
            uint32_t at = nkeys + A->calls[a].out0 + o;
            mid.names[at] = A->slot_names[A->calls[a].out0 + o];
            mid.types[at] = A->calls[a].out_types[o];
        }
    kx_schema out = { .n = np, .names = pnames, .types = ptypes };
    return kx_op_summarize(q, in, keys, nkeys, A, &mid, &out, post);
}

static vg_err const_count(kx_query *q, kx_scope *sc, const vg_kql_node *n, uint64_t *out)
{
    kx_bind b = { .q = q, .scope = sc };
    static const kx_schema empty = { 0 };
    b.in = &empty;
    kql_val v;
    vg_err e = kx_bind_const(&b, n, &v);
    if (e)
        return e;
    if (v.null || !vg_type_is_i64(v.t) || v.u.i < 0)
        return kx_fail(q, n->pos, VG_EPARSE, "a non-negative integer row count is expected");
    *out = (uint64_t)v.u.i;
    return VG_OK;
}

static kx_op *plan_sort(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *const *keysn,
                        uint32_t nk, uint64_t limit)
{
    kx_expr **keys = vg_arena_alloc(q->a, (nk ? nk : 1) * sizeof *keys);
    int *flags = vg_arena_alloc(q->a, (nk ? nk : 1) * sizeof *flags);
    if (!keys || !flags)
        return NULL;
    for (uint32_t i = 0; i < nk; i++) {
        const vg_kql_node *k = keysn[i];
        kx_bind b = { .q = q, .scope = sc, .in = &in->sch };
        if (!(keys[i] = kx_bind_expr(&b, k->kind == VG_KQL_SORT_KEY ? k->kids[0] : k)))
            return NULL;
        flags[i] = k->kind == VG_KQL_SORT_KEY ? k->op : 0;
    }
    return kx_op_sort(q, in, keys, flags, nk, limit);
}

static kx_op *plan_distinct(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    if (n->n == 1 && n->kids[0]->kind == VG_KQL_STAR) {
        kx_expr **keys = vg_arena_alloc(q->a, (in->sch.n ? in->sch.n : 1) * sizeof *keys);
        if (!keys)
            return NULL;
        for (uint32_t c = 0; c < in->sch.n; c++)
            keys[c] = kx_col_expr(q, &in->sch, (int)c);
        return kx_op_distinct(q, in, keys, &in->sch);
    }
    kx_schema s = kx_schema_alloc(q, n->n);
    kx_expr **keys = vg_arena_alloc(q->a, (n->n ? n->n : 1) * sizeof *keys);
    if (q->err || !keys)
        return NULL;
    uint32_t counter = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *e = n->kids[i];
        kx_bind b = { .q = q, .scope = sc, .in = &in->sch };
        if (e->kind == VG_KQL_ASSIGN) {
            s.names[i] = e->kids[0]->name;
            e = e->kids[1];
        } else
            s.names[i] = kx_expr_name(q, e, &counter);
        if (!(keys[i] = kx_bind_expr(&b, e)))
            return NULL;
        s.types[i] = keys[i]->type;
    }
    return kx_op_distinct(q, in, keys, &s);
}

static bool join_kind(vg_str k, kx_join_kind *out)
{
    static const struct { const char *n; kx_join_kind k; } kinds[] = {
        { "innerunique", KX_J_INNERUNIQUE }, { "inner", KX_J_INNER }, { "leftouter", KX_J_LEFTOUTER },
        { "rightouter", KX_J_RIGHTOUTER }, { "fullouter", KX_J_FULLOUTER }, { "leftanti", KX_J_LEFTANTI },
        { "anti", KX_J_LEFTANTI }, { "leftantisemi", KX_J_LEFTANTI }, { "rightanti", KX_J_RIGHTANTI },
        { "rightantisemi", KX_J_RIGHTANTI }, { "leftsemi", KX_J_LEFTSEMI }, { "rightsemi", KX_J_RIGHTSEMI },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (vg_str_eqc(k, kinds[i].n)) {
            *out = kinds[i].k;
            return true;
        }
    return false;
}

static kx_op *plan_join(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n, bool lookup)
{
    const vg_kql_node *opts = n->kids[0], *rightn = n->kids[1], *on = n->kids[2];
    kx_join_kind kind = lookup ? KX_J_LEFTOUTER : KX_J_INNERUNIQUE;
    for (uint32_t i = 0; opts && i < opts->n; i++) {
        const vg_kql_node *o = opts->kids[i];
        if (vg_str_eqc(o->name, "kind")) {
            vg_str k = o->kids[0]->name;
            if (!join_kind(k, &kind) || (lookup && kind != KX_J_LEFTOUTER && kind != KX_J_INNER)) {
                kx_fail(q, o->pos, VG_EPARSE, "unknown %s kind '%.*s'", lookup ? "lookup" : "join",
                        (int)k.n, k.p);
                return NULL;
            }
        }
    }
    kx_rel *right;
    if (kx_plan_rel(q, sc, rightn, &right))
        return NULL;
    if (!on || on->n == 0) {
        kx_fail(q, n->pos, VG_EPARSE, "%s needs 'on' conditions", lookup ? "lookup" : "join");
        return NULL;
    }
    uint32_t nk = on->n;
    kx_expr **lk = vg_arena_alloc(q->a, nk * sizeof *lk), **rk = vg_arena_alloc(q->a, nk * sizeof *rk);
    bool *lkeyname = vg_arena_zalloc(q->a, (right->sch.n ? right->sch.n : 1) * sizeof(bool));
    if (!lk || !rk || !lkeyname)
        return NULL;
    for (uint32_t i = 0; i < nk; i++) {
        const vg_kql_node *c = on->kids[i];
        if (c->kind == VG_KQL_NAME) {
            int l = kx_schema_find(&in->sch, c->name), r = kx_schema_find(&right->sch, c->name);
            if (l < 0 || r < 0) {
                kx_fail(q, c->pos, VG_EPARSE, "Failed to resolve column '%.*s' on the %s side of the %s",
                        (int)c->name.n, c->name.p, l < 0 ? "left" : "right", lookup ? "lookup" : "join");
                return NULL;
            }
            lk[i] = kx_col_expr(q, &in->sch, l);
            rk[i] = kx_col_expr(q, &right->sch, r);
            lkeyname[r] = true;
            continue;
        }
        if (c->kind == VG_KQL_BINARY && c->op == VG_KQL_T_EQEQ) {
            kx_bind b = { .q = q, .scope = sc, .in = &in->sch, .right = &right->sch };
            kx_expr *a = kx_bind_expr(&b, c->kids[0]), *z = a ? kx_bind_expr(&b, c->kids[1]) : NULL;
            if (!z)
                return NULL;
            if (a->k != KX_COL || z->k != KX_COL || a->op == z->op) {
                kx_fail(q, c->pos, VG_EPARSE,
                        "join conditions are $left.Column == $right.Column or a column name");
                return NULL;
            }
            if (a->op == 1) {
                kx_expr *t = a;
                a = z;
                z = t;
            }
            lk[i] = a;
            rk[i] = z;
            continue;
        }
        kx_fail(q, c->pos, VG_EPARSE, "join conditions are $left.Column == $right.Column or a column name");
        return NULL;
    }
    bool lonly = kind == KX_J_LEFTSEMI || kind == KX_J_LEFTANTI;
    bool ronly = kind == KX_J_RIGHTSEMI || kind == KX_J_RIGHTANTI;
    uint32_t cap = in->sch.n + right->sch.n;
    kx_schema s = kx_schema_alloc(q, cap);
    int *lmap = vg_arena_alloc(q->a, (cap ? cap : 1) * sizeof(int));
    int *rmap = vg_arena_alloc(q->a, (cap ? cap : 1) * sizeof(int));
    if (q->err || !lmap || !rmap)
        return NULL;
    s.n = 0;
    if (!ronly)
        for (uint32_t c = 0; c < in->sch.n; c++) {
            s.names[s.n] = in->sch.names[c];
            s.types[s.n] = in->sch.types[c];
            lmap[s.n] = (int)c;
            rmap[s.n++] = -1;
        }
    if (!lonly)
        for (uint32_t c = 0; c < right->sch.n; c++) {
            vg_str nm = right->sch.names[c];
            if (lookup && lkeyname[c])
                continue;   /* lookup keeps the key columns once */
            if (!ronly && kx_schema_find(&s, nm) >= 0) {
                char *alt = NULL;
                for (int k = 1; k < 1000; k++) {
                    alt = vg_arena_printf(q->a, "%.*s%d", (int)nm.n, nm.p, k);
                    if (!alt)
                        return NULL;
                    if (kx_schema_find(&s, vg_str_c(alt)) < 0)
                        break;
                }
                nm = vg_str_c(alt);
            }
            s.names[s.n] = nm;
            s.types[s.n] = right->sch.types[c];
            lmap[s.n] = -1;
            rmap[s.n++] = (int)c;
        }
    return kx_op_join(q, in, right, kind, lk, rk, nk, &s, lmap, rmap);
}

static kx_op *plan_getschema(kx_query *q, kx_op *in)
{
    kx_schema s = kx_schema_alloc(q, 4);
    if (q->err)
        return NULL;
    static const char *const names[] = { "ColumnName", "ColumnOrdinal", "DataType", "ColumnType" };
    static const vg_type types[] = { VG_T_STRING, VG_T_INT, VG_T_STRING, VG_T_STRING };
    for (int i = 0; i < 4; i++) {
        s.names[i] = vg_str_c(names[i]);
        s.types[i] = types[i];
    }
    kx_rel *r = kx_rel_new(q, &s);
    if (!r)
        return NULL;
    kx_chunk ch;
    kql_col cols[4];
    ch.cols = cols;
    ch.n = 1;
    static const char *const clr[] = { "System.SByte", "System.Int32", "System.Int64", "System.Double",
                                       "System.DateTime", "System.TimeSpan", "System.String",
                                       "System.Object" };
    for (uint32_t c = 0; c < in->sch.n; c++) {
        for (int i = 0; i < 4; i++)
            if (kql_col_alloc(q->a, types[i], 1, &cols[i]))
                return NULL;
        kql_col_set(&cols[0], 0, kql_string(in->sch.names[c]));
        kql_col_set(&cols[1], 0, kql_int((int64_t)c));
        kql_col_set(&cols[2], 0, kql_string(vg_str_c(clr[in->sch.types[c]])));
        kql_col_set(&cols[3], 0, kql_string(vg_str_c(vg_type_name(in->sch.types[c]))));
        if (kx_rel_append(q, r, &ch, NULL, 0))
            return NULL;
    }
    kx_op_close(in);
    return kx_op_rel(q, r);
}

static kx_op *plan_one(kx_query *q, kx_scope *sc, kx_op *in, const vg_kql_node *n)
{
    switch (n->kind) {
    case VG_KQL_WHERE: {
        kx_bind b = { .q = q, .scope = sc, .in = &in->sch, .allow_rowfn = in->serialized };
        kx_expr *x = kx_bind_expr(&b, n->kids[0]);
        if (!x)
            return NULL;
        if (x->type != VG_T_BOOL && x->type != VG_T_DYNAMIC) {
            kx_fail(q, n->pos, VG_ETYPE, "where: the predicate must be bool, not %s", vg_type_name(x->type));
            return NULL;
        }
        return kx_op_filter(q, in, x);
    }
    case VG_KQL_PROJECT:
        return plan_project(q, sc, in, n, false);
    case VG_KQL_EXTEND:
        return plan_project(q, sc, in, n, true);
    case VG_KQL_PROJECT_AWAY:
        return plan_away_keep(q, in, n, false);
    case VG_KQL_PROJECT_KEEP:
        return plan_away_keep(q, in, n, true);
    case VG_KQL_PROJECT_RENAME:
        return plan_rename(q, in, n);
    case VG_KQL_PROJECT_REORDER:
        return plan_reorder(q, in, n);
    case VG_KQL_SUMMARIZE:
        return plan_summarize(q, sc, in, n);
    case VG_KQL_COUNT:
        return kx_op_count(q, in, n->name);
    case VG_KQL_TAKE: case VG_KQL_SAMPLE: {
        uint64_t k;
        if (const_count(q, sc, n->kids[0], &k))
            return NULL;
        return kx_op_take(q, in, k);
    }
    case VG_KQL_TOP: {
        uint64_t k;
        if (const_count(q, sc, n->kids[0], &k))
            return NULL;
        if (k == 0)
            return kx_op_take(q, in, 0);
        return plan_sort(q, sc, in, n->kids + 1, 1, k);
    }
    case VG_KQL_SORT:
        return plan_sort(q, sc, in, n->kids, n->n, 0);
    case VG_KQL_DISTINCT:
        return plan_distinct(q, sc, in, n);
    case VG_KQL_JOIN:
        return plan_join(q, sc, in, n, false);
    case VG_KQL_LOOKUP:
        return plan_join(q, sc, in, n, true);
    case VG_KQL_UNION_OP:
        return kx_plan_union(q, sc, in, n, 1);
    case VG_KQL_AS: {
        /* the rows so far become a relation the rest of the query can name */
        kx_rel *r = kx_rel_new(q, &in->sch);
        if (!r || kx_drain(in, r, 0, NULL))
            return NULL;
        kx_op_close(in);
        kx_let *l = kx_scope_add(q, sc, n->name, KX_LET_REL);
        if (!l)
            return NULL;
        l->rel = r;
        return kx_op_rel(q, r);
    }
    case VG_KQL_SERIALIZE: {
        kx_op *s = kx_op_serialize(q, in);
        if (!s || n->n == 0)
            return s;
        return plan_project(q, sc, s, n, true);
    }
    case VG_KQL_GETSCHEMA:
        return plan_getschema(q, in);
    case VG_KQL_RENDER:
        q->render = n->name;
        return in;
    case VG_KQL_INVOKE: {
        const vg_kql_node *call = n->kids[0];
        kx_let *l = kx_scope_find(sc, call->name);
        if (!l || l->kind != KX_LET_FUNC) {
            kx_fail(q, call->pos, VG_EPARSE, "invoke: '%.*s' is not a tabular function defined by let",
                    (int)call->name.n, call->name.p);
            return NULL;
        }
        return kx_plan_user_tabular(q, sc, l, call, in);
    }
    case VG_KQL_SAMPLE_DISTINCT: {
        uint64_t k;
        if (const_count(q, sc, n->kids[0], &k))
            return NULL;
        vg_kql_node d = { .kind = VG_KQL_DISTINCT, .pos = n->pos, .n = 1, .kids = n->kids + 1 };
        kx_op *op = plan_distinct(q, sc, in, &d);
        return op ? kx_op_take(q, op, k) : NULL;
    }
    default:
        return kx_plan_more(q, sc, in, n);
    }
}

kx_op *kx_plan_pipes(kx_query *q, kx_scope *sc, kx_op *src, const vg_kql_node *const *ops,
                     uint32_t nops)
{
    kx_op *op = src;
    for (uint32_t i = 0; i < nops && op; i++) {
        /* sort | take N  → a bounded top N */
        if (ops[i]->kind == VG_KQL_SORT && i + 1 < nops && ops[i + 1]->kind == VG_KQL_TAKE) {
            uint64_t k;
            if (const_count(q, sc, ops[i + 1]->kids[0], &k)) {
                kx_op_close(op);
                return NULL;
            }
            if (k) {
                kx_op *sorted = plan_sort(q, sc, op, ops[i]->kids, ops[i]->n, k);
                if (!sorted) {
                    kx_op_close(op);
                    return NULL;
                }
                op = sorted;
                i++;
                continue;
            }
        }
        kx_need need = { 0 };
        if (ops[i]->kind == VG_KQL_JOIN || ops[i]->kind == VG_KQL_LOOKUP) {
            need.ops = ops + i + 1;
            need.nops = nops - i - 1;
            const vg_kql_node *on = ops[i]->kids[2];
            need.keys = on ? on->kids : NULL;
            need.nkeys = on ? on->n : 0;
            q->need = &need;
        }
        kx_op *next = plan_one(q, sc, op, ops[i]);
        q->need = NULL;
        /* join | count: the count reads only how many rows there are, so the
         * join hands out row counts without building any column */
        if (next && (ops[i]->kind == VG_KQL_JOIN || ops[i]->kind == VG_KQL_LOOKUP) && i + 1 < nops &&
            ops[i + 1]->kind == VG_KQL_COUNT)
            next->sch.n = 0;
        if (!next) {
            if (!q->err)
                kx_fail(q, ops[i]->pos, VG_ENOMEM, "out of memory");
            kx_op_close(op);   /* the operators planned so far (their arenas) */
            return NULL;
        }
        op = next;
    }
    return op;
}
