/*
 * vg_custom.h - custom detection rules: saved KQL that runs on a schedule and
 * raises alerts, in the shape of Graph's beta detectionRule so that tools
 * speaking Graph carry over.
 *
 * The module is four files with one prefix (vg_cd_):
 *   custom_rule.c   the rule model: a detectionRule JSON body into a
 *                   vg_cd_rule (periods and lookbacks, severities,
 *                   categories, impacted-asset identifiers and the columns
 *                   they name), and a rule back into Graph's JSON
 *   custom_check.c  validation against the KQL engine: the query parses and
 *                   binds, its output columns hold Timestamp, ReportId and an
 *                   entity column, every impacted asset is a returned
 *                   column, and near-real-time rules read one table only
 *   custom_run.c    one run: the query over the store limited to the run's
 *                   lookback, deterministic AlertIds, AlertInfo and
 *                   AlertEvidence rows; and which scheduled runs are due
 *   custom_db.c     the rules, runs and hits in state.db (tables detections,
 *                   detection_runs, detection_hits)
 * vigild's srv_custom.c adds the HTTP routes and the scheduler thread.
 *
 * Lifetime: a vg_cd_rule's strings live in the arena it was parsed into.
 * Library code: nothing here prints or exits; errors come back in a vg_diag
 * saying which field and why.
 */
#ifndef VG_CUSTOM_H
#define VG_CUSTOM_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "../batch/vg_batch.h"
#include "../core/vg_arena.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"

struct vg_store;

/* ---- limits (one place) ---- */
#define VG_CD_MAX_RULES 1000          /* rules a server keeps (Defender's per-tenant cap) */
#define VG_CD_MAX_ALERTS_PER_RUN 100  /* more matching rows: the run is truncated */
#define VG_CD_MAX_NAME 256            /* bytes of displayName and title */
#define VG_CD_MAX_TEXT 10000          /* bytes of description and recommendedActions */
#define VG_CD_MAX_QUERY 30000         /* bytes of queryText */
#define VG_CD_MAX_TECHNIQUES 64
#define VG_CD_MAX_ASSETS 16           /* impactedAssets of one rule */
#define VG_CD_MAX_COLUMNS 512         /* output columns remembered */
#define VG_CD_NRT_LATENESS_MS (5 * 60 * 1000)  /* NRT runs reach this far behind the last one */
#define VG_CD_EVIDENCE_PER_ALERT 16   /* AlertEvidence rows of one alert at most */

/* ---- periods ---- */

/* One schedule: Graph's period ("0" is near-real-time) and its lookback. */
typedef struct vg_cd_period {
    const char *name;        /* "0", "1H", "3H", "12H", "24H" */
    int64_t period_ms;       /* 0 for NRT */
    int64_t lookback_ms;     /* NRT: the lateness allowed behind the last run */
} vg_cd_period;

/* The period named s, or NULL. */
const vg_cd_period *vg_cd_period_find(vg_str s);

/* ---- impacted assets ---- */

typedef enum vg_cd_kind {
    VG_CD_DEVICE,
    VG_CD_USER,
    VG_CD_MAILBOX,
    VG_CD_FILE,
    VG_CD_IP,
    VG_CD_URL,
} vg_cd_kind;

/* One identifier Graph's impactedAsset may name and the column it reads. */
typedef struct vg_cd_ident {
    const char *identifier;  /* "deviceId" */
    const char *column;      /* "DeviceId" */
    vg_cd_kind kind;
} vg_cd_ident;

/* The identifier's entry (case-sensitive, as Graph spells them), or NULL. */
const vg_cd_ident *vg_cd_ident_find(vg_str identifier);
/* Graph's @odata.type of an asset of this kind ("#microsoft.graph.security.impactedDeviceAsset"). */
const char *vg_cd_kind_odata(vg_cd_kind k);

/* True when name is one of Defender's entity columns a rule must return one of. */
bool vg_cd_is_entity_column(vg_str name);
/* The entity columns, NULL-terminated, in the order AlertIds hash them. */
extern const char *const vg_cd_entity_columns[];

/* ---- the rule ---- */

typedef struct vg_cd_rule {
    vg_str name;             /* displayName (unique) */
    bool enabled;
    vg_str query;
    const vg_cd_period *period;
    vg_str title, description, recommended;
    vg_str severity;         /* informational low medium high */
    vg_str category;         /* an ATT&CK tactic name, as Defender's categories */
    vg_str techniques[VG_CD_MAX_TECHNIQUES];
    uint32_t ntechniques;
    const vg_cd_ident *assets[VG_CD_MAX_ASSETS];
    uint32_t nassets;
} vg_cd_rule;

/*
 * Reads a detectionRule body into *r. With base non-NULL (PATCH) the fields
 * the body does not name keep base's values; else every required field must
 * be present (displayName, queryCondition.queryText, schedule.period,
 * detectionAction.alertTemplate.title/severity/category). Read-only fields
 * (id, createdBy, lastRunDetails, ...) are ignored. Errors: VG_EINVAL with
 * the field's path ("detectionAction.alertTemplate.severity: 'urgent' is not
 * one of informational, low, medium, high").
 */
vg_err vg_cd_rule_parse(vg_arena *a, vg_str body, const vg_cd_rule *base, vg_cd_rule *r,
                        vg_diag *d);

/* "Execution" etc.: true when category is one Defender accepts. */
bool vg_cd_category_valid(vg_str category);

/* ---- validation against the engine (custom_check.c) ---- */

/* What validation learnt about the query. */
typedef struct vg_cd_shape {
    vg_str columns[VG_CD_MAX_COLUMNS];   /* output columns, in order (arena) */
    uint32_t ncolumns;
    const char *table;       /* the one schema table the query reads, or NULL (several/none) */
    bool nrt_ok;             /* one table, no join/lookup/union/externaldata, an NRT table */
    vg_str nrt_reason;       /* why not, when !nrt_ok */
} vg_cd_shape;

/*
 * Checks r against the engine and Defender's rules: the query parses and
 * binds (the KQL engine's "line L, column C: ..." is kept); its output
 * columns include Timestamp, ReportId and an entity column; every impacted
 * asset names a returned column; an NRT period needs nrt_ok. The query runs
 * with `| take 0` appended over an empty time window, so nothing is read.
 * Errors: VG_EINVAL (the rule, message says why), VG_EPARSE (the query).
 */
vg_err vg_cd_check(struct vg_store *store, const vg_cd_rule *r, vg_arena *a, vg_cd_shape *out,
                   vg_diag *d);

/* Walks the query's syntax tree only (no store): fills table, nrt_ok, nrt_reason. */
vg_err vg_cd_query_shape(vg_arena *a, vg_str query, vg_cd_shape *out, vg_diag *d);

/* ---- running (custom_run.c) ---- */

/* The rule as a run needs it (from state.db). */
typedef struct vg_cd_runspec {
    int64_t id;
    vg_str query, title, severity, category, techniques_json, author;
    const char *table;             /* single source table, or NULL */
    vg_str impacted[VG_CD_MAX_ASSETS];   /* impacted asset columns */
    uint32_t nimpacted;
    int64_t time_min_ms, time_max_ms;    /* the window; time_max_ms is the run's now */
    uint64_t max_rows, timeout_ms;
    size_t max_memory;
    void *geo;
    int *cancel;
} vg_cd_runspec;

/* True when the rule already alerted this hit (detection_hits). */
typedef bool (*vg_cd_known_fn)(void *ctx, vg_str hit);

typedef struct vg_cd_hit {
    char hit[33];            /* 32 hex of the row's hash */
    char alert_id[35];       /* "cd" + the same hex */
} vg_cd_hit;

/* What one run made. The batches are the caller's to append and free. */
typedef struct vg_cd_outcome {
    uint64_t rows;           /* result rows */
    uint32_t alerts;         /* new alerts (<= VG_CD_MAX_ALERTS_PER_RUN) */
    uint64_t known;          /* rows already alerted before */
    uint64_t dropped;        /* new rows past the cap: not alerted */
    bool truncated;          /* dropped > 0, or the query's row cap was hit */
    vg_cd_hit hits[VG_CD_MAX_ALERTS_PER_RUN];
    vg_batch info, evidence; /* AlertInfo, AlertEvidence (initialised when alerts > 0) */
} vg_cd_outcome;

/*
 * Runs the rule: the query over store with now = time_max and every table
 * scan limited to [time_min, time_max]; every result row not already known
 * becomes one alert (at most VG_CD_MAX_ALERTS_PER_RUN), as one AlertInfo row
 * and AlertEvidence rows per entity the row names. VG_EPARSE/VG_ELIMIT/...
 * from the engine with its message. Free the outcome with vg_cd_outcome_free
 * whatever the result.
 */
vg_err vg_cd_run(struct vg_store *store, const vg_cd_runspec *rs, vg_cd_known_fn known, void *kctx,
                 vg_cd_outcome *out, vg_diag *d);
void vg_cd_outcome_free(vg_cd_outcome *o);

/*
 * The hash of a result row (rule id, Timestamp, ReportId, and the values of
 * the entity columns present, in vg_cd_entity_columns order): 32 hex digits
 * into hit, "cd" + them into alert_id. Deterministic across runs and restarts.
 */
void vg_cd_row_hash(int64_t rule_id, vg_str timestamp, vg_str report_id, const vg_str *entities,
                    uint32_t n, vg_cd_hit *out);

/*
 * Scheduled runs due for a rule with period period_ms > 0 whose last
 * scheduled run was at last_ms (0 = never: one run at now). Runs are at
 * last + k*period <= now; after downtime at most lookback/period of them are
 * kept (the newest), the older ones counted in *skipped. Times go to out
 * (oldest first, at most cap), their number to *n.
 */
void vg_cd_due(int64_t last_ms, int64_t period_ms, int64_t lookback_ms, int64_t now_ms,
               int64_t *out, uint32_t cap, uint32_t *n, uint64_t *skipped);

/* ---- state.db (custom_db.c) ---- */

/* Graph's JSON of one rule row (id given), with its last run. */
vg_err vg_cd_db_rule_json(sqlite3 *db, int64_t id, vg_buf *out, int64_t *version, vg_diag *d);
/* {"@odata.context":..,"value":[..]} of every rule. */
vg_err vg_cd_db_rules_json(sqlite3 *db, vg_buf *out, vg_diag *d);
/* Inserts a checked rule: VG_EEXIST (name taken), VG_ELIMIT (VG_CD_MAX_RULES). */
vg_err vg_cd_db_insert(sqlite3 *db, const vg_cd_rule *r, const vg_cd_shape *sh, const char *who,
                       int64_t *id, vg_diag *d);
/* Reads a rule back into r (strings in a). VG_ENOTFOUND. */
vg_err vg_cd_db_load(sqlite3 *db, int64_t id, vg_arena *a, vg_cd_rule *r, int64_t *version,
                     vg_diag *d);
/* Replaces a rule when if_match is -1 or its version: VG_ECONFLICT, VG_EEXIST, VG_ENOTFOUND. */
vg_err vg_cd_db_update(sqlite3 *db, int64_t id, const vg_cd_rule *r, const vg_cd_shape *sh,
                       int64_t if_match, const char *who, int64_t *version, vg_diag *d);
/* Deletes a rule, its runs and hits: VG_ECONFLICT, VG_ENOTFOUND. */
vg_err vg_cd_db_delete(sqlite3 *db, int64_t id, int64_t if_match, vg_diag *d);
/* The runs of a rule, newest first: {"value":[run...]}. */
vg_err vg_cd_db_runs_json(sqlite3 *db, int64_t id, int64_t top, vg_buf *out, vg_diag *d);
/* One run as JSON. */
vg_err vg_cd_db_run_json(sqlite3 *db, int64_t run_id, vg_buf *out, vg_diag *d);

/* A rule as the scheduler sees it. */
typedef struct vg_cd_sched {
    int64_t id;
    bool enabled;
    const vg_cd_period *period;
    int64_t created_ms, last_run_end_ms;   /* 0 = never ran */
} vg_cd_sched;
/* Every rule's schedule state (malloc'd array; free it). */
vg_err vg_cd_db_schedules(sqlite3 *db, vg_cd_sched **out, uint32_t *n, vg_diag *d);

/* The run spec of a rule (strings in a): window and limits left to the caller. */
vg_err vg_cd_db_runspec(sqlite3 *db, int64_t id, vg_arena *a, vg_cd_runspec *rs, vg_diag *d);
/* True when (id, hit) is in detection_hits. */
bool vg_cd_db_known(sqlite3 *db, int64_t id, vg_str hit);

/* What a finished run records. */
typedef struct vg_cd_record {
    int64_t id;              /* rule */
    int64_t scheduled_ms, started_ms, finished_ms;
    bool scheduled;          /* a scheduled run: moves last_run_end to scheduled_ms */
    bool failed;
    const char *error;       /* failed: why; else a note (truncation) or NULL */
    const vg_cd_outcome *o;  /* NULL when failed before running */
} vg_cd_record;
/* One transaction: the hits, the detection_runs row, the rule's last_* columns. */
vg_err vg_cd_db_record(sqlite3 *db, const vg_cd_record *rec, int64_t *run_id, vg_diag *d);

#endif
