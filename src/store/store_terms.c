/*
 * store_terms.c - Kusto `has` terms and the per-block term filters.
 *
 * A term is a maximal run of ASCII letters and digits, compared
 * case-insensitively (Kusto's `has`). Sealing hashes the terms of every
 * distinct string of a block into a bloom filter; a scan with `has` or `==`
 * on that column skips the block when one of the needle's terms is absent.
 * The term hash is FNV-1a over the lowercased bytes, finished with a 64-bit
 * mixer; it is part of the on-disk format (docs/store.md), so never change it.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static inline bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}
static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

void st_terms(vg_str s, st_term_fn fn, void *ctx)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, n = s.n;
    while (i < n) {
        while (i < n && !is_alnum(p[i]))
            i++;
        if (i >= n)
            break;
        uint64_t h = 0xcbf29ce484222325ULL;
        size_t st = i;
        while (i < n && is_alnum(p[i])) {
            h = (h ^ lower(p[i])) * 0x100000001b3ULL;
            i++;
        }
        fn(ctx, mix64(h ^ (uint64_t)(i - st)));
    }
}

typedef struct hcollect {
    uint64_t *out;
    size_t cap, n;
} hcollect;

static void collect(void *ctx, uint64_t h)
{
    hcollect *c = ctx;
    if (c->n < c->cap)
        c->out[c->n] = h;
    c->n++;
}

size_t st_term_hashes(vg_str s, uint64_t *out, size_t cap)
{
    hcollect c = { out, cap, 0 };
    st_terms(s, collect, &c);
    return c.n;
}

/* ---- hash set of term hashes ---- */

void st_hset_clear(st_hset *h)
{
    for (size_t i = 0; i < h->n; i++) {
        uint64_t v = h->list[i];
        if (!v)
            continue;
        size_t m = h->cap - 1, j = (size_t)v & m;
        while (h->slots[j] != v)
            j = (j + 1) & m;
        h->slots[j] = 0;
    }
    h->n = 0;
    h->has_zero = false;
}

static bool hset_grow(st_hset *h)
{
    size_t ncap = h->cap ? h->cap * 2 : 1024;
    uint64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < h->n; i++) {
        uint64_t v = h->list[i];
        if (!v)
            continue;
        size_t j = (size_t)v & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = v;
    }
    free(h->slots);
    h->slots = ns;
    h->cap = ncap;
    return true;
}

bool st_hset_add(st_hset *h, uint64_t v)
{
    if (v == 0) {
        if (h->has_zero)
            return true;
        h->has_zero = true;
    } else {
        if ((h->n + 1) * 2 > h->cap && !hset_grow(h))
            return false;
        size_t m = h->cap - 1, j = (size_t)v & m;
        while (h->slots[j]) {
            if (h->slots[j] == v)
                return true;
            j = (j + 1) & m;
        }
        h->slots[j] = v;
    }
    if (h->n == h->list_cap) {
        size_t nc = h->list_cap ? h->list_cap * 2 : 1024;
        uint64_t *nl = realloc(h->list, nc * sizeof *nl);
        if (!nl)
            return false;
        h->list = nl;
        h->list_cap = nc;
    }
    h->list[h->n++] = v;
    return true;
}

void st_hset_free(st_hset *h)
{
    free(h->slots);
    free(h->list);
    memset(h, 0, sizeof *h);
}

/* ---- bloom ---- */

uint32_t st_bloom_bits_for(size_t nterms)
{
    uint64_t want = (uint64_t)nterms * 10;
    uint32_t bits = 64;
    while (bits < want && bits < ST_BLOOM_MAX_BITS)
        bits <<= 1;
    return bits;
}

void st_bloom_build(uint8_t *bits, uint32_t nbits, unsigned k, const uint64_t *h, size_t n)
{
    memset(bits, 0, nbits / 8);
    for (size_t i = 0; i < n; i++) {
        uint32_t a = (uint32_t)h[i], b = (uint32_t)(h[i] >> 32) | 1;
        for (unsigned j = 0; j < k; j++) {
            uint32_t bit = (a + j * b) & (nbits - 1);
            bits[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
    }
}

bool st_bloom_test(const uint8_t *bits, uint32_t nbits, unsigned k, uint64_t h)
{
    uint32_t a = (uint32_t)h, b = (uint32_t)(h >> 32) | 1;
    for (unsigned j = 0; j < k; j++) {
        uint32_t bit = (a + j * b) & (nbits - 1);
        if (!(bits[bit >> 3] >> (bit & 7) & 1))
            return false;
    }
    return true;
}

/* ---- Kusto has ---- */

bool vg_has_term(vg_str hay, vg_str needle)
{
    if (needle.n == 0)
        return true;
    if (needle.n > hay.n)
        return false;
    const unsigned char *h = (const unsigned char *)hay.p, *nd = (const unsigned char *)needle.p;
    bool first_alnum = is_alnum(nd[0]), last_alnum = is_alnum(nd[needle.n - 1]);
    unsigned char f = lower(nd[0]);
    for (size_t i = 0; i + needle.n <= hay.n; i++) {
        if (lower(h[i]) != f)
            continue;
        if (first_alnum && i > 0 && is_alnum(h[i - 1]))
            continue;
        size_t j = 1;
        while (j < needle.n && lower(h[i + j]) == lower(nd[j]))
            j++;
        if (j < needle.n)
            continue;
        size_t end = i + needle.n;
        if (last_alnum && end < hay.n && is_alnum(h[end]))
            continue;
        return true;
    }
    return false;
}
