/*
 * detect_scan.c - running a compiled rule set over batches of rows.
 *
 * Per row: read the raw record's members once (Windows events carry their
 * Channel and EventID there), find the row's groups through the route maps,
 * and per group
 *   1. give each field the group's rules name its value: the raw member of
 *      that name, else the column form for the row's table;
 *   2. scan each value with the field's pattern database; a hit marks the
 *      items it belongs to (|all items count their distinct value groups)
 *      and the rules those items are in;
 *   3. evaluate the conditions of the marked rules and of the group's
 *      "always" rules, reading direct items (CIDR, numbers, null, exists,
 *      fieldref, engine-refused regexes) from the values of step 1;
 *   4. report each rule whose condition holds.
 * Scratch is per scanner and is cleared through touched lists, so the cost
 * of a row does not depend on how many rules the group has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "detect_rules_int.h"
#include "detect_scan_int.h"

vg_err vg_detect_scanner_new(vg_detect *det, vg_detect_scanner **out, vg_diag *d)
{
    vg_detect_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return VG_ENOMEM;
    s->det = vg_detect_retain(det);
    uint32_t nf = det->max_fields + 1, ni = det->max_items + 1;
    s->vals = calloc(nf, sizeof *s->vals);
    s->item_true = calloc(ni, 1);
    s->item_hits = calloc(ni, sizeof *s->item_hits);
    s->touched_items = calloc(ni, sizeof *s->touched_items);
    s->rule_mark = calloc(ni, 1);
    s->touched_rules = calloc(ni, sizeof *s->touched_rules);
    s->allbits = calloc(det->max_allbits / 64 + 1, sizeof *s->allbits);
    s->mem = calloc(DT_MAX_RAW_MEMBERS, sizeof *s->mem);
    s->mem_used = calloc(DT_MAX_RAW_MEMBERS, sizeof *s->mem_used);
    s->md = pcre2_match_data_create(4, NULL);
    vg_arena_init(&s->row_arena, 0, 64u << 20);
    vg_arena_init(&s->memo_arena, 0, MEMO_BYTES);
    s->memo = calloc(MEMO_SLOTS, sizeof *s->memo);
    s->hitcap = 256;
    s->hitbuf = malloc(s->hitcap * sizeof *s->hitbuf);
    s->lists = calloc(LIST_SLOTS, sizeof *s->lists);
    s->sigs = calloc(SIG_SLOTS, sizeof *s->sigs);
    s->fslots = calloc(nf, sizeof *s->fslots);
    s->fids = calloc(det->max_sigwords + nf, sizeof *s->fids);
    s->fhash = calloc(nf, sizeof *s->fhash);
    s->matched = calloc(ni, sizeof *s->matched);
    s->impure = calloc(ni, sizeof *s->impure);
    s->next_list_id = 1;
    vg_buf_init(&s->kwbuf, 1u << 24);
    s->kcache = calloc(det->ngroups ? det->ngroups : 1, sizeof *s->kcache);
    vg_arena_init(&s->kc_arena, 0, 32u << 20);
    vg_err e = (!s->vals || !s->item_true || !s->item_hits || !s->touched_items || !s->rule_mark ||
                !s->touched_rules || !s->allbits || !s->mem || !s->mem_used || !s->md || !s->memo || !s->hitbuf ||
                !s->lists || !s->sigs || !s->fslots || !s->fids || !s->fhash || !s->matched || !s->impure ||
                !s->kcache)
                   ? VG_ENOMEM : VG_OK;
    for (uint32_t gi = 0; gi < det->ngroups && !e; gi++)
        for (uint32_t f = 0; f < det->groups[gi].nfields && !e; f++) {
            e = dt_db_scratch(&det->groups[gi].fields[f].raw_db, &s->hs_scratch);
            if (!e)
                e = dt_db_scratch(&det->groups[gi].fields[f].col_db, &s->hs_scratch);
        }
    if (e) {
        vg_detect_scanner_free(s);
        return vg_diag_set(d, e, "detection scanner: %s", vg_strerror(e));
    }
    *out = s;
    return VG_OK;
}

void vg_detect_scanner_free(vg_detect_scanner *s)
{
    if (!s)
        return;
    dt_scratch_free(s->hs_scratch);
    pcre2_match_data_free(s->md);
    free(s->vals);
    free(s->item_true);
    free(s->item_hits);
    free(s->touched_items);
    free(s->rule_mark);
    free(s->touched_rules);
    free(s->allbits);
    free(s->mem);
    free(s->mem_used);
    vg_arena_free(&s->row_arena);
    vg_arena_free(&s->memo_arena);
    free(s->memo);
    free(s->hitbuf);
    free(s->lists);
    free(s->sigs);
    free(s->fslots);
    free(s->fids);
    free(s->fhash);
    free(s->matched);
    free(s->impure);
    vg_buf_free(&s->kwbuf);
    free(s->kcache);
    vg_arena_free(&s->kc_arena);
    vg_detect_release(s->det);
    free(s);
}

void vg_detect_scanner_stats(const vg_detect_scanner *s, vg_detect_stats *out) { *out = s->stats; }

/* ---- values ---- */

/* ---- hits ---- */

static void mark_rule(vg_detect_scanner *s, uint32_t rule)
{
    if (!s->rule_mark[rule]) {
        s->rule_mark[rule] = 1;
        s->touched_rules[s->ntouched_rules++] = rule;
    }
}

static void on_hit(void *ctx, const dt_pat *p);

static void memo_reset(vg_detect_scanner *s)
{
    if (s->memo_used)
        memset(s->memo, 0, MEMO_SLOTS * sizeof *s->memo);
    if (s->lists_used)
        memset(s->lists, 0, LIST_SLOTS * sizeof *s->lists);
    if (s->sigs_used)
        memset(s->sigs, 0, SIG_SLOTS * sizeof *s->sigs);
    s->memo_used = s->lists_used = s->sigs_used = 0;
    s->next_list_id = 1;
    s->memo_full = false;
    vg_arena_reset(&s->memo_arena);
}

static void on_capture(void *ctx, const dt_pat *p)
{
    vg_detect_scanner *s = ctx;
    if (s->nhit == s->hitcap) {
        uint32_t *nb = realloc(s->hitbuf, 2 * s->hitcap * sizeof *nb);
        if (!nb) {
            s->hit_overflow = true;
            return;
        }
        s->hitbuf = nb;
        s->hitcap *= 2;
    }
    s->hitbuf[s->nhit++] = (uint32_t)(p - s->cur_db->pats);
}

/* The id of a hit list (equal lists, equal ids; 0 is the empty list). */
static uint32_t list_id(vg_detect_scanner *s, const dt_db *db, const uint32_t *hits, uint32_t n)
{
    if (n == 0)
        return 0;
    uint64_t h = XXH3_64bits_withSeed(hits, n * sizeof *hits, (uint64_t)(uintptr_t)db);
    uint32_t i = (uint32_t)h & (LIST_SLOTS - 1);
    for (;;) {
        list_slot *l = &s->lists[i];
        if (!l->db)
            break;
        if (l->h == h && l->db == db && l->n == n && memcmp(l->hits, hits, n * sizeof *hits) == 0)
            return l->id;
        i = (i + 1) & (LIST_SLOTS - 1);
    }
    if (s->lists_used >= LIST_SLOTS / 2) {
        s->memo_full = true;
        return DT_NONE;
    }
    s->lists[i] = (list_slot){ h, db, hits, n, s->next_list_id++ };
    s->lists_used++;
    return s->lists[i].id;
}

/*
 * The hits of value v in db, from the memo or scanned (and remembered).
 * The slot returned is valid until the next memo_reset (rows start by
 * resetting a full memo, never in the middle of a row); a value that
 * cannot be remembered gets a per-row slot with id DT_NONE.
 */
static inline uint64_t memo_hash(const dt_db *db, vg_str v)
{
    return XXH3_64bits_withSeed(v.p ? v.p : "", v.n, (uint64_t)(uintptr_t)db);
}

/* memo_get with the value's hash already computed (h, or 0 to compute). */
static const memo_slot *memo_get_h(vg_detect_scanner *s, const dt_db *db, vg_str v, uint64_t h)
{
    uint32_t i = 0;
    bool keep = v.n <= MEMO_MAX_VALUE && !s->memo_full;
    if (keep) {
        if (!h)
            h = memo_hash(db, v);
        i = (uint32_t)h & (MEMO_SLOTS - 1);
        for (;;) {
            memo_slot *m = &s->memo[i];
            if (!m->db)
                break;
            if (m->h == h && m->db == db && m->n == v.n && memcmp(m->v, v.p, v.n) == 0)
                return m;
            i = (i + 1) & (MEMO_SLOTS - 1);
        }
    }
    s->stats.scans++;
    s->nhit = 0;
    s->hit_overflow = false;
    s->cur_db = db;
    dt_db_scan(db, s->hs_scratch, s->md, v, on_capture, s);
    vg_arena *a = keep && s->memo_used < MEMO_SLOTS / 2 ? &s->memo_arena : &s->row_arena;
    uint32_t *hc = vg_arena_alloc(a, (s->nhit ? s->nhit : 1) * sizeof *hc);
    char *vc = a == &s->memo_arena ? vg_arena_alloc(a, v.n ? v.n : 1) : NULL;
    if (!hc && a == &s->memo_arena) {
        s->memo_full = true;
        a = &s->row_arena;
        hc = vg_arena_alloc(a, (s->nhit ? s->nhit : 1) * sizeof *hc);
    }
    if (!hc) {
        /* out of scratch: the hits still count, through a one-off slot */
        static _Thread_local memo_slot none;
        none = (memo_slot){ 0, db, NULL, 0, 0, NULL, DT_NONE };
        return &none;
    }
    memcpy(hc, s->hitbuf, s->nhit * sizeof *hc);
    memo_slot *m = vg_arena_alloc(&s->row_arena, sizeof *m);
    if (a == &s->memo_arena && vc) {
        memcpy(vc, v.p, v.n);
        uint32_t id = s->hit_overflow ? DT_NONE : list_id(s, db, hc, s->nhit);
        s->memo[i] = (memo_slot){ h, db, vc, (uint32_t)v.n, s->nhit, hc, id };
        s->memo_used++;
        return &s->memo[i];
    }
    if (a == &s->memo_arena)
        s->memo_full = true;
    if (!m)
        return NULL;
    *m = (memo_slot){ 0, db, NULL, 0, s->nhit, hc, DT_NONE };
    return m;
}

static const memo_slot *memo_get(vg_detect_scanner *s, const dt_db *db, vg_str v)
{
    return memo_get_h(s, db, v, 0);
}

static void memo_replay(vg_detect_scanner *s, const dt_db *db, const memo_slot *m)
{
    for (uint32_t k = 0; k < m->nhits; k++)
        on_hit(s, &db->pats[m->hits[k]]);
}

static void on_hit(void *ctx, const dt_pat *p)
{
    vg_detect_scanner *s = ctx;
    const dt_group *g = s->g;
    for (uint32_t k = 0; k < p->ntargets; k++) {
        const dt_target *t = &p->targets[k];
        const dt_item *it = &g->items[t->item];
        if (s->item_true[t->item])
            continue;
        if (t->bit != DT_NONE) {
            uint64_t m = 1ull << (t->bit & 63);
            if (s->allbits[t->bit >> 6] & m)
                continue;
            s->allbits[t->bit >> 6] |= m;
            if (s->item_hits[t->item]++ == 0)
                s->touched_items[s->ntouched_items++] = t->item;
            if (s->item_hits[t->item] < it->ngroups)
                continue;
        } else if (s->item_hits[t->item] == 0) {
            s->item_hits[t->item] = 1;
            s->touched_items[s->ntouched_items++] = t->item;
        }
        s->item_true[t->item] = 1;
        if (it->trigger)
            mark_rule(s, it->rule);
    }
}

/* Scans one value (each element of a JSON array value). */
static void scan_value(vg_detect_scanner *s, const dt_db *db, const dt_val *v)
{
    if (db->npats == 0)
        return;
    if (!v->array) {
        const memo_slot *m = memo_get(s, db, v->v);
        if (m)
            memo_replay(s, db, m);
        return;
    }
    s->stats.scans++;
    vg_json_pull j;
    vg_json_pull_init(&j, v->v, &s->row_arena, NULL);
    if (*j.p != '[')
        return;
    j.p++;
    for (int n = 0; n < 4096; n++) {
        while (j.p < j.end && (*j.p == ' ' || *j.p == ','))
            j.p++;
        if (j.p >= j.end || *j.p == ']')
            return;
        vg_json_val e;
        if (vg_json_pull_value(&j, &e))
            return;
        if (e.kind == VG_JSON_STRING || e.kind == VG_JSON_NUMBER)
            dt_db_scan(db, s->hs_scratch, s->md, e.str, on_hit, s);
    }
}

/*
 * The keyword pseudo-field: every value of the event - its source fields,
 * and for rows that are not Windows events the columns the Sigma->Defender
 * mapping reads - as log backends search a whole message. The values the
 * group's fields read were searched already (their databases hold the
 * keyword patterns); the others are joined by newlines and scanned once. Returns the row's slot (hits and
 * their list id) for the signature and the replay.
 */
static const memo_slot *keyword_hits(vg_detect_scanner *s, const dt_group *g, const vg_batch *b,
                                     uint32_t r)
{
    const dt_field *f = &g->fields[g->kw_field];
    vg_buf *jp = &s->kwbuf;
    vg_buf_clear(jp);
#define j (*jp)
    const dt_db *db = &f->raw_db;
    for (uint32_t i = 0; i < s->nmem; i++) {
        const raw_member *m = &s->mem[i];
        if (s->mem_used[i])
            continue;   /* a field reads it: its database holds the keyword patterns too */
        if (m->kind == VG_JSON_STRING || m->kind == VG_JSON_NUMBER || m->kind == VG_JSON_ARRAY) {
            vg_buf_putstr(&j, m->val);
            vg_buf_putc(&j, '\n');
        }
    }
    if (!s->windows) {
        /* no Windows source record: the columns the Sigma->Defender mapping
         * reads (command lines, paths, version info, accounts), not every
         * identifier column */
        if (!s->nmem)
            db = f->col_shared ? &f->raw_db : &f->col_db;
        const int32_t *cols = g->kw_cols[b->table->id];
        uint32_t nc = g->nkw_cols[b->table->id];
        for (uint32_t k = 0; k < nc; k++) {
            if (vg_batch_is_null(b, cols[k], r))
                continue;
            vg_buf_putstr(&j, b->cols[cols[k]].v.s[r]);
            vg_buf_putc(&j, '\n');
        }
    }
    s->stats.scans++;
    s->nhit = 0;
    s->hit_overflow = false;
    s->cur_db = db;
    dt_db_scan(db, s->hs_scratch, s->md, vg_str_make(j.p ? j.p : "", j.n), on_capture, s);
#undef j
    memo_slot *m = vg_arena_alloc(&s->row_arena, sizeof *m);
    uint32_t *hc = vg_arena_alloc(&s->row_arena, (s->nhit ? s->nhit : 1) * sizeof *hc);
    if (!m || !hc)
        return NULL;
    memcpy(hc, s->hitbuf, s->nhit * sizeof *hc);
    /* the list is interned from the row arena's copy: keep one in the memo */
    uint32_t id = DT_NONE;
    if (!s->hit_overflow) {
        if (s->nhit == 0) {
            id = 0;
        } else {
            uint32_t *kc = vg_arena_alloc(&s->memo_arena, s->nhit * sizeof *kc);
            if (kc) {
                memcpy(kc, hc, s->nhit * sizeof *kc);
                id = list_id(s, db, kc, s->nhit);
            }
        }
    }
    *m = (memo_slot){ 0, db, NULL, 0, s->nhit, hc, id };
    return m;
}

static void clear_marks(vg_detect_scanner *s, const dt_group *g)
{
    for (uint32_t i = 0; i < s->ntouched_items; i++) {
        uint32_t it = s->touched_items[i];
        const dt_item *di = &g->items[it];
        if (di->all && di->ngroups > 1)
            for (uint32_t k = 0; k < di->ngroups; k++) {
                uint32_t bit = di->allbase + k;
                s->allbits[bit >> 6] &= ~(1ull << (bit & 63));
            }
        s->item_true[it] = 0;
        s->item_hits[it] = 0;
    }
    s->ntouched_items = 0;
    for (uint32_t i = 0; i < s->ntouched_rules; i++)
        s->rule_mark[s->touched_rules[i]] = 0;
    s->ntouched_rules = 0;
}

/* Looks a signature up; NULL when absent. */
static const sig_slot *sig_find(const vg_detect_scanner *s, const dt_group *g, uint64_t h,
                                uint32_t *pos)
{
    uint32_t i = (uint32_t)h & (SIG_SLOTS - 1);
    for (;;) {
        const sig_slot *e = &s->sigs[i];
        if (!e->g) {
            *pos = i;
            return NULL;
        }
        if (e->h == h && e->g == g && memcmp(e->ids, s->fids, g->sigwords * sizeof *s->fids) == 0)
            return e;
        i = (i + 1) & (SIG_SLOTS - 1);
    }
}

static void sig_store(vg_detect_scanner *s, const dt_group *g, uint64_t h, uint32_t pos)
{
    if (s->sigs_used >= SIG_SLOTS / 2) {
        s->memo_full = true;   /* everything starts over at the next row */
        return;
    }
    uint32_t *ids = vg_arena_alloc(&s->memo_arena, g->sigwords * sizeof *ids);
    uint32_t *m = vg_arena_alloc(&s->memo_arena,
                                 (s->nmatched + s->nimpure + s->ntouched_items + 1) * sizeof *m);
    if (!ids || !m) {
        s->memo_full = true;
        return;
    }
    memcpy(ids, s->fids, g->sigwords * sizeof *ids);
    memcpy(m, s->matched, s->nmatched * sizeof *m);
    memcpy(m + s->nmatched, s->impure, s->nimpure * sizeof *m);
    /* the true pattern items of the impure rules: enough to evaluate them
     * again without replaying the row's hits */
    uint32_t nit = 0, *its = m + s->nmatched + s->nimpure;
    if (s->nimpure)
        for (uint32_t i = 0; i < s->ntouched_items; i++) {
            uint32_t it = s->touched_items[i];
            if (s->item_true[it] && !g->rules[g->items[it].rule].pure)
                its[nit++] = it;
        }
    s->sigs[pos] = (sig_slot){ h, g, ids, m, s->nmatched, m + s->nmatched, s->nimpure,
                               m + s->nmatched + s->nimpure, nit };
    s->sigs_used++;
}

static void emit(vg_detect_scanner *s, const dt_group *g, uint32_t gi, const vg_batch *b, uint32_t r,
                 vg_detect_match_fn fn, void *ctx)
{
    const vg_detect_rule *dr = &s->det->rules[g->rules[gi].rule];
    if (dr->enabled) {
        s->stats.matches++;
        fn(ctx, dr, b, r);
    }
}

/*
 * One row through one group. The values' hit lists come from the memo;
 * their ids make the row's signature. A row whose signature was seen
 * before, with no rule reading values directly among those it touched,
 * gets the remembered matches without replaying a hit or evaluating a
 * condition - the common case, since most command lines hit nothing and
 * image paths repeat. Else the hits are replayed into item and rule
 * marks and the touched rules evaluated; the pure rules' outcome is
 * remembered under the signature.
 */
static void scan_group(vg_detect_scanner *s, const dt_group *g, const vg_batch *b, uint32_t r,
                       vg_detect_match_fn fn, void *ctx)
{
    s->g = g;
    dt_fill_values(s, g, b, r);
    bool cacheable = true;
    uint64_t h = (uint64_t)(uintptr_t)g * 0x9E3779B97F4A7C15ull;
    /* touch every value, then hash each and prefetch its memo slot: the
     * lookups below then wait for their cache misses together, not one by
     * one */
    for (uint32_t f = 0; f < g->nfields; f++)
        if (s->vals[f].present && s->vals[f].v.p)
            __builtin_prefetch(s->vals[f].v.p);
    for (uint32_t f = 0; f < g->nfields; f++) {
        const dt_val *v = &s->vals[f];
        s->fhash[f] = 0;
        if (f == g->kw_field || !v->present || v->array || v->v.n > MEMO_MAX_VALUE)
            continue;
        const dt_field *fd = &g->fields[f];
        const dt_db *db = v->raw || fd->col_shared ? &fd->raw_db : &fd->col_db;
        if (db->npats == 0)
            continue;
        s->fhash[f] = memo_hash(db, v->v);
        __builtin_prefetch(&s->memo[(uint32_t)s->fhash[f] & (MEMO_SLOTS - 1)]);
    }
    for (uint32_t f = 0; f < g->nfields; f++) {
        const dt_val *v = &s->vals[f];
        s->fslots[f] = NULL;
        s->fids[f] = ABSENT;
        if (f == g->kw_field) {
            const memo_slot *m = keyword_hits(s, g, b, r);
            s->fslots[f] = m;
            s->fids[f] = m ? m->id : DT_NONE;
            if (!m || m->id == DT_NONE)
                cacheable = false;
            h = (h ^ s->fids[f]) * 0x100000001B3ull;
            continue;
        }
        if (!v->present)
            continue;
        const dt_field *fd = &g->fields[f];
        const dt_db *db = v->raw || fd->col_shared ? &fd->raw_db : &fd->col_db;
        if (db->npats == 0) {
            s->fids[f] = v->v.n ? 0 : EMPTY_BIT;
            h = (h ^ s->fids[f]) * 0x100000001B3ull;
            continue;
        }
        if (v->array) {
            cacheable = false;
            continue;
        }
        const memo_slot *m = memo_get_h(s, db, v->v, s->fhash[f]);
        s->fslots[f] = m;
        s->fids[f] = m ? m->id : DT_NONE;
        if (!m || m->id == DT_NONE)
            cacheable = false;
        else if (v->v.n == 0)
            s->fids[f] |= EMPTY_BIT;   /* null tests tell empty from absent-or-not */
        h = (h ^ s->fids[f]) * 0x100000001B3ull;
    }
    /* fieldref items' truth, a bit each, after the field ids */
    for (uint32_t w = g->nfields; w < g->sigwords; w++)
        s->fids[w] = 0;
    for (uint32_t k = 0; k < g->nsig_items; k++)
        if (dt_direct_item(s, &g->items[g->sig_items[k]]))
            s->fids[g->nfields + (k >> 5)] |= 1u << (k & 31);
    for (uint32_t w = g->nfields; w < g->sigwords; w++)
        h = (h ^ s->fids[w]) * 0x100000001B3ull;
    uint32_t pos = 0;
    const sig_slot *seen = cacheable ? sig_find(s, g, h, &pos) : NULL;
    if (cacheable)
        *(seen ? (seen->nimpure ? &s->stats.sig_partial : &s->stats.sig_hits) : &s->stats.sig_new) += 1;
    else
        s->stats.sig_uncacheable++;
    if (seen) {
        for (uint32_t i = 0; i < seen->nmatches; i++)
            emit(s, g, seen->matches[i], b, r, fn, ctx);
        if (!seen->nimpure)
            return;
        /* the pure rules are answered; those reading values run on the
         * remembered item truth and the row's own values */
        for (uint32_t i = 0; i < seen->nitems; i++) {
            uint32_t it = seen->items[i];
            s->item_true[it] = 1;
            s->item_hits[it] = 1;
            s->touched_items[s->ntouched_items++] = it;
        }
        for (uint32_t i = 0; i < seen->nimpure; i++)
            if (dt_rule_true(s, g, &g->rules[seen->impure[i]]))
                emit(s, g, seen->impure[i], b, r, fn, ctx);
        for (uint32_t i = 0; i < seen->nitems; i++) {
            s->item_true[seen->items[i]] = 0;
            s->item_hits[seen->items[i]] = 0;
        }
        s->ntouched_items = 0;
        return;
    }
    for (uint32_t f = 0; f < g->nfields; f++) {
        const dt_val *v = &s->vals[f];
        if (f == g->kw_field) {
            if (s->fslots[f])
                memo_replay(s, s->fslots[f]->db, s->fslots[f]);
            continue;
        }
        if (!v->present)
            continue;
        const dt_field *fd = &g->fields[f];
        const dt_db *db = v->raw || fd->col_shared ? &fd->raw_db : &fd->col_db;
        if (s->fslots[f])
            memo_replay(s, db, s->fslots[f]);
        else if (v->array)
            scan_value(s, db, v);
    }
    for (uint32_t k = 0; k < g->nalways; k++)
        mark_rule(s, g->always[k]);
    /* in rule order, so that matches come out deterministically */
    uint32_t n = s->ntouched_rules;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = s->touched_rules[i], j = i;
        while (j > 0 && s->touched_rules[j - 1] > x) {
            s->touched_rules[j] = s->touched_rules[j - 1];
            j--;
        }
        s->touched_rules[j] = x;
    }
    s->nmatched = s->nimpure = 0;
    {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t gi = s->touched_rules[i];
            const dt_grule *gr = &g->rules[gi];
            if (!gr->pure)
                s->impure[s->nimpure++] = gi;
            if (dt_rule_true(s, g, gr)) {
                if (gr->pure)
                    s->matched[s->nmatched++] = gi;
                emit(s, g, gi, b, r, fn, ctx);
            }
        }
        if (cacheable)
            sig_store(s, g, h, pos);
    }
    clear_marks(s, g);
}

static bool win_cond_ok(const vg_detect_scanner *s, const dt_route *rt, vg_str chan, vg_str id)
{
    for (uint32_t k = 0; k < rt->nwin; k++) {
        const dt_win_key *w = &rt->win[k];
        if (!vg_str_eqc_ci(chan, w->channel))
            continue;
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d", w->eventid);
        if (w->eventid >= 0 && !vg_str_eq(id, vg_str_make(buf, (size_t)n)))
            continue;
        if (!w->cond_field)
            return true;
        const raw_member *m = dt_raw_get(s, w->cond_field);
        if (m && vg_str_eqc_ci(m->val, w->cond_value))
            return true;
    }
    return false;
}

static const dt_glist *route_lookup(const vg_map *m, vg_arena *a, vg_str head, const char *tail,
                                    size_t tn)
{
    vg_str key = dt_route_key(a, head.p, head.n, tail, tn);
    bool found;
    return key.p ? vg_map_get(m, key, &found) : NULL;
}

vg_err vg_detect_scan(vg_detect_scanner *s, const vg_batch *b, vg_detect_match_fn fn, void *ctx,
                      vg_diag *d)
{
    const vg_detect *det = s->det;
    int act_col = vg_schema_col(b->table, vg_str_c("ActionType"));
    int fp_col = vg_schema_col(b->table, vg_str_c("FolderPath"));
    int ifp_col = vg_schema_col(b->table, vg_str_c("InitiatingProcessFolderPath"));
    for (uint32_t r = 0; r < b->nrows; r++) {
        vg_arena_reset(&s->row_arena);
        if (s->memo_full)
            memo_reset(s);   /* between rows: no slot of this row is in use */
        s->stats.rows++;
        dt_read_raw(s, b->has_raw ? b->raw[r] : VG_STR_NULL);
        const raw_member *chan = dt_raw_get(s, "Channel");
        s->windows = chan && chan->kind == VG_JSON_STRING;
        const dt_glist *lists[2] = { NULL, NULL };
        vg_str cv = VG_STR_NULL, idv = VG_STR_NULL;
        vg_str k1 = VG_STR_NULL, k2 = VG_STR_NULL;   /* the route key's parts */
        if (chan && chan->kind == VG_JSON_STRING) {
            const raw_member *id = dt_raw_get(s, "EventID");
            cv = chan->val;
            idv = id ? vg_str_trim(id->val) : VG_STR_NULL;
            k1 = cv;
            k2 = idv;
        } else {
            k2 = act_col >= 0 ? dt_col_text(&s->row_arena, b, act_col, r) : VG_STR_NULL;
        }
        /* rows of a batch mostly share their route: compare with the last */
        if (s->rt_table == b->table && s->rt_windows == s->windows && k1.n + k2.n + 1 <= sizeof s->rt_key &&
            s->rt_keyn == k1.n + 1 + k2.n && memcmp(s->rt_key, k1.p ? k1.p : "", k1.n) == 0 &&
            s->rt_key[k1.n] == (k2.p ? 1 : 0) && memcmp(s->rt_key + k1.n + 1, k2.p ? k2.p : "", k2.n) == 0) {
            lists[0] = s->rt_lists[0];
            lists[1] = s->rt_lists[1];
        } else {
            if (s->windows) {
                if (idv.p)
                    lists[0] = route_lookup(&det->win_routes, &s->row_arena, cv, idv.p, idv.n);
                lists[1] = route_lookup(&det->win_routes, &s->row_arena, cv, "*", 1);
            } else {
                vg_str tn = vg_str_c(b->table->name);
                if (k2.p)
                    lists[0] = route_lookup(&det->nat_routes, &s->row_arena, tn, k2.p, k2.n);
                lists[1] = route_lookup(&det->nat_routes, &s->row_arena, tn, "*", 1);
            }
            s->rt_table = NULL;
            if (k1.n + k2.n + 1 <= sizeof s->rt_key) {
                memcpy(s->rt_key, k1.p ? k1.p : "", k1.n);
                s->rt_key[k1.n] = k2.p ? 1 : 0;
                memcpy(s->rt_key + k1.n + 1, k2.p ? k2.p : "", k2.n);
                s->rt_keyn = k1.n + 1 + k2.n;
                s->rt_table = b->table;
                s->rt_windows = s->windows;
                s->rt_lists[0] = lists[0];
                s->rt_lists[1] = lists[1];
            }
        }
        int os = -1;
        for (int l = 0; l < 2; l++) {
            if (!lists[l])
                continue;
            for (uint32_t k = 0; k < lists[l]->n; k++) {
                const dt_group *g = &det->groups[lists[l]->g[k]];
                if (cv.p && l == 0 && !win_cond_ok(s, &g->route, cv, idv))
                    continue;
                if (!cv.p && g->ls.product.p) {
                    if (os < 0)
                        os = dt_row_os(b, r, fp_col, ifp_col);
                    if (!dt_product_ok(&g->ls, os))
                        continue;
                }
                scan_group(s, g, b, r, fn, ctx);
            }
        }
    }
    (void)d;
    return VG_OK;
}

