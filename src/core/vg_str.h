/*
 * vg_str.h - counted strings and growable byte buffers.
 *
 * Anything read from the wire or a log is a vg_str {p, n}: never assume a NUL.
 * A vg_buf is a heap byte buffer that grows geometrically up to an optional
 * cap; it is the one way Vigil builds output of unknown size.
 */
#ifndef VG_STR_H
#define VG_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vg_arena.h"
#include "vg_err.h"

typedef struct vg_str {
    const char *p;
    size_t n;
} vg_str;

#define VG_STR_LIT(s) ((vg_str){ (s), sizeof(s) - 1 })
#define VG_STR_NULL ((vg_str){ NULL, 0 })
#define VG_STR_FMT(s) (int)(s).n, (s).p   /* printf("%.*s", VG_STR_FMT(s)) */

static inline vg_str vg_str_c(const char *s) { return (vg_str){ s, s ? strlen(s) : 0 }; }
static inline vg_str vg_str_make(const char *p, size_t n) { return (vg_str){ p, n }; }

bool vg_str_eq(vg_str a, vg_str b);
bool vg_str_eq_ci(vg_str a, vg_str b);          /* ASCII case-insensitive */
bool vg_str_eqc(vg_str a, const char *b);
bool vg_str_eqc_ci(vg_str a, const char *b);
bool vg_str_starts_ci(vg_str s, vg_str prefix);
bool vg_str_ends_ci(vg_str s, vg_str suffix);
int vg_str_cmp(vg_str a, vg_str b);             /* bytewise, shorter first on tie */
vg_str vg_str_trim(vg_str s);                   /* ASCII whitespace both ends */
/* `*` in pat matches any run of bytes, every other byte itself (column
 * names in KQL's project-away, Sigma's `1 of selection_*`). */
bool vg_str_wild_match(vg_str pat, vg_str s);
/* Position of c in s, or -1. */
ptrdiff_t vg_str_chr(vg_str s, char c);
/* Position of the last c in s, or -1. */
ptrdiff_t vg_str_rchr(vg_str s, char c);
/* Case-insensitive substring search; position or -1. */
ptrdiff_t vg_str_find_ci(vg_str hay, vg_str needle);

/* Whole-string integer parses; VG_EPARSE on junk, VG_ELIMIT on overflow. */
vg_err vg_str_to_i64(vg_str s, int64_t *out);
vg_err vg_str_to_u64(vg_str s, uint64_t *out);
vg_err vg_str_to_hex_u64(vg_str s, uint64_t *out);   /* with or without 0x */
vg_err vg_str_to_double(vg_str s, double *out);

/* Copies into the arena with a terminating NUL. */
vg_str vg_str_dup(vg_arena *a, vg_str s);
/* Lower-case copy (ASCII) into the arena. */
vg_str vg_str_lower(vg_arena *a, vg_str s);

/* A copy into a fixed C buffer, truncated and always NUL-terminated. */
void vg_str_copy_c(char *dst, size_t cap, vg_str s);

typedef struct vg_buf {
    char *p;
    size_t n;      /* bytes used */
    size_t cap;    /* bytes allocated */
    size_t limit;  /* 0 = unlimited; else growth past it fails */
    bool failed;   /* sticky: an append failed (memory or limit) */
} vg_buf;

void vg_buf_init(vg_buf *b, size_t limit);
void vg_buf_free(vg_buf *b);
static inline void vg_buf_clear(vg_buf *b) { b->n = 0; b->failed = false; }
/* Makes room for n more bytes; false (and failed set) when impossible. */
bool vg_buf_reserve(vg_buf *b, size_t n);
void vg_buf_put(vg_buf *b, const void *p, size_t n);
static inline void vg_buf_puts(vg_buf *b, const char *s) { vg_buf_put(b, s, strlen(s)); }
static inline void vg_buf_putstr(vg_buf *b, vg_str s) { vg_buf_put(b, s.p, s.n); }
void vg_buf_putc(vg_buf *b, char c);
void vg_buf_printf(vg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void vg_buf_put_json_str(vg_buf *b, vg_str s);
/* Little-endian fixed-width and LEB128 varint appends, for binary formats. */
void vg_buf_put_u32le(vg_buf *b, uint32_t v);
void vg_buf_put_u64le(vg_buf *b, uint64_t v);
void vg_buf_put_varint(vg_buf *b, uint64_t v);
/* Ensures a NUL after the content (not counted in n). */
const char *vg_buf_cstr(vg_buf *b);

/* Readers for the formats above; all bounds-checked. */
typedef struct vg_reader {
    const unsigned char *p;
    size_t n;
    size_t off;
} vg_reader;
static inline vg_reader vg_reader_make(const void *p, size_t n) { return (vg_reader){ p, n, 0 }; }
bool vg_read_u32le(vg_reader *r, uint32_t *v);
bool vg_read_u64le(vg_reader *r, uint64_t *v);
bool vg_read_varint(vg_reader *r, uint64_t *v);
bool vg_read_bytes(vg_reader *r, size_t n, const void **p);

#endif
