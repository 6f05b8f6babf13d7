/*
 * test_inc_odata.c - the OData $filter/$orderby compiler of the incidents API
 * (src/incident/inc_odata.c): every operator and function, precedence,
 * escapes, datetimes, null, each error with its column, the limits, and a
 * fuzz loop whose every accepted expression must also be valid SQL. Rows
 * are real: a state.db in a temporary directory holds a few incidents and
 * alerts, and each filter is checked by the ids it selects.
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

#include "core/vg_time.h"
#include "incident/inc_api_int.h"
#include "state/vg_state.h"

static sqlite3 *db;
static char dir[64];

#define T(iso) ms_of(iso)

static int64_t ms_of(const char *iso)
{
    vg_time t;
    assert_int_equal(vg_time_parse_iso(vg_str_c(iso), &t), VG_OK);
    return t / VG_TICKS_PER_MS;
}

static void exec_sql(const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/vg_odata_XXXXXX");
    assert_non_null(mkdtemp(dir));
    vg_diag d;
    assert_int_equal(vg_state_open(dir, &db, &d), VG_OK);
    char sql[2048];
    /* id, name, status, severity, assigned, created, alert_count */
    const struct {
        int id;
        const char *name, *status, *sev, *assigned, *created;
        int alerts;
    } rows[] = {
        { 1, "Encoded PowerShell on ws1", "active", "high", NULL, "2026-11-29T10:00:00Z", 2 },
        { 2, "Brute force", "resolved", "low", "alice", "2026-11-30T12:00:00Z", 1 },
        { 3, "O''Brien''s login", "inProgress", "medium", "bob", "2026-12-01T00:00:00Z", 5 },
        { 4, "info thing", "active", "informational", NULL, "2026-12-02T00:00:00Z", 0 },
    };
    for (size_t i = 0; i < 4; i++) {
        int64_t c = T(rows[i].created);
        snprintf(sql, sizeof sql,
                 "INSERT INTO incidents(id, display_name, status, severity, assigned_to, "
                 "alert_count, created, updated, first_activity, last_activity) "
                 "VALUES(%d, '%s', '%s', '%s', %s%s%s, %d, %lld, %lld, %lld, %lld)",
                 rows[i].id, rows[i].name, rows[i].status, rows[i].sev,
                 rows[i].assigned ? "'" : "", rows[i].assigned ? rows[i].assigned : "NULL",
                 rows[i].assigned ? "'" : "", rows[i].alerts, (long long)c,
                 (long long)(c + 1000 * (5 - rows[i].id)), (long long)c, (long long)c);
        exec_sql(sql);
    }
    exec_sql("INSERT INTO alerts(id, incident_id, title, severity, service_source, "
             "detection_source, detector_id, first_activity, last_activity, created, updated) "
             "VALUES('a1', 1, 'Encoded PowerShell', 'high', 'Vigil Endpoint', 'Sigma', 'r1', "
             "1, 1, 100, 100),"
             "('a2', 1, 'Logon burst', 'medium', 'Vigil Identity', 'Sigma correlation', 'r2', "
             "1, 1, 200, 200),"
             "('a3', 2, 'Custom hit', 'low', 'Something else', 'customDetection', '7', 1, 1, "
             "300, 300)");
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    sqlite3_close(db);
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

/* Runs filter/orderby on incidents or alerts: the ids, comma-separated,
 * or "ERR:<message>" when the compiler refused. */
static const char *run(inc_obj o, const char *filter, const char *orderby)
{
    static char res[4096];
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    inc_sql *q = malloc(sizeof *q);
    assert_non_null(q);
    inc_sql_init(q);
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = inc_odata_filter(o, vg_str_c(filter), &a, q, &d);
    if (!e)
        e = inc_odata_orderby(o, vg_str_c(orderby), q, &d);
    if (e) {
        snprintf(res, sizeof res, "ERR:%s", d.msg);
        goto out;
    }
    vg_buf sql;
    vg_buf_init(&sql, 0);
    vg_buf_printf(&sql, "SELECT id FROM %s%s%s ORDER BY %s",
                  o == INC_OBJ_INCIDENT ? "incidents" : "alerts", q->where.n ? " WHERE " : "",
                  q->where.n ? vg_buf_cstr(&q->where) : "", vg_buf_cstr(&q->order));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, vg_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK)
        fail_msg("bad SQL for '%s': %s: %s", filter, vg_buf_cstr(&sql), sqlite3_errmsg(db));
    assert_int_equal(inc_sql_bind(st, q, &d), VG_OK);
    res[0] = '\0';
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        n += (size_t)snprintf(res + n, sizeof res - n, "%s%s", n ? "," : "",
                              (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    vg_buf_free(&sql);
out:
    inc_sql_free(q);
    free(q);
    vg_arena_free(&a);
    return res;
}

static const char *inc(const char *filter) { return run(INC_OBJ_INCIDENT, filter, "id asc"); }

static void test_comparisons(void **state)
{
    assert_string_equal(inc("status eq 'active'"), "1,4");
    assert_string_equal(inc("status ne 'active'"), "2,3");
    assert_string_equal(inc("alertCount gt 1"), "1,3");
    assert_string_equal(inc("alertCount ge 2"), "1,3");
    assert_string_equal(inc("alertCount lt 2"), "2,4");
    assert_string_equal(inc("alertCount le 1"), "2,4");
    assert_string_equal(inc("alertCount eq -1"), "");
    assert_string_equal(inc("id eq 2"), "2");
    assert_string_equal(inc("id eq '3'"), "3");
    assert_string_equal(inc(""), "1,2,3,4");
    assert_string_equal(inc("   "), "1,2,3,4");
    /* keywords in any case; field names exact */
    assert_string_equal(inc("status EQ 'active' AND alertCount Gt 0"), "1");
    (void)state;
}

static void test_severity_rank(void **state)
{
    assert_string_equal(inc("severity ge 'medium'"), "1,3");
    assert_string_equal(inc("severity gt 'low'"), "1,3");
    assert_string_equal(inc("severity lt 'low'"), "4");
    assert_string_equal(inc("severity eq 'high'"), "1");
    assert_string_equal(inc("severity in ('low', 'informational')"), "2,4");
    assert_string_equal(run(INC_OBJ_INCIDENT, "", "severity desc"), "1,3,2,4");
    assert_string_equal(run(INC_OBJ_INCIDENT, "", "severity asc"), "4,2,3,1");
    (void)state;
}

static void test_logic_precedence(void **state)
{
    /* and binds tighter than or */
    assert_string_equal(inc("status eq 'active' or status eq 'resolved' and severity eq 'high'"),
                        "1,4");
    assert_string_equal(inc("(status eq 'active' or status eq 'resolved') and severity eq 'high'"),
                        "1");
    assert_string_equal(inc("not status eq 'active'"), "2,3");
    assert_string_equal(inc("not (status eq 'active' or alertCount gt 2)"), "2");
    assert_string_equal(inc("not not status eq 'active'"), "1,4");
    assert_string_equal(inc("((((id eq 1))))"), "1");
    assert_string_equal(inc("status in ('active','inProgress')"), "1,3,4");
    assert_string_equal(inc("id in (1, 3, '4')"), "1,3,4");
    (void)state;
}

static void test_literals(void **state)
{
    /* '' is a quote inside a string */
    assert_string_equal(inc("displayName eq 'O''Brien''s login'"), "3");
    assert_string_equal(inc("displayName eq ''"), "");
    /* datetimes bare and quoted, with and without fractions */
    assert_string_equal(inc("createdDateTime ge 2026-11-30T00:00:00Z"), "2,3,4");
    assert_string_equal(inc("createdDateTime ge '2026-11-30T00:00:00Z'"), "2,3,4");
    assert_string_equal(inc("createdDateTime lt 2026-11-30T12:00:00.001Z"), "1,2");
    assert_string_equal(inc("createdDateTime eq 2026-12-01T00:00:00Z"), "3");
    assert_string_equal(inc("lastUpdateDateTime gt 2026-12-01T00:00:00Z and "
                            "firstActivityDateTime le 2026-12-02"), "3,4");
    assert_string_equal(inc("lastActivityDateTime lt 2026-11-30"), "1");
    /* null */
    assert_string_equal(inc("assignedTo eq null"), "1,4");
    assert_string_equal(inc("assignedTo ne null"), "2,3");
    /* OData ne keeps rows without a value */
    assert_string_equal(inc("assignedTo ne 'alice'"), "1,3,4");
    (void)state;
}

static void test_functions(void **state)
{
    assert_string_equal(inc("startswith(displayName, 'encoded')"), "1");
    assert_string_equal(inc("startswith(displayName,'Brute force')"), "2");
    assert_string_equal(inc("endswith(displayName, 'LOGIN')"), "3");
    assert_string_equal(inc("endswith(displayName, '')"), "1,2,3,4");
    assert_string_equal(inc("contains(displayName, 'force')"), "2");
    assert_string_equal(inc("contains(displayName, '''')"), "3");
    assert_string_equal(inc("contains(assignedTo, 'o')"), "3");
    assert_string_equal(inc("not contains(displayName, 'e') or startswith(status, 'in')"), "3,4");
    (void)state;
}

static void test_alert_fields(void **state)
{
    assert_string_equal(run(INC_OBJ_ALERT, "serviceSource eq 'microsoftDefenderForEndpoint'",
                            "id"), "a1");
    assert_string_equal(run(INC_OBJ_ALERT, "serviceSource eq 'microsoft365Defender'", "id"),
                        "a3");
    assert_string_equal(run(INC_OBJ_ALERT, "detectionSource eq 'sigmaCorrelation'", "id"), "a2");
    assert_string_equal(run(INC_OBJ_ALERT, "detectionSource eq 'customDetection'", "id"), "a3");
    assert_string_equal(run(INC_OBJ_ALERT, "incidentId eq 1 and severity ge 'medium'", "id"),
                        "a1,a2");
    assert_string_equal(run(INC_OBJ_ALERT, "id in ('a3','a1')", "id"), "a1,a3");
    assert_string_equal(run(INC_OBJ_ALERT, "detectorId eq '7' or title eq 'Logon burst'", "id"),
                        "a2,a3");
    /* default order: newest first */
    assert_string_equal(run(INC_OBJ_ALERT, "", NULL), "a3,a2,a1");
    assert_string_equal(run(INC_OBJ_ALERT, "", "createdDateTime asc"), "a1,a2,a3");
    (void)state;
}

static void test_orderby(void **state)
{
    assert_string_equal(run(INC_OBJ_INCIDENT, "", NULL), "4,3,2,1");   /* updated desc */
    assert_string_equal(run(INC_OBJ_INCIDENT, "", "alertCount"), "4,2,1,3");
    assert_string_equal(run(INC_OBJ_INCIDENT, "", "status asc, id desc"), "4,1,3,2");
    assert_string_equal(run(INC_OBJ_INCIDENT, "", " createdDateTime DESC "), "4,3,2,1");
    assert_string_equal(run(INC_OBJ_INCIDENT, "", "assignedTo desc,displayName"), "3,2,1,4");
    const char *r = run(INC_OBJ_INCIDENT, "", "bogus desc");
    assert_non_null(strstr(r, "$orderby: column 1: unknown field 'bogus'"));
    r = run(INC_OBJ_INCIDENT, "", "id sideways");
    assert_non_null(strstr(r, "$orderby: column 4: expected asc or desc"));
    r = run(INC_OBJ_INCIDENT, "", "id,");
    assert_non_null(strstr(r, "$orderby: column 4: expected a field name"));
    r = run(INC_OBJ_INCIDENT, "", "id desc;drop");
    assert_non_null(strstr(r, "$orderby: column 8: expected ',' or the end, found ';'"));
    r = run(INC_OBJ_INCIDENT, "", "id,id,id,id,id,id,id,id,id");
    assert_non_null(strstr(r, "more than 8 keys"));
    (void)state;
}

static void expect_err(inc_obj o, const char *filter, const char *needle)
{
    const char *r = run(o, filter, NULL);
    if (strncmp(r, "ERR:", 4) != 0 || !strstr(r, needle))
        fail_msg("filter '%s': expected an error with \"%s\", got \"%s\"", filter, needle, r);
}

static void test_errors(void **state)
{
    inc_obj I = INC_OBJ_INCIDENT;
    expect_err(I, "foo eq 1", "$filter: column 1: unknown field 'foo' (filterable: id, status");
    expect_err(I, "status eq 'active' and foo eq 1", "column 24: unknown field 'foo'");
    expect_err(I, "title eq 'x'", "unknown field 'title'");   /* an alert field */
    expect_err(INC_OBJ_ALERT, "displayName eq 'x'", "unknown field 'displayName'");
    expect_err(I, "status eq 'active", "column 11: unterminated string");
    expect_err(I, "status is 'active'", "column 8: expected an operator (eq ne gt ge lt le in)");
    expect_err(I, "status eq", "column 10: expected a value");
    expect_err(I, "status eq and", "column 11: expected a value");
    expect_err(I, "alertCount eq 'x'", "alertCount is an integer");
    expect_err(I, "alertCount eq 1.5", "'1.5' is not an integer");
    expect_err(I, "status eq 3", "status is text: write the value in quotes");
    expect_err(I, "severity eq 'urgent'", "severity is one of 'informational'");
    expect_err(I, "createdDateTime gt 'yesterday'", "createdDateTime is a datetime");
    expect_err(I, "createdDateTime gt 2026-13-01T00:00:00Z", "is not a datetime");
    expect_err(I, "createdDateTime gt 5", "createdDateTime is a datetime");
    expect_err(I, "assignedTo gt null", "null compares only with eq or ne");
    expect_err(I, "status in ('a', null)", "null cannot be in a list");
    expect_err(I, "status in 'a'", "expected '(' after in");
    expect_err(I, "status in ('a' 'b')", "expected ',' or ')' in the list");
    expect_err(I, "status eq true", "status is text, not a boolean");
    expect_err(I, "status eq 'a' status eq 'b'", "column 15: expected and, or or the end");
    expect_err(I, "(status eq 'a'", "column 15: expected ')', found the end");
    expect_err(I, "status eq 'a' $ 1", "column 15: unexpected '$'");
    expect_err(I, "status eq 'a'; DROP TABLE incidents", "unexpected ';'");
    expect_err(I, "startswith(displayName 'x')", "expected ','");
    expect_err(I, "startswith(displayName, 3)", "startswith() takes a string");
    expect_err(I, "contains(alertCount, '3')", "contains() needs a text field");
    expect_err(I, "eq eq 'x'", "unknown field 'eq'");
    expect_err(I, "'x' eq status", "expected a field name, found a string");
    expect_err(I, "\x01", "unexpected 0x01");
    /* the incidents table is still there after the attempt above */
    assert_string_equal(inc("id eq 1"), "1");
    (void)state;
}

static void test_limits(void **state)
{
    char buf[VG_INC_MAX_FILTER + 64];
    /* 32 levels of parentheses are fine, 33 are not */
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        buf[n++] = '(';
    n += (size_t)snprintf(buf + n, sizeof buf - n, "id eq 1");
    for (int i = 0; i < 32; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    assert_string_equal(inc(buf), "1");
    n = 0;
    for (int i = 0; i < 33; i++)
        buf[n++] = '(';
    snprintf(buf + n, sizeof buf - n, "id eq 1");
    expect_err(INC_OBJ_INCIDENT, buf, "column 33: nested deeper than 32 levels");
    /* `not` counts too */
    n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "not ");
    snprintf(buf + n, sizeof buf - n, "id eq 1");
    expect_err(INC_OBJ_INCIDENT, buf, "nested deeper than 32 levels");
    /* length */
    memset(buf, ' ', VG_INC_MAX_FILTER + 1);
    memcpy(buf, "id eq 1", 7);
    buf[VG_INC_MAX_FILTER + 1] = '\0';
    expect_err(INC_OBJ_INCIDENT, buf, "more than the 4096 allowed");
    buf[VG_INC_MAX_FILTER] = '\0';
    assert_string_equal(inc(buf), "1");
    /* values */
    n = (size_t)snprintf(buf, sizeof buf, "id in (1");
    for (int i = 0; i < INC_ODATA_MAX_ARGS + 1 && n + 8 < VG_INC_MAX_FILTER; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ",%d", i % 10);
    snprintf(buf + n, sizeof buf - n, ")");
    expect_err(INC_OBJ_INCIDENT, buf, "more than 512 values in one $filter");
    (void)state;
}

/* Random bytes and random token soup: never a crash, and whatever is
 * accepted prepares as SQL and runs. */
static void test_fuzz(void **state)
{
    static const char *const vocab[] = {
        "id", "status", "severity", "alertCount", "displayName", "createdDateTime",
        "assignedTo", "eq", "ne", "gt", "ge", "lt", "le", "in", "and", "or", "not", "(", ")",
        ",", "'a'", "'it''s'", "'", "''", "1", "-3", "2026-11-30T00:00:00Z", "'high'", "null",
        "true", "false", "startswith", "endswith", "contains", "foo", "$", "\x80", "9999999999999999999999",
    };
    const size_t nv = sizeof vocab / sizeof vocab[0];
    unsigned seed = 12345;
    char buf[512];
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        if (iter % 2) {
            size_t len = (size_t)(rand_r(&seed) % 64);
            for (size_t i = 0; i < len; i++)
                buf[n++] = (char)(rand_r(&seed) % 256 ?: 1);
        } else {
            int toks = 1 + rand_r(&seed) % 12;
            for (int i = 0; i < toks && n < sizeof buf - 64; i++)
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%s ",
                                      vocab[(size_t)rand_r(&seed) % nv]);
        }
        buf[n] = '\0';
        const char *r = run(iter % 3 ? INC_OBJ_INCIDENT : INC_OBJ_ALERT, buf, NULL);
        if (strncmp(r, "ERR:", 4) != 0)
            accepted++;
        else
            assert_non_null(strstr(r, "$filter: "));
    }
    assert_true(accepted > 0);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_severity_rank),
        cmocka_unit_test(test_logic_precedence),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_alert_fields),
        cmocka_unit_test(test_orderby),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
