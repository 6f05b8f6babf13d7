/*
 * sigma_corr_int.h - private to the correlation engine (sigma_corr.c runs
 * it, sigma_corr_build.c compiles the rules into it): the engine's state
 * types and the few helpers both files use. Not part of the API.
 *
 * Ownership: the compiled tables (cr_corr arrays, dispatch) live in
 * sg_corr_engine.arena; groups and their event arrays are heap allocations
 * owned by their cr_corr, freed by cr_group_free().
 *
 * Invariants: within a group, ev[0..n) is sorted by ts, equal timestamps in
 * arrival order; a group in the table has n > 0 except transiently while a
 * hit is added; cr_corr.next_due <= ev[0].ts + timespan of every group, so
 * sg_corr_advance() can skip a correlation with nothing due.
 */
#ifndef VG_SIGMA_CORR_INT_H
#define VG_SIGMA_CORR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_arena.h"
#include "../core/vg_str.h"
#include "sigma_corr.h"

#define CR_GROUP_SLOTS_MIN 16
#define CR_EVENTS_MIN 4

typedef struct cr_ev {
    int64_t ts;
    uint64_t ref;
    uint64_t vh[2];   /* value_count: XXH3-128 of the counted value */
    double num;       /* value_sum / value_avg / value_percentile */
    uint32_t u;       /* the hit's rule, as an index into cr_corr.uniq */
} cr_ev;

typedef struct cr_group {
    struct cr_group *prev, *next;  /* LRU list: least recently updated first */
    uint64_t hash;
    const char *key;               /* encoded values: u32 len, bytes, NUL; each */
    size_t keylen;
    vg_str *vals;                  /* ngroup_by values, pointing into key */
    cr_ev *base;                   /* the allocation: cap events */
    cr_ev *ev;                     /* the held events: ev[0..n), ev >= base */
    uint32_t n, cap;               /* cap <= 2 * max_events, so removing from
                                    * the front (ev++) and compacting when the
                                    * end is reached are amortized O(1) */
} cr_group;

/* One correlation that wants a rule's matches, and the rule's slot in it. */
typedef struct cr_disp {
    uint32_t corr, u;
} cr_disp;

typedef struct cr_corr {
    const sg_rule *rule;
    const sg_corr *c;
    bool eager;              /* every bound gt/gte (or temporal without bounds) */
    const sg_rule **uniq;    /* distinct referenced rules */
    uint32_t nuniq;
    uint32_t *seq;           /* c->rules[i] as an index into uniq */
    vg_str *gfield;          /* [u * ngroup_by + k]: field read for group_by[k] */
    vg_str *vfield;          /* [u]: field read for c->field */
    cr_group **slots;
    size_t cap, len;
    cr_group *lru_head, *lru_tail;
    int64_t next_due;        /* min over groups of ev[0].ts + timespan */
    vg_buf key;              /* scratch: the key being looked up */
    void *scratch;           /* scratch for distinct counts, percentiles, flags */
    size_t scratch_cap;
    uint64_t gen;            /* value_count: generation of the distinct table */
} cr_corr;

struct sg_corr_engine {
    const sg_ruleset *rs;
    int64_t lateness;
    uint32_t max_groups, max_events;
    bool have_wm;
    int64_t wm;              /* watermark: the newest timestamp seen */
    sg_corr_stats st;
    cr_corr *corrs;
    uint32_t ncorrs;
    uint32_t *corr_of;       /* [rule index] -> correlation index or UINT32_MAX */
    uint32_t *disp_start;    /* [rule index], nrules + 1 entries */
    cr_disp *disp;
    vg_arena arena;
};

/* The index of r in e->rs->rules; false when r is not one of them. */
bool cr_rule_index(const sg_corr_engine *e, const sg_rule *r, uint32_t *out);

/* Takes g out of its correlation's table and LRU list, and frees it. */
void cr_group_free(cr_corr *cc, cr_group *g);

#endif
