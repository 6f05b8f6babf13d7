/*
 * store_segw.c - the segment writer: turns rows of tail chunks into one
 * immutable columnar segment file.
 *
 * Rows are cut into blocks of block_rows; each column of each block becomes
 * one zstd-compressed blob (validity + values: zigzag-delta varints for
 * int64, raw doubles, bytes for bools, lengths + bytes or dictionary codes
 * for strings), described in the footer with its offset, sizes, XXH3
 * checksum and min/max (int64, real). String blocks also get a bloom filter
 * over their `has` terms, and low-cardinality string blocks a dictionary
 * blob. The footer is zstd-compressed and checksummed; a fixed trailer
 * points at it. The file is written as NAME.tmp, fsynced and renamed; the
 * caller fsyncs the directory and commits the seal (store.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "../core/vg_time.h"
#include "store_int.h"

typedef struct brun {
    const st_chunk *c;
    uint32_t r0, n;
} brun;

struct seg_writer {
    ZSTD_CCtx *zc;
    int level;
    uint32_t cap;          /* rows the scratch arrays hold */
    int64_t *i64;
    double *f64;
    uint8_t *u8;
    vg_str *s;
    uint64_t *valid;
    uint32_t *codes;
    /* distinct-value table for strings */
    uint32_t *ht;          /* index+1 into distinct, 0 = empty */
    uint64_t *hh;          /* hash per distinct */
    uint32_t ht_cap;
    uint32_t *distinct;    /* index into s[] of each distinct value */
    st_hset terms;
    vg_buf raw, comp, file, footer, bloom;
    seg_cblock *blocks;
    size_t blocks_cap;
    brun *br;          /* the runs of one block */
    size_t br_cap;
};

vg_err seg_writer_new(int zstd_level, seg_writer **out)
{
    seg_writer *w = calloc(1, sizeof *w);
    if (!w)
        return VG_ENOMEM;
    w->zc = ZSTD_createCCtx();
    if (!w->zc) {
        free(w);
        return VG_ENOMEM;
    }
    w->level = zstd_level ? zstd_level : 1;
    vg_buf_init(&w->raw, 0);
    vg_buf_init(&w->comp, 0);
    vg_buf_init(&w->file, 0);
    vg_buf_init(&w->footer, 0);
    vg_buf_init(&w->bloom, 0);
    *out = w;
    return VG_OK;
}

void seg_writer_free(seg_writer *w)
{
    if (!w)
        return;
    ZSTD_freeCCtx(w->zc);
    free(w->i64);
    free(w->f64);
    free(w->u8);
    free(w->s);
    free(w->valid);
    free(w->codes);
    free(w->ht);
    free(w->hh);
    free(w->distinct);
    st_hset_free(&w->terms);
    vg_buf_free(&w->raw);
    vg_buf_free(&w->comp);
    vg_buf_free(&w->file);
    vg_buf_free(&w->footer);
    vg_buf_free(&w->bloom);
    free(w->blocks);
    free(w->br);
    free(w);
}

static bool writer_reserve(seg_writer *w, uint32_t rows)
{
    if (rows <= w->cap)
        return true;
    free(w->i64);
    free(w->f64);
    free(w->u8);
    free(w->s);
    free(w->valid);
    free(w->codes);
    free(w->ht);
    free(w->hh);
    free(w->distinct);
    uint32_t hc = 16;
    while (hc < rows * 2)
        hc <<= 1;
    w->i64 = malloc(rows * sizeof *w->i64);
    w->f64 = malloc(rows * sizeof *w->f64);
    w->u8 = malloc(rows);
    w->s = malloc(rows * sizeof *w->s);
    w->valid = calloc((rows + 63) / 64, 8);
    w->codes = malloc(rows * sizeof *w->codes);
    w->ht = calloc(hc, sizeof *w->ht);
    w->hh = malloc(rows * sizeof *w->hh);
    w->distinct = malloc(rows * sizeof *w->distinct);
    w->ht_cap = hc;
    if (!w->i64 || !w->f64 || !w->u8 || !w->s || !w->valid || !w->codes || !w->ht || !w->hh ||
        !w->distinct) {
        w->cap = 0;
        return false;
    }
    w->cap = rows;
    return true;
}

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void put_blob_desc(vg_buf *f, const seg_blob *b)
{
    vg_buf_put_varint(f, b->off);
    vg_buf_put_varint(f, b->len);
    vg_buf_put_varint(f, b->raw_len);
    vg_buf_putc(f, (char)b->codec);
    vg_buf_put_u64le(f, b->hash);
}

static void put_str(vg_buf *f, const char *s)
{
    size_t n = strlen(s);
    vg_buf_put_varint(f, n);
    vg_buf_put(f, s, n);
}

typedef struct wctx {
    seg_writer *w;
    int fd;
    const char *path;
    uint64_t off;      /* file offset of w->file's first byte */
    vg_diag *d;
} wctx;

static vg_err flush_file(wctx *c, bool force)
{
    seg_writer *w = c->w;
    if (w->file.failed)
        return vg_diag_set(c->d, VG_ENOMEM, "%s: out of memory", c->path);
    if (!force && w->file.n < (4u << 20))
        return VG_OK;
    vg_err e = st_write_all(c->fd, w->file.p, w->file.n, c->path, c->d);
    c->off += w->file.n;
    w->file.n = 0;
    return e;
}

/* Stores bytes as a blob (zstd when it pays). */
static vg_err put_blob(wctx *c, const void *p, size_t n, bool compress, seg_blob *out)
{
    seg_writer *w = c->w;
    out->off = c->off + w->file.n;
    out->raw_len = n;
    const void *src = p;
    size_t sl = n;
    out->codec = BLOB_RAW;
    if (compress && n >= 64) {
        size_t bound = ZSTD_compressBound(n);
        w->comp.n = 0;
        if (!vg_buf_reserve(&w->comp, bound))
            return vg_diag_set(c->d, VG_ENOMEM, "%s: out of memory", c->path);
        size_t cl = ZSTD_compressCCtx(w->zc, w->comp.p, bound, p, n, w->level);
        if (ZSTD_isError(cl))
            return vg_diag_set(c->d, VG_EIO, "%s: zstd: %s", c->path, ZSTD_getErrorName(cl));
        if (cl < n) {
            src = w->comp.p;
            sl = cl;
            out->codec = BLOB_ZSTD;
        }
    }
    out->len = sl;
    out->hash = st_hash(src, sl);
    vg_buf_put(&w->file, src, sl);
    return flush_file(c, false);
}


/* Gathers validity and valid values of column col (or raw when col < 0). */
static uint32_t gather(seg_writer *w, const brun *br, size_t nbr, int col, vg_type type,
                       uint32_t nrows)
{
    memset(w->valid, 0, ((size_t)nrows + 63) / 64 * 8);
    uint32_t nv = 0, row = 0;
    for (size_t k = 0; k < nbr; k++) {
        const vg_batch *b = &br[k].c->b;
        if (col < 0) {
            for (uint32_t i = 0; i < br[k].n; i++, row++) {
                vg_str s = b->has_raw ? b->raw[br[k].r0 + i] : VG_STR_NULL;
                if (s.n) {
                    vg_bit_set(w->valid, row);
                    w->s[nv++] = s;
                }
            }
            continue;
        }
        const vg_colvec *v = &b->cols[col];
        if (!v->present) {
            row += br[k].n;
            continue;
        }
        for (uint32_t i = 0; i < br[k].n; i++, row++) {
            uint32_t r = br[k].r0 + i;
            if (!vg_bit_get(v->valid, r))
                continue;
            vg_bit_set(w->valid, row);
            if (vg_type_is_i64(type))
                w->i64[nv] = v->v.i64[r];
            else if (type == VG_T_REAL)
                w->f64[nv] = v->v.f64[r];
            else if (type == VG_T_BOOL)
                w->u8[nv] = v->v.b[r] != 0;
            else
                w->s[nv] = v->v.s[r];
            nv++;
        }
    }
    return nv;
}

static void term_add(void *ctx, uint64_t h) { st_hset_add(ctx, h); }

/* Finds the distinct strings of w->s[0..nv): codes[] and distinct[]. */
static uint32_t dedupe(seg_writer *w, uint32_t nv)
{
    uint32_t nd = 0, m = w->ht_cap - 1;
    memset(w->ht, 0, (size_t)w->ht_cap * sizeof *w->ht);
    for (uint32_t i = 0; i < nv; i++) {
        vg_str s = w->s[i];
        uint64_t h = st_hash(s.p, s.n);
        uint32_t j = (uint32_t)h & m;
        for (;;) {
            uint32_t e = w->ht[j];
            if (!e) {
                w->ht[j] = nd + 1;
                w->hh[nd] = h;
                w->distinct[nd] = i;
                w->codes[i] = nd++;
                break;
            }
            vg_str o = w->s[w->distinct[e - 1]];
            if (w->hh[e - 1] == h && o.n == s.n && (!s.n || memcmp(o.p, s.p, s.n) == 0)) {
                w->codes[i] = e - 1;
                break;
            }
            j = (j + 1) & m;
        }
    }
    return nd;
}

static vg_err encode_block_col(wctx *c, const brun *br, size_t nbr, int col, vg_type type,
                               bool is_raw, uint32_t nrows, seg_cblock *cb)
{
    seg_writer *w = c->w;
    memset(cb, 0, sizeof *cb);
    uint32_t nv = gather(w, br, nbr, is_raw ? -1 : col, type, nrows);
    cb->nvalid = nv;
    if (!nv) {
        cb->enc = ENC_NULL;
        return VG_OK;
    }
    vg_buf *raw = &w->raw;
    raw->n = 0;
    if (nv == nrows) {
        vg_buf_putc(raw, 1);
    } else {
        vg_buf_putc(raw, 2);
        vg_buf_put(raw, w->valid, ((size_t)nrows + 7) / 8);   /* little-endian hosts */
    }
    cb->enc = ENC_PLAIN;
    if (vg_type_is_i64(type)) {
        int64_t prev = 0, mn = INT64_MAX, mx = INT64_MIN;
        if (!vg_buf_reserve(raw, (size_t)nv * 10))
            return VG_ENOMEM;
        unsigned char *o = (unsigned char *)raw->p + raw->n;
        for (uint32_t i = 0; i < nv; i++) {
            int64_t v = w->i64[i];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            uint64_t z = zigzag((int64_t)((uint64_t)v - (uint64_t)prev));
            prev = v;
            while (z >= 0x80) {
                *o++ = (unsigned char)(z | 0x80);
                z >>= 7;
            }
            *o++ = (unsigned char)z;
        }
        raw->n = (size_t)((char *)o - raw->p);
        cb->has_minmax = true;
        cb->imin = mn;
        cb->imax = mx;
    } else if (type == VG_T_REAL) {
        double mn = INFINITY, mx = -INFINITY;
        bool any = false;
        for (uint32_t i = 0; i < nv; i++) {
            double v = w->f64[i];
            if (isnan(v))
                continue;
            any = true;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        vg_buf_put(raw, w->f64, (size_t)nv * 8);
        cb->has_minmax = any;
        cb->fmin = mn;
        cb->fmax = mx;
    } else if (type == VG_T_BOOL) {
        vg_buf_put(raw, w->u8, nv);
    } else {
        uint32_t nd = dedupe(w, nv);
        bool dict = nd <= ST_DICT_MAX && (uint64_t)nd * 2 <= nv;
        if (dict) {
            cb->enc = ENC_DICT;
            cb->ndict = nd;
            unsigned width = nd <= 256 ? 1 : 2;
            vg_buf_putc(raw, (char)width);
            if (!vg_buf_reserve(raw, (size_t)nv * width))
                return VG_ENOMEM;
            unsigned char *o = (unsigned char *)raw->p + raw->n;
            for (uint32_t i = 0; i < nv; i++) {
                *o++ = (unsigned char)w->codes[i];
                if (width == 2)
                    *o++ = (unsigned char)(w->codes[i] >> 8);
            }
            raw->n += (size_t)nv * width;
            /* the dictionary blob: lengths then bytes */
            vg_buf *db = &w->bloom;   /* reused as scratch before the bloom */
            db->n = 0;
            for (uint32_t k = 0; k < nd; k++)
                vg_buf_put_varint(db, w->s[w->distinct[k]].n);
            for (uint32_t k = 0; k < nd; k++)
                vg_buf_putstr(db, w->s[w->distinct[k]]);
            if (db->failed)
                return VG_ENOMEM;
            vg_err e = put_blob(c, db->p, db->n, true, &cb->dict);
            if (e)
                return e;
        } else {
            for (uint32_t i = 0; i < nv; i++)
                vg_buf_put_varint(raw, w->s[i].n);
            size_t tot = 0;
            for (uint32_t i = 0; i < nv; i++)
                tot += w->s[i].n;
            if (!vg_buf_reserve(raw, tot))
                return VG_ENOMEM;
            char *o = raw->p + raw->n;
            for (uint32_t i = 0; i < nv; i++) {
                if (w->s[i].n)
                    memcpy(o, w->s[i].p, w->s[i].n);
                o += w->s[i].n;
            }
            raw->n += tot;
        }
        if (!is_raw) {
            st_hset_clear(&w->terms);
            for (uint32_t k = 0; k < nd; k++)
                st_terms(w->s[w->distinct[k]], term_add, &w->terms);
            uint32_t bits = st_bloom_bits_for(w->terms.n);
            w->bloom.n = 0;
            if (!vg_buf_reserve(&w->bloom, bits / 8))
                return VG_ENOMEM;
            st_bloom_build((uint8_t *)w->bloom.p, bits, ST_BLOOM_K, w->terms.list, w->terms.n);
            cb->bloom_bits = bits;
            cb->bloom_k = ST_BLOOM_K;
            vg_err e = put_blob(c, w->bloom.p, bits / 8, false, &cb->bloom);
            if (e)
                return e;
        }
    }
    if (raw->failed)
        return vg_diag_set(c->d, VG_ENOMEM, "%s: out of memory", c->path);
    return put_blob(c, raw->p, raw->n, true, &cb->data);
}

static void footer_block(vg_buf *f, const seg_cblock *cb, vg_type type, bool is_raw)
{
    vg_buf_putc(f, (char)cb->enc);
    if (cb->enc == ENC_NULL)
        return;
    vg_buf_put_varint(f, cb->nvalid);
    put_blob_desc(f, &cb->data);
    vg_buf_putc(f, cb->has_minmax);
    if (cb->has_minmax && vg_type_is_i64(type)) {
        vg_buf_put_varint(f, zigzag(cb->imin));
        vg_buf_put_varint(f, zigzag(cb->imax));
    } else if (cb->has_minmax && type == VG_T_REAL) {
        uint64_t a, b;
        memcpy(&a, &cb->fmin, 8);
        memcpy(&b, &cb->fmax, 8);
        vg_buf_put_u64le(f, a);
        vg_buf_put_u64le(f, b);
    }
    if (vg_type_is_str(type)) {
        vg_buf_put_varint(f, is_raw ? 0 : cb->bloom_bits);
        if (!is_raw && cb->bloom_bits) {
            vg_buf_putc(f, (char)cb->bloom_k);
            put_blob_desc(f, &cb->bloom);
        }
        if (cb->enc == ENC_DICT) {
            vg_buf_put_varint(f, cb->ndict);
            put_blob_desc(f, &cb->dict);
        }
    }
}

vg_err seg_write(seg_writer *w, const vg_table_def *t, const seg_run *runs, size_t nruns,
                 uint32_t nrows, uint32_t block_rows, int64_t day, uint64_t seq, bool sync,
                 const char *dir, const char *name, vg_diag *d)
{
    char tmp[4096], dst[4096];
    st_fmt(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    st_fmt(dst, sizeof dst, "%s/%s", dir, name);
    if (!writer_reserve(w, block_rows))
        return vg_diag_set(d, VG_ENOMEM, "%s: out of memory", tmp);
    bool has_raw = false;
    uint64_t min_lsn = UINT64_MAX, max_lsn = 0;
    int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
    for (size_t i = 0; i < nruns; i++) {
        has_raw |= runs[i].c->b.has_raw;
        min_lsn = runs[i].c->lsn < min_lsn ? runs[i].c->lsn : min_lsn;
        max_lsn = runs[i].c->lsn > max_lsn ? runs[i].c->lsn : max_lsn;
    }
    uint32_t ncols = t->ncols + (has_raw ? 1u : 0u);
    uint32_t nblocks = (nrows + block_rows - 1) / block_rows;
    size_t nb = (size_t)nblocks * ncols;
    if (nb > w->blocks_cap) {
        seg_cblock *nbk = realloc(w->blocks, nb * sizeof *nbk);
        if (!nbk)
            return vg_diag_set(d, VG_ENOMEM, "%s: out of memory", tmp);
        w->blocks = nbk;
        w->blocks_cap = nb;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    wctx c = { w, fd, tmp, 0, d };
    w->file.n = 0;
    vg_err e = VG_OK;
    /* header */
    unsigned char hdr[SEG_HDR];
    memcpy(hdr, SEG_MAGIC, 8);
    memset(hdr + 8, 0, 16);
    hdr[8] = 1;   /* version */
    uint64_t now = (uint64_t)vg_time_now();
    for (int i = 0; i < 8; i++)
        hdr[16 + i] = (unsigned char)(now >> (8 * i));
    uint64_t hh = st_hash(hdr, 24);
    for (int i = 0; i < 8; i++)
        hdr[24 + i] = (unsigned char)(hh >> (8 * i));
    vg_buf_put(&w->file, hdr, SEG_HDR);

    size_t ri = 0;
    uint32_t roff = 0;
    for (uint32_t b = 0; b < nblocks; b++) {
        uint32_t bn = nrows - b * block_rows < block_rows ? nrows - b * block_rows : block_rows;
        size_t nbr = 0;
        uint32_t need = bn;
        while (need) {
            if (ri >= nruns) {
                e = vg_diag_set(d, VG_EINVAL, "%s: fewer rows than announced", tmp);
                goto out;
            }
            uint32_t take = runs[ri].n - roff < need ? runs[ri].n - roff : need;
            if (nbr == w->br_cap) {
                size_t nc = w->br_cap ? w->br_cap * 2 : 64;
                brun *nbrs = realloc(w->br, nc * sizeof *nbrs);
                if (!nbrs) {
                    e = vg_diag_set(d, VG_ENOMEM, "%s: out of memory", tmp);
                    goto out;
                }
                w->br = nbrs;
                w->br_cap = nc;
            }
            w->br[nbr++] = (brun){ runs[ri].c, runs[ri].r0 + roff, take };
            need -= take;
            roff += take;
            if (roff == runs[ri].n) {
                ri++;
                roff = 0;
            }
        }
        const brun *br = w->br;
        for (uint32_t col = 0; col < ncols; col++) {
            bool is_raw = col == t->ncols;
            vg_type type = is_raw ? VG_T_STRING : t->cols[col].type;
            seg_cblock *cb = &w->blocks[(size_t)b * ncols + col];
            e = encode_block_col(&c, br, nbr, (int)col, type, is_raw, bn, cb);
            if (e) {
                if (e == VG_ENOMEM)
                    vg_diag_set(d, e, "%s: out of memory", tmp);
                goto out;
            }
            if (!is_raw && (int)col == t->ts_col && cb->enc != ENC_NULL) {
                min_ts = cb->imin < min_ts ? cb->imin : min_ts;
                max_ts = cb->imax > max_ts ? cb->imax : max_ts;
            }
        }
    }
    /* footer */
    vg_buf *f = &w->footer;
    f->n = 0;
    vg_buf_put(f, "VGFT", 4);
    vg_buf_put_varint(f, 1);
    put_str(f, t->name);
    vg_buf_put_varint(f, ncols);
    for (uint32_t col = 0; col < ncols; col++) {
        bool is_raw = col == t->ncols;
        put_str(f, is_raw ? ST_RAW_NAME : t->cols[col].name);
        vg_buf_putc(f, (char)(is_raw ? VG_T_STRING : t->cols[col].type));
        vg_buf_putc(f, is_raw);
    }
    vg_buf_put_varint(f, nrows);
    vg_buf_put_varint(f, block_rows);
    vg_buf_put_varint(f, nblocks);
    vg_buf_put_varint(f, zigzag(day));
    vg_buf_put_varint(f, seq);
    vg_buf_put_varint(f, min_lsn);
    vg_buf_put_varint(f, max_lsn);
    vg_buf_put_varint(f, zigzag(min_ts));
    vg_buf_put_varint(f, zigzag(max_ts));
    for (uint32_t b = 0; b < nblocks; b++)
        for (uint32_t col = 0; col < ncols; col++) {
            bool is_raw = col == t->ncols;
            footer_block(f, &w->blocks[(size_t)b * ncols + col],
                         is_raw ? VG_T_STRING : t->cols[col].type, is_raw);
        }
    if (f->failed) {
        e = vg_diag_set(d, VG_ENOMEM, "%s: out of memory for the footer", tmp);
        goto out;
    }
    {
        seg_blob fb;
        vg_buf fcopy = *f;   /* put_blob uses w->comp, not w->footer */
        e = put_blob(&c, fcopy.p, fcopy.n, true, &fb);
        if (e)
            goto out;
        unsigned char tr[SEG_TRAILER];
        uint64_t v[4] = { fb.off, fb.len, fb.codec == BLOB_ZSTD ? fb.raw_len : 0, fb.hash };
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 8; i++)
                tr[k * 8 + i] = (unsigned char)(v[k] >> (8 * i));
        uint64_t th = st_hash(tr, 32);
        for (int i = 0; i < 8; i++)
            tr[32 + i] = (unsigned char)(th >> (8 * i));
        memcpy(tr + 40, SEG_TRAILER_MAGIC, 8);
        vg_buf_put(&w->file, tr, SEG_TRAILER);
    }
    e = flush_file(&c, true);
    if (!e)
        e = st_fsync(fd, sync, tmp, d);
out:
    close(fd);
    if (!e)
        e = st_rename(tmp, dst, d);
    if (e)
        unlink(tmp);
    return e;
}
