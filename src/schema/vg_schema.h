/*
 * vg_schema.h - the table and column registry (Advanced Hunting + Vigil's own).
 *
 * Generated at build time from schema/advanced-hunting-columns.tsv (a copy of
 * Defender's documented schema) and schema/vigil-extra-columns.tsv, so the
 * schema is typed in exactly once. Tables and columns are immutable and
 * live for the whole process. Names are case-sensitive, as in Kusto.
 */
#ifndef VG_SCHEMA_H
#define VG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/vg_str.h"

/* Column types. Storage: BOOL as uint8; INT, LONG, DATETIME, TIMESPAN as
 * int64; REAL as double; STRING and DYNAMIC (JSON text) as vg_str. */
typedef enum vg_type {
    VG_T_BOOL,
    VG_T_INT,
    VG_T_LONG,
    VG_T_REAL,
    VG_T_DATETIME,
    VG_T_TIMESPAN,
    VG_T_STRING,
    VG_T_DYNAMIC,
    VG_T_COUNT_
} vg_type;

typedef struct vg_column_def {
    const char *name;
    vg_type type;
} vg_column_def;

typedef struct vg_table_def {
    const char *name;
    uint16_t id;           /* index in vg_schema_tables; stable for a build */
    uint16_t ncols;
    int16_t ts_col;        /* index of Timestamp, or -1 */
    const vg_column_def *cols;
} vg_table_def;

extern const vg_table_def vg_schema_tables[];
extern const size_t vg_schema_ntables;

/* Kusto's name of a type ("datetime"). */
const char *vg_type_name(vg_type t);
/* True when values of the type are stored as int64. */
static inline int vg_type_is_i64(vg_type t)
{
    return t == VG_T_INT || t == VG_T_LONG || t == VG_T_DATETIME || t == VG_T_TIMESPAN;
}
static inline int vg_type_is_str(vg_type t) { return t == VG_T_STRING || t == VG_T_DYNAMIC; }

/* Table by name: exact match first, then case-insensitive. NULL when unknown. */
const vg_table_def *vg_schema_table(vg_str name);
/* Column index by exact name, or -1. O(1) after the first call. */
int vg_schema_col(const vg_table_def *t, vg_str name);

#endif
