/*
 * store_segr.c - the segment reader: validates and parses a segment's
 * header, trailer and footer, reads blobs (verifying their XXH3 checksums
 * before decompressing) and decodes one column of one block into vectors.
 *
 * Every length, offset and count read from the file is checked against the
 * file size and the limits of store_int.h before it is used, so that any
 * byte string (tests/fuzz/fuzz_segment.c) yields VG_ECORRUPT with the file
 * and offset, never a crash or an unbounded allocation.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "store_int.h"

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static vg_err src_read(const seg_src *s, uint64_t off, size_t n, vg_buf *out, vg_diag *d)
{
    if (off > s->size || n > s->size - off)
        return vg_diag_set(d, VG_ECORRUPT, "%s: read of %zu bytes at offset %llu past the end",
                           s->path, n, (unsigned long long)off);
    out->n = 0;
    if (!vg_buf_reserve(out, n + 1))
        return vg_diag_set(d, VG_ENOMEM, "%s: out of memory", s->path);
    if (s->mem) {
        if (n)
            memcpy(out->p, s->mem + off, n);
    } else {
        vg_err e = st_pread_all(s->fd, out->p, n, off, s->path, d);
        if (e)
            return e;
    }
    out->n = n;
    return VG_OK;
}

/* One zstd decompression context per thread, kept for the thread's life:
 * ZSTD_decompress() would allocate and clear a fresh one (~100 KiB) per
 * block, which dominated the cost of pruning and scanning small blocks. */
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;

static void dctx_free(void *p) { ZSTD_freeDCtx(p); }
static void dctx_init(void) { pthread_key_create(&dctx_key, dctx_free); }

static ZSTD_DCtx *thread_dctx(void)
{
    pthread_once(&dctx_once, dctx_init);
    ZSTD_DCtx *c = pthread_getspecific(dctx_key);
    if (!c) {
        c = ZSTD_createDCtx();
        if (c && pthread_setspecific(dctx_key, c)) {
            ZSTD_freeDCtx(c);
            c = NULL;
        }
    }
    return c;
}

vg_err seg_blob_read(const seg_src *src, const seg_blob *b, vg_buf *tmp, vg_buf *out, vg_diag *d)
{
    vg_buf *first = b->codec == BLOB_RAW ? out : tmp;
    vg_err e = src_read(src, b->off, b->len, first, d);
    if (e)
        return e;
    if (st_hash(first->p, first->n) != b->hash)
        return vg_diag_set(d, VG_ECORRUPT, "%s: checksum mismatch in block at offset %llu",
                           src->path, (unsigned long long)b->off);
    if (b->codec == BLOB_RAW)
        return VG_OK;
    out->n = 0;
    if (!vg_buf_reserve(out, b->raw_len + 1))
        return vg_diag_set(d, VG_ENOMEM, "%s: out of memory", src->path);
    ZSTD_DCtx *dc = thread_dctx();
    size_t got = dc ? ZSTD_decompressDCtx(dc, out->p, b->raw_len, tmp->p, tmp->n)
                    : ZSTD_decompress(out->p, b->raw_len, tmp->p, tmp->n);
    if (ZSTD_isError(got) || got != b->raw_len)
        return vg_diag_set(d, VG_ECORRUPT, "%s: block at offset %llu does not decompress",
                           src->path, (unsigned long long)b->off);
    out->n = got;
    return VG_OK;
}

void seg_meta_free(seg_meta *m)
{
    if (!m)
        return;
    free(m->cols);
    free(m->blocks);
    free(m);
}

typedef struct fparse {
    vg_reader r;
    const seg_src *src;
    vg_diag *d;
} fparse;

#define BAD(fp, what)                                                                         \
    vg_diag_set((fp)->d, VG_ECORRUPT, "%s: bad segment footer (%s) at footer offset %zu",    \
                (fp)->src->path, (what), (fp)->r.off)

static bool rd_u8(vg_reader *r, uint8_t *v)
{
    const void *p;
    if (!vg_read_bytes(r, 1, &p))
        return false;
    *v = *(const uint8_t *)p;
    return true;
}
static bool rd_vi(vg_reader *r, uint64_t *v) { return vg_read_varint(r, v); }
static bool rd_svi(vg_reader *r, int64_t *v)
{
    uint64_t z;
    if (!vg_read_varint(r, &z))
        return false;
    *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    return true;
}
static bool rd_name(vg_reader *r, char *out)
{
    uint64_t n;
    const void *p;
    if (!rd_vi(r, &n) || n > ST_MAX_NAME || !vg_read_bytes(r, (size_t)n, &p))
        return false;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return memchr(out, 0, (size_t)n) == NULL;
}

static bool rd_blob(fparse *fp, seg_blob *b)
{
    uint64_t limit = fp->src->size - SEG_TRAILER;
    uint8_t codec;
    if (!rd_vi(&fp->r, &b->off) || !rd_vi(&fp->r, &b->len) || !rd_vi(&fp->r, &b->raw_len) ||
        !rd_u8(&fp->r, &codec) || !vg_read_u64le(&fp->r, &b->hash))
        return false;
    b->codec = codec;
    if (b->off < SEG_HDR || b->off > limit || b->len > limit - b->off ||
        b->raw_len > ST_MAX_PAYLOAD || codec > BLOB_ZSTD)
        return false;
    if (codec == BLOB_RAW && b->len != b->raw_len)
        return false;
    return true;
}

static vg_err parse_footer(fparse *fp, seg_meta *m)
{
    vg_reader *r = &fp->r;
    const void *mg;
    uint64_t v, ncols, nrows, br, nb;
    if (!vg_read_bytes(r, 4, &mg) || memcmp(mg, "VGFT", 4) || !rd_vi(r, &v) || v != 1)
        return BAD(fp, "magic or version");
    if (!rd_name(r, m->table) || !rd_vi(r, &ncols) || ncols == 0 || ncols > ST_MAX_COLS)
        return BAD(fp, "table or column count");
    m->ncols = (uint32_t)ncols;
    m->cols = calloc(ncols, sizeof *m->cols);
    if (!m->cols)
        return VG_ENOMEM;
    for (uint32_t c = 0; c < m->ncols; c++) {
        uint8_t t, raw;
        if (!rd_name(r, m->cols[c].name) || !rd_u8(r, &t) || t >= VG_T_COUNT_ || !rd_u8(r, &raw) ||
            raw > 1)
            return BAD(fp, "column");
        m->cols[c].type = t;
        m->cols[c].is_raw = raw;
        if (raw && t != VG_T_STRING)
            return BAD(fp, "raw column type");
    }
    if (!rd_vi(r, &nrows) || nrows > ST_MAX_ROWS || !rd_vi(r, &br) || br == 0 ||
        br > ST_MAX_ROWS || !rd_vi(r, &nb) || nb != (nrows + br - 1) / br)
        return BAD(fp, "row counts");
    m->nrows = (uint32_t)nrows;
    m->block_rows = (uint32_t)br;
    m->nblocks = (uint32_t)nb;
    if (!rd_svi(r, &m->day) || !rd_vi(r, &m->seq) || !rd_vi(r, &m->min_lsn) ||
        !rd_vi(r, &m->max_lsn) || !rd_svi(r, &m->min_ts) || !rd_svi(r, &m->max_ts))
        return BAD(fp, "segment fields");
    /* every descriptor takes at least one byte: bounds the allocation */
    if (nb * ncols > r->n - r->off)
        return BAD(fp, "block count");
    m->blocks = calloc(nb * ncols + 1, sizeof *m->blocks);
    if (!m->blocks)
        return VG_ENOMEM;
    for (uint32_t b = 0; b < m->nblocks; b++) {
        uint32_t bn = seg_block_nrows(m, b);
        for (uint32_t c = 0; c < m->ncols; c++) {
            seg_cblock *cb = &m->blocks[(size_t)b * ncols + c];
            vg_type type = m->cols[c].type;
            uint64_t nv;
            uint8_t mm;
            if (!rd_u8(r, &cb->enc) || cb->enc > ENC_DICT)
                return BAD(fp, "encoding");
            if (cb->enc == ENC_NULL)
                continue;
            if (cb->enc == ENC_DICT && !vg_type_is_str(type))
                return BAD(fp, "dictionary on a non-string column");
            if (!rd_vi(r, &nv) || nv == 0 || nv > bn || !rd_blob(fp, &cb->data) || !rd_u8(r, &mm) ||
                mm > 1)
                return BAD(fp, "block descriptor");
            cb->nvalid = (uint32_t)nv;
            cb->has_minmax = mm;
            if (mm && vg_type_is_i64(type)) {
                if (!rd_svi(r, &cb->imin) || !rd_svi(r, &cb->imax))
                    return BAD(fp, "min/max");
            } else if (mm && type == VG_T_REAL) {
                uint64_t a, bb;
                if (!vg_read_u64le(r, &a) || !vg_read_u64le(r, &bb))
                    return BAD(fp, "min/max");
                memcpy(&cb->fmin, &a, 8);
                memcpy(&cb->fmax, &bb, 8);
            } else if (mm) {
                return BAD(fp, "min/max on this type");
            }
            if (vg_type_is_str(type)) {
                uint64_t bits;
                if (!rd_vi(r, &bits))
                    return BAD(fp, "bloom");
                if (bits) {
                    uint8_t k;
                    if (bits < 64 || bits > ST_BLOOM_MAX_BITS || (bits & (bits - 1)) ||
                        !rd_u8(r, &k) || k == 0 || k > 16 || !rd_blob(fp, &cb->bloom) ||
                        cb->bloom.codec != BLOB_RAW || cb->bloom.len != bits / 8)
                        return BAD(fp, "bloom");
                    cb->bloom_bits = (uint32_t)bits;
                    cb->bloom_k = k;
                }
                if (cb->enc == ENC_DICT) {
                    uint64_t nd;
                    if (!rd_vi(r, &nd) || nd == 0 || nd > ST_DICT_MAX || nd > nv ||
                        !rd_blob(fp, &cb->dict))
                        return BAD(fp, "dictionary");
                    cb->ndict = (uint32_t)nd;
                }
            }
        }
    }
    if (r->off != r->n)
        return BAD(fp, "trailing bytes");
    return VG_OK;
}

vg_err seg_meta_read(const seg_src *src, seg_meta **out, vg_diag *d)
{
    vg_buf a, b;
    vg_buf_init(&a, 0);
    vg_buf_init(&b, 0);
    seg_meta *m = calloc(1, sizeof *m);
    vg_err e = VG_OK;
    if (!m)
        return VG_ENOMEM;
    m->file_size = src->size;
    if (src->size < SEG_HDR + SEG_TRAILER) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: segment of %llu bytes is too short", src->path,
                        (unsigned long long)src->size);
        goto out;
    }
    if ((e = src_read(src, 0, SEG_HDR, &a, d)))
        goto out;
    const uint8_t *h = (const uint8_t *)a.p;
    if (memcmp(h, SEG_MAGIC, 8) || rd64(h + 24) != st_hash(h, 24) || h[8] != 1) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: bad segment header at offset 0", src->path);
        goto out;
    }
    uint64_t toff = src->size - SEG_TRAILER;
    if ((e = src_read(src, toff, SEG_TRAILER, &a, d)))
        goto out;
    const uint8_t *t = (const uint8_t *)a.p;
    if (memcmp(t + 40, SEG_TRAILER_MAGIC, 8) || rd64(t + 32) != st_hash(t, 32)) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: bad segment trailer at offset %llu", src->path,
                        (unsigned long long)toff);
        goto out;
    }
    seg_blob fb = { rd64(t), rd64(t + 8), rd64(t + 16), rd64(t + 24), BLOB_ZSTD };
    if (fb.raw_len == 0) {
        fb.codec = BLOB_RAW;
        fb.raw_len = fb.len;
    }
    if (fb.off < SEG_HDR || fb.off > toff || fb.len > toff - fb.off ||
        fb.raw_len > ST_MAX_FOOTER) {
        e = vg_diag_set(d, VG_ECORRUPT, "%s: bad footer location in trailer at offset %llu",
                        src->path, (unsigned long long)toff);
        goto out;
    }
    if ((e = seg_blob_read(src, &fb, &a, &b, d)))
        goto out;
    fparse fp = { vg_reader_make(b.p, b.n), src, d };
    e = parse_footer(&fp, m);
out:
    vg_buf_free(&a);
    vg_buf_free(&b);
    if (e) {
        seg_meta_free(m);
        return e;
    }
    *out = m;
    return VG_OK;
}

/* ---- block decoding ---- */

void seg_colbuf_free(seg_colbuf *cb)
{
    vg_buf_free(&cb->data);
    vg_buf_free(&cb->dict);
    vg_buf_free(&cb->tmp);
    free(cb->valid);
    free(cb->v.i64);
    free(cb->dictv);
    free(cb->codes);
    memset(cb, 0, sizeof *cb);
}

static bool colbuf_reserve(seg_colbuf *cb, uint32_t rows)
{
    if (rows <= cb->cap && cb->valid)
        return true;
    free(cb->valid);
    free(cb->v.i64);
    cb->valid = calloc(((size_t)rows + 63) / 64 + 1, 8);
    cb->v.s = malloc(((size_t)rows + 1) * sizeof(vg_str));
    cb->cap = cb->valid && cb->v.s ? rows : 0;
    return cb->cap == rows;
}

vg_err seg_dict_load(const seg_src *src, const seg_cblock *c, seg_colbuf *cb, vg_diag *d)
{
    vg_err e = seg_blob_read(src, &c->dict, &cb->tmp, &cb->dict, d);
    if (e)
        return e;
    if (c->ndict > cb->dict_cap) {
        free(cb->dictv);
        cb->dictv = malloc((size_t)c->ndict * sizeof *cb->dictv);
        cb->dict_cap = cb->dictv ? c->ndict : 0;
        if (!cb->dictv)
            return VG_ENOMEM;
    }
    vg_reader r = vg_reader_make(cb->dict.p, cb->dict.n);
    uint64_t tot = 0;
    for (uint32_t i = 0; i < c->ndict; i++) {
        uint64_t n;
        if (!vg_read_varint(&r, &n) || n > cb->dict.n)
            goto bad;
        cb->dictv[i].n = (size_t)n;
        tot += n;
    }
    if (tot != r.n - r.off)
        goto bad;
    const char *p = cb->dict.p + r.off;
    for (uint32_t i = 0; i < c->ndict; i++) {
        cb->dictv[i].p = p;
        p += cb->dictv[i].n;
    }
    return VG_OK;
bad:
    return vg_diag_set(d, VG_ECORRUPT, "%s: bad dictionary in block at offset %llu", src->path,
                       (unsigned long long)c->dict.off);
}

vg_err seg_block_decode(const seg_src *src, const seg_meta *m, uint32_t blk, uint32_t col,
                        seg_colbuf *cb, vg_diag *d)
{
    const seg_cblock *c = seg_cb(m, blk, col);
    vg_type type = m->cols[col].type;
    uint32_t n = seg_block_nrows(m, blk);
    if (!colbuf_reserve(cb, n))
        return vg_diag_set(d, VG_ENOMEM, "%s: out of memory", src->path);
    size_t words = ((size_t)n + 63) / 64;
    memset(cb->valid, 0, words * 8);
    cb->has_codes = false;
    if (c->enc == ENC_NULL)
        return VG_OK;
    vg_err e = seg_blob_read(src, &c->data, &cb->tmp, &cb->data, d);
    if (e)
        return e;
    if (c->enc == ENC_DICT && (e = seg_dict_load(src, c, cb, d)))
        return e;
    vg_reader r = vg_reader_make(cb->data.p, cb->data.n);
    const void *p;
    uint8_t vflag;
    if (!vg_read_bytes(&r, 1, &p))
        goto bad;
    vflag = *(const uint8_t *)p;
    if (vflag == 1) {
        if (c->nvalid != n)
            goto bad;
        memset(cb->valid, 0xff, (size_t)n / 64 * 8);
        if (n % 64)
            cb->valid[n / 64] = (1ull << (n % 64)) - 1;
    } else if (vflag == 2) {
        size_t nb = ((size_t)n + 7) / 8;
        if (!vg_read_bytes(&r, nb, &p))
            goto bad;
        memcpy(cb->valid, p, nb);
        if (n % 64)
            cb->valid[n / 64] &= (1ull << (n % 64)) - 1;
        uint32_t cnt = 0;
        for (size_t w = 0; w < words; w++)
            cnt += (uint32_t)__builtin_popcountll(cb->valid[w]);
        if (cnt != c->nvalid)
            goto bad;
    } else {
        goto bad;
    }
    uint32_t nv = c->nvalid;
    if (vg_type_is_i64(type)) {
        int64_t prev = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (!vg_bit_get(cb->valid, i)) {
                cb->v.i64[i] = 0;
                continue;
            }
            uint64_t z;
            if (!vg_read_varint(&r, &z))
                goto bad;
            prev = (int64_t)((uint64_t)prev + (uint64_t)((int64_t)(z >> 1) ^ -(int64_t)(z & 1)));
            cb->v.i64[i] = prev;
        }
    } else if (type == VG_T_REAL || type == VG_T_BOOL) {
        size_t w = type == VG_T_REAL ? 8 : 1;
        if (!vg_read_bytes(&r, (size_t)nv * w, &p))
            goto bad;
        const uint8_t *q = p;
        for (uint32_t i = 0; i < n; i++) {
            bool ok = vg_bit_get(cb->valid, i);
            if (w == 8) {
                double v = 0;
                if (ok) {
                    memcpy(&v, q, 8);
                    q += 8;
                }
                cb->v.f64[i] = v;
            } else {
                cb->v.b[i] = ok ? (*q++ != 0) : 0;
            }
        }
    } else if (c->enc == ENC_DICT) {
        uint8_t width;
        if (!vg_read_bytes(&r, 1, &p))
            goto bad;
        width = *(const uint8_t *)p;
        if ((width != 1 && width != 2) || !vg_read_bytes(&r, (size_t)nv * width, &p))
            goto bad;
        if (c->ndict < 0xFFFF && n > cb->codes_cap) {
            free(cb->codes);
            cb->codes = malloc((size_t)n * sizeof *cb->codes);
            cb->codes_cap = cb->codes ? n : 0;
        }
        bool codes = c->ndict < 0xFFFF && cb->codes;
        cb->has_codes = codes;
        cb->ndict = c->ndict;
        const uint8_t *q = p;
        if (vflag == 1 && width == 1) {
            /* every row valid, one-byte codes: the common case, as a tight loop */
            uint8_t mx = 0;
            for (uint32_t i = 0; i < n; i++)
                mx = q[i] > mx ? q[i] : mx;
            if (n && mx >= c->ndict)
                goto bad;
            if (!(codes && cb->codes_only))
                for (uint32_t i = 0; i < n; i++)
                    cb->v.s[i] = cb->dictv[q[i]];
            if (codes)
                for (uint32_t i = 0; i < n; i++)
                    cb->codes[i] = q[i];
            if (r.off != r.n)
                goto bad;
            return VG_OK;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (!vg_bit_get(cb->valid, i)) {
                cb->v.s[i] = VG_STR_NULL;
                if (codes)
                    cb->codes[i] = 0xFFFF;
                continue;
            }
            uint32_t code = q[0];
            if (width == 2)
                code |= (uint32_t)q[1] << 8;
            q += width;
            if (code >= c->ndict)
                goto bad;
            if (codes) {
                cb->codes[i] = (uint16_t)code;
                if (cb->codes_only)
                    continue;
            }
            cb->v.s[i] = cb->dictv[code];
        }
    } else {
        /* lengths first, then bytes: two cursors */
        vg_reader lr = r;
        uint64_t tot = 0;
        for (uint32_t i = 0; i < nv; i++) {
            uint64_t l;
            if (!vg_read_varint(&r, &l) || l > cb->data.n)
                goto bad;
            tot += l;
        }
        if (tot != r.n - r.off)
            goto bad;
        const char *bytes = cb->data.p + r.off;
        for (uint32_t i = 0; i < n; i++) {
            if (!vg_bit_get(cb->valid, i)) {
                cb->v.s[i] = VG_STR_NULL;
                continue;
            }
            uint64_t l;
            vg_read_varint(&lr, &l);
            cb->v.s[i] = (vg_str){ bytes, (size_t)l };
            bytes += l;
        }
        r.off = r.n;
    }
    if (r.off != r.n)
        goto bad;
    return VG_OK;
bad:
    return vg_diag_set(d, VG_ECORRUPT, "%s: bad column block (column %s, block %u) at offset %llu",
                       src->path, m->cols[col].name, blk, (unsigned long long)c->data.off);
}
