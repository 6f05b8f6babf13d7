/*
 * srv_body.c - the body pipeline of POST /api/v1/ingest, free of any I/O:
 * Content-Encoding decoding (gzip and zlib through zlib, zstd through
 * libzstd) with a hard cap on the decoded size, then vg_ingest_buffer into
 * the caller's batch set with every bad record recorded (line, reason,
 * record) for the response and the dead-letter area.
 *
 * The route handler (srv_ingest.c) and the fuzz target
 * (tests/fuzz/fuzz_ingest_body.c) both call vg_ingest_body, so the fuzzer
 * exercises exactly what the network can reach.
 *
 * Bounds: the decoded text never exceeds max_out bytes (a decompression bomb
 * stops at the cap with VG_ELIMIT); zstd windows are limited to 2^27 bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>
#include <zstd.h>

#include "vg_srv_int.h"

#define BODY_CHUNK (256u * 1024)     /* output growth step while inflating */
#define ZSTD_WINDOW_LOG_MAX 27

vg_err vg_encoding_parse(const char *value, vg_encoding *out)
{
    if (!value || !*value || strcasecmp(value, "identity") == 0) {
        *out = VG_ENC_IDENTITY;
        return VG_OK;
    }
    if (strcasecmp(value, "gzip") == 0 || strcasecmp(value, "x-gzip") == 0) {
        *out = VG_ENC_GZIP;
        return VG_OK;
    }
    if (strcasecmp(value, "deflate") == 0) {
        *out = VG_ENC_DEFLATE;
        return VG_OK;
    }
    if (strcasecmp(value, "zstd") == 0) {
        *out = VG_ENC_ZSTD;
        return VG_OK;
    }
    return VG_EUNSUPPORTED;
}

/*
 * Makes room in out for more output; the decoders may write max_out + 1
 * bytes so that "exactly max_out" and "more than max_out" can be told apart.
 * Returns the room (0 with *e set when at the cap or out of memory).
 */
static size_t room_for(vg_buf *out, size_t max_out, vg_err *e)
{
    size_t hard = max_out + 1;
    if (out->n >= hard) {
        *e = VG_ELIMIT;
        return 0;
    }
    if (out->cap <= out->n + 1) {
        size_t want = out->n < BODY_CHUNK ? BODY_CHUNK : out->n;   /* geometric */
        if (want > hard - out->n)
            want = hard - out->n;
        if (!vg_buf_reserve(out, want)) {
            *e = VG_ENOMEM;
            return 0;
        }
    }
    size_t room = out->cap - out->n - 1;   /* keep a byte for vg_buf's NUL */
    if (room > hard - out->n)
        room = hard - out->n;
    return room;
}

static vg_err limit_or_oom(vg_err e, size_t max_out, vg_diag *d)
{
    if (e == VG_ELIMIT)
        return vg_diag_set(d, e, "decoded body larger than %zu bytes", max_out);
    return vg_diag_set(d, e, "out of memory decoding the body");
}

static vg_err inflate_body(vg_str in, size_t max_out, int window_bits, vg_buf *out, vg_diag *d)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, window_bits) != Z_OK)
        return vg_diag_set(d, VG_ENOMEM, "cannot start zlib");
    vg_err e = VG_OK;
    zs.next_in = (Bytef *)(uintptr_t)in.p;
    size_t left = in.n;
    for (;;) {
        if (zs.avail_in == 0 && left) {
            uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.avail_in = take;
            left -= take;
        }
        size_t room = room_for(out, max_out, &e);
        if (!room) {
            e = limit_or_oom(e, max_out, d);
            break;
        }
        zs.next_out = (Bytef *)out->p + out->n;
        zs.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uInt before = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        out->n += before - zs.avail_out;
        bool no_input = zs.avail_in == 0 && left == 0;
        if (rc == Z_STREAM_END) {
            if (no_input)
                break;
            /* concatenated gzip members */
            if (inflateReset(&zs) != Z_OK) {
                e = vg_diag_set(d, VG_EPARSE, "bad compressed body: cannot restart member");
                break;
            }
            continue;
        }
        if (rc == Z_OK || rc == Z_BUF_ERROR) {
            if (no_input && zs.avail_out != 0) {
                e = vg_diag_set(d, VG_EPARSE, "bad compressed body: truncated stream");
                break;
            }
            continue;
        }
        e = vg_diag_set(d, rc == Z_MEM_ERROR ? VG_ENOMEM : VG_EPARSE, "bad compressed body: %s",
                        zs.msg ? zs.msg : "invalid data");
        break;
    }
    if (e == VG_OK && out->n > max_out)
        e = limit_or_oom(VG_ELIMIT, max_out, d);
    inflateEnd(&zs);
    return e;
}

static vg_err zstd_body(vg_str in, size_t max_out, vg_buf *out, vg_diag *d)
{
    ZSTD_DCtx *z = ZSTD_createDCtx();
    if (!z)
        return vg_diag_set(d, VG_ENOMEM, "cannot start zstd");
    vg_err e = VG_OK;
    ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX);
    ZSTD_inBuffer ib = { in.p, in.n, 0 };
    size_t last = 1;   /* nonzero: the current frame is not complete */
    for (;;) {
        if (ib.pos == ib.size && last == 0)
            break;
        size_t room = room_for(out, max_out, &e);
        if (!room) {
            e = limit_or_oom(e, max_out, d);
            break;
        }
        ZSTD_outBuffer ob = { out->p + out->n, room, 0 };
        last = ZSTD_decompressStream(z, &ob, &ib);
        out->n += ob.pos;
        if (ZSTD_isError(last)) {
            e = vg_diag_set(d, VG_EPARSE, "bad compressed body: %s", ZSTD_getErrorName(last));
            break;
        }
        /* all input used, output not full (so flushed), frame unfinished */
        if (ib.pos == ib.size && ob.pos < ob.size && last != 0) {
            e = vg_diag_set(d, VG_EPARSE, "bad compressed body: truncated zstd frame");
            break;
        }
    }
    if (e == VG_OK && out->n > max_out)
        e = limit_or_oom(VG_ELIMIT, max_out, d);
    ZSTD_freeDCtx(z);
    return e;
}

vg_err vg_body_decode(vg_encoding enc, vg_str in, size_t max_out, vg_buf *out, vg_str *view,
                      vg_diag *d)
{
    vg_err e;
    switch (enc) {
    case VG_ENC_IDENTITY:
        if (in.n > max_out)
            return vg_diag_set(d, VG_ELIMIT, "body larger than %zu bytes", max_out);
        *view = in;
        return VG_OK;
    case VG_ENC_GZIP:
        e = inflate_body(in, max_out, 15 + 32, out, d);
        break;
    case VG_ENC_DEFLATE:
        /* HTTP "deflate" is zlib framing; some clients send raw deflate */
        e = inflate_body(in, max_out, 15 + 32, out, d);
        if (e == VG_EPARSE && out->n == 0) {
            vg_buf_clear(out);
            e = inflate_body(in, max_out, -15, out, d);
        }
        break;
    case VG_ENC_ZSTD:
        e = zstd_body(in, max_out, out, d);
        break;
    default:
        return vg_diag_set(d, VG_EUNSUPPORTED, "unknown content encoding");
    }
    if (e)
        return e;
    *view = vg_str_make(out->p, out->n);
    return VG_OK;
}

/* ---- rejects ---- */

/* A bounded label for a reject reason (metrics must not carry free text). */
vg_reject_reason vg_reject_classify(vg_str reason)
{
    if (vg_str_starts_ci(reason, VG_STR_LIT("column ")))
        return VG_RR_TYPE;
    if (vg_str_find_ci(reason, VG_STR_LIT("longer than")) >= 0 ||
        vg_str_find_ci(reason, VG_STR_LIT("too large")) >= 0 ||
        vg_str_find_ci(reason, VG_STR_LIT("more than")) >= 0 ||
        vg_str_find_ci(reason, VG_STR_LIT("deeper than")) >= 0)
        return VG_RR_LIMIT;
    if (vg_str_find_ci(reason, VG_STR_LIT("JSON")) >= 0)
        return VG_RR_JSON;
    if (vg_str_find_ci(reason, VG_STR_LIT("table")) >= 0)
        return VG_RR_TABLE;
    return VG_RR_OTHER;
}


void vg_rejects_init(vg_rejects *r)
{
    memset(r, 0, sizeof *r);
    vg_arena_init(&r->arena, 64 * 1024, 0);
}

void vg_rejects_free(vg_rejects *r)
{
    free(r->v);
    vg_arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    vg_rejects *r = ctx;
    if (r->failed)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        vg_reject *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->failed = true;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    vg_reject *x = &r->v[r->n];
    x->line = line;
    x->kind = vg_reject_classify(reason);
    x->reason = vg_str_dup(&r->arena, reason);
    /* decoders usually hand out slices of the body; anything else is copied */
    bool inside = record.p && r->body.p && record.p >= r->body.p &&
                  record.p + record.n <= r->body.p + r->body.n;
    x->record = inside || !record.n ? record : vg_str_dup(&r->arena, record);
    if ((reason.n && !x->reason.p) || (record.n && !x->record.p)) {
        r->failed = true;
        return;
    }
    r->n++;
}

vg_err vg_ingest_body(vg_encoding enc, vg_str body, size_t max_decoded,
                      const vg_ingest_opts *opts, vg_batchset *set, vg_buf *decoded,
                      vg_rejects *rej, vg_ingest_result *res, vg_diag *d)
{
    memset(res, 0, sizeof *res);
    vg_str text;
    vg_err e = vg_body_decode(enc, body, max_decoded, decoded, &text, d);
    if (e)
        return e;
    if (text.n == 0 || !text.p)
        return VG_OK;
    rej->body = text;
    e = vg_ingest_buffer(set, opts, text, on_reject, rej, res, d);
    if (e == VG_OK && rej->failed)
        e = vg_diag_set(d, VG_ENOMEM, "out of memory recording rejected records");
    return e;
}
