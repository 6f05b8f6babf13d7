/*
 * store_wal.c - the batch payload codec and the WAL record framing.
 *
 * A payload is one batch serialized column-wise with 8-byte aligned
 * sections, so that decoding it is nearly free: the in-memory tail chunk's
 * vectors point straight into the payload bytes (only string columns need a
 * vg_str array built from their offsets). The same payload, LZ4-compressed,
 * is the body of a WAL record; replay decodes it the same way. Layouts are
 * in docs/store.md.
 */
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "../schema/vg_schema.h"
#include "store_int.h"

#define PL_MAGIC 0x4c504756u   /* "VGPL" */
enum { SEC_VALID = 1, SEC_RAW = 2 };

static inline size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }
static inline size_t bm_words(uint32_t n) { return ((size_t)n + 63) / 64; }

static void put_pad(vg_buf *b)
{
    static const char z[8];
    size_t p = pad8(b->n) - b->n;
    if (p)
        vg_buf_put(b, z, p);
}

static void put_u16(vg_buf *b, uint16_t v)
{
    unsigned char t[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
    vg_buf_put(b, t, 2);
}

static void sec_header(vg_buf *out, vg_type type, unsigned flags, const char *name)
{
    size_t nl = strlen(name);
    vg_buf_putc(out, (char)type);
    vg_buf_putc(out, (char)flags);
    put_u16(out, (uint16_t)nl);
    vg_buf_put_u32le(out, 0);
    vg_buf_put(out, name, nl);
    put_pad(out);
}

static bool all_null(const uint64_t *valid, uint32_t n)
{
    size_t w = n / 64;
    for (size_t i = 0; i < w; i++)
        if (valid[i])
            return false;
    if (n % 64 && (valid[w] & ((1ull << (n % 64)) - 1)))
        return false;
    return true;
}

/* Appends the bitmap with bits past nrows cleared. */
static void put_bitmap(vg_buf *out, const uint64_t *valid, uint32_t n)
{
    size_t w = bm_words(n);
    size_t at = out->n;
    vg_buf_put(out, valid, w * 8);
    if (out->failed || !(n % 64))
        return;
    uint64_t last;
    memcpy(&last, out->p + at + (w - 1) * 8, 8);
    last &= (1ull << (n % 64)) - 1;
    memcpy(out->p + at + (w - 1) * 8, &last, 8);
}

static void put_strings(vg_buf *out, const vg_str *s, const uint64_t *valid, uint32_t n)
{
    size_t at = out->n;
    if (!vg_buf_reserve(out, ((size_t)n + 1) * 4 + 8))
        return;
    uint32_t *offs = (uint32_t *)(void *)(out->p + at);
    uint64_t tot = 0;
    offs[0] = 0;
    for (uint32_t r = 0; r < n; r++) {
        if (!valid || vg_bit_get(valid, r))
            tot += s[r].n;
        if (tot > UINT32_MAX) {
            out->failed = true;
            return;
        }
        offs[r + 1] = (uint32_t)tot;
    }
    out->n += ((size_t)n + 1) * 4;
    put_pad(out);
    if (!vg_buf_reserve(out, tot + 8))
        return;
    char *dst = out->p + out->n;
    for (uint32_t r = 0; r < n; r++) {
        if ((!valid || vg_bit_get(valid, r)) && s[r].n) {
            memcpy(dst, s[r].p, s[r].n);
            dst += s[r].n;
        }
    }
    out->n += tot;
    put_pad(out);
}

void wal_payload_encode(const vg_batch *b, vg_buf *out)
{
    const vg_table_def *t = b->table;
    uint32_t n = b->nrows;
    size_t tl = strlen(t->name);
    uint16_t nsec = 0;
    for (int c = 0; c < t->ncols; c++)
        nsec += b->cols[c].present;
    bool raw = false;
    if (b->has_raw)
        for (uint32_t r = 0; r < n && !raw; r++)
            raw = b->raw[r].n > 0;
    nsec += raw;
    /* size the buffer exactly: it becomes the tail chunk's memory */
    size_t need = 16 + pad8(tl) + 8;
    for (int c = 0; c < t->ncols; c++) {
        const vg_colvec *v = &b->cols[c];
        if (!v->present)
            continue;
        need += 8 + pad8(strlen(t->cols[c].name)) + bm_words(n) * 8;
        if (vg_type_is_str(v->type)) {
            size_t tot = 0;
            for (uint32_t r = 0; r < n; r++)
                if (vg_bit_get(v->valid, r))
                    tot += v->v.s[r].n;
            need += pad8(((size_t)n + 1) * 4) + pad8(tot) + 16;
        } else {
            need += pad8((size_t)n * 8);
        }
    }
    if (raw) {
        size_t tot = 0;
        for (uint32_t r = 0; r < n; r++)
            tot += b->raw[r].n;
        need += 8 + 8 + bm_words(n) * 8 + pad8(((size_t)n + 1) * 4) + pad8(tot) + 16;
    }
    if (out->cap < need + 1) {
        char *np = realloc(out->p, need + 1);
        if (!np) {
            out->failed = true;
            return;
        }
        out->p = np;
        out->cap = need + 1;
    }
    out->n = 0;
    vg_buf_put_u32le(out, PL_MAGIC);
    vg_buf_put_u32le(out, n);
    put_u16(out, nsec);
    put_u16(out, (uint16_t)tl);
    vg_buf_put_u32le(out, 0);
    vg_buf_put(out, t->name, tl);
    put_pad(out);
    for (int c = 0; c < t->ncols; c++) {
        const vg_colvec *v = &b->cols[c];
        if (!v->present)
            continue;
        if (all_null(v->valid, n)) {
            sec_header(out, v->type, 0, t->cols[c].name);
            continue;
        }
        sec_header(out, v->type, SEC_VALID, t->cols[c].name);
        put_bitmap(out, v->valid, n);
        if (vg_type_is_i64(v->type) || v->type == VG_T_REAL) {
            size_t at = out->n;
            vg_buf_put(out, v->v.i64, (size_t)n * 8);
            if (out->failed)
                return;
            /* null rows hold whatever the producer left: store zeros */
            uint64_t *dst = (uint64_t *)(void *)(out->p + at);
            for (uint32_t r = 0; r < n; r++)
                if (!vg_bit_get(v->valid, r))
                    dst[r] = 0;
        } else if (v->type == VG_T_BOOL) {
            size_t at = out->n;
            vg_buf_put(out, v->v.b, n);
            if (out->failed)
                return;
            for (uint32_t r = 0; r < n; r++)
                out->p[at + r] = vg_bit_get(v->valid, r) ? (out->p[at + r] != 0) : 0;
            put_pad(out);
        } else {
            put_strings(out, v->v.s, v->valid, n);
        }
    }
    if (raw) {
        sec_header(out, VG_T_STRING, SEC_VALID | SEC_RAW, ST_RAW_NAME);
        size_t at = out->n;
        if (!vg_buf_reserve(out, bm_words(n) * 8))
            return;
        memset(out->p + at, 0, bm_words(n) * 8);
        out->n += bm_words(n) * 8;
        uint64_t *bm = (uint64_t *)(void *)(out->p + at);
        for (uint32_t r = 0; r < n; r++)
            if (b->raw[r].n)
                vg_bit_set(bm, r);
        /* copy the bitmap: put_strings may move the buffer */
        uint64_t *copy = malloc(bm_words(n) * 8);
        if (!copy) {
            out->failed = true;
            return;
        }
        memcpy(copy, bm, bm_words(n) * 8);
        put_strings(out, b->raw, copy, n);
        free(copy);
    }
}

/* ---- decoding ---- */

void st_chunk_unref(st_chunk *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->b.cols)
        for (int i = 0; i < c->b.table->ncols; i++)
            if (c->b.cols[i].present && vg_type_is_str(c->b.cols[i].type))
                free(c->b.cols[i].v.s);
    free(c->b.cols);
    free(c->b.raw);
    free(c->strs);
    free(c->mem);
    free(c);
}

typedef struct prd {
    const uint8_t *p;
    size_t n, off;
} prd;

static bool take(prd *r, size_t n, const uint8_t **out)
{
    if (r->n - r->off < n)
        return false;
    *out = r->p + r->off;
    r->off += n;
    return true;
}
static bool align8(prd *r)
{
    size_t a = pad8(r->off);
    if (a > r->n)
        return false;
    r->off = a;
    return true;
}
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Reads a string section's offsets and bytes into vg_str values. */
static bool read_strings(prd *r, uint32_t n, vg_str *dst)
{
    const uint8_t *op, *bytes;
    if (!take(r, ((size_t)n + 1) * 4, &op) || !align8(r))
        return false;
    uint32_t total = rd32(op + (size_t)n * 4);
    if (rd32(op) != 0 || !take(r, total, &bytes) || !align8(r))
        return false;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t e = rd32(op + ((size_t)i + 1) * 4);
        if (e < prev || e > total)
            return false;
        dst[i] = (vg_str){ (const char *)bytes + prev, e - prev };
        prev = e;
    }
    return true;
}

vg_err wal_payload_decode(void *mem, size_t n, st_chunk **out, vg_diag *d)
{
    vg_err e = VG_OK;
    st_chunk *c = calloc(1, sizeof *c);
    if (!c) {
        free(mem);
        return VG_ENOMEM;
    }
    atomic_init(&c->refs, 1);
    c->mem = mem;
    c->bytes = n;
    c->min_ts = INT64_MAX;
    c->max_ts = INT64_MIN;
    prd r = { mem, n, 0 };
    const uint8_t *h;
    if (((uintptr_t)mem & 7) || !take(&r, 16, &h) || rd32(h) != PL_MAGIC) {
        e = vg_diag_set(d, VG_ECORRUPT, "payload: bad magic");
        goto out;
    }
    uint32_t nrows = rd32(h + 4);
    uint16_t nsec = rd16(h + 8), tl = rd16(h + 10);
    const uint8_t *tn;
    if (nrows > ST_MAX_ROWS || nsec > ST_MAX_COLS || tl > ST_MAX_NAME || !take(&r, tl, &tn) ||
        !align8(&r)) {
        e = vg_diag_set(d, VG_ECORRUPT, "payload: bad header at offset 0");
        goto out;
    }
    const vg_table_def *t = vg_schema_table(vg_str_make((const char *)tn, tl));
    if (!t) {
        e = vg_diag_set(d, VG_ENOTFOUND, "payload: unknown table '%.*s'", (int)tl, tn);
        goto out;
    }
    c->b.table = t;
    c->b.nrows = c->b.cap = nrows;
    c->b.cols = calloc(t->ncols ? t->ncols : 1, sizeof *c->b.cols);
    if (!c->b.cols) {
        e = VG_ENOMEM;
        goto out;
    }
    for (int i = 0; i < t->ncols; i++)
        c->b.cols[i].type = t->cols[i].type;
    for (uint16_t s = 0; s < nsec; s++) {
        const uint8_t *sh, *name;
        if (!take(&r, 8, &sh)) {
            e = vg_diag_set(d, VG_ECORRUPT, "payload: truncated section %u at offset %zu", s, r.off);
            goto out;
        }
        vg_type type = sh[0];
        unsigned flags = sh[1];
        uint16_t nl = rd16(sh + 2);
        if (type >= VG_T_COUNT_ || nl > ST_MAX_NAME || !take(&r, nl, &name) || !align8(&r)) {
            e = vg_diag_set(d, VG_ECORRUPT, "payload: bad section %u at offset %zu", s, r.off);
            goto out;
        }
        if (!(flags & SEC_VALID))
            continue;
        const uint8_t *bm;
        if (!take(&r, bm_words(nrows) * 8, &bm)) {
            e = vg_diag_set(d, VG_ECORRUPT, "payload: truncated bitmap at offset %zu", r.off);
            goto out;
        }
        int col = (flags & SEC_RAW) ? -2 : vg_schema_col(t, vg_str_make((const char *)name, nl));
        bool use = col == -2 || (col >= 0 && t->cols[col].type == type && !c->b.cols[col].present);
        if (col == -2 && (type != VG_T_STRING || c->b.has_raw))
            use = false, col = -1;
        vg_colvec *v = col >= 0 ? &c->b.cols[col] : NULL;
        if (use && v) {
            v->present = true;
            v->valid = (uint64_t *)(uintptr_t)bm;
        }
        const uint8_t *vals;
        if (vg_type_is_i64(type) || type == VG_T_REAL || type == VG_T_BOOL) {
            size_t sz = (type == VG_T_BOOL ? 1 : 8) * (size_t)nrows;
            if (!take(&r, sz, &vals) || !align8(&r)) {
                e = vg_diag_set(d, VG_ECORRUPT, "payload: truncated values at offset %zu", r.off);
                goto out;
            }
            if (use && v)
                v->v.i64 = (int64_t *)(uintptr_t)vals;
            continue;
        }
        /* strings */
        vg_str *dst;
        if (use) {
            if (col == -2) {
                c->b.raw = malloc(((size_t)nrows ? nrows : 1) * sizeof(vg_str));
                dst = c->b.raw;
            } else {
                dst = malloc(((size_t)nrows ? nrows : 1) * sizeof(vg_str));
                v->v.s = dst;
            }
            if (!dst) {
                e = VG_ENOMEM;
                goto out;
            }
            if (col == -2)
                c->b.has_raw = true;
        } else {
            dst = malloc(((size_t)nrows ? nrows : 1) * sizeof(vg_str));
            if (!dst) {
                e = VG_ENOMEM;
                goto out;
            }
        }
        bool ok = read_strings(&r, nrows, dst);
        if (!use)
            free(dst);
        if (!ok) {
            e = vg_diag_set(d, VG_ECORRUPT, "payload: bad string section at offset %zu", r.off);
            goto out;
        }
        if (col == -2 && use) {
            for (uint32_t i = 0; i < nrows; i++)
                if (!vg_bit_get((const uint64_t *)(uintptr_t)bm, i))
                    c->b.raw[i] = VG_STR_NULL;
        }
    }
    if (t->ts_col >= 0 && c->b.cols[t->ts_col].present) {
        const vg_colvec *v = &c->b.cols[t->ts_col];
        for (uint32_t i = 0; i < nrows; i++) {
            if (!vg_bit_get(v->valid, i))
                continue;
            if (v->v.i64[i] < c->min_ts)
                c->min_ts = v->v.i64[i];
            if (v->v.i64[i] > c->max_ts)
                c->max_ts = v->v.i64[i];
        }
    }
    c->bytes += (size_t)t->ncols * sizeof(vg_colvec) + sizeof *c;
out:
    if (e) {
        /* string arrays were malloc'ed per column: free them */
        if (c->b.cols && c->b.table)
            for (int i = 0; i < c->b.table->ncols; i++)
                if (c->b.cols[i].present && vg_type_is_str(c->b.cols[i].type))
                    free(c->b.cols[i].v.s);
        free(c->b.cols);
        free(c->b.raw);
        free(c->mem);
        free(c);
        return e;
    }
    *out = c;
    return VG_OK;
}

/* ---- WAL records ---- */

vg_err wal_enc_make(wal_enc *e, const vg_batch *b, vg_diag *d)
{
    wal_payload_encode(b, &e->payload);
    if (e->payload.failed)
        return vg_diag_set(d, VG_ENOMEM, "WAL: cannot encode a batch of %u rows of %s", b->nrows,
                           b->table->name);
    if (e->payload.n > (size_t)LZ4_MAX_INPUT_SIZE)
        return vg_diag_set(d, VG_ELIMIT, "WAL: batch of %zu bytes is too large", e->payload.n);
    int bound = LZ4_compressBound((int)e->payload.n);
    e->rec.n = 0;
    if (!vg_buf_reserve(&e->rec, WAL_REC_HDR + (size_t)bound))
        return VG_ENOMEM;
    /* acceleration 4: the WAL is short-lived, so speed matters more than ratio */
    int cl = LZ4_compress_fast(e->payload.p, e->rec.p + WAL_REC_HDR, (int)e->payload.n, bound,
                               WAL_LZ4_ACCEL);
    if (cl <= 0)
        return vg_diag_set(d, VG_EIO, "WAL: lz4 compression failed");
    memset(e->rec.p, 0, WAL_REC_HDR);
    e->rec.n = WAL_REC_HDR + (size_t)cl;
    return VG_OK;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

void wal_enc_set_lsn(wal_enc *e, uint64_t lsn, int64_t time)
{
    uint8_t *h = (uint8_t *)e->rec.p;
    size_t len = e->rec.n - WAL_REC_HDR;
    wr32(h, WAL_REC_MAGIC);
    wr32(h + 4, (uint32_t)len);
    wr32(h + 8, (uint32_t)e->payload.n);
    h[12] = WAL_CODEC_LZ4;
    h[13] = h[14] = h[15] = 0;
    wr64(h + 16, lsn);
    wr64(h + 24, (uint64_t)time);
    wr64(h + 32, st_hash(h + WAL_REC_HDR, len));
    wr64(h + 40, st_hash(h, 40));
}

void wal_file_header(uint8_t out[WAL_FILE_HDR], uint64_t seq)
{
    memcpy(out, WAL_FILE_MAGIC, 8);
    wr64(out + 8, seq);
    wr64(out + 16, st_hash(out, 16));
}

static bool header_ok(const uint8_t *p)
{
    return rd32(p) == WAL_REC_MAGIC && rd64(p + 40) == st_hash(p, 40);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

vg_err wal_buf_scan(const uint8_t *p, size_t n, wal_item_fn fn, void *ctx, vg_diag *d)
{
    if (n < WAL_FILE_HDR || memcmp(p, WAL_FILE_MAGIC, 8) != 0 ||
        rd64(p + 16) != st_hash(p, 16))
        return vg_diag_set(d, VG_ECORRUPT, "bad WAL file header at offset 0");
    size_t off = WAL_FILE_HDR;
    while (off < n) {
        wal_item it = { 0 };
        it.off = off;
        size_t left = n - off;
        if (left < WAL_REC_HDR || !header_ok(p + off)) {
            if (left < WAL_REC_HDR || all_zero(p + off, left)) {
                it.ev = WAL_EV_TORN;
                it.len = left;
                it.why = "partial record at the end of the file";
                return fn(ctx, &it, d);
            }
            /* damaged header: resynchronize on the next valid one */
            size_t j = off + 1;
            while (j + WAL_REC_HDR <= n && !header_ok(p + j))
                j++;
            if (j + WAL_REC_HDR > n) {
                it.ev = WAL_EV_TORN;
                it.len = left;
                it.why = "damaged record header at the end of the file";
                return fn(ctx, &it, d);
            }
            it.ev = WAL_EV_BAD;
            it.len = j - off;
            it.why = "damaged record header";
            vg_err e = fn(ctx, &it, d);
            if (e)
                return e;
            off = j;
            continue;
        }
        const uint8_t *h = p + off;
        uint32_t len = rd32(h + 4), raw_len = rd32(h + 8);
        if (len > left - WAL_REC_HDR) {
            it.ev = WAL_EV_TORN;
            it.len = left;
            it.why = "record extends past the end of the file";
            return fn(ctx, &it, d);
        }
        it.len = WAL_REC_HDR + (size_t)len;
        it.lsn = rd64(h + 16);
        it.time = (int64_t)rd64(h + 24);
        const uint8_t *body = h + WAL_REC_HDR;
        if (rd64(h + 32) != st_hash(body, len)) {
            it.ev = WAL_EV_BAD;
            it.why = "record checksum mismatch";
        } else if (raw_len > ST_MAX_PAYLOAD || (h[12] != WAL_CODEC_LZ4 && h[12] != WAL_CODEC_NONE) ||
                   len > (uint32_t)LZ4_MAX_INPUT_SIZE) {
            it.ev = WAL_EV_BAD;
            it.why = "record has a bad length or codec";
        } else {
            void *buf = malloc(raw_len ? raw_len : 1);
            if (!buf)
                return vg_diag_set(d, VG_ENOMEM, "WAL: out of memory for a %u byte record",
                                   raw_len);
            int got;
            if (h[12] == WAL_CODEC_NONE) {
                got = len == raw_len ? (int)len : -1;
                if (got >= 0)
                    memcpy(buf, body, len);
            } else {
                got = LZ4_decompress_safe((const char *)body, buf, (int)len, (int)raw_len);
            }
            if (got < 0 || (uint32_t)got != raw_len) {
                free(buf);
                it.ev = WAL_EV_BAD;
                it.why = "record does not decompress";
            } else {
                it.ev = WAL_EV_RECORD;
                it.payload = buf;
                it.payload_len = raw_len;
            }
        }
        vg_err e = fn(ctx, &it, d);
        free(it.payload);   /* NULL when the callee took it */
        if (e)
            return e;
        off += it.len;
    }
    return VG_OK;
}
