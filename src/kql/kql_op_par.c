/*
 * kql_op_par.c - parallel summarize: `Table | where ... | summarize ...`
 * (and `| count`) planned as n fragments, each a scan of every n-th
 * segment with its own filters and its own summarize (own arenas, own
 * function context and regex cache), run on n threads; the partial groups
 * are then merged with the aggregations' merge functions and emitted by the
 * first fragment. Everything the fragments share is read-only (the bound
 * expressions are immutable) or thread-safe in kx_query (the error, the
 * memory charge, the rows-scanned counter).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql_exec.h"

typedef struct frag_run {
    kx_op *op;
    kql_ctx ctx;            /* this thread's functions' context */
    vg_diag diag;           /* messages of functions run by this thread */
    vg_err err;
    pthread_t th;
    bool started;
} frag_run;

typedef struct par_op {
    kx_op op;
    frag_run *runs;
    uint32_t n;
    bool ready;
} par_op;

static void set_ctx(kx_op *op, kql_ctx *ctx)
{
    for (; op; op = op->child)
        op->ctx = ctx;
}

static void *frag_main(void *arg)
{
    frag_run *r = arg;
    r->err = kx_agg_consume_all(r->op);
    return NULL;
}

static vg_err par_next(kx_op *op, kx_chunk **out)
{
    par_op *p = (par_op *)op;
    kx_query *q = op->q;
    if (!p->ready) {
        p->ready = true;
        for (uint32_t i = 1; i < p->n; i++) {
            frag_run *r = &p->runs[i];
            r->started = pthread_create(&r->th, NULL, frag_main, r) == 0;
            if (!r->started)
                frag_main(r);   /* no thread: run it here */
        }
        frag_main(&p->runs[0]);
        for (uint32_t i = 1; i < p->n; i++)
            if (p->runs[i].started) {
                pthread_join(p->runs[i].th, NULL);
                p->runs[i].started = false;
            }
        for (uint32_t i = 0; i < p->n; i++) {
            frag_run *r = &p->runs[i];
            vg_err e = r->err ? r->err : r->ctx.err;
            if (e) {
                /* a function's own message (in the thread's diag) when it has one */
                if (r->ctx.err && r->diag.msg[0])
                    return kx_fail(q, (vg_kql_pos){ 0 }, e, "%s", r->diag.msg);
                return kx_seterr(q, e);
            }
        }
        for (uint32_t i = 1; i < p->n; i++) {
            vg_err e = kx_agg_absorb(p->runs[0].op, p->runs[i].op);
            if (e)
                return e;
        }
    }
    /* the first fragment emits the merged groups (its post expressions run
     * on this thread: its context becomes the query's) */
    set_ctx(p->runs[0].op, NULL);
    return p->runs[0].op->next(p->runs[0].op, out);
}

static void par_close(kx_op *op)
{
    par_op *p = (par_op *)op;
    for (uint32_t i = 0; i < p->n; i++) {
        frag_run *r = &p->runs[i];
        if (r->started)
            pthread_join(r->th, NULL);
        kx_op_close(r->op);
        kql_ctx_free_regexes(&r->ctx);
    }
    free(p->runs);
    p->runs = NULL;
}

kx_op *kx_op_par_agg(kx_query *q, kx_op **frags, uint32_t n)
{
    par_op *p = vg_arena_zalloc(q->a, sizeof *p);
    if (!p)
        return NULL;
    kx_op_init(q, &p->op, NULL);
    p->runs = calloc(n, sizeof *p->runs);
    if (!p->runs)
        return NULL;
    p->n = n;
    for (uint32_t i = 0; i < n; i++) {
        frag_run *r = &p->runs[i];
        r->op = frags[i];
        r->ctx = q->ctx;
        r->ctx.regexes = NULL;
        r->ctx.err = VG_OK;
        vg_diag_clear(&r->diag);
        r->ctx.diag = &r->diag;
        set_ctx(frags[i], &r->ctx);
    }
    p->op.sch = frags[0]->sch;
    p->op.next = par_next;
    p->op.close = par_close;
    return &p->op;
}
