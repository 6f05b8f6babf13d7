/*
 * test_inc_api.c - the Graph-shaped API half of src/incident over a real
 * state.db: incident and alert JSON, lists with OData options and paging,
 * PATCH with versions (If-Match), cascades onto alerts, audit rows,
 * redirected incidents, comments, the incident graph and suppression-rule
 * CRUD. Rows are inserted straight into the tables (the engine's own tests
 * cover how they get there); the vg_inc handle is the real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vg_json.h"
#include "incident/vg_incident.h"
#include "state/vg_state.h"

static char dir[64];
static sqlite3 *db;     /* a second connection, for setup and checks */
static vg_inc *inc;
static vg_arena arena;
static const vg_inc_actor alice = { 7, "alice", "analyst", "127.0.0.1:1" };

static void exec_sql(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t q_int(const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *q_text(const char *sql)
{
    static char buf[4096];
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        snprintf(buf, sizeof buf, "<null>");
    sqlite3_finalize(st);
    return buf;
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg_incapi_XXXXXX");
    assert_non_null(mkdtemp(dir));
    vg_diag d;
    assert_int_equal(vg_state_open(dir, &db, &d), VG_OK);
    exec_sql(
        "INSERT INTO incidents(id, display_name, status, severity, assigned_to, tactics, "
        "techniques, devices, users, sources, alert_count, first_activity, last_activity, "
        "created, updated) VALUES"
        "(1, 'Execution on one endpoint', 'active', 'high', NULL, '[\"Execution\"]', "
        "'[\"T1059.001\"]', '[\"ws1\"]', '[\"corp\\\\bob\"]', "
        "'[\"Vigil Endpoint\",\"Vigil Identity\"]', 2, 1000, 2000, 3000, 3000),"
        "(2, 'Logons', 'active', 'low', NULL, '[]', '[]', '[]', '[]', '[]', 1, 1000, 1000, "
        "2500, 2500),"
        "(3, 'Merged away', 'redirected', 'low', NULL, '[]', '[]', '[]', '[]', '[]', 0, 1000, "
        "1000, 2000, 2000)");
    exec_sql("UPDATE incidents SET redirect_id = 1, system_tags = '[\"Redirected\"]' WHERE id = 3");
    exec_sql(
        "INSERT INTO alerts(id, incident_id, title, severity, status, classification, "
        "service_source, detection_source, detector_id, evidence, first_activity, "
        "last_activity, created, updated) VALUES"
        "('da1', 1, 'Encoded PowerShell', 'high', 'new', 'unknown', 'Vigil Endpoint', 'Sigma', "
        "'r-1', '[{\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\","
        "\"deviceDnsName\":\"ws1\"}]', 1000, 1000, 3000, 3000),"
        "('da2', 1, 'Logon burst', 'medium', 'new', 'falsePositive', 'Vigil Identity', "
        "'Sigma correlation', 'r-2', '[]', 2000, 2000, 3100, 3100),"
        "('da3', 2, 'Logon', 'low', 'new', 'unknown', 'Vigil Identity', 'Sigma', 'r-3', '[]', "
        "1000, 1000, 2500, 2500)");
    exec_sql("INSERT INTO alert_entities(alert_id, kind, value, display, roles) VALUES"
             "('da1', 'device', 'ws1', 'WS1', '[\"compromised\"]'),"
             "('da1', 'account', 'corp\\bob', 'CORP\\bob', '[]'),"
             "('da2', 'account', 'corp\\bob', 'CORP\\bob', '[\"attacked\"]')");
    vg_inc_opts o = { 0 };
    assert_int_equal(vg_inc_open(dir, &o, &inc, &d), VG_OK);
    vg_arena_init(&arena, 0, 0);
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    vg_inc_close(inc);
    sqlite3_close(db);
    vg_arena_free(&arena);
    char path[128];
    const char *files[] = { "state.db", "state.db-wal", "state.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    (void)state;
    return 0;
}

static vg_json *parse(vg_buf *b)
{
    vg_json *j = NULL;
    vg_diag d;
    if (vg_json_parse(&arena, vg_str_make(b->p, b->n), &j, &d) != VG_OK)
        fail_msg("not JSON (%s): %.*s", d.msg, (int)b->n, b->p);
    return j;
}

static const char *str_of(const vg_json *o, const char *path)
{
    const vg_json *v = o->kind == VG_JSON_OBJECT ? vg_json_get(o, path) : NULL;
    if (!v)
        return "<absent>";
    if (v->kind == VG_JSON_NULL)
        return "<null>";
    vg_str s = vg_str_dup(&arena, vg_json_text(v));
    return s.p;
}

static void test_incident_json(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    int64_t ver = 0;
    assert_int_equal(vg_inc_incident_get(inc, 1, true, &b, &ver, &d), VG_OK);
    assert_int_equal(ver, 1);
    vg_json *j = parse(&b);
    assert_string_equal(str_of(j, "@odata.type"), "#microsoft.graph.security.incident");
    assert_string_equal(str_of(j, "@odata.etag"), "W/\"1\"");
    assert_string_equal(str_of(j, "id"), "1");
    assert_string_equal(str_of(j, "incidentWebUrl"), "/#/incidents/1");
    assert_string_equal(str_of(j, "displayName"), "Execution on one endpoint");
    assert_string_equal(str_of(j, "assignedTo"), "<null>");
    assert_string_equal(str_of(j, "redirectIncidentId"), "<null>");
    assert_string_equal(str_of(j, "createdDateTime"), "1970-01-01T00:00:03.000Z");
    assert_string_equal(str_of(j, "alertCount"), "2");
    const vg_json *src = vg_json_get(j, "serviceSources");
    assert_int_equal(src->n, 2);
    assert_string_equal(str_of(src->kids[0], ""), "<absent>");   /* not an object */
    assert_true(vg_str_eqc(src->kids[0]->str, "microsoftDefenderForEndpoint"));
    assert_true(vg_str_eqc(src->kids[1]->str, "microsoftDefenderForIdentity"));
    assert_true(vg_str_eqc(vg_json_get(j, "mitreTechniques")->kids[0]->str, "T1059.001"));
    const vg_json *al = vg_json_get(j, "alerts");
    assert_non_null(al);
    assert_int_equal(al->n, 2);
    const vg_json *a1 = al->kids[0];
    assert_string_equal(str_of(a1, "@odata.type"), "#microsoft.graph.security.alert");
    assert_string_equal(str_of(a1, "id"), "da1");
    assert_string_equal(str_of(a1, "incidentId"), "1");
    assert_string_equal(str_of(a1, "serviceSource"), "microsoftDefenderForEndpoint");
    assert_string_equal(str_of(a1, "detectionSource"), "sigma");
    assert_string_equal(str_of(a1, "detectorId"), "r-1");
    assert_string_equal(str_of(a1, "alertWebUrl"), "/#/alerts/da1");
    assert_string_equal(str_of(vg_json_get(a1, "evidence")->kids[0], "deviceDnsName"), "ws1");
    assert_string_equal(str_of(al->kids[1], "detectionSource"), "sigmaCorrelation");
    /* the redirected one names its target */
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_incident_get(inc, 3, false, &b, NULL, &d), VG_OK);
    j = parse(&b);
    assert_string_equal(str_of(j, "redirectIncidentId"), "1");
    assert_null(vg_json_get(j, "alerts"));
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_incident_get(inc, 99, false, &b, NULL, &d), VG_ENOTFOUND);
    vg_buf_free(&b);
    (void)state;
}

static void test_lists(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    vg_inc_list q = { .top = 1, .count = true, .filter = "status ne 'redirected'",
                      .base_url = "/api/v1/security/incidents" };
    assert_int_equal(vg_inc_incidents_list(inc, &q, &b, &d), VG_OK);
    vg_json *j = parse(&b);
    assert_string_equal(str_of(j, "@odata.count"), "2");
    assert_int_equal(vg_json_get(j, "value")->n, 1);
    assert_string_equal(str_of(vg_json_get(j, "value")->kids[0], "id"), "1");   /* newest */
    assert_string_equal(str_of(j, "@odata.nextLink"),
                        "/api/v1/security/incidents?$top=1&$skip=1"
                        "&$filter=status%20ne%20%27redirected%27&$count=true");
    vg_buf_clear(&b);
    q.skip = 1;
    assert_int_equal(vg_inc_incidents_list(inc, &q, &b, &d), VG_OK);
    j = parse(&b);
    assert_string_equal(str_of(vg_json_get(j, "value")->kids[0], "id"), "2");
    assert_null(vg_json_get(j, "@odata.nextLink"));
    vg_buf_clear(&b);
    q = (vg_inc_list){ .filter = "severity ge 'medium'", .orderby = "createdDateTime asc" };
    assert_int_equal(vg_inc_alerts_list(inc, &q, &b, &d), VG_OK);
    j = parse(&b);
    assert_int_equal(vg_json_get(j, "value")->n, 2);
    assert_string_equal(str_of(vg_json_get(j, "value")->kids[1], "id"), "da2");
    q = (vg_inc_list){ .filter = "nope eq 1" };
    assert_int_equal(vg_inc_alerts_list(inc, &q, &b, &d), VG_EPARSE);
    assert_non_null(strstr(d.msg, "unknown field 'nope'"));
    q = (vg_inc_list){ .top = VG_INC_MAX_TOP + 1 };
    assert_int_equal(vg_inc_incidents_list(inc, &q, &b, &d), VG_EINVAL);
    q = (vg_inc_list){ .expand_alerts = true };
    assert_int_equal(vg_inc_alerts_list(inc, &q, &b, &d), VG_EINVAL);
    vg_buf_free(&b);
    (void)state;
}

static vg_err patch(int64_t id, const char *body, int64_t match, int64_t *ver, vg_diag *d)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag_clear(d);
    vg_err e = vg_inc_incident_patch(inc, id, vg_str_c(body), match, &alice, &b, ver, d);
    if (!e)
        parse(&b);
    vg_buf_free(&b);
    return e;
}

static void test_patch(void **state)
{
    vg_diag d;
    int64_t ver = 0;
    int64_t audits = q_int("SELECT count(*) FROM audit");
    /* refused patches change nothing */
    assert_int_equal(patch(1, "{\"status\":\"resolved\"}", 5, &ver, &d), VG_ECONFLICT);
    assert_non_null(strstr(d.msg, "is at version 1"));
    assert_int_equal(patch(1, "{\"colour\":\"red\"}", -1, &ver, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "unknown field 'colour'"));
    assert_int_equal(patch(1, "{\"status\":\"redirected\"}", -1, &ver, &d), VG_EINVAL);
    assert_int_equal(patch(1, "{\"status\":\"closed\"}", -1, &ver, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "status: 'closed' is not one of active, inProgress, resolved"));
    assert_int_equal(patch(1, "{\"determination\":\"bad\"}", -1, &ver, &d), VG_EINVAL);
    assert_int_equal(patch(1, "[1]", -1, &ver, &d), VG_EINVAL);
    assert_int_equal(patch(1, "{\"status\":", -1, &ver, &d), VG_EPARSE);
    assert_int_equal(patch(1, "{\"resolvingComment\":\"done\"}", -1, &ver, &d), VG_EINVAL);
    assert_int_equal(patch(99, "{\"status\":\"active\"}", -1, &ver, &d), VG_ENOTFOUND);
    char tags[2048];
    size_t n = (size_t)snprintf(tags, sizeof tags, "{\"customTags\":[\"t\"");
    for (int i = 0; i < VG_INC_MAX_TAGS; i++)
        n += (size_t)snprintf(tags + n, sizeof tags - n, ",\"t%d\"", i);
    snprintf(tags + n, sizeof tags - n, "]}");
    assert_int_equal(patch(1, tags, -1, &ver, &d), VG_EINVAL);
    assert_int_equal(q_int("SELECT version FROM incidents WHERE id = 1"), 1);
    assert_int_equal(q_int("SELECT count(*) FROM audit"), audits);

    /* assign + classify with an alias: cascades */
    assert_int_equal(patch(1, "{\"assignedTo\":\"alice@corp\",\"classification\":\"truePositive\","
                              "\"determination\":\"compromisedUser\",\"customTags\":[\"vip\"],"
                              "\"@odata.type\":\"#microsoft.graph.security.incident\"}", 1,
                           &ver, &d), VG_OK);
    assert_int_equal(ver, 2);
    assert_string_equal(q_text("SELECT determination FROM incidents WHERE id = 1"),
                        "compromisedAccount");
    assert_int_equal(q_int("SELECT count(*) FROM alerts WHERE incident_id = 1 AND "
                           "assigned_to = 'alice@corp'"), 2);
    /* only the alert whose classification was unknown */
    assert_string_equal(q_text("SELECT classification FROM alerts WHERE id = 'da1'"),
                        "truePositive");
    assert_string_equal(q_text("SELECT classification FROM alerts WHERE id = 'da2'"),
                        "falsePositive");
    assert_string_equal(q_text("SELECT classification FROM alerts WHERE id = 'da3'"), "unknown");
    assert_string_equal(q_text("SELECT detail FROM audit ORDER BY id DESC LIMIT 1"),
                        "{\"classification\":[\"unknown\",\"truePositive\"],"
                        "\"determination\":[\"unknown\",\"compromisedAccount\"],"
                        "\"assignedTo\":[null,\"alice@corp\"],\"customTags\":[[],[\"vip\"]]}");
    assert_string_equal(q_text("SELECT actor || ' ' || action || ' ' || object_id FROM audit "
                               "ORDER BY id DESC LIMIT 1"), "alice incident.update 1");

    /* the same version again: 412 */
    assert_int_equal(patch(1, "{\"status\":\"inProgress\"}", 1, &ver, &d), VG_ECONFLICT);
    /* a patch that changes nothing is not a new version */
    assert_int_equal(patch(1, "{\"assignedTo\":\"alice@corp\"}", 2, &ver, &d), VG_OK);
    assert_int_equal(ver, 2);

    /* resolve with a comment: alerts resolved, comment added, resolved time set */
    assert_int_equal(patch(1, "{\"status\":\"resolved\",\"resolvingComment\":\"benign test\"}",
                           2, &ver, &d), VG_OK);
    assert_int_equal(ver, 3);
    assert_int_equal(q_int("SELECT count(*) FROM alerts WHERE incident_id = 1 AND "
                           "status = 'resolved' AND resolved IS NOT NULL"), 2);
    assert_int_equal(q_int("SELECT count(*) FROM incidents WHERE id = 1 AND resolved > 0"), 1);
    assert_string_equal(q_text("SELECT comment || '/' || created_by FROM comments WHERE "
                               "incident_id = 1"), "benign test/alice");
    assert_string_equal(q_text("SELECT status FROM alerts WHERE id = 'da3'"), "new");
    /* reopen: resolved cleared */
    assert_int_equal(patch(1, "{\"status\":\"active\",\"displayName\":\"Mine\","
                              "\"severity\":\"low\"}", -1, &ver, &d), VG_OK);
    assert_int_equal(ver, 4);
    assert_int_equal(q_int("SELECT count(*) FROM incidents WHERE id = 1 AND resolved IS NULL "
                           "AND name_manual = 1 AND severity_manual = 1"), 1);

    /* a redirected incident: tags only */
    assert_int_equal(patch(3, "{\"status\":\"active\"}", -1, &ver, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "merged into incident 1"));
    assert_int_equal(patch(3, "{\"customTags\":[\"x\"]}", -1, &ver, &d), VG_OK);
    assert_int_equal(ver, 2);
    (void)state;
}

static void test_alert_patch(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    int64_t ver = 0;
    assert_int_equal(vg_inc_alert_get(inc, VG_STR_LIT("da3"), &b, &ver, &d), VG_OK);
    assert_int_equal(ver, 1);
    int64_t incver = q_int("SELECT version FROM incidents WHERE id = 2");
    assert_int_equal(vg_inc_alert_patch(inc, VG_STR_LIT("da3"), VG_STR_LIT("{\"status\":\"x\"}"),
                                        -1, &alice, &b, &ver, &d), VG_EINVAL);
    assert_int_equal(vg_inc_alert_patch(inc, VG_STR_LIT("da3"), VG_STR_LIT("{\"title\":\"x\"}"),
                                        -1, &alice, &b, &ver, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "unknown field 'title'"));
    assert_int_equal(vg_inc_alert_patch(inc, VG_STR_LIT("da3"),
                                        VG_STR_LIT("{\"status\":\"inProgress\"}"), 9, &alice,
                                        &b, &ver, &d), VG_ECONFLICT);
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_alert_patch(inc, VG_STR_LIT("da3"),
                                        VG_STR_LIT("{\"status\":\"resolved\",\"assignedTo\":null,"
                                                   "\"determination\":\"insufficientData\"}"),
                                        1, &alice, &b, &ver, &d), VG_OK);
    assert_int_equal(ver, 2);
    vg_json *j = parse(&b);
    assert_string_equal(str_of(j, "status"), "resolved");
    assert_string_equal(str_of(j, "determination"), "notEnoughDataToValidate");
    assert_string_not_equal(str_of(j, "resolvedDateTime"), "<null>");
    /* nothing else moved */
    assert_int_equal(q_int("SELECT version FROM incidents WHERE id = 2"), incver);
    assert_string_equal(q_text("SELECT status FROM incidents WHERE id = 2"), "active");
    assert_string_equal(q_text("SELECT action FROM audit ORDER BY id DESC LIMIT 1"),
                        "alert.update");
    assert_int_equal(vg_inc_alert_get(inc, VG_STR_LIT("nope"), &b, &ver, &d), VG_ENOTFOUND);
    vg_buf_free(&b);
    (void)state;
}

static void test_comments(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    int64_t v0 = q_int("SELECT version FROM incidents WHERE id = 2");
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("2"),
                                        VG_STR_LIT("{\"comment\":\"looking \\\"now\\\"\"}"),
                                        &alice, &b, &d), VG_OK);
    vg_json *j = parse(&b);
    const vg_json *v = vg_json_get(j, "value");
    assert_int_equal(v->n, 1);
    assert_string_equal(str_of(v->kids[0], "comment"), "looking \"now\"");
    assert_string_equal(str_of(v->kids[0], "createdByDisplayName"), "alice");
    assert_int_equal(q_int("SELECT version FROM incidents WHERE id = 2"), v0 + 1);
    assert_string_equal(q_text("SELECT action FROM audit ORDER BY id DESC LIMIT 1"),
                        "incident.comment");
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_comment_add(inc, false, VG_STR_LIT("da3"),
                                        VG_STR_LIT("{\"comment\":\"on the alert\"}"), &alice, &b,
                                        &d), VG_OK);
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_comments_list(inc, false, VG_STR_LIT("da3"), &b, &d), VG_OK);
    assert_int_equal(vg_json_get(parse(&b), "value")->n, 1);
    /* errors */
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("2"),
                                        VG_STR_LIT("{\"comment\":\"  \"}"), &alice, &b, &d),
                     VG_EINVAL);
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("2"), VG_STR_LIT("{}"), &alice,
                                        &b, &d), VG_EINVAL);
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("42"),
                                        VG_STR_LIT("{\"comment\":\"x\"}"), &alice, &b, &d),
                     VG_ENOTFOUND);
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("abc"),
                                        VG_STR_LIT("{\"comment\":\"x\"}"), &alice, &b, &d),
                     VG_ENOTFOUND);
    size_t big = VG_INC_MAX_COMMENT + 20;
    char *body = malloc(big + 1);
    assert_non_null(body);
    memcpy(body, "{\"comment\":\"", 12);
    memset(body + 12, 'x', VG_INC_MAX_COMMENT + 1);
    memcpy(body + 12 + VG_INC_MAX_COMMENT + 1, "\"}", 3);
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("2"), vg_str_c(body), &alice, &b,
                                        &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "30001 characters"));
    /* exactly the limit, in multi-byte characters, is fine */
    vg_buf u;
    vg_buf_init(&u, 0);
    vg_buf_puts(&u, "{\"comment\":\"");
    for (int i = 0; i < VG_INC_MAX_COMMENT; i++)
        vg_buf_puts(&u, "\xc3\xa9");
    vg_buf_puts(&u, "\"}");
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_comment_add(inc, true, VG_STR_LIT("2"), vg_str_make(u.p, u.n),
                                        &alice, &b, &d), VG_OK);
    vg_buf_free(&u);
    free(body);
    vg_buf_free(&b);
    (void)state;
}

static void test_graph(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    assert_int_equal(vg_inc_graph(inc, 1, &b, &d), VG_OK);
    vg_json *j = parse(&b);
    const vg_json *nodes = vg_json_get(j, "nodes"), *edges = vg_json_get(j, "edges");
    /* incident + 2 alerts + device ws1 + account corp\bob */
    assert_int_equal(nodes->n, 5);
    assert_string_equal(str_of(nodes->kids[0], "type"), "incident");
    assert_string_equal(str_of(nodes->kids[1], "id"), "alert:da1");
    assert_string_equal(str_of(nodes->kids[3], "id"), "account:corp\\bob");
    assert_string_equal(str_of(nodes->kids[3], "label"), "CORP\\bob");
    assert_string_equal(str_of(nodes->kids[3], "alerts"), "2");
    assert_string_equal(str_of(nodes->kids[4], "type"), "device");
    /* 2 incident->alert, 3 alert->entity */
    assert_int_equal(edges->n, 5);
    assert_string_equal(str_of(edges->kids[0], "source"), "incident:1");
    bool found = false;
    for (uint32_t i = 0; i < edges->n; i++)
        if (!strcmp(str_of(edges->kids[i], "target"), "device:ws1")) {
            assert_string_equal(str_of(edges->kids[i], "source"), "alert:da1");
            assert_string_equal(str_of(edges->kids[i], "kind"), "compromised");
            found = true;
        }
    assert_true(found);
    assert_string_equal(str_of(j, "truncated"), "false");
    assert_int_equal(vg_inc_graph(inc, 77, &b, &d), VG_ENOTFOUND);
    vg_buf_free(&b);
    (void)state;
}

static void test_suppressions(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_diag d;
    int64_t id = 0, ver = 0;
    assert_int_equal(vg_inc_suppression_create(
                         inc, VG_STR_LIT("{\"displayName\":\"x\",\"ruleId\":\"*\"}"), &alice, &b,
                         &id, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "at least one condition"));
    assert_int_equal(vg_inc_suppression_create(
                         inc, VG_STR_LIT("{\"displayName\":\"x\",\"ruleId\":\"r\","
                                         "\"conditions\":[{\"kind\":\"planet\",\"value\":\"x\"}]}"),
                         &alice, &b, &id, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "conditions[0].kind: expected one of device"));
    assert_int_equal(vg_inc_suppression_create(
                         inc, VG_STR_LIT("{\"displayName\":\"x\",\"ruleId\":\"r\","
                                         "\"action\":\"delete\"}"), &alice, &b, &id, &d),
                     VG_EINVAL);
    assert_int_equal(vg_inc_suppression_create(inc, VG_STR_LIT("{\"ruleId\":\"r\"}"), &alice,
                                               &b, &id, &d), VG_EINVAL);
    assert_int_equal(vg_inc_suppression_create(
                         inc, VG_STR_LIT("{\"displayName\":\"x\",\"ruleId\":\"r\",\"x\":1}"),
                         &alice, &b, &id, &d), VG_EINVAL);
    assert_int_equal(q_int("SELECT count(*) FROM suppressions"), 0);
    vg_buf_clear(&b);
    /* "resolve" is the only action */
    assert_int_equal(vg_inc_suppression_create(
                         inc, VG_STR_LIT("{\"displayName\":\"x\",\"ruleId\":\"r\","
                                         "\"action\":\"hide\"}"), &alice, &b, &id, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "action"));
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_suppression_create(
                         inc, VG_STR_LIT("{\"displayName\":\"lab box\",\"ruleId\":\"r-1\","
                                         "\"conditions\":[{\"kind\":\"device\",\"value\":\" ws9 \"}],"
                                         "\"action\":\"resolve\"}"), &alice, &b, &id, &d), VG_OK);
    assert_true(id > 0);
    vg_json *j = parse(&b);
    assert_string_equal(str_of(j, "action"), "resolve");
    assert_string_equal(str_of(j, "enabled"), "true");
    assert_string_equal(str_of(j, "createdBy"), "alice");
    assert_string_equal(str_of(vg_json_get(j, "conditions")->kids[0], "value"), "ws9");
    assert_string_equal(q_text("SELECT action FROM audit ORDER BY id DESC LIMIT 1"),
                        "suppression.create");
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_suppression_patch(inc, id, VG_STR_LIT("{\"enabled\":false}"), 3,
                                              &alice, &b, &ver, &d), VG_ECONFLICT);
    assert_int_equal(vg_inc_suppression_patch(inc, id, VG_STR_LIT("{\"ruleId\":\"*\","
                                                                  "\"conditions\":[]}"), -1,
                                              &alice, &b, &ver, &d), VG_EINVAL);
    assert_int_equal(vg_inc_suppression_patch(inc, id, VG_STR_LIT("{\"enabled\":false}"), 1,
                                              &alice, &b, &ver, &d), VG_OK);
    assert_int_equal(ver, 2);
    assert_int_equal(q_int("SELECT enabled FROM suppressions"), 0);
    assert_string_equal(q_text("SELECT rule_id FROM suppressions"), "r-1");
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_suppressions_list(inc, &b, &d), VG_OK);
    assert_int_equal(vg_json_get(parse(&b), "value")->n, 1);
    vg_buf_clear(&b);
    assert_int_equal(vg_inc_suppression_get(inc, id, &b, &ver, &d), VG_OK);
    assert_int_equal(ver, 2);
    assert_int_equal(vg_inc_suppression_delete(inc, id, &alice, &d), VG_OK);
    assert_int_equal(vg_inc_suppression_get(inc, id, &b, &ver, &d), VG_ENOTFOUND);
    assert_int_equal(vg_inc_suppression_delete(inc, id, &alice, &d), VG_ENOTFOUND);
    assert_string_equal(q_text("SELECT action FROM audit ORDER BY id DESC LIMIT 1"),
                        "suppression.delete");
    vg_buf_free(&b);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incident_json),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_alert_patch),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_graph),
        cmocka_unit_test(test_suppressions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
