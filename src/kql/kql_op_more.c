/*
 * kql_op_more.c - the streaming reshaping operators: mv-expand (one input
 * row → one output row per element of its arrays or bags) and parse /
 * parse-where (columns extracted from a string by a pattern compiled once
 * into a regular expression). kql_plan_more.c plans them.
 *
 * mv-expand keeps its place (input row, element) between calls, so that a
 * row with a huge array still comes out in chunks of KX_CHUNK rows; the
 * input chunk and the evaluated item values stay valid until the operator
 * has emitted every row of that chunk (the values live in inarena). parse
 * maps one input chunk to one output chunk and shares the input's columns.
 */
#include <string.h>

#include "kql/kql_exec.h"

/* ---- mv-expand ---- */

typedef struct mvx_op {
    kx_op op;
    kx_mvx_spec sp;
    vg_arena inarena;       /* the evaluated items of the current input chunk */
    kx_chunk *in;
    kx_vec *vals;
    uint32_t row;           /* next input row */
    uint64_t elem;          /* next element of that row */
    uint64_t rowcount;      /* output rows of that row (UINT64_MAX = not computed) */
    bool eof;
    kx_chunk out;
} mvx_op;

/* Number of elements a value expands into (Kusto: null → one row of null,
 * empty array or bag → no row, a scalar → itself). */
static uint64_t mvx_count(kql_val v)
{
    if (v.t != VG_T_DYNAMIC || v.null || !v.u.d)
        return 1;
    if (v.u.d->kind == VG_JSON_ARRAY || v.u.d->kind == VG_JSON_OBJECT)
        return v.u.d->n;
    return 1;
}

/* A dynamic element read back as type `to` (cast only: a string does not
 * become a number; elements that do not fit are null). */
kql_val kx_dyn_to_type(vg_arena *a, const vg_json *el, vg_type to)
{
    if (to == VG_T_DYNAMIC)
        return kql_dynamic(el);
    if (!el || el->kind == VG_JSON_NULL)
        return kql_null(to);
    kql_val s = kql_dyn_scalar(el);
    if (to == VG_T_STRING)
        return s.t == VG_T_STRING ? s : kql_string(kql_to_string(a, s));
    if (s.t == VG_T_STRING && (kql_type_numeric(to) || to == VG_T_BOOL))
        return kql_null(to);
    if (s.t == VG_T_DYNAMIC)
        return kql_null(to);
    return kql_cast(a, s, to);
}

static kql_val mvx_elem(mvx_op *m, kql_val v, uint64_t e, vg_type to)
{
    vg_arena *a = &m->op.arena;
    if (v.t != VG_T_DYNAMIC) {
        if (e > 0)
            return kql_null(to);
        if (to == VG_T_DYNAMIC)
            return kql_dynamic(kql_dyn_from(a, v));
        return v.t == to ? v : kql_cast(a, v, to);
    }
    const vg_json *d = v.null ? NULL : v.u.d;
    const vg_json *el = NULL;
    if (d && d->kind == VG_JSON_ARRAY) {
        el = e < d->n ? d->kids[e] : NULL;
    } else if (d && d->kind == VG_JSON_OBJECT) {
        if (e < d->n) {
            const vg_json *kid = d->kids[e];
            if (m->sp.bag_as_array) {
                vg_json *arr = kql_dyn_array(a, 2);
                if (arr) {
                    kql_dyn_push(arr, kql_dyn_from(a, kql_string(kid->key)));
                    kql_dyn_push(arr, kid);
                }
                el = arr;
            } else {
                vg_json *bag = kql_dyn_bag(a, 1);
                if (bag)
                    kql_dyn_put(a, bag, kid->key, kid);
                el = bag;
            }
        }
    } else if (e == 0) {
        el = d;
    }
    return kx_dyn_to_type(a, el, to);
}

static vg_err mvx_next(kx_op *op, kx_chunk **out)
{
    mvx_op *m = (mvx_op *)op;
    kx_query *q = op->q;
    if (m->eof)
        return VG_EEOF;
    vg_arena_reset(&op->arena);
    uint32_t k = 0;
    bool alloc = false;
    for (;;) {
        if (!m->in || m->row >= m->in->n) {
            kx_chunk *in;
            vg_err e = op->child->next(op->child, &in);
            if (e == VG_EEOF) {
                m->eof = true;
                break;
            }
            if (e)
                return e;
            m->in = in;
            m->row = 0;
            m->elem = 0;
            m->rowcount = UINT64_MAX;
            vg_arena_reset(&m->inarena);
            kx_evalctx ec = { .q = q, .arena = &m->inarena, .in = in };
            for (uint32_t i = 0; i < m->sp.nitems; i++)
                if ((e = kx_eval(&ec, m->sp.items[i], &m->vals[i])))
                    return e;
            continue;
        }
        if (!alloc) {
            m->out.n = KX_CHUNK;
            for (uint32_t c = 0; c < op->sch.n; c++)
                if (kql_col_alloc(&op->arena, op->sch.types[c], KX_CHUNK, &m->out.cols[c]))
                    return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
            alloc = true;
        }
        uint32_t r = m->row;
        if (m->rowcount == UINT64_MAX) {
            uint64_t n = 0;
            for (uint32_t i = 0; i < m->sp.nitems; i++) {
                uint64_t c = mvx_count(kx_vec_get(&m->vals[i], r));
                if (c > n)
                    n = c;
            }
            if (m->sp.limit && n > m->sp.limit)
                n = m->sp.limit;
            m->rowcount = n;
        }
        if (m->elem >= m->rowcount) {
            m->row++;
            m->elem = 0;
            m->rowcount = UINT64_MAX;
            continue;
        }
        for (uint32_t c = 0; c < op->sch.n; c++)
            if (m->sp.srcmap[c] >= 0)
                kql_col_set(&m->out.cols[c], k, kql_col_get(&m->in->cols[m->sp.srcmap[c]], r));
        for (uint32_t i = 0; i < m->sp.nitems; i++) {
            int oc = m->sp.outcol[i];
            kql_val v = mvx_elem(m, kx_vec_get(&m->vals[i], r), m->elem, m->sp.to[i]);
            kql_col_set(&m->out.cols[oc], k, v);
        }
        if (m->sp.idxcol >= 0)
            kql_col_set(&m->out.cols[m->sp.idxcol], k, kql_long((int64_t)m->elem));
        m->elem++;
        if (++k == KX_CHUNK)
            break;
    }
    if (k == 0)
        return VG_EEOF;
    for (uint32_t c = 0; c < op->sch.n; c++)
        m->out.cols[c].n = k;
    m->out.n = k;
    *out = &m->out;
    return kx_check(q);
}

static void mvx_close(kx_op *op)
{
    vg_arena_free(&((mvx_op *)op)->inarena);
}

kx_op *kx_op_mvexpand(kx_query *q, kx_op *child, const kx_schema *out, const kx_mvx_spec *spec)
{
    mvx_op *m = vg_arena_zalloc(q->a, sizeof *m);
    if (!m)
        return NULL;
    kx_op_init(q, &m->op, child);
    m->op.sch = *out;
    m->op.serialized = child->serialized;
    m->sp = *spec;
    vg_arena_init(&m->inarena, 256 << 10, 0);
    m->vals = vg_arena_zalloc(q->a, (spec->nitems ? spec->nitems : 1) * sizeof *m->vals);
    m->out.cols = vg_arena_alloc(q->a, (out->n ? out->n : 1) * sizeof(kql_col));
    if (!m->vals || !m->out.cols)
        return NULL;
    m->op.next = mvx_next;
    m->op.close = mvx_close;
    return &m->op;
}

/* ---- parse / parse-where ---- */

typedef struct parse_op {
    kx_op op;
    kx_parse_spec sp;
    size_t *ovec;
    uint32_t *sel;
    kx_chunk full, out;
} parse_op;

static vg_err parse_next(kx_op *op, kx_chunk **out)
{
    parse_op *p = (parse_op *)op;
    kx_query *q = op->q;
    for (;;) {
        kx_chunk *in;
        vg_err e = op->child->next(op->child, &in);
        if (e)
            return e;
        vg_arena_reset(&op->arena);
        kx_evalctx ec = { .q = q, .arena = &op->arena, .in = in };
        kx_vec src;
        if ((e = kx_eval(&ec, p->sp.src, &src)))
            return e;
        p->full.n = in->n;
        for (uint32_t c = 0; c < op->sch.n; c++) {
            if (p->sp.srcmap[c] >= 0)
                p->full.cols[c] = in->cols[p->sp.srcmap[c]];
            else if (kql_col_alloc(&op->arena, op->sch.types[c], in->n, &p->full.cols[c]))
                return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        }
        uint32_t nsel = 0;
        int ng = (int)p->sp.ngroups + 1;
        for (uint32_t r = 0; r < in->n; r++) {
            kql_val v = kx_vec_get(&src, r);
            vg_str s = v.t == VG_T_STRING ? v.u.s : kql_to_string(&op->arena, v);
            int rc = kql_regex_match(p->sp.re, s, 0, p->ovec, ng);
            if (rc < 0)
                return q->ctx.err ? (q->err = q->ctx.err) : kx_fail(q, (vg_kql_pos){ 0 }, VG_EPARSE,
                                                                    "parse: the pattern could not be matched");
            if (rc == 0)
                continue;
            bool ok = true;
            for (uint32_t i = 0; i < p->sp.ncols && ok; i++) {
                int g = p->sp.group[i];
                size_t b = p->ovec[2 * g], en = p->ovec[2 * g + 1];
                kql_val x;
                if (g >= rc || b == (size_t)-1)
                    x = kql_null(p->sp.types[i]);
                else {
                    vg_str t = vg_str_make(s.p + b, en - b);
                    if (p->sp.types[i] == VG_T_STRING)
                        x = kql_string(t);
                    else if (p->sp.types[i] == VG_T_DYNAMIC)
                        x = kql_dynamic(kql_dyn_parse(&op->arena, t));
                    else
                        x = kql_cast(&op->arena, kql_string(t), p->sp.types[i]);
                }
                if (x.null && x.t != VG_T_STRING && !p->sp.relaxed) {
                    ok = false;
                    break;
                }
                kql_col_set(&p->full.cols[p->sp.outcol[i]], r, x);
            }
            if (!ok) {
                /* strict kinds: a typed column that does not convert fails the row */
                for (uint32_t i = 0; i < p->sp.ncols; i++)
                    kql_col_set(&p->full.cols[p->sp.outcol[i]], r, kql_null(p->sp.types[i]));
                continue;
            }
            p->sel[nsel++] = r;
        }
        if (!p->sp.where) {
            *out = &p->full;
            return VG_OK;
        }
        if (nsel == 0)
            continue;
        if (nsel == in->n) {
            *out = &p->full;
            return VG_OK;
        }
        if (kx_chunk_gather(&op->arena, &op->sch, &p->full, p->sel, nsel, &p->out))
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        *out = &p->out;
        return VG_OK;
    }
}

kx_op *kx_op_parse(kx_query *q, kx_op *child, const kx_schema *out, const kx_parse_spec *spec)
{
    parse_op *p = vg_arena_zalloc(q->a, sizeof *p);
    if (!p)
        return NULL;
    kx_op_init(q, &p->op, child);
    p->op.sch = *out;
    p->op.serialized = child->serialized;
    p->sp = *spec;
    p->ovec = vg_arena_alloc(q->a, 2 * (spec->ngroups + 1) * sizeof *p->ovec);
    p->sel = vg_arena_alloc(q->a, 65536 * sizeof *p->sel);
    p->full.cols = vg_arena_alloc(q->a, (out->n ? out->n : 1) * sizeof(kql_col));
    if (!p->ovec || !p->sel || !p->full.cols)
        return NULL;
    p->op.next = parse_next;
    return &p->op;
}
