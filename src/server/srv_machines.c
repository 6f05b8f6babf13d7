/*
 * srv_machines.c - the Defender for Endpoint shaped routes analysts call
 * about endpoint agents (docs/api.md, "Machines, machine actions,
 * indicators"):
 *
 *   GET  /api/machines[/{id}]                      devices, as Defender's machine entity
 *   POST /api/machines/{id}/isolate ... /runYaraScan  a machine action, Pending
 *   GET  /api/machineactions[/{id}]                actions ($filter, $top)
 *   POST /api/machineactions/{id}/cancel           Pending only
 *   GET  /api/machineactions/{id}/GetPackageUri    where the package is
 *   GET  /api/machineactions/{id}/package          the package itself
 *   POST/GET /api/indicators, DELETE /api/indicators/{id}
 *
 * The action kinds are one table (action_kinds): route, type name, and the
 * function that checks the request's parameters and writes the params JSON
 * the agent receives. The agent's side (pulling, acknowledging) is
 * srv_agents.c; all share one state.db connection (srv_agents_int.h).
 *
 * An action handed to an agent (InProgress) that the agent never reports on
 * does not stay InProgress: after AG_ACTION_TIMEOUT_MS it becomes Failed
 * ("timed out: ...") the next time actions are listed or read or the agent
 * pulls (ag_actions_expire; lazy, no thread).
 *
 * healthStatus: Active when the device was seen in the last 5 minutes and
 * its agent reports itself Active, ImpairedCommunication when seen but
 * Degraded, Inactive otherwise.
 *
 * The indicator handlers are srv_indicators.c (their routes are listed here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../core/vg_log.h"
#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "srv_agents_int.h"

#define AG_ROLES_RESPONDERS (VG_ROLE_BIT(VG_ROLE_RESPONDER) | VG_ROLE_BIT(VG_ROLE_ADMIN))

/* ---- machines ---- */

#define HEALTH_SQL(now)                                                                  \
    "CASE WHEN last_seen < " now " - 300000 THEN 'Inactive' WHEN health = 'Active' "      \
    "THEN 'Active' ELSE 'ImpairedCommunication' END"

static const ag_filter_field machine_fields[] = {
    { "id", "device_id" },
    { "computerDnsName", "name" },
    { "osPlatform", "os_platform" },
    { "healthStatus", HEALTH_SQL("?1") },
    { "isolationState", "isolation_state" },
    { "version", "agent_version" },
    { NULL, NULL },
};

#define MACHINE_COLS                                                                     \
    "device_id, name, os_platform, os_version, os_distribution, kernel_version, "         \
    "agent_version, first_seen, last_seen, " HEALTH_SQL("?1") ", isolation_state, last_ip"

static void put_machine(vg_buf *o, sqlite3_stmt *st)
{
    vg_buf_puts(o, "{\"id\":");
    ag_put_col(o, st, 0);
    vg_buf_puts(o, ",\"computerDnsName\":");
    ag_put_col(o, st, 1);
    vg_buf_puts(o, ",\"osPlatform\":");
    ag_put_col(o, st, 2);
    vg_buf_puts(o, ",\"osVersion\":");
    ag_put_col(o, st, 3);
    vg_buf_puts(o, ",\"osDistribution\":");
    ag_put_col(o, st, 4);
    vg_buf_puts(o, ",\"kernelVersion\":");
    ag_put_col(o, st, 5);
    vg_buf_puts(o, ",\"version\":");
    ag_put_col(o, st, 6);
    vg_buf_puts(o, ",\"firstSeen\":");
    ag_put_time(o, sqlite3_column_int64(st, 7));
    vg_buf_puts(o, ",\"lastSeen\":");
    ag_put_time(o, sqlite3_column_int64(st, 8));
    vg_buf_puts(o, ",\"healthStatus\":");
    ag_put_col(o, st, 9);
    vg_buf_puts(o, ",\"isolationState\":");
    ag_put_col(o, st, 10);
    /* last_ip is "addr:port" or "[v6]:port" as the connection came */
    const char *ip = (const char *)sqlite3_column_text(st, 11);
    vg_str ips = vg_str_c(ip ? ip : "");
    if (ips.n && ips.p[0] == '[') {
        ptrdiff_t e = vg_str_chr(ips, ']');
        ips = e > 0 ? vg_str_make(ips.p + 1, (size_t)e - 1) : ips;
    } else {
        ptrdiff_t c = vg_str_rchr(ips, ':');
        if (c > 0)
            ips.n = (size_t)c;
    }
    vg_buf_puts(o, ",\"lastIpAddress\":");
    vg_buf_put_json_str(o, ips);
    vg_buf_puts(o, ",\"onboardingStatus\":\"Onboarded\",\"machineTags\":[]}");
}

static void h_machines(vg_req *rq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    ag_filter f = { 0 };
    vg_buf_init(&f.where, 0);
    vg_buf sql;
    vg_buf_init(&sql, 0);
    int64_t top;
    sqlite3_stmt *st = NULL;
    if (!ag_parse_top(rq, &top) || !ag_parse_filter(rq, machine_fields, &f, 2))
        goto out;
    vg_buf_printf(&sql, "SELECT " MACHINE_COLS " FROM devices WHERE 1%s ORDER BY name, "
                  "device_id LIMIT %lld", f.where.n ? vg_buf_cstr(&f.where) : "", (long long)top);
    pthread_mutex_lock(&a->mu);
    bool ok = sqlite3_prepare_v2(a->db, vg_buf_cstr(&sql), -1, &st, NULL) == SQLITE_OK;
    vg_buf *o = &rq->out;
    if (ok) {
        sqlite3_bind_int64(st, 1, vg_state_now_ms());
        for (int i = 0; i < f.n; i++)
            sqlite3_bind_text(st, 2 + i, f.vals[i], -1, SQLITE_STATIC);
        vg_buf_puts(o, "{\"@odata.context\":\"/api/$metadata#Machines\",\"value\":[");
        int rc, n = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n++)
                vg_buf_putc(o, ',');
            put_machine(o, st);
        }
        vg_buf_puts(o, "]}\n");
        ok = rc == SQLITE_DONE;
    }
    if (!ok) {
        vg_buf_clear(o);
        ag_db_error(rq, a->db, "machines");
    } else {
        rq->status = 200;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
out:
    vg_buf_free(&f.where);
    vg_buf_free(&sql);
}

/* Writes machine id's JSON into o under the lock; false when none. */
static bool machine_json(struct vg_srv_agents *a, const char *id, vg_buf *o, bool *dberr)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    *dberr = sqlite3_prepare_v2(a->db, "SELECT " MACHINE_COLS " FROM devices WHERE device_id "
                                       "= ?2", -1, &st, NULL) != SQLITE_OK;
    if (!*dberr) {
        sqlite3_bind_int64(st, 1, vg_state_now_ms());
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            put_machine(o, st);
            found = true;
        }
        *dberr = rc != SQLITE_ROW && rc != SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return found;
}

static void h_machine(vg_req *rq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    const char *id = rq->params[0];
    bool dberr;
    pthread_mutex_lock(&a->mu);
    bool found = machine_json(a, id, &rq->out, &dberr);
    if (dberr)
        ag_db_error(rq, a->db, "machine");
    pthread_mutex_unlock(&a->mu);
    if (dberr)
        return;
    if (!found) {
        vg_req_json_error(rq, 404, "no machine '%.64s'", id);
        return;
    }
    vg_buf_putc(&rq->out, '\n');
    rq->status = 200;
}

/* ---- machine actions ---- */

vg_err ag_actions_expire(struct vg_srv_agents *a, int64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    vg_err e = VG_EIO;
    int64_t cutoff = now_ms - AG_ACTION_TIMEOUT_MS;
    /* named in the log first (the caller holds the lock: nothing changes between) */
    if (sqlite3_prepare_v2(a->db, "SELECT id, device_id, type FROM machine_actions WHERE "
                                  "status = 'InProgress' AND updated <= ?1", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, cutoff);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        vg_log(VG_LOG_WARN, "machine action timed out",
               VG_LS("id", (const char *)sqlite3_column_text(st, 0)),
               VG_LS("device", (const char *)sqlite3_column_text(st, 1)),
               VG_LS("type", (const char *)sqlite3_column_text(st, 2)));
    if (rc != SQLITE_DONE)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(a->db, "UPDATE machine_actions SET status = 'Failed', updated = ?1, "
                                  "error = ?2 WHERE status = 'InProgress' AND updated <= ?3",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, AG_ACTION_TIMEOUT_ERROR, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cutoff);
    if (sqlite3_step(st) == SQLITE_DONE)
        e = VG_OK;
out:
    sqlite3_finalize(st);
    return e;
}

static const ag_filter_field action_fields[] = {
    { "id", "a.id" },
    { "machineId", "a.device_id" },
    { "status", "a.status" },
    { "type", "a.type" },
    { "requestor", "a.requestor" },
    { NULL, NULL },
};

#define ACTION_COLS                                                                      \
    "a.id, a.type, a.status, a.device_id, coalesce(d.name, ''), a.requestor, a.comment, "  \
    "a.created, a.updated, a.params, a.result, a.error"
#define ACTION_FROM " FROM machine_actions a LEFT JOIN devices d ON d.device_id = a.device_id"

static void put_action(vg_buf *o, sqlite3_stmt *st)
{
    vg_buf_puts(o, "{\"id\":");
    ag_put_col(o, st, 0);
    vg_buf_puts(o, ",\"type\":");
    ag_put_col(o, st, 1);
    vg_buf_puts(o, ",\"status\":");
    ag_put_col(o, st, 2);
    vg_buf_puts(o, ",\"machineId\":");
    ag_put_col(o, st, 3);
    vg_buf_puts(o, ",\"computerDnsName\":");
    ag_put_col(o, st, 4);
    vg_buf_puts(o, ",\"requestor\":");
    ag_put_col(o, st, 5);
    vg_buf_puts(o, ",\"requestorComment\":");
    ag_put_col(o, st, 6);
    vg_buf_puts(o, ",\"creationDateTimeUtc\":");
    ag_put_time(o, sqlite3_column_int64(st, 7));
    vg_buf_puts(o, ",\"lastUpdateDateTimeUtc\":");
    ag_put_time(o, sqlite3_column_int64(st, 8));
    const char *p = (const char *)sqlite3_column_text(st, 9);
    vg_buf_puts(o, ",\"params\":");
    vg_buf_puts(o, p ? p : "{}");
    const char *r = (const char *)sqlite3_column_text(st, 10);
    vg_buf_puts(o, ",\"result\":");
    vg_buf_puts(o, r ? r : "null");
    vg_buf_puts(o, ",\"error\":");
    if (sqlite3_column_type(st, 11) == SQLITE_NULL)
        vg_buf_puts(o, "null");
    else
        ag_put_col(o, st, 11);
    vg_buf_puts(o, ",\"commands\":[]}");
}

/* Action id's JSON into o under the lock; false when none. */
static bool action_json(struct vg_srv_agents *a, const char *id, vg_buf *o, bool *dberr)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    *dberr = sqlite3_prepare_v2(a->db, "SELECT " ACTION_COLS ACTION_FROM " WHERE a.id = ?1", -1,
                                &st, NULL) != SQLITE_OK;
    if (!*dberr) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            put_action(o, st);
            found = true;
        }
        *dberr = rc != SQLITE_ROW && rc != SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return found;
}

/* The request's parameters of one kind of action: checked, and written as
 * the params JSON the agent gets. False when it answered 400. */
typedef bool (*action_params_fn)(vg_req *rq, const vg_json *body, vg_buf *params);

static bool hex_field(vg_req *rq, const vg_json *o, const char *key, size_t n, vg_str *out)
{
    if (!ag_str_field(rq, o, key, 128, false, out))
        return false;
    if (out->p && !ag_is_hex(*out, n)) {
        vg_req_json_error(rq, 400, "%s: expected %zu hex digits", key, n);
        return false;
    }
    return true;
}

static void put_kv(vg_buf *b, bool *first, const char *key, vg_str v)
{
    vg_buf_printf(b, "%s\"%s\":", *first ? "" : ",", key);
    vg_buf_put_json_str(b, v);
    *first = false;
}

static bool params_isolate(vg_req *rq, const vg_json *body, vg_buf *p)
{
    vg_str t;
    if (!ag_str_field(rq, body, "IsolationType", 32, false, &t))
        return false;
    if (t.p && !vg_str_eqc(t, "Full")) {
        vg_req_json_error(rq, 400, "IsolationType: only Full is supported, not '%.*s'",
                          (int)(t.n > 32 ? 32 : t.n), t.p);
        return false;
    }
    vg_buf_puts(p, "{\"IsolationType\":\"Full\"}");
    return true;
}

static bool params_none(vg_req *rq, const vg_json *body, vg_buf *p)
{
    (void)rq;
    (void)body;
    vg_buf_puts(p, "{}");
    return true;
}

static bool abs_path(vg_req *rq, const vg_json *body, const char *key, bool required, vg_str *v)
{
    if (!ag_str_field(rq, body, key, 4096, required, v))
        return false;
    if (v->p && (!v->n || v->p[0] != '/' || memchr(v->p, '\0', v->n))) {
        vg_req_json_error(rq, 400, "%s: expected an absolute path", key);
        return false;
    }
    return true;
}

static bool params_quarantine(vg_req *rq, const vg_json *body, vg_buf *p)
{
    vg_str sha1, sha256, path;
    if (!hex_field(rq, body, "Sha1", 40, &sha1) || !hex_field(rq, body, "Sha256", 64, &sha256) ||
        !abs_path(rq, body, "Path", false, &path))
        return false;
    if (!sha1.p && !sha256.p && !path.p) {
        vg_req_json_error(rq, 400, "Sha1: required (or Sha256, or Path)");
        return false;
    }
    bool first = true;
    vg_buf_putc(p, '{');
    if (sha1.p)
        put_kv(p, &first, "Sha1", sha1);
    if (sha256.p)
        put_kv(p, &first, "Sha256", sha256);
    if (path.p)
        put_kv(p, &first, "Path", path);
    vg_buf_putc(p, '}');
    return true;
}

static bool params_kill(vg_req *rq, const vg_json *body, vg_buf *p)
{
    vg_str sha256, start;
    if (!hex_field(rq, body, "Sha256", 64, &sha256) ||
        !ag_str_field(rq, body, "ProcessStartTime", 64, false, &start))
        return false;
    const vg_json *pid = vg_json_get(body, "ProcessId");
    int64_t pidv = 0;
    if (pid && pid->kind != VG_JSON_NULL &&
        (pid->kind != VG_JSON_NUMBER || vg_str_to_i64(pid->str, &pidv) != VG_OK || pidv <= 0 ||
         pidv > 4194304)) {
        vg_req_json_error(rq, 400, "ProcessId: expected a process id (a positive integer)");
        return false;
    }
    if (pidv && sha256.p) {
        vg_req_json_error(rq, 400, "ProcessId: give either ProcessId and ProcessStartTime, or "
                          "Sha256");
        return false;
    }
    if (!pidv && !sha256.p) {
        vg_req_json_error(rq, 400, "ProcessId: required (with ProcessStartTime), or Sha256");
        return false;
    }
    vg_time t;
    if (pidv && (!start.p || vg_time_parse_iso(start, &t) != VG_OK)) {
        vg_req_json_error(rq, 400, "ProcessStartTime: required with ProcessId, an ISO-8601 time "
                          "(so that a reused pid is not killed)");
        return false;
    }
    if (pidv) {
        vg_buf_printf(p, "{\"ProcessId\":%lld,\"ProcessStartTime\":", (long long)pidv);
        vg_buf_put_json_str(p, start);
        vg_buf_putc(p, '}');
    } else {
        bool first = true;
        vg_buf_putc(p, '{');
        put_kv(p, &first, "Sha256", sha256);
        vg_buf_putc(p, '}');
    }
    return true;
}

static bool params_restore(vg_req *rq, const vg_json *body, vg_buf *p)
{
    vg_str sha256;
    if (!hex_field(rq, body, "Sha256", 64, &sha256))
        return false;
    if (!sha256.p) {
        vg_req_json_error(rq, 400, "Sha256: required (the SHA256 of the quarantined file)");
        return false;
    }
    bool first = true;
    vg_buf_putc(p, '{');
    put_kv(p, &first, "Sha256", sha256);
    vg_buf_putc(p, '}');
    return true;
}

static bool params_yara(vg_req *rq, const vg_json *body, vg_buf *p)
{
    vg_str path, rules;
    if (!abs_path(rq, body, "Path", true, &path) ||
        !ag_str_field(rq, body, "Rules", AG_MAX_RULES, true, &rules))
        return false;
    bool first = true;
    vg_buf_putc(p, '{');
    put_kv(p, &first, "Path", path);
    put_kv(p, &first, "Rules", rules);
    vg_buf_putc(p, '}');
    return true;
}

typedef struct action_kind {
    const char *type;          /* the machineAction type */
    action_params_fn params;
    bool one_pending;          /* a second Pending one of the type is refused */
} action_kind;

/* The action kinds, one row each; the routes below name their row. */
enum { AK_ISOLATE, AK_UNISOLATE, AK_QUARANTINE, AK_RESTORE, AK_PACKAGE, AK_KILL, AK_YARA };
static const action_kind action_kinds[] = {
    [AK_ISOLATE] = { "Isolate", params_isolate, true },
    [AK_UNISOLATE] = { "Unisolate", params_none, true },
    [AK_QUARANTINE] = { "StopAndQuarantineFile", params_quarantine, false },
    [AK_RESTORE] = { "RestoreQuarantinedFile", params_restore, false },
    [AK_PACKAGE] = { "CollectInvestigationPackage", params_none, false },
    [AK_KILL] = { "KillProcess", params_kill, false },
    [AK_YARA] = { "RunYaraScan", params_yara, false },
};

static void new_uuid(char out[AG_ACTION_ID_LEN + 1])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        /* OpenSSL's generator failing is fatal for tokens too; fall back on
         * the clock so that the id is at least unique */
        uint64_t t = vg_mono_ns() ^ (uint64_t)vg_state_now_ms() << 20;
        for (int i = 0; i < 16; i++)
            r[i] = (unsigned char)(t >> (i % 8 * 8)) ^ (unsigned char)i;
    }
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
    snprintf(out, AG_ACTION_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
}

static void create_action(vg_req *rq, const action_kind *k)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_buf params;
    vg_buf_init(&params, 0);
    const vg_json *body;
    vg_str comment;
    const char *dev = rq->params[0];
    char id[AG_ACTION_ID_LEN + 1];
    sqlite3_stmt *st = NULL;
    bool locked = false, tx = false, ok = false;
    if (!ag_body_object(rq, &ar, &body) ||
        !ag_str_field(rq, body, "Comment", 4096, true, &comment) || !k->params(rq, body, &params))
        goto out;
    pthread_mutex_lock(&a->mu);
    locked = true;
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto dberr;
    tx = true;
    if (sqlite3_prepare_v2(a->db, "SELECT (SELECT count(*) FROM devices WHERE device_id = ?1), "
                                  "(SELECT count(*) FROM machine_actions WHERE device_id = ?1 "
                                  "AND type = ?2 AND status = 'Pending')", -1, &st,
                           NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->type, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto dberr;
    int64_t known = sqlite3_column_int64(st, 0), pending = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (!known) {
        vg_req_json_error(rq, 404, "no machine '%.64s' (enrolled agents: GET /api/machines)", dev);
        goto out;
    }
    if (k->one_pending && pending) {
        vg_req_json_error(rq, 400, "machine %s already has a pending %s action; cancel it or "
                          "wait for the agent", dev, k->type);
        goto out;
    }
    new_uuid(id);
    int64_t now = vg_state_now_ms();
    if (sqlite3_prepare_v2(a->db, "INSERT INTO machine_actions(id, device_id, type, status, "
                                  "params, requestor, comment, created, updated) VALUES(?1, ?2, "
                                  "?3, 'Pending', ?4, ?5, ?6, ?7, ?7)", -1, &st,
                           NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, vg_buf_cstr(&params), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, rq->who.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, comment.p, (int)comment.n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto dberr;
    tx = false;
    bool dberr;
    if (!action_json(a, id, &rq->out, &dberr))
        goto dberr;
    vg_buf_putc(&rq->out, '\n');
    ok = true;
    goto out;
dberr:
    ag_db_error(rq, a->db, "machine action");
out:
    sqlite3_finalize(st);
    if (tx)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    if (locked)
        pthread_mutex_unlock(&a->mu);
    if (ok) {
        rq->status = 201;
        vg_buf det;
        vg_buf_init(&det, 0);
        vg_buf_printf(&det, "{\"type\":\"%s\",\"machineId\":", k->type);
        vg_buf_put_json_str(&det, vg_str_c(dev));
        vg_buf_printf(&det, ",\"params\":%s}", vg_buf_cstr(&params));
        vg_srv_audit(s, rq, "machineAction.create", "machineAction", id,
                     vg_str_make(det.p, det.n));
        rq->audited = true;
        vg_buf_free(&det);
    }
    vg_buf_free(&params);
    vg_arena_free(&ar);
}

static void h_isolate(vg_req *rq) { create_action(rq, &action_kinds[AK_ISOLATE]); }
static void h_unisolate(vg_req *rq) { create_action(rq, &action_kinds[AK_UNISOLATE]); }
static void h_quarantine(vg_req *rq) { create_action(rq, &action_kinds[AK_QUARANTINE]); }
static void h_restore(vg_req *rq) { create_action(rq, &action_kinds[AK_RESTORE]); }
static void h_collect(vg_req *rq) { create_action(rq, &action_kinds[AK_PACKAGE]); }
static void h_kill(vg_req *rq) { create_action(rq, &action_kinds[AK_KILL]); }
static void h_yara(vg_req *rq) { create_action(rq, &action_kinds[AK_YARA]); }

static void h_actions(vg_req *rq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    ag_filter f = { 0 };
    vg_buf_init(&f.where, 0);
    vg_buf sql;
    vg_buf_init(&sql, 0);
    int64_t top;
    sqlite3_stmt *st = NULL;
    if (!ag_parse_top(rq, &top) || !ag_parse_filter(rq, action_fields, &f, 1))
        goto out;
    vg_buf_printf(&sql, "SELECT " ACTION_COLS ACTION_FROM " WHERE 1%s ORDER BY a.created DESC, "
                  "a.id LIMIT %lld", f.where.n ? vg_buf_cstr(&f.where) : "", (long long)top);
    pthread_mutex_lock(&a->mu);
    bool ok = ag_actions_expire(a, vg_state_now_ms()) == VG_OK &&
              sqlite3_prepare_v2(a->db, vg_buf_cstr(&sql), -1, &st, NULL) == SQLITE_OK;
    vg_buf *o = &rq->out;
    if (ok) {
        for (int i = 0; i < f.n; i++)
            sqlite3_bind_text(st, 1 + i, f.vals[i], -1, SQLITE_STATIC);
        vg_buf_puts(o, "{\"@odata.context\":\"/api/$metadata#MachineActions\",\"value\":[");
        int rc, n = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n++)
                vg_buf_putc(o, ',');
            put_action(o, st);
        }
        vg_buf_puts(o, "]}\n");
        ok = rc == SQLITE_DONE;
    }
    if (!ok) {
        vg_buf_clear(o);
        ag_db_error(rq, a->db, "machine actions");
    } else {
        rq->status = 200;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
out:
    vg_buf_free(&f.where);
    vg_buf_free(&sql);
}

static void h_action(vg_req *rq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    char id[AG_ACTION_ID_LEN + 1];
    if (!ag_action_param(rq, id))
        return;
    bool dberr = true, found = false;
    pthread_mutex_lock(&a->mu);
    if (ag_actions_expire(a, vg_state_now_ms()) == VG_OK)
        found = action_json(a, id, &rq->out, &dberr);
    if (dberr)
        ag_db_error(rq, a->db, "machine action");
    pthread_mutex_unlock(&a->mu);
    if (dberr)
        return;
    if (!found) {
        vg_req_json_error(rq, 404, "no machine action '%s'", id);
        return;
    }
    vg_buf_putc(&rq->out, '\n');
    rq->status = 200;
}

static void h_action_cancel(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    char id[AG_ACTION_ID_LEN + 1], status[32] = "";
    if (!ag_action_param(rq, id))
        return;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    const vg_json *body = NULL;
    vg_str comment = { 0 };
    /* Defender's cancel takes {"Comment"}; an empty body is fine too */
    if (rq->body.n && (!ag_body_object(rq, &ar, &body) ||
                       !ag_str_field(rq, body, "Comment", 4096, false, &comment)))
        goto out;
    sqlite3_stmt *st = NULL;
    bool ok = false, found = false, dberr = false;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db, "SELECT status FROM machine_actions WHERE id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = true;
            vg_str_copy_c(status, sizeof status,
                          vg_str_c((const char *)sqlite3_column_text(st, 0)));
        }
    } else {
        dberr = true;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (found && strcmp(status, "Pending") == 0) {
        /* the status test again in the UPDATE: an agent may have pulled it meanwhile */
        if (sqlite3_prepare_v2(a->db, "UPDATE machine_actions SET status = 'Cancelled', "
                                      "updated = ?2, error = ?3 WHERE id = ?1 AND status = "
                                      "'Pending'", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, vg_state_now_ms());
            if (comment.p)
                sqlite3_bind_text(st, 3, comment.p, (int)comment.n, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(a->db) == 1;
            dberr = !ok && sqlite3_errcode(a->db) != SQLITE_OK &&
                    sqlite3_errcode(a->db) != SQLITE_DONE;
        } else {
            dberr = true;
        }
        sqlite3_finalize(st);
        if (ok)
            action_json(a, id, &rq->out, &dberr);
    }
    if (dberr)
        ag_db_error(rq, a->db, "cancel");
    pthread_mutex_unlock(&a->mu);
    if (dberr)
        goto out;
    if (!found) {
        vg_req_json_error(rq, 404, "no machine action '%s'", id);
        goto out;
    }
    if (!ok) {
        vg_req_json_error(rq, 400, "machine action %s is %s: only a Pending action can be "
                          "cancelled", id, status[0] ? status : "no longer Pending");
        goto out;
    }
    vg_buf_putc(&rq->out, '\n');
    rq->status = 200;
    vg_srv_audit(s, rq, "machineAction.cancel", "machineAction", id,
                 vg_str_c("{\"status\":[\"Pending\",\"Cancelled\"]}"));
    rq->audited = true;
out:
    vg_arena_free(&ar);
}

/* The stored package of action id; false when it answered 404. */
static bool package_path(vg_req *rq, const char *id, char *path, size_t cap, struct stat *sb)
{
    snprintf(path, cap, "%s/%s.tar.gz", rq->srv->agents->pkgdir, id);
    if (stat(path, sb) == 0 && S_ISREG(sb->st_mode))
        return true;
    vg_req_json_error(rq, 404, "machine action %s has no investigation package (yet)", id);
    return false;
}

static void h_package_uri(vg_req *rq)
{
    char id[AG_ACTION_ID_LEN + 1], path[4200];
    struct stat sb;
    if (!ag_action_param(rq, id) || !package_path(rq, id, path, sizeof path, &sb))
        return;
    rq->status = 200;
    vg_buf_printf(&rq->out, "{\"@odata.context\":\"/api/$metadata#Edm.String\","
                  "\"value\":\"/api/machineactions/%s/package\",\"bytes\":%lld}\n", id,
                  (long long)sb.st_size);
}

static void h_package(vg_req *rq)
{
    char id[AG_ACTION_ID_LEN + 1], path[4200];
    struct stat sb;
    if (!ag_action_param(rq, id) || !package_path(rq, id, path, sizeof path, &sb))
        return;
    if (sb.st_size > AG_MAX_PACKAGE) {
        vg_req_json_error(rq, 500, "package %s is larger than %lld bytes", path,
                          (long long)AG_MAX_PACKAGE);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !vg_buf_reserve(&rq->out, (size_t)sb.st_size)) {
        vg_req_json_error(rq, 503, "cannot read the package: %s", fd < 0 ? strerror(errno)
                                                                         : "out of memory");
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, rq->out.p + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)sb.st_size) {
        vg_buf_clear(&rq->out);
        vg_req_json_error(rq, 503, "cannot read the package %s", path);
        return;
    }
    rq->out.n = got;
    rq->content_type = "application/gzip";
    rq->status = 200;
}

/* ---- the routes ---- */

const vg_route vg_routes_machines[] = {
    { "GET", "/api/machines", h_machines, VG_ROLES_READERS,
      "enrolled devices as Defender machines ($filter: id, computerDnsName, osPlatform, "
      "healthStatus, isolationState, version with eq/and; $top); viewer, analyst, responder "
      "or admin" },
    { "GET", "/api/machines/{id}", h_machine, VG_ROLES_READERS,
      "one machine; viewer, analyst, responder or admin" },
    { "POST", "/api/machines/{id}/isolate", h_isolate, AG_ROLES_RESPONDERS,
      "isolate the device: {\"Comment\",\"IsolationType\":\"Full\"} -> 201 machineAction "
      "(Pending); responder or admin" },
    { "POST", "/api/machines/{id}/unisolate", h_unisolate, AG_ROLES_RESPONDERS,
      "release from isolation: {\"Comment\"} -> 201 machineAction; responder or admin" },
    { "POST", "/api/machines/{id}/StopAndQuarantineFile", h_quarantine, AG_ROLES_RESPONDERS,
      "stop and quarantine a file: {\"Comment\",\"Sha1\"|\"Sha256\"|\"Path\"} -> 201 "
      "machineAction; responder or admin" },
    { "POST", "/api/machines/{id}/restoreQuarantinedFile", h_restore, AG_ROLES_RESPONDERS,
      "restore a file the agent quarantined: {\"Comment\",\"Sha256\"} -> 201 machineAction; "
      "responder or admin" },
    { "POST", "/api/machines/{id}/collectInvestigationPackage", h_collect, AG_ROLES_RESPONDERS,
      "collect an investigation package: {\"Comment\"} -> 201 machineAction; responder or admin" },
    { "POST", "/api/machines/{id}/killProcess", h_kill, AG_ROLES_RESPONDERS,
      "kill a process: {\"Comment\",\"ProcessId\",\"ProcessStartTime\"} or {\"Comment\","
      "\"Sha256\"} -> 201 machineAction; responder or admin" },
    { "POST", "/api/machines/{id}/runYaraScan", h_yara, AG_ROLES_RESPONDERS,
      "YARA scan of a path: {\"Comment\",\"Path\",\"Rules\"} -> 201 machineAction; responder "
      "or admin" },
    { "GET", "/api/machineactions", h_actions, VG_ROLES_READERS,
      "machine actions, newest first ($filter: id, machineId, status, type, requestor with "
      "eq/and; $top); viewer, analyst, responder or admin" },
    { "GET", "/api/machineactions/{id}", h_action, VG_ROLES_READERS,
      "one machine action; viewer, analyst, responder or admin" },
    { "POST", "/api/machineactions/{id}/cancel", h_action_cancel, AG_ROLES_RESPONDERS,
      "cancel a Pending machine action ({\"Comment\"} optional); responder or admin" },
    { "GET", "/api/machineactions/{id}/GetPackageUri", h_package_uri, AG_ROLES_RESPONDERS,
      "where the investigation package of an action is: {\"value\":path}; responder or admin" },
    { "GET", "/api/machineactions/{id}/package", h_package, AG_ROLES_RESPONDERS,
      "the investigation package (application/gzip); responder or admin" },
    { "POST", "/api/indicators", ag_h_indicator_create, AG_ROLES_RESPONDERS,
      "create (or update: same type and value) an indicator: {\"indicatorValue\","
      "\"indicatorType\",\"action\",\"title\",\"severity\",\"expirationTime\"}; responder or "
      "admin" },
    { "GET", "/api/indicators", ag_h_indicators, VG_ROLES_READERS,
      "live indicators ($filter: indicatorType, indicatorValue, action, severity; $top); "
      "viewer, analyst, responder or admin" },
    { "DELETE", "/api/indicators/{id}", ag_h_indicator_delete, AG_ROLES_RESPONDERS,
      "delete an indicator (agents get it in removed[]) -> 204; responder or admin" },
    { NULL, NULL, NULL, 0, NULL },
};
