/*
 * cli_writer.c - a second thread for `vigil ingest`: the decoder fills
 * batches on the main thread while this one appends full batches to the
 * store (each append durable), so decoding and the store's work (WAL
 * encoding, compression, fsync) overlap instead of taking turns.
 *
 * Hand-off without copies: cli_writer_put swaps the full batch with an empty
 * one of the same table from a free list, so the decoder keeps filling while
 * the rows travel. At most `depth` batches wait (the decoder blocks beyond
 * that), which bounds memory. The first append failure is sticky: later
 * puts and the finish return it, and batches after it are dropped (nothing
 * after a failure is acknowledged).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../store/vg_store.h"
#include "cli_int.h"

#define WRITER_MAX_BATCHES 4096   /* batches ever allocated (tables x depth is far below) */

struct cli_writer {
    vg_store *store;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* queue or free list changed */
    vg_batch **queue;         /* ring of full batches */
    size_t depth, head, count;
    vg_batch *all[WRITER_MAX_BATCHES];
    size_t nall;
    vg_batch *free_[WRITER_MAX_BATCHES];
    size_t nfree;
    bool closing, busy;
    vg_err failed;
    vg_diag fd;
};

static void *writer_main(void *arg)
{
    cli_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->count && !w->closing)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->count)
            break;
        vg_batch *b = w->queue[w->head];
        w->head = (w->head + 1) % w->depth;
        w->count--;
        w->busy = true;
        bool skip = w->failed != VG_OK;
        pthread_mutex_unlock(&w->mu);
        vg_diag d;
        vg_diag_clear(&d);
        vg_err e = skip ? VG_OK : vg_store_append(w->store, &b, 1, &d);
        vg_batch_reset(b);
        pthread_mutex_lock(&w->mu);
        if (e && !w->failed) {
            w->failed = e;
            w->fd = d;
        }
        w->free_[w->nfree++] = b;
        w->busy = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

vg_err cli_writer_start(vg_store *st, size_t depth, cli_writer **out, vg_diag *d)
{
    *out = NULL;
    cli_writer *w = calloc(1, sizeof *w);
    if (!w)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    w->store = st;
    w->depth = depth ? depth : 1;
    w->queue = calloc(w->depth, sizeof *w->queue);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (!w->queue || pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        cli_writer_free(w);
        return vg_diag_set(d, VG_ENOMEM, "cannot start the writer thread");
    }
    w->started = true;
    *out = w;
    return VG_OK;
}

static vg_err failure(cli_writer *w, vg_diag *d)
{
    if (d)
        memcpy(d->msg, w->fd.msg, sizeof d->msg);
    return w->failed;
}

vg_err cli_writer_put(cli_writer *w, vg_batch *b, vg_diag *d)
{
    if (!b->nrows)
        return VG_OK;
    pthread_mutex_lock(&w->mu);
    while (w->count == w->depth && !w->failed)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->failed) {
        vg_err e = failure(w, d);
        pthread_mutex_unlock(&w->mu);
        return e;
    }
    /* an empty batch of the same shape to swap in */
    vg_batch *nb = NULL;
    for (size_t i = 0; i < w->nfree; i++) {
        vg_batch *f = w->free_[i];
        if (f->table == b->table && f->cap == b->cap && f->has_raw == b->has_raw) {
            nb = f;
            w->free_[i] = w->free_[--w->nfree];
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    if (!nb) {
        if (w->nall == WRITER_MAX_BATCHES)
            return vg_diag_set(d, VG_ELIMIT, "writer: more than %d batches in flight",
                               WRITER_MAX_BATCHES);
        nb = calloc(1, sizeof *nb);
        if (!nb || vg_batch_init(nb, b->table, b->cap, NULL, b->has_raw) != VG_OK) {
            free(nb);
            return vg_diag_set(d, VG_ENOMEM, "out of memory for a batch of %s", b->table->name);
        }
        pthread_mutex_lock(&w->mu);
        w->all[w->nall++] = nb;
        pthread_mutex_unlock(&w->mu);
    }
    vg_batch tmp = *nb;
    *nb = *b;
    *b = tmp;
    pthread_mutex_lock(&w->mu);
    w->queue[(w->head + w->count) % w->depth] = nb;
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return VG_OK;
}

vg_err cli_writer_finish(cli_writer *w, vg_diag *d)
{
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    return w->failed ? failure(w, d) : VG_OK;
}

void cli_writer_free(cli_writer *w)
{
    if (!w)
        return;
    if (w->started)
        cli_writer_finish(w, NULL);
    for (size_t i = 0; i < w->nall; i++) {
        vg_batch_free(w->all[i]);
        free(w->all[i]);
    }
    free(w->queue);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
