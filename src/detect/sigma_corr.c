/*
 * sigma_corr.c - the Sigma correlation engine at run time: offering hits,
 * evaluating windows, firing, and moving the clock (see sigma_corr.h for the
 * semantics; sigma_corr_build.c compiles the rules into the tables used
 * here).
 *
 * The state is per correlation: an open-addressing hash table (XXH3 of the
 * encoded group key, linear probing, backward-shift deletion) of groups, a
 * least-recently-updated list over the same groups for eviction, and per
 * group an array of events kept sorted by timestamp. Groups and their event
 * arrays come and go with the traffic, so they are heap allocations freed
 * one by one (an arena would only grow); every such allocation is bounded by
 * max_groups x max_events. Invariants are in sigma_corr_int.h.
 */
#include "sigma_corr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "sigma_corr_int.h"

/* ---- small helpers ---- */

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

bool cr_rule_index(const sg_corr_engine *e, const sg_rule *r, uint32_t *out)
{
    uintptr_t base = (uintptr_t)e->rs->rules, p = (uintptr_t)r;
    if (!r || !e->rs->nrules || p < base)
        return false;
    uintptr_t off = p - base;
    if (off % sizeof(sg_rule) || off / sizeof(sg_rule) >= e->rs->nrules)
        return false;
    *out = (uint32_t)(off / sizeof(sg_rule));
    return true;
}

static bool scratch_need(cr_corr *cc, size_t bytes)
{
    if (bytes <= cc->scratch_cap)
        return true;
    size_t cap = cc->scratch_cap ? cc->scratch_cap : 256;
    while (cap < bytes)
        cap *= 2;
    void *p = realloc(cc->scratch, cap);
    if (!p)
        return false;
    cc->scratch = p;
    cc->scratch_cap = cap;
    return true;
}

/* First index in g whose ts >= t. */
static uint32_t lower_bound(const cr_group *g, int64_t t)
{
    uint32_t lo = 0, hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->ev[mid].ts < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index in g whose ts > t. */
static uint32_t upper_bound(const cr_group *g, int64_t t)
{
    uint32_t lo = 0, hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->ev[mid].ts <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Removes events [lo, hi] (inclusive). */
static void consume(cr_group *g, uint32_t lo, uint32_t hi)
{
    if (lo == 0) {   /* from the front: no copy */
        g->ev += hi + 1;
        g->n -= hi + 1;
        return;
    }
    memmove(g->ev + lo, g->ev + hi + 1, (size_t)(g->n - hi - 1) * sizeof *g->ev);
    g->n -= hi - lo + 1;
}

/* ---- the group table ---- */

static cr_group *group_find(const cr_corr *cc, uint64_t h, const char *key, size_t n)
{
    if (!cc->cap)
        return NULL;
    size_t mask = cc->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        cr_group *g = cc->slots[i];
        if (!g)
            return NULL;
        if (g->hash == h && g->keylen == n && (n == 0 || memcmp(g->key, key, n) == 0))
            return g;
    }
}

static void slot_put(cr_group **slots, size_t cap, cr_group *g)
{
    size_t i = g->hash & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = g;
}

static vg_err table_grow(cr_corr *cc)
{
    if ((cc->len + 1) * 2 <= cc->cap)
        return VG_OK;
    size_t ncap = cc->cap ? cc->cap * 2 : CR_GROUP_SLOTS_MIN;
    cr_group **ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return VG_ENOMEM;
    for (size_t i = 0; i < cc->cap; i++)
        if (cc->slots[i])
            slot_put(ns, ncap, cc->slots[i]);
    free(cc->slots);
    cc->slots = ns;
    cc->cap = ncap;
    return VG_OK;
}

static void lru_unlink(cr_corr *cc, cr_group *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        cc->lru_head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        cc->lru_tail = g->prev;
    g->prev = g->next = NULL;
}

static void lru_append(cr_corr *cc, cr_group *g)
{
    g->prev = cc->lru_tail;
    g->next = NULL;
    if (cc->lru_tail)
        cc->lru_tail->next = g;
    else
        cc->lru_head = g;
    cc->lru_tail = g;
}

/* Takes g out of the table (backward-shift deletion) and the LRU list, and frees it. */
void cr_group_free(cr_corr *cc, cr_group *g)
{
    size_t mask = cc->cap - 1, i = g->hash & mask;
    while (cc->slots[i] != g)
        i = (i + 1) & mask;
    cc->slots[i] = NULL;
    for (size_t j = (i + 1) & mask; cc->slots[j]; j = (j + 1) & mask) {
        size_t home = cc->slots[j]->hash & mask;
        /* The entry at j may move to the hole at i unless its home lies
         * cyclically in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            cc->slots[i] = cc->slots[j];
            cc->slots[j] = NULL;
            i = j;
        }
    }
    cc->len--;
    lru_unlink(cc, g);
    free(g->base);
    free(g);
}

/* A new group for the key in cc->key, evicting the least recently updated
 * group when the table is full. */
static vg_err group_new(sg_corr_engine *e, cr_corr *cc, uint64_t h, cr_group **out)
{
    if (cc->len >= e->max_groups && cc->lru_head) {
        cr_group_free(cc, cc->lru_head);
        e->st.groups_evicted++;
    }
    vg_err err = table_grow(cc);
    if (err)
        return err;
    uint32_t ng = cc->c->ngroup_by;
    size_t keylen = cc->key.n;
    cr_group *g = calloc(1, sizeof *g + ng * sizeof(vg_str) + keylen + 1);
    if (!g)
        return VG_ENOMEM;
    g->vals = (vg_str *)(g + 1);
    char *key = (char *)(g->vals + ng);
    if (keylen)
        memcpy(key, cc->key.p, keylen);
    g->key = key;
    g->keylen = keylen;
    g->hash = h;
    size_t pos = 0;
    for (uint32_t k = 0; k < ng; k++) {
        uint32_t len;
        memcpy(&len, key + pos, sizeof len);
        g->vals[k] = vg_str_make(key + pos + sizeof len, len);
        pos += sizeof len + len + 1;
    }
    slot_put(cc->slots, cc->cap, g);
    cc->len++;
    lru_append(cc, g);
    *out = g;
    return VG_OK;
}

/* Inserts ev after every event with ts <= ev->ts; returns its index. */
static vg_err group_insert(sg_corr_engine *e, cr_group *g, const cr_ev *ev, uint32_t *pos)
{
    if (g->n >= e->max_events) {
        consume(g, 0, 0);
        e->st.events_evicted++;
    }
    if (g->ev + g->n == g->base + g->cap) {
        uint32_t gap = (uint32_t)(g->ev - g->base);
        if (gap && gap >= g->cap / 2) {
            memmove(g->base, g->ev, (size_t)g->n * sizeof *g->ev);
        } else {
            /* cap < 2 * max_events here: n <= max_events - 1 and the gap is
             * under cap / 2, so cap = gap + n < cap / 2 + max_events. */
            uint32_t ncap = g->cap ? g->cap * 2 : CR_EVENTS_MIN;
            if (ncap > 2 * e->max_events)
                ncap = 2 * e->max_events;
            cr_ev *p = realloc(g->base, (size_t)ncap * sizeof *p);
            if (!p)
                return VG_ENOMEM;
            if (gap)
                memmove(p, p + gap, (size_t)g->n * sizeof *p);
            g->cap = ncap;
            g->base = p;
        }
        g->ev = g->base;
    }
    uint32_t i = upper_bound(g, ev->ts);
    memmove(g->ev + i + 1, g->ev + i, (size_t)(g->n - i) * sizeof *g->ev);
    g->ev[i] = *ev;
    g->n++;
    *pos = i;
    return VG_OK;
}

/* ---- evaluating one window ev[lo..hi] ---- */

static bool bounds_hold(const sg_corr *c, double v)
{
    for (uint32_t i = 0; i < c->nbounds; i++) {
        double b = c->bounds[i].value;
        bool ok = false;
        switch (c->bounds[i].cmp) {
        case SG_CMP_GT: ok = v > b; break;
        case SG_CMP_GTE: ok = v >= b; break;
        case SG_CMP_LT: ok = v < b; break;
        case SG_CMP_LTE: ok = v <= b; break;
        case SG_CMP_EQ: ok = v == b; break;
        case SG_CMP_NEQ: ok = v != b; break;
        }
        if (!ok)
            return false;
    }
    return true;
}

typedef struct cr_hslot {
    uint64_t a, b, gen;   /* occupied in this count when gen == cr_corr.gen */
} cr_hslot;

static bool distinct_count(cr_corr *cc, const cr_group *g, uint32_t lo, uint32_t hi, double *out)
{
    size_t w = (size_t)hi - lo + 1, cap = CR_GROUP_SLOTS_MIN;
    while (cap < 2 * w)
        cap *= 2;
    size_t old = cc->scratch_cap / sizeof(cr_hslot);
    if (!scratch_need(cc, cap * sizeof(cr_hslot)))
        return false;
    cr_hslot *s = cc->scratch;
    /* A value_count correlation uses its scratch only here: clear it when it
     * grows (or the generation wraps); otherwise a new generation empties
     * the table without a memset. */
    if (cc->scratch_cap / sizeof(cr_hslot) != old || ++cc->gen == 0) {
        memset(s, 0, cc->scratch_cap);
        cc->gen = 1;
    }
    uint64_t gen = cc->gen;
    size_t distinct = 0;
    for (uint32_t i = lo; i <= hi; i++) {
        const cr_ev *ev = &g->ev[i];
        size_t j = ev->vh[0] & (cap - 1);
        while (s[j].gen == gen && !(s[j].a == ev->vh[0] && s[j].b == ev->vh[1]))
            j = (j + 1) & (cap - 1);
        if (s[j].gen != gen) {
            s[j] = (cr_hslot){ ev->vh[0], ev->vh[1], gen };
            distinct++;
        }
    }
    *out = (double)distinct;
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool percentile(cr_corr *cc, const cr_group *g, uint32_t lo, uint32_t hi, double *out)
{
    size_t w = (size_t)hi - lo + 1;
    if (!scratch_need(cc, w * sizeof(double)))
        return false;
    double *v = cc->scratch;
    for (size_t i = 0; i < w; i++)
        v[i] = g->ev[lo + i].num;
    qsort(v, w, sizeof *v, cmp_double);
    double p = cc->c->percentile < 0 ? 0 : cc->c->percentile > 100 ? 100 : cc->c->percentile;
    double rank = p / 100.0 * (double)(w - 1);
    size_t r = (size_t)floor(rank);
    double frac = rank - (double)r;
    *out = r + 1 < w ? v[r] + (v[r + 1] - v[r]) * frac : v[r];
    return true;
}

/* temporal: the first event of each rule; temporal_ordered: the greedy
 * match of the listed sequence. Indices (ascending) into keys, at most
 * SG_CORR_MAX_EVIDENCE; the number of rules / sequence steps matched in
 * *matched. Needs nuniq bytes of scratch for temporal (checked by caller). */
static uint32_t temporal_keys(cr_corr *cc, const cr_group *g, uint32_t lo, uint32_t hi,
                              uint32_t *keys, uint32_t *matched)
{
    uint32_t nkeys = 0, m = 0;
    if (cc->c->type == SG_CORR_TEMPORAL) {
        unsigned char *seen = cc->scratch;
        memset(seen, 0, cc->nuniq);
        for (uint32_t i = lo; i <= hi && m < cc->nuniq; i++) {
            if (seen[g->ev[i].u])
                continue;
            seen[g->ev[i].u] = 1;
            m++;
            if (keys && nkeys < SG_CORR_MAX_EVIDENCE)
                keys[nkeys++] = i;
        }
    } else {
        for (uint32_t i = lo; i <= hi && m < cc->c->nrules; i++) {
            if (g->ev[i].u != cc->seq[m])
                continue;
            m++;
            if (keys && nkeys < SG_CORR_MAX_EVIDENCE)
                keys[nkeys++] = i;
        }
    }
    *matched = m;
    return nkeys;
}

/* Whether the correlation's condition holds over ev[lo..hi], and its value.
 * *err is set when scratch memory ran out. */
static bool window_holds(cr_corr *cc, const cr_group *g, uint32_t lo, uint32_t hi, double *value,
                         vg_err *err)
{
    const sg_corr *c = cc->c;
    double v = 0;
    switch (c->type) {
    case SG_CORR_EVENT_COUNT:
        v = (double)(hi - lo + 1);
        break;
    case SG_CORR_VALUE_COUNT:
        if (!distinct_count(cc, g, lo, hi, &v))
            goto nomem;
        break;
    case SG_CORR_VALUE_SUM:
    case SG_CORR_VALUE_AVG:
        for (uint32_t i = lo; i <= hi; i++)
            v += g->ev[i].num;
        if (c->type == SG_CORR_VALUE_AVG)
            v /= (double)(hi - lo + 1);
        break;
    case SG_CORR_VALUE_PERCENTILE:
        if (!percentile(cc, g, lo, hi, &v))
            goto nomem;
        break;
    case SG_CORR_TEMPORAL:
    case SG_CORR_TEMPORAL_ORDERED: {
        uint32_t m;
        if (!scratch_need(cc, cc->nuniq))
            goto nomem;
        temporal_keys(cc, g, lo, hi, NULL, &m);
        *value = m;
        if (!c->nbounds)
            return m == (c->type == SG_CORR_TEMPORAL ? cc->nuniq : c->nrules);
        return bounds_hold(c, m);
    }
    }
    *value = v;
    return bounds_hold(c, v);
nomem:
    *err = VG_ENOMEM;
    return false;
}

/* ---- firing ---- */

static vg_err offer_rule(sg_corr_engine *e, uint32_t ri, const sg_corr_hit *h, sg_corr_emit_fn emit,
                         void *ctx, uint32_t depth);

typedef struct cr_chain {
    const cr_corr *cc;
    const sg_corr_alert *a;
} cr_chain;

/* Field reads of a chained hit: the inner correlation's group-by values. */
static vg_err chain_field(void *ctx, vg_str name, vg_str *out)
{
    const cr_chain *ch = ctx;
    for (uint32_t k = 0; k < ch->cc->c->ngroup_by; k++)
        if (vg_str_eq(ch->cc->c->group_by[k], name)) {
            *out = ch->a->group[k];
            return VG_OK;
        }
    return VG_ENOTFOUND;
}

/* Up to SG_CORR_MAX_EVIDENCE event refs of ev[lo..hi] in time order: for
 * temporal types the events that made the sequence first, then the others
 * from the oldest while room is left. */
static uint32_t evidence(cr_corr *cc, const cr_group *g, uint32_t lo, uint32_t hi, uint64_t *out)
{
    uint32_t keys[SG_CORR_MAX_EVIDENCE], nkeys = 0, m, nout = 0, kp = 0;
    if (hi - lo + 1 <= SG_CORR_MAX_EVIDENCE) {
        for (uint32_t i = lo; i <= hi; i++)
            out[nout++] = g->ev[i].ref;
        return nout;
    }
    if (cc->c->type == SG_CORR_TEMPORAL || cc->c->type == SG_CORR_TEMPORAL_ORDERED)
        nkeys = temporal_keys(cc, g, lo, hi, keys, &m);   /* scratch sized by window_holds */
    for (uint32_t i = lo; i <= hi && nout < SG_CORR_MAX_EVIDENCE; i++) {
        if (kp < nkeys && keys[kp] == i) {
            out[nout++] = g->ev[i].ref;
            kp++;
        } else if (nout + (nkeys - kp) < SG_CORR_MAX_EVIDENCE) {
            out[nout++] = g->ev[i].ref;
        }
    }
    return nout;
}

/* Emits the alert for ev[lo..hi] and offers it to the correlations on top
 * of this one. The caller consumes the window afterwards. */
static vg_err fire(sg_corr_engine *e, cr_corr *cc, const cr_group *g, uint32_t lo, uint32_t hi,
                   double value, sg_corr_emit_fn emit, void *ctx, uint32_t depth)
{
    uint64_t refs[SG_CORR_MAX_EVIDENCE];
    sg_corr_alert a = {
        .rule = cc->rule,
        .first_ts = g->ev[lo].ts,
        .last_ts = g->ev[hi].ts,
        .group = g->vals,
        .value = value,
        .events = refs,
        .nevents = evidence(cc, g, lo, hi, refs),
    };
    e->st.alerts++;
    if (emit)
        emit(ctx, &a);
    uint32_t ri;
    if (depth >= SG_CORR_MAX_CHAIN || !cr_rule_index(e, cc->rule, &ri)
        || e->disp_start[ri] == e->disp_start[ri + 1])
        return VG_OK;
    cr_chain ch = { cc, &a };
    sg_corr_hit h = {
        .rule = cc->rule,
        .ts = a.last_ts,
        .field = chain_field,
        .field_ctx = &ch,
        .event_ref = a.nevents ? refs[a.nevents - 1] : 0,
    };
    return offer_rule(e, ri, &h, emit, ctx, depth + 1);
}

/* Eager conditions: every window that ends at an event and contains the
 * new event at pos, earliest end first; fires on the first that holds and
 * consumes it. */
static vg_err check_eager(sg_corr_engine *e, cr_corr *cc, cr_group *g, uint32_t pos,
                          sg_corr_emit_fn emit, void *ctx, uint32_t depth)
{
    int64_t span = cc->c->timespan, limit = sat_add(g->ev[pos].ts, span);
    for (uint32_t j = pos; j < g->n && g->ev[j].ts <= limit; j++) {
        while (j + 1 < g->n && g->ev[j + 1].ts == g->ev[j].ts)
            j++;
        uint32_t lo = lower_bound(g, sat_sub(g->ev[j].ts, span));
        double v;
        vg_err err = VG_OK;
        if (window_holds(cc, g, lo, j, &v, &err)) {
            err = fire(e, cc, g, lo, j, v, emit, ctx, depth);
            consume(g, lo, j);
            return err;
        }
        if (err)
            return err;
    }
    return VG_OK;
}

/* Drops events that can share no window with an acceptable future event. */
static void expire(cr_corr *cc, cr_group *g, int64_t horizon)
{
    uint32_t k = lower_bound(g, sat_sub(horizon, cc->c->timespan));
    if (k)
        consume(g, 0, k - 1);
}

/* Closing conditions: decides every window [t0, t0 + timespan] that ended
 * before horizon. */
static vg_err close_windows(sg_corr_engine *e, cr_corr *cc, cr_group *g, int64_t horizon,
                            sg_corr_emit_fn emit, void *ctx)
{
    vg_err err = VG_OK;
    while (g->n && sat_add(g->ev[0].ts, cc->c->timespan) < horizon) {
        uint32_t hi = upper_bound(g, sat_add(g->ev[0].ts, cc->c->timespan)) - 1;
        double v;
        if (window_holds(cc, g, 0, hi, &v, &err))
            err = fire(e, cc, g, 0, hi, v, emit, ctx, 0);
        consume(g, 0, hi);
        if (err)
            break;
    }
    return err;
}

/* ---- offering ---- */

static vg_err read_field(const sg_corr_hit *h, vg_str name, vg_str *out)
{
    if (!h->field)
        return VG_ENOTFOUND;
    return h->field(h->field_ctx, name, out);
}

/* The hit's value for the counted field; false when the hit does not count. */
static vg_err hit_value(const cr_corr *cc, uint32_t u, const sg_corr_hit *h, cr_ev *ev, bool *counts)
{
    vg_str v;
    *counts = true;
    if (cc->c->type == SG_CORR_EVENT_COUNT || cc->c->type == SG_CORR_TEMPORAL
        || cc->c->type == SG_CORR_TEMPORAL_ORDERED)
        return VG_OK;
    vg_err err = read_field(h, cc->vfield[u], &v);
    if (err == VG_ENOTFOUND) {
        *counts = false;
        return VG_OK;
    }
    if (err)
        return err;
    if (cc->c->type == SG_CORR_VALUE_COUNT) {
        XXH128_hash_t x = XXH3_128bits(v.p, v.n);
        ev->vh[0] = x.low64;
        ev->vh[1] = x.high64;
        return VG_OK;
    }
    double d = 0;
    *counts = vg_str_to_double(vg_str_trim(v), &d) == VG_OK && isfinite(d);
    ev->num = d;
    return VG_OK;
}

/* Encodes the hit's group-by values into cc->key. */
static vg_err hit_key(cr_corr *cc, uint32_t u, const sg_corr_hit *h)
{
    uint32_t ng = cc->c->ngroup_by;
    vg_buf_clear(&cc->key);
    for (uint32_t k = 0; k < ng; k++) {
        vg_str v = VG_STR_NULL;
        vg_err err = read_field(h, cc->gfield[(size_t)u * ng + k], &v);
        if (err == VG_ENOTFOUND)
            v = VG_STR_NULL;
        else if (err)
            return err;
        if (v.n > SG_CORR_MAX_VALUE)
            v.n = SG_CORR_MAX_VALUE;
        uint32_t len = (uint32_t)v.n;
        vg_buf_put(&cc->key, &len, sizeof len);
        vg_buf_put(&cc->key, v.p, v.n);
        vg_buf_putc(&cc->key, '\0');
    }
    return cc->key.failed ? VG_ENOMEM : VG_OK;
}

static vg_err corr_add(sg_corr_engine *e, cr_corr *cc, uint32_t u, const sg_corr_hit *h,
                       sg_corr_emit_fn emit, void *ctx, uint32_t depth)
{
    cr_ev ev = { .ts = h->ts, .ref = h->event_ref, .u = u };
    bool counts;
    vg_err err = hit_value(cc, u, h, &ev, &counts);
    if (err || !counts)
        return err;
    if ((err = hit_key(cc, u, h)))
        return err;
    uint64_t hash = XXH3_64bits(cc->key.p, cc->key.n);
    cr_group *g = group_find(cc, hash, cc->key.p, cc->key.n);
    if (g) {
        lru_unlink(cc, g);
        lru_append(cc, g);
    } else if ((err = group_new(e, cc, hash, &g))) {
        return err;
    }
    if (cc->eager)
        expire(cc, g, sat_sub(e->wm, e->lateness));
    uint32_t pos;
    err = group_insert(e, g, &ev, &pos);
    if (!err && cc->eager)
        err = check_eager(e, cc, g, pos, emit, ctx, depth);
    if (g->n == 0) {
        cr_group_free(cc, g);
    } else {
        int64_t due = sat_add(g->ev[0].ts, cc->c->timespan);
        if (due < cc->next_due)
            cc->next_due = due;
    }
    return err;
}

static vg_err offer_rule(sg_corr_engine *e, uint32_t ri, const sg_corr_hit *h, sg_corr_emit_fn emit,
                         void *ctx, uint32_t depth)
{
    for (uint32_t i = e->disp_start[ri]; i < e->disp_start[ri + 1]; i++) {
        const cr_disp *d = &e->disp[i];
        vg_err err = corr_add(e, &e->corrs[d->corr], d->u, h, emit, ctx, depth);
        if (err)
            return err;
    }
    return VG_OK;
}

bool sg_corr_wants(const sg_corr_engine *e, const sg_rule *r)
{
    uint32_t ri;
    return e && cr_rule_index(e, r, &ri) && e->disp_start[ri] != e->disp_start[ri + 1];
}

vg_err sg_corr_offer(sg_corr_engine *e, const sg_corr_hit *h, sg_corr_emit_fn emit, void *ctx)
{
    if (!e || !h)
        return VG_EINVAL;
    uint32_t ri;
    if (!cr_rule_index(e, h->rule, &ri) || e->disp_start[ri] == e->disp_start[ri + 1])
        return VG_OK;
    e->st.hits++;
    if (e->have_wm && h->ts < sat_sub(e->wm, e->lateness)) {
        e->st.late_dropped++;
        return VG_OK;
    }
    if (!e->have_wm || h->ts > e->wm) {
        e->wm = h->ts;
        e->have_wm = true;
    }
    return offer_rule(e, ri, h, emit, ctx, 0);
}

vg_err sg_corr_advance(sg_corr_engine *e, int64_t now, sg_corr_emit_fn emit, void *ctx)
{
    if (!e)
        return VG_EINVAL;
    if (!e->have_wm || now > e->wm) {
        e->wm = now;
        e->have_wm = true;
    }
    int64_t horizon = sat_sub(e->wm, e->lateness);
    vg_err err = VG_OK;
    for (uint32_t i = 0; i < e->ncorrs; i++) {
        cr_corr *cc = &e->corrs[i];
        if (cc->next_due >= horizon)
            continue;
        int64_t due = INT64_MAX;
        cr_group *next;
        for (cr_group *g = cc->lru_head; g; g = next) {
            next = g->next;
            if (cc->eager)
                expire(cc, g, horizon);
            else if (!err)
                err = close_windows(e, cc, g, horizon, emit, ctx);
            if (g->n == 0) {
                cr_group_free(cc, g);
            } else {
                int64_t d = sat_add(g->ev[0].ts, cc->c->timespan);
                if (d < due)
                    due = d;
            }
        }
        cc->next_due = due;
    }
    return err;
}

void sg_corr_get_stats(const sg_corr_engine *e, sg_corr_stats *out)
{
    if (e)
        *out = e->st;
    else
        memset(out, 0, sizeof *out);
}
