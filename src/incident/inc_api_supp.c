/*
 * inc_api_supp.c - suppression rules (CRUD) and the incident graph.
 *
 * A suppression rule is {"displayName", "ruleId" (a detector id or "*"),
 * "conditions": [{"kind": <entity kind>, "value": ...}] (all must hold),
 * "action": "resolve", "enabled"}. Kinds are the engine's strong
 * entity kinds (inc_kind_parse); the engine matches new alerts against the
 * enabled rules it caches, which inc_engine_suppressions_changed refreshes
 * after every change here. Each change is versioned (ETag) and audited in
 * its transaction.
 *
 * The incident graph is the incident, its alerts and the entities those
 * alerts name (alert_entities), with edges incident->alert and
 * alert->entity (kind: the entity's evidence roles). It is bounded to
 * INC_GRAPH_MAX_NODES nodes and INC_GRAPH_MAX_EDGES edges ("truncated":true
 * past either).
 */
#include <stdio.h>
#include <string.h>

#include "../state/vg_state.h"
#include "inc_api_int.h"

#define INC_SUPP_MAX_CONDITIONS 16   /* conditions of one suppression rule */
#define INC_SUPP_MAX_NAME 200        /* characters of a displayName */
#define INC_SUPP_MAX_VALUE 1024      /* bytes of a condition value or a ruleId */
#define INC_GRAPH_MAX_NODES 2000
#define INC_GRAPH_MAX_ALERTS 1000    /* alert nodes (the rest of the budget: entities) */
#define INC_GRAPH_MAX_EDGES 20000
#define INC_SUPP_ARENA (1u << 20)

/* ---- suppression rules ---- */

#define SUPP_COLS "id, name, rule_id, conditions, action, enabled, hits, created_by, created, " \
                  "updated, version"

static void supp_json(vg_buf *out, sqlite3_stmt *r)
{
    vg_buf_printf(out, "{\"@odata.etag\":\"W/\\\"%lld\\\"\",\"id\":\"%lld\"",
                  (long long)sqlite3_column_int64(r, 10), (long long)sqlite3_column_int64(r, 0));
    vg_buf_puts(out, ",\"displayName\":");
    inc_json_put_text(out, r, 1);
    vg_buf_puts(out, ",\"ruleId\":");
    inc_json_put_text(out, r, 2);
    vg_buf_puts(out, ",\"conditions\":");
    inc_json_put_array(out, r, 3);
    vg_buf_puts(out, ",\"action\":");
    inc_json_put_text(out, r, 4);
    vg_buf_printf(out, ",\"enabled\":%s,\"hits\":%lld",
                  sqlite3_column_int(r, 5) ? "true" : "false",
                  (long long)sqlite3_column_int64(r, 6));
    vg_buf_puts(out, ",\"createdBy\":");
    inc_json_put_text(out, r, 7);
    vg_buf_puts(out, ",\"createdDateTime\":");
    inc_json_put_time(out, r, 8);
    vg_buf_puts(out, ",\"lastUpdateDateTime\":");
    inc_json_put_time(out, r, 9);
    vg_buf_putc(out, '}');
}

/* Writes one rule (mu held). */
static vg_err supp_write(vg_inc *inc, int64_t id, vg_buf *out, int64_t *version, vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e = inc_prepare(inc, "SELECT " SUPP_COLS " FROM suppressions WHERE id = ?1", &st, d);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (version)
            *version = sqlite3_column_int64(st, 10);
        supp_json(out, st);
    } else if (rc == SQLITE_DONE) {
        e = vg_diag_set(d, VG_ENOTFOUND, "no suppression rule %lld", (long long)id);
    } else {
        e = vg_diag_set(d, VG_EIO, "reading suppression rule: %s", sqlite3_errmsg(inc->db));
    }
    sqlite3_finalize(st);
    return e;
}

vg_err vg_inc_suppressions_list(vg_inc *inc, vg_buf *out, vg_diag *d)
{
    sqlite3_stmt *st;
    pthread_mutex_lock(&inc->mu);
    vg_err e = inc_prepare(inc, "SELECT " SUPP_COLS " FROM suppressions ORDER BY id", &st, d);
    if (!e) {
        vg_buf_puts(out, "{\"value\":[");
        int rc, k = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (k++)
                vg_buf_putc(out, ',');
            supp_json(out, st);
        }
        vg_buf_puts(out, "]}");
        if (rc != SQLITE_DONE)
            e = vg_diag_set(d, VG_EIO, "listing suppression rules: %s", sqlite3_errmsg(inc->db));
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&inc->mu);
    return e;
}

vg_err vg_inc_suppression_get(vg_inc *inc, int64_t id, vg_buf *out, int64_t *version, vg_diag *d)
{
    pthread_mutex_lock(&inc->mu);
    vg_err e = supp_write(inc, id, out, version, d);
    pthread_mutex_unlock(&inc->mu);
    return e;
}

/* A rule's fields as given; has_* say which the body held. */
typedef struct supp_body {
    bool has_name, has_rule, has_cond, has_action, has_enabled;
    vg_str name, rule_id, action;
    vg_buf conditions;   /* the normalised JSON array */
    bool enabled;
} supp_body;

static vg_err supp_parse(const vg_json *root, supp_body *b, vg_diag *d)
{
    for (uint32_t i = 0; i < root->n; i++) {
        const vg_json *m = root->kids[i];
        vg_str k = m->key;
        if (vg_str_eqc(k, "displayName")) {
            if (m->kind != VG_JSON_STRING || vg_str_trim(m->str).n == 0 ||
                m->str.n > INC_SUPP_MAX_NAME)
                return vg_diag_set(d, VG_EINVAL, "displayName: expected a non-empty string of "
                                   "at most %d bytes", INC_SUPP_MAX_NAME);
            b->has_name = true;
            b->name = m->str;
        } else if (vg_str_eqc(k, "ruleId")) {
            if (m->kind != VG_JSON_STRING || vg_str_trim(m->str).n == 0 ||
                m->str.n > INC_SUPP_MAX_VALUE)
                return vg_diag_set(d, VG_EINVAL, "ruleId: expected a detector id (the "
                                   "alert's detectorId) or \"*\" for any rule");
            b->has_rule = true;
            b->rule_id = vg_str_trim(m->str);
        } else if (vg_str_eqc(k, "action")) {
            if (m->kind != VG_JSON_STRING ||
                !vg_str_eqc(m->str, "resolve"))
                return vg_diag_set(d, VG_EINVAL, "action: expected \"resolve\" (the only "
                                   "action: the alert is stored resolved, in no incident)");
            b->has_action = true;
            b->action = m->str;
        } else if (vg_str_eqc(k, "enabled")) {
            if (m->kind != VG_JSON_TRUE && m->kind != VG_JSON_FALSE)
                return vg_diag_set(d, VG_EINVAL, "enabled: expected true or false");
            b->has_enabled = true;
            b->enabled = m->kind == VG_JSON_TRUE;
        } else if (vg_str_eqc(k, "conditions")) {
            if (m->kind != VG_JSON_ARRAY)
                return vg_diag_set(d, VG_EINVAL, "conditions: expected an array of "
                                   "{\"kind\": ..., \"value\": ...}");
            if (m->n > INC_SUPP_MAX_CONDITIONS)
                return vg_diag_set(d, VG_EINVAL, "conditions: %u, more than the %d allowed",
                                   m->n, INC_SUPP_MAX_CONDITIONS);
            b->has_cond = true;
            vg_buf_clear(&b->conditions);
            vg_buf_putc(&b->conditions, '[');
            for (uint32_t j = 0; j < m->n; j++) {
                const vg_json *c = m->kids[j];
                const vg_json *kind = c->kind == VG_JSON_OBJECT ? vg_json_get(c, "kind") : NULL;
                const vg_json *val = c->kind == VG_JSON_OBJECT ? vg_json_get(c, "value") : NULL;
                if (!kind || !val || c->n != 2)
                    return vg_diag_set(d, VG_EINVAL, "conditions[%u]: expected exactly "
                                       "{\"kind\": ..., \"value\": ...}", j);
                inc_kind ik;
                if (kind->kind != VG_JSON_STRING || !inc_kind_parse(kind->str, &ik)) {
                    char kinds[200];
                    size_t n = 0;
                    kinds[0] = '\0';
                    for (int x = 0; x < INC_K_COUNT_ && n < sizeof kinds; x++) {
                        int w = snprintf(kinds + n, sizeof kinds - n, "%s%s", x ? ", " : "",
                                         inc_kind_name((inc_kind)x));
                        if (w < 0)
                            break;
                        n += (size_t)w;
                    }
                    return vg_diag_set(d, VG_EINVAL, "conditions[%u].kind: expected one of %s",
                                       j, kinds);
                }
                if (val->kind != VG_JSON_STRING || vg_str_trim(val->str).n == 0 ||
                    val->str.n > INC_SUPP_MAX_VALUE)
                    return vg_diag_set(d, VG_EINVAL, "conditions[%u].value: expected a "
                                       "non-empty string of at most %d bytes", j,
                                       INC_SUPP_MAX_VALUE);
                vg_buf_puts(&b->conditions, j ? ",{\"kind\":\"" : "{\"kind\":\"");
                vg_buf_puts(&b->conditions, inc_kind_name(ik));
                vg_buf_puts(&b->conditions, "\",\"value\":");
                vg_buf_put_json_str(&b->conditions, vg_str_trim(val->str));
                vg_buf_putc(&b->conditions, '}');
            }
            vg_buf_putc(&b->conditions, ']');
        } else if (!(k.n > 7 && memcmp(k.p, "@odata.", 7) == 0)) {
            return vg_diag_set(d, VG_EINVAL, "unknown field '%.*s' (expected displayName, "
                               "ruleId, conditions, action, enabled)",
                               (int)(k.n > 60 ? 60 : k.n), k.p);
        }
    }
    return b->conditions.failed ? vg_diag_set(d, VG_ENOMEM, "out of memory") : VG_OK;
}

/* A rule that names no detector and no entity would hide every alert. */
static vg_err supp_check_scope(vg_str rule_id, vg_str conditions, vg_diag *d)
{
    if (vg_str_eqc(rule_id, "*") && vg_str_eqc(vg_str_trim(conditions), "[]"))
        return vg_diag_set(d, VG_EINVAL, "a rule with ruleId \"*\" needs at least one "
                           "condition (it would suppress every alert)");
    return VG_OK;
}

vg_err vg_inc_suppression_create(vg_inc *inc, vg_str body, const vg_inc_actor *who, vg_buf *out,
                                 int64_t *id, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 0, INC_SUPP_ARENA);
    supp_body b = { 0 };
    vg_buf_init(&b.conditions, 0);
    const vg_json *root;
    bool locked = false, intx = false;
    vg_buf det;
    vg_buf_init(&det, 0);
    vg_err e = inc_body_object(&a, body, &root, d);
    if (!e) e = supp_parse(root, &b, d);
    if (!e && !b.has_name)
        e = vg_diag_set(d, VG_EINVAL, "displayName: missing");
    if (!e && !b.has_rule)
        e = vg_diag_set(d, VG_EINVAL, "ruleId: missing (a detectorId, or \"*\" for any rule)");
    if (!e && !b.has_cond)
        vg_buf_puts(&b.conditions, "[]");
    if (!e) e = supp_check_scope(b.rule_id, vg_str_make(b.conditions.p, b.conditions.n), d);
    if (e)
        goto out;
    pthread_mutex_lock(&inc->mu);
    locked = true;
    if ((e = inc_begin(inc, d)))
        goto out;
    intx = true;
    sqlite3_stmt *st;
    if ((e = inc_prepare(inc, "INSERT INTO suppressions(name, rule_id, conditions, action, "
                              "enabled, created_by, created, updated) "
                              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)", &st, d)))
        goto out;
    int64_t now = vg_state_now_ms();
    sqlite3_bind_text(st, 1, b.name.p, (int)b.name.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b.rule_id.p, (int)b.rule_id.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b.conditions.p, (int)b.conditions.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, b.has_action ? b.action.p : "resolve",
                      b.has_action ? (int)b.action.n : -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, b.has_enabled ? b.enabled : 1);
    sqlite3_bind_text(st, 6, inc_actor_name(who), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "adding the suppression rule: %s", sqlite3_errmsg(inc->db));
        goto out;
    }
    int64_t nid = sqlite3_last_insert_rowid(inc->db);
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)nid);
    vg_buf_puts(&det, "{\"displayName\":");
    vg_buf_put_json_str(&det, b.name);
    vg_buf_puts(&det, ",\"ruleId\":");
    vg_buf_put_json_str(&det, b.rule_id);
    vg_buf_puts(&det, ",\"conditions\":");
    vg_buf_put(&det, b.conditions.p, b.conditions.n);
    vg_buf_putc(&det, '}');
    if (det.failed) {
        e = vg_diag_set(d, VG_ENOMEM, "out of memory");
        goto out;
    }
    if ((e = inc_audit(inc, who, "suppression.create", "suppression", oid, vg_buf_cstr(&det),
                       d)) ||
        (e = inc_commit(inc, d)))
        goto out;
    intx = false;
    inc_engine_suppressions_changed(inc);
    if (id)
        *id = nid;
    e = supp_write(inc, nid, out, NULL, d);
out:
    if (intx)
        inc_rollback(inc);
    if (locked)
        pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&b.conditions);
    vg_buf_free(&det);
    vg_arena_free(&a);
    return e;
}

/* Reads a rule's version (mu held, in the transaction); ECONFLICT on mismatch. */
static vg_err supp_check_version(vg_inc *inc, int64_t id, int64_t if_match, vg_arena *a,
                                 vg_str *rule_id, vg_str *conditions, vg_diag *d)
{
    sqlite3_stmt *st;
    vg_err e = inc_prepare(inc, "SELECT version, rule_id, conditions FROM suppressions "
                                "WHERE id = ?1", &st, d);
    if (e)
        return e;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t ver = sqlite3_column_int64(st, 0);
        if (rule_id)
            *rule_id = vg_str_dup(a, vg_str_c((const char *)sqlite3_column_text(st, 1)));
        if (conditions)
            *conditions = vg_str_dup(a, vg_str_c((const char *)sqlite3_column_text(st, 2)));
        if (if_match != -1 && if_match != ver)
            e = vg_diag_set(d, VG_ECONFLICT, "suppression rule %lld is at version %lld, not "
                            "%lld (If-Match): read it again and retry", (long long)id,
                            (long long)ver, (long long)if_match);
    } else if (rc == SQLITE_DONE) {
        e = vg_diag_set(d, VG_ENOTFOUND, "no suppression rule %lld", (long long)id);
    } else {
        e = vg_diag_set(d, VG_EIO, "reading suppression rule: %s", sqlite3_errmsg(inc->db));
    }
    sqlite3_finalize(st);
    return e;
}

vg_err vg_inc_suppression_patch(vg_inc *inc, int64_t id, vg_str body, int64_t if_match,
                                const vg_inc_actor *who, vg_buf *out, int64_t *version,
                                vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 0, INC_SUPP_ARENA);
    supp_body b = { 0 };
    vg_buf_init(&b.conditions, 0);
    const vg_json *root;
    bool locked = false, intx = false;
    vg_err e = inc_body_object(&a, body, &root, d);
    if (!e) e = supp_parse(root, &b, d);
    if (e)
        goto out;
    pthread_mutex_lock(&inc->mu);
    locked = true;
    if ((e = inc_begin(inc, d)))
        goto out;
    intx = true;
    vg_str cur_rule = VG_STR_NULL, cur_cond = VG_STR_NULL;
    if ((e = supp_check_version(inc, id, if_match, &a, &cur_rule, &cur_cond, d)))
        goto out;
    if ((e = supp_check_scope(b.has_rule ? b.rule_id : cur_rule,
                              b.has_cond ? vg_str_make(b.conditions.p, b.conditions.n)
                                         : cur_cond, d)))
        goto out;
    sqlite3_stmt *st;
    if ((e = inc_prepare(inc, "UPDATE suppressions SET name = coalesce(?2, name), "
                              "rule_id = coalesce(?3, rule_id), "
                              "conditions = coalesce(?4, conditions), "
                              "action = coalesce(?5, action), "
                              "enabled = coalesce(?6, enabled), updated = ?7, "
                              "version = version + 1 WHERE id = ?1", &st, d)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    if (b.has_name)
        sqlite3_bind_text(st, 2, b.name.p, (int)b.name.n, SQLITE_STATIC);
    if (b.has_rule)
        sqlite3_bind_text(st, 3, b.rule_id.p, (int)b.rule_id.n, SQLITE_STATIC);
    if (b.has_cond)
        sqlite3_bind_text(st, 4, b.conditions.p, (int)b.conditions.n, SQLITE_STATIC);
    if (b.has_action)
        sqlite3_bind_text(st, 5, b.action.p, (int)b.action.n, SQLITE_STATIC);
    if (b.has_enabled)
        sqlite3_bind_int(st, 6, b.enabled);
    sqlite3_bind_int64(st, 7, vg_state_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "updating the suppression rule: %s", sqlite3_errmsg(inc->db));
        goto out;
    }
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)id);
    /* the body was validated and is small: it is the detail */
    vg_buf det;
    vg_buf_init(&det, 0);
    vg_json_write(&det, root);
    e = det.failed ? vg_diag_set(d, VG_ENOMEM, "out of memory")
                   : inc_audit(inc, who, "suppression.update", "suppression", oid,
                               vg_buf_cstr(&det), d);
    vg_buf_free(&det);
    if (e || (e = inc_commit(inc, d)))
        goto out;
    intx = false;
    inc_engine_suppressions_changed(inc);
    e = supp_write(inc, id, out, version, d);
out:
    if (intx)
        inc_rollback(inc);
    if (locked)
        pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&b.conditions);
    vg_arena_free(&a);
    return e;
}

vg_err vg_inc_suppression_delete(vg_inc *inc, int64_t id, const vg_inc_actor *who, vg_diag *d)
{
    vg_arena a;
    vg_arena_init(&a, 4096, INC_SUPP_ARENA);
    pthread_mutex_lock(&inc->mu);
    bool intx = false;
    vg_err e = inc_begin(inc, d);
    if (e)
        goto out;
    intx = true;
    if ((e = supp_check_version(inc, id, -1, &a, NULL, NULL, d)))
        goto out;
    sqlite3_stmt *st;
    if ((e = inc_prepare(inc, "DELETE FROM suppressions WHERE id = ?1", &st, d)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "deleting the suppression rule: %s", sqlite3_errmsg(inc->db));
        goto out;
    }
    char oid[24];
    snprintf(oid, sizeof oid, "%lld", (long long)id);
    if ((e = inc_audit(inc, who, "suppression.delete", "suppression", oid, "{}", d)) ||
        (e = inc_commit(inc, d)))
        goto out;
    intx = false;
    inc_engine_suppressions_changed(inc);
out:
    if (intx)
        inc_rollback(inc);
    pthread_mutex_unlock(&inc->mu);
    vg_arena_free(&a);
    return e;
}

/* ---- the incident graph ---- */

/* "kind:value" node ids, JSON-escaped. */
static void node_id(vg_buf *out, const char *kind, vg_str value)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_puts(&b, kind);
    vg_buf_putc(&b, ':');
    vg_buf_putstr(&b, value);
    vg_buf_put_json_str(out, vg_str_make(b.p ? b.p : "", b.n));
    vg_buf_free(&b);
}

static vg_str col(sqlite3_stmt *st, int i)
{
    const char *p = (const char *)sqlite3_column_text(st, i);
    return vg_str_make(p ? p : "", p ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

/* Roles ["attacker","compromised"] as "attacker,compromised" ("related" when none). */
static void roles_kind(vg_buf *out, vg_str roles)
{
    vg_arena a;
    vg_arena_init(&a, 2048, 1 << 16);
    vg_json *j = NULL;
    vg_buf k;
    vg_buf_init(&k, 0);
    if (roles.n && vg_json_parse(&a, roles, &j, NULL) == VG_OK && j->kind == VG_JSON_ARRAY)
        for (uint32_t i = 0; i < j->n; i++) {
            if (k.n)
                vg_buf_putc(&k, ',');
            vg_buf_putstr(&k, vg_json_text(j->kids[i]));
        }
    if (!k.n)
        vg_buf_puts(&k, "related");
    vg_buf_put_json_str(out, vg_str_make(k.p, k.n));
    vg_buf_free(&k);
    vg_arena_free(&a);
}

vg_err vg_inc_graph(vg_inc *inc, int64_t id, vg_buf *out, vg_diag *d)
{
    sqlite3_stmt *st = NULL;
    vg_buf edges;
    vg_buf_init(&edges, 0);
    pthread_mutex_lock(&inc->mu);
    vg_err e = inc_prepare(inc, "SELECT display_name, severity, status FROM incidents "
                                "WHERE id = ?1", &st, d);
    if (e)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? vg_diag_set(d, VG_ENOTFOUND, "no incident %lld", (long long)id)
                              : vg_diag_set(d, VG_EIO, "reading incident: %s",
                                            sqlite3_errmsg(inc->db));
        goto out;
    }
    bool truncated = false;
    int nodes = 1, nedges = 0;
    char iid[32];
    snprintf(iid, sizeof iid, "incident:%lld", (long long)id);
    vg_buf_printf(out, "{\"incidentId\":\"%lld\",\"nodes\":[{\"id\":\"%s\",\"type\":\"incident\","
                  "\"label\":", (long long)id, iid);
    vg_buf_put_json_str(out, col(st, 0));
    vg_buf_puts(out, ",\"severity\":");
    vg_buf_put_json_str(out, col(st, 1));
    vg_buf_puts(out, ",\"status\":");
    vg_buf_put_json_str(out, col(st, 2));
    vg_buf_putc(out, '}');
    sqlite3_finalize(st);
    st = NULL;

    /* alerts (the first INC_GRAPH_MAX_ALERTS by creation) */
    if ((e = inc_prepare(inc, "SELECT id, title, severity, status, created FROM alerts "
                              "WHERE incident_id = ?1 ORDER BY created, id LIMIT ?2", &st, d)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, INC_GRAPH_MAX_ALERTS + 1);
    int nalerts = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nalerts == INC_GRAPH_MAX_ALERTS) {
            truncated = true;
            break;
        }
        nalerts++;
        nodes++;
        vg_buf_puts(out, ",{\"id\":");
        node_id(out, "alert", col(st, 0));
        vg_buf_puts(out, ",\"type\":\"alert\",\"label\":");
        vg_buf_put_json_str(out, col(st, 1));
        vg_buf_puts(out, ",\"severity\":");
        vg_buf_put_json_str(out, col(st, 2));
        vg_buf_puts(out, ",\"status\":");
        vg_buf_put_json_str(out, col(st, 3));
        vg_buf_puts(out, ",\"createdDateTime\":");
        inc_json_put_time(out, st, 4);
        vg_buf_putc(out, '}');
        vg_buf_puts(&edges, nedges++ ? ",{\"source\":\"" : "{\"source\":\"");
        vg_buf_puts(&edges, iid);
        vg_buf_puts(&edges, "\",\"target\":");
        node_id(&edges, "alert", col(st, 0));
        vg_buf_puts(&edges, ",\"kind\":\"contains\"}");
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "reading alerts: %s", sqlite3_errmsg(inc->db));
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;

    /* entities of those alerts, within the node budget; edges to them */
    static const char ents_cte[] =
        "WITH al AS (SELECT id FROM alerts WHERE incident_id = ?1 ORDER BY created, id "
        "LIMIT ?2), "
        "en AS (SELECT ae.kind, ae.value, max(ae.display) AS display, count(*) AS n "
        "FROM alert_entities ae JOIN al ON al.id = ae.alert_id GROUP BY ae.kind, ae.value "
        "ORDER BY ae.kind, ae.value LIMIT ?3) ";
    int budget = INC_GRAPH_MAX_NODES - nodes;
    if ((e = inc_prepare(inc, "WITH al AS (SELECT id FROM alerts WHERE incident_id = ?1 "
                              "ORDER BY created, id LIMIT ?2) "
                              "SELECT ae.kind, ae.value, max(ae.display), count(*) "
                              "FROM alert_entities ae JOIN al ON al.id = ae.alert_id "
                              "GROUP BY ae.kind, ae.value ORDER BY ae.kind, ae.value "
                              "LIMIT ?3", &st, d)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, INC_GRAPH_MAX_ALERTS);
    sqlite3_bind_int(st, 3, budget + 1);
    int nents = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nents == budget) {
            truncated = true;
            break;
        }
        nents++;
        vg_str kind = col(st, 0), value = col(st, 1), display = col(st, 2);
        vg_buf_puts(out, ",{\"id\":");
        char k[32];
        vg_str_copy_c(k, sizeof k, kind);
        node_id(out, k, value);
        vg_buf_puts(out, ",\"type\":");
        vg_buf_put_json_str(out, kind);
        vg_buf_puts(out, ",\"label\":");
        vg_buf_put_json_str(out, display.n ? display : value);
        vg_buf_printf(out, ",\"alerts\":%lld}", (long long)sqlite3_column_int64(st, 3));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "reading entities: %s", sqlite3_errmsg(inc->db));
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    vg_buf sql;
    vg_buf_init(&sql, 0);
    vg_buf_puts(&sql, ents_cte);
    vg_buf_puts(&sql, "SELECT ae.alert_id, ae.kind, ae.value, ae.roles FROM alert_entities ae "
                      "JOIN al ON al.id = ae.alert_id JOIN en ON en.kind = ae.kind AND "
                      "en.value = ae.value ORDER BY ae.alert_id, ae.kind, ae.value LIMIT ?4");
    e = inc_prepare(inc, vg_buf_cstr(&sql), &st, d);
    vg_buf_free(&sql);
    if (e)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, INC_GRAPH_MAX_ALERTS);
    sqlite3_bind_int(st, 3, nents);
    sqlite3_bind_int(st, 4, INC_GRAPH_MAX_EDGES - nedges + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nedges == INC_GRAPH_MAX_EDGES) {
            truncated = true;
            break;
        }
        char k[32];
        vg_str_copy_c(k, sizeof k, col(st, 1));
        vg_buf_puts(&edges, nedges++ ? ",{\"source\":" : "{\"source\":");
        node_id(&edges, "alert", col(st, 0));
        vg_buf_puts(&edges, ",\"target\":");
        node_id(&edges, k, col(st, 2));
        vg_buf_puts(&edges, ",\"kind\":");
        roles_kind(&edges, col(st, 3));
        vg_buf_putc(&edges, '}');
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = vg_diag_set(d, VG_EIO, "reading entity links: %s", sqlite3_errmsg(inc->db));
        goto out;
    }
    vg_buf_puts(out, "],\"edges\":[");
    vg_buf_put(out, edges.p, edges.n);
    vg_buf_printf(out, "],\"truncated\":%s}", truncated ? "true" : "false");
    if (out->failed || edges.failed)
        e = vg_diag_set(d, VG_ENOMEM, "out of memory writing the graph");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&inc->mu);
    vg_buf_free(&edges);
    return e;
}
