/*
 * vg_map.h - open-addressing hash map from counted strings to pointers.
 *
 * Keys are not copied: the caller keeps them alive as long as the map (put
 * them in the same arena). Hashing is XXH3. Capacity is bounded by
 * VG_MAP_MAX_ENTRIES; growing past it fails with VG_ELIMIT.
 */
#ifndef VG_MAP_H
#define VG_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vg_err.h"
#include "vg_str.h"

#define VG_MAP_MAX_ENTRIES (1u << 28)

typedef struct vg_map_slot {
    vg_str key;
    uint64_t hash;  /* 0 = empty slot */
    void *val;
} vg_map_slot;

typedef struct vg_map {
    vg_map_slot *slots;
    size_t cap;     /* power of two, or 0 */
    size_t len;
    bool ci;        /* keys compare ASCII case-insensitively */
} vg_map;

uint64_t vg_hash(const void *p, size_t n);
uint64_t vg_hash_ci(const void *p, size_t n);   /* of the ASCII-lowercased bytes */

/* ci: case-insensitive keys. */
void vg_map_init(vg_map *m, bool ci);
void vg_map_free(vg_map *m);
/* The value stored for key, or NULL; found tells absent from a NULL value. */
void *vg_map_get(const vg_map *m, vg_str key, bool *found);
/* Inserts or replaces. */
vg_err vg_map_put(vg_map *m, vg_str key, void *val);
/* Iteration: start with *pos = 0; false when done. */
bool vg_map_next(const vg_map *m, size_t *pos, vg_str *key, void **val);

#endif
