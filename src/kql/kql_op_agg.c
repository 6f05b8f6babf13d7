/*
 * kql_op_agg.c - summarize (hash aggregation) and distinct.
 *
 * Groups live in an open-addressing hash table keyed by the by-values; each
 * group holds a copy of its key values and the states of every aggregation
 * (kql_agg_def, kql_agg.c). The input is consumed whole (summarize is a
 * pipeline breaker); then the groups are emitted as [keys, aggregate
 * outputs] rows and the "post" expressions compute the final columns, so
 * that `summarize x = round(avg(v), 2)` works. Without by-keys, an empty
 * input still gives one row (count() = 0), as in Kusto.
 */
#include <stdlib.h>
#include <string.h>

#include "core/vg_map.h"
#include "kql/kql_exec.h"

typedef struct group {
    uint64_t hash;
    kql_val *keys;
    void **states;          /* one per aggregation call */
} group;

typedef struct agg_op {
    kx_op op;
    kx_expr **keys;
    uint32_t nkeys;
    const kx_aggs *aggs;
    kx_schema mid;
    kx_expr **post;
    vg_arena garena;        /* groups, keys, states */
    vg_arena scratch;       /* per input chunk */
    group *groups;
    uint64_t ngroups, gcap;
    uint32_t *table;        /* group index + 1; 0 = empty */
    uint64_t tmask;
    bool done;
    bool consumed;          /* the input was read whole (kx_agg_consume_all) */
    uint64_t emitted;
    kx_chunk mchunk, out;
} agg_op;

static vg_err grow_table(agg_op *s)
{
    uint64_t ncap = s->tmask ? (s->tmask + 1) * 2 : 1024;
    uint32_t *t = calloc(ncap, sizeof *t);
    if (!t)
        return VG_ENOMEM;
    for (uint64_t g = 0; g < s->ngroups; g++) {
        uint64_t i = s->groups[g].hash & (ncap - 1);
        while (t[i])
            i = (i + 1) & (ncap - 1);
        t[i] = (uint32_t)(g + 1);
    }
    free(s->table);
    s->table = t;
    s->tmask = ncap - 1;
    return VG_OK;
}

static group *new_group(agg_op *s, uint64_t h, const kql_val *keys)
{
    kx_query *q = s->op.q;
    if (s->ngroups == s->gcap) {
        uint64_t nc = s->gcap ? s->gcap * 2 : 256;
        if (nc > UINT32_MAX - 1) {
            kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT, "summarize: too many groups");
            return NULL;
        }
        group *g = realloc(s->groups, nc * sizeof *g);
        if (!g)
            return NULL;
        s->groups = g;
        s->gcap = nc;
    }
    if ((s->ngroups + 1) * 2 > s->tmask + 1 && grow_table(s))
        return NULL;
    size_t before = s->garena.reserved;
    group *g = &s->groups[s->ngroups];
    g->hash = h;
    g->keys = vg_arena_alloc(&s->garena, (s->nkeys ? s->nkeys : 1) * sizeof(kql_val));
    g->states = vg_arena_alloc(&s->garena, (s->aggs->n ? s->aggs->n : 1) * sizeof(void *));
    if (!g->keys || !g->states)
        return NULL;
    for (uint32_t k = 0; k < s->nkeys; k++)
        g->keys[k] = kx_val_copy(&s->garena, keys[k]);
    for (uint32_t a = 0; a < s->aggs->n; a++) {
        const kql_agg_def *d = s->aggs->calls[a].def;
        g->states[a] = vg_arena_zalloc(&s->garena, d->state_size ? d->state_size : 8);
        if (!g->states[a])
            return NULL;
        d->init(g->states[a]);
    }
    uint64_t i = h & s->tmask;
    while (s->table[i])
        i = (i + 1) & s->tmask;
    s->table[i] = (uint32_t)(s->ngroups + 1);
    s->ngroups++;
    if (kx_charge(q, s->garena.reserved - before))
        return NULL;
    return g;
}

static vg_err consume(agg_op *s, const kx_chunk *in)
{
    kx_query *q = s->op.q;
    vg_arena_reset(&s->scratch);
    kx_evalctx ec = { .q = q, .ctx = s->op.ctx, .arena = &s->scratch, .in = in };
    kx_vec kv[KX_MAX_ARGS];
    for (uint32_t k = 0; k < s->nkeys; k++) {
        vg_err e = kx_eval(&ec, s->keys[k], &kv[k]);
        if (e)
            return e;
    }
    /* aggregate arguments */
    uint32_t total = 0;
    for (uint32_t a = 0; a < s->aggs->n; a++)
        total += s->aggs->calls[a].nargs;
    kx_vec *av = vg_arena_alloc(&s->scratch, (total ? total : 1) * sizeof *av);
    kql_val *args = vg_arena_alloc(&s->scratch, (total ? total : 1) * sizeof *args);
    if (!av || !args)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    uint32_t at = 0;
    for (uint32_t a = 0; a < s->aggs->n; a++)
        for (uint32_t i = 0; i < s->aggs->calls[a].nargs; i++) {
            vg_err e = kx_eval(&ec, s->aggs->calls[a].args[i], &av[at++]);
            if (e)
                return e;
        }
    kql_val keys[KX_MAX_ARGS];
    uint64_t last_i = 0;
    /* one string key (by DeviceName, by FileName): dictionary-coded blocks
     * repeat the same few pointers, so a small cache from the string's
     * address to its group skips hashing for almost every row. Addresses
     * are only meaningful within this chunk: the cache starts empty. */
    bool str1 = s->nkeys == 1 && !kv[0].konst && kv[0].c.type == VG_T_STRING;
    struct pcache { const char *p; size_t n; uint64_t g; } *pc = NULL;
    if (str1) {
        pc = vg_arena_zalloc(&s->scratch, 1024 * sizeof *pc);
        if (!pc)
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    }
    /* count() alone (the commonest summarize): its state is one int64 (st_count
     * in kql_agg.c), bumped in place */
    bool count_only = s->aggs->n == 1 && s->aggs->calls[0].nargs == 0 &&
                      !strcmp(s->aggs->calls[0].def->name, "count");
    /* dictionary-coded key column: each code's group is looked up once */
    int64_t *cmap = NULL;
    if (str1 && kv[0].c.codes && kv[0].c.ndict) {
        cmap = vg_arena_alloc(&s->scratch, kv[0].c.ndict * sizeof *cmap);
        if (!cmap)
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        memset(cmap, 0xff, kv[0].c.ndict * sizeof *cmap);
    }
    for (uint32_t r = 0; r < in->n; r++) {
        group *g;
        uint16_t code = cmap ? kv[0].c.codes[r] : 0xFFFF;
        if (code != 0xFFFF && cmap[code] >= 0) {
            g = &s->groups[cmap[code]];
        } else if (str1) {
            vg_str k = kql_col_str(&kv[0].c, r);
            unsigned slot = (unsigned)((((uintptr_t)k.p ^ k.n) * 0x9E3779B97F4A7C15ull) >> 54);
            if (k.p && pc[slot].p == k.p && pc[slot].n == k.n) {
                g = &s->groups[pc[slot].g];
            } else {
                keys[0] = kql_string(k);
                uint64_t h = kx_key_hash(keys[0]);
                g = NULL;
                if (!s->table && grow_table(s))
                    return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
                for (uint64_t i = h & s->tmask; s->table[i]; i = (i + 1) & s->tmask) {
                    group *c = &s->groups[s->table[i] - 1];
                    if (c->hash == h && kx_key_eq(c->keys[0], keys[0])) {
                        g = c;
                        break;
                    }
                }
                if (!g && !(g = new_group(s, h, keys)))
                    return q->err ? q->err : kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
                if (k.p) {
                    pc[slot].p = k.p;
                    pc[slot].n = k.n;
                    pc[slot].g = (uint64_t)(g - s->groups);
                }
            }
            if (code != 0xFFFF)
                cmap[code] = g - s->groups;
        } else if (s->nkeys == 0) {
            g = s->ngroups ? &s->groups[0] : new_group(s, 0, keys);
        } else {
            for (uint32_t k = 0; k < s->nkeys; k++)
                keys[k] = kx_vec_get(&kv[k], r);
            g = NULL;
            /* the previous row's group (an index: new_group may move the
             * array), compared before any hashing: sorted or clustered keys
             * (bin(Timestamp, 1h)) repeat row after row */
            group *lg = last_i ? &s->groups[last_i - 1] : NULL;
            if (lg) {
                bool eq = true;
                for (uint32_t k = 0; k < s->nkeys && eq; k++)
                    eq = kx_key_eq(lg->keys[k], keys[k]);
                if (eq)
                    g = lg;
            }
            uint64_t h = 0;
            if (!g)
                for (uint32_t k = 0; k < s->nkeys; k++)
                    h = h * 0x100000001b3ull ^ kx_key_hash(keys[k]);
            if (!g) {
                uint64_t i = s->tmask ? h & s->tmask : 0;
                if (!s->table && grow_table(s))
                    return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
                i = h & s->tmask;
                while (s->table[i]) {
                    group *c = &s->groups[s->table[i] - 1];
                    if (c->hash == h) {
                        bool eq = true;
                        for (uint32_t k = 0; k < s->nkeys && eq; k++)
                            eq = kx_key_eq(c->keys[k], keys[k]);
                        if (eq) {
                            g = c;
                            break;
                        }
                    }
                    i = (i + 1) & s->tmask;
                }
                if (!g)
                    g = new_group(s, h, keys);
            }
            if (g)
                last_i = (uint64_t)(g - s->groups) + 1;
        }
        if (!g)
            return q->err ? q->err : kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        if (count_only) {
            (*(int64_t *)g->states[0])++;
            continue;
        }
        at = 0;
        size_t before = s->garena.reserved;
        for (uint32_t a = 0; a < s->aggs->n; a++) {
            const kx_aggcall *c = &s->aggs->calls[a];
            for (uint32_t i = 0; i < c->nargs; i++)
                args[i] = kx_vec_get(&av[at + i], r);
            c->def->add(&s->garena, g->states[a], args, c->nargs);
            at += c->nargs;
        }
        if (s->garena.reserved != before && kx_charge(q, s->garena.reserved - before))
            return q->err;
    }
    return VG_OK;
}

static vg_err agg_next(kx_op *op, kx_chunk **out);

vg_err kx_agg_consume_all(kx_op *op)
{
    agg_op *s = (agg_op *)op;
    kx_query *q = op->q;
    if (op->next != agg_next)
        return kx_fail(q, (vg_kql_pos){ 0 }, VG_EINVAL, "internal: not a summarize");
    while (!s->consumed) {
        kx_chunk *in;
        vg_err e = op->child->next(op->child, &in);
        if (e == VG_EEOF)
            break;
        if (e)
            return e;
        if ((e = consume(s, in)) || (e = kx_check(q)))
            return e;
    }
    s->consumed = true;
    return VG_OK;
}

vg_err kx_agg_absorb(kx_op *dst_op, kx_op *src_op)
{
    agg_op *d = (agg_op *)dst_op, *s = (agg_op *)src_op;
    kx_query *q = dst_op->q;
    for (uint64_t gi = 0; gi < s->ngroups; gi++) {
        const group *sg = &s->groups[gi];
        group *g = NULL;
        if (d->table)
            for (uint64_t i = sg->hash & d->tmask; d->table[i]; i = (i + 1) & d->tmask) {
                group *c = &d->groups[d->table[i] - 1];
                if (c->hash != sg->hash)
                    continue;
                bool eq = true;
                for (uint32_t k = 0; k < d->nkeys && eq; k++)
                    eq = kx_key_eq(c->keys[k], sg->keys[k]);
                if (eq) {
                    g = c;
                    break;
                }
            }
        if (!g && !(g = new_group(d, sg->hash, sg->keys)))
            return q->err ? q->err : kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
        for (uint32_t a = 0; a < d->aggs->n; a++) {
            const kql_agg_def *def = d->aggs->calls[a].def;
            if (!def->merge)
                return kx_fail(q, (vg_kql_pos){ 0 }, VG_EUNSUPPORTED, "%s() cannot be merged", def->name);
            def->merge(&d->garena, g->states[a], sg->states[a]);
        }
    }
    return kx_check(q);
}

static vg_err agg_next(kx_op *op, kx_chunk **out)
{
    agg_op *s = (agg_op *)op;
    kx_query *q = op->q;
    if (!s->done) {
        vg_err e = kx_agg_consume_all(op);
        if (e)
            return e;
        s->done = true;
        if (s->nkeys == 0 && s->ngroups == 0 && !new_group(s, 0, NULL))
            return q->err ? q->err : VG_ENOMEM;
    }
    if (s->emitted >= s->ngroups)
        return VG_EEOF;
    vg_arena_reset(&op->arena);
    uint32_t n = (uint32_t)(s->ngroups - s->emitted < KX_CHUNK ? s->ngroups - s->emitted : KX_CHUNK);
    /* the mid chunk: keys then aggregate outputs */
    s->mchunk.n = n;
    for (uint32_t c = 0; c < s->mid.n; c++)
        if (kql_col_alloc(&op->arena, s->mid.types[c], n, &s->mchunk.cols[c]))
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    kql_val outs[KX_MAX_COLS];
    for (uint32_t r = 0; r < n; r++) {
        group *g = &s->groups[s->emitted + r];
        for (uint32_t k = 0; k < s->nkeys; k++)
            kql_col_set(&s->mchunk.cols[k], r, g->keys[k]);
        for (uint32_t a = 0; a < s->aggs->n; a++) {
            const kx_aggcall *c = &s->aggs->calls[a];
            for (uint32_t o = 0; o < c->nout; o++)
                outs[o] = kql_null(c->out_types[o]);
            c->def->finish(&s->garena, g->states[a], outs, c->nout);
            for (uint32_t o = 0; o < c->nout; o++)
                kql_col_set(&s->mchunk.cols[s->nkeys + c->out0 + o], r, outs[o]);
        }
    }
    s->emitted += n;
    if (!s->post) {
        *out = &s->mchunk;
        return VG_OK;
    }
    kx_evalctx ec = { .q = q, .arena = &op->arena, .in = &s->mchunk };
    s->out.n = n;
    for (uint32_t c = 0; c < op->sch.n; c++) {
        kx_vec v;
        vg_err e = kx_eval(&ec, s->post[c], &v);
        if (e)
            return e;
        if (kx_vec_col(&op->arena, &v, op->sch.types[c], n, &s->out.cols[c]))
            return kx_fail(q, (vg_kql_pos){ 0 }, VG_ENOMEM, "out of memory");
    }
    *out = &s->out;
    return VG_OK;
}

static void agg_close(kx_op *op)
{
    agg_op *s = (agg_op *)op;
    free(s->table);
    free(s->groups);
    s->table = NULL;
    s->groups = NULL;
    vg_arena_free(&s->garena);
    vg_arena_free(&s->scratch);
}

kx_op *kx_op_summarize(kx_query *q, kx_op *child, kx_expr **keys, uint32_t nkeys,
                       const kx_aggs *aggs, const kx_schema *mid, const kx_schema *out,
                       kx_expr **post)
{
    agg_op *s = vg_arena_zalloc(q->a, sizeof *s);
    if (!s)
        return NULL;
    if (nkeys > KX_MAX_ARGS) {
        kx_fail(q, (vg_kql_pos){ 0 }, VG_ELIMIT, "summarize: at most %d by-columns", KX_MAX_ARGS);
        return NULL;
    }
    kx_op_init(q, &s->op, child);
    s->op.sch = post ? *out : *mid;
    s->keys = keys;
    s->nkeys = nkeys;
    s->aggs = aggs;
    s->mid = *mid;
    s->post = post;
    vg_arena_init(&s->garena, 1 << 20, 0);
    vg_arena_init(&s->scratch, 1 << 20, 0);
    s->mchunk.cols = vg_arena_alloc(q->a, (mid->n ? mid->n : 1) * sizeof(kql_col));
    s->out.cols = vg_arena_alloc(q->a, (s->op.sch.n ? s->op.sch.n : 1) * sizeof(kql_col));
    if (!s->mchunk.cols || !s->out.cols)
        return NULL;
    s->op.next = agg_next;
    s->op.close = agg_close;
    return &s->op;
}

kx_op *kx_op_distinct(kx_query *q, kx_op *child, kx_expr **keys, const kx_schema *sch)
{
    static const kx_aggs none = { 0 };
    return kx_op_summarize(q, child, keys, sch->n, &none, sch, sch, NULL);
}
