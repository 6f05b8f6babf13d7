/*
 * evtx_read.c - Vigil's own EVTX reader, file half: the file header, the
 * 64 KiB chunks and the records in them (the binary XML of each record is
 * evtx_read_binxml.c's), and win_decode_evtx_native, the decoder that
 * vg_decode_evtx_file uses: events go through win_map_event like every other
 * source form, unreadable records become rejects.
 *
 * Format facts relied on (all integers little-endian):
 *  - File header (first 4 KiB): "ElfFile\0"; header size 128 at 32; version
 *    3.x at 36 (minor) and 38 (major); block size 4096 at 40; chunk count at
 *    42; CRC32 of bytes 0..119 at 124. Chunks follow back to back, 64 KiB
 *    each; all of them are read to the end of the file (the count may lag
 *    behind in a file that was not closed cleanly: every slot that starts
 *    with "ElfChnk" is read, a non-zero slot without it is one report),
 *    unused slots are zero-filled, and a count above the slots present
 *    means a truncated file.
 *  - Chunk header (512 bytes): "ElfChnk\0"; free-space offset at 48 (records
 *    occupy 512..free); CRC32 of the records at 52; CRC32 of bytes 0..119 and
 *    128..511 at 124; string and template tables at 128 and 384 (not needed:
 *    names and templates are reached by offset).
 *  - Record: 0x00002a2a, size u32, record id u64, written FILETIME, binary
 *    XML, size again (the last 4 bytes).
 * What goes wrong is reported and reading goes on: a chunk whose header
 * checksum does not match (a "dirty" chunk: Windows leaves the last chunk's
 * header stale while the log is open, its free-space offset and checksums
 * not yet updated) is reported once and its records are still read one by
 * one, each validated on its own (signature, size, size copy, bounds, binary
 * XML); past its announced free-space offset the walk goes on only while the
 * next record id follows. The chunk's report takes an ordinal of its own and
 * is a reject like any other (its rows still load), so accepted + rejected ==
 * records holds in vg_ingest_buffer. A chunk with a good header checksum but
 * a free-space offset outside the chunk is one report and is skipped. A bad
 * record checksum is noted in the report of every record of that chunk that
 * fails (those that parse still load, so one damaged record does not cost its
 * neighbours); a bad record is one report naming chunk, record id and file
 * offset; a broken record signature or size ends its chunk (the next record
 * cannot be found).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "evtx_read_int.h"

/* ---- file and chunks ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static vg_err report(rd *r, evtx_record_fn fn, void *ctx, evtx_stats *st, win_event *ev,
                     const char *msg, vg_diag *d)
{
    st->records++;
    if (!ev)
        st->bad_records++;
    return fn(ctx, st->records, ev, msg, d);
}

static vg_err read_chunk(rd *r, evtx_record_fn fn, void *ctx, evtx_stats *st, vg_diag *d)
{
    const uint8_t *c = r->c;
    vg_diag rd_ = { "" };
    r->d = &rd_;
    r->ntmpl = 0;
    r->record_id = 0;
    uLong crc = crc32(0L, c, 120);
    crc = crc32(crc, c + 128, EVTX_CHUNK_HEADER - 128);
    uint32_t free_off = rd32(c + 48);
    bool free_ok = free_off >= EVTX_CHUNK_HEADER && free_off <= EVTX_CHUNK_SIZE;
    bool dirty = (uint32_t)crc != rd32(c + 124);
    vg_err e = VG_OK;
    if (!dirty && !free_ok) {
        /* a header that checks out but makes no sense: nothing to go by */
        st->bad_chunks++;
        char m[VG_DIAG_MAX + 128];
        snprintf(m, sizeof m, "chunk %" PRIu32 " (file offset %" PRIu64 "): free-space offset "
                 "outside the chunk; its records are skipped", r->chunk_no, r->chunk_off);
        return report(r, fn, ctx, st, NULL, m, d);
    }
    /*
     * A dirty chunk (stale header: Windows had the log open) is walked record
     * by record, each validated on its own. Its free-space offset may lag
     * behind the records written since, so the walk goes on past it, to the
     * end of the chunk, as long as what follows is the next record (its
     * signature and the next record id); anything else there is free space.
     */
    uint32_t used = free_ok ? free_off : EVTX_CHUNK_HEADER;
    uint32_t limit = dirty ? EVTX_CHUNK_SIZE : free_off;
    const char *crc_note = "";
    if (dirty) {
        st->dirty_chunks++;
        r->records_crc_bad = false;
        char m[VG_DIAG_MAX + 128];
        snprintf(m, sizeof m, "chunk %" PRIu32 " (file offset %" PRIu64 "): header checksum "
                 "does not match; its records were read one by one", r->chunk_no, r->chunk_off);
        e = report(r, fn, ctx, st, NULL, m, d);
    } else {
        r->records_crc_bad = (uint32_t)crc32(0L, c + EVTX_CHUNK_HEADER,
                                             free_off - EVTX_CHUNK_HEADER) != rd32(c + 52);
        if (r->records_crc_bad)
            crc_note = " (the chunk's record checksum does not match)";
    }
    uint32_t off = EVTX_CHUNK_HEADER;
    uint64_t prev_id = 0;
    while (off < limit && !e) {
        win_event ev;
        char m[VG_DIAG_MAX + 128];
        vg_err re = VG_OK;
        bool stop = false;
        r->record_id = 0;
        if (off >= used) {
            /* past the announced used space of a dirty chunk: only a record that
             * continues the sequence is taken, the rest is free space */
            if (limit - off < EVTX_RECORD_HEADER + 4 || rd32(c + off) != 0x00002a2a ||
                (prev_id && rd64(c + off + 8) != prev_id + 1))
                break;
        }
        uint32_t size = limit - off >= 8 ? rd32(c + off + 4) : 0;
        if (limit - off < EVTX_RECORD_HEADER + 4) {
            re = evtx_bad(r, VG_ECORRUPT, off, "%" PRIu32 " stray bytes after the last record",
                     limit - off);
            stop = true;
        } else if (rd32(c + off) != 0x00002a2a) {
            re = evtx_bad(r, VG_ECORRUPT, off, "no record signature");
            stop = true;
        } else if (size < EVTX_RECORD_HEADER + 4 || size > limit - off) {
            r->record_id = rd64(c + off + 8);
            re = evtx_bad(r, VG_ECORRUPT, off, "record size %" PRIu32 " runs past the %s",
                     size, dirty ? "chunk" : "used space");
            stop = true;
        } else {
            r->record_id = prev_id = rd64(c + off + 8);
            if (rd32(c + off + size - 4) != size)
                re = evtx_bad(r, VG_ECORRUPT, off + size - 4, "record size copy does not match");
            else
                re = evtx_decode_record(r, off + EVTX_RECORD_HEADER, off + size - 4, &ev);
        }
        if (re) {
            snprintf(m, sizeof m, "%s%s", rd_.msg, crc_note);
            e = report(r, fn, ctx, st, NULL, m, d);
        } else {
            e = report(r, fn, ctx, st, &ev, NULL, d);
        }
        if (stop)
            break;
        off += size;
    }
    return e;
}

vg_err evtx_read(vg_str image, vg_arena *a, evtx_record_fn fn, void *ctx, evtx_stats *st,
                 vg_diag *d)
{
    const uint8_t *f = (const uint8_t *)image.p;
    *st = (evtx_stats){ 0 };
    if (image.n < EVTX_FILE_HEADER_BLOCK || memcmp(f, "ElfFile", 8) != 0)
        return vg_diag_set(d, VG_ECORRUPT, "not an EVTX file (no ElfFile header)");
    if (rd16(f + 38) != 3 || rd16(f + 40) != EVTX_FILE_HEADER_BLOCK)
        return vg_diag_set(d, VG_ECORRUPT,
                           "EVTX file header: version %u.%u, header block %u bytes (want 3.x, "
                           "4096)",
                           (unsigned)rd16(f + 38), (unsigned)rd16(f + 36), (unsigned)rd16(f + 40));
    st->header_crc_bad = (uint32_t)crc32(0L, f, 120) != rd32(f + 124);
    st->chunks_announced = rd16(f + 42);
    rd rs;   /* on the stack: the arena is reset before every record */
    memset(&rs, 0, sizeof rs);
    rd *r = &rs;
    r->a = a;
    size_t nchunks = (image.n - EVTX_FILE_HEADER_BLOCK) / EVTX_CHUNK_SIZE;
    size_t tail = (image.n - EVTX_FILE_HEADER_BLOCK) % EVTX_CHUNK_SIZE;
    size_t slots = nchunks + (tail != 0);
    st->chunk_slots = slots > UINT32_MAX ? UINT32_MAX : (uint32_t)slots;
    vg_err e = VG_OK;
    for (size_t i = 0; i <= nchunks && !e; i++) {
        uint64_t base = EVTX_FILE_HEADER_BLOCK + (uint64_t)i * EVTX_CHUNK_SIZE;
        const uint8_t *c = f + base;
        size_t have = i < nchunks ? EVTX_CHUNK_SIZE : tail;
        if (have == 0)
            break;
        if (have < 8 || memcmp(c, "ElfChnk", 8) != 0) {
            if (all_zero(c, have))
                continue;   /* an unused, preallocated chunk */
        }
        r->chunk_no = (uint32_t)i;
        r->chunk_off = base;
        if (i >= EVTX_MAX_CHUNKS) {
            char m[VG_DIAG_MAX + 128];
            snprintf(m, sizeof m, "EVTX file: more than %u chunks, the rest is not read",
                     EVTX_MAX_CHUNKS);
            st->bad_chunks++;
            e = report(r, fn, ctx, st, NULL, m, d);
            break;
        }
        st->chunks++;
        if (have < EVTX_CHUNK_SIZE || memcmp(c, "ElfChnk", 8) != 0) {
            char m[VG_DIAG_MAX + 128];
            snprintf(m, sizeof m, "chunk %zu (file offset %" PRIu64 "): %s; its records are "
                     "skipped", i, base, have < EVTX_CHUNK_SIZE ? "truncated" : "no ElfChnk signature");
            st->bad_chunks++;
            e = report(r, fn, ctx, st, NULL, m, d);
            continue;
        }
        r->c = c;
        e = read_chunk(r, fn, ctx, st, d);
    }
    return e;
}

/* ---- the decoder on top ---- */

typedef struct native_run {
    vg_batchset *set;
    const vg_ingest_opts *o;
    vg_reject_fn reject;
    void *rctx;
    vg_ingest_result *res;
    uint64_t *ids;        /* EventRecordIDs of the events read, when asked for */
    size_t nids, cap;
    bool want_ids;
} native_run;

/* Parses a decimal EventRecordID; false when it is not one. */
static bool parse_id(vg_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.n == 0 || s.n > 20)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned dg = (unsigned char)s.p[i] - '0';
        if (dg > 9 || v > (UINT64_MAX - dg) / 10)
            return false;
        v = v * 10 + dg;
    }
    *out = v;
    return true;
}

static vg_err keep_id(native_run *run, const win_event *ev, vg_diag *d)
{
    uint64_t id;
    if (!run->want_ids || !parse_id(ev->record_id, &id))
        return VG_OK;
    if (run->nids == run->cap) {
        size_t cap = run->cap ? 2 * run->cap : 256;
        uint64_t *p = realloc(run->ids, cap * sizeof *p);
        if (!p)
            return vg_diag_set(d, VG_ENOMEM, "out of memory for %zu record ids", cap);
        run->ids = p;
        run->cap = cap;
    }
    run->ids[run->nids++] = id;
    return VG_OK;
}

static void reject_line(native_run *run, uint64_t line, const char *msg)
{
    run->res->rejected++;
    if (run->reject)
        run->reject(run->rctx, line, vg_str_c(msg), VG_STR_NULL);
}

static vg_err on_record(void *ctx, uint64_t ordinal, win_event *ev, const char *badmsg,
                        vg_diag *d)
{
    native_run *run = ctx;
    char m[VG_DIAG_MAX + 128];
    run->res->records++;
    if (!ev) {
        snprintf(m, sizeof m, "record %" PRIu64 ": %s", ordinal, badmsg);
        reject_line(run, ordinal, m);
        return VG_OK;
    }
    vg_diag rd_ = { "" };
    vg_err e = keep_id(run, ev, &rd_);
    if (!e)
        e = win_map_event(run->set, run->o, ev, &rd_);
    if (!e) {
        run->res->accepted++;
        return VG_OK;
    }
    if (e == VG_ENOMEM || e == VG_EIO) {
        if (d)
            memcpy(d->msg, rd_.msg, sizeof d->msg);
        return e;
    }
    snprintf(m, sizeof m, "record %" PRIu64 ": %s", ordinal, rd_.msg);
    reject_line(run, ordinal, m);
    return VG_OK;
}

vg_err win_decode_evtx_native(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                              vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                              vg_diag *d)
{
    return win_decode_evtx_native_ids(set, o, file, reject, reject_ctx, res, NULL, NULL, NULL, d);
}

vg_err win_decode_evtx_native_ids(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                                  vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                                  uint64_t **ids, size_t *nids, uint64_t *ordinals, vg_diag *d)
{
    native_run run = { .set = set, .o = o, .reject = reject, .rctx = reject_ctx, .res = res,
                       .want_ids = ids != NULL };
    vg_arena a;
    vg_arena_init(&a, 65536, EVTX_ARENA_CAP);
    evtx_stats st;
    vg_diag rd_ = { "" };
    vg_err e = evtx_read(file, &a, on_record, &run, &st, &rd_);
    if (e == VG_ECORRUPT) {
        /* the file header itself: nothing could be read */
        res->records++;
        reject_line(&run, 0, rd_.msg);
        e = VG_OK;
    } else if (e) {
        if (d)
            memcpy(d->msg, rd_.msg, sizeof d->msg);
    } else {
        if (st.header_crc_bad) {
            res->records++;
            reject_line(&run, 0, "EVTX file header checksum does not match (its chunks were "
                                 "read anyway)");
        }
        if (st.chunks_announced > st.chunk_slots) {
            char m[128];
            snprintf(m, sizeof m, "EVTX file truncated: its header announces %" PRIu32
                     " chunks, the file holds %" PRIu32, st.chunks_announced, st.chunk_slots);
            res->records++;
            reject_line(&run, 0, m);
        }
    }
    vg_arena_free(&a);
    if (ordinals)
        *ordinals = e ? 0 : st.records;
    if (ids && !e) {
        *ids = run.ids;
        *nids = run.nids;
    } else {
        free(run.ids);
        if (ids) {
            *ids = NULL;
            *nids = 0;
        }
    }
    return e;
}
