/*
 * vg_batch.h - the spine: a batch of rows of one table, column-wise.
 *
 * One structure carries data from the decoders through the WAL and the store
 * to scans (and, later, the KQL executor): per column a typed vector and a
 * validity bitmap; per row a reference to its raw source record (a JSON object
 * of the source's own fields, so that rules written against the source still
 * see them); strings live in the batch's arena.
 *
 * Ownership: a batch owns its vectors and its arena. Strings set with
 * vg_batch_set_str are copied in; vg_batch_set_str_ref stores a slice the
 * caller guarantees outlives the batch (for example another arena the caller
 * keeps). vg_batch_reset() empties a batch for reuse without freeing.
 *
 * A scan batch may carry only some columns: vectors of columns that were not
 * projected are absent (vg_batch_has_col() false) and read as null.
 */
#ifndef VG_BATCH_H
#define VG_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_arena.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "../schema/vg_schema.h"

/* Rows per batch: what decoders fill and scans return. */
#define VG_BATCH_ROWS 4096

typedef struct vg_colvec {
    vg_type type;
    bool present;          /* false: column not materialized (all null) */
    union {
        int64_t *i64;      /* INT, LONG, DATETIME, TIMESPAN */
        double *f64;       /* REAL */
        uint8_t *b;        /* BOOL (0/1) */
        vg_str *s;         /* STRING, DYNAMIC */
    } v;
    uint64_t *valid;       /* bit r set: row r is not null */
    /* STRING columns of scans over dictionary-coded blocks: v.s[r] is
     * dict[codes[r]] for every row that is not null (codes[r] 0xFFFF when
     * null); lets queries compare or group a few dictionary entries instead
     * of every row. NULL everywhere else. */
    const vg_str *dict;
    const uint16_t *codes;
    uint32_t ndict;
} vg_colvec;

typedef struct vg_batch {
    const vg_table_def *table;
    uint32_t nrows;
    uint32_t cap;
    vg_colvec *cols;       /* table->ncols entries */
    vg_str *raw;           /* per row; {NULL,0} when the row has no raw record */
    bool has_raw;          /* raw vector is materialized */
    vg_arena arena;        /* strings and raw records */
} vg_batch;

/*
 * Initializes an empty batch. cols_mask selects the columns to materialize
 * (NULL = all); with_raw asks for the raw-record vector.
 */
vg_err vg_batch_init(vg_batch *b, const vg_table_def *t, uint32_t cap, const bool *cols_mask,
                     bool with_raw);
void vg_batch_free(vg_batch *b);
/* Drops all rows and strings; keeps the vectors. */
void vg_batch_reset(vg_batch *b);

static inline bool vg_batch_full(const vg_batch *b) { return b->nrows >= b->cap; }

/* Appends an all-null row and returns its index; -1 when full. */
static inline int64_t vg_batch_add_row(vg_batch *b)
{
    if (b->nrows >= b->cap)
        return -1;
    uint32_t r = b->nrows++;
    if (b->has_raw)
        b->raw[r] = VG_STR_NULL;
    return r;
}
/* Removes the last row (a decoder that failed half-way through a row). */
void vg_batch_drop_last(vg_batch *b);

static inline void vg_bit_set(uint64_t *bm, uint32_t r) { bm[r >> 6] |= 1ull << (r & 63); }
static inline void vg_bit_clear(uint64_t *bm, uint32_t r) { bm[r >> 6] &= ~(1ull << (r & 63)); }
static inline bool vg_bit_get(const uint64_t *bm, uint32_t r) { return bm[r >> 6] >> (r & 63) & 1; }

static inline bool vg_batch_has_col(const vg_batch *b, int c) { return b->cols[c].present; }
static inline bool vg_batch_is_null(const vg_batch *b, int c, uint32_t r)
{
    return !b->cols[c].present || !vg_bit_get(b->cols[c].valid, r);
}

static inline void vg_batch_set_i64(vg_batch *b, int c, uint32_t r, int64_t v)
{
    b->cols[c].v.i64[r] = v;
    vg_bit_set(b->cols[c].valid, r);
}
static inline void vg_batch_set_f64(vg_batch *b, int c, uint32_t r, double v)
{
    b->cols[c].v.f64[r] = v;
    vg_bit_set(b->cols[c].valid, r);
}
static inline void vg_batch_set_bool(vg_batch *b, int c, uint32_t r, bool v)
{
    b->cols[c].v.b[r] = v;
    vg_bit_set(b->cols[c].valid, r);
}
static inline void vg_batch_set_str_ref(vg_batch *b, int c, uint32_t r, vg_str v)
{
    b->cols[c].v.s[r] = v;
    vg_bit_set(b->cols[c].valid, r);
}
static inline void vg_batch_set_null(vg_batch *b, int c, uint32_t r)
{
    vg_bit_clear(b->cols[c].valid, r);
}
/* Copies v into the batch arena. */
vg_err vg_batch_set_str(vg_batch *b, int c, uint32_t r, vg_str v);
/* Copies the raw source record (a JSON object text) into the arena. */
vg_err vg_batch_set_raw(vg_batch *b, uint32_t r, vg_str raw);

/*
 * Sets column c of row r from text, converting to the column's type
 * (datetimes through vg_time_parse_any, bools from true/false/1/0, ints with
 * range checks). VG_ETYPE with a message in d when the text does not fit.
 */
vg_err vg_batch_set_text(vg_batch *b, int c, uint32_t r, vg_str text, vg_diag *d);

/* Copies row r of src (same table) to a new row of dst. */
vg_err vg_batch_copy_row(vg_batch *dst, const vg_batch *src, uint32_t r);

/*
 * A field of a row by name: the table's column when there is one, else the
 * raw record's top-level member of that name. The value is rendered as text
 * (datetimes in ISO form) into the arena a. VG_ENOTFOUND when absent/null.
 */
vg_err vg_batch_field(const vg_batch *b, uint32_t r, vg_str name, vg_arena *a, vg_str *out);

/* Writes row r as one JSON object (columns that are not null, then the
 * raw record under "_Raw" when present). */
void vg_batch_row_json(const vg_batch *b, uint32_t r, vg_buf *out);

/* Writes a column value as text (no quotes); false when null. */
bool vg_batch_value_text(const vg_batch *b, int c, uint32_t r, vg_buf *out);

#endif
