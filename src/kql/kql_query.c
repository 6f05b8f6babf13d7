/*
 * kql_query.c - running one query: statements (let, set, the final tabular
 * expression), limits (deadline, memory, cancellation), relations, and the
 * result object handed to the CLI and the HTTP API.
 *
 * A query owns one arena for its syntax tree, bindings and plan; every
 * operator has its own arena for the chunk it hands out; relations
 * (materialized data) have theirs and are charged against the memory cap.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vg_map.h"
#include "core/vg_time.h"
#include "kql/kql_exec.h"

struct vg_kql_result {
    vg_arena a;
    kx_rel *rel;
    bool truncated;
    vg_str render;
    vg_kql_stats stats;
};

/* ---- query-wide checks ---- */

vg_err kx_fail(kx_query *q, vg_kql_pos pos, vg_err e, const char *fmt, ...)
{
    char msg[VG_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&q->mu);
    vg_err was = __atomic_load_n(&q->err, __ATOMIC_ACQUIRE);
    if (!was) {
        if (pos.line)
            vg_diag_set(q->d, e, "line %u, column %u: %s", pos.line, pos.col, msg);
        else
            vg_diag_set(q->d, e, "%s", msg);
        __atomic_store_n(&q->err, e, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&q->mu);
    return was ? was : e;
}

vg_err kx_seterr(kx_query *q, vg_err e)
{
    pthread_mutex_lock(&q->mu);
    vg_err was = __atomic_load_n(&q->err, __ATOMIC_ACQUIRE);
    if (!was)
        __atomic_store_n(&q->err, e, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&q->mu);
    return was ? was : e;
}

vg_err kx_check(kx_query *q)
{
    vg_err e = __atomic_load_n(&q->err, __ATOMIC_ACQUIRE);
    if (e)
        return e;
    if (q->ctx.err)
        return kx_seterr(q, q->ctx.err);
    if (q->cancel && *q->cancel)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT, "the query was cancelled");
    if (q->deadline_ns && vg_mono_ns() > q->deadline_ns)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT,
                       "the query ran past its time limit and was stopped");
    return VG_OK;
}

vg_err kx_charge(kx_query *q, size_t n)
{
    size_t used = __atomic_add_fetch(&q->mem_used, n, __ATOMIC_RELAXED);
    if (q->mem_cap && used > q->mem_cap)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT,
                       "the query needs more than its memory limit (%zu MiB); "
                       "filter or summarize earlier",
                       q->mem_cap >> 20);
    return VG_OK;
}

int kx_schema_find(const kx_schema *s, vg_str name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (vg_str_eq(s->names[i], name))
            return (int)i;
    return -1;
}

/* ---- relations ---- */

vg_err kx_rel_init(kx_query *q, kx_rel *r, const kx_schema *sch)
{
    (void)q;
    memset(r, 0, sizeof *r);
    r->sch = *sch;
    vg_arena_init(&r->arena, 1 << 20, 0);
    return VG_OK;
}

kx_rel *kx_rel_new(kx_query *q, const kx_schema *sch)
{
    if (q->nrels == q->caprels) {
        uint32_t nc = q->caprels ? q->caprels * 2 : 16;
        kx_rel **n = vg_arena_alloc(q->a, nc * sizeof *n);
        if (!n) {
            kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
            return NULL;
        }
        if (q->nrels)
            memcpy(n, q->rels, q->nrels * sizeof *n);
        q->rels = n;
        q->caprels = nc;
    }
    kx_rel *r = vg_arena_zalloc(q->a, sizeof *r);
    if (!r) {
        kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        return NULL;
    }
    kx_rel_init(q, r, sch);
    q->rels[q->nrels++] = r;
    return r;
}

void kx_rel_free(kx_rel *r)
{
    if (!r)
        return;
    vg_arena_free(&r->arena);
    vg_arena_init(&r->arena, 1 << 20, 0);
    free(r->chunks);
    r->chunks = NULL;
    r->nchunks = r->cap = 0;
}

static vg_err rel_new_chunk(kx_query *q, kx_rel *r)
{
    if (r->nchunks == r->cap) {
        uint32_t nc = r->cap ? r->cap * 2 : 8;
        kx_chunk *c = realloc(r->chunks, nc * sizeof *c);
        if (!c)
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        r->chunks = c;
        r->cap = nc;
    }
    kx_chunk *c = &r->chunks[r->nchunks];
    c->n = 0;
    c->cols = vg_arena_alloc(&r->arena, (r->sch.n ? r->sch.n : 1) * sizeof *c->cols);
    if (!c->cols)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    size_t before = r->arena.reserved;
    for (uint32_t i = 0; i < r->sch.n; i++)
        if (kql_col_alloc(&r->arena, r->sch.types[i], KX_CHUNK, &c->cols[i]))
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    r->nchunks++;
    return kx_charge(q, r->arena.reserved - before);
}

/* Deep copy of a dynamic tree into a. */
static const vg_json *dyn_copy(vg_arena *a, const vg_json *d, unsigned depth)
{
    if (!d || depth > VG_JSON_MAX_DEPTH)
        return NULL;
    vg_json *c = vg_arena_alloc(a, sizeof *c);
    if (!c)
        return NULL;
    *c = *d;
    c->str = vg_str_dup(a, d->str);
    c->key = vg_str_dup(a, d->key);
    if (d->n) {
        c->kids = vg_arena_alloc(a, d->n * sizeof *c->kids);
        if (!c->kids)
            return NULL;
        for (uint32_t i = 0; i < d->n; i++)
            c->kids[i] = (vg_json *)dyn_copy(a, d->kids[i], depth + 1);
    }
    return c;
}

kql_val kx_val_copy(vg_arena *a, kql_val v)
{
    if (v.t == VG_T_STRING && v.u.s.n)
        v.u.s = vg_str_dup(a, v.u.s);
    else if (v.t == VG_T_DYNAMIC && !v.null)
        v.u.d = dyn_copy(a, v.u.d, 0);
    return v;
}

bool kx_key_eq(kql_val a, kql_val b)
{
    if (a.null || b.null)
        return a.null && b.null;
    if (a.t == b.t && a.t != VG_T_STRING && a.t != VG_T_REAL && a.t != VG_T_DYNAMIC)
        return a.u.i == b.u.i;
    if (a.t == VG_T_STRING && b.t == VG_T_STRING)
        return vg_str_eq(a.u.s, b.u.s);
    return kql_val_eq(a, b);
}

uint64_t kx_key_hash(kql_val v)
{
    if (v.null)
        return 0x9e3779b97f4a7c15ull;
    if (v.t == VG_T_STRING)
        return vg_hash(v.u.s.p, v.u.s.n);
    return kql_val_hash(v);
}

vg_err kx_rel_append(kx_query *q, kx_rel *r, const kx_chunk *c, const uint32_t *sel, uint32_t nsel)
{
    uint32_t n = sel ? nsel : c->n;
    uint32_t k = 0;
    while (k < n) {
        if (r->nchunks == 0 || r->chunks[r->nchunks - 1].n == KX_CHUNK) {
            vg_err e = rel_new_chunk(q, r);
            if (e)
                return e;
        }
        kx_chunk *dst = &r->chunks[r->nchunks - 1];
        uint32_t take = KX_CHUNK - dst->n < n - k ? KX_CHUNK - dst->n : n - k;
        size_t before = r->arena.reserved;
        for (uint32_t i = 0; i < r->sch.n; i++) {
            kql_col *dc = &dst->cols[i];
            const kql_col *sc = &c->cols[i];
            /* strings: one copy per distinct address in this piece (dictionary-
             * coded blocks repeat a few addresses many times) */
            struct { const char *p; size_t n; vg_str copy; } cache[64];
            bool str = dc->type == VG_T_STRING && sc->type == VG_T_STRING;
            if (str)
                memset(cache, 0, sizeof cache);
            for (uint32_t j = 0; j < take; j++) {
                uint32_t row = sel ? sel[k + j] : k + j;
                uint32_t at = dst->n + j;
                if (str) {
                    vg_str v = kql_col_str(sc, row);
                    if (!v.n || !v.p)
                        continue;
                    unsigned slot = (unsigned)(((uintptr_t)v.p >> 3) ^ v.n) & 63;
                    if (cache[slot].p != v.p || cache[slot].n != v.n) {
                        cache[slot].p = v.p;
                        cache[slot].n = v.n;
                        cache[slot].copy = vg_str_dup(&r->arena, v);
                    }
                    dc->v.s[at] = cache[slot].copy;
                    continue;
                }
                kql_val v = kx_val_copy(&r->arena, kql_col_get(sc, row));
                if (v.t == dc->type && v.t != VG_T_DYNAMIC && v.t != VG_T_STRING)
                    kx_cell_copy(dc, at, sc, row);
                else
                    kql_col_set(dc, at, v);
            }
        }
        dst->n += take;
        r->rows += take;
        k += take;
        if (r->arena.reserved != before) {
            vg_err e = kx_charge(q, r->arena.reserved - before);
            if (e)
                return e;
        }
    }
    return VG_OK;
}

/* ---- operators: common parts ---- */

void kx_op_init(kx_query *q, kx_op *op, kx_op *child)
{
    op->q = q;
    op->child = child;
    vg_arena_init(&op->arena, 256 << 10, 0);
}

void kx_op_close(kx_op *op)
{
    if (!op || op->closed)
        return;
    op->closed = true;   /* planners may close a chain that an operator already closed */
    if (op->close)
        op->close(op);
    if (op->child)
        kx_op_close(op->child);
    vg_arena_free(&op->arena);
}

vg_err kx_drain(kx_op *op, kx_rel *out, uint64_t max_rows, bool *truncated)
{
    if (truncated)
        *truncated = false;
    for (;;) {
        kx_chunk *c;
        vg_err e = op->next(op, &c);
        if (e == VG_EEOF)
            return VG_OK;
        if (e)
            return e;
        e = kx_rel_append(op->q, out, c, NULL, 0);
        if (e)
            return e;
        if (max_rows && out->rows >= max_rows) {
            /* one more row would tell truncation apart from an exact fit */
            if (out->rows > max_rows) {
                uint64_t extra = out->rows - max_rows;
                kx_chunk *last = &out->chunks[out->nchunks - 1];
                while (extra) {
                    uint32_t cut = extra < last->n ? (uint32_t)extra : last->n;
                    last->n -= cut;
                    out->rows -= cut;
                    extra -= cut;
                    if (last->n == 0 && out->nchunks > 1) {
                        out->nchunks--;
                        last = &out->chunks[out->nchunks - 1];
                    }
                }
                if (truncated)
                    *truncated = true;
                return VG_OK;
            }
            kx_chunk *more;
            e = op->next(op, &more);
            if (e == VG_EEOF)
                return VG_OK;
            if (e)
                return e;
            if (more->n && truncated)
                *truncated = true;
            return VG_OK;
        }
    }
}

/* ---- scopes ---- */

kx_let *kx_scope_find(kx_scope *s, vg_str name)
{
    for (; s; s = s->up)
        for (uint32_t i = s->n; i-- > 0;)
            if (vg_str_eq(s->lets[i].name, name))
                return &s->lets[i];
    return NULL;
}

kx_let *kx_scope_add(kx_query *q, kx_scope *s, vg_str name, int kind)
{
    if (s->n == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 8;
        kx_let *l = vg_arena_alloc(q->a, nc * sizeof *l);
        if (!l)
            return NULL;
        if (s->n)
            memcpy(l, s->lets, s->n * sizeof *l);
        s->lets = l;
        s->cap = nc;
    }
    kx_let *l = &s->lets[s->n++];
    memset(l, 0, sizeof *l);
    l->name = name;
    l->kind = kind;
    l->scope = s;
    return l;
}

/* True when a syntax node is a tabular expression (for let). */
static bool is_tabular(kx_scope *sc, const vg_kql_node *n)
{
    switch (n->kind) {
    case VG_KQL_PIPELINE: case VG_KQL_DATATABLE: case VG_KQL_PRINT: case VG_KQL_RANGE:
    case VG_KQL_UNION: case VG_KQL_EXTERNALDATA:
        return true;
    case VG_KQL_TABLE:
        return true;
    case VG_KQL_NAME: {
        kx_let *l = kx_scope_find(sc, n->name);
        if (l)
            return l->kind == KX_LET_TABULAR || l->kind == KX_LET_REL;
        return vg_schema_table(n->name) != NULL;
    }
    case VG_KQL_CALL: {
        if (vg_str_eqc(n->name, "materialize") || vg_str_eqc(n->name, "view"))
            return true;
        kx_let *l = kx_scope_find(sc, n->name);
        if (l && l->kind == KX_LET_FUNC) {
            const vg_kql_node *body = l->node->kids[1];
            return body->n && is_tabular(l->scope, body->kids[body->n - 1]);
        }
        return false;
    }
    default:
        return false;
    }
}

/* Runs the statements of a QUERY node in scope sc; the last tabular
 * statement is planned into *out (NULL when the query has none). */
static vg_err run_statements(kx_query *q, kx_scope *sc, const vg_kql_node *query, kx_op **out)
{
    *out = NULL;
    for (uint32_t i = 0; i < query->n; i++) {
        const vg_kql_node *s = query->kids[i];
        switch (s->kind) {
        case VG_KQL_SET:
            break;
        case VG_KQL_LET: {
            const vg_kql_node *v = s->kids[0];
            if (v->kind == VG_KQL_CALL && vg_str_eqc(v->name, "materialize") && v->n == 1) {
                kx_rel *r;
                vg_err e = kx_plan_rel(q, sc, v->kids[0], &r);
                if (e)
                    return e;
                kx_let *l = kx_scope_add(q, sc, s->name, KX_LET_REL);
                if (!l)
                    return kx_fail(q, s->pos, VG_ENOMEM, "out of memory");
                l->rel = r;
            } else if (is_tabular(sc, v)) {
                kx_let *l = kx_scope_add(q, sc, s->name, KX_LET_TABULAR);
                if (!l)
                    return kx_fail(q, s->pos, VG_ENOMEM, "out of memory");
                l->node = v;
            } else {
                kx_bind b = { .q = q, .scope = sc, .in = NULL };
                static const kx_schema empty = { 0 };
                b.in = &empty;
                kx_expr *x = kx_bind_expr(&b, v);
                if (!x)
                    return q->err ? q->err : VG_EPARSE;
                kx_let *l = kx_scope_add(q, sc, s->name, KX_LET_SCALAR);
                if (!l)
                    return kx_fail(q, s->pos, VG_ENOMEM, "out of memory");
                l->scalar = x;
            }
            break;
        }
        case VG_KQL_LET_FUNC: {
            kx_let *l = kx_scope_add(q, sc, s->name, KX_LET_FUNC);
            if (!l)
                return kx_fail(q, s->pos, VG_ENOMEM, "out of memory");
            l->node = s;
            break;
        }
        default: {
            if (*out)
                kx_op_close(*out);
            *out = kx_plan(q, sc, s);
            if (!*out)
                return q->err ? q->err : VG_EPARSE;
            break;
        }
        }
    }
    return VG_OK;
}

vg_err kx_run_query_node(kx_query *q, kx_scope *sc, const vg_kql_node *query, kx_op **out)
{
    return run_statements(q, sc, query, out);
}

/* ---- the entry point ---- */

vg_err vg_kql_run(struct vg_store *store, vg_str query, const vg_kql_opts *opts,
                  vg_kql_result **out, vg_diag *d)
{
    *out = NULL;
    vg_kql_opts o = opts ? *opts : (vg_kql_opts){ 0 };
    if (!o.max_rows)
        o.max_rows = VG_KQL_DEFAULT_MAX_ROWS;
    if (!o.timeout_ms)
        o.timeout_ms = VG_KQL_DEFAULT_TIMEOUT_MS;
    if (!o.max_memory)
        o.max_memory = VG_KQL_DEFAULT_MAX_MEMORY;
    uint64_t t0 = vg_mono_ns();

    vg_kql_result *r = calloc(1, sizeof *r);
    if (!r)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    vg_arena_init(&r->a, 256 << 10, o.max_memory);

    kx_query q = { .a = &r->a, .store = store, .d = d };
    pthread_mutex_init(&q.mu, NULL);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    q.threads = o.threads ? (o.threads > 64 ? 64 : o.threads) : ncpu < 1 ? 1 : ncpu > 8 ? 8 : (uint32_t)ncpu;
    q.par_min_rows = o.par_min_rows ? o.par_min_rows : 200000;
    q.ctx.arena = &r->a;
    q.ctx.now = o.now ? o.now : vg_time_now();
    q.ctx.diag = d;
    q.ctx.geo = o.geo;
    q.deadline_ns = t0 + o.timeout_ms * 1000000ull;
    q.mem_cap = o.max_memory;
    q.cancel = o.cancel;
    q.time_min = o.time_min ? o.time_min : INT64_MIN;
    q.time_max = o.time_max ? o.time_max : INT64_MAX;

    const vg_kql_node *root;
    vg_err e = vg_kql_parse(&r->a, query, &root, d);
    kx_op *op = NULL;
    kx_scope top = { 0 };
    if (!e)
        e = run_statements(&q, &top, root, &op);
    if (!e && !op)
        e = vg_diag_set(d, VG_EPARSE, "the query has no tabular expression to run "
                                      "(it ends with a let statement)");
    if (!e) {
        kx_rel *rel = vg_arena_zalloc(&r->a, sizeof *rel);
        if (!rel)
            e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        else {
            kx_rel_init(&q, rel, &op->sch);
            r->rel = rel;
            e = kx_drain(op, rel, o.max_rows, &r->truncated);
        }
        /* the schema's names may point into relations freed below */
        if (!e) {
            for (uint32_t c = 0; c < rel->sch.n; c++)
                rel->sch.names[c] = vg_str_dup(&r->a, rel->sch.names[c]);
        }
    }
    if (op)
        kx_op_close(op);
    /* every relation the query made (lets, datatables, sub-queries) */
    for (uint32_t i = 0; i < q.nrels; i++)
        kx_rel_free(q.rels[i]);
    kql_ctx_free_regexes(&q.ctx);
    pthread_mutex_destroy(&q.mu);
    if (!e && q.err)
        e = q.err;
    if (e) {
        vg_kql_result_free(r);
        return e;
    }
    r->render = q.render;
    r->stats.elapsed_ms = (double)(vg_mono_ns() - t0) / 1e6;
    r->stats.rows_scanned = q.rows_scanned;
    r->stats.segments_total = q.scan.segments_total;
    r->stats.segments_skipped = q.scan.segments_skipped;
    r->stats.blocks_total = q.scan.blocks_total;
    r->stats.blocks_skipped = q.scan.blocks_skipped;
    r->stats.peak_memory = q.mem_used;
    *out = r;
    return VG_OK;
}

void vg_kql_result_free(vg_kql_result *r)
{
    if (!r)
        return;
    kx_rel_free(r->rel);
    vg_arena_free(&r->a);
    free(r);
}

uint32_t vg_kql_result_ncols(const vg_kql_result *r) { return r->rel->sch.n; }
vg_str vg_kql_result_col_name(const vg_kql_result *r, uint32_t c) { return r->rel->sch.names[c]; }
const char *vg_kql_result_col_type(const vg_kql_result *r, uint32_t c)
{
    return vg_type_name(r->rel->sch.types[c]);
}
uint64_t vg_kql_result_nrows(const vg_kql_result *r) { return r->rel->rows; }
bool vg_kql_result_truncated(const vg_kql_result *r) { return r->truncated; }
vg_str vg_kql_result_render(const vg_kql_result *r) { return r->render; }
void vg_kql_result_stats(const vg_kql_result *r, vg_kql_stats *out) { *out = r->stats; }

/* The result's relation (kql_out.c). */
const kx_rel *kx_result_rel(const vg_kql_result *r) { return r->rel; }
