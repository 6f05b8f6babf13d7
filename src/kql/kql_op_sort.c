/*
 * kql_op_sort.c - sort/order by and top.
 *
 * The input is materialized (a kx_rel), the sort keys are evaluated once per
 * chunk, and row references are ordered: a full sort (qsort_r) for sort,
 * and a bounded heap for top N (and sort | take N), so that top 10 over ten
 * million rows keeps ten rows, not ten million references. Kusto's defaults:
 * descending; nulls last when descending, first when ascending.
 */
#include <stdlib.h>
#include <string.h>

#include "kql/kql_exec.h"

typedef struct sort_op {
    kx_op op;
    kx_expr **keys;
    int *flags;
    uint32_t nkeys;
    uint64_t limit;            /* 0 = all */
    kx_rel rel;
    kql_col **keycols;         /* [chunk][key] */
    uint64_t *order;           /* row ids in output order */
    uint64_t norder, pos;
    bool ready;
    kx_chunk out;
} sort_op;

static inline kql_val keyval(const sort_op *s, uint64_t row, uint32_t k)
{
    return kql_col_get(&s->keycols[row / KX_CHUNK][k], (uint32_t)(row % KX_CHUNK));
}

static int cmp_rows(const sort_op *s, uint64_t a, uint64_t b)
{
    for (uint32_t k = 0; k < s->nkeys; k++) {
        kql_val x = keyval(s, a, k), y = keyval(s, b, k);
        bool desc = !(s->flags[k] & VG_KQL_SORT_ASC);
        bool nulls_first = (s->flags[k] & VG_KQL_SORT_NULLS_FIRST) ||
                           (!(s->flags[k] & VG_KQL_SORT_NULLS_LAST) && !desc);
        bool xn = x.null || (x.t == VG_T_REAL && x.u.r != x.u.r);
        bool yn = y.null || (y.t == VG_T_REAL && y.u.r != y.u.r);
        if (xn || yn) {
            if (xn && yn)
                continue;
            return (xn ? -1 : 1) * (nulls_first ? 1 : -1);
        }
        int c = kql_val_cmp(x, y);
        if (c)
            return desc ? -c : c;
    }
    return a < b ? -1 : a > b;   /* stable */
}

static int qcmp(const void *a, const void *b, void *ctx)
{
    return cmp_rows(ctx, *(const uint64_t *)a, *(const uint64_t *)b);
}

/* max-heap on cmp_rows: the root is the worst row kept */
static void sift_down(sort_op *s, uint64_t *h, uint64_t n, uint64_t i)
{
    for (;;) {
        uint64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cmp_rows(s, h[l], h[m]) > 0) m = l;
        if (r < n && cmp_rows(s, h[r], h[m]) > 0) m = r;
        if (m == i)
            return;
        uint64_t t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

static void sift_up(sort_op *s, uint64_t *h, uint64_t i)
{
    while (i) {
        uint64_t p = (i - 1) / 2;
        if (cmp_rows(s, h[i], h[p]) <= 0)
            return;
        uint64_t t = h[i]; h[i] = h[p]; h[p] = t;
        i = p;
    }
}

static vg_err prepare(sort_op *s)
{
    kx_query *q = s->op.q;
    vg_err e = kx_drain(s->op.child, &s->rel, 0, NULL);
    if (e)
        return e;
    s->keycols = vg_arena_alloc(&s->rel.arena, (s->rel.nchunks ? s->rel.nchunks : 1) * sizeof *s->keycols);
    if (!s->keycols)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    for (uint32_t c = 0; c < s->rel.nchunks; c++) {
        s->keycols[c] = vg_arena_alloc(&s->rel.arena, (s->nkeys ? s->nkeys : 1) * sizeof(kql_col));
        if (!s->keycols[c])
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        kx_evalctx ec = { .q = q, .arena = &s->rel.arena, .in = &s->rel.chunks[c] };
        for (uint32_t k = 0; k < s->nkeys; k++) {
            kx_vec v;
            if ((e = kx_eval(&ec, s->keys[k], &v)))
                return e;
            if (kx_vec_col(&s->rel.arena, &v, s->keys[k]->type, s->rel.chunks[c].n, &s->keycols[c][k]))
                return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        }
    }
    uint64_t n = s->rel.rows;
    /* rows are dense: every chunk but the last is full */
    if (s->limit && s->limit < n) {
        uint64_t k = s->limit;
        s->order = malloc(k * sizeof *s->order);
        if (!s->order)
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        uint64_t hn = 0;
        for (uint64_t r = 0; r < n; r++) {
            if (hn < k) {
                s->order[hn] = r;
                sift_up(s, s->order, hn++);
            } else if (cmp_rows(s, r, s->order[0]) < 0) {
                s->order[0] = r;
                sift_down(s, s->order, hn, 0);
            }
            if ((r & 0xffff) == 0 && (e = kx_check(q)))
                return e;
        }
        n = hn;
    } else {
        s->order = malloc((n ? n : 1) * sizeof *s->order);
        if (!s->order)
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        for (uint64_t r = 0; r < n; r++)
            s->order[r] = r;
    }
    if ((e = kx_charge(q, n * sizeof *s->order)))
        return e;
    qsort_r(s->order, n, sizeof *s->order, qcmp, s);
    s->norder = n;
    return VG_OK;
}

static vg_err sort_next(kx_op *op, kx_chunk **out)
{
    sort_op *s = (sort_op *)op;
    if (!s->ready) {
        vg_err e = prepare(s);
        if (e)
            return e;
        s->ready = true;
    }
    if (s->pos >= s->norder)
        return VG_EEOF;
    vg_arena_reset(&op->arena);
    uint32_t n = (uint32_t)(s->norder - s->pos < KX_CHUNK ? s->norder - s->pos : KX_CHUNK);
    s->out.n = n;
    for (uint32_t c = 0; c < op->sch.n; c++) {
        if (kql_col_alloc(&op->arena, op->sch.types[c], n, &s->out.cols[c]))
            return kx_fail(op->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        for (uint32_t r = 0; r < n; r++) {
            uint64_t row = s->order[s->pos + r];
            kx_cell_copy(&s->out.cols[c], r, &s->rel.chunks[row / KX_CHUNK].cols[c],
                         (uint32_t)(row % KX_CHUNK));
        }
    }
    s->pos += n;
    *out = &s->out;
    return VG_OK;
}

static void sort_close(kx_op *op)
{
    sort_op *s = (sort_op *)op;
    free(s->order);
    s->order = NULL;
    kx_rel_free(&s->rel);
}

kx_op *kx_op_sort(kx_query *q, kx_op *child, kx_expr **keys, const int *flags, uint32_t nkeys,
                  uint64_t limit)
{
    sort_op *s = vg_arena_zalloc(q->a, sizeof *s);
    if (!s)
        return NULL;
    kx_op_init(q, &s->op, child);
    s->op.sch = child->sch;
    s->op.serialized = true;
    s->keys = keys;
    s->flags = vg_arena_alloc(q->a, (nkeys ? nkeys : 1) * sizeof(int));
    if (!s->flags)
        return NULL;
    memcpy(s->flags, flags, nkeys * sizeof(int));
    s->nkeys = nkeys;
    s->limit = limit;
    kx_rel_init(q, &s->rel, &child->sch);
    s->out.cols = vg_arena_alloc(q->a, (child->sch.n ? child->sch.n : 1) * sizeof(kql_col));
    if (!s->out.cols)
        return NULL;
    s->op.next = sort_next;
    s->op.close = sort_close;
    return &s->op;
}
