/*
 * srv_agents_int.h - what the files of vigild's endpoint-agent side
 * share: srv_agents.c (the routes the agent calls with its device token:
 * enroll, heartbeat, actions, package upload, indicators), srv_machines.c
 * (the Defender-shaped routes analysts call: machines, machine actions),
 * srv_indicators.c (indicators) and srv_agents_util.c (helpers, DeviceInfo
 * rows).
 *
 * One state.db connection behind one mutex (agents are few requests a
 * second: a heartbeat every 30 s, an indicator poll every 5 s), and a small
 * direct-mapped cache of token id -> device id, filled from state.db on a
 * miss. A re-enrolled device's old token is revoked, so a stale cache entry
 * can never authenticate again: no invalidation is needed for correctness,
 * only to keep the slot for the new token.
 */
#ifndef SRV_AGENTS_INT_H
#define SRV_AGENTS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "../core/vg_arena.h"
#include "../core/vg_json.h"
#include "vg_srv_int.h"

#define AG_DEVICE_ID_LEN 40           /* hex digits of a device id */
#define AG_ACTION_ID_LEN 36           /* a uuid */
#define AG_CACHE_SLOTS 1024           /* token id -> device id entries (power of two) */
#define AG_MAX_FIELD 512              /* bytes of one text field of a request body */
#define AG_MAX_BODY (256 * 1024)      /* bytes of a JSON body (enroll, heartbeat, actions) */
#define AG_MAX_PACKAGE (64ll << 20)   /* bytes of an investigation package */
#define AG_MAX_RULES (1 << 20)        /* bytes of the YARA rules of one scan */
#define AG_MAX_PULL 100               /* actions handed out in one pull */
#define AG_MAX_TOP 10000              /* rows of one list page */
#define AG_DEFAULT_TOP 1000
#define AG_ACTIVE_MS (5 * 60 * 1000)  /* last seen this recently: healthStatus Active */
/* an action handed out (InProgress) and not reported on within this is Failed */
#define AG_ACTION_TIMEOUT_MS (60ll * 60 * 1000)
#define AG_ACTION_TIMEOUT_ERROR "timed out: the agent did not report a result within 1h"
#define AG_REPORT_MS (60 * 60 * 1000) /* DeviceInfo at least this often while heartbeats come */
#define AG_MAX_INFLIGHT 1024          /* ingest batches with a seq being stored at once */
#define AG_MAX_FILTER_TERMS 8         /* "x eq 'v'" terms of one $filter, joined by and */
#define AG_MAX_FILTER 1024            /* bytes of a $filter */

struct vg_srv_agents {
    pthread_mutex_t mu;               /* guards db, the statements' use and the cache */
    sqlite3 *db;
    char pkgdir[4096];                /* DATA/packages */
    struct {
        int64_t token_id;             /* 0: empty */
        char device[AG_DEVICE_ID_LEN + 1];
    } cache[AG_CACHE_SLOTS];
    /* ingest batches (device, seq) between their check and their answer: a
     * resend of one of them (the agent timed out while the store was still
     * busy) is told to retry rather than stored a second time */
    struct {
        int64_t seq;                  /* 0: free */
        char device[AG_DEVICE_ID_LEN + 1];
    } inflight[AG_MAX_INFLIGHT];
};

/* ---- srv_agents.c ---- */
/* The device the request's token belongs to (an agent's token); false when
 * the token is no device's (the caller answers). Takes the lock itself. */
bool ag_token_device(vg_srv *s, int64_t token_id, char device[AG_DEVICE_ID_LEN + 1]);
/* Writes a DeviceInfo row (and the DeviceNetworkInfo rows when network) for
 * a device from its state.db row, through the event store; on success
 * devices.info_reported is set. Takes the lock itself. */
vg_err ag_report_device(vg_srv *s, const char *device, bool network, vg_diag *d);

/* ---- srv_machines.c ---- */
/* Marks indicators whose expiration passed as deleted, bumping the version;
 * the caller holds the lock. */
vg_err ag_indicators_expire(struct vg_srv_agents *a, int64_t now_ms);
/* Fails the InProgress actions handed out AG_ACTION_TIMEOUT_MS or more
 * before now_ms (AG_ACTION_TIMEOUT_ERROR); the caller holds the lock. */
vg_err ag_actions_expire(struct vg_srv_agents *a, int64_t now_ms);
/* meta.indicators_version; the caller holds the lock. */
int64_t ag_indicators_version(struct vg_srv_agents *a);
/* An indicator row (AG_INDICATOR_COLS) as JSON; full adds the analyst fields. */
#define AG_INDICATOR_COLS                                                              \
    "id, value, type, action, title, description, severity, expiration, created_by, " \
    "created, updated"
void ag_put_indicator(vg_buf *b, sqlite3_stmt *st, bool full);

/* ---- srv_indicators.c (routes in srv_machines.c's table) ---- */
void ag_h_indicator_create(vg_req *rq);
void ag_h_indicators(vg_req *rq);
void ag_h_indicator_delete(vg_req *rq);

/* ---- shared helpers (srv_agents_util.c) ---- */
/* $filter of a list: "field eq 'value'" terms joined by "and", over a table
 * of the fields a route takes (ending with { NULL }); each term appends
 * " AND <sql> = ?N" to where, N counting from first_param, with its value in
 * vals. False when it answered 400 (naming the position or the field). */
typedef struct ag_filter_field {
    const char *name;   /* as the API spells it */
    const char *sql;    /* the SQL expression it compares */
} ag_filter_field;
typedef struct ag_filter {
    vg_buf where;
    char vals[AG_MAX_FILTER_TERMS][AG_MAX_FIELD];
    int n;
} ag_filter;
bool ag_parse_filter(vg_req *rq, const ag_filter_field *fields, ag_filter *f, int first_param);
/* $top: 1..AG_MAX_TOP, AG_DEFAULT_TOP when absent; false when it answered 400. */
bool ag_parse_top(vg_req *rq, int64_t *top);
/* Parses rq's body as a JSON object into a; false when it answered 400/413. */
bool ag_body_object(vg_req *rq, vg_arena *a, const vg_json **out);
/* A string member: NULL when absent or null; false (400 answered, naming the
 * field) when present but not a string, longer than max or empty while
 * required. */
bool ag_str_field(vg_req *rq, const vg_json *o, const char *key, size_t max, bool required,
                  vg_str *out);
/* ISO-8601 of unix ms into b as a JSON string, or null when ms <= 0. */
void ag_put_time(vg_buf *b, int64_t ms);
/* A column's text as a JSON string ("" for NULL). */
void ag_put_col(vg_buf *b, sqlite3_stmt *st, int col);
/* True when s is n hex digits. */
bool ag_is_hex(vg_str s, size_t n);
/* The {id} parameter as an action id (a uuid); false when it answered 404. */
bool ag_action_param(vg_req *rq, char id[AG_ACTION_ID_LEN + 1]);
/* The HTTP status for a state.db failure code. */
void ag_db_error(vg_req *rq, sqlite3 *db, const char *what);

#endif
