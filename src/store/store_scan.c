/*
 * store_scan.c - scans: a consistent snapshot of one table's segments and
 * tail chunks, pruned by time range and predicates, returned as batches of
 * at most VG_BATCH_ROWS rows.
 *
 * The snapshot is taken under the store mutex (references on segments and
 * tail chunks); reading happens without it. Pruning works per segment
 * (footer time range) and per block (min/max, bloom filter of `has` terms,
 * dictionary). Returned batches are views: their vectors point into the
 * scan's decoded block buffers or into an immutable tail chunk, so nothing is
 * copied unless spec.exact drops rows (then the kept rows are compacted into
 * a batch the scan owns; strings still point into the block or chunk).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define MAX_NEEDLE_TERMS 64

typedef struct pred_rt {
    vg_scan_pred p;
    uint64_t th[MAX_NEEDLE_TERMS];
    size_t nth;
} pred_rt;

struct vg_scan {
    vg_store *s;
    const vg_table_def *t;
    int ncols;
    bool *proj, *need;
    bool raw, exact, ranged;
    uint32_t part, nparts;     /* parallel scans: this one reads segments i % nparts == part */
    bool codes_only;           /* dictionary blocks of STRING columns: codes only, no per-row strings */
    vg_time tmin, tmax;
    pred_rt *preds;
    size_t npreds;
    char *strmem;
    /* snapshot */
    st_seg **segs;
    size_t nsegs, seg_i;
    uint32_t blk;
    bool seg_started;
    st_chunk **tail;
    size_t ntail, tail_i;
    /* current source (a decoded block or a tail chunk) */
    seg_colbuf *cbs;        /* ncols + 1 (raw) */
    seg_colbuf pcb;         /* pruning: dictionaries */
    vg_buf bloom, btmp;
    vg_colvec *src;
    vg_str *src_raw;
    uint32_t src_rows, src_pos;
    bool have_src;
    /* output */
    vg_batch view;
    vg_batch own;
    bool own_init;
    vg_scan_stats st;
};

void vg_scan_get_stats(const vg_scan *sc, vg_scan_stats *out) { *out = sc->st; }

void vg_scan_close(vg_scan *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->nsegs; i++)
        st_seg_unref(sc->segs[i]);
    for (size_t i = 0; i < sc->ntail; i++)
        st_chunk_unref(sc->tail[i]);
    free(sc->segs);
    free(sc->tail);
    if (sc->cbs)
        for (int c = 0; c <= sc->ncols; c++)
            seg_colbuf_free(&sc->cbs[c]);
    free(sc->cbs);
    seg_colbuf_free(&sc->pcb);
    vg_buf_free(&sc->bloom);
    vg_buf_free(&sc->btmp);
    free(sc->src);
    free(sc->view.cols);
    vg_arena_free(&sc->view.arena);
    if (sc->own_init)
        vg_batch_free(&sc->own);
    free(sc->proj);
    free(sc->need);
    free(sc->preds);
    free(sc->strmem);
    free(sc);
}

vg_err vg_scan_open(vg_store *s, const vg_scan_spec *spec, vg_scan **out, vg_diag *d)
{
    if (!spec || !spec->table || spec->table->id >= s->ntables ||
        &vg_schema_tables[spec->table->id] != spec->table)
        return vg_diag_set(d, VG_EINVAL, "scan: no table or an unregistered table");
    const vg_table_def *t = spec->table;
    for (size_t i = 0; i < spec->npreds; i++) {
        const vg_scan_pred *p = &spec->preds[i];
        if (p->col < 0 || p->col >= t->ncols)
            return vg_diag_set(d, VG_EINVAL, "scan of %s: predicate %zu names column %d of %d",
                               t->name, i, p->col, t->ncols);
        vg_type ty = t->cols[p->col].type;
        bool ok = p->kind == VG_PRED_I64_RANGE ? vg_type_is_i64(ty)
                  : (p->kind == VG_PRED_STR_EQ || p->kind == VG_PRED_STR_EQ_CI ||
                     p->kind == VG_PRED_HAS_TERM)
                      ? vg_type_is_str(ty)
                      : false;
        if (!ok)
            return vg_diag_set(d, VG_EINVAL, "scan of %s: predicate %zu does not fit column %s (%s)",
                               t->name, i, t->cols[p->col].name, vg_type_name(ty));
    }
    vg_scan *sc = calloc(1, sizeof *sc);
    if (!sc)
        return VG_ENOMEM;
    sc->s = s;
    sc->t = t;
    sc->ncols = t->ncols;
    sc->raw = spec->raw;
    sc->exact = spec->exact;
    sc->codes_only = spec->codes_only;
    sc->part = spec->nparts > 1 ? spec->part % spec->nparts : 0;
    sc->nparts = spec->nparts > 1 ? spec->nparts : 1;
    sc->tmin = spec->tmin;
    sc->tmax = spec->tmax;
    sc->ranged = t->ts_col >= 0 && (spec->tmin != INT64_MIN || spec->tmax != INT64_MAX);
    size_t nc = (size_t)t->ncols + 1;
    sc->proj = calloc(nc, 1);
    sc->need = calloc(nc, 1);
    sc->cbs = calloc(nc, sizeof *sc->cbs);
    sc->src = calloc(nc, sizeof *sc->src);
    sc->view.cols = calloc(nc, sizeof *sc->view.cols);
    sc->preds = calloc(spec->npreds ? spec->npreds : 1, sizeof *sc->preds);
    size_t sl = 0;
    for (size_t i = 0; i < spec->npreds; i++)
        sl += spec->preds[i].s.n + 1;
    sc->strmem = malloc(sl ? sl : 1);
    if (!sc->proj || !sc->need || !sc->cbs || !sc->src || !sc->view.cols || !sc->preds ||
        !sc->strmem) {
        vg_scan_close(sc);
        return VG_ENOMEM;
    }
    vg_arena_init(&sc->view.arena, 0, 0);
    for (int c = 0; c < t->ncols; c++)
        sc->proj[c] = sc->need[c] = spec->cols ? spec->cols[c] : true;
    if (sc->exact && sc->ranged)
        sc->need[t->ts_col] = true;
    char *sp = sc->strmem;
    sc->npreds = spec->npreds;
    for (size_t i = 0; i < spec->npreds; i++) {
        pred_rt *p = &sc->preds[i];
        p->p = spec->preds[i];
        if (p->p.s.n)
            memcpy(sp, p->p.s.p, p->p.s.n);
        p->p.s.p = sp;
        sp += p->p.s.n + 1;
        if (sc->exact)
            sc->need[p->p.col] = true;
        if (p->p.kind != VG_PRED_I64_RANGE) {
            p->nth = st_term_hashes(p->p.s, p->th, MAX_NEEDLE_TERMS);
            if (p->nth > MAX_NEEDLE_TERMS)
                p->nth = MAX_NEEDLE_TERMS;   /* a subset of terms still prunes soundly */
        }
    }
    sc->view.table = t;
    for (int c = 0; c < t->ncols; c++)
        sc->view.cols[c].type = sc->src[c].type = t->cols[c].type;
    /* snapshot */
    pthread_mutex_lock(&s->mu);
    st_table *T = &s->tables[t->id];
    sc->segs = malloc((T->nsegs ? T->nsegs : 1) * sizeof *sc->segs);
    sc->tail = malloc((T->ntail ? T->ntail : 1) * sizeof *sc->tail);
    if (sc->segs && sc->tail) {
        for (size_t i = 0; i < T->nsegs; i++) {
            sc->segs[i] = T->segs[i];
            atomic_fetch_add(&T->segs[i]->refs, 1);
        }
        sc->nsegs = T->nsegs;
        for (size_t i = 0; i < T->ntail; i++) {
            sc->tail[i] = T->tail[i];
            st_chunk_ref(T->tail[i]);
        }
        sc->ntail = T->ntail;
    }
    pthread_mutex_unlock(&s->mu);
    if (!sc->segs || !sc->tail) {
        vg_scan_close(sc);
        return VG_ENOMEM;
    }
    *out = sc;
    return VG_OK;
}

/* ---- pruning ---- */

static bool range_miss(const vg_scan *sc, int64_t mn, int64_t mx)
{
    return mx < sc->tmin || mn > sc->tmax;
}

static bool dict_has(const seg_colbuf *cb, uint32_t n, vg_str s, bool ci)
{
    for (uint32_t i = 0; i < n; i++)
        if (ci ? vg_str_eq_ci(cb->dictv[i], s) : vg_str_eq(cb->dictv[i], s))
            return true;
    return false;
}

/* True when block b of g cannot hold a matching row. Errors: damaged data. */
static vg_err block_pruned(vg_scan *sc, st_seg *g, uint32_t b, bool *pruned, vg_diag *d)
{
    const seg_meta *m = g->m;
    seg_src src = { g->fd, NULL, m->file_size, g->path };
    *pruned = true;
    if (sc->ranged) {
        int k = g->map[sc->t->ts_col];
        if (k < 0)
            return VG_OK;
        const seg_cblock *cb = seg_cb(m, b, (uint32_t)k);
        if (cb->enc == ENC_NULL || (cb->has_minmax && range_miss(sc, cb->imin, cb->imax)))
            return VG_OK;
    }
    for (size_t i = 0; i < sc->npreds; i++) {
        const pred_rt *p = &sc->preds[i];
        int k = g->map[p->p.col];
        if (k < 0)
            return VG_OK;
        const seg_cblock *cb = seg_cb(m, b, (uint32_t)k);
        if (cb->enc == ENC_NULL)
            return VG_OK;
        if (p->p.kind == VG_PRED_I64_RANGE) {
            if (cb->has_minmax && (cb->imax < p->p.lo || cb->imin > p->p.hi))
                return VG_OK;
            continue;
        }
        if (cb->bloom_bits && p->nth) {
            vg_err e = seg_blob_read(&src, &cb->bloom, &sc->btmp, &sc->bloom, d);
            if (e)
                return e;
            for (size_t j = 0; j < p->nth; j++)
                if (!st_bloom_test((const uint8_t *)sc->bloom.p, cb->bloom_bits, cb->bloom_k,
                                   p->th[j]))
                    return VG_OK;
        }
        if (cb->enc == ENC_DICT && p->p.kind != VG_PRED_HAS_TERM) {
            vg_err e = seg_dict_load(&src, cb, &sc->pcb, d);
            if (e)
                return e;
            if (!dict_has(&sc->pcb, cb->ndict, p->p.s, p->p.kind == VG_PRED_STR_EQ_CI))
                return VG_OK;
        }
    }
    *pruned = false;
    return VG_OK;
}

/* Loads the next unpruned block or tail chunk as the source; false at the end. */
static vg_err advance(vg_scan *sc, bool *got, vg_diag *d)
{
    const vg_table_def *t = sc->t;
    *got = false;
    while (sc->seg_i < sc->nsegs) {
        st_seg *g = sc->segs[sc->seg_i];
        const seg_meta *m = g->m;
        if (!sc->seg_started && sc->seg_i % sc->nparts != sc->part) {
            sc->seg_i++;   /* another part's segment */
            continue;
        }
        if (!sc->seg_started) {
            sc->seg_started = true;
            sc->blk = 0;
            sc->st.segments_total++;
            bool skip = atomic_load(&g->damaged);
            if (!skip && sc->ranged) {
                int k = g->map[t->ts_col];
                skip = k < 0 || m->min_ts > m->max_ts || range_miss(sc, m->min_ts, m->max_ts);
            }
            if (skip) {
                sc->st.segments_skipped++;
                sc->seg_i++;
                sc->seg_started = false;
                continue;
            }
            sc->st.blocks_total += m->nblocks;
        }
        if (sc->blk >= m->nblocks || atomic_load(&g->damaged)) {
            sc->seg_i++;
            sc->seg_started = false;
            continue;
        }
        uint32_t b = sc->blk++;
        bool pruned;
        vg_diag bd;
        vg_err e = block_pruned(sc, g, b, &pruned, &bd);
        seg_src src = { g->fd, NULL, m->file_size, g->path };
        for (int c = 0; !e && !pruned && c <= t->ncols; c++) {
            bool want = c < t->ncols ? sc->need[c] : sc->raw;
            vg_colvec *v = c < t->ncols ? &sc->src[c] : NULL;
            if (v)
                v->present = false;
            if (c == t->ncols)
                sc->src_raw = NULL;
            int k = g->map[c];
            if (!want || k < 0)
                continue;
            sc->cbs[c].codes_only = sc->codes_only && v && !sc->exact && v->type == VG_T_STRING;
            e = seg_block_decode(&src, m, b, (uint32_t)k, &sc->cbs[c], &bd);
            if (e)
                break;
            if (v) {
                v->present = true;
                v->valid = sc->cbs[c].valid;
                v->v.i64 = sc->cbs[c].v.i64;
                /* a dictionary block decoded to codes only has no strings */
                if (sc->cbs[c].has_codes && sc->cbs[c].codes_only)
                    v->v.s = NULL;
                v->dict = sc->cbs[c].has_codes ? sc->cbs[c].dictv : NULL;
                v->codes = sc->cbs[c].has_codes ? sc->cbs[c].codes : NULL;
                v->ndict = sc->cbs[c].has_codes ? sc->cbs[c].ndict : 0;
            } else {
                sc->src_raw = sc->cbs[c].v.s;
            }
        }
        if (e == VG_ECORRUPT) {
            st_store_seg_damaged(sc->s, g, bd.msg);
            sc->st.segments_damaged++;
            sc->seg_i++;
            sc->seg_started = false;
            continue;
        }
        if (e) {
            vg_diag_set(d, e, "%s", bd.msg);
            return e;
        }
        if (pruned) {
            sc->st.blocks_skipped++;
            continue;
        }
        sc->src_rows = seg_block_nrows(m, b);
        sc->src_pos = 0;
        *got = true;
        return VG_OK;
    }
    while (sc->part == 0 && sc->tail_i < sc->ntail) {
        const st_chunk *c = sc->tail[sc->tail_i++];
        if (!c->b.nrows)
            continue;
        if (sc->ranged && (c->min_ts > c->max_ts || range_miss(sc, c->min_ts, c->max_ts)))
            continue;
        for (int k = 0; k < t->ncols; k++) {
            sc->src[k] = c->b.cols[k];
            sc->src[k].present = c->b.cols[k].present && sc->need[k];
            sc->src[k].dict = NULL;
            sc->src[k].codes = NULL;
            sc->src[k].ndict = 0;
        }
        sc->src_raw = sc->raw && c->b.has_raw ? c->b.raw : NULL;
        sc->src_rows = c->b.nrows;
        sc->src_pos = 0;
        *got = true;
        return VG_OK;
    }
    return VG_OK;
}

/* ---- row filtering (spec.exact) ---- */

static bool row_matches(const vg_scan *sc, uint32_t r)
{
    if (sc->ranged) {
        const vg_colvec *v = &sc->src[sc->t->ts_col];
        if (!v->present || !vg_bit_get(v->valid, r))
            return false;
        int64_t ts = v->v.i64[r];
        if (ts < sc->tmin || ts > sc->tmax)
            return false;
    }
    for (size_t i = 0; i < sc->npreds; i++) {
        const vg_scan_pred *p = &sc->preds[i].p;
        const vg_colvec *v = &sc->src[p->col];
        if (!v->present || !vg_bit_get(v->valid, r))
            return false;
        switch (p->kind) {
        case VG_PRED_I64_RANGE:
            if (v->v.i64[r] < p->lo || v->v.i64[r] > p->hi)
                return false;
            break;
        case VG_PRED_STR_EQ:
            if (!vg_str_eq(v->v.s[r], p->s))
                return false;
            break;
        case VG_PRED_STR_EQ_CI:
            if (!vg_str_eq_ci(v->v.s[r], p->s))
                return false;
            break;
        case VG_PRED_HAS_TERM:
            if (!vg_has_term(v->v.s[r], p->s))
                return false;
            break;
        }
    }
    return true;
}

static void make_view(vg_scan *sc, uint32_t r0, uint32_t n)
{
    vg_batch *o = &sc->view;
    o->nrows = o->cap = n;
    for (int c = 0; c < sc->ncols; c++) {
        vg_colvec *v = &o->cols[c];
        const vg_colvec *s = &sc->src[c];
        v->type = s->type;
        v->present = s->present && sc->proj[c];
        if (!v->present)
            continue;
        v->valid = s->valid + r0 / 64;
        if (vg_type_is_i64(s->type))
            v->v.i64 = s->v.i64 + r0;
        else if (s->type == VG_T_REAL)
            v->v.f64 = s->v.f64 + r0;
        else if (s->type == VG_T_BOOL)
            v->v.b = s->v.b + r0;
        else
            v->v.s = s->v.s ? s->v.s + r0 : NULL;
        v->dict = s->codes ? s->dict : NULL;
        v->codes = s->codes ? s->codes + r0 : NULL;
        v->ndict = s->codes ? s->ndict : 0;
    }
    o->has_raw = sc->raw && sc->src_raw;
    o->raw = o->has_raw ? sc->src_raw + r0 : NULL;
}

static vg_err compact(vg_scan *sc, uint32_t r0, uint32_t n, const vg_batch **out)
{
    if (!sc->own_init) {
        vg_err e = vg_batch_init(&sc->own, sc->t, VG_BATCH_ROWS, sc->proj, sc->raw);
        if (e)
            return e;
        sc->own_init = true;
    }
    vg_batch *o = &sc->own;
    vg_batch_reset(o);
    uint32_t kept = 0;
    for (uint32_t r = r0; r < r0 + n; r++)
        kept += row_matches(sc, r);
    if (kept == n) {
        make_view(sc, r0, n);
        *out = &sc->view;
        return VG_OK;
    }
    for (uint32_t r = r0; r < r0 + n; r++) {
        if (!row_matches(sc, r))
            continue;
        uint32_t k = o->nrows++;
        for (int c = 0; c < sc->ncols; c++) {
            const vg_colvec *s = &sc->src[c];
            vg_colvec *v = &o->cols[c];
            if (!v->present)
                continue;
            if (!s->present || !vg_bit_get(s->valid, r)) {
                vg_bit_clear(v->valid, k);
                continue;
            }
            vg_bit_set(v->valid, k);
            if (vg_type_is_i64(s->type))
                v->v.i64[k] = s->v.i64[r];
            else if (s->type == VG_T_REAL)
                v->v.f64[k] = s->v.f64[r];
            else if (s->type == VG_T_BOOL)
                v->v.b[k] = s->v.b[r];
            else
                v->v.s[k] = s->v.s[r];
        }
        if (o->has_raw)
            o->raw[k] = sc->src_raw ? sc->src_raw[r] : VG_STR_NULL;
    }
    *out = o;
    return VG_OK;
}

vg_err vg_scan_next(vg_scan *sc, const vg_batch **out, vg_diag *d)
{
    for (;;) {
        if (sc->have_src && sc->src_pos < sc->src_rows) {
            uint32_t r0 = sc->src_pos;
            uint32_t n = sc->src_rows - r0 < VG_BATCH_ROWS ? sc->src_rows - r0 : VG_BATCH_ROWS;
            sc->src_pos += n;
            if (!sc->exact) {
                make_view(sc, r0, n);
                *out = &sc->view;
                sc->st.rows_returned += n;
                return VG_OK;
            }
            vg_err e = compact(sc, r0, n, out);
            if (e)
                return vg_diag_set(d, e, "scan of %s: out of memory", sc->t->name);
            if (!(*out)->nrows)
                continue;
            sc->st.rows_returned += (*out)->nrows;
            return VG_OK;
        }
        sc->have_src = false;
        bool got;
        vg_err e = advance(sc, &got, d);
        if (e)
            return e;
        if (!got)
            return VG_EEOF;
        sc->have_src = true;
    }
}
