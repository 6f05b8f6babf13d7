/*
 * kql_op_join.c - join (every Kusto kind) and, through it, lookup.
 *
 * The right side is materialized and hashed on its key columns; the left
 * side streams through and probes. Kusto's default kind, innerunique, first
 * deduplicates the left side on the join keys (one arbitrary row per key -
 * here the first seen), then joins inner. Nulls never match. Right rows that
 * matched are marked so that rightouter/fullouter/rightanti/rightsemi can
 * emit their right-only rows after the left side is exhausted.
 *
 * Output columns are given by the planner as two maps: for each output
 * column, the left or right input column it takes (or -1).
 */
#include <stdlib.h>
#include <string.h>

#include "core/vg_map.h"
#include "kql/kql_exec.h"

typedef struct pair {
    uint32_t l;        /* row in the current left chunk, or UINT32_MAX = none */
    uint64_t r;        /* right row, or UINT64_MAX = none */
} pair;

typedef struct join_op {
    kx_op op;
    kx_rel *right;
    kx_join_kind kind;
    kx_expr **lkeys, **rkeys;
    uint32_t nkeys;
    const int *lmap, *rmap;
    bool ready;
    /* right side hash, bucket-major (CSR): bucket b's rows are
     * next[heads[b] .. heads[b + 1]) with their hashes in rhash[] at the same
     * places, so a probe reads one contiguous run instead of chasing a chain */
    uint64_t *heads;       /* cap + 1 bucket starts */
    uint64_t *next;        /* right row ids, bucket-major */
    uint64_t *rhash;       /* their hashes */
    uint64_t mask;
    kql_col **rkeycols;    /* [chunk][key] */
    uint8_t *matched;      /* right rows that matched */
    /* left dedup (innerunique) */
    uint64_t *seen;        /* open addressing of hashes + 1 ... with rows kept */
    kx_rel lseen;          /* the key values of distinct left keys */
    uint64_t seen_mask, nseen;
    /* output in progress */
    kx_chunk *lchunk;
    kx_vec lk[KX_MAX_ARGS];
    pair *pairs;
    uint64_t npairs, ppos, pcap;
    bool left_done;
    uint64_t rpos;         /* right-only emission cursor */
    vg_arena larena;       /* left key evaluation */
    kx_chunk out;
} join_op;

static kql_val rkey(const join_op *j, uint64_t row, uint32_t k)
{
    return kql_col_get(&j->rkeycols[row / KX_CHUNK][k], (uint32_t)(row % KX_CHUNK));
}

static bool keq(kql_val a, kql_val b)
{
    if (a.null || b.null)
        return false;
    if (a.t == VG_T_STRING && b.t == VG_T_STRING)
        return vg_str_eq(a.u.s, b.u.s);
    return kql_val_eq(a, b);
}

static vg_err build(join_op *j)
{
    kx_query *q = j->op.q;
    kx_rel *R = j->right;
    uint64_t n = R->rows;
    uint64_t cap = 16;
    while (cap < n)
        cap <<= 1;
    j->mask = cap - 1;
    j->heads = calloc(cap + 1, sizeof *j->heads);
    j->next = calloc(n ? n : 1, sizeof *j->next);
    j->rhash = calloc(n ? n : 1, sizeof *j->rhash);
    j->matched = calloc(n ? n : 1, 1);
    j->rkeycols = calloc(R->nchunks ? R->nchunks : 1, sizeof *j->rkeycols);
    if (!j->heads || !j->next || !j->rhash || !j->matched || !j->rkeycols)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    vg_err e = kx_charge(q, cap * 8 + n * 17);
    if (e)
        return e;
    for (uint32_t c = 0; c < R->nchunks; c++) {
        j->rkeycols[c] = vg_arena_alloc(&R->arena, (j->nkeys ? j->nkeys : 1) * sizeof(kql_col));
        if (!j->rkeycols[c])
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        kx_evalctx ec = { .q = q, .arena = &R->arena, .in = &R->chunks[c] };
        for (uint32_t k = 0; k < j->nkeys; k++) {
            kx_vec v;
            if ((e = kx_eval(&ec, j->rkeys[k], &v)))
                return e;
            if (kx_vec_col(&R->arena, &v, j->rkeys[k]->type, R->chunks[c].n, &j->rkeycols[c][k]))
                return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        }
    }
    /* hashes (rows with a null key never match: left out), bucket sizes,
     * bucket starts, then the rows in input order within each bucket */
    uint64_t *hs = malloc((n ? n : 1) * sizeof *hs);
    uint8_t *isnull = calloc(n ? n : 1, 1);
    if (!hs || !isnull) {
        free(hs);
        free(isnull);
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    }
    for (uint64_t r = 0; r < n; r++) {
        uint64_t h = 0;
        bool null = false;
        for (uint32_t k = 0; k < j->nkeys; k++) {
            kql_val v = rkey(j, r, k);
            null |= v.null;
            h = h * 0x100000001b3ull ^ kx_key_hash(v);
        }
        hs[r] = h;
        isnull[r] = null;
    }
    for (uint64_t r = 0; r < n; r++) {
        if (r + 16 < n)
            __builtin_prefetch(&j->heads[(hs[r + 16] & j->mask) + 1], 1);
        if (!isnull[r])
            j->heads[(hs[r] & j->mask) + 1]++;
    }
    for (uint64_t b = 0; b < cap; b++)
        j->heads[b + 1] += j->heads[b];
    uint64_t *fill = calloc(cap, sizeof *fill);
    if (!fill) {
        free(hs);
        free(isnull);
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    }
    for (uint64_t r = 0; r < n; r++) {
        if (r + 16 < n) {
            __builtin_prefetch(&fill[hs[r + 16] & j->mask], 1);
            __builtin_prefetch(&j->heads[hs[r + 16] & j->mask]);
        }
        if (isnull[r])
            continue;
        uint64_t b = hs[r] & j->mask;
        uint64_t at = j->heads[b] + fill[b]++;
        j->next[at] = r;
        j->rhash[at] = hs[r];
    }
    free(fill);
    free(hs);
    free(isnull);
    if (j->kind == KX_J_INNERUNIQUE) {
        kx_schema ks = { .n = j->nkeys };
        ks.names = vg_arena_alloc(q->a, (j->nkeys ? j->nkeys : 1) * sizeof(vg_str));
        ks.types = vg_arena_alloc(q->a, (j->nkeys ? j->nkeys : 1) * sizeof(vg_type));
        if (!ks.names || !ks.types)
            return VG_ENOMEM;
        for (uint32_t k = 0; k < j->nkeys; k++) {
            ks.names[k] = vg_str_c("k");
            ks.types[k] = j->lkeys[k]->type;
        }
        kx_rel_init(q, &j->lseen, &ks);
        j->seen_mask = 1023;
        j->seen = calloc(j->seen_mask + 1, sizeof *j->seen);
        if (!j->seen)
            return VG_ENOMEM;
    }
    return VG_OK;
}

static vg_err push_pair(join_op *j, uint32_t l, uint64_t r)
{
    if (j->npairs == j->pcap) {
        uint64_t nc = j->pcap ? j->pcap * 2 : 4096;
        pair *p = realloc(j->pairs, nc * sizeof *p);
        if (!p)
            return kx_fail(j->op.q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        j->pairs = p;
        j->pcap = nc;
    }
    j->pairs[j->npairs++] = (pair){ l, r };
    return VG_OK;
}

/* innerunique: true when this left key was seen before (and records it). */
static bool left_seen(join_op *j, const kql_val *keys, uint64_t h)
{
    kx_query *q = j->op.q;
    uint64_t i = h & j->seen_mask;
    while (j->seen[i]) {
        uint64_t row = j->seen[i] - 1;
        uint32_t ci = (uint32_t)(row / KX_CHUNK), ri = (uint32_t)(row % KX_CHUNK);
        bool eq = true;
        for (uint32_t k = 0; k < j->nkeys && eq; k++)
            eq = keq(kql_col_get(&j->lseen.chunks[ci].cols[k], ri), keys[k]);
        if (eq)
            return true;
        i = (i + 1) & j->seen_mask;
    }
    /* record: append the key row */
    kx_chunk tmp;
    kql_col cols[KX_MAX_ARGS];
    tmp.n = 1;
    tmp.cols = cols;
    for (uint32_t k = 0; k < j->nkeys; k++) {
        if (kql_col_alloc(&j->larena, j->lkeys[k]->type, 1, &cols[k]))
            return false;
        kql_col_set(&cols[k], 0, keys[k]);
    }
    if (kx_rel_append(q, &j->lseen, &tmp, NULL, 0))
        return false;
    j->seen[i] = j->lseen.rows;
    j->nseen++;
    if (j->nseen * 2 > j->seen_mask) {
        uint64_t nm = (j->seen_mask + 1) * 2 - 1;
        uint64_t *ns = calloc(nm + 1, sizeof *ns);
        if (!ns)
            return false;
        for (uint64_t r = 0; r < j->lseen.rows; r++) {
            uint32_t ci = (uint32_t)(r / KX_CHUNK), ri = (uint32_t)(r % KX_CHUNK);
            uint64_t hh = 0;
            for (uint32_t k = 0; k < j->nkeys; k++)
                hh = hh * 0x100000001b3ull ^ kx_key_hash(kql_col_get(&j->lseen.chunks[ci].cols[k], ri));
            uint64_t p = hh & nm;
            while (ns[p])
                p = (p + 1) & nm;
            ns[p] = r + 1;
        }
        free(j->seen);
        j->seen = ns;
        j->seen_mask = nm;
    }
    return false;
}

/* Probes one left chunk: fills pairs. */
static vg_err probe(join_op *j, kx_chunk *in)
{
    kx_query *q = j->op.q;
    vg_arena_reset(&j->larena);
    kx_evalctx ec = { .q = q, .arena = &j->larena, .in = in };
    for (uint32_t k = 0; k < j->nkeys; k++) {
        vg_err e = kx_eval(&ec, j->lkeys[k], &j->lk[k]);
        if (e)
            return e;
    }
    j->npairs = j->ppos = 0;
    kql_val keys[KX_MAX_ARGS];
    /* hashes of the whole chunk first, so that the bucket of a row a few
     * rows ahead can be prefetched: the probe is bound by memory latency */
    uint64_t *hv = vg_arena_alloc(&j->larena, (in->n ? in->n : 1) * sizeof *hv);
    if (!hv)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    for (uint32_t r = 0; r < in->n; r++) {
        uint64_t h = 0;
        for (uint32_t k = 0; k < j->nkeys; k++)
            h = h * 0x100000001b3ull ^ kx_key_hash(kx_vec_get(&j->lk[k], r));
        hv[r] = h;
    }
    for (uint32_t r = 0; r < in->n; r++) {
        if (r + 16 < in->n)
            __builtin_prefetch(&j->heads[hv[r + 16] & j->mask]);
        uint64_t h = hv[r];
        bool null = false;
        for (uint32_t k = 0; k < j->nkeys; k++) {
            keys[k] = kx_vec_get(&j->lk[k], r);
            null |= keys[k].null;
        }
        if (!null && j->kind == KX_J_INNERUNIQUE && left_seen(j, keys, h))
            continue;
        bool any = false;
        if (!null)
            for (uint64_t c = j->heads[h & j->mask], ce = j->heads[(h & j->mask) + 1]; c < ce; c++) {
                if (j->rhash[c] != h)
                    continue;
                uint64_t rr = j->next[c];
                bool eq = true;
                for (uint32_t k = 0; k < j->nkeys && eq; k++)
                    eq = keq(keys[k], rkey(j, rr, k));
                if (!eq)
                    continue;
                any = true;
                j->matched[rr] = 1;
                switch (j->kind) {
                case KX_J_INNERUNIQUE: case KX_J_INNER: case KX_J_LEFTOUTER: case KX_J_RIGHTOUTER:
                case KX_J_FULLOUTER:
                    if (push_pair(j, r, rr))
                        return q->err;
                    break;
                default:
                    break;
                }
                if (j->kind == KX_J_LEFTSEMI || j->kind == KX_J_LEFTANTI)
                    break;
            }
        if (!any && (j->kind == KX_J_LEFTOUTER || j->kind == KX_J_FULLOUTER ||
                     j->kind == KX_J_LEFTANTI)) {
            if (push_pair(j, r, UINT64_MAX))
                return q->err;
        }
        if (any && j->kind == KX_J_LEFTSEMI && push_pair(j, r, UINT64_MAX))
            return q->err;
    }
    return VG_OK;
}

static vg_err emit(join_op *j, kx_chunk **out)
{
    kx_op *op = &j->op;
    vg_arena_reset(&op->arena);
    uint32_t n = (uint32_t)(j->npairs - j->ppos < KX_CHUNK ? j->npairs - j->ppos : KX_CHUNK);
    j->out.n = n;
    for (uint32_t c = 0; c < op->sch.n; c++) {
        kql_col *o = &j->out.cols[c];
        if (kql_col_alloc(&op->arena, op->sch.types[c], n, o))
            return kx_fail(op->q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        const pair *pp = j->pairs + j->ppos;
        if (j->lmap[c] >= 0) {
            if (!j->lchunk)
                continue;   /* right-only rows: the left columns stay null */
            const kql_col *src = &j->lchunk->cols[j->lmap[c]];
            for (uint32_t k = 0; k < n; k++)
                if (pp[k].l != UINT32_MAX)
                    kx_cell_copy(o, k, src, pp[k].l);
        } else if (j->rmap[c] >= 0) {
            int rc = j->rmap[c];
            for (uint32_t k = 0; k < n; k++)
                if (pp[k].r != UINT64_MAX)
                    kx_cell_copy(o, k, &j->right->chunks[pp[k].r / KX_CHUNK].cols[rc],
                                 (uint32_t)(pp[k].r % KX_CHUNK));
        }
    }
    j->ppos += n;
    *out = &j->out;
    return VG_OK;
}

static vg_err join_next(kx_op *op, kx_chunk **out)
{
    join_op *j = (join_op *)op;
    kx_query *q = op->q;
    vg_err e;
    if (!j->ready) {
        if ((e = build(j)))
            return e;
        j->ready = true;
    }
    for (;;) {
        if (j->ppos < j->npairs)
            return emit(j, out);
        if (!j->left_done) {
            kx_chunk *in;
            e = op->child->next(op->child, &in);
            if (e == VG_EEOF) {
                j->left_done = true;
                j->lchunk = NULL;
                j->npairs = j->ppos = 0;
                continue;
            }
            if (e)
                return e;
            j->lchunk = in;
            if ((e = probe(j, in)) || (e = kx_check(q)))
                return e;
            continue;
        }
        /* right-only rows */
        if (j->kind != KX_J_RIGHTOUTER && j->kind != KX_J_FULLOUTER &&
            j->kind != KX_J_RIGHTANTI && j->kind != KX_J_RIGHTSEMI)
            return VG_EEOF;
        j->npairs = j->ppos = 0;
        bool want = j->kind == KX_J_RIGHTSEMI;
        while (j->rpos < j->right->rows && j->npairs < KX_CHUNK) {
            if ((j->matched[j->rpos] != 0) == want && push_pair(j, UINT32_MAX, j->rpos))
                return q->err;
            j->rpos++;
        }
        if (!j->npairs)
            return VG_EEOF;
    }
}

static void join_close(kx_op *op)
{
    join_op *j = (join_op *)op;
    free(j->heads);
    free(j->next);
    free(j->rhash);
    free(j->matched);
    free(j->rkeycols);
    free(j->pairs);
    free(j->seen);
    j->heads = j->next = j->rhash = j->seen = NULL;
    j->matched = NULL;
    j->rkeycols = NULL;
    j->pairs = NULL;
    if (j->kind == KX_J_INNERUNIQUE)
        kx_rel_free(&j->lseen);
    kx_rel_free(j->right);
    vg_arena_free(&j->larena);
}

kx_op *kx_op_join(kx_query *q, kx_op *left, kx_rel *right, kx_join_kind kind,
                  kx_expr **lkeys, kx_expr **rkeys, uint32_t nkeys, const kx_schema *out,
                  const int *lmap, const int *rmap)
{
    join_op *j = vg_arena_zalloc(q->a, sizeof *j);
    if (!j)
        return NULL;
    if (nkeys > KX_MAX_ARGS) {
        kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT, "join: at most %d key columns", KX_MAX_ARGS);
        return NULL;
    }
    kx_op_init(q, &j->op, left);
    j->op.sch = *out;
    j->right = right;
    j->kind = kind;
    j->lkeys = lkeys;
    j->rkeys = rkeys;
    j->nkeys = nkeys;
    j->lmap = lmap;
    j->rmap = rmap;
    vg_arena_init(&j->larena, 256 << 10, 0);
    j->out.cols = vg_arena_alloc(q->a, (out->n ? out->n : 1) * sizeof(kql_col));
    if (!j->out.cols)
        return NULL;
    j->op.next = join_next;
    j->op.close = join_close;
    return &j->op;
}
