/*
 * vg_arena.c - chunked bump allocator (see vg_arena.h for the contract).
 */
#include "vg_arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vg_arena_chunk {
    vg_arena_chunk *next;   /* older chunk */
    size_t size;            /* usable bytes in data[] */
    size_t off;             /* bytes used */
    _Alignas(16) unsigned char data[];
};

#define ARENA_DEFAULT_CHUNK (64u * 1024u)
#define ARENA_KEEP_BYTES (64u << 20)

void vg_arena_init(vg_arena *a, size_t chunk_size, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
    a->cap = cap;
}

void vg_arena_free(vg_arena *a)
{
    for (int list = 0; list < 2; list++) {
        vg_arena_chunk *c = list ? a->spare : a->head;
        while (c) {
            vg_arena_chunk *next = c->next;
            free(c);
            c = next;
        }
    }
    a->head = NULL;
    a->spare = NULL;
    a->used = 0;
    a->reserved = 0;
}

void vg_arena_reset(vg_arena *a)
{
    /*
     * Keep chunks for reuse: a batch refills its arena again and again, and
     * handing memory back to the kernel only to fault it in again costs more
     * than the copies themselves. Past ARENA_KEEP_BYTES, chunks are released.
     */
    vg_arena_chunk *c = a->head;
    size_t kept = 0;
    for (vg_arena_chunk *s = a->spare; s; s = s->next)
        kept += s->size;
    while (c) {
        vg_arena_chunk *next = c->next;
        if (kept + c->size <= ARENA_KEEP_BYTES) {
            c->off = 0;
            c->next = a->spare;
            a->spare = c;
            kept += c->size;
        } else {
            a->reserved -= c->size;
            free(c);
        }
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

static vg_arena_chunk *arena_grow(vg_arena *a, size_t need)
{
    /* a spare chunk from before the last reset, when one is big enough */
    for (vg_arena_chunk **pp = &a->spare; *pp; pp = &(*pp)->next) {
        vg_arena_chunk *sc = *pp;
        if (sc->size >= need) {
            *pp = sc->next;
            sc->off = 0;
            sc->next = a->head;
            a->head = sc;
            return sc;
        }
    }
    size_t size = a->chunk_size;
    if (need > size)
        size = need;
    /* grow chunk size geometrically for big arenas, up to 16 MiB */
    if (a->reserved >= size * 4 && size < (16u << 20))
        size = size * 2 > need ? size * 2 : need;
    if (a->cap && a->reserved + size > a->cap) {
        if (a->reserved + need > a->cap)
            return NULL;
        size = need;
    }
    vg_arena_chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->size = size;
    c->off = 0;
    c->next = a->head;
    a->head = c;
    a->reserved += size;
    return c;
}

void *vg_arena_alloc(vg_arena *a, size_t n)
{
    size_t need = (n + 7u) & ~(size_t)7u;
    if (need < n)
        return NULL;
    vg_arena_chunk *c = a->head;
    if (!c || c->size - c->off < need) {
        c = arena_grow(a, need);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    return p;
}

void *vg_arena_zalloc(vg_arena *a, size_t n)
{
    void *p = vg_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *vg_arena_memdup(vg_arena *a, const void *p, size_t n)
{
    char *q = vg_arena_alloc(a, n + 1);
    if (!q)
        return NULL;
    if (n)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

char *vg_arena_printf(vg_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return NULL;
    }
    char *q = vg_arena_alloc(a, (size_t)n + 1);
    if (q)
        vsnprintf(q, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return q;
}

vg_err vg_array_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return VG_OK;
    uint64_t nc = *cap ? *cap : 8;
    while (nc < need)
        nc *= 2;
    if (nc > UINT32_MAX || nc > SIZE_MAX / elem)
        return VG_ENOMEM;
    void *np = realloc(*arr, (size_t)nc * elem);
    if (!np)
        return VG_ENOMEM;
    memset((char *)np + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = np;
    *cap = (uint32_t)nc;
    return VG_OK;
}
