/*
 * vg_alert.h - from rule matches to alerts: AlertInfo and AlertEvidence rows,
 * correlation rules, duplicate suppression and exclusions.
 *
 * A vg_alerter sits behind a vg_detect_scanner. For every batch it runs the
 * scanner, feeds the matches of rules that correlations refer to into the
 * correlation engine (sigma_corr.h), drops matches an exclusion names or
 * that repeat an alert of the same rule and entity inside the suppression
 * window, and turns the rest into alerts: one AlertInfo row and one
 * AlertEvidence row per entity the evidence row names (device, account,
 * process, file with hashes, IP, URL, registry key, mailbox), appended to a
 * vg_batchset so that they reach the store in the same append as the events
 * that caused them. Callers that print (vigil detect) get each alert through
 * a callback as well.
 *
 * One alerter per thread (it owns a scanner). The vg_detect it was made with
 * must outlive it; vg_alerter_swap moves it to a new rule set (hot reload)
 * keeping suppression state; correlation state restarts.
 */
#ifndef VG_ALERT_H
#define VG_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "../batch/vg_batch.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "../core/vg_time.h"
#include "../ingest/vg_ingest.h"
#include "sigma_corr.h"
#include "vg_detect.h"

#define VG_ALERT_MAX_EXCLUSIONS 1024
#define VG_ALERT_MAX_SUPPRESS 1000000    /* suppression keys remembered */

/* An exclusion: alerts of `rule` (id or name; "*" every rule) whose evidence
 * field `field` equals `value` (case-insensitively) are not raised. */
typedef struct vg_alert_exclusion {
    const char *rule;
    const char *field;
    const char *value;
} vg_alert_exclusion;

typedef struct vg_alert_opts {
    int64_t suppress_window;        /* ticks; 0 = every match is an alert */
    const vg_alert_exclusion *exclusions;
    uint32_t nexclusions;
    sg_corr_opts corr;
} vg_alert_opts;

/* Reads an exclusions file: one "RULE FIELD=VALUE" per line, # comments. */
vg_err vg_alert_load_exclusions(const char *path, vg_arena *a, vg_alert_exclusion **out,
                                uint32_t *n, vg_diag *d);

/* One alert, as callbacks see it (valid during the call). */
typedef struct vg_alert {
    const vg_detect_rule *rule;
    vg_str alert_id;               /* "vg" + 32 hex */
    vg_time timestamp;             /* of the (last) evidence event */
    const vg_batch *b;             /* the evidence row; NULL for correlation alerts */
    uint32_t row;
    const sg_corr_alert *corr;     /* correlation alerts */
} vg_alert;

typedef void (*vg_alert_fn)(void *ctx, const vg_alert *a);

typedef struct vg_alert_stats {
    uint64_t matches, alerts, suppressed, excluded, correlation_alerts;
} vg_alert_stats;

typedef struct vg_alerter vg_alerter;

vg_err vg_alerter_new(vg_detect *det, const vg_alert_opts *o, vg_alerter **out, vg_diag *d);
void vg_alerter_free(vg_alerter *al);
/* Moves to a new rule set (hot reload); matches in flight finish first. */
vg_err vg_alerter_swap(vg_alerter *al, vg_detect *det, vg_diag *d);

/*
 * Runs detection over b. Alerts go to out as AlertInfo/AlertEvidence rows
 * when out is non-NULL, and to fn when it is non-NULL.
 */
vg_err vg_alerter_batch(vg_alerter *al, const vg_batch *b, vg_batchset *out, vg_alert_fn fn,
                        void *ctx, vg_diag *d);
/* Moves the correlation clock (closes windows); call when input ends. */
vg_err vg_alerter_flush(vg_alerter *al, vg_time now, vg_batchset *out, vg_alert_fn fn, void *ctx,
                        vg_diag *d);

void vg_alerter_stats(const vg_alerter *al, vg_alert_stats *out);
void vg_alerter_detect_stats(const vg_alerter *al, vg_detect_stats *out);

/*
 * Writes one alert as a JSON object (no newline): Timestamp, AlertId,
 * RuleId, Title, Severity, Level, Status, Category, Tactics, Techniques,
 * Author, References, RuleFile, DetectionSource, and Evidence (the row's
 * columns, non-null, plus its raw source fields under "Raw") or, for
 * correlations, the group, value and event count.
 */
void vg_alert_json(const vg_alert *a, vg_buf *out);

/* The ServiceSource of an alert whose evidence row is in table t: "Vigil
 * Endpoint" (Device*, WindowsEvent), "Vigil Identity", "Vigil Email" (Email*,
 * UrlClickEvents), "Vigil Cloud Apps" (CloudAppEvents), else "Vigil". */
const char *vg_alert_service(const vg_table_def *t);

/* Severity Defender shows for a Sigma level ("High"; informational -> "Informational"). */
const char *vg_alert_severity(sg_level l);

#endif
