/*
 * evtx_read_int.h - what the two halves of Vigil's EVTX reader share
 * (private to evtx_read.c and evtx_read_binxml.c): the per-chunk reader
 * state, little-endian loads, and the arena-backed text buffer.
 *
 * Ownership: an rd lives on evtx_read's stack for one file; everything it
 * points to in the arena is valid until the next record starts (the arena
 * is reset per record); r->c points into the caller's image.
 */
#ifndef VG_EVTX_READ_INT_H
#define VG_EVTX_READ_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "evtx_read.h"

/* Text built in the record's arena (grows geometrically, capped at EVTX_MAX_TEXT). */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool failed;
    vg_arena *a;
} sbuf;

typedef enum section { SEC_NONE, SEC_SYSTEM, SEC_EVENTDATA, SEC_USERDATA, SEC_OTHER } section;

/* The reader's state for the chunk being read and the record being decoded. */
typedef struct rd {
    const uint8_t *c;          /* the chunk (EVTX_CHUNK_SIZE bytes) */
    uint64_t chunk_off;        /* its file offset */
    uint32_t chunk_no;
    uint64_t record_id;
    bool records_crc_bad;
    vg_arena *a;
    vg_diag *d;
    uint32_t tokens;
    int nest;
    uint32_t tmpl[EVTX_MAX_TEMPLATES];   /* offsets of definitions known good */
    uint32_t ntmpl;
    /* the win_event being filled (mirrors win_evtx.c's expat handlers) */
    win_event *ev;
    int depth;
    section sec;
    bool has_child[EVTX_MAX_DEPTH + 2];
    vg_str el[EVTX_MAX_DEPTH + 2];
    vg_str data_name;
    sbuf text;
} rd;

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Sets r->d to "chunk C, record id R, offset O: <message>" (O: file offset of chunk offset pos). */
vg_err evtx_bad(rd *r, vg_err e, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Decodes one record's binary XML [start, end) (chunk offsets) into ev, in r->a. */
vg_err evtx_decode_record(rd *r, uint32_t start, uint32_t end, win_event *ev);

#endif
