/*
 * vg_map.c - linear-probing hash map (see vg_map.h).
 */
#include "vg_map.h"

#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

uint64_t vg_hash(const void *p, size_t n)
{
    uint64_t h = XXH3_64bits(p, n);
    return h ? h : 1;
}

uint64_t vg_hash_ci(const void *p, size_t n)
{
    unsigned char tmp[256];
    const unsigned char *s = p;
    if (n <= sizeof tmp) {
        for (size_t i = 0; i < n; i++)
            tmp[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i];
        return vg_hash(tmp, n);
    }
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    for (size_t off = 0; off < n; off += sizeof tmp) {
        size_t k = n - off < sizeof tmp ? n - off : sizeof tmp;
        for (size_t i = 0; i < k; i++)
            tmp[i] = (s[off + i] >= 'A' && s[off + i] <= 'Z') ? s[off + i] + 32 : s[off + i];
        XXH3_64bits_update(&st, tmp, k);
    }
    uint64_t h = XXH3_64bits_digest(&st);
    return h ? h : 1;
}

void vg_map_init(vg_map *m, bool ci)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
    m->ci = ci;
}

void vg_map_free(vg_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}

static inline uint64_t key_hash(const vg_map *m, vg_str k)
{
    return m->ci ? vg_hash_ci(k.p, k.n) : vg_hash(k.p, k.n);
}

static inline bool key_eq(const vg_map *m, vg_str a, vg_str b)
{
    return m->ci ? vg_str_eq_ci(a, b) : vg_str_eq(a, b);
}

void *vg_map_get(const vg_map *m, vg_str key, bool *found)
{
    if (found)
        *found = false;
    if (!m->cap)
        return NULL;
    uint64_t h = key_hash(m, key);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const vg_map_slot *s = &m->slots[i];
        if (!s->hash)
            return NULL;
        if (s->hash == h && key_eq(m, s->key, key)) {
            if (found)
                *found = true;
            return s->val;
        }
    }
}

static void slot_insert(vg_map_slot *slots, size_t cap, vg_map_slot in)
{
    size_t mask = cap - 1;
    for (size_t i = in.hash & mask;; i = (i + 1) & mask) {
        if (!slots[i].hash) {
            slots[i] = in;
            return;
        }
    }
}

static vg_err map_grow(vg_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (ncap > VG_MAP_MAX_ENTRIES * 2u)
        return VG_ELIMIT;
    vg_map_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return VG_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            slot_insert(ns, ncap, m->slots[i]);
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return VG_OK;
}

vg_err vg_map_put(vg_map *m, vg_str key, void *val)
{
    if ((m->len + 1) * 4 > m->cap * 3) {
        vg_err e = map_grow(m);
        if (e)
            return e;
    }
    uint64_t h = key_hash(m, key);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        vg_map_slot *s = &m->slots[i];
        if (!s->hash) {
            s->hash = h;
            s->key = key;
            s->val = val;
            m->len++;
            return VG_OK;
        }
        if (s->hash == h && key_eq(m, s->key, key)) {
            s->val = val;
            return VG_OK;
        }
    }
}

bool vg_map_next(const vg_map *m, size_t *pos, vg_str *key, void **val)
{
    while (*pos < m->cap) {
        const vg_map_slot *s = &m->slots[(*pos)++];
        if (s->hash) {
            if (key)
                *key = s->key;
            if (val)
                *val = s->val;
            return true;
        }
    }
    return false;
}
