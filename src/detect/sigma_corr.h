/*
 * sigma_corr.h - correlation rules (Sigma specification v2): event_count,
 * value_count, temporal, temporal_ordered, value_sum, value_avg,
 * value_percentile over the matches of other rules.
 *
 * The detection engine offers every match of a base rule (a rule some
 * correlation refers to, by name or id) with its timestamp and a way to read
 * the event's fields; the correlation engine keeps per-group state in
 * memory, bounded by sg_corr_opts, and calls emit when a correlation's
 * condition holds. Events may arrive out of order by up to `lateness`
 * (ticks) behind the newest timestamp seen (the watermark); older ones are
 * counted as late and dropped. Conditions that can only be decided when a
 * window closes (lt/lte, "fewer than") are decided by sg_corr_advance().
 *
 * One sg_corr_engine is used by one thread at a time.
 * Ownership: the engine borrows the sg_ruleset (it must outlive the engine);
 * strings in an sg_corr_alert are valid only during the emit call.
 */
#ifndef VG_SIGMA_CORR_H
#define VG_SIGMA_CORR_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "sigma.h"

/* Limits (named so that hitting one is reported, never a crash). */
#define SG_CORR_MAX_GROUPS_DEFAULT 100000    /* groups held per correlation rule */
#define SG_CORR_MAX_EVENTS_DEFAULT 10000     /* events held per group */
#define SG_CORR_MAX_EVIDENCE 32              /* event refs carried into one alert */
#define SG_CORR_MAX_VALUE 4096               /* bytes of one group-by / counted value */
#define SG_CORR_MAX_CHAIN 8                  /* correlations stacked on correlations */
#define SG_CORR_LATENESS_DEFAULT (300LL * 10000000LL)   /* 5 minutes in ticks */

/*
 * Semantics (the choices the specification leaves open):
 *
 * - Window: events a and b are in one window when |ts(a) - ts(b)| <=
 *   timespan (both edges inclusive): a window ending at t covers
 *   [t - timespan, t].
 * - Missing group-by field: the group value is the empty string (such
 *   events group together, as KQL's summarize and Elastic's terms with a
 *   missing value do). Values longer than SG_CORR_MAX_VALUE are cut there.
 *   Aliases: an alias name in group-by (or as the counted field) reads, for
 *   events of rule R, the alias's field for R; when the alias has no entry
 *   for R, the alias name itself is read.
 * - value_count ignores events without the field (COUNT(DISTINCT) ignores
 *   NULL); values are told apart by XXH3-128 of the whole value.
 *   value_sum/avg/percentile ignore events whose field is absent or not a
 *   finite number. Percentile interpolates linearly between ranks.
 * - temporal without bounds: every referenced rule matched; with bounds,
 *   they apply to the number of distinct rules matched. temporal_ordered
 *   without bounds: the listed sequence occurred in time order (equal
 *   timestamps count in arrival order); with bounds, they apply to the
 *   length of the matched prefix of the sequence.
 * - Eager conditions (every bound gt/gte, or temporal without bounds):
 *   checked at each hit for every window that ends at an event and contains
 *   the new event; fire on the first (earliest-ending) that holds. The
 *   events of a window that fired are consumed (removed from the group):
 *   each event contributes to at most one alert of a correlation, so a
 *   burst alerts once, and again only when the condition holds anew
 *   without them.
 * - Closing conditions (any bound lt/lte/eq/neq): tumbling windows anchored
 *   at the group's oldest held event, [t0, t0 + timespan], decided by
 *   sg_corr_advance() once t0 + timespan < watermark - lateness; the
 *   window's events are then dropped whether it fired or not, and the next
 *   window starts at the next event. A group exists only once an event
 *   arrived, so "lt: N" means 1..N-1 events.
 * - Chaining: an alert of a correlation C is offered as a hit of C to the
 *   correlations that refer to C, at the alert's last_ts, event_ref the
 *   last evidence ref; its fields are C's group-by names -> values. Chained
 *   hits are never dropped as late. Cycles fail sg_corr_new (VG_EINVAL),
 *   stacks deeper than SG_CORR_MAX_CHAIN too (VG_ELIMIT).
 * - Bounds: a new group beyond max_groups evicts the least recently
 *   updated group (stats.groups_evicted); an event beyond max_events evicts
 *   the group's oldest (stats.events_evicted). Events that no longer fit a
 *   window with any acceptable future event are freed as time moves; the
 *   caller should call sg_corr_advance() regularly (every batch).
 * - sg_corr_hit.rule must point into rs->rules.
 * - Cost per hit (in-order): event_count and temporal O(log n) plus the
 *   window scan of temporal types; value_count, value_sum and value_avg
 *   O(window); value_percentile O(window log window) (it sorts). A group's
 *   event array holds up to 2 x max_events slots.
 */

/* o == NULL in sg_corr_new gives the defaults; otherwise lateness is used as
 * given (0: events must arrive in order; negative is VG_EINVAL). */
typedef struct sg_corr_opts {
    int64_t lateness;      /* ticks an event may lag the watermark (default 5 minutes) */
    uint32_t max_groups;   /* 0 = default */
    uint32_t max_events;   /* 0 = default */
} sg_corr_opts;

/*
 * One match of a base rule. field() returns the event's value of a field
 * (column or raw source field, as the detection engine resolves it):
 * VG_OK with *out, or VG_ENOTFOUND when the event has no such field.
 * event_ref is the caller's opaque reference to the event (carried into
 * alerts as evidence).
 */
typedef struct sg_corr_hit {
    const sg_rule *rule;
    int64_t ts;
    vg_err (*field)(void *ctx, vg_str name, vg_str *out);
    void *field_ctx;
    uint64_t event_ref;
} sg_corr_hit;

typedef struct sg_corr_alert {
    const sg_rule *rule;          /* the correlation rule */
    int64_t first_ts, last_ts;    /* of the events that made it hold */
    const vg_str *group;          /* group-by values, rule->corr.ngroup_by of them */
    double value;                 /* the count / distinct count / sum / avg / percentile */
    const uint64_t *events;       /* event_refs of contributing events (up to SG_CORR_MAX_EVIDENCE) */
    uint32_t nevents;
} sg_corr_alert;

typedef void (*sg_corr_emit_fn)(void *ctx, const sg_corr_alert *a);

typedef struct sg_corr_stats {
    uint64_t hits, alerts, late_dropped, groups_evicted, events_evicted;
} sg_corr_stats;

typedef struct sg_corr_engine sg_corr_engine;

/*
 * Builds an engine for every SG_KIND_CORRELATION rule in rs. A correlation
 * that names a rule not in rs fails creation with VG_ENOTFOUND and the name
 * in d (the caller reports it as that rule's failure).
 */
vg_err sg_corr_new(const sg_ruleset *rs, const sg_corr_opts *o, sg_corr_engine **out, vg_diag *d);
void sg_corr_free(sg_corr_engine *e);

/* True when some correlation refers to rule r (so its matches must be offered). */
bool sg_corr_wants(const sg_corr_engine *e, const sg_rule *r);

/* Offers one base-rule match; may emit alerts (also of correlations that
 * refer to other correlations). */
vg_err sg_corr_offer(sg_corr_engine *e, const sg_corr_hit *h, sg_corr_emit_fn emit, void *ctx);

/* Moves the clock to `now` (ticks): closes windows that ended before
 * now - lateness, deciding the conditions only a closed window can decide,
 * and frees their state. */
vg_err sg_corr_advance(sg_corr_engine *e, int64_t now, sg_corr_emit_fn emit, void *ctx);

void sg_corr_get_stats(const sg_corr_engine *e, sg_corr_stats *out);

#endif
