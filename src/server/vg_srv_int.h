/*
 * vg_srv_int.h - private interfaces shared by the files of vigild (src/server).
 *
 * vigild is split by responsibility:
 *   main_vigild.c   settings table, startup, signals, clean shutdown
 *   srv_http.c      libmicrohttpd glue, the route table, auth check, request log
 *   srv_admin.c     the token API, per-token rate limits, the audit log
 *                   (tokens themselves: src/state/vg_tokens.h)
 *   srv_ingest.c    POST /api/v1/ingest: decode, dead-letter, append, answer
 *   srv_body.c      body decoding (gzip/zlib/zstd) + vg_ingest_buffer, no I/O;
 *                   the function the fuzz target tests/fuzz/fuzz_ingest_body.c drives
 *   srv_metrics.c   counters, the latency histogram, GET /metrics
 *   srv_agents.c    what vigil-agent calls (enroll, heartbeat, actions, indicators);
 *                   srv_machines.c, srv_indicators.c the analysts' side (Defender's
 *                   machines, machineactions, indicators); srv_agents_int.h
 *
 * Nothing here is a public API: only vigild and its tests include it.
 */
#ifndef VG_SRV_INT_H
#define VG_SRV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/vg_arena.h"
#include "../core/vg_config.h"
#include "../core/vg_err.h"
#include "../core/vg_str.h"
#include "../ingest/vg_ingest.h"
#include "../detect/vg_alert.h"
#include "../store/vg_store.h"
#include "../state/vg_tokens.h"

/* ---- limits (one place) ---- */
#define VG_SRV_MAX_TOKEN VG_TOKEN_MAX_SECRET /* bytes in a presented bearer token */
#define VG_SRV_MAX_REJECT_LIST 1000   /* rejected entries listed in a response */
#define VG_SRV_MAX_REASON 400         /* bytes of one reject reason in a response */
#define VG_SRV_MAX_QUERY_ARG 128      /* bytes of ?table= / ?format= values */
#define VG_SRV_MAX_PARAMS 4           /* {name} segments in a route path */
#define VG_SRV_MAX_PARAM 256          /* bytes of one path parameter */

/* ---- settings (the table is in main_vigild.c) ---- */
typedef struct vg_srv_settings {
    const char *data;
    const char *listen;
    const char *log_level;
    const char *log_format;
    int64_t max_body;          /* bytes of a request body as sent */
    int64_t max_decoded;       /* bytes of a body after decompression */
    int64_t seal_rows;
    int64_t retention_days;
    int64_t threads;
    int64_t max_connections;
    int64_t request_timeout;   /* seconds of inactivity before a connection is dropped */
    int64_t shutdown_timeout;  /* seconds to wait for in-flight requests */
    bool no_fsync;
    int64_t hunt_max_rows;
    int64_t hunt_timeout;      /* seconds */
    int64_t hunt_max_memory;   /* bytes */
    int64_t hunt_concurrency;
    const char *geoip_db;
    bool detect;               /* Sigma detection on ingest */
    vg_cfg_list detect_rules;
    vg_cfg_list detect_enable;
    vg_cfg_list detect_disable;
    const char *detect_min_level;
    int64_t detect_suppress;   /* seconds */
    int64_t detect_lateness;   /* seconds */
    const char *detect_exclusions;
    const char *detect_placeholders;
    bool detect_portable;
    const char *detect_cache;
    /* incidents (srv_incidents.c) */
    int64_t incident_window;      /* seconds: an alert joins an open incident active this recently */
    int64_t incident_max_entities;/* an incident takes no more alerts/merges past this many entities */
    int64_t incident_key_max_devices; /* artifacts seen on more devices stop correlating */
    /* custom detections (srv_custom.c) */
    bool detections;              /* run custom detection rules */
    int64_t detections_tick;      /* seconds between scheduler passes (NRT rules run every pass) */
    /* the listener and the API (srv_http.c, srv_admin.c) */
    const char *tls_cert;         /* PEM certificate chain; with tls_key: HTTPS */
    const char *tls_key;
    int64_t rate_limit;           /* requests per second per token (0: unlimited) */
    int64_t rate_burst;           /* requests a token may make at once above the rate */
} vg_srv_settings;

/* ---- roles and tokens (src/state/vg_tokens.h: vg_role, vg_principal, vg_auth_*) ---- */
/* "viewer or above": everyone who may read, i.e. every role but ingest. */
#define VG_ROLES_READERS                                                              \
    (VG_ROLE_BIT(VG_ROLE_VIEWER) | VG_ROLE_BIT(VG_ROLE_ANALYST) |                     \
     VG_ROLE_BIT(VG_ROLE_RESPONDER) | VG_ROLE_BIT(VG_ROLE_ADMIN))
#define VG_ROLES_INGEST (VG_ROLE_BIT(VG_ROLE_INGEST) | VG_ROLE_BIT(VG_ROLE_ADMIN))
#define VG_ROLES_PUBLIC 0u   /* no token needed */
/* who may work incidents and alerts (update, comment) */
#define VG_ROLES_ANALYSTS                                                             \
    (VG_ROLE_BIT(VG_ROLE_ANALYST) | VG_ROLE_BIT(VG_ROLE_RESPONDER) | VG_ROLE_BIT(VG_ROLE_ADMIN))
/* who may change detection and suppression rules */
#define VG_ROLES_TUNERS (VG_ROLE_BIT(VG_ROLE_ANALYST) | VG_ROLE_BIT(VG_ROLE_ADMIN))
#define VG_ROLES_ADMIN VG_ROLE_BIT(VG_ROLE_ADMIN)

/* ---- metrics (srv_metrics.c) ---- */
typedef enum vg_reject_reason {
    VG_RR_JSON,    /* not valid JSON / not an object */
    VG_RR_TYPE,    /* a value does not fit its column */
    VG_RR_TABLE,   /* no table, or an unknown one */
    VG_RR_LIMIT,   /* a record past a size/depth limit */
    VG_RR_OTHER,
    VG_RR_COUNT_
} vg_reject_reason;

vg_reject_reason vg_reject_classify(vg_str reason);
void vg_metrics_init(void);
void vg_metrics_ingest_rows(const vg_table_def *t, uint64_t n);
/* t may be NULL (the request named no table). */
void vg_metrics_ingest_rejected(const vg_table_def *t, vg_reject_reason r, uint64_t n);
/* One ingest request: outcome by HTTP status, bytes received, latency. */
void vg_metrics_ingest_request(int status, uint64_t bytes, uint64_t ns);
void vg_metrics_http_request(int status);
/* Renders the Prometheus text exposition into out. */
void vg_metrics_render(vg_store *s, vg_buf *out);

/* ---- body handling (srv_body.c) ---- */
typedef enum vg_encoding {
    VG_ENC_IDENTITY,
    VG_ENC_GZIP,      /* gzip or zlib framing, detected by zlib */
    VG_ENC_DEFLATE,   /* zlib framing (raw deflate accepted too) */
    VG_ENC_ZSTD,
    VG_ENC_COUNT_
} vg_encoding;

/* Parses a Content-Encoding header value (NULL = identity); VG_EUNSUPPORTED else. */
vg_err vg_encoding_parse(const char *value, vg_encoding *out);

/*
 * Decompresses in into out (a vg_buf the caller owns and frees), producing at
 * most max_out bytes: VG_ELIMIT when the content is larger, VG_EPARSE when it
 * is not valid for the encoding. For VG_ENC_IDENTITY, out is left untouched
 * and *view points at in itself; otherwise *view points into out.
 */
vg_err vg_body_decode(vg_encoding enc, vg_str in, size_t max_out, vg_buf *out, vg_str *view,
                      vg_diag *d);

/* One rejected record of a request. */
typedef struct vg_reject {
    uint64_t line;
    vg_str reason;   /* in the rejects' arena */
    vg_str record;   /* a slice of the decoded body, or a copy in the arena */
    vg_reject_reason kind;
} vg_reject;

typedef struct vg_rejects {
    vg_arena arena;  /* reasons, copied records, the array itself */
    vg_reject *v;
    size_t n, cap;
    vg_str body;     /* records inside this range are kept as slices */
    bool failed;     /* out of memory recording a reject */
} vg_rejects;

void vg_rejects_init(vg_rejects *r);
void vg_rejects_free(vg_rejects *r);

/*
 * The body pipeline of POST /api/v1/ingest, without any I/O: decodes the
 * body (enc, at most max_decoded bytes) into *decoded (which owns the text
 * when compressed; free it after the batches are gone), then runs
 * vg_ingest_buffer with opts into set, recording every bad record in rej.
 * Errors: VG_ELIMIT (body too large), VG_EPARSE (bad compression),
 * VG_EUNSUPPORTED/VG_EINVAL (format not usable), VG_ENOMEM/VG_EIO (sink).
 */
vg_err vg_ingest_body(vg_encoding enc, vg_str body, size_t max_decoded,
                      const vg_ingest_opts *opts, vg_batchset *set, vg_buf *decoded,
                      vg_rejects *rej, vg_ingest_result *res, vg_diag *d);

/* ---- the HTTP server (srv_http.c) ---- */
typedef struct vg_srv vg_srv;

typedef struct vg_req vg_req;
typedef void (*vg_handler_fn)(vg_req *rq);

struct vg_req {
    vg_srv *srv;
    uint64_t id;               /* request number, for logs */
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    vg_principal who;
    bool authed;
    vg_buf body;               /* request body as received */
    uint64_t body_len;         /* bytes received (even past the limit) */
    bool body_too_large;
    uint64_t t0_ns;            /* monotonic start */
    /* answer, filled by the handler */
    int status;
    vg_buf out;
    const char *content_type;
    const char *allow;         /* Allow header for 405 */
    char allow_buf[64];
    const char *retry_after;   /* Retry-After header (seconds), e.g. for 429 */
    char retry_after_buf[24];  /* its text when computed (rate limits) */
    bool audited;              /* the handler wrote its own audit row (vg_srv_audit) */
    char etag[32];             /* ETag header when non-empty: W/"<version>" (srv_incidents.c) */
    const char *route;         /* the route's path pattern, for logs */
    /* values of the route's {name} segments, in order (e.g. the {id} of
     * /api/v1/security/incidents/{id}); NUL-terminated */
    char params[VG_SRV_MAX_PARAMS][VG_SRV_MAX_PARAM];
    int nparams;
    vg_handler_fn handler;
    bool answered;             /* a response is queued */
};

/*
 * A route: method, path pattern, handler, who may call it. A path segment
 * "{name}" matches one non-empty segment, whose value the handler finds in
 * rq->params. Each part of vigild keeps its routes in its own table (ending
 * with a { NULL } entry); vg_route_tables lists them all, and the HTTP layer,
 * --help, --routes and the authorization matrix test read only that list.
 */
typedef struct vg_route {
    const char *method;
    const char *path;
    vg_handler_fn fn;
    unsigned roles;            /* VG_ROLE_BIT set that may call it; 0 = public */
    const char *doc;
} vg_route;

extern const vg_route vg_routes_core[];       /* srv_http.c: health, ingest, hunting, rules */
extern const vg_route vg_routes_incidents[];  /* srv_incidents.c: incidents, alerts, comments, suppressions */
extern const vg_route vg_routes_detections[]; /* srv_custom.c: custom detection rules */
extern const vg_route vg_routes_admin[];      /* srv_admin.c: tokens, audit log */
extern const vg_route vg_routes_agents[];     /* srv_agents.c: what vigil-agent calls */
extern const vg_route vg_routes_machines[];   /* srv_machines.c: machines, actions, indicators */
extern const vg_route *const vg_route_tables[];   /* NULL-terminated */

struct vg_srv_detect;
struct vg_inc;
struct vg_srv_custom;
struct vg_srv_admin;
struct vg_srv_agents;

struct vg_srv {
    const vg_srv_settings *cfg;
    struct vg_srv_detect *detect;   /* NULL when detection is off */
    struct vg_inc *inc;             /* incidents (srv_incidents.c) */
    struct vg_srv_custom *custom;   /* custom detections (srv_custom.c); with detections=false
                                     * rules are kept and run on demand, not scheduled */
    struct vg_srv_admin *admin;     /* rate limits, audit (srv_admin.c) */
    struct vg_srv_agents *agents;   /* endpoint agents (srv_agents.c, srv_machines.c) */
    vg_store *store;
    vg_auth *auth;
    void *geo;                 /* MMDB_s * when --geoip-db is set */
    struct MHD_Daemon *mhd;
    char *tls_cert_pem;        /* HTTPS: the PEM texts, kept while MHD runs (srv_http.c) */
    char *tls_key_pem;
    atomic_int inflight;       /* requests started and not yet completed */
    atomic_bool stopping;
    atomic_uint_fast64_t next_req_id;
};

/* Starts listening on cfg->listen; *port receives the bound port. */
vg_err vg_http_start(vg_srv *s, int *port, vg_diag *d);
/* Stops accepting, waits up to timeout_s for in-flight requests, stops. */
void vg_http_stop(vg_srv *s, int64_t timeout_s);
/* Prints the route table (for --help). */
void vg_http_print_routes(FILE *f);
/* Prints every route as one JSON line {"method","path","roles":[...],"public"}
 * (vigild --routes; the authorization matrix test reads it). */
void vg_http_print_routes_json(FILE *f);

/* Answer helpers. */
void vg_req_json_error(vg_req *rq, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A query argument (?name=), or NULL. */
const char *vg_req_arg(vg_req *rq, const char *name);
const char *vg_req_header(vg_req *rq, const char *name);
/* The {id} path parameter as a positive integer; false (404 "no WHAT 'x'"
 * answered) when it is not one. */
bool vg_req_id(vg_req *rq, const char *what, int64_t *id);
/* If-Match: W/"N", "N", N or * (any); *version -1 when absent or *. False
 * (400 answered) when malformed. */
bool vg_req_if_match(vg_req *rq, int64_t *version);
void vg_req_remote(const vg_req *rq, char *buf, size_t cap);

/* Handlers. */
void vg_h_ingest(vg_req *rq);
void vg_h_metrics(vg_req *rq);
void vg_h_console(vg_req *rq);
void vg_h_tables(vg_req *rq);
void vg_h_hunt(vg_req *rq);
void vg_h_hunt_graph(vg_req *rq);
void vg_h_rules(vg_req *rq);
void vg_h_rules_reload(vg_req *rq);

/* ---- detection (srv_detect.c) ---- */
/* Compiles the configured rules; off when cfg->detect is false. */
vg_err vg_srv_detect_start(vg_srv *s, vg_diag *d);
void vg_srv_detect_stop(vg_srv *s);
/* Counts a reload refused before it ran (bad settings at SIGHUP). */
void vg_srv_detect_reload_refused(vg_srv *s);
/* Rebuilds the rules and swaps them in; the old ones stay on failure. */
vg_err vg_srv_detect_reload(vg_srv *s, vg_diag *d);
/* Runs detection over a request's batches; alert rows go to alerts. */
vg_err vg_srv_detect_run(vg_srv *s, vg_batch *const *v, size_t n, vg_batchset *alerts,
                         uint64_t *nalerts);
void vg_srv_detect_metrics(vg_srv *s, vg_buf *out);

/* ---- incidents (srv_incidents.c) ---- */
/* Opens the incident engine on DIR/state.db and hands it any alert of the
 * event store it has not seen (alerts are durable in the store first). */
vg_err vg_srv_incidents_start(vg_srv *s, vg_diag *d);
void vg_srv_incidents_stop(vg_srv *s);
/* Correlates alert rows (AlertInfo/AlertEvidence batches among v) that were
 * just made durable in the store; other batches are ignored. */
void vg_srv_incidents_alerts(vg_srv *s, vg_batch *const *v, size_t n);
/* Correlates the alerts of the event store the engine does not know (after
 * a crash between the store append and the engine); srv_reconcile.c. */
vg_err vg_srv_incidents_reconcile(vg_srv *s, vg_diag *d);

/* ---- custom detections (srv_custom.c) ---- */
/* Starts the scheduler thread (when cfg->detections). */
vg_err vg_srv_custom_start(vg_srv *s, vg_diag *d);
void vg_srv_custom_stop(vg_srv *s);
/* Prometheus lines of the custom detection runs (GET /metrics). */
void vg_srv_custom_metrics(vg_srv *s, vg_buf *out);

/* ---- administration (srv_admin.c): rate limits, the audit log, tokens ---- */
vg_err vg_srv_admin_start(vg_srv *s, vg_diag *d);
void vg_srv_admin_stop(vg_srv *s);
/* Takes one request from rq's token's bucket; false (and rq->retry_after
 * set) when the token is over its rate. */
bool vg_srv_rate_admit(vg_srv *s, vg_req *rq);
/* Writes one audit record for rq (who, route, status) with an optional
 * action name, object and JSON detail; never holds a secret. A handler that
 * writes its own record sets rq->audited, so that the HTTP layer does not
 * write the generic one ("METHOD /path/{pattern}") when the request ends. */
void vg_srv_audit(vg_srv *s, const vg_req *rq, const char *action, const char *object_type,
                  const char *object_id, vg_str detail_json);

/* ---- endpoint agents (srv_agents.c, srv_machines.c) ---- */
vg_err vg_srv_agents_start(vg_srv *s, vg_diag *d);
void vg_srv_agents_stop(vg_srv *s);
/*
 * POST /api/v1/ingest?device=&seq= (either may be NULL): checks the pair
 * against rq's token - a device token's batch must name its own device, seq
 * is a positive integer and needs a device (named, or the token's). *dup is
 * true when seq is at or below the last seq acknowledged for the device:
 * the caller answers 200 {"accepted":0,"duplicate":true} and stores nothing.
 * Otherwise the (device, seq) is held as in flight (*held) until
 * vg_srv_agents_seq_release, and the same batch arriving meanwhile is a 503
 * with Retry-After. False when it answered (400, 503).
 */
bool vg_srv_agents_seq_check(vg_req *rq, const char *device, const char *seq, int64_t *seqv,
                             bool *dup, bool *held);
/* Records seq as acknowledged for the device; call only after the batch's
 * rows are durable in the store. */
void vg_srv_agents_seq_commit(vg_req *rq, const char *device, int64_t seq);
/* Ends the in-flight hold of a batch that seq_check held (after commit, or
 * when the request failed). */
void vg_srv_agents_seq_release(vg_req *rq, const char *device, int64_t seq);

#endif
