/*
 * kql_op_basic.c - the streaming operators: store scan, relation scan,
 * filter (where), project/extend (any list of expressions over the input),
 * take, count, serialize and union.
 *
 * Each operator pulls chunks from its child and hands out one chunk at a
 * time; data it creates lives in its own arena, reset before it builds the
 * next chunk. Scans convert the store's vg_batch into columns without
 * copying: string vectors point into the scan's batch.
 */
#include <stdlib.h>
#include <string.h>

#include "kql/kql_exec.h"

vg_err kx_chunk_gather(vg_arena *a, const kx_schema *sch, const kx_chunk *in, const uint32_t *sel,
                       uint32_t nsel, kx_chunk *out)
{
    return kx_chunk_gather_live(a, sch, in, sel, nsel, NULL, out);
}

vg_err kx_chunk_gather_live(vg_arena *a, const kx_schema *sch, const kx_chunk *in,
                            const uint32_t *sel, uint32_t nsel, const bool *live, kx_chunk *out)
{
    out->n = nsel;
    out->cols = vg_arena_alloc(a, (sch->n ? sch->n : 1) * sizeof *out->cols);
    if (!out->cols)
        return VG_ENOMEM;
    size_t words = (nsel + 63) / 64;
    for (uint32_t c = 0; c < sch->n; c++) {
        const kql_col *s = &in->cols[c];
        kql_col *d = &out->cols[c];
        if (live && !live[c]) {
            /* never read downstream: keep the (all-null) stand-in as it is */
            *d = *s;
            d->n = nsel;
            continue;
        }
        d->type = s->type;
        d->n = nsel;
        size_t w;
        switch (s->type) {
        case VG_T_BOOL: w = 1; break;
        case VG_T_STRING: w = sizeof(vg_str); break;
        case VG_T_DYNAMIC: w = sizeof(void *); break;
        case VG_T_REAL: w = sizeof(double); break;
        default: w = sizeof(int64_t); break;
        }
        void *dst = vg_arena_alloc(a, (nsel ? nsel : 1) * w);
        if (!dst)
            return VG_ENOMEM;
        switch (w) {
        case 1: {
            uint8_t *o = dst;
            for (uint32_t k = 0; k < nsel; k++) o[k] = s->v.b[sel[k]];
            d->v.b = o;
            break;
        }
        case 8: {
            int64_t *o = dst;
            const int64_t *i = (const int64_t *)s->v.i64;
            for (uint32_t k = 0; k < nsel; k++) o[k] = i[sel[k]];
            d->v.i64 = o;
            break;
        }
        default: {
            vg_str *o = dst;
            if (s->v.s) {
                for (uint32_t k = 0; k < nsel; k++) o[k] = s->v.s[sel[k]];
                d->v.s = o;
            } else {
                d->v.s = NULL;   /* dictionary codes only: gathered below */
            }
            break;
        }
        }
        d->dict = NULL;
        d->codes = NULL;
        d->ndict = 0;
        if (s->codes) {
            uint16_t *cd = vg_arena_alloc(a, (nsel ? nsel : 1) * sizeof *cd);
            if (!cd)
                return VG_ENOMEM;
            for (uint32_t k = 0; k < nsel; k++)
                cd[k] = s->codes[sel[k]];
            d->codes = cd;
            d->dict = s->dict;
            d->ndict = s->ndict;
        }
        if (s->valid) {
            d->valid = vg_arena_zalloc(a, (words ? words : 1) * 8);
            if (!d->valid)
                return VG_ENOMEM;
            for (uint32_t k = 0; k < nsel; k++)
                if (vg_bit_get(s->valid, sel[k]))
                    vg_bit_set(d->valid, k);
        } else {
            d->valid = NULL;
        }
    }
    return VG_OK;
}

/* ---- store scan ---- */

typedef struct scan_op {
    kx_op op;
    const vg_table_def *t;
    vg_scan_spec spec;
    vg_scan *sc;
    bool *cols;
    kql_col *nullcols;      /* all-null columns for the ones not projected */
    kx_chunk out;
} scan_op;

static vg_err scan_next(kx_op *op, kx_chunk **out)
{
    scan_op *s = (scan_op *)op;
    kx_query *q = op->q;
    vg_err e = kx_check(q);
    if (e)
        return e;
    if (!s->sc) {
        vg_diag d;
        if ((e = vg_scan_open(q->store, &s->spec, &s->sc, &d)))
            return kx_fail(q, (vg_kql_pos){ 0 }, e, "%s", d.msg);
    }
    const vg_batch *b;
    vg_diag d;
    for (;;) {
        e = vg_scan_next(s->sc, &b, &d);
        if (e == VG_EEOF)
            return VG_EEOF;
        if (e)
            return kx_fail(q, (vg_kql_pos){ 0 }, e, "%s", d.msg);
        if (b->nrows)
            break;
    }
    vg_arena_reset(&op->arena);
    __atomic_add_fetch(&q->rows_scanned, b->nrows, __ATOMIC_RELAXED);
    s->out.n = b->nrows;
    for (uint32_t c = 0; c < s->t->ncols; c++) {
        kql_col *o = &s->out.cols[c];
        const vg_colvec *v = &b->cols[c];
        if (!v->present) {
            *o = s->nullcols[c];
            o->n = b->nrows;
            continue;
        }
        o->type = v->type;
        o->n = b->nrows;
        o->valid = v->valid;
        o->dict = NULL;
        o->codes = NULL;
        o->ndict = 0;
        switch (v->type) {
        case VG_T_BOOL: o->v.b = v->v.b; break;
        case VG_T_REAL: o->v.f64 = v->v.f64; break;
        case VG_T_STRING:
            o->v.s = v->v.s;
            o->dict = v->codes ? v->dict : NULL;
            o->codes = v->codes;
            o->ndict = v->codes ? v->ndict : 0;
            break;
        case VG_T_DYNAMIC: {
            const vg_json **d2 = vg_arena_alloc(&op->arena, b->nrows * sizeof *d2);
            if (!d2)
                return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
            for (uint32_t r = 0; r < b->nrows; r++)
                d2[r] = vg_bit_get(v->valid, r) && v->v.s[r].n
                            ? kql_dyn_parse(&op->arena, v->v.s[r]) : NULL;
            o->v.d = d2;
            break;
        }
        default: o->v.i64 = v->v.i64; break;
        }
    }
    *out = &s->out;
    return VG_OK;
}

static void scan_close(kx_op *op)
{
    scan_op *s = (scan_op *)op;
    if (s->sc) {
        vg_scan_stats st;
        vg_scan_get_stats(s->sc, &st);
        op->q->scan.segments_total += st.segments_total;
        op->q->scan.segments_skipped += st.segments_skipped;
        op->q->scan.blocks_total += st.blocks_total;
        op->q->scan.blocks_skipped += st.blocks_skipped;
        op->q->scan.rows_returned += st.rows_returned;
        vg_scan_close(s->sc);
        s->sc = NULL;
    }
}

/* Without a store (vigil hunt with no data directory) tables cannot be read. */
static vg_err nostore_next(kx_op *op, kx_chunk **out)
{
    (void)out;
    return kx_fail(op->q, (vg_kql_pos){ 0 }, VG_ENOTFOUND,
                   "no data directory to read table '%s' from (vigil hunt --data DIR)",
                   ((scan_op *)op)->t->name);
}

kx_op *kx_op_scan(kx_query *q, const vg_table_def *t, const vg_scan_spec *spec, const bool *cols)
{
    scan_op *s = vg_arena_zalloc(q->a, sizeof *s);
    if (!s)
        return NULL;
    kx_op_init(q, &s->op, NULL);
    s->t = t;
    s->op.sch.n = t->ncols;
    s->op.sch.names = vg_arena_alloc(q->a, t->ncols * sizeof(vg_str));
    s->op.sch.types = vg_arena_alloc(q->a, t->ncols * sizeof(vg_type));
    s->out.cols = vg_arena_alloc(q->a, t->ncols * sizeof(kql_col));
    s->nullcols = vg_arena_alloc(q->a, t->ncols * sizeof(kql_col));
    s->cols = vg_arena_alloc(q->a, t->ncols * sizeof(bool));
    if (!s->op.sch.names || !s->op.sch.types || !s->out.cols || !s->nullcols || !s->cols)
        return NULL;
    /* all-null stand-ins (columns not projected, or absent from a segment)
     * share one zeroed region: nothing writes into a scan's columns */
    void *zero = vg_arena_zalloc(q->a, (size_t)VG_BATCH_ROWS * sizeof(vg_str));
    uint64_t *zvalid = vg_arena_zalloc(q->a, VG_BATCH_ROWS / 8 + 8);
    if (!zero || !zvalid)
        return NULL;
    for (uint32_t c = 0; c < t->ncols; c++) {
        s->op.sch.names[c] = vg_str_c(t->cols[c].name);
        s->op.sch.types[c] = t->cols[c].type;
        s->cols[c] = cols ? cols[c] : true;
        s->nullcols[c] = (kql_col){ .type = t->cols[c].type, .n = VG_BATCH_ROWS, .valid = zvalid };
        s->nullcols[c].v.i64 = zero;
    }
    s->spec = *spec;
    s->spec.table = t;
    /* the query's time window narrows every scan, exactly: the store drops
     * rows outside it (exact also re-checks the pushed predicates, which the
     * filters above the scan test again anyway) */
    if (t->ts_col >= 0 && (q->time_min != INT64_MIN || q->time_max != INT64_MAX)) {
        if (q->time_min > s->spec.tmin)
            s->spec.tmin = q->time_min;
        if (q->time_max < s->spec.tmax)
            s->spec.tmax = q->time_max;
        s->spec.exact = true;
    }
    s->spec.cols = s->cols;
    s->op.next = q->store ? scan_next : nostore_next;
    s->op.close = scan_close;
    return &s->op;
}

/* ---- relation scan ---- */

typedef struct rel_op {
    kx_op op;
    const kx_rel *r;
    uint32_t i;
} rel_op;

static vg_err rel_next(kx_op *op, kx_chunk **out)
{
    rel_op *s = (rel_op *)op;
    while (s->i < s->r->nchunks && s->r->chunks[s->i].n == 0)
        s->i++;
    if (s->i >= s->r->nchunks)
        return VG_EEOF;
    *out = &s->r->chunks[s->i++];
    return kx_check(op->q);
}

kx_op *kx_op_rel(kx_query *q, const kx_rel *r)
{
    rel_op *s = vg_arena_zalloc(q->a, sizeof *s);
    if (!s)
        return NULL;
    kx_op_init(q, &s->op, NULL);
    s->op.sch = r->sch;
    s->r = r;
    s->op.next = rel_next;
    s->op.serialized = true;
    return &s->op;
}

/* ---- filter ---- */

typedef struct filter_op {
    kx_op op;
    kx_expr *pred;
    uint32_t *sel;
    const bool *live;       /* columns the rest of the query reads (NULL = all) */
    kx_chunk out;
} filter_op;

static vg_err filter_next(kx_op *op, kx_chunk **out)
{
    filter_op *f = (filter_op *)op;
    for (;;) {
        kx_chunk *in;
        vg_err e = op->child->next(op->child, &in);
        if (e)
            return e;
        vg_arena_reset(&op->arena);
        kx_evalctx ec = { .q = op->q, .ctx = op->ctx, .arena = &op->arena, .in = in };
        uint32_t nsel;
        if ((e = kx_eval_sel(&ec, f->pred, f->sel, &nsel)))
            return e;
        if (nsel == 0)
            continue;
        if (nsel == in->n) {
            *out = in;
            return VG_OK;
        }
        if (kx_chunk_gather_live(&op->arena, &op->sch, in, f->sel, nsel, f->live, &f->out))
            return kx_fail(op->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        *out = &f->out;
        return VG_OK;
    }
}

kx_op *kx_op_filter_live(kx_query *q, kx_op *child, kx_expr *pred, const bool *live)
{
    kx_op *op = kx_op_filter(q, child, pred);
    if (op)
        ((filter_op *)op)->live = live;
    return op;
}

kx_op *kx_op_filter(kx_query *q, kx_op *child, kx_expr *pred)
{
    filter_op *f = vg_arena_zalloc(q->a, sizeof *f);
    if (!f)
        return NULL;
    kx_op_init(q, &f->op, child);
    f->op.sch = child->sch;
    f->op.serialized = child->serialized;
    f->pred = pred;
    f->sel = vg_arena_alloc(q->a, 65536 * sizeof *f->sel);
    if (!f->sel)
        return NULL;
    f->op.next = filter_next;
    return &f->op;
}

/* ---- project / extend ---- */

typedef struct project_op {
    kx_op op;
    kx_expr **exprs;
    kx_chunk out;
    uint64_t rows;          /* rows handed out (row_number) */
    struct kx_rowwin *winp;
} project_op;


static vg_err project_next(kx_op *op, kx_chunk **out)
{
    project_op *p = (project_op *)op;
    kx_chunk *in;
    vg_err e = op->child->next(op->child, &in);
    if (e)
        return e;
    vg_arena_reset(&op->arena);
    kx_evalctx ec = { .q = op->q, .ctx = op->ctx, .arena = &op->arena, .in = in,
                      .row_base = p->rows, .win = p->winp };
    p->out.n = in->n;
    for (uint32_t c = 0; c < op->sch.n; c++) {
        kx_vec v;
        if ((e = kx_eval(&ec, p->exprs[c], &v)))
            return e;
        if (kx_vec_col(&op->arena, &v, op->sch.types[c], in->n, &p->out.cols[c]))
            return kx_fail(op->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    }
    p->rows += in->n;
    *out = &p->out;
    return VG_OK;
}

kx_op *kx_op_project(kx_query *q, kx_op *child, const kx_schema *sch, kx_expr **exprs)
{
    project_op *p = vg_arena_zalloc(q->a, sizeof *p);
    if (!p)
        return NULL;
    kx_op_init(q, &p->op, child);
    p->op.sch = *sch;
    p->op.serialized = child->serialized;
    p->exprs = exprs;
    p->out.cols = vg_arena_alloc(q->a, (sch->n ? sch->n : 1) * sizeof(kql_col));
    if (!p->out.cols)
        return NULL;
    p->op.next = project_next;
    /* a relation scan underneath: prev()/next() read neighbours from it */
    const kx_rel *win = kx_op_serialized_rel(child);
    if (win) {
        p->winp = vg_arena_zalloc(q->a, sizeof *p->winp);
        if (!p->winp)
            return NULL;
        p->winp->rel = win;
    }
    return &p->op;
}

/* ---- take ---- */

typedef struct take_op {
    kx_op op;
    uint64_t left;
    kx_chunk out;
} take_op;

static vg_err take_next(kx_op *op, kx_chunk **out)
{
    take_op *t = (take_op *)op;
    if (!t->left)
        return VG_EEOF;
    kx_chunk *in;
    vg_err e = op->child->next(op->child, &in);
    if (e)
        return e;
    if (in->n <= t->left) {
        t->left -= in->n;
        *out = in;
        return VG_OK;
    }
    t->out = *in;
    t->out.n = (uint32_t)t->left;
    t->left = 0;
    *out = &t->out;
    return VG_OK;
}

kx_op *kx_op_take(kx_query *q, kx_op *child, uint64_t n)
{
    take_op *t = vg_arena_zalloc(q->a, sizeof *t);
    if (!t)
        return NULL;
    kx_op_init(q, &t->op, child);
    t->op.sch = child->sch;
    t->op.serialized = child->serialized;
    t->left = n;
    t->op.next = take_next;
    return &t->op;
}

/* ---- count ---- */

typedef struct count_op {
    kx_op op;
    bool done;
    kx_chunk out;
} count_op;

static vg_err count_next(kx_op *op, kx_chunk **out)
{
    count_op *c = (count_op *)op;
    if (c->done)
        return VG_EEOF;
    int64_t n = 0;
    for (;;) {
        kx_chunk *in;
        vg_err e = op->child->next(op->child, &in);
        if (e == VG_EEOF)
            break;
        if (e)
            return e;
        n += in->n;
    }
    c->done = true;
    vg_arena_reset(&op->arena);
    c->out.n = 1;
    if (kql_col_alloc(&op->arena, VG_T_LONG, 1, &c->out.cols[0]))
        return kx_fail(op->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    kql_col_set(&c->out.cols[0], 0, kql_long(n));
    *out = &c->out;
    return VG_OK;
}

kx_op *kx_op_count(kx_query *q, kx_op *child, vg_str name)
{
    count_op *c = vg_arena_zalloc(q->a, sizeof *c);
    if (!c)
        return NULL;
    kx_op_init(q, &c->op, child);
    c->op.sch.n = 1;
    c->op.sch.names = vg_arena_alloc(q->a, sizeof(vg_str));
    c->op.sch.types = vg_arena_alloc(q->a, sizeof(vg_type));
    c->out.cols = vg_arena_alloc(q->a, sizeof(kql_col));
    if (!c->op.sch.names || !c->op.sch.types || !c->out.cols)
        return NULL;
    c->op.sch.names[0] = name.n ? name : vg_str_c("Count");
    c->op.sch.types[0] = VG_T_LONG;
    c->op.next = count_next;
    return &c->op;
}

/* ---- union ---- */

typedef struct union_op {
    kx_op op;
    kx_op **kids;
    uint32_t n, cur;
    int **maps;            /* per input: output column → input column, -1 = null */
    vg_str source_col;
    vg_str *source_names;
    kx_chunk out;
} union_op;

static vg_err union_next(kx_op *op, kx_chunk **out)
{
    union_op *u = (union_op *)op;
    while (u->cur < u->n) {
        kx_op *k = u->kids[u->cur];
        kx_chunk *in;
        vg_err e = k->next(k, &in);
        if (e == VG_EEOF) {
            u->cur++;
            continue;
        }
        if (e)
            return e;
        vg_arena_reset(&op->arena);
        u->out.n = in->n;
        const int *m = u->maps[u->cur];
        for (uint32_t c = 0; c < op->sch.n; c++) {
            kql_col *o = &u->out.cols[c];
            if (u->source_col.n && c == 0) {
                if (kql_col_alloc(&op->arena, VG_T_STRING, in->n, o))
                    return VG_ENOMEM;
                for (uint32_t r = 0; r < in->n; r++)
                    kql_col_set(o, r, kql_string(u->source_names[u->cur]));
                continue;
            }
            if (m[c] >= 0 && in->cols[m[c]].type == op->sch.types[c]) {
                *o = in->cols[m[c]];
                continue;
            }
            if (kql_col_alloc(&op->arena, op->sch.types[c], in->n, o))
                return VG_ENOMEM;
            if (m[c] >= 0)
                for (uint32_t r = 0; r < in->n; r++)
                    kql_col_set(o, r, kql_col_get(&in->cols[m[c]], r));
        }
        *out = &u->out;
        return VG_OK;
    }
    return VG_EEOF;
}

static void union_close(kx_op *op)
{
    union_op *u = (union_op *)op;
    for (uint32_t i = 0; i < u->n; i++)
        kx_op_close(u->kids[i]);
}

kx_op *kx_op_union(kx_query *q, kx_op **kids, uint32_t n, const kx_schema *sch, int **maps,
                   vg_str source_col, vg_str *source_names)
{
    union_op *u = vg_arena_zalloc(q->a, sizeof *u);
    if (!u)
        return NULL;
    kx_op_init(q, &u->op, NULL);
    u->op.sch = *sch;
    u->kids = kids;
    u->n = n;
    u->maps = maps;
    u->source_col = source_col;
    u->source_names = source_names;
    u->out.cols = vg_arena_alloc(q->a, (sch->n ? sch->n : 1) * sizeof(kql_col));
    if (!u->out.cols)
        return NULL;
    u->op.next = union_next;
    u->op.close = union_close;
    return &u->op;
}

/* ---- serialize: materializes the input so that prev()/next() see
 * neighbours across chunks; row order is kept ---- */

typedef struct ser_op {
    kx_op op;
    kx_rel rel;
    kx_op *inner;
    bool ready;
} ser_op;

static vg_err ser_next(kx_op *op, kx_chunk **out)
{
    ser_op *s = (ser_op *)op;
    if (!s->ready) {
        vg_err e = kx_drain(op->child, &s->rel, 0, NULL);
        if (e)
            return e;
        s->ready = true;
        s->inner = kx_op_rel(op->q, &s->rel);
        if (!s->inner)
            return VG_ENOMEM;
    }
    return s->inner->next(s->inner, out);
}

static void ser_close(kx_op *op)
{
    ser_op *s = (ser_op *)op;
    kx_rel_free(&s->rel);
}

kx_op *kx_op_serialize(kx_query *q, kx_op *child)
{
    ser_op *s = vg_arena_zalloc(q->a, sizeof *s);
    if (!s)
        return NULL;
    kx_op_init(q, &s->op, child);
    s->op.sch = child->sch;
    s->op.serialized = true;
    kx_rel_init(q, &s->rel, &child->sch);
    s->op.next = ser_next;
    s->op.close = ser_close;
    return &s->op;
}

/* The relation behind a serialize operator (for prev/next windows). */
const kx_rel *kx_op_serialized_rel(kx_op *op)
{
    if (op->next == ser_next)
        return &((ser_op *)op)->rel;
    if (op->next == rel_next)
        return ((rel_op *)op)->r;
    return NULL;
}
