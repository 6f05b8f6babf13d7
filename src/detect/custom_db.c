/*
 * custom_db.c - custom detection rules, their runs and their hits in
 * state.db (tables detections, detection_runs, detection_hits; see
 * src/state/vg_state.c), and the rules in Graph's detectionRule JSON.
 *
 * Every change is one transaction (BEGIN IMMEDIATE, so the count of rules
 * and the uniqueness of names are checked against what is committed);
 * version is the rule's ETag and goes up by one on every update. A run's
 * hits, its detection_runs row and the rule's last_* columns are committed
 * together, after the alerts are durable in the event store.
 *
 * Times are unix milliseconds, as everywhere in state.db; lookback is
 * stored in seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/vg_json.h"
#include "../state/vg_state.h"
#include "vg_custom.h"

static vg_err db_fail(sqlite3 *db, vg_diag *d, const char *what)
{
    return vg_diag_set(d, VG_EIO, "state.db: %s: %s", what, sqlite3_errmsg(db));
}

static void rollback(sqlite3 *db) { sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); }

static void bind_str(sqlite3_stmt *st, int i, vg_str s)
{
    sqlite3_bind_text(st, i, s.p ? s.p : "", (int)s.n, SQLITE_TRANSIENT);
}

static vg_str col_str(sqlite3_stmt *st, int i)
{
    const char *p = (const char *)sqlite3_column_text(st, i);
    return p ? vg_str_make(p, (size_t)sqlite3_column_bytes(st, i)) : VG_STR_NULL;
}

static void put_iso(vg_buf *o, int64_t ms)
{
    if (ms <= 0) {
        vg_buf_puts(o, "null");
        return;
    }
    char t[32];
    vg_state_iso(ms, t);
    vg_buf_printf(o, "\"%s\"", t);
}

/* ---- JSON columns ---- */

static void techniques_json(const vg_cd_rule *r, vg_buf *o)
{
    vg_buf_putc(o, '[');
    for (uint32_t i = 0; i < r->ntechniques; i++) {
        if (i)
            vg_buf_putc(o, ',');
        vg_buf_put_json_str(o, r->techniques[i]);
    }
    vg_buf_putc(o, ']');
}

static const char *kind_name(vg_cd_kind k)
{
    static const char *const n[] = { "device", "user", "mailbox", "file", "ip", "url" };
    return n[k];
}

static void entities_json(const vg_cd_rule *r, vg_buf *o)
{
    vg_buf_putc(o, '[');
    for (uint32_t i = 0; i < r->nassets; i++)
        vg_buf_printf(o, "%s{\"kind\":\"%s\",\"identifier\":\"%s\",\"column\":\"%s\"}", i ? "," : "",
                      kind_name(r->assets[i]->kind), r->assets[i]->identifier,
                      r->assets[i]->column);
    vg_buf_putc(o, ']');
}

static void columns_json(const vg_cd_shape *sh, vg_buf *o)
{
    vg_buf_putc(o, '[');
    for (uint32_t i = 0; i < sh->ncolumns; i++) {
        if (i)
            vg_buf_putc(o, ',');
        vg_buf_put_json_str(o, sh->columns[i]);
    }
    vg_buf_putc(o, ']');
}

/* Binds the rule's fields to ?1..?12 (name .. columns, enabled). */
static vg_err bind_rule(sqlite3_stmt *st, const vg_cd_rule *r, const vg_cd_shape *sh)
{
    vg_buf t, e, c;
    vg_buf_init(&t, 1 << 16);
    vg_buf_init(&e, 1 << 16);
    vg_buf_init(&c, 1 << 20);
    techniques_json(r, &t);
    entities_json(r, &e);
    columns_json(sh, &c);
    vg_err err = t.failed || e.failed || c.failed ? VG_ENOMEM : VG_OK;
    bind_str(st, 1, r->name);
    bind_str(st, 2, r->query);
    sqlite3_bind_text(st, 3, r->period->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->period->lookback_ms / 1000);
    bind_str(st, 5, r->title);
    bind_str(st, 6, r->description);
    bind_str(st, 7, r->recommended);
    bind_str(st, 8, r->severity);
    bind_str(st, 9, r->category);
    bind_str(st, 10, vg_str_make(t.p ? t.p : "[]", t.p ? t.n : 2));
    bind_str(st, 11, vg_str_make(e.p ? e.p : "[]", e.p ? e.n : 2));
    bind_str(st, 12, vg_str_make(c.p ? c.p : "[]", c.p ? c.n : 2));
    sqlite3_bind_int(st, 13, r->enabled);
    vg_buf_free(&t);
    vg_buf_free(&e);
    vg_buf_free(&c);
    return err;
}

vg_err vg_cd_db_insert(sqlite3 *db, const vg_cd_rule *r, const vg_cd_shape *sh, const char *who,
                       int64_t *id, vg_diag *d)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, d, "begin");
    sqlite3_stmt *st = NULL;
    vg_err e = VG_OK;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM detections", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        e = db_fail(db, d, "count rules");
        goto out;
    }
    if (sqlite3_column_int64(st, 0) >= VG_CD_MAX_RULES) {
        e = vg_diag_set(d, VG_ELIMIT, "at most %d custom detection rules; delete one first",
                        VG_CD_MAX_RULES);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO detections(name, query, period, lookback, title, description,"
                           " recommended_actions, severity, category, techniques, entities, columns,"
                           " enabled, created_by, created, updated, version)"
                           " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?15,1)",
                           -1, &st, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "insert rule");
        goto out;
    }
    if ((e = bind_rule(st, r, sh))) {
        vg_diag_set(d, e, "out of memory");
        goto out;
    }
    sqlite3_bind_text(st, 14, who, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 15, vg_state_now_ms());
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        e = vg_diag_set(d, VG_EEXIST, "displayName: a rule named '%.*s' exists already",
                        VG_STR_FMT(r->name));
        goto out;
    }
    if (rc != SQLITE_DONE) {
        e = db_fail(db, d, "insert rule");
        goto out;
    }
    *id = sqlite3_last_insert_rowid(db);
out:
    sqlite3_finalize(st);
    if (e)
        rollback(db);
    else if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "commit");
        rollback(db);
    }
    return e;
}

/* Current version of a rule inside a transaction: VG_ENOTFOUND / VG_ECONFLICT. */
static vg_err check_version(sqlite3 *db, int64_t id, int64_t if_match, int64_t *version, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    vg_err e = VG_OK;
    if (sqlite3_prepare_v2(db, "SELECT version FROM detections WHERE id=?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(db, d, "read version");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
        if (if_match >= 0 && if_match != *version)
            e = vg_diag_set(d, VG_ECONFLICT, "If-Match: the rule is at version %lld, not %lld",
                            (long long)*version, (long long)if_match);
    } else if (rc == SQLITE_DONE)
        e = vg_diag_set(d, VG_ENOTFOUND, "no detection rule %lld", (long long)id);
    else
        e = db_fail(db, d, "read version");
    sqlite3_finalize(st);
    return e;
}

vg_err vg_cd_db_update(sqlite3 *db, int64_t id, const vg_cd_rule *r, const vg_cd_shape *sh,
                       int64_t if_match, const char *who, int64_t *version, vg_diag *d)
{
    (void)who;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, d, "begin");
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    vg_err e = check_version(db, id, if_match, &v, d);
    if (e)
        goto out;
    if (sqlite3_prepare_v2(db,
                           "UPDATE detections SET name=?1, query=?2, period=?3, lookback=?4, title=?5,"
                           " description=?6, recommended_actions=?7, severity=?8, category=?9,"
                           " techniques=?10, entities=?11, columns=?12, enabled=?13, updated=?14,"
                           " version=version+1 WHERE id=?15",
                           -1, &st, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "update rule");
        goto out;
    }
    if ((e = bind_rule(st, r, sh))) {
        vg_diag_set(d, e, "out of memory");
        goto out;
    }
    sqlite3_bind_int64(st, 14, vg_state_now_ms());
    sqlite3_bind_int64(st, 15, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        e = vg_diag_set(d, VG_EEXIST, "displayName: a rule named '%.*s' exists already",
                        VG_STR_FMT(r->name));
        goto out;
    }
    if (rc != SQLITE_DONE) {
        e = db_fail(db, d, "update rule");
        goto out;
    }
    *version = v + 1;
out:
    sqlite3_finalize(st);
    if (e)
        rollback(db);
    else if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "commit");
        rollback(db);
    }
    return e;
}

vg_err vg_cd_db_delete(sqlite3 *db, int64_t id, int64_t if_match, vg_diag *d)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, d, "begin");
    int64_t v;
    vg_err e = check_version(db, id, if_match, &v, d);
    if (!e) {
        static const char *const sql[] = {
            "DELETE FROM detection_hits WHERE detection_id=?",
            "DELETE FROM detection_runs WHERE detection_id=?",
            "DELETE FROM detections WHERE id=?",
        };
        for (size_t i = 0; i < 3 && !e; i++) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
                e = db_fail(db, d, "delete rule");
            else {
                sqlite3_bind_int64(st, 1, id);
                if (sqlite3_step(st) != SQLITE_DONE)
                    e = db_fail(db, d, "delete rule");
            }
            sqlite3_finalize(st);
        }
    }
    if (e)
        rollback(db);
    else if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "commit");
        rollback(db);
    }
    return e;
}

/* ---- reading a rule ---- */

#define RULE_COLS                                                                              \
    "id, name, query, period, title, description, recommended_actions, severity, category,"   \
    " techniques, entities, enabled, created_by, created, updated, version, last_run_end"

vg_err vg_cd_db_load(sqlite3 *db, int64_t id, vg_arena *a, vg_cd_rule *r, int64_t *version,
                     vg_diag *d)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " RULE_COLS " FROM detections WHERE id=?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(db, d, "read rule");
    sqlite3_bind_int64(st, 1, id);
    vg_err e = VG_OK;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "no detection rule %lld", (long long)id)
                              : db_fail(db, d, "read rule");
        goto out;
    }
    r->name = vg_str_dup(a, col_str(st, 1));
    r->query = vg_str_dup(a, col_str(st, 2));
    r->period = vg_cd_period_find(col_str(st, 3));
    r->title = vg_str_dup(a, col_str(st, 4));
    r->description = vg_str_dup(a, col_str(st, 5));
    r->recommended = vg_str_dup(a, col_str(st, 6));
    r->severity = vg_str_dup(a, col_str(st, 7));
    r->category = vg_str_dup(a, col_str(st, 8));
    r->enabled = sqlite3_column_int(st, 11) != 0;
    if (version)
        *version = sqlite3_column_int64(st, 15);
    vg_json *j = NULL;
    vg_diag jd;
    if (vg_json_parse(a, vg_str_dup(a, col_str(st, 9)), &j, &jd) == VG_OK &&
        j->kind == VG_JSON_ARRAY)
        for (uint32_t i = 0; i < j->n && r->ntechniques < VG_CD_MAX_TECHNIQUES; i++)
            r->techniques[r->ntechniques++] = j->kids[i]->str;
    if (vg_json_parse(a, vg_str_dup(a, col_str(st, 10)), &j, &jd) == VG_OK &&
        j->kind == VG_JSON_ARRAY)
        for (uint32_t i = 0; i < j->n && r->nassets < VG_CD_MAX_ASSETS; i++) {
            const vg_json *idf = vg_json_get(j->kids[i], "identifier");
            const vg_cd_ident *ident = idf ? vg_cd_ident_find(idf->str) : NULL;
            if (ident)
                r->assets[r->nassets++] = ident;
        }
    if (!r->period)
        e = vg_diag_set(d, VG_ECORRUPT, "detection rule %lld: stored period is not valid",
                        (long long)id);
out:
    sqlite3_finalize(st);
    return e;
}

/* The last modifier: the newest audit record about the rule, else its creator. */
static void last_modified_by(sqlite3 *db, int64_t id, vg_str created_by, vg_buf *o)
{
    sqlite3_stmt *st = NULL;
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)id);
    if (sqlite3_prepare_v2(db, "SELECT actor FROM audit WHERE object_type='detectionRule' AND "
                               "object_id=? AND action IN ('detectionRule.create',"
                               "'detectionRule.update') AND (status IS NULL OR status < 300) "
                               "ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            vg_buf_put_json_str(o, col_str(st, 0));
            sqlite3_finalize(st);
            return;
        }
    }
    sqlite3_finalize(st);
    vg_buf_put_json_str(o, created_by);
}

static const char *graph_status(vg_str status, bool truncated)
{
    if (vg_str_eqc(status, "failed"))
        return "failed";
    if (vg_str_eqc(status, "running"))
        return "running";
    return truncated ? "partiallyFailed" : "completed";
}

/* lastRunDetails from the newest run. */
static void last_run(sqlite3 *db, int64_t id, vg_buf *o)
{
    sqlite3_stmt *st = NULL;
    vg_buf_puts(o, "\"lastRunDetails\":");
    if (sqlite3_prepare_v2(db, "SELECT scheduled, status, truncated, error, alerts FROM "
                               "detection_runs WHERE detection_id=? ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        vg_buf_puts(o, "null");
        return;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        vg_buf_puts(o, "null");
    } else {
        vg_buf_puts(o, "{\"lastRunDateTime\":");
        put_iso(o, sqlite3_column_int64(st, 0));
        vg_buf_printf(o, ",\"status\":\"%s\",\"failureReason\":",
                      graph_status(col_str(st, 1), sqlite3_column_int(st, 2) != 0));
        if (sqlite3_column_type(st, 3) == SQLITE_NULL)
            vg_buf_puts(o, "null");
        else
            vg_buf_put_json_str(o, col_str(st, 3));
        vg_buf_printf(o, ",\"errorCode\":null,\"alertsCreated\":%lld}",
                      (long long)sqlite3_column_int64(st, 4));
    }
    sqlite3_finalize(st);
}

static void rule_json(sqlite3 *db, sqlite3_stmt *st, vg_buf *o)
{
    int64_t id = sqlite3_column_int64(st, 0);
    const vg_cd_period *p = vg_cd_period_find(col_str(st, 3));
    int64_t version = sqlite3_column_int64(st, 15);
    int64_t created = sqlite3_column_int64(st, 13), updated = sqlite3_column_int64(st, 14);
    int64_t last = sqlite3_column_int64(st, 16);
    bool enabled = sqlite3_column_int(st, 11) != 0;
    vg_buf_printf(o, "{\"@odata.type\":\"#microsoft.graph.security.detectionRule\","
                     "\"@odata.etag\":\"W/\\\"%lld\\\"\",\"id\":\"%lld\",\"displayName\":",
                  (long long)version, (long long)id);
    vg_buf_put_json_str(o, col_str(st, 1));
    vg_buf_printf(o, ",\"isEnabled\":%s,\"createdBy\":", enabled ? "true" : "false");
    vg_buf_put_json_str(o, col_str(st, 12));
    vg_buf_puts(o, ",\"createdDateTime\":");
    put_iso(o, created);
    vg_buf_puts(o, ",\"lastModifiedBy\":");
    last_modified_by(db, id, col_str(st, 12), o);
    vg_buf_puts(o, ",\"lastModifiedDateTime\":");
    put_iso(o, updated);
    vg_buf_puts(o, ",\"queryCondition\":{\"queryText\":");
    vg_buf_put_json_str(o, col_str(st, 2));
    vg_buf_puts(o, "},\"schedule\":{\"period\":");
    vg_buf_put_json_str(o, col_str(st, 3));
    vg_buf_puts(o, ",\"nextRunDateTime\":");
    if (!enabled || !p || p->period_ms == 0)
        vg_buf_puts(o, "null");
    else
        put_iso(o, last > 0 ? last + p->period_ms : created);
    vg_buf_puts(o, "},\"detectionAction\":{\"alertTemplate\":{\"title\":");
    vg_buf_put_json_str(o, col_str(st, 4));
    vg_buf_puts(o, ",\"description\":");
    vg_buf_put_json_str(o, col_str(st, 5));
    vg_buf_puts(o, ",\"severity\":");
    vg_buf_put_json_str(o, col_str(st, 7));
    vg_buf_puts(o, ",\"category\":");
    vg_buf_put_json_str(o, col_str(st, 8));
    vg_buf_puts(o, ",\"recommendedActions\":");
    vg_buf_put_json_str(o, col_str(st, 6));
    vg_buf_puts(o, ",\"mitreTechniques\":");
    vg_str tech = col_str(st, 9);
    vg_buf_putstr(o, tech.n ? tech : vg_str_c("[]"));
    vg_buf_puts(o, ",\"impactedAssets\":[");
    /* entities: [{"kind","identifier","column"}] -> Graph's assets */
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_json *j = NULL;
    vg_diag jd;
    if (vg_json_parse(&a, col_str(st, 10), &j, &jd) == VG_OK && j->kind == VG_JSON_ARRAY) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < j->n; i++) {
            const vg_json *idf = vg_json_get(j->kids[i], "identifier");
            const vg_cd_ident *ident = idf ? vg_cd_ident_find(idf->str) : NULL;
            if (!ident)
                continue;
            vg_buf_printf(o, "%s{\"@odata.type\":\"%s\",\"identifier\":\"%s\"}", k++ ? "," : "",
                          vg_cd_kind_odata(ident->kind), ident->identifier);
        }
    }
    vg_arena_free(&a);
    vg_buf_puts(o, "]},\"organizationalScope\":null,\"responseActions\":[]},");
    last_run(db, id, o);
    vg_buf_putc(o, '}');
}

vg_err vg_cd_db_rule_json(sqlite3 *db, int64_t id, vg_buf *out, int64_t *version, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " RULE_COLS " FROM detections WHERE id=?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(db, d, "read rule");
    sqlite3_bind_int64(st, 1, id);
    vg_err e = VG_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rule_json(db, st, out);
        if (version)
            *version = sqlite3_column_int64(st, 15);
    } else
        e = rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "no detection rule %lld", (long long)id)
                              : db_fail(db, d, "read rule");
    sqlite3_finalize(st);
    return e;
}

vg_err vg_cd_db_rules_json(sqlite3 *db, vg_buf *out, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " RULE_COLS " FROM detections ORDER BY id", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(db, d, "list rules");
    vg_buf_puts(out, "{\"@odata.context\":\"/api/v1/$metadata#security/rules/detectionRules\",\"value\":[");
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++)
            vg_buf_putc(out, ',');
        rule_json(db, st, out);
    }
    vg_buf_puts(out, "]}\n");
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VG_OK : db_fail(db, d, "list rules");
}

/* ---- runs ---- */

#define RUN_COLS "id, detection_id, scheduled, started, finished, status, rows, alerts, truncated, error"

static void run_json(sqlite3_stmt *st, vg_buf *o)
{
    vg_buf_printf(o, "{\"id\":\"%lld\",\"detectionRuleId\":\"%lld\",\"scheduledDateTime\":",
                  (long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1));
    put_iso(o, sqlite3_column_int64(st, 2));
    vg_buf_puts(o, ",\"startedDateTime\":");
    put_iso(o, sqlite3_column_int64(st, 3));
    vg_buf_puts(o, ",\"finishedDateTime\":");
    put_iso(o, sqlite3_column_int64(st, 4));
    vg_buf_puts(o, ",\"status\":");
    vg_buf_put_json_str(o, col_str(st, 5));
    vg_buf_printf(o, ",\"rowsReturned\":%lld,\"alertsCreated\":%lld,\"truncated\":%s,"
                     "\"failureReason\":",
                  (long long)sqlite3_column_int64(st, 6), (long long)sqlite3_column_int64(st, 7),
                  sqlite3_column_int(st, 8) ? "true" : "false");
    if (sqlite3_column_type(st, 9) == SQLITE_NULL)
        vg_buf_puts(o, "null");
    else
        vg_buf_put_json_str(o, col_str(st, 9));
    vg_buf_putc(o, '}');
}

vg_err vg_cd_db_runs_json(sqlite3 *db, int64_t id, int64_t top, vg_buf *out, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " RUN_COLS " FROM detection_runs WHERE detection_id=? "
                               "ORDER BY id DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, d, "list runs");
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, top);
    vg_buf_puts(out, "{\"value\":[");
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++)
            vg_buf_putc(out, ',');
        run_json(st, out);
    }
    vg_buf_puts(out, "]}\n");
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VG_OK : db_fail(db, d, "list runs");
}

vg_err vg_cd_db_run_json(sqlite3 *db, int64_t run_id, vg_buf *out, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " RUN_COLS " FROM detection_runs WHERE id=?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(db, d, "read run");
    sqlite3_bind_int64(st, 1, run_id);
    vg_err e = VG_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        run_json(st, out);
    else
        e = vg_diag_set(d, VG_ENOTFOUND, "no run %lld", (long long)run_id);
    sqlite3_finalize(st);
    return e;
}

/* ---- the scheduler's view ---- */

vg_err vg_cd_db_schedules(sqlite3 *db, vg_cd_sched **out, uint32_t *n, vg_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, enabled, period, created, last_run_end FROM detections "
                               "ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, d, "list schedules");
    vg_cd_sched *v = NULL;
    uint32_t cap = 0;
    int rc;
    vg_err e = VG_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (vg_array_grow((void **)&v, &cap, *n + 1, sizeof *v)) {
            e = vg_diag_set(d, VG_ENOMEM, "out of memory");
            break;
        }
        vg_cd_sched *s = &v[(*n)++];
        s->id = sqlite3_column_int64(st, 0);
        s->enabled = sqlite3_column_int(st, 1) != 0;
        s->period = vg_cd_period_find(col_str(st, 2));
        s->created_ms = sqlite3_column_int64(st, 3);
        s->last_run_end_ms = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0
                                                                       : sqlite3_column_int64(st, 4);
        if (!s->period)
            (*n)--;
    }
    if (!e && rc != SQLITE_DONE)
        e = db_fail(db, d, "list schedules");
    sqlite3_finalize(st);
    if (e) {
        free(v);
        *n = 0;
        return e;
    }
    *out = v;
    return VG_OK;
}

vg_err vg_cd_db_runspec(sqlite3 *db, int64_t id, vg_arena *a, vg_cd_runspec *rs, vg_diag *d)
{
    memset(rs, 0, sizeof *rs);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT query, title, severity, category, techniques, entities, "
                               "created_by FROM detections WHERE id=?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, d, "read rule");
    sqlite3_bind_int64(st, 1, id);
    vg_err e = VG_OK;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "no detection rule %lld", (long long)id)
                              : db_fail(db, d, "read rule");
        goto out;
    }
    rs->id = id;
    rs->query = vg_str_dup(a, col_str(st, 0));
    rs->title = vg_str_dup(a, col_str(st, 1));
    rs->severity = vg_str_dup(a, col_str(st, 2));
    rs->category = vg_str_dup(a, col_str(st, 3));
    rs->techniques_json = vg_str_dup(a, col_str(st, 4));
    rs->author = vg_str_dup(a, col_str(st, 6));
    vg_json *j = NULL;
    vg_diag jd;
    if (vg_json_parse(a, vg_str_dup(a, col_str(st, 5)), &j, &jd) == VG_OK &&
        j->kind == VG_JSON_ARRAY)
        for (uint32_t i = 0; i < j->n && rs->nimpacted < VG_CD_MAX_ASSETS; i++) {
            const vg_json *c = vg_json_get(j->kids[i], "column");
            if (c && c->kind == VG_JSON_STRING)
                rs->impacted[rs->nimpacted++] = c->str;
        }
    vg_cd_shape sh;
    vg_diag sd;
    if (vg_cd_query_shape(a, rs->query, &sh, &sd) == VG_OK)
        rs->table = sh.table;
out:
    sqlite3_finalize(st);
    return e;
}

bool vg_cd_db_known(sqlite3 *db, int64_t id, vg_str hit)
{
    sqlite3_stmt *st = NULL;
    bool known = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM detection_hits WHERE detection_id=? AND hit=?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        bind_str(st, 2, hit);
        known = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return known;
}

vg_err vg_cd_db_record(sqlite3 *db, const vg_cd_record *rec, int64_t *run_id, vg_diag *d)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, d, "begin");
    sqlite3_stmt *st = NULL;
    vg_err e = VG_OK;
    int64_t v;
    if ((e = check_version(db, rec->id, -1, &v, d)))
        goto out;
    const vg_cd_outcome *o = rec->o;
    if (o && o->alerts) {
        if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO detection_hits(detection_id, hit, "
                                   "alert_id, created) VALUES(?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK) {
            e = db_fail(db, d, "insert hits");
            goto out;
        }
        for (uint32_t i = 0; i < o->alerts; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, rec->id);
            sqlite3_bind_text(st, 2, o->hits[i].hit, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, o->hits[i].alert_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, rec->finished_ms);
            if (sqlite3_step(st) != SQLITE_DONE) {
                e = db_fail(db, d, "insert hits");
                goto out;
            }
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO detection_runs(detection_id, scheduled, started, "
                               "finished, status, rows, alerts, truncated, error) "
                               "VALUES(?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "insert run");
        goto out;
    }
    sqlite3_bind_int64(st, 1, rec->id);
    sqlite3_bind_int64(st, 2, rec->scheduled_ms);
    sqlite3_bind_int64(st, 3, rec->started_ms);
    sqlite3_bind_int64(st, 4, rec->finished_ms);
    sqlite3_bind_text(st, 5, rec->failed ? "failed" : "succeeded", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, o ? (int64_t)o->rows : 0);
    sqlite3_bind_int64(st, 7, o ? o->alerts : 0);
    sqlite3_bind_int(st, 8, o && o->truncated);
    if (rec->error)
        sqlite3_bind_text(st, 9, rec->error, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        e = db_fail(db, d, "insert run");
        goto out;
    }
    if (run_id)
        *run_id = sqlite3_last_insert_rowid(db);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, rec->scheduled
                                   ? "UPDATE detections SET last_status=?1, last_error=?2, "
                                     "last_alerts=?3, last_run_end=?4 WHERE id=?5"
                                   : "UPDATE detections SET last_status=?1, last_error=?2, "
                                     "last_alerts=?3 WHERE id=?5",
                           -1, &st, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "update rule state");
        goto out;
    }
    sqlite3_bind_text(st, 1, rec->failed ? "failed" : o && o->truncated ? "partial" : "succeeded",
                      -1, SQLITE_STATIC);
    if (rec->error)
        sqlite3_bind_text(st, 2, rec->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, o ? o->alerts : 0);
    if (rec->scheduled)
        sqlite3_bind_int64(st, 4, rec->scheduled_ms);
    sqlite3_bind_int64(st, 5, rec->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        e = db_fail(db, d, "update rule state");
out:
    sqlite3_finalize(st);
    if (e)
        rollback(db);
    else if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        e = db_fail(db, d, "commit");
        rollback(db);
    }
    return e;
}
