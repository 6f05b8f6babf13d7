/*
 * vg_json.h - Vigil's own JSON reader: a pull parser for the hot path and a
 * small DOM for everything else.
 *
 * Why hand-written: ingest must parse NDJSON at a million rows a second on one
 * core, straight into batch columns, without building a tree or allocating
 * per value. The pull parser walks one object's members in place; string
 * values without escapes are returned as slices of the input, others are
 * unescaped into an arena. The DOM (vg_json_parse) is for decoders off the
 * hot path (evtx JSON, Winlogbeat) and tests.
 *
 * Bounds: nesting depth VG_JSON_MAX_DEPTH, DOM node count VG_JSON_MAX_NODES.
 * Errors carry the byte offset where the input went wrong.
 */
#ifndef VG_JSON_H
#define VG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vg_arena.h"
#include "vg_err.h"
#include "vg_str.h"

#define VG_JSON_MAX_DEPTH 64
#define VG_JSON_MAX_NODES (1u << 20)

typedef enum vg_json_kind {
    VG_JSON_NULL,
    VG_JSON_FALSE,
    VG_JSON_TRUE,
    VG_JSON_NUMBER,
    VG_JSON_STRING,
    VG_JSON_OBJECT,
    VG_JSON_ARRAY,
} vg_json_kind;

/* A scalar or a captured container from the pull parser. */
typedef struct vg_json_val {
    vg_json_kind kind;
    vg_str str;      /* STRING: the unescaped text; NUMBER: its text;
                        OBJECT/ARRAY: the raw text of the whole container */
} vg_json_val;

typedef struct vg_json_pull {
    const char *start, *p, *end;
    vg_arena *arena;         /* for unescaped strings */
    vg_diag *diag;
    bool first;              /* no member read yet in the current object */
} vg_json_pull;

void vg_json_pull_init(vg_json_pull *j, vg_str text, vg_arena *arena, vg_diag *d);
/* Expects the next token to be '{'. */
vg_err vg_json_pull_obj_begin(vg_json_pull *j);
/* Reads the next member's key (unescaped); *done set at '}'. */
vg_err vg_json_pull_obj_key(vg_json_pull *j, vg_str *key, bool *done);
/* Reads any value; containers are validated and returned as raw text. */
vg_err vg_json_pull_value(vg_json_pull *j, vg_json_val *v);
/* After the top-level value: only whitespace may remain. */
vg_err vg_json_pull_end(vg_json_pull *j);
/* Byte offset of the cursor. */
static inline size_t vg_json_pull_offset(const vg_json_pull *j) { return (size_t)(j->p - j->start); }

/* ---- DOM ---- */

typedef struct vg_json vg_json;
struct vg_json {
    vg_json_kind kind;
    vg_str str;            /* STRING unescaped; NUMBER text */
    vg_str key;            /* member key when inside an object */
    uint32_t n;            /* number of children (OBJECT, ARRAY) */
    vg_json **kids;
};

/* Parses a whole document into the arena. */
vg_err vg_json_parse(vg_arena *a, vg_str text, vg_json **out, vg_diag *d);
/* Member of an object by key (exact), or NULL. */
const vg_json *vg_json_get(const vg_json *obj, const char *key);
/* Dotted path "Event.System.Provider" through objects, or NULL. */
const vg_json *vg_json_path(const vg_json *root, const char *path);
/* Text of a scalar: strings as is, numbers as text, true/false, "" for null. */
vg_str vg_json_text(const vg_json *v);
/* Serializes a node back to compact JSON. */
void vg_json_write(vg_buf *b, const vg_json *v);

/*
 * Finds a top-level member of a JSON object text by key without a DOM
 * (the lazy field lookup on raw records). Returns VG_ENOTFOUND when absent.
 */
vg_err vg_json_lookup(vg_str obj_text, vg_str key, vg_arena *a, vg_json_val *out);

#endif
