/*
 * kql_plan.c - the planner: a tabular syntax tree → a chain of operators.
 *
 * Sources: store tables (a scan), let-bound tabular expressions (planned
 * again where used) and materialized relations, datatable, print, range,
 * union, materialize(), user functions returning tables. Operators are
 * planned one by one against the schema produced so far.
 *
 * Store pushdown: for `Table | where ...` the conjuncts of the leading
 * where operators that compare a column with a constant become scan
 * predicates (Timestamp ranges, ==, =~, has on whole terms, integer
 * equality) that let the store skip whole segments and blocks; the filter
 * still runs on what comes back, so pruning never changes a result. The
 * columns the rest of the pipeline can name are the scan's projection, so
 * unused columns are never decompressed.
 */
#include <stdlib.h>
#include <string.h>

#include "kql/kql_exec.h"

#define plan_pipes kx_plan_pipes

kx_schema kx_schema_alloc(kx_query *q, uint32_t n)
{
    kx_schema s = { .n = n };
    s.names = vg_arena_alloc(q->a, (n ? n : 1) * sizeof(vg_str));
    s.types = vg_arena_alloc(q->a, (n ? n : 1) * sizeof(vg_type));
    if (!s.names || !s.types)
        kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    return s;
}

kx_expr *kx_col_expr(kx_query *q, const kx_schema *s, int c)
{
    kx_expr *x = vg_arena_zalloc(q->a, sizeof *x);
    if (!x)
        return NULL;
    x->k = KX_COL;
    x->col = c;
    x->type = s->types[c];
    return x;
}

/* ---- projection analysis ---- */

static void collect_names(const vg_kql_node *n, const vg_table_def *t, bool *cols, bool *all,
                          unsigned depth)
{
    if (!n || depth > VG_KQL_MAX_HEIGHT + 10 || *all)
        return;
    if (n->kind == VG_KQL_STAR) {
        *all = true;
        return;
    }
    if (n->kind == VG_KQL_NAME || n->kind == VG_KQL_MEMBER || n->kind == VG_KQL_PARAM) {
        int c = vg_schema_col(t, n->name);
        if (c >= 0)
            cols[c] = true;
        if (n->kind == VG_KQL_NAME && memchr(n->name.p, '*', n->name.n))
            *all = true;
    }
    for (uint32_t i = 0; i < n->n; i++)
        collect_names(n->kids[i], t, cols, all, depth + 1);
}

/* Which columns of t can the operators ops[0..n) read? all = every one.
 * Returns true when an operator fixes the output columns (project,
 * summarize, count, ...), so that nothing after ops can see other columns. */
static bool projection_ops(const vg_table_def *t, const vg_kql_node *const *ops, uint32_t n,
                           bool *cols, bool *all)
{
    for (uint32_t i = 0; i < n && !*all; i++) {
        const vg_kql_node *o = ops[i];
        switch (o->kind) {
        case VG_KQL_WHERE: case VG_KQL_EXTEND: case VG_KQL_TAKE: case VG_KQL_SORT:
        case VG_KQL_TOP: case VG_KQL_SERIALIZE: case VG_KQL_RENDER: case VG_KQL_SAMPLE:
        case VG_KQL_JOIN: case VG_KQL_LOOKUP:
            /* joins: the on-clause and (a superset) the right side's names */
            collect_names(o, t, cols, all, 0);
            break;
        case VG_KQL_PROJECT: case VG_KQL_SUMMARIZE: case VG_KQL_DISTINCT: case VG_KQL_MAKE_SERIES:
            collect_names(o, t, cols, all, 0);
            return true;
        case VG_KQL_COUNT:
            return true;
        default:
            *all = true;
            return false;
        }
    }
    return false;
}

static void projection(kx_query *q, const vg_table_def *t, const vg_kql_node *const *ops, uint32_t n,
                       bool *cols, bool *all)
{
    *all = false;
    /* what the consumer of this pipeline reads (a join's right side) */
    const kx_need *need = q->need;
    q->need = NULL;
    if (projection_ops(t, ops, n, cols, all) || *all)
        return;
    if (!need) {
        *all = true;
        return;
    }
    for (uint32_t i = 0; i < need->nkeys; i++)
        collect_names(need->keys[i], t, cols, all, 0);
    if (!projection_ops(t, need->ops, need->nops, cols, all))
        *all = true;
}

/* ---- pushdown ---- */

static bool single_term(vg_str s)
{
    if (!s.n)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80))
            return false;
    }
    return true;
}

static void pushdown(kx_query *q, const kx_expr *x, const vg_table_def *t, vg_scan_spec *sp,
                     vg_scan_pred *preds, size_t *np, size_t cap)
{
    if (x->k == KX_AND) {
        pushdown(q, x->args[0], t, sp, preds, np, cap);
        pushdown(q, x->args[1], t, sp, preds, np, cap);
        return;
    }
    if (x->k == KX_BETWEEN && x->op == VG_KQL_T_BETWEEN && x->args[0]->k == KX_COL &&
        x->args[0]->col == t->ts_col && x->args[1]->k == KX_CONST && x->args[2]->k == KX_CONST &&
        x->args[1]->kv.t == VG_T_DATETIME && !x->args[1]->kv.null && !x->args[2]->kv.null) {
        int64_t lo = x->args[1]->kv.u.i, hi = x->args[2]->kv.u.i;
        if (x->args[2]->kv.t == VG_T_TIMESPAN)
            hi = lo + hi;
        else if (x->args[2]->kv.t != VG_T_DATETIME)
            return;
        if (lo > sp->tmin) sp->tmin = lo;
        if (hi < sp->tmax) sp->tmax = hi;
        return;
    }
    if (x->k != KX_BIN || x->n != 2)
        return;
    const kx_expr *c = x->args[0], *k = x->args[1];
    int op = x->op;
    if (c->k == KX_CONST && k->k == KX_COL) {
        const kx_expr *tmp = c;
        c = k;
        k = tmp;
        switch (op) {
        case VG_KQL_T_LT: op = VG_KQL_T_GT; break;
        case VG_KQL_T_LE: op = VG_KQL_T_GE; break;
        case VG_KQL_T_GT: op = VG_KQL_T_LT; break;
        case VG_KQL_T_GE: op = VG_KQL_T_LE; break;
        case VG_KQL_T_EQEQ: case VG_KQL_T_EQTILDE: break;
        default: return;
        }
    }
    if (c->k != KX_COL || k->k != KX_CONST || k->kv.null)
        return;
    vg_type ct = t->cols[c->col].type;
    if (c->col == t->ts_col && k->kv.t == VG_T_DATETIME) {
        int64_t v = k->kv.u.i;
        switch (op) {
        case VG_KQL_T_GT: if (v + 1 > sp->tmin) sp->tmin = v + 1; break;
        case VG_KQL_T_GE: if (v > sp->tmin) sp->tmin = v; break;
        case VG_KQL_T_LT: if (v - 1 < sp->tmax) sp->tmax = v - 1; break;
        case VG_KQL_T_LE: if (v < sp->tmax) sp->tmax = v; break;
        case VG_KQL_T_EQEQ:
            if (v > sp->tmin) sp->tmin = v;
            if (v < sp->tmax) sp->tmax = v;
            break;
        default: break;
        }
        return;
    }
    if (*np >= cap)
        return;
    if (ct == VG_T_STRING && k->kv.t == VG_T_STRING) {
        vg_scan_pred p = { .col = c->col, .s = k->kv.u.s };
        if (op == VG_KQL_T_EQEQ)
            p.kind = VG_PRED_STR_EQ;
        else if (op == VG_KQL_T_EQTILDE)
            p.kind = VG_PRED_STR_EQ_CI;
        else if ((op == VG_KQL_T_HAS || op == VG_KQL_T_HAS_CS) && single_term(k->kv.u.s))
            p.kind = VG_PRED_HAS_TERM;
        else
            return;
        preds[(*np)++] = p;
        return;
    }
    if ((ct == VG_T_LONG || ct == VG_T_INT) && vg_type_is_i64(k->kv.t) && k->kv.t != VG_T_DATETIME &&
        k->kv.t != VG_T_TIMESPAN) {
        int64_t v = k->kv.u.i;
        vg_scan_pred p = { .kind = VG_PRED_I64_RANGE, .col = c->col, .lo = INT64_MIN, .hi = INT64_MAX };
        switch (op) {
        case VG_KQL_T_EQEQ: p.lo = p.hi = v; break;
        case VG_KQL_T_GT: if (v == INT64_MAX) return; p.lo = v + 1; break;
        case VG_KQL_T_GE: p.lo = v; break;
        case VG_KQL_T_LT: if (v == INT64_MIN) return; p.hi = v - 1; break;
        case VG_KQL_T_LE: p.hi = v; break;
        default: return;
        }
        preds[(*np)++] = p;
    }
}

static kx_op *plan_table_pipe(kx_query *q, kx_scope *sc, const vg_table_def *t,
                              const vg_kql_node *const *ops, uint32_t nops);

/* `T | where/extend/project ... | summarize` (or `| count`): n fragments,
 * each over every n-th segment, run on n threads (kql_op_par.c). NULL with
 * no error when the pipeline does not have that shape. */
static kx_op *plan_parallel(kx_query *q, kx_scope *sc, const vg_table_def *t,
                            const vg_kql_node *const *ops, uint32_t nops)
{
    uint32_t i = 0;
    while (i < nops && (ops[i]->kind == VG_KQL_WHERE || ops[i]->kind == VG_KQL_EXTEND ||
                        ops[i]->kind == VG_KQL_PROJECT))
        i++;
    if (i >= nops || (ops[i]->kind != VG_KQL_SUMMARIZE && ops[i]->kind != VG_KQL_COUNT))
        return NULL;
    if (vg_store_table_rows(q->store, t) < q->par_min_rows)   /* threads cost more below */
        return NULL;
    const vg_kql_node **fops = vg_arena_alloc(q->a, (i + 1) * sizeof *fops);
    if (!fops)
        return NULL;
    memcpy(fops, ops, i * sizeof *fops);
    fops[i] = ops[i];
    if (ops[i]->kind == VG_KQL_COUNT) {
        /* count → summarize Count = count() (merges like any aggregation) */
        const vg_kql_node *c = ops[i];
        vg_kql_node *call = vg_arena_zalloc(q->a, sizeof *call);
        vg_kql_node *name = vg_arena_zalloc(q->a, sizeof *name);
        vg_kql_node *as = vg_arena_zalloc(q->a, sizeof *as);
        vg_kql_node *list = vg_arena_zalloc(q->a, sizeof *list);
        vg_kql_node *none = vg_arena_zalloc(q->a, sizeof *none);
        vg_kql_node *sum = vg_arena_zalloc(q->a, sizeof *sum);
        const vg_kql_node **ak = vg_arena_alloc(q->a, 2 * sizeof *ak);
        const vg_kql_node **lk = vg_arena_alloc(q->a, sizeof *lk);
        const vg_kql_node **sk = vg_arena_alloc(q->a, 3 * sizeof *sk);
        if (!call || !name || !as || !list || !none || !sum || !ak || !lk || !sk)
            return NULL;
        *call = (vg_kql_node){ .kind = VG_KQL_CALL, .pos = c->pos, .name = vg_str_c("count") };
        *name = (vg_kql_node){ .kind = VG_KQL_NAME, .pos = c->pos,
                               .name = c->name.n ? c->name : vg_str_c("Count") };
        ak[0] = name;
        ak[1] = call;
        *as = (vg_kql_node){ .kind = VG_KQL_ASSIGN, .pos = c->pos, .n = 2, .kids = ak };
        lk[0] = as;
        *list = (vg_kql_node){ .kind = VG_KQL_LIST, .pos = c->pos, .n = 1, .kids = lk };
        *none = (vg_kql_node){ .kind = VG_KQL_LIST, .pos = c->pos };
        sk[0] = none;
        sk[1] = list;
        sk[2] = none;
        *sum = (vg_kql_node){ .kind = VG_KQL_SUMMARIZE, .pos = c->pos, .n = 3, .kids = sk };
        fops[i] = sum;
    }
    uint32_t n = q->threads;
    kx_op **frags = vg_arena_zalloc(q->a, n * sizeof *frags);
    if (!frags)
        return NULL;
    for (uint32_t k = 0; k < n; k++) {
        q->part = k;
        q->nparts = n;
        q->part_pending = true;
        frags[k] = plan_table_pipe(q, sc, t, fops, i + 1);
        q->part_pending = false;
        if (!frags[k]) {
            for (uint32_t j = 0; j < k; j++)
                kx_op_close(frags[j]);
            if (!q->err)
                kx_fail(q, ops[i]->pos, VG_ENOMEM, "out of memory");
            return NULL;
        }
    }
    kx_op *par = kx_op_par_agg(q, frags, n);
    if (!par) {
        for (uint32_t j = 0; j < n; j++)
            kx_op_close(frags[j]);
        kx_fail(q, ops[i]->pos, VG_ENOMEM, "out of memory");
        return NULL;
    }
    return plan_pipes(q, sc, par, ops + i + 1, nops - i - 1);
}

/* Plans `table | ops...` with pushdown. */
static kx_op *plan_table_pipe(kx_query *q, kx_scope *sc, const vg_table_def *t,
                              const vg_kql_node *const *ops, uint32_t nops)
{
    uint32_t part = 0, nparts = 0;
    if (q->part_pending) {
        part = q->part;
        nparts = q->nparts;
        q->part_pending = false;   /* scans planned inside (sub-queries) read everything */
    } else if (q->threads > 1 && q->store) {
        kx_op *par = plan_parallel(q, sc, t, ops, nops);
        if (par || q->err)
            return par;
    }
    bool *cols = vg_arena_zalloc(q->a, t->ncols * sizeof(bool));
    if (!cols)
        return NULL;
    bool all;
    projection(q, t, ops, nops, cols, &all);
    if (all)
        for (uint32_t c = 0; c < t->ncols; c++)
            cols[c] = true;
    vg_scan_spec sp = { .table = t, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan_pred *preds = vg_arena_alloc(q->a, 32 * sizeof *preds);
    size_t np = 0;
    /* bind the leading where operators against the table's schema */
    kx_schema ts = kx_schema_alloc(q, t->ncols);
    if (q->err || !preds)
        return NULL;
    for (uint32_t c = 0; c < t->ncols; c++) {
        ts.names[c] = vg_str_c(t->cols[c].name);
        ts.types[c] = t->cols[c].type;
    }
    uint32_t nwhere = 0;
    kx_expr *wexpr[16];
    while (nwhere < nops && nwhere < 16 && ops[nwhere]->kind == VG_KQL_WHERE) {
        kx_bind b = { .q = q, .scope = sc, .in = &ts };
        kx_expr *x = kx_bind_expr(&b, ops[nwhere]->kids[0]);
        if (!x)
            return NULL;
        if (x->type != VG_T_BOOL && x->type != VG_T_DYNAMIC) {
            kx_fail(q, ops[nwhere]->pos, VG_ETYPE, "where: the predicate must be bool, not %s",
                    vg_type_name(x->type));
            return NULL;
        }
        pushdown(q, x, t, &sp, preds, &np, 32);
        wexpr[nwhere++] = x;
    }
    sp.preds = preds;
    sp.npreds = np;
    sp.part = part;
    sp.nparts = nparts;
    sp.codes_only = true;   /* every reader of these columns goes through kql_col_str/dict */
    kx_op *op = kx_op_scan(q, t, &sp, cols);
    if (!op)
        return NULL;
    for (uint32_t i = 0; i < nwhere; i++) {
        if (wexpr[i]->k == KX_CONST && !wexpr[i]->kv.null && wexpr[i]->kv.u.i)
            continue;
        op = kx_op_filter_live(q, op, wexpr[i], all ? NULL : cols);
        if (!op)
            return NULL;
    }
    if (!all) {
        /* only the columns the query can name travel on */
        uint32_t k = 0;
        for (uint32_t c = 0; c < t->ncols; c++)
            k += cols[c];
        kx_schema ns = kx_schema_alloc(q, k);
        kx_expr **ex = vg_arena_alloc(q->a, (k ? k : 1) * sizeof *ex);
        if (q->err || !ex)
            return NULL;
        k = 0;
        for (uint32_t c = 0; c < t->ncols; c++)
            if (cols[c]) {
                ns.names[k] = ts.names[c];
                ns.types[k] = ts.types[c];
                ex[k++] = kx_col_expr(q, &ts, (int)c);
            }
        op = kx_op_project(q, op, &ns, ex);
        if (!op)
            return NULL;
    }
    return plan_pipes(q, sc, op, ops + nwhere, nops - nwhere);
}

/* ---- sources ---- */

static kx_op *plan_datatable(kx_query *q, kx_scope *sc, const vg_kql_node *n)
{
    const vg_kql_node *cols = n->kids[0], *vals = n->kids[1];
    kx_schema s = kx_schema_alloc(q, cols->n);
    if (q->err)
        return NULL;
    for (uint32_t c = 0; c < cols->n; c++) {
        s.names[c] = cols->kids[c]->name;
        vg_str tn = cols->kids[c]->text;
        s.types[c] = VG_T_COUNT_;
        if (!kx_type_from_name(tn, &s.types[c]))
            s.types[c] = VG_T_COUNT_;
        if (s.types[c] == VG_T_COUNT_) {
            kx_fail(q, cols->kids[c]->pos, VG_EPARSE, "unknown type '%.*s'", (int)tn.n, tn.p);
            return NULL;
        }
    }
    if (cols->n == 0 || vals->n % cols->n) {
        kx_fail(q, n->pos, VG_EPARSE,
                "datatable: %u values do not fill rows of %u columns", vals->n, cols->n);
        return NULL;
    }
    kx_rel *r = kx_rel_new(q, &s);
    if (!r)
        return NULL;
    kx_chunk ch;
    ch.cols = vg_arena_alloc(q->a, s.n * sizeof(kql_col));
    if (!ch.cols)
        return NULL;
    uint32_t nrows = vals->n / cols->n;
    for (uint32_t r0 = 0; r0 < nrows; r0 += KX_CHUNK) {
        uint32_t m = nrows - r0 < KX_CHUNK ? nrows - r0 : KX_CHUNK;
        ch.n = m;
        for (uint32_t c = 0; c < s.n; c++) {
            if (kql_col_alloc(q->a, s.types[c], m, &ch.cols[c]))
                return NULL;
            for (uint32_t k = 0; k < m; k++) {
                kx_bind b = { .q = q, .scope = sc };
                static const kx_schema empty = { 0 };
                b.in = &empty;
                kql_val v;
                const vg_kql_node *vn = vals->kids[(r0 + k) * cols->n + c];
                if (kx_bind_const(&b, vn, &v))
                    return NULL;
                if (v.t != s.types[c]) {
                    if (s.types[c] == VG_T_DYNAMIC)
                        v = kql_dynamic(kql_dyn_from(q->a, v));
                    else if (!(v.null && v.t == VG_T_DYNAMIC) &&
                             !(kql_type_numeric(v.t) && kql_type_numeric(s.types[c]))) {
                        kx_fail(q, vn->pos, VG_ETYPE, "datatable: a %s value in the %s column '%.*s'",
                                vg_type_name(v.t), vg_type_name(s.types[c]), (int)s.names[c].n,
                                s.names[c].p);
                        return NULL;
                    } else
                        v = kql_cast(q->a, v, s.types[c]);
                }
                kql_col_set(&ch.cols[c], k, v);
            }
        }
        if (kx_rel_append(q, r, &ch, NULL, 0))
            return NULL;
    }
    return kx_op_rel(q, r);
}

static kx_op *plan_print(kx_query *q, kx_scope *sc, const vg_kql_node *n)
{
    kx_schema s = kx_schema_alloc(q, n->n);
    kx_expr **ex = vg_arena_alloc(q->a, (n->n ? n->n : 1) * sizeof *ex);
    if (q->err || !ex)
        return NULL;
    static const kx_schema empty = { 0 };
    uint32_t counter = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        const vg_kql_node *e = n->kids[i];
        kx_bind b = { .q = q, .scope = sc, .in = &empty };
        if (e->kind == VG_KQL_ASSIGN) {
            s.names[i] = e->kids[0]->name;
            e = e->kids[1];
        } else {
            char *nm = vg_arena_printf(q->a, "print_%u", counter++);
            s.names[i] = vg_str_c(nm);
        }
        if (!(ex[i] = kx_bind_expr(&b, e)))
            return NULL;
        s.types[i] = ex[i]->type;
    }
    /* one row, no columns, projected */
    kx_schema none = { 0 };
    kx_rel *r = kx_rel_new(q, &none);
    if (!r)
        return NULL;
    r->chunks = malloc(sizeof *r->chunks);
    if (!r->chunks)
        return NULL;
    r->cap = r->nchunks = 1;
    r->chunks[0].n = 1;
    r->chunks[0].cols = NULL;
    r->rows = 1;
    kx_op *src = kx_op_rel(q, r);
    return src ? kx_op_project(q, src, &s, ex) : NULL;
}

static kx_op *plan_range(kx_query *q, kx_scope *sc, const vg_kql_node *n)
{
    kx_bind b = { .q = q, .scope = sc };
    static const kx_schema empty = { 0 };
    b.in = &empty;
    kql_val from, to, step;
    if (kx_bind_const(&b, n->kids[0], &from) || kx_bind_const(&b, n->kids[1], &to) ||
        kx_bind_const(&b, n->kids[2], &step))
        return NULL;
    if (from.null || to.null || step.null) {
        kx_fail(q, n->pos, VG_EPARSE, "range: from, to and step must not be null");
        return NULL;
    }
    vg_type t = from.t;
    kx_schema s = kx_schema_alloc(q, 1);
    if (q->err)
        return NULL;
    s.names[0] = n->name;
    s.types[0] = t == VG_T_INT ? VG_T_LONG : t;
    kx_rel *r = kx_rel_new(q, &s);
    if (!r)
        return NULL;
    kx_chunk ch;
    kql_col col;
    ch.cols = &col;
    if (t == VG_T_REAL || step.t == VG_T_REAL) {
        double a = from.t == VG_T_REAL ? from.u.r : (double)from.u.i;
        double z = to.t == VG_T_REAL ? to.u.r : (double)to.u.i;
        double st = step.t == VG_T_REAL ? step.u.r : (double)step.u.i;
        s.types[0] = VG_T_REAL;
        if (st == 0 || (z - a) / st > 1e8) {
            kx_fail(q, n->pos, VG_ELIMIT, "range: too many rows (at most 100,000,000)");
            return NULL;
        }
        uint32_t k = 0;
        if (kql_col_alloc(q->a, VG_T_REAL, KX_CHUNK, &col))
            return NULL;
        for (double v = a; st > 0 ? v <= z : v >= z; v += st) {
            kql_col_set(&col, k++, kql_real(v));
            if (k == KX_CHUNK) {
                ch.n = k;
                if (kx_rel_append(q, r, &ch, NULL, 0))
                    return NULL;
                k = 0;
            }
        }
        ch.n = k;
        if (k && kx_rel_append(q, r, &ch, NULL, 0))
            return NULL;
        return kx_op_rel(q, r);
    }
    int64_t a = from.u.i, z = to.u.i, st = step.u.i;
    if (st == 0 || (z - a) / st > 100000000) {
        kx_fail(q, n->pos, VG_ELIMIT, "range: too many rows (at most 100,000,000)");
        return NULL;
    }
    if (kql_col_alloc(q->a, s.types[0], KX_CHUNK, &col))
        return NULL;
    uint32_t k = 0;
    for (int64_t v = a; st > 0 ? v <= z : v >= z; v += st) {
        kql_val x = { .t = s.types[0], .u.i = v };
        kql_col_set(&col, k++, x);
        if (k == KX_CHUNK) {
            ch.n = k;
            if (kx_rel_append(q, r, &ch, NULL, 0))
                return NULL;
            k = 0;
        }
        if ((st > 0 && v > INT64_MAX - st) || (st < 0 && v < INT64_MIN - st))
            break;
    }
    ch.n = k;
    if (k && kx_rel_append(q, r, &ch, NULL, 0))
        return NULL;
    return kx_op_rel(q, r);
}

/* union of the sources kids[first..] (TABLE patterns expand to tables). */
kx_op *kx_plan_union(kx_query *q, kx_scope *sc, kx_op *lead, const vg_kql_node *n, uint32_t first)
{
    const vg_kql_node *opts = n->kids[0];
    vg_str withsource = VG_STR_NULL;
    bool inner = false, fuzzy = false;
    for (uint32_t i = 0; opts && i < opts->n; i++) {
        const vg_kql_node *o = opts->kids[i];
        if (vg_str_eqc(o->name, "withsource"))
            withsource = o->kids[0]->name;
        else if (vg_str_eqc(o->name, "kind"))
            inner = vg_str_eqc(o->kids[0]->name, "inner");
        else if (vg_str_eqc(o->name, "isfuzzy"))
            fuzzy = o->kids[0]->kind == VG_KQL_BOOL ? o->kids[0]->i != 0
                                                     : vg_str_eqc(o->kids[0]->name, "true");
    }
    kx_op *kids[256];
    vg_str names[256];
    uint32_t nk = 0;
    if (lead) {
        names[nk] = vg_str_c("union_arg0");
        kids[nk++] = lead;
    }
    for (uint32_t i = first; i < n->n; i++) {
        const vg_kql_node *s = n->kids[i];
        if (s->kind == VG_KQL_TABLE && memchr(s->name.p, '*', s->name.n)) {
            for (size_t t = 0; t < vg_schema_ntables; t++) {
                if (!vg_str_wild_match(s->name, vg_str_c(vg_schema_tables[t].name)))
                    continue;
                if (nk >= 256) {
                    kx_fail(q, s->pos, VG_ELIMIT, "union: at most 256 tables");
                    return NULL;
                }
                names[nk] = vg_str_c(vg_schema_tables[t].name);
                if (!(kids[nk++] = plan_table_pipe(q, sc, &vg_schema_tables[t], NULL, 0)))
                    return NULL;
            }
            continue;
        }
        if (nk >= 256) {
            kx_fail(q, s->pos, VG_ELIMIT, "union: at most 256 tables");
            return NULL;
        }
        /* isfuzzy=true: a leg naming a table that does not exist is left out */
        if (fuzzy && s->kind == VG_KQL_TABLE && !kx_scope_find(sc, s->name) && !vg_schema_table(s->name))
            continue;
        names[nk] = s->kind == VG_KQL_TABLE ? s->name
                                            : vg_str_c(vg_arena_printf(q->a, "union_arg%u", nk));
        if (!(kids[nk++] = kx_plan(q, sc, s)))
            return NULL;
    }
    /* the output schema: outer = every column (by name; differing types become
     * name_type), inner = the columns all share */
    uint32_t cap = 0;
    for (uint32_t i = 0; i < nk; i++)
        cap += kids[i]->sch.n;
    kx_schema s = kx_schema_alloc(q, cap + 1);
    if (q->err)
        return NULL;
    s.n = 0;
    if (withsource.n) {
        s.names[s.n] = withsource;
        s.types[s.n++] = VG_T_STRING;
    }
    for (uint32_t i = 0; i < nk; i++)
        for (uint32_t c = 0; c < kids[i]->sch.n; c++) {
            vg_str nm = kids[i]->sch.names[c];
            vg_type t = kids[i]->sch.types[c];
            bool conflict = false;
            for (uint32_t j = 0; j < nk && !conflict; j++) {
                int g = kx_schema_find(&kids[j]->sch, nm);
                conflict = g >= 0 && kids[j]->sch.types[g] != t;
            }
            if (conflict)
                nm = vg_str_c(vg_arena_printf(q->a, "%.*s_%s", (int)nm.n, nm.p, vg_type_name(t)));
            int f = kx_schema_find(&s, nm);
            if (f >= 0 && s.types[f] == t)
                continue;
            if (kx_schema_find(&s, nm) >= 0)
                continue;
            if (inner) {
                bool everywhere = true;
                for (uint32_t j = 0; j < nk && everywhere; j++) {
                    int g = kx_schema_find(&kids[j]->sch, nm);
                    everywhere = g >= 0 && kids[j]->sch.types[g] == t;
                }
                if (!everywhere)
                    continue;
            }
            s.names[s.n] = nm;
            s.types[s.n++] = t;
        }
    int **maps = vg_arena_alloc(q->a, (nk ? nk : 1) * sizeof *maps);
    vg_str *srcn = vg_arena_alloc(q->a, (nk ? nk : 1) * sizeof *srcn);
    kx_op **kk = vg_arena_alloc(q->a, (nk ? nk : 1) * sizeof *kk);
    if (!maps || !srcn || !kk)
        return NULL;
    for (uint32_t i = 0; i < nk; i++) {
        kk[i] = kids[i];
        srcn[i] = names[i];
        maps[i] = vg_arena_alloc(q->a, (s.n ? s.n : 1) * sizeof(int));
        if (!maps[i])
            return NULL;
        for (uint32_t c = 0; c < s.n; c++) {
            maps[i][c] = -1;
            for (uint32_t k = 0; k < kids[i]->sch.n; k++) {
                vg_str nm = kids[i]->sch.names[k];
                vg_type t = kids[i]->sch.types[k];
                bool conflict = false;
                for (uint32_t j = 0; j < nk && !conflict; j++) {
                    int g = kx_schema_find(&kids[j]->sch, nm);
                    conflict = g >= 0 && kids[j]->sch.types[g] != t;
                }
                if (!conflict && vg_str_eq(nm, s.names[c]) && t == s.types[c])
                    maps[i][c] = (int)k;
                else if (conflict) {
                    char *alt = vg_arena_printf(q->a, "%.*s_%s", (int)nm.n, nm.p, vg_type_name(t));
                    if (alt && vg_str_eqc(s.names[c], alt) && t == s.types[c])
                        maps[i][c] = (int)k;
                }
            }
        }
    }
    return kx_op_union(q, kk, nk, &s, maps, withsource, srcn);
}

kx_op *kx_plan_user_tabular(kx_query *q, kx_scope *sc, kx_let *fn, const vg_kql_node *call,
                                kx_op *piped)
{
    const vg_kql_node *params = fn->node->kids[0], *body = fn->node->kids[1];
    if (++q->depth > VG_KQL_MAX_DEPTH) {
        kx_fail(q, call->pos, VG_ELIMIT, "functions call each other too deeply");
        return NULL;
    }
    kx_scope *inner = vg_arena_zalloc(q->a, sizeof *inner);
    if (!inner)
        return NULL;
    inner->up = fn->scope;
    uint32_t ai = 0;
    for (uint32_t i = 0; i < params->n; i++) {
        const vg_kql_node *p = params->kids[i];
        bool tab = p->text.n && p->text.p[0] == '(';
        if (tab) {
            kx_let *l = kx_scope_add(q, inner, p->name, KX_LET_REL);
            if (!l)
                return NULL;
            kx_rel *r = NULL;
            if (piped && i == 0) {
                r = kx_rel_new(q, &piped->sch);
                if (!r)
                    return NULL;
                vg_err e = kx_drain(piped, r, 0, NULL);
                kx_op_close(piped);
                piped = NULL;
                if (e)
                    return NULL;
            } else if (ai < call->n) {
                if (kx_plan_rel(q, sc, call->kids[ai++], &r))
                    return NULL;
            } else {
                kx_fail(q, call->pos, VG_EPARSE, "function '%.*s': no table for parameter '%.*s'",
                        (int)fn->name.n, fn->name.p, (int)p->name.n, p->name.p);
                return NULL;
            }
            l->rel = r;
            continue;
        }
        kx_bind b = { .q = q, .scope = sc };
        static const kx_schema empty = { 0 };
        b.in = &empty;
        kx_expr *v = NULL;
        if (ai < call->n)
            v = kx_bind_expr(&b, call->kids[ai++]);
        else if (p->n)
            v = kx_bind_expr(&b, p->kids[0]);
        else
            kx_fail(q, call->pos, VG_EPARSE, "function '%.*s': no value for parameter '%.*s'",
                    (int)fn->name.n, fn->name.p, (int)p->name.n, p->name.p);
        if (!v)
            return NULL;
        kx_let *l = kx_scope_add(q, inner, p->name, KX_LET_SCALAR);
        if (!l)
            return NULL;
        l->scalar = v;
    }
    kx_op *out = NULL;
    if (kx_run_query_node(q, inner, body, &out))
        return NULL;
    q->depth--;
    if (!out)
        kx_fail(q, call->pos, VG_EPARSE, "function '%.*s' does not return a table",
                (int)fn->name.n, fn->name.p);
    return out;
}

static kx_op *plan_source(kx_query *q, kx_scope *sc, const vg_kql_node *n)
{
    switch (n->kind) {
    case VG_KQL_TABLE: case VG_KQL_NAME: {
        kx_let *l = kx_scope_find(sc, n->name);
        if (l && l->kind == KX_LET_REL)
            return kx_op_rel(q, l->rel);
        if (l && l->kind == KX_LET_TABULAR) {
            if (++q->depth > VG_KQL_MAX_DEPTH) {
                kx_fail(q, n->pos, VG_ELIMIT, "tabular lets refer to each other too deeply");
                return NULL;
            }
            kx_op *op = kx_plan(q, l->scope, l->node);
            q->depth--;
            return op;
        }
        if (l && l->kind == KX_LET_FUNC) {
            static const vg_kql_node nocall = { .kind = VG_KQL_CALL };
            return kx_plan_user_tabular(q, sc, l, &nocall, NULL);
        }
        const vg_table_def *t = vg_schema_table(n->name);
        if (!t) {
            if (memchr(n->name.p, '*', n->name.n))
                kx_fail(q, n->pos, VG_EPARSE, "table name patterns ('%.*s') are only allowed in union",
                        (int)n->name.n, n->name.p);
            else
                kx_fail(q, n->pos, VG_EPARSE, "Failed to resolve table '%.*s'", (int)n->name.n, n->name.p);
            return NULL;
        }
        return plan_table_pipe(q, sc, t, NULL, 0);
    }
    case VG_KQL_DATATABLE:
        return plan_datatable(q, sc, n);
    case VG_KQL_PRINT:
        return plan_print(q, sc, n);
    case VG_KQL_RANGE:
        return plan_range(q, sc, n);
    case VG_KQL_UNION:
        return kx_plan_union(q, sc, NULL, n, 1);
    case VG_KQL_EXTERNALDATA:
        kx_fail(q, n->pos, VG_EUNSUPPORTED,
                "externaldata is not supported: Vigil never fetches data from URLs during a query; "
                "ingest the data first");
        return NULL;
    case VG_KQL_CALL: {
        if ((vg_str_eqc(n->name, "materialize") || vg_str_eqc(n->name, "view")) && n->n == 1)
            return kx_plan(q, sc, n->kids[0]);
        kx_let *l = kx_scope_find(sc, n->name);
        if (l && l->kind == KX_LET_FUNC)
            return kx_plan_user_tabular(q, sc, l, n, NULL);
        if (vg_str_eqc(n->name, "table") && n->n == 1 && n->kids[0]->kind == VG_KQL_STRING) {
            vg_kql_node t = *n->kids[0];
            t.kind = VG_KQL_TABLE;
            return plan_source(q, sc, &t);
        }
        kx_fail(q, n->pos, VG_EPARSE, "'%.*s' is not a tabular function", (int)n->name.n, n->name.p);
        return NULL;
    }
    case VG_KQL_QUERY: {
        kx_op *out = NULL;
        kx_scope *inner = vg_arena_zalloc(q->a, sizeof *inner);
        if (!inner)
            return NULL;
        inner->up = sc;
        if (kx_run_query_node(q, inner, n, &out))
            return NULL;
        return out;
    }
    default:
        kx_fail(q, n->pos, VG_EPARSE, "a %s is not a tabular expression", vg_kql_kind_name(n->kind));
        return NULL;
    }
}

kx_op *kx_plan(kx_query *q, kx_scope *sc, const vg_kql_node *n)
{
    if (q->err)
        return NULL;
    if (n->kind == VG_KQL_PIPELINE) {
        const vg_kql_node *src = n->kids[0];
        if (src->kind == VG_KQL_TABLE && !kx_scope_find(sc, src->name)) {
            const vg_table_def *t = vg_schema_table(src->name);
            if (t)
                return plan_table_pipe(q, sc, t, n->kids + 1, n->n - 1);
        }
        kx_op *op = plan_source(q, sc, src);
        if (!op)
            return NULL;
        return plan_pipes(q, sc, op, n->kids + 1, n->n - 1);
    }
    return plan_source(q, sc, n);
}

vg_err kx_plan_rel(kx_query *q, kx_scope *sc, const vg_kql_node *n, kx_rel **out)
{
    kx_op *op = kx_plan(q, sc, n);
    if (!op)
        return q->err ? q->err : VG_EPARSE;
    kx_rel *r = kx_rel_new(q, &op->sch);
    if (!r) {
        kx_op_close(op);
        return q->err;
    }
    vg_err e = kx_drain(op, r, 0, NULL);
    kx_op_close(op);
    if (e)
        return e;
    *out = r;
    return VG_OK;
}
