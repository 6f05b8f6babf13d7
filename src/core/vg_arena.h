/*
 * vg_arena.h - bump allocation for one unit of work.
 *
 * An arena belongs to one batch, request, query or rule compile. Memory is
 * handed out from large chunks and released all at once with vg_arena_reset()
 * or vg_arena_free(); individual pieces are never freed. An arena may carry a
 * byte cap (VG_LIMIT_*): going past it makes allocation return NULL, which the
 * caller turns into VG_ELIMIT / VG_ENOMEM, never a crash.
 *
 * Lifetime: every pointer returned is valid until the next reset or free of
 * the same arena. Not thread-safe: one arena, one thread at a time.
 */
#ifndef VG_ARENA_H
#define VG_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "vg_err.h"

typedef struct vg_arena_chunk vg_arena_chunk;

typedef struct vg_arena {
    vg_arena_chunk *head;   /* current chunk (newest) */
    vg_arena_chunk *spare;  /* emptied chunks kept by vg_arena_reset for reuse */
    size_t chunk_size;      /* default size of new chunks */
    size_t used;            /* bytes handed out since the last reset */
    size_t reserved;        /* bytes held in chunks */
    size_t cap;             /* 0 = unlimited; else max bytes reserved */
} vg_arena;

/* Initializes an empty arena; chunk_size 0 picks a default (64 KiB). */
void vg_arena_init(vg_arena *a, size_t chunk_size, size_t cap);

/* Releases every chunk. The arena may be reused after vg_arena_init. */
void vg_arena_free(vg_arena *a);

/* Forgets all allocations; keeps up to 64 MiB of chunks for reuse. */
void vg_arena_reset(vg_arena *a);

/* n bytes aligned to 8, or NULL when memory or the cap runs out. */
void *vg_arena_alloc(vg_arena *a, size_t n);

/* Like vg_arena_alloc, zero-filled. */
void *vg_arena_zalloc(vg_arena *a, size_t n);

/*
 * Grows a heap array (*arr, *cap elements of elem bytes) to hold at least
 * need elements, doubling from 8; new elements are zeroed. Not an arena
 * function: for arrays whose size is not known up front and that outlive
 * any one arena (rule sets, pattern lists). VG_ENOMEM leaves *arr as it was.
 */
vg_err vg_array_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* A copy of n bytes plus a terminating NUL (the copy is also counted). */
char *vg_arena_memdup(vg_arena *a, const void *p, size_t n);

/* printf into the arena. */
char *vg_arena_printf(vg_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
