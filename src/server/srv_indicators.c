/*
 * srv_indicators.c - indicators of compromise (Defender's shape):
 * POST/GET /api/indicators, DELETE /api/indicators/{id} (the routes are in
 * srv_machines.c's table), and what the agents' pull (srv_agents.c) needs.
 *
 * Every change (create, update, delete, expiry) takes the next
 * meta.indicators_version, and the indicator's row keeps the version of its
 * last change, so an agent asks for what changed since the version it holds.
 * Deleted and expired indicators stay as tombstones (deleted set) so that the
 * change reaches the agents as "removed". Expiry is applied lazily, before
 * every read (the agents' pull, the list, the heartbeat).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_time.h"
#include "../state/vg_state.h"
#include "srv_agents_int.h"

/* ---- indicators ---- */

int64_t ag_indicators_version(struct vg_srv_agents *a)
{
    int64_t v = vg_state_int(a->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
                                    "'indicators_version'");
    return v < 0 ? 0 : v;
}

/* The next version; the caller holds the lock, inside a transaction. */
static int64_t indicators_bump(struct vg_srv_agents *a)
{
    if (sqlite3_exec(a->db, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = "
                            "'indicators_version'", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    return ag_indicators_version(a);
}

vg_err ag_indicators_expire(struct vg_srv_agents *a, int64_t now_ms)
{
    int64_t n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT count(*) FROM indicators WHERE deleted IS NULL AND "
                                  "expiration IS NOT NULL AND expiration <= ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return VG_EIO;
    sqlite3_bind_int64(st, 1, now_ms);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (!n)
        return VG_OK;
    /* all that expired take one version */
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return VG_EIO;
    int64_t v = indicators_bump(a);
    bool ok = v > 0 && sqlite3_prepare_v2(a->db, "UPDATE indicators SET deleted = ?1, "
                                                 "version = ?2, updated = ?1 WHERE deleted IS "
                                                 "NULL AND expiration IS NOT NULL AND "
                                                 "expiration <= ?1", -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_int64(st, 2, v);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    ok = ok && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return ok ? VG_OK : VG_EIO;
}

void ag_put_indicator(vg_buf *o, sqlite3_stmt *st, bool full)
{
    vg_buf_printf(o, "{\"id\":\"%lld\",\"indicatorValue\":", (long long)sqlite3_column_int64(st, 0));
    ag_put_col(o, st, 1);
    vg_buf_puts(o, ",\"indicatorType\":");
    ag_put_col(o, st, 2);
    vg_buf_puts(o, ",\"action\":");
    ag_put_col(o, st, 3);
    vg_buf_puts(o, ",\"title\":");
    ag_put_col(o, st, 4);
    vg_buf_puts(o, ",\"severity\":");
    ag_put_col(o, st, 6);
    vg_buf_puts(o, ",\"expirationTime\":");
    ag_put_time(o, sqlite3_column_type(st, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 7));
    if (full) {
        vg_buf_puts(o, ",\"description\":");
        ag_put_col(o, st, 5);
        vg_buf_puts(o, ",\"createdBy\":");
        ag_put_col(o, st, 8);
        vg_buf_puts(o, ",\"creationTimeDateTimeUtc\":");
        ag_put_time(o, sqlite3_column_int64(st, 9));
        vg_buf_puts(o, ",\"lastUpdateTime\":");
        ag_put_time(o, sqlite3_column_int64(st, 10));
    }
    vg_buf_putc(o, '}');
}

/* A DNS name: labels of letters, digits and '-', not at a label's ends,
 * at most 63 bytes each, 253 in all, at least two labels. */
static bool domain_ok(vg_str s)
{
    if (!s.n || s.n > 253 || s.p[0] == '.' || s.p[s.n - 1] == '.')
        return false;
    size_t label = 0, labels = 1;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '.') {
            if (!label || s.p[i - 1] == '-')
                return false;
            label = 0;
            labels++;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label) && c != '_')
            return false;
        if (++label > 63)
            return false;
    }
    return labels >= 2 && s.p[s.n - 1] != '-';
}

static bool url_ok(vg_str s)
{
    vg_str rest;
    if (vg_str_starts_ci(s, vg_str_c("http://")))
        rest = vg_str_make(s.p + 7, s.n - 7);
    else if (vg_str_starts_ci(s, vg_str_c("https://")))
        rest = vg_str_make(s.p + 8, s.n - 8);
    else
        rest = s;   /* Defender takes "example.com/path" too */
    size_t h = 0;
    while (h < rest.n && rest.p[h] != '/' && rest.p[h] != ':' && rest.p[h] != '?')
        h++;
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] <= ' ' || s.p[i] == 0x7f)
            return false;
    vg_str host = vg_str_make(rest.p, h);
    char ip[64];
    unsigned char buf[16];
    vg_str_copy_c(ip, sizeof ip, host);
    return domain_ok(host) || (host.n < sizeof ip && inet_pton(AF_INET, ip, buf) == 1);
}

static bool ip_ok(vg_str s)
{
    char ip[64];
    unsigned char buf[16];
    if (s.n >= sizeof ip)
        return false;
    vg_str_copy_c(ip, sizeof ip, s);
    return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

static const char *const ind_types[] = { "FileSha1", "FileSha256", "IpAddress", "DomainName",
                                         "Url" };
static const char *const ind_actions[] = { "Alert", "Block", "Allowed" };
static const char *const ind_sevs[] = { "Informational", "Low", "Medium", "High" };

/* The entry of v in names (exact), or -1. */
static int one_of(vg_str v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vg_str_eqc(v, names[i]))
            return (int)i;
    return -1;
}

void ag_h_indicator_create(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    vg_arena ar;
    vg_arena_init(&ar, 0, 0);
    const vg_json *body;
    vg_str value, type, action, title, desc, sev, exp;
    sqlite3_stmt *st = NULL;
    bool locked = false, tx = false, ok = false, updated = false;
    int64_t id = 0;
    if (!ag_body_object(rq, &ar, &body) ||
        !ag_str_field(rq, body, "indicatorValue", 2048, true, &value) ||
        !ag_str_field(rq, body, "indicatorType", 32, true, &type) ||
        !ag_str_field(rq, body, "action", 32, true, &action) ||
        !ag_str_field(rq, body, "title", 512, true, &title) ||
        !ag_str_field(rq, body, "description", 4096, false, &desc) ||
        !ag_str_field(rq, body, "severity", 32, false, &sev) ||
        !ag_str_field(rq, body, "expirationTime", 64, false, &exp))
        goto out;
    int ti = one_of(type, ind_types, 5);
    if (ti < 0) {
        vg_req_json_error(rq, 400, "indicatorType: FileSha1, FileSha256, IpAddress, DomainName "
                          "or Url, not '%.*s'", (int)type.n, type.p);
        goto out;
    }
    if (one_of(action, ind_actions, 3) < 0) {
        vg_req_json_error(rq, 400, "action: Alert, Block or Allowed, not '%.*s'", (int)action.n,
                          action.p);
        goto out;
    }
    if (sev.p && one_of(sev, ind_sevs, 4) < 0) {
        vg_req_json_error(rq, 400, "severity: Informational, Low, Medium or High, not '%.*s'",
                          (int)sev.n, sev.p);
        goto out;
    }
    /* hashes are kept lower-case, so that agents compare bytes */
    vg_str v = vg_str_trim(value);
    if (ti <= 1)
        v = vg_str_lower(&ar, v);
    bool vok = ti == 0 ? ag_is_hex(v, 40) : ti == 1 ? ag_is_hex(v, 64) : ti == 2 ? ip_ok(v)
               : ti == 3 ? domain_ok(v) : url_ok(v);
    if (!vok) {
        static const char *const want[] = { "40 hex digits (SHA-1)", "64 hex digits (SHA-256)",
                                            "an IPv4 or IPv6 address", "a domain name",
                                            "a URL (http(s)://host/path)" };
        vg_req_json_error(rq, 400, "indicatorValue: '%.*s' is not %s", (int)(v.n > 128 ? 128 : v.n),
                          v.p, want[ti]);
        goto out;
    }
    int64_t now = vg_state_now_ms(), expms = 0;
    if (exp.p) {
        vg_time t;
        if (vg_time_parse_iso(exp, &t) != VG_OK) {
            vg_req_json_error(rq, 400, "expirationTime: an ISO-8601 time, not '%.*s'",
                              (int)exp.n, exp.p);
            goto out;
        }
        expms = t / VG_TICKS_PER_MS;
        if (expms <= now) {
            vg_req_json_error(rq, 400, "expirationTime: %.*s is in the past", (int)exp.n, exp.p);
            goto out;
        }
    }
    pthread_mutex_lock(&a->mu);
    locked = true;
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto dberr;
    tx = true;
    int64_t ver = indicators_bump(a);
    if (ver <= 0)
        goto dberr;
    /* as Defender: the same type and value again updates the indicator */
    if (sqlite3_prepare_v2(a->db, "SELECT id FROM indicators WHERE type = ?1 AND value = ?2 AND "
                                  "deleted IS NULL", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, ind_types[ti], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v.p, (int)v.n, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    updated = id > 0;
    if (sqlite3_prepare_v2(a->db, updated
                               ? "UPDATE indicators SET action = ?3, title = ?4, description = "
                                 "?5, severity = ?6, expiration = ?7, updated = ?9, version = "
                                 "?10 WHERE id = ?11"
                               : "INSERT INTO indicators(value, type, action, title, "
                                 "description, severity, expiration, created_by, created, "
                                 "updated, version) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                                 "?9, ?10)",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    if (!updated) {
        sqlite3_bind_text(st, 1, v.p, (int)v.n, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ind_types[ti], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, rq->who.name, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 3, action.p, (int)action.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, title.p, (int)title.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, desc.p ? desc.p : "", (int)desc.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, sev.p ? sev.p : "Informational", sev.p ? (int)sev.n : -1,
                      SQLITE_STATIC);
    if (expms)
        sqlite3_bind_int64(st, 7, expms);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_int64(st, 10, ver);
    if (updated)
        sqlite3_bind_int64(st, 11, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto dberr;
    if (!updated)
        id = sqlite3_last_insert_rowid(a->db);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto dberr;
    tx = false;
    if (sqlite3_prepare_v2(a->db, "SELECT " AG_INDICATOR_COLS " FROM indicators WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto dberr;
    ag_put_indicator(&rq->out, st, true);
    vg_buf_putc(&rq->out, '\n');
    ok = true;
    goto out;
dberr:
    ag_db_error(rq, a->db, "indicator");
out:
    sqlite3_finalize(st);
    if (tx)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    if (locked)
        pthread_mutex_unlock(&a->mu);
    if (ok) {
        rq->status = 200;
        char oid[24];
        snprintf(oid, sizeof oid, "%lld", (long long)id);
        vg_buf det;
        vg_buf_init(&det, 0);
        vg_buf_printf(&det, "{\"indicatorType\":\"%s\",\"indicatorValue\":", ind_types[ti]);
        vg_buf_put_json_str(&det, v);
        vg_buf_puts(&det, ",\"action\":");
        vg_buf_put_json_str(&det, action);
        vg_buf_putc(&det, '}');
        vg_srv_audit(s, rq, updated ? "indicator.update" : "indicator.create", "indicator", oid,
                     vg_str_make(det.p, det.n));
        rq->audited = true;
        vg_buf_free(&det);
    }
    vg_arena_free(&ar);
}

static const ag_filter_field indicator_fields[] = {
    { "indicatorType", "type" },
    { "indicatorValue", "value" },
    { "action", "action" },
    { "severity", "severity" },
    { NULL, NULL },
};

void ag_h_indicators(vg_req *rq)
{
    struct vg_srv_agents *a = rq->srv->agents;
    ag_filter f = { 0 };
    vg_buf_init(&f.where, 0);
    vg_buf sql;
    vg_buf_init(&sql, 0);
    int64_t top;
    sqlite3_stmt *st = NULL;
    if (!ag_parse_top(rq, &top) || !ag_parse_filter(rq, indicator_fields, &f, 1))
        goto out;
    vg_buf_printf(&sql, "SELECT " AG_INDICATOR_COLS " FROM indicators WHERE deleted IS NULL%s "
                  "ORDER BY id LIMIT %lld", f.where.n ? vg_buf_cstr(&f.where) : "",
                  (long long)top);
    pthread_mutex_lock(&a->mu);
    bool ok = ag_indicators_expire(a, vg_state_now_ms()) == VG_OK &&
              sqlite3_prepare_v2(a->db, vg_buf_cstr(&sql), -1, &st, NULL) == SQLITE_OK;
    vg_buf *o = &rq->out;
    if (ok) {
        for (int i = 0; i < f.n; i++)
            sqlite3_bind_text(st, 1 + i, f.vals[i], -1, SQLITE_STATIC);
        vg_buf_puts(o, "{\"@odata.context\":\"/api/$metadata#Indicators\",\"value\":[");
        int rc, n = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n++)
                vg_buf_putc(o, ',');
            ag_put_indicator(o, st, true);
        }
        vg_buf_puts(o, "]}\n");
        ok = rc == SQLITE_DONE;
    }
    if (!ok) {
        vg_buf_clear(o);
        ag_db_error(rq, a->db, "indicators");
    } else {
        rq->status = 200;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
out:
    vg_buf_free(&f.where);
    vg_buf_free(&sql);
}

void ag_h_indicator_delete(vg_req *rq)
{
    vg_srv *s = rq->srv;
    struct vg_srv_agents *a = s->agents;
    int64_t id;
    if (!vg_req_id(rq, "indicator", &id))
        return;
    sqlite3_stmt *st = NULL;
    bool ok = false, found = false;
    int64_t now = vg_state_now_ms();
    pthread_mutex_lock(&a->mu);
    bool tx = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    int64_t ver = tx ? indicators_bump(a) : -1;
    if (ver > 0 && sqlite3_prepare_v2(a->db, "UPDATE indicators SET deleted = ?2, updated = ?2,"
                                             " version = ?3 WHERE id = ?1 AND deleted IS NULL",
                                      -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, ver);
        ok = sqlite3_step(st) == SQLITE_DONE;
        found = ok && sqlite3_changes(a->db) == 1;
    }
    sqlite3_finalize(st);
    /* nothing deleted: the version stays */
    ok = ok && sqlite3_exec(a->db, found ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        ag_db_error(rq, a->db, "indicator delete");
        if (tx)
            sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&a->mu);
    if (!ok)
        return;
    if (!found) {
        vg_req_json_error(rq, 404, "no indicator '%lld'", (long long)id);
        return;
    }
    rq->status = 204;
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)id);
    vg_srv_audit(s, rq, "indicator.delete", "indicator", oid, vg_str_c("{}"));
    rq->audited = true;
}
