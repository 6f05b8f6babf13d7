/*
 * vg_ingest.h - from bytes in a source format to batches of normalized rows.
 *
 * A decoder turns one record (an NDJSON line, an evtx JSON document, an EVTX
 * event) into one row of some table, appended to the right batch of a
 * vg_batchset. Full batches go to a sink (the store, a test, a benchmark).
 * A record that cannot be decoded is reported through the reject callback
 * with its line and reason and never stops the records after it.
 *
 * Decoders live in a registry table (vg_decoders) of {name, doc, fn}.
 */
#ifndef VG_INGEST_H
#define VG_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "../batch/vg_batch.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"

/* Limits on input. */
#define VG_INGEST_MAX_RECORD (4u << 20)   /* bytes in one record (line) */

/* ---- batch sets: one open batch per table ---- */

typedef vg_err (*vg_sink_fn)(void *ctx, vg_batch *b, vg_diag *d);

typedef struct vg_batchset {
    vg_batch *by_table;     /* indexed by table id; table==NULL when unused */
    uint32_t rows;          /* per batch capacity */
    vg_sink_fn sink;        /* receives full batches (and the rest on flush) */
    void *sink_ctx;
    uint64_t rows_added;
    void *native_cache;     /* the native decoder's key-order cache (owned) */
} vg_batchset;

vg_err vg_batchset_init(vg_batchset *s, uint32_t rows, vg_sink_fn sink, void *ctx);
void vg_batchset_free(vg_batchset *s);
/*
 * A new all-null row in table t's batch; when that batch is full it goes to
 * the sink first. *b and *row say where to write.
 */
vg_err vg_batchset_row(vg_batchset *s, const vg_table_def *t, vg_batch **b, uint32_t *row,
                       vg_diag *d);
/* Sends every non-empty batch to the sink. */
vg_err vg_batchset_flush(vg_batchset *s, vg_diag *d);

/* ---- decoders ---- */

typedef enum vg_format {
    VG_FMT_AUTO,
    VG_FMT_NDJSON,       /* native: Defender columns, table from option or "Table" */
    VG_FMT_EVTX,         /* Windows .evtx files */
    VG_FMT_EVTX_JSON,    /* evtx JSON convention: Event.System, Event.EventData */
    VG_FMT_WINLOGBEAT,   /* Winlogbeat / ECS: winlog.event_id, winlog.event_data */
    VG_FMT_COUNT_
} vg_format;

const char *vg_format_name(vg_format f);
/* "auto", "ndjson", ... ; VG_EINVAL when unknown. */
vg_err vg_format_parse(const char *name, vg_format *out);

/* Options for one ingest run. */
typedef struct vg_ingest_opts {
    vg_format format;
    const vg_table_def *table;   /* default table for native NDJSON, or NULL */
    bool keep_raw;               /* keep unknown/source fields as the raw record (default true) */
    bool evtx_recover;           /* .evtx: also load deleted records libevtx recovers from free
                                    space (default false; see win_evtx.c) */
} vg_ingest_opts;

/* A rejected record: where and why. */
typedef void (*vg_reject_fn)(void *ctx, uint64_t line, vg_str reason, vg_str record);

typedef struct vg_ingest_result {
    uint64_t records;    /* records seen */
    uint64_t accepted;   /* rows produced */
    uint64_t rejected;
} vg_ingest_result;

/*
 * Decodes one JSON record (already isolated: one NDJSON line or one
 * document) in the given format into set. VG_EPARSE/VG_ETYPE with d on a bad
 * record (nothing of it is kept).
 */
typedef vg_err (*vg_decode_record_fn)(vg_batchset *set, const vg_ingest_opts *o, vg_str rec,
                                      vg_diag *d);

typedef struct vg_decoder {
    vg_format format;
    const char *name;
    const char *doc;
    vg_decode_record_fn record;   /* NULL for whole-file formats (EVTX) */
} vg_decoder;

extern const vg_decoder vg_decoders[];
extern const size_t vg_ndecoders;
const vg_decoder *vg_decoder_for(vg_format f);

/* Guesses the format of a buffer from its first bytes and its first record. */
vg_format vg_format_detect(vg_str head);

/*
 * Decodes a whole buffer: NDJSON lines for the line formats (a buffer that is
 * one JSON document or an array of them is also accepted for evtx-json and
 * winlogbeat), the EVTX file format for VG_FMT_EVTX. Bad records go to
 * reject (when non-NULL) and are counted; only sink/memory failures stop it.
 */
vg_err vg_ingest_buffer(vg_batchset *set, const vg_ingest_opts *o, vg_str data,
                        vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                        vg_diag *d);

/* Native NDJSON record decoder (the hot path). */
vg_err vg_decode_native(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d);

/* Windows event decoders (src/ingest/win_*.c). */
vg_err vg_decode_evtx_json(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d);
vg_err vg_decode_winlogbeat(vg_batchset *set, const vg_ingest_opts *o, vg_str rec, vg_diag *d);
/* A whole .evtx file image; one reject per unreadable record. */
vg_err vg_decode_evtx_file(vg_batchset *set, const vg_ingest_opts *o, vg_str file,
                           vg_reject_fn reject, void *reject_ctx, vg_ingest_result *res,
                           vg_diag *d);

#endif
