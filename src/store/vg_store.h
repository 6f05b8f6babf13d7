/*
 * vg_store.h - the embedded event store: WAL, in-memory tail, columnar
 * segments in day partitions, retention, and a batch-at-a-time scan API.
 *
 * Layout of a data directory (see docs/architecture.md for the byte formats):
 *   DIR/LOCK                      flock()ed by the one process that writes
 *   DIR/wal/NNNNNNNN.wal          write-ahead log files (checksummed records)
 *   DIR/tables/T/YYYY-MM-DD/N.seg  immutable columnar segments
 *   DIR/tables/T/sealed.lsn       highest LSN sealed into segments of T
 *   DIR/quarantine/               damaged files moved aside, with a reason
 *   DIR/deadletter/               rejected input lines with their reasons
 *
 * Durability: vg_store_append returns only after the rows are in the WAL and
 * the WAL is fsync()ed; then they are visible to scans at once (tail). Tails
 * are sealed into segments by size or on flush/close; a seal commits when
 * sealed.lsn is renamed into place, and WAL files whose records are all
 * sealed are deleted. Replay after a crash skips records at or below a
 * table's sealed LSN, so every acknowledged row is present exactly once.
 *
 * Threads: one vg_store may be used from many threads; appends are
 * serialized (and group-committed), scans run concurrently with appends.
 */
#ifndef VG_STORE_H
#define VG_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "../batch/vg_batch.h"
#include "../core/vg_err.h"
#include "../core/vg_time.h"

typedef struct vg_store vg_store;

typedef struct vg_store_opts {
    const char *dir;            /* data directory; created if missing */
    uint32_t seal_rows;         /* seal a table's tail at this many rows (0 = default 1M) */
    uint32_t block_rows;        /* rows per column block in segments (0 = default 8192) */
    int zstd_level;             /* 0 = default (1) */
    int64_t retention_days;     /* 0 = keep forever */
    bool read_only;             /* open without the writer lock, no WAL replay writes */
    bool no_fsync;              /* tests/benchmarks only: skip fsync (never in production) */
    bool verify;                /* on open, check every block checksum (quarantine damage) */
} vg_store_opts;

vg_err vg_store_open(const vg_store_opts *opts, vg_store **out, vg_diag *d);
/* Seals every tail and closes. */
vg_err vg_store_close(vg_store *s, vg_diag *d);

/*
 * Appends batches (any tables). On VG_OK every row is durable. On error
 * nothing of this call is acknowledged (it may or may not be replayed; the
 * caller must report failure to its sender).
 */
vg_err vg_store_append(vg_store *s, vg_batch *const *batches, size_t n, vg_diag *d);
/* Seals every tail into segments now. */
vg_err vg_store_flush(vg_store *s, vg_diag *d);
/* Drops day partitions older than keep_days before now. */
vg_err vg_store_retention(vg_store *s, int64_t keep_days, vg_time now, int *dropped, vg_diag *d);

/* Appends a rejected input record to the dead-letter area (durably). */
vg_err vg_store_deadletter(vg_store *s, const char *source, uint64_t line, vg_str reason,
                           vg_str record, vg_diag *d);

/*
 * Many dead letters with one write and one fsync: collect them with
 * vg_deadletters_add, then vg_store_deadletters_write (which empties the
 * set on success; on failure the set is kept for a retry).
 */
typedef struct vg_deadletters {
    vg_buf buf;     /* NDJSON lines, formatted */
    uint64_t n;
} vg_deadletters;
void vg_deadletters_init(vg_deadletters *dl);
void vg_deadletters_free(vg_deadletters *dl);
void vg_deadletters_add(vg_deadletters *dl, const char *source, uint64_t line, vg_str reason,
                        vg_str record);
vg_err vg_store_deadletters_write(vg_store *s, vg_deadletters *dl, vg_diag *d);

typedef struct vg_store_stats {
    uint64_t rows_total;
    uint64_t wal_bytes;
    uint64_t segments;
    uint64_t segment_bytes;
    uint64_t quarantined;
    uint64_t tail_rows;
    uint64_t deadletters;
} vg_store_stats;
void vg_store_stats_get(vg_store *s, vg_store_stats *out);
/* Rows stored for one table (segments + tail). */
uint64_t vg_store_table_rows(vg_store *s, const vg_table_def *t);

/* ---- scans ---- */

typedef enum vg_pred_kind {
    VG_PRED_STR_EQ,      /* string column == s (case-sensitive) */
    VG_PRED_STR_EQ_CI,   /* string column =~ s */
    VG_PRED_HAS_TERM,    /* string column has the whole term s (case-insensitive) */
    VG_PRED_I64_RANGE,   /* lo <= int64 column <= hi */
} vg_pred_kind;

typedef struct vg_scan_pred {
    vg_pred_kind kind;
    int col;
    vg_str s;
    int64_t lo, hi;
} vg_scan_pred;

typedef struct vg_scan_spec {
    const vg_table_def *table;
    const bool *cols;          /* projection (ncols flags); NULL = all */
    bool raw;                  /* also return raw source records */
    vg_time tmin, tmax;        /* Timestamp range [tmin, tmax]; INT64_MIN/MAX = open */
    const vg_scan_pred *preds; /* conjunctive; used for pruning */
    size_t npreds;
    bool exact;                /* also filter rows by preds and range (else superset) */
    /* Parallel scans: with nparts > 1 this scan reads only the segments whose
     * index is part modulo nparts, and the in-memory tail only when part is 0,
     * so nparts scans with parts 0..nparts-1 read every row exactly once. */
    uint32_t part, nparts;
    /* The caller reads dictionary-coded string columns through their
     * vg_colvec dict/codes: for those blocks v.s is left NULL (no per-row
     * strings are built). */
    bool codes_only;
} vg_scan_spec;

typedef struct vg_scan_stats {
    uint64_t segments_total, segments_skipped;
    uint64_t blocks_total, blocks_skipped;
    uint64_t rows_returned;
    uint64_t segments_damaged;   /* found damaged during the scan, quarantined and skipped */
} vg_scan_stats;

typedef struct vg_scan vg_scan;

/* Starts a scan over a consistent snapshot (segments + tail at open time). */
vg_err vg_scan_open(vg_store *s, const vg_scan_spec *spec, vg_scan **out, vg_diag *d);
/*
 * Next batch of rows; VG_EEOF when done. The batch belongs to the scan and
 * is valid until the next call or close. Without spec.exact the batch may
 * hold rows that fail the predicates (pruning skips only whole blocks).
 */
vg_err vg_scan_next(vg_scan *sc, const vg_batch **out, vg_diag *d);
void vg_scan_get_stats(const vg_scan *sc, vg_scan_stats *out);
void vg_scan_close(vg_scan *sc);

/* Kusto `has` term test: needle is a whole term of hay (case-insensitive). */
bool vg_has_term(vg_str hay, vg_str needle);

/* ---- fault injection (tests) ---- */
typedef enum vg_fault_op { VG_FAULT_WRITE, VG_FAULT_FSYNC, VG_FAULT_RENAME } vg_fault_op;
/* Makes the nth next operation of that kind fail (1 = the next one); 0 disarms. */
void vg_store_fault_inject(vg_fault_op op, uint64_t nth);

#endif
