/*
 * srv_admin.c - administration over HTTP: the token API, per-token rate
 * limits and the audit log.
 *
 *   GET    /api/v1/tokens        every token (id, name, role, created, revoked)
 *   POST   /api/v1/tokens        {"name","role"} -> 201 with the secret, shown once
 *   DELETE /api/v1/tokens/{id}   revoke (409 for the last active admin token)
 *   GET    /api/v1/audit         the audit log, newest first, with filters
 *
 * All four are admin-only. The tokens themselves (hashes, the check, the
 * last-admin rule) are src/state/vg_tokens.c; this file is their HTTP face.
 *
 * Rate limits: a token bucket per token id (cfg->rate_limit tokens a second,
 * at most cfg->rate_burst held), in an open-addressed table of RATE_SLOTS
 * under one mutex. A full table is rebuilt keeping only buckets that are not
 * full (a full bucket is the same as no bucket); if every slot is still in
 * use the request is admitted and counted, so an attacker holding thousands
 * of tokens cannot lock out the others through the limiter.
 *
 * Audit: one row per write (srv_http.c calls vg_srv_audit when a request
 * that is not GET/HEAD ends, refused ones included; handlers may write a more
 * specific row themselves). The rows go through this file's own state.db
 * connection (WAL, synchronous=NORMAL: a commit is one WAL append without
 * fsync, so auditing every ingest request costs one small INSERT) and one
 * prepared statement behind a mutex. Never a secret or a request body: the
 * actor is the token's id, name and role, the object comes from the route.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../core/vg_json.h"
#include "../core/vg_log.h"
#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "vg_srv_int.h"

#define RATE_SLOTS (1u << 14)          /* token buckets held at once (power of two) */
#define RATE_MAX_LOAD (RATE_SLOTS / 4 * 3)
#define AUDIT_MAX_TOP 1000             /* rows of one GET /api/v1/audit page */
#define AUDIT_DEFAULT_TOP 100
#define AUDIT_MAX_ACTION 300           /* bytes of a generated "METHOD /path" action */
#define AUDIT_MAX_DETAIL (64 * 1024)   /* bytes of a detail JSON kept */
#define TOKEN_BODY_MAX (16 * 1024)     /* bytes of a POST /api/v1/tokens body */

typedef struct rate_slot {
    int64_t id;          /* token id; 0 = empty (ids start at 1) */
    double tokens;       /* requests the token may make now */
    uint64_t last_ns;    /* monotonic time tokens was computed at */
} rate_slot;

struct vg_srv_admin {
    pthread_mutex_t audit_mu;
    sqlite3 *db;
    sqlite3_stmt *ins;
    atomic_uint_fast64_t audit_failed;
    pthread_mutex_t rate_mu;
    rate_slot *slots;    /* RATE_SLOTS of them */
    size_t used;
    atomic_uint_fast64_t rate_untracked; /* admitted because the table was full */
};

/* ---- rate limits ---- */

static size_t slot_of(int64_t id) { return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 50); }

static rate_slot *slot_find(struct vg_srv_admin *a, int64_t id, bool create)
{
    size_t mask = RATE_SLOTS - 1;
    for (size_t i = slot_of(id) & mask, k = 0; k < RATE_SLOTS; i = (i + 1) & mask, k++) {
        if (a->slots[i].id == id)
            return &a->slots[i];
        if (a->slots[i].id == 0) {
            if (!create || a->used >= RATE_MAX_LOAD)
                return NULL;
            a->slots[i].id = id;
            a->used++;
            return &a->slots[i];
        }
    }
    return NULL;
}

/* Drops the buckets that have refilled to the burst; the caller holds rate_mu. */
static void rate_sweep(struct vg_srv_admin *a, const vg_srv_settings *cfg, uint64_t now)
{
    rate_slot *old = a->slots;
    rate_slot *keep = malloc(RATE_SLOTS * sizeof *keep);
    if (!keep)
        return;
    size_t n = 0;
    for (size_t i = 0; i < RATE_SLOTS; i++) {
        if (!old[i].id)
            continue;
        double t = old[i].tokens + (double)(now - old[i].last_ns) / 1e9 * (double)cfg->rate_limit;
        if (t < (double)cfg->rate_burst)
            keep[n++] = old[i];
    }
    memset(old, 0, RATE_SLOTS * sizeof *old);
    a->used = 0;
    for (size_t i = 0; i < n; i++) {
        rate_slot *s = slot_find(a, keep[i].id, true);
        if (s)
            *s = keep[i];
    }
    free(keep);
}

bool vg_srv_rate_admit(vg_srv *s, vg_req *rq)
{
    const vg_srv_settings *cfg = s->cfg;
    struct vg_srv_admin *a = s->admin;
    if (!a || cfg->rate_limit <= 0 || !rq->authed || rq->who.id <= 0)
        return true;
    uint64_t now = vg_mono_ns();
    double rate = (double)cfg->rate_limit, burst = (double)cfg->rate_burst;
    bool ok = true;
    pthread_mutex_lock(&a->rate_mu);
    rate_slot *b = slot_find(a, rq->who.id, false);
    if (!b) {
        if (a->used >= RATE_MAX_LOAD)
            rate_sweep(a, cfg, now);
        b = slot_find(a, rq->who.id, true);
        if (b) {
            b->tokens = burst;
            b->last_ns = now;
        }
    }
    if (!b) {
        atomic_fetch_add(&a->rate_untracked, 1);
    } else {
        double t = b->tokens + (double)(now - b->last_ns) / 1e9 * rate;
        b->tokens = t > burst ? burst : t;
        b->last_ns = now;
        if (b->tokens >= 1.0) {
            b->tokens -= 1.0;
        } else {
            ok = false;
            double wait = ceil((1.0 - b->tokens) / rate);
            snprintf(rq->retry_after_buf, sizeof rq->retry_after_buf, "%lld",
                     (long long)(wait < 1 ? 1 : wait));
            rq->retry_after = rq->retry_after_buf;
        }
    }
    pthread_mutex_unlock(&a->rate_mu);
    return ok;
}

/* ---- the audit log ---- */

/* The object types of the audit log: a route's collection (the segment
 * before its first {param}) and the type name every audit row uses for it,
 * the generic rows of refused writes and the detailed rows of the parts
 * alike, so ?objectType=incident finds both. */
static const struct {
    const char *collection, *type;
} object_types[] = {
    { "incidents", "incident" },         { "alerts_v2", "alert" },
    { "suppressionRules", "suppression" }, { "detectionRules", "detectionRule" },
    { "tokens", "token" },
    /* endpoint agents (srv_agents.c, srv_machines.c, srv_indicators.c) */
    { "machines", "device" },            { "machineactions", "machineAction" },
    { "actions", "machineAction" },      { "indicators", "indicator" },
};

/* The object type a route acts on ("/api/v1/security/incidents/{id}/comments"
 * -> "incident"); empty when the route has no parameter. */
static void route_object_type(const char *route, char *out, size_t cap)
{
    out[0] = '\0';
    const char *brace = route ? strchr(route, '{') : NULL;
    if (!brace || brace == route)
        return;
    const char *end = brace - 1;   /* the '/' before the parameter */
    const char *start = end;
    while (start > route && start[-1] != '/')
        start--;
    vg_str coll = vg_str_make(start, (size_t)(end - start));
    for (size_t i = 0; i < sizeof object_types / sizeof object_types[0]; i++)
        if (vg_str_eqc(coll, object_types[i].collection)) {
            vg_str_copy_c(out, cap, vg_str_c(object_types[i].type));
            return;
        }
    vg_str_copy_c(out, cap, coll);
}

void vg_srv_audit(vg_srv *s, const vg_req *rq, const char *action, const char *object_type,
                  const char *object_id, vg_str detail_json)
{
    struct vg_srv_admin *a = s->admin;
    if (!a || !a->ins)
        return;
    char act[AUDIT_MAX_ACTION], otype[64], remote[80];
    if (!action) {
        /* the route's pattern, not the path: ids go in object_id, and an
         * unknown path is cut short (it is whatever the client sent) */
        snprintf(act, sizeof act, "%s %s", rq->method, rq->route ? rq->route : rq->path);
        action = act;
    }
    if (!object_type) {
        route_object_type(rq->route, otype, sizeof otype);
        object_type = otype[0] ? otype : NULL;
    }
    if (!object_id && rq->route && rq->nparams > 0)
        object_id = rq->params[0];
    vg_req_remote(rq, remote, sizeof remote);
    if (detail_json.n > AUDIT_MAX_DETAIL) {
        vg_log(VG_LOG_WARN, "audit detail too large; left out", VG_LI("req", rq->id),
               VG_LI("bytes", detail_json.n));
        detail_json = vg_str_make(NULL, 0);
    }
    pthread_mutex_lock(&a->audit_mu);
    sqlite3_stmt *st = a->ins;
    sqlite3_bind_int64(st, 1, vg_state_now_ms());
    if (rq->authed) {
        sqlite3_bind_int64(st, 2, rq->who.id);
        sqlite3_bind_text(st, 3, rq->who.name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, vg_role_name(rq->who.role), -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, "anonymous", -1, SQLITE_STATIC);
        sqlite3_bind_null(st, 4);
    }
    sqlite3_bind_text(st, 5, action, -1, SQLITE_TRANSIENT);
    if (object_type)
        sqlite3_bind_text(st, 6, object_type, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 6);
    if (object_id)
        sqlite3_bind_text(st, 7, object_id, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 7);
    if (rq->status)
        sqlite3_bind_int(st, 8, rq->status);
    else
        sqlite3_bind_null(st, 8);   /* the client went away before an answer */
    sqlite3_bind_text(st, 9, remote, -1, SQLITE_TRANSIENT);
    if (detail_json.n)
        sqlite3_bind_text(st, 10, detail_json.p, (int)detail_json.n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 10);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        atomic_fetch_add(&a->audit_failed, 1);
        vg_log(VG_LOG_ERROR, "cannot write the audit row", VG_LI("req", rq->id),
               VG_LS("action", action), VG_LS("error", sqlite3_errmsg(a->db)));
    }
    pthread_mutex_unlock(&a->audit_mu);
}

/* ---- start / stop ---- */

vg_err vg_srv_admin_start(vg_srv *s, vg_diag *d)
{
    struct vg_srv_admin *a = calloc(1, sizeof *a);
    if (!a)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    pthread_mutex_init(&a->audit_mu, NULL);
    pthread_mutex_init(&a->rate_mu, NULL);
    s->admin = a;
    a->slots = calloc(RATE_SLOTS, sizeof *a->slots);
    if (!a->slots)
        return vg_diag_set(d, VG_ENOMEM, "out of memory for the rate limiter");
    vg_err e = vg_state_open(s->cfg->data, &a->db, d);
    if (e)
        return e;
    /* vg_state_open sets WAL + synchronous=NORMAL; said again because the
     * audit's cost on every ingest request depends on it */
    sqlite3_exec(a->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if (sqlite3_prepare_v3(a->db,
                           "INSERT INTO audit(time, actor_id, actor, role, action, object_type, "
                           "object_id, status, remote, detail) VALUES(?,?,?,?,?,?,?,?,?,?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &a->ins, NULL) != SQLITE_OK)
        return vg_diag_set(d, VG_EIO, "state.db: preparing the audit insert: %s",
                           sqlite3_errmsg(a->db));
    return VG_OK;
}

void vg_srv_admin_stop(vg_srv *s)
{
    struct vg_srv_admin *a = s->admin;
    if (!a)
        return;
    s->admin = NULL;
    sqlite3_finalize(a->ins);
    if (a->db)
        sqlite3_close(a->db);
    free(a->slots);
    pthread_mutex_destroy(&a->audit_mu);
    pthread_mutex_destroy(&a->rate_mu);
    free(a);
}

/* ---- the token API ---- */

static void h_tokens_list(vg_req *rq)
{
    vg_token_info *v = NULL;
    size_t n = 0;
    vg_diag d;
    vg_diag_clear(&d);
    if (vg_auth_list(rq->srv->auth, &v, &n, &d)) {
        vg_req_json_error(rq, 500, "%s", d.msg);
        return;
    }
    rq->status = 200;
    vg_buf_puts(&rq->out, "{\"value\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            vg_buf_putc(&rq->out, ',');
        vg_token_json(&rq->out, &v[i], NULL);
    }
    vg_buf_puts(&rq->out, "]}\n");
    free(v);
}

static void h_tokens_create(vg_req *rq)
{
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_diag d;
    vg_diag_clear(&d);
    char *secret = NULL;
    char name[VG_TOKEN_MAX_NAME + 1];
    vg_str sname = { NULL, 0 }, srole = { NULL, 0 };
    bool has_name = false, has_role = false;
    vg_json *root = NULL;
    if (rq->body.n > TOKEN_BODY_MAX) {
        vg_req_json_error(rq, 413, "token request of %zu bytes; at most %d", rq->body.n,
                          TOKEN_BODY_MAX);
        goto out;
    }
    if (vg_json_parse(&ar, vg_str_make(rq->body.p, rq->body.n), &root, &d)) {
        vg_req_json_error(rq, 400, "body: %s (expected {\"name\":..., \"role\":...})", d.msg);
        goto out;
    }
    if (root->kind != VG_JSON_OBJECT) {
        vg_req_json_error(rq, 400, "body: expected a JSON object {\"name\":..., \"role\":...}");
        goto out;
    }
    for (uint32_t i = 0; i < root->n; i++) {
        const vg_json *m = root->kids[i];
        bool is_name = vg_str_eqc(m->key, "name"), is_role = vg_str_eqc(m->key, "role");
        if (!is_name && !is_role) {
            vg_req_json_error(rq, 400, "body: unknown member '%.*s' (expected name and role)",
                              (int)(m->key.n > 64 ? 64 : m->key.n), m->key.p);
            goto out;
        }
        if (m->kind != VG_JSON_STRING) {
            vg_req_json_error(rq, 400, "body: %s must be a string", is_name ? "name" : "role");
            goto out;
        }
        if (is_name) {
            sname = m->str;
            has_name = true;
        } else {
            srole = m->str;
            has_role = true;
        }
    }
    if (!has_name || !has_role) {
        vg_req_json_error(rq, 400, "body: %s is required", has_name ? "role" : "name");
        goto out;
    }
    if (vg_token_name_check(sname, &d)) {
        vg_req_json_error(rq, 400, "%s", d.msg);
        goto out;
    }
    vg_role role;
    if (vg_role_parse(srole, &role)) {
        vg_req_json_error(rq, 400, "role: '%.*s' is not a role (expected one of %s)",
                          (int)(srole.n > 64 ? 64 : srole.n), srole.p, vg_role_list());
        goto out;
    }
    vg_str_copy_c(name, sizeof name, sname);
    vg_token_info info;
    if (vg_auth_create(rq->srv->auth, name, role, &secret, &info, &d)) {
        vg_req_json_error(rq, 500, "%s", d.msg);
        goto out;
    }
    rq->status = 201;
    vg_token_json(&rq->out, &info, secret);   /* the one time the secret is shown */
    vg_buf_putc(&rq->out, '\n');
    /* the audit row names the token, never its secret */
    char id[24];
    vg_buf detail;
    vg_buf_init(&detail, 0);
    vg_buf_puts(&detail, "{\"name\":");
    vg_buf_put_json_str(&detail, vg_str_c(info.name));
    vg_buf_puts(&detail, ",\"role\":");
    vg_buf_put_json_str(&detail, vg_str_c(vg_role_name(info.role)));
    vg_buf_putc(&detail, '}');
    snprintf(id, sizeof id, "%lld", (long long)info.id);
    vg_srv_audit(rq->srv, rq, "token.create", "token", id, vg_str_make(detail.p, detail.n));
    rq->audited = true;
    vg_buf_free(&detail);
    vg_log(VG_LOG_INFO, "token created", VG_LI("req", rq->id), VG_LI("token_id", info.id),
           VG_LS("name", info.name), VG_LS("role", vg_role_name(info.role)),
           VG_LS("by", rq->who.name));
out:
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    vg_arena_free(&ar);
}

static void h_tokens_revoke(vg_req *rq)
{
    int64_t id;
    vg_diag d;
    vg_diag_clear(&d);
    if (vg_str_to_i64(vg_str_c(rq->params[0]), &id) || id <= 0) {
        vg_req_json_error(rq, 400, "token id: expected a positive integer, got '%s'",
                          rq->params[0]);
        return;
    }
    vg_token_info info;
    vg_err e = vg_auth_revoke(rq->srv->auth, id, &info, &d);
    if (e == VG_ENOTFOUND) {
        vg_req_json_error(rq, 404, "%s", d.msg);
        return;
    }
    if (e == VG_ECONFLICT) {
        vg_req_json_error(rq, 409, "%s", d.msg);
        return;
    }
    if (e) {
        vg_req_json_error(rq, 500, "%s", d.msg);
        return;
    }
    rq->status = 200;
    vg_token_json(&rq->out, &info, NULL);
    vg_buf_putc(&rq->out, '\n');
    vg_buf detail;
    vg_buf_init(&detail, 0);
    vg_buf_puts(&detail, "{\"name\":");
    vg_buf_put_json_str(&detail, vg_str_c(info.name));
    vg_buf_puts(&detail, ",\"role\":");
    vg_buf_put_json_str(&detail, vg_str_c(vg_role_name(info.role)));
    vg_buf_putc(&detail, '}');
    vg_srv_audit(rq->srv, rq, "token.revoke", "token", rq->params[0],
                 vg_str_make(detail.p, detail.n));
    rq->audited = true;
    vg_buf_free(&detail);
    vg_log(VG_LOG_INFO, "token revoked", VG_LI("req", rq->id), VG_LI("token_id", info.id),
           VG_LS("name", info.name), VG_LS("by", rq->who.name));
}

/* ---- GET /api/v1/audit ---- */

/* ?$top / ?$skip: a count in [0, max]; false (and a 400) otherwise. */
static bool arg_count(vg_req *rq, const char *name, int64_t def, int64_t max, int64_t *out)
{
    const char *v = vg_req_arg(rq, name);
    *out = def;
    if (!v)
        return true;
    int64_t n;
    if (vg_str_to_i64(vg_str_trim(vg_str_c(v)), &n) || n < 0 || n > max) {
        vg_req_json_error(rq, 400, "%s: expected an integer from 0 to %lld, got '%.40s'", name,
                          (long long)max, v);
        return false;
    }
    *out = n;
    return true;
}

static void put_col_text(vg_buf *b, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    if (t)
        vg_buf_put_json_str(b, vg_str_c(t));
    else
        vg_buf_puts(b, "null");
}

static void h_audit(vg_req *rq)
{
    static const struct { const char *arg, *col; } filters[] = {
        { "actor", "actor" },
        { "action", "action" },
        { "objectType", "object_type" },
        { "objectId", "object_id" },
    };
    int64_t top, skip, since_ms = 0;
    if (!arg_count(rq, "$top", AUDIT_DEFAULT_TOP, AUDIT_MAX_TOP, &top) ||
        !arg_count(rq, "$skip", 0, INT64_MAX, &skip))
        return;
    const char *since = vg_req_arg(rq, "since");
    if (since) {
        vg_time t;
        if (vg_time_parse_iso(vg_str_trim(vg_str_c(since)), &t)) {
            vg_req_json_error(rq, 400, "since: expected an ISO-8601 time such as "
                              "2026-01-31T12:00:00Z, got '%.60s'", since);
            return;
        }
        since_ms = t / VG_TICKS_PER_MS;
    }
    vg_buf sql;
    vg_buf_init(&sql, 0);
    vg_buf_puts(&sql, "SELECT id, time, actor_id, actor, role, action, object_type, object_id, "
                      "status, remote, detail FROM audit WHERE 1");
    if (since)
        vg_buf_puts(&sql, " AND time >= ?");
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (vg_req_arg(rq, filters[i].arg))
            vg_buf_printf(&sql, " AND %s = ?", filters[i].col);
    vg_buf_puts(&sql, " ORDER BY id DESC LIMIT ? OFFSET ?");
    struct vg_srv_admin *a = rq->srv->admin;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&a->audit_mu);
    if (sqlite3_prepare_v2(a->db, vg_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        vg_req_json_error(rq, 500, "state.db: reading the audit log: %s", sqlite3_errmsg(a->db));
        goto out;
    }
    int k = 1;
    if (since)
        sqlite3_bind_int64(st, k++, since_ms);
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        const char *v = vg_req_arg(rq, filters[i].arg);
        if (v)
            sqlite3_bind_text(st, k++, v, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, k++, top);
    sqlite3_bind_int64(st, k++, skip);
    vg_buf *o = &rq->out;
    vg_buf_puts(o, "{\"value\":[");
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char iso[32];
        vg_state_iso(sqlite3_column_int64(st, 1), iso);
        vg_buf_printf(o, "%s{\"id\":\"%lld\",\"time\":\"%s\",\"actorId\":", n++ ? "," : "",
                      (long long)sqlite3_column_int64(st, 0), iso);
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            vg_buf_puts(o, "null");
        else
            vg_buf_printf(o, "\"%lld\"", (long long)sqlite3_column_int64(st, 2));
        static const char *const names[] = { "actor", "role", "action", "objectType",
                                             "objectId" };
        for (int c = 0; c < 5; c++) {
            vg_buf_printf(o, ",\"%s\":", names[c]);
            put_col_text(o, st, 3 + c);
        }
        vg_buf_puts(o, ",\"status\":");
        if (sqlite3_column_type(st, 8) == SQLITE_NULL)
            vg_buf_puts(o, "null");
        else
            vg_buf_printf(o, "%d", sqlite3_column_int(st, 8));
        vg_buf_puts(o, ",\"remote\":");
        put_col_text(o, st, 9);
        vg_buf_puts(o, ",\"detail\":");
        const char *detail = (const char *)sqlite3_column_text(st, 10);
        vg_buf_puts(o, detail ? detail : "null");   /* stored as JSON by vigild itself */
        vg_buf_putc(o, '}');
    }
    if (rc != SQLITE_DONE) {
        vg_req_json_error(rq, 500, "state.db: reading the audit log: %s", sqlite3_errmsg(a->db));
        goto out;
    }
    vg_buf_puts(o, "]}\n");
    rq->status = 200;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->audit_mu);
    vg_buf_free(&sql);
}

const vg_route vg_routes_admin[] = {
    { "GET", "/api/v1/tokens", h_tokens_list, VG_ROLES_ADMIN,
      "API tokens: {\"value\":[{\"id\",\"name\",\"role\",\"created\",\"revoked\"}]} (never the "
      "secret or its hash); admin" },
    { "POST", "/api/v1/tokens", h_tokens_create, VG_ROLES_ADMIN,
      "create a token: {\"name\",\"role\"} -> 201 {\"id\",\"name\",\"role\",\"created\","
      "\"token\"}; the secret is shown only in this answer; admin" },
    { "DELETE", "/api/v1/tokens/{id}", h_tokens_revoke, VG_ROLES_ADMIN,
      "revoke a token at once (404 unknown id; 409 for the last active admin token); admin" },
    { "GET", "/api/v1/audit", h_audit, VG_ROLES_ADMIN,
      "the audit log, newest first: ?since=ISO, ?actor=, ?action=, ?objectType=, ?objectId=, "
      "$top (<= 1000, default 100), $skip; admin" },
    { NULL, NULL, NULL, 0, NULL },
};
