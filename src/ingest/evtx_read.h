/*
 * evtx_read.h - Vigil's own EVTX reader (private to src/ingest and its tests).
 *
 * Reads a whole .evtx image held in memory - file header, 64 KiB chunks,
 * records and their binary XML - straight into win_event values, which
 * win_map_event() then maps exactly as it maps the XML libevtx renders
 * (win_evtx.c, kept as the differential oracle of the tests). No I/O; all
 * memory comes from one caller-given arena with a byte cap, reset between
 * records. Every offset, length, nesting level and count is checked against
 * the limits below; a malformed record or chunk is reported (with the chunk,
 * record id and byte offset) and reading goes on with the next one.
 */
#ifndef VG_EVTX_READ_H
#define VG_EVTX_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "win_event.h"

/* Format constants. */
#define EVTX_FILE_HEADER_BLOCK 4096u  /* the file header occupies the first 4 KiB */
#define EVTX_CHUNK_SIZE 65536u        /* every chunk is 64 KiB */
#define EVTX_CHUNK_HEADER 512u        /* chunk header incl. string and template tables */
#define EVTX_RECORD_HEADER 24u        /* signature, size, record id, written time */

/* Limits (hitting one is a readable error, never a crash). */
#define EVTX_MAX_CHUNKS 65536u        /* chunks read from one file (4 GiB) */
#define EVTX_MAX_NEST 8               /* template instances / BinXml values nested in each other */
#define EVTX_MAX_DEPTH WIN_MAX_DEPTH  /* element nesting, the same limit as the XML path */
#define EVTX_MAX_SUBS 4096u           /* substitution values of one template instance */
#define EVTX_MAX_TEMPLATES 512u       /* template definitions cached per chunk */
#define EVTX_MAX_ATTRS 64u            /* attributes of one element */
#define EVTX_MAX_TOKENS (1u << 20)    /* binary XML tokens interpreted for one record */
#define EVTX_MAX_TEXT VG_INGEST_MAX_RECORD   /* bytes of text in one value or attribute */
#define EVTX_ARENA_CAP (8u * VG_INGEST_MAX_RECORD) /* default arena cap per record */

/*
 * Called once per record, in file order. ordinal is 1-based over the whole
 * file (a chunk that cannot be read at all takes one ordinal, and so does
 * the report of a dirty chunk, before its records). On success ev
 * is the decoded event (valid until the callback returns) and bad is NULL;
 * otherwise ev is NULL and bad says what was wrong and where. A non-OK
 * return stops the reader and is passed back.
 */
typedef vg_err (*evtx_record_fn)(void *ctx, uint64_t ordinal, win_event *ev, const char *bad,
                                 vg_diag *d);

typedef struct evtx_stats {
    uint32_t chunks, bad_chunks;   /* chunks with a signature; of them unreadable */
    uint32_t dirty_chunks;         /* of them read record by record (header checksum bad) */
    uint64_t records, bad_records; /* ordinals handed to the callback; of them bad */
    bool header_crc_bad;           /* the file header checksum did not match (read anyway) */
    uint32_t chunks_announced;     /* the file header's chunk count */
    uint32_t chunk_slots;          /* 64 KiB slots the image holds (a partial one counts) */
} evtx_stats;

/*
 * Reads every chunk and record of image. VG_ECORRUPT (with d) when the file
 * header is not an EVTX header (nothing read). The arena is reset before each
 * record; its cap bounds the memory of one record.
 */
vg_err evtx_read(vg_str image, vg_arena *a, evtx_record_fn fn, void *ctx, evtx_stats *st,
                 vg_diag *d);

/*
 * The whole-file decoder on top of evtx_read, with vg_decode_evtx_file's
 * semantics: one reject per unreadable record (line = ordinal, 1-based), a
 * file that cannot be read at all is one reject at line 0.
 */
vg_err win_decode_evtx_native(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                              vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                              vg_diag *d);

/*
 * The same, also handing back the EventRecordIDs of the events it read (in
 * *ids, malloc'ed, the caller frees it; NULL when none) and the ordinals it
 * used (records after them are numbered from *ordinals + 1). On an error
 * *ids is NULL.
 */
vg_err win_decode_evtx_native_ids(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                                  vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                                  uint64_t **ids, size_t *nids, uint64_t *ordinals, vg_diag *d);

#endif
