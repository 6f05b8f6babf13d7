/*
 * vg_incident.h - alerts grouped into incidents: the correlation engine, the
 * incident and alert lifecycle, and their Graph security API shapes.
 *
 * State lives in DIR/state.db (vg_state.h, tables incidents,
 * incident_entities, alerts, alert_entities, comments, suppressions, audit).
 * A vg_inc owns one connection and a mutex: every call is safe from any
 * thread and runs in one transaction.
 *
 * Two halves:
 *   engine (inc_engine.c, inc_entity.c): vg_inc_add takes AlertInfo and
 *     AlertEvidence rows (the ones detection stores in the event store),
 *     extracts each alert's strong entities, applies suppression rules, and
 *     puts the alert into an open incident that shares an entity with it
 *     within the window, a new incident, or - when it bridges several -
 *     merges them (the smaller ones become `redirected` into the largest,
 *     tagged Redirected). Incident aggregates (severity, name, tactics,
 *     techniques, devices, users, mailboxes, first/last activity) are kept
 *     current on every change.
 *   API (inc_api.c, inc_odata.c, inc_json.c): list/get/patch of incidents
 *     and alerts in Graph's shapes with $filter/$top/$skip/$orderby/$expand,
 *     comments, suppression rules, the incident graph; every change bumps
 *     the row's version (the ETag) and writes an audit record in the same
 *     transaction.
 *
 * Errors map to HTTP by the caller: VG_EINVAL/VG_EPARSE 400, VG_ENOTFOUND
 * 404, VG_ECONFLICT 412 (If-Match did not match the current version),
 * VG_EIO 500. Messages in d say what and where ("$filter: column 3:
 * unknown field 'foo'").
 */
#ifndef VG_INCIDENT_H
#define VG_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../batch/vg_batch.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"

#define VG_INC_MAX_ENTITIES_PER_ALERT 64   /* strong entities taken from one alert */
#define VG_INC_MAX_TOP 1000                /* most items one list call returns */
#define VG_INC_DEFAULT_TOP 100
#define VG_INC_MAX_FILTER 4096             /* bytes of a $filter expression */
#define VG_INC_MAX_COMMENT 30000           /* characters of a comment (Graph's limit) */
#define VG_INC_MAX_TAGS 50

typedef struct vg_inc vg_inc;

typedef struct vg_inc_opts {
    int64_t window_ms;        /* an alert joins incidents active this recently (default 24h) */
    uint32_t max_entities;    /* no join or merge past this many entities (default 200) */
    uint32_t max_key_devices; /* a file/ip/url/domain seen on more devices stops correlating
                               * (0: never) */
} vg_inc_opts;

/* Opens (migrating) DIR/state.db. */
vg_err vg_inc_open(const char *dir, const vg_inc_opts *o, vg_inc **out, vg_diag *d);
void vg_inc_close(vg_inc *inc);

/* ---- engine ---- */

/* What one vg_inc_add did. */
typedef struct vg_inc_add_result {
    uint32_t alerts;          /* new alerts stored */
    uint32_t duplicates;      /* AlertIds already known: ignored */
    uint32_t suppressed;      /* matched a suppression rule */
    uint32_t created;         /* incidents created */
    uint32_t joined;          /* alerts that joined an existing incident */
    uint32_t merged;          /* incidents redirected into another */
    uint32_t not_merged;      /* merges refused (resolved, assignee, classification, entity limit) */
} vg_inc_add_result;

/*
 * Correlates the alerts among batches v[0..n): AlertInfo batches give the
 * alerts, AlertEvidence batches their entities (matched by AlertId); other
 * tables are ignored. Alerts are taken in Timestamp order. One transaction:
 * all or nothing. res may be NULL.
 */
vg_err vg_inc_add(vg_inc *inc, const vg_batch *const *v, size_t n, vg_inc_add_result *res,
                  vg_diag *d);

/* True when the engine has this AlertId (reconcile uses it). */
bool vg_inc_has_alert(vg_inc *inc, vg_str alert_id);

typedef struct vg_inc_stats {
    uint64_t alerts_total, duplicates_total, suppressed_total, incidents_created_total,
        joined_total, merged_total, not_merged_total;
    uint64_t incidents_open;  /* active + inProgress */
    uint64_t add_calls, add_ns_total;   /* time spent in vg_inc_add */
} vg_inc_stats;
void vg_inc_get_stats(vg_inc *inc, vg_inc_stats *out);

/* ---- API ---- */

/* Who makes a change (for the audit log and createdBy fields). */
typedef struct vg_inc_actor {
    int64_t id;               /* token id; -1 for vigild itself */
    const char *name;
    const char *role;
    const char *remote;
} vg_inc_actor;

/* The OData query options of a list call (NULL/0 = absent). */
typedef struct vg_inc_list {
    const char *filter;       /* $filter */
    const char *orderby;      /* $orderby: "field [asc|desc], ..." */
    int64_t top;              /* $top (0 = VG_INC_DEFAULT_TOP; > VG_INC_MAX_TOP: 400) */
    int64_t skip;             /* $skip */
    bool count;               /* $count=true: "@odata.count" */
    bool expand_alerts;       /* $expand=alerts (incidents only) */
    const char *base_url;     /* for "@odata.nextLink" ("/api/v1/security/incidents") */
} vg_inc_list;

/* {"@odata.context":...,"value":[incident...],"@odata.nextLink":...} */
vg_err vg_inc_incidents_list(vg_inc *inc, const vg_inc_list *q, vg_buf *out, vg_diag *d);
/* One incident; *version is its ETag number. */
vg_err vg_inc_incident_get(vg_inc *inc, int64_t id, bool expand_alerts, vg_buf *out,
                           int64_t *version, vg_diag *d);
/*
 * Applies a JSON patch body (status, classification, determination,
 * assignedTo, customTags, displayName, severity, description, resolvingComment)
 * when if_match is -1 or equals the current version (else VG_ECONFLICT);
 * writes the updated incident to out and its new version to *version.
 * Resolving an incident resolves its alerts; assigning assigns them.
 */
vg_err vg_inc_incident_patch(vg_inc *inc, int64_t id, vg_str body, int64_t if_match,
                             const vg_inc_actor *who, vg_buf *out, int64_t *version, vg_diag *d);

vg_err vg_inc_alerts_list(vg_inc *inc, const vg_inc_list *q, vg_buf *out, vg_diag *d);
vg_err vg_inc_alert_get(vg_inc *inc, vg_str id, vg_buf *out, int64_t *version, vg_diag *d);
/* status, classification, determination, assignedTo */
vg_err vg_inc_alert_patch(vg_inc *inc, vg_str id, vg_str body, int64_t if_match,
                          const vg_inc_actor *who, vg_buf *out, int64_t *version, vg_diag *d);

/* POST .../comments {"comment": "..."}: on an incident (id numeric) or an alert. */
vg_err vg_inc_comment_add(vg_inc *inc, bool on_incident, vg_str id, vg_str body,
                          const vg_inc_actor *who, vg_buf *out, vg_diag *d);
vg_err vg_inc_comments_list(vg_inc *inc, bool on_incident, vg_str id, vg_buf *out, vg_diag *d);

/* The incident graph: {"nodes":[{id,type,label,...}],"edges":[{source,target,kind}]}. */
vg_err vg_inc_graph(vg_inc *inc, int64_t id, vg_buf *out, vg_diag *d);

/* Suppression rules: {"displayName","ruleId","conditions":[{"kind","value"}],"action","enabled"} */
vg_err vg_inc_suppressions_list(vg_inc *inc, vg_buf *out, vg_diag *d);
vg_err vg_inc_suppression_get(vg_inc *inc, int64_t id, vg_buf *out, int64_t *version, vg_diag *d);
vg_err vg_inc_suppression_create(vg_inc *inc, vg_str body, const vg_inc_actor *who, vg_buf *out,
                                 int64_t *id, vg_diag *d);
vg_err vg_inc_suppression_patch(vg_inc *inc, int64_t id, vg_str body, int64_t if_match,
                                const vg_inc_actor *who, vg_buf *out, int64_t *version, vg_diag *d);
vg_err vg_inc_suppression_delete(vg_inc *inc, int64_t id, const vg_inc_actor *who, vg_diag *d);

#endif
