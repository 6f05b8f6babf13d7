/*
 * srv_agents.c - the routes vigil-agent calls (docs/api.md, "Endpoint agents"):
 *
 *   POST /api/v1/agents/enroll                 enroll token -> device id + device token
 *   POST /api/v1/agents/heartbeat              last seen, health, isolation; what is pending
 *   GET  /api/v1/agents/actions                pending actions (handed out: InProgress)
 *   POST /api/v1/agents/actions/{id}           the outcome of an action
 *   POST /api/v1/agents/actions/{id}/package   an investigation package (tar.gz)
 *   GET  /api/v1/agents/indicators?since=V     indicators changed since version V
 *
 * Identity: enrollment (ingest or admin token) makes an ingest token named
 * agent:<deviceId> and revokes the device's previous one; every later call
 * carries the device token, which ag_token_device maps to its device. The
 * device id is the SHA-1 of the machine id, so a machine keeps its id across
 * re-enrollments.
 *
 * DeviceInfo (and, at enrollment, DeviceNetworkInfo) rows go through the
 * event store like ingested rows: at enrollment, when a heartbeat changes
 * the health, isolation state or agent version, and at least hourly
 * otherwise (devices.info_reported).
 *
 * Ingest de-duplication (vg_srv_agents_seq_check/commit, called by
 * srv_ingest.c): devices.last_seq is the last batch seq acknowledged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../core/vg_log.h"
#include "../state/vg_state.h"
#include "srv_agents_int.h"

/* ---- start, stop ---- */

vg_err vg_srv_agents_start(vg_srv *s, vg_diag *d)
{
    struct vg_srv_agents *a = calloc(1, sizeof *a);
    if (!a)
        return vg_diag_set(d, VG_ENOMEM, "out of memory");
    if ((size_t)snprintf(a->pkgdir, sizeof a->pkgdir, "%s/packages", s->cfg->data) >=
        sizeof a->pkgdir) {
        free(a);
        return vg_diag_set(d, VG_ELIMIT, "data directory path too long");
    }
    if (mkdir(a->pkgdir, 0700) != 0 && errno != EEXIST) {
        vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", a->pkgdir, strerror(errno));
        free(a);
        return e;
    }
    vg_err e = vg_state_open(s->cfg->data, &a->db, d);
    if (e) {
        free(a);
        return e;
    }
    pthread_mutex_init(&a->mu, NULL);
    s->agents = a;
    return VG_OK;
}

void vg_srv_agents_stop(vg_srv *s)
{
    struct vg_srv_agents *a = s->agents;
    if (!a)
        return;
    sqlite3_close(a->db);
    pthread_mutex_destroy(&a->mu);
    free(a);
    s->agents = NULL;
}

/* ---- token -> device ---- */

static size_t cache_slot(int64_t token_id)
{
    return (size_t)((uint64_t)token_id * 0x9E3779B97F4A7C15ull >> 32) & (AG_CACHE_SLOTS - 1);
}

/* The caller holds a->mu. */
static bool token_device_locked(struct vg_srv_agents *a, int64_t token_id,
                                char device[AG_DEVICE_ID_LEN + 1])
{
    size_t k = cache_slot(token_id);
    if (a->cache[k].token_id == token_id) {
        memcpy(device, a->cache[k].device, AG_DEVICE_ID_LEN + 1);
        return true;
    }
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(a->db, "SELECT device_id FROM devices WHERE token_id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, token_id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == AG_DEVICE_ID_LEN) {
            memcpy(device, sqlite3_column_text(st, 0), AG_DEVICE_ID_LEN);
            device[AG_DEVICE_ID_LEN] = '\0';
            a->cache[k].token_id = token_id;
            memcpy(a->cache[k].device, device, AG_DEVICE_ID_LEN + 1);
            found = true;
        }
    }
    sqlite3_finalize(st);
    return found;
}

bool ag_token_device(vg_srv *s, int64_t token_id, char device[AG_DEVICE_ID_LEN + 1])
{
    struct vg_srv_agents *a = s->agents;
    if (!a || token_id <= 0)
        return false;
    pthread_mutex_lock(&a->mu);
    bool ok = token_device_locked(a, token_id, device);
    pthread_mutex_unlock(&a->mu);
    return ok;
}

/* The device of rq's token; false (400 answered) when it is not a device token. */
static bool req_device(vg_req *rq, char device[AG_DEVICE_ID_LEN + 1])
{
    if (ag_token_device(rq->srv, rq->who.id, device))
        return true;
    vg_req_json_error(rq, 400, "token '%s' is no device's: enroll first (POST "
                      "/api/v1/agents/enroll) and call with the device token", rq->who.name);
    return false;
}

/* ---- POST /api/v1/agents/enroll ---- */

/* The device id of a machine id: hex SHA-1 of "vigil-device:" + machine id. */
static bool device_id_of(vg_str machine, char out[AG_DEVICE_ID_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdn = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
              EVP_DigestUpdate(c, "vigil-device:", 13) == 1 &&
              EVP_DigestUpdate(c, machine.p, machine.n) == 1 &&
              EVP_DigestFinal_ex(c, md, &mdn) == 1 && mdn == 20;
    EVP_MD_CTX_free(c);
    for (unsigned i = 0; ok && i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return ok;
}

static bool machine_id_ok(vg_str m)
{
    if (!m.n || m.n > 128)
        return false;
    for (size_t i = 0; i < m.n; i++) {
        char c = m.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Copies the enrollment facts worth keeping (addresses, interfaces) as JSON. */
static void enroll_info(vg_buf *b, const vg_json *root)
{
    static const char *const keys[] = { "IPAddresses", "MacAddresses", "Interfaces" };
    vg_buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const vg_json *v = vg_json_get(root, keys[i]);
        if (!v || v->kind != VG_JSON_ARRAY)
            continue;
        vg_buf_printf(b, "%s\"%s\":", first ? "" : ",", keys[i]);
        vg_json_write(b, v);
        first = false;
    }
    vg_buf_putc(b, '}');
}

/* An optional array member must be an array: false (400 answered) else. */
static bool array_field(vg_req *rq, const vg_json *o, const char *key)
{
    const vg_json *v = vg_json_get(o, key);
    if (v && v->kind != VG_JSON_ARRAY && v->kind != VG_JSON_NULL) {
        vg_req_json_error(rq, 400, "%s: expected an array", key);
        return false;
    }
    return true;
}

static void h_enroll(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_buf info;
    vg_buf_init(&info, 0);
    char *secret = NULL;
    const vg_json *root;
    vg_str name, machine, plat, osv, dist, kern, ver;
    vg_diag d;
    vg_diag_clear(&d);
    if (!ag_body_object(rq, &ar, &root) ||
        !ag_str_field(rq, root, "MachineId", AG_MAX_FIELD, true, &machine) ||
        !ag_str_field(rq, root, "DeviceName", 255, true, &name) ||
        !ag_str_field(rq, root, "OSPlatform", AG_MAX_FIELD, false, &plat) ||
        !ag_str_field(rq, root, "OSVersion", AG_MAX_FIELD, false, &osv) ||
        !ag_str_field(rq, root, "OSDistribution", AG_MAX_FIELD, false, &dist) ||
        !ag_str_field(rq, root, "KernelVersion", AG_MAX_FIELD, false, &kern) ||
        !ag_str_field(rq, root, "AgentVersion", AG_MAX_FIELD, false, &ver) ||
        !array_field(rq, root, "IPAddresses") || !array_field(rq, root, "MacAddresses") ||
        !array_field(rq, root, "Interfaces"))
        goto out;
    if (!machine_id_ok(machine)) {
        vg_req_json_error(rq, 400, "MachineId: 1 to 128 letters, digits, '-', '_' or '.' "
                          "(the content of /etc/machine-id)");
        goto out;
    }
    char dev[AG_DEVICE_ID_LEN + 1], tname[VG_TOKEN_MAX_NAME + 1];
    if (!device_id_of(machine, dev)) {
        vg_req_json_error(rq, 500, "cannot hash the machine id");
        goto out;
    }
    snprintf(tname, sizeof tname, "agent:%s", dev);
    enroll_info(&info, root);
    char remote[80];
    vg_req_remote(rq, remote, sizeof remote);
    int64_t now = vg_state_now_ms();
    /* the new token first: if state.db then fails, the new token is revoked
     * and the device keeps its old one */
    vg_token_info ti;
    if (vg_auth_create(s->auth, tname, VG_ROLE_INGEST, &secret, &ti, &d)) {
        vg_req_json_error(rq, 503, "cannot create the device token: %s", d.msg);
        goto out;
    }
    pthread_mutex_lock(&a->mu);
    int64_t old_token = 0;
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(a->db, "SELECT token_id FROM devices WHERE device_id = ?1", -1,
                                 &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            old_token = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    st = NULL;
    /* last_seq starts again at 0: a re-enrolled agent may have lost its
     * state directory and count from 1 again; refusing its batches as
     * duplicates would lose them */
    ok = ok && sqlite3_prepare_v2(
                   a->db,
                   "INSERT INTO devices(device_id, machine_id, token_id, name, os_platform, "
                   "os_version, os_distribution, kernel_version, agent_version, first_seen, "
                   "last_seen, last_ip, info) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                   "?10, ?11, ?12) ON CONFLICT(device_id) DO UPDATE SET token_id = ?3, "
                   "name = ?4, os_platform = ?5, os_version = ?6, os_distribution = ?7, "
                   "kernel_version = ?8, agent_version = ?9, last_seen = ?10, last_ip = ?11, "
                   "info = ?12, last_seq = 0, health = 'Active'",
                   -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, machine.p, (int)machine.n, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ti.id);
        sqlite3_bind_text(st, 4, name.p, (int)name.n, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, plat.p ? plat.p : "Linux", plat.p ? (int)plat.n : -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 6, osv.p ? osv.p : "", (int)osv.n, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, dist.p ? dist.p : "", (int)dist.n, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, kern.p ? kern.p : "", (int)kern.n, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, ver.p ? ver.p : "", (int)ver.n, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, now);
        sqlite3_bind_text(st, 11, remote, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 12, info.p ? info.p : "{}", info.p ? (int)info.n : -1,
                          SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (ok) {
        /* the new token's cache slot, and no stale entry for the old one */
        size_t k = cache_slot(ti.id);
        a->cache[k].token_id = ti.id;
        memcpy(a->cache[k].device, dev, sizeof dev);
        if (old_token && a->cache[cache_slot(old_token)].token_id == old_token)
            a->cache[cache_slot(old_token)].token_id = 0;
    } else {
        ag_db_error(rq, a->db, "enroll");
    }
    pthread_mutex_unlock(&a->mu);
    if (!ok) {
        vg_auth_revoke(s->auth, ti.id, NULL, &d);
        goto out;
    }
    vg_err re = old_token && old_token != ti.id ? vg_auth_revoke(s->auth, old_token, NULL, &d)
                                                : VG_OK;
    if (re && re != VG_ENOTFOUND)
        vg_log(VG_LOG_ERROR, "enroll: cannot revoke the previous device token",
               VG_LS("device", dev), VG_LI("token_id", old_token), VG_LS("error", d.msg));
    {
        vg_buf det;
        vg_buf_init(&det, 0);
        vg_buf_puts(&det, "{\"deviceName\":");
        vg_buf_put_json_str(&det, name);
        vg_buf_printf(&det, ",\"tokenId\":%lld,\"previousTokenId\":%lld}", (long long)ti.id,
                      (long long)old_token);
        rq->status = 201;
        vg_srv_audit(s, rq, old_token ? "device.reenroll" : "device.enroll", "device", dev,
                     vg_str_make(det.p, det.n));
        rq->audited = true;
        vg_buf_free(&det);
    }
    vg_diag_clear(&d);
    if (ag_report_device(s, dev, true, &d))
        vg_log(VG_LOG_ERROR, "enroll: DeviceInfo rows not written; the next heartbeat retries",
               VG_LS("device", dev), VG_LS("error", d.msg));
    char iso[32];
    vg_state_iso(vg_state_now_ms(), iso);
    rq->status = 201;
    vg_buf_printf(&rq->out, "{\"deviceId\":\"%s\",\"token\":", dev);
    vg_buf_put_json_str(&rq->out, vg_str_c(secret));
    vg_buf_printf(&rq->out, ",\"serverTime\":\"%s\"}\n", iso);
out:
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    vg_buf_free(&info);
    vg_arena_free(&ar);
}

/* ---- POST /api/v1/agents/heartbeat ---- */

static void h_heartbeat(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_buf hb;
    vg_buf_init(&hb, 0);
    char dev[AG_DEVICE_ID_LEN + 1];
    const vg_json *root;
    vg_str ver, health, iso_state;
    if (!req_device(rq, dev) || !ag_body_object(rq, &ar, &root) ||
        !ag_str_field(rq, root, "AgentVersion", AG_MAX_FIELD, false, &ver) ||
        !ag_str_field(rq, root, "Health", 32, false, &health) ||
        !ag_str_field(rq, root, "IsolationState", 32, false, &iso_state))
        goto out;
    if (health.p && !vg_str_eqc(health, "Active") && !vg_str_eqc(health, "Degraded")) {
        vg_req_json_error(rq, 400, "Health: Active or Degraded, not '%.*s'", (int)health.n,
                          health.p);
        goto out;
    }
    if (iso_state.p && !vg_str_eqc(iso_state, "Isolated") &&
        !vg_str_eqc(iso_state, "NotIsolated")) {
        vg_req_json_error(rq, 400, "IsolationState: Isolated or NotIsolated, not '%.*s'",
                          (int)iso_state.n, iso_state.p);
        goto out;
    }
    vg_json_write(&hb, root);
    char remote[80];
    vg_req_remote(rq, remote, sizeof remote);
    int64_t now = vg_state_now_ms(), pending = 0, iver = 0;
    bool report = false, ok = false;
    pthread_mutex_lock(&a->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT agent_version, health, isolation_state, "
                                  "info_reported, last_seen FROM devices WHERE device_id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto dberr;
    vg_str old_ver = vg_str_c((const char *)sqlite3_column_text(st, 0));
    vg_str old_health = vg_str_c((const char *)sqlite3_column_text(st, 1));
    vg_str old_iso = vg_str_c((const char *)sqlite3_column_text(st, 2));
    /* a change worth a DeviceInfo row: version, health, isolation, coming back
     * from Inactive, or the hour since the last one */
    report = (ver.p && !vg_str_eq(ver, old_ver)) || (health.p && !vg_str_eq(health, old_health)) ||
             (iso_state.p && !vg_str_eq(iso_state, old_iso)) ||
             now - sqlite3_column_int64(st, 3) >= AG_REPORT_MS ||
             now - sqlite3_column_int64(st, 4) > AG_ACTIVE_MS;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(a->db, "UPDATE devices SET last_seen = ?2, last_ip = ?3, heartbeat = ?4,"
                                  " agent_version = coalesce(?5, agent_version),"
                                  " health = coalesce(?6, health),"
                                  " isolation_state = coalesce(?7, isolation_state)"
                                  " WHERE device_id = ?1", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, remote, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, hb.p ? hb.p : "{}", hb.p ? (int)hb.n : -1, SQLITE_STATIC);
    if (ver.p)
        sqlite3_bind_text(st, 5, ver.p, (int)ver.n, SQLITE_STATIC);
    if (health.p)
        sqlite3_bind_text(st, 6, health.p, (int)health.n, SQLITE_STATIC);
    if (iso_state.p)
        sqlite3_bind_text(st, 7, iso_state.p, (int)iso_state.n, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT count(*) FROM machine_actions WHERE device_id = ?1 "
                                  "AND status = 'Pending'", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        pending = sqlite3_column_int64(st, 0);
    ag_indicators_expire(a, now);
    iver = ag_indicators_version(a);
    ok = true;
dberr:
    if (!ok)
        ag_db_error(rq, a->db, "heartbeat");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        goto out;
    if (report) {
        vg_diag d;
        vg_diag_clear(&d);
        if (ag_report_device(s, dev, false, &d))
            vg_log(VG_LOG_ERROR, "heartbeat: DeviceInfo row not written", VG_LS("device", dev),
                   VG_LS("error", d.msg));
    }
    char iso[32];
    vg_state_iso(vg_state_now_ms(), iso);
    rq->status = 200;
    vg_buf_printf(&rq->out, "{\"pendingActions\":%lld,\"indicatorsVersion\":%lld,"
                  "\"serverTime\":\"%s\"}\n", (long long)pending, (long long)iver, iso);
out:
    vg_buf_free(&hb);
    vg_arena_free(&ar);
}

/* ---- GET /api/v1/agents/actions ---- */

static void h_actions_pull(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    char dev[AG_DEVICE_ID_LEN + 1];
    if (!req_device(rq, dev))
        return;
    char ids[AG_MAX_PULL][AG_ACTION_ID_LEN + 1];
    size_t n = 0;
    bool ok = false, tx = false;
    int64_t now = vg_state_now_ms();
    vg_buf *o = &rq->out;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    tx = true;
    if (ag_actions_expire(a, now) != VG_OK)
        goto done;
    if (sqlite3_prepare_v2(a->db, "SELECT id, type, params, requestor, comment, created FROM "
                                  "machine_actions WHERE device_id = ?1 AND status = 'Pending' "
                                  "ORDER BY created, id LIMIT ?2", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, AG_MAX_PULL);
    vg_buf_puts(o, "{\"value\":[");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vg_str_copy_c(ids[n], sizeof ids[n], vg_str_c((const char *)sqlite3_column_text(st, 0)));
        vg_buf_puts(o, n ? ",{\"id\":" : "{\"id\":");
        ag_put_col(o, st, 0);
        vg_buf_puts(o, ",\"type\":");
        ag_put_col(o, st, 1);
        vg_buf_puts(o, ",\"params\":");
        const char *params = (const char *)sqlite3_column_text(st, 2);
        vg_buf_puts(o, params ? params : "{}");
        vg_buf_puts(o, ",\"requestor\":");
        ag_put_col(o, st, 3);
        vg_buf_puts(o, ",\"requestorComment\":");
        ag_put_col(o, st, 4);
        vg_buf_puts(o, ",\"creationDateTimeUtc\":");
        ag_put_time(o, sqlite3_column_int64(st, 5));
        vg_buf_putc(o, '}');
        n++;
    }
    vg_buf_puts(o, "]}\n");
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        goto done;
    if (sqlite3_prepare_v2(a->db, "UPDATE machine_actions SET status = 'InProgress', "
                                  "updated = ?2 WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto done;
    }
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    tx = false;
    ok = true;
done:
    sqlite3_finalize(st);
    if (!ok) {
        vg_buf_clear(o);
        ag_db_error(rq, a->db, "actions");
    }
    if (tx)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        return;
    rq->status = 200;
    /* handing an action out changes it: one audit row each */
    for (size_t i = 0; i < n; i++)
        vg_srv_audit(s, rq, "machineAction.dispatch", "machineAction", ids[i],
                     vg_str_c("{\"status\":[\"Pending\",\"InProgress\"]}"));
    rq->audited = n > 0;
}

/* ---- POST /api/v1/agents/actions/{id} ---- */

/* Loads an action of the request's device (admin: of any device) under the
 * lock; false when it answered (404). */
static bool own_action(vg_req *rq, const char *id, const char *dev, char type[64],
                       char status[32], char adev[AG_DEVICE_ID_LEN + 1])
{
    struct vg_srv_agents *a = rq->srv->agents;
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(a->db, "SELECT type, status, device_id FROM machine_actions "
                                  "WHERE id = ?1", -1, &st, NULL) != SQLITE_OK) {
        ag_db_error(rq, a->db, "action");
        return false;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW &&
        (!dev || strcmp((const char *)sqlite3_column_text(st, 2), dev) == 0)) {
        vg_str_copy_c(type, 64, vg_str_c((const char *)sqlite3_column_text(st, 0)));
        vg_str_copy_c(status, 32, vg_str_c((const char *)sqlite3_column_text(st, 1)));
        vg_str_copy_c(adev, AG_DEVICE_ID_LEN + 1,
                      vg_str_c((const char *)sqlite3_column_text(st, 2)));
        found = true;
    }
    sqlite3_finalize(st);
    if (!found)
        vg_req_json_error(rq, 404, "no machine action '%s' for this device", id);
    return found;
}

/* The device whose actions rq may report on: its own, or any for admin
 * (NULL in *devp). False when it answered. */
static bool action_caller(vg_req *rq, char dev[AG_DEVICE_ID_LEN + 1], const char **devp)
{
    *devp = NULL;
    if (ag_token_device(rq->srv, rq->who.id, dev)) {
        *devp = dev;
        return true;
    }
    if (rq->who.role == VG_ROLE_ADMIN)
        return true;
    return req_device(rq, dev);
}

static void h_action_ack(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    vg_buf res;
    vg_buf_init(&res, 0);
    char id[AG_ACTION_ID_LEN + 1], dev[AG_DEVICE_ID_LEN + 1], adev[AG_DEVICE_ID_LEN + 1];
    char type[64], status[32];
    const char *devp;
    const vg_json *root;
    vg_str st_s, err_s;
    bool isolation_changed = false;
    if (!ag_action_param(rq, id) || !action_caller(rq, dev, &devp) ||
        !ag_body_object(rq, &ar, &root) ||
        !ag_str_field(rq, root, "status", 32, true, &st_s) ||
        !ag_str_field(rq, root, "error", 64 * 1024, false, &err_s))
        goto out;
    bool succeeded = vg_str_eqc(st_s, "Succeeded");
    if (!succeeded && !vg_str_eqc(st_s, "Failed")) {
        vg_req_json_error(rq, 400, "status: Succeeded or Failed, not '%.*s'", (int)st_s.n,
                          st_s.p);
        goto out;
    }
    const vg_json *r = vg_json_get(root, "result");
    if (r && r->kind != VG_JSON_NULL) {
        if (r->kind != VG_JSON_OBJECT) {
            vg_req_json_error(rq, 400, "result: expected a JSON object");
            goto out;
        }
        vg_json_write(&res, r);
    }
    pthread_mutex_lock(&a->mu);
    if (!own_action(rq, id, devp, type, status, adev)) {
        pthread_mutex_unlock(&a->mu);
        goto out;
    }
    if (strcmp(status, "Pending") != 0 && strcmp(status, "InProgress") != 0) {
        pthread_mutex_unlock(&a->mu);
        vg_req_json_error(rq, 409, "machine action %s is already %s", id, status);
        goto out;
    }
    sqlite3_stmt *st = NULL;
    int64_t now = vg_state_now_ms();
    bool ok = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    ok = ok && sqlite3_prepare_v2(a->db, "UPDATE machine_actions SET status = ?2, updated = ?3,"
                                         " result = ?4, error = ?5 WHERE id = ?1", -1, &st,
                                  NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, succeeded ? "Succeeded" : "Failed", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        if (res.n)
            sqlite3_bind_text(st, 4, res.p, (int)res.n, SQLITE_STATIC);
        if (err_s.p)
            sqlite3_bind_text(st, 5, err_s.p, (int)err_s.n, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* a carried-out isolation changes the device's state at once (the next
     * heartbeat says the same) */
    const char *iso = !succeeded ? NULL : strcmp(type, "Isolate") == 0 ? "Isolated"
                      : strcmp(type, "Unisolate") == 0 ? "NotIsolated" : NULL;
    if (ok && iso) {
        ok = sqlite3_prepare_v2(a->db, "UPDATE devices SET isolation_state = ?2 WHERE "
                                       "device_id = ?1 AND isolation_state <> ?2", -1, &st,
                                NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_text(st, 1, adev, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, iso, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE;
            isolation_changed = ok && sqlite3_changes(a->db) > 0;
        }
        sqlite3_finalize(st);
    }
    ok = ok && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        ag_db_error(rq, a->db, "action result");
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        goto out;
    rq->status = 200;
    char det[128];
    snprintf(det, sizeof det, "{\"status\":[\"%s\",\"%s\"]}", status,
             succeeded ? "Succeeded" : "Failed");
    vg_srv_audit(s, rq, "machineAction.complete", "machineAction", id, vg_str_c(det));
    rq->audited = true;
    if (isolation_changed) {
        vg_diag d;
        vg_diag_clear(&d);
        if (ag_report_device(s, adev, false, &d))
            vg_log(VG_LOG_ERROR, "DeviceInfo row not written", VG_LS("device", adev),
                   VG_LS("error", d.msg));
    }
    vg_buf_printf(&rq->out, "{\"id\":\"%s\",\"status\":\"%s\"}\n", id,
                  succeeded ? "Succeeded" : "Failed");
out:
    vg_buf_free(&res);
    vg_arena_free(&ar);
}

/* ---- POST /api/v1/agents/actions/{id}/package ---- */

static vg_err write_file(const char *dir, const char *name, vg_str data, vg_diag *d)
{
    char tmp[4200], path[4200];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < data.n) {
        ssize_t w = write(fd, data.p + off, data.n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return e;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        return e;
    }
    if (rename(tmp, path) != 0) {
        vg_err e = vg_diag_set(d, VG_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return e;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return VG_OK;
}

static void h_action_package(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    char id[AG_ACTION_ID_LEN + 1], dev[AG_DEVICE_ID_LEN + 1], adev[AG_DEVICE_ID_LEN + 1];
    char type[64], status[32];
    const char *devp;
    if (!ag_action_param(rq, id) || !action_caller(rq, dev, &devp))
        return;
    if (!rq->body.n) {
        vg_req_json_error(rq, 400, "empty body: send the package (tar.gz) as the body");
        return;
    }
    if ((int64_t)rq->body.n > AG_MAX_PACKAGE) {
        vg_req_json_error(rq, 413, "package of %zu bytes is larger than %lld", rq->body.n,
                          (long long)AG_MAX_PACKAGE);
        return;
    }
    pthread_mutex_lock(&a->mu);
    bool ok = own_action(rq, id, devp, type, status, adev);
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        return;
    if (strcmp(type, "CollectInvestigationPackage") != 0) {
        vg_req_json_error(rq, 400, "machine action %s is a %s, not a "
                          "CollectInvestigationPackage", id, type);
        return;
    }
    if (strcmp(status, "Cancelled") == 0) {
        vg_req_json_error(rq, 409, "machine action %s was cancelled", id);
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s.tar.gz", id);
    vg_diag d;
    vg_diag_clear(&d);
    if (write_file(a->pkgdir, name, vg_str_make(rq->body.p, rq->body.n), &d)) {
        vg_log(VG_LOG_ERROR, "package not stored", VG_LS("error", d.msg));
        vg_req_json_error(rq, 503, "package not stored: %s", d.msg);
        return;
    }
    rq->status = 200;
    char det[64];
    snprintf(det, sizeof det, "{\"bytes\":%zu}", rq->body.n);
    vg_srv_audit(s, rq, "machineAction.package", "machineAction", id, vg_str_c(det));
    rq->audited = true;
    vg_buf_printf(&rq->out, "{\"id\":\"%s\",\"bytes\":%zu}\n", id, rq->body.n);
}

/* ---- GET /api/v1/agents/indicators ---- */

static void h_indicators_pull(vg_req *rq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    const char *sarg = vg_req_arg(rq, "since");
    int64_t since = 0;
    if (sarg && *sarg && (vg_str_to_i64(vg_str_c(sarg), &since) != VG_OK || since < 0)) {
        vg_req_json_error(rq, 400, "since: a version number (0 or more), not '%.32s'", sarg);
        return;
    }
    vg_buf *o = &rq->out;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    pthread_mutex_lock(&a->mu);
    if (ag_indicators_expire(a, vg_state_now_ms()))
        goto done;
    int64_t ver = ag_indicators_version(a);
    /* a version from the future (state.db replaced): everything again */
    if (since > ver)
        since = 0;
    /* "full": value is the whole live set, to replace what the agent holds */
    vg_buf_printf(o, "{\"version\":%lld,\"full\":%s,\"value\":[", (long long)ver,
                  since == 0 ? "true" : "false");
    if (sqlite3_prepare_v2(a->db, "SELECT " AG_INDICATOR_COLS " FROM indicators WHERE "
                                  "deleted IS NULL AND version > ?1 ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(st, 1, since);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++)
            vg_buf_putc(o, ',');
        ag_put_indicator(o, st, false);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        goto done;
    vg_buf_puts(o, "],\"removed\":[");
    /* removals matter only to an agent that holds an earlier list */
    if (since > 0) {
        if (sqlite3_prepare_v2(a->db, "SELECT id FROM indicators WHERE deleted IS NOT NULL AND "
                                      "version > ?1 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
            goto done;
        sqlite3_bind_int64(st, 1, since);
        n = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            vg_buf_printf(o, "%s\"%lld\"", n++ ? "," : "", (long long)sqlite3_column_int64(st, 0));
        if (rc != SQLITE_DONE)
            goto done;
    }
    vg_buf_puts(o, "]}\n");
    ok = true;
done:
    sqlite3_finalize(st);
    if (!ok) {
        vg_buf_clear(o);
        ag_db_error(rq, a->db, "indicators");
    }
    pthread_mutex_unlock(&a->mu);
    if (ok)
        rq->status = 200;
}

/* ---- ingest de-duplication (srv_ingest.c) ---- */

/* The device a batch's seq counts for: device= or the token's; NULL if none. */
static const char *seq_device(vg_req *rq, const char *device, char own[AG_DEVICE_ID_LEN + 1])
{
    if (device && *device)
        return device;
    return ag_token_device(rq->srv, rq->who.id, own) ? own : NULL;
}

bool vg_srv_agents_seq_check(vg_req *rq, const char *device, const char *seq, int64_t *seqv,
                             bool *dup, bool *held)
{
    struct vg_srv_agents *a = rq->srv->agents;
    *seqv = 0;
    *dup = false;
    *held = false;
    char own[AG_DEVICE_ID_LEN + 1];
    bool is_device = ag_token_device(rq->srv, rq->who.id, own);
    bool has_dev = device && *device, has_seq = seq && *seq;
    if (has_dev && is_device && strcmp(device, own) != 0) {
        vg_req_json_error(rq, 400, "device: '%.64s' is not this token's device (%s)", device, own);
        return false;
    }
    if (has_seq && (vg_str_to_i64(vg_str_c(seq), seqv) != VG_OK || *seqv <= 0)) {
        vg_req_json_error(rq, 400, "seq: a batch number of 1 or more, not '%.32s'", seq);
        return false;
    }
    if (!has_seq) {
        if (has_dev && !is_device && !ag_is_hex(vg_str_c(device), AG_DEVICE_ID_LEN)) {
            vg_req_json_error(rq, 400, "device: not a device id (40 hex digits): '%.64s'", device);
            return false;
        }
        return true;
    }
    if (!has_dev && !is_device) {
        vg_req_json_error(rq, 400, "seq needs device=<deviceId> (or a device token)");
        return false;
    }
    const char *dev = has_dev ? device : own;
    bool ok = false, found = false, busy = false, full = false;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db, "SELECT last_seq FROM devices WHERE device_id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
        if (rc == SQLITE_ROW) {
            found = true;
            *dup = *seqv <= sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    if (ok && found && !*dup) {
        int free_slot = -1;
        for (int i = 0; i < AG_MAX_INFLIGHT && !busy; i++) {
            if (!a->inflight[i].seq) {
                if (free_slot < 0)
                    free_slot = i;
            } else if (a->inflight[i].seq == *seqv && strcmp(a->inflight[i].device, dev) == 0) {
                busy = true;
            }
        }
        if (!busy && free_slot >= 0) {
            a->inflight[free_slot].seq = *seqv;
            vg_str_copy_c(a->inflight[free_slot].device, sizeof a->inflight[free_slot].device,
                          vg_str_c(dev));
            *held = true;
        }
        full = !busy && free_slot < 0;
    }
    if (!ok)
        ag_db_error(rq, a->db, "seq");
    pthread_mutex_unlock(&a->mu);
    if (ok && !found) {
        vg_req_json_error(rq, 400, "device: no enrolled device '%.64s'", dev);
        return false;
    }
    if (busy || full) {
        snprintf(rq->retry_after_buf, sizeof rq->retry_after_buf, "1");
        rq->retry_after = rq->retry_after_buf;
        if (busy)
            vg_req_json_error(rq, 503, "batch %lld of device %s is being stored now; retry",
                              (long long)*seqv, dev);
        else
            vg_req_json_error(rq, 503, "more than %d agent batches in flight; retry",
                              AG_MAX_INFLIGHT);
        return false;
    }
    return ok;
}

void vg_srv_agents_seq_commit(vg_req *rq, const char *device, int64_t seq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    char own[AG_DEVICE_ID_LEN + 1];
    const char *dev = seq_device(rq, device, own);
    if (!dev || seq <= 0)
        return;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db, "UPDATE devices SET last_seq = ?2 WHERE device_id = ?1 AND "
                                  "last_seq < ?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (!ok)
        vg_log(VG_LOG_ERROR, "ingest: batch seq not recorded; a resend will be stored twice",
               VG_LS("device", dev), VG_LI("seq", seq), VG_LS("error", sqlite3_errmsg(a->db)));
    pthread_mutex_unlock(&a->mu);
}

void vg_srv_agents_seq_release(vg_req *rq, const char *device, int64_t seq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    char own[AG_DEVICE_ID_LEN + 1];
    const char *dev = seq_device(rq, device, own);
    if (!dev || seq <= 0)
        return;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < AG_MAX_INFLIGHT; i++)
        if (a->inflight[i].seq == seq && strcmp(a->inflight[i].device, dev) == 0) {
            a->inflight[i].seq = 0;
            break;
        }
    pthread_mutex_unlock(&a->mu);
}

/* ---- the routes ---- */

const vg_route vg_routes_agents[] = {
    { "POST", "/api/v1/agents/enroll", h_enroll, VG_ROLES_INGEST,
      "enroll an endpoint agent: {\"DeviceName\",\"MachineId\",\"OSPlatform\",...} -> 201 "
      "{\"deviceId\",\"token\"} (the device token, shown once; the previous one is revoked); "
      "ingest or admin" },
    { "POST", "/api/v1/agents/heartbeat", h_heartbeat, VG_ROLES_INGEST,
      "an agent's heartbeat: {\"AgentVersion\",\"Health\",\"IsolationState\",...} -> "
      "{\"pendingActions\",\"indicatorsVersion\",\"serverTime\"}; a device token" },
    { "GET", "/api/v1/agents/actions", h_actions_pull, VG_ROLES_INGEST,
      "the device's pending machine actions, marked InProgress as they are handed out; "
      "a device token" },
    { "POST", "/api/v1/agents/actions/{id}", h_action_ack, VG_ROLES_INGEST,
      "an action's outcome: {\"status\":\"Succeeded|Failed\",\"result\",\"error\"}; "
      "the device's token (or admin)" },
    { "POST", "/api/v1/agents/actions/{id}/package", h_action_package, VG_ROLES_INGEST,
      "an investigation package (tar.gz body, at most 64 MiB and max-body) for a "
      "CollectInvestigationPackage action; the device's token (or admin)" },
    { "GET", "/api/v1/agents/indicators", h_indicators_pull, VG_ROLES_INGEST,
      "indicators changed since ?since=V: {\"version\",\"value\":[...],\"removed\":[ids]}; "
      "ingest or admin" },
    { NULL, NULL, NULL, 0, NULL },
};
