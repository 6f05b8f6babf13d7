/*
 * test_incident.c - unit tests of the incident correlation engine
 * (vg_inc_add and friends): AlertInfo/AlertEvidence rows built by hand go
 * in, and the incidents, alerts, entities and audit rows in state.db are
 * checked: joins by each kind of key, the keys that must not join (private
 * IPs, SYSTEM), the window, merges and each guard against them (assignee,
 * classification, resolved, the entity limit), severity, names,
 * duplicates, suppression, persistence across a reopen, and the counters.
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
#include "incident/inc_int.h"
#include "state/vg_state.h"

/* ---- fixtures ---- */

#define T0 1767225600000LL   /* 2026-01-01T00:00:00Z in ms */
#define HOUR 3600000LL

typedef struct fx {
    char dir[64];
    vg_inc *inc;
    vg_inc_opts o;
    vg_batch info, ev;
} fx;

static void fx_open(fx *f)
{
    vg_diag d = { { 0 } };
    vg_err e = vg_inc_open(f->dir, &f->o, &f->inc, &d);
    if (e)
        fail_msg("vg_inc_open: %s", d.msg);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/vg-inc-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->o.window_ms = 24 * HOUR;
    f->o.max_entities = 200;
    fx_open(f);
    vg_batch_init(&f->info, vg_schema_table(vg_str_c("AlertInfo")), 256, NULL, false);
    vg_batch_init(&f->ev, vg_schema_table(vg_str_c("AlertEvidence")), 1024, NULL, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    vg_inc_close(f->inc);
    vg_batch_free(&f->info);
    vg_batch_free(&f->ev);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void setcol(vg_batch *b, uint32_t r, const char *col, const char *val)
{
    int c = vg_schema_col(b->table, vg_str_c(col));
    if (c < 0)
        fail_msg("no column %s in %s", col, b->table->name);
    vg_diag d;
    if (vg_batch_set_text(b, c, r, vg_str_c(val), &d))
        fail_msg("%s: %s", col, d.msg);
}

/* An AlertInfo row; rule NULL: "rule-" + title. */
static void alert(fx *f, const char *id, int64_t ts_ms, const char *title, const char *sev,
                  const char *tactics, const char *source, const char *rule)
{
    uint32_t r = (uint32_t)vg_batch_add_row(&f->info);
    vg_batch_set_i64(&f->info, f->info.table->ts_col, r, ts_ms * VG_TICKS_PER_MS);
    setcol(&f->info, r, "AlertId", id);
    setcol(&f->info, r, "Title", title);
    setcol(&f->info, r, "Severity", sev);
    setcol(&f->info, r, "Category", "Execution");
    setcol(&f->info, r, "ServiceSource", source ? source : "Vigil Endpoint");
    setcol(&f->info, r, "DetectionSource", "Sigma");
    setcol(&f->info, r, "AttackTechniques", "[\"T1059.001\"]");
    setcol(&f->info, r, "RuleId", rule ? rule : "rule-x");
    setcol(&f->info, r, "Tactics", tactics ? tactics : "Execution");
}

/* An AlertEvidence row: column/value pairs, NULL-terminated. */
static void ev(fx *f, const char *id, const char *type, const char *role, ...)
{
    uint32_t r = (uint32_t)vg_batch_add_row(&f->ev);
    setcol(&f->ev, r, "AlertId", id);
    setcol(&f->ev, r, "EntityType", type);
    setcol(&f->ev, r, "EvidenceRole", role);
    va_list ap;
    va_start(ap, role);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        setcol(&f->ev, r, k, v);
    }
    va_end(ap);
}

static vg_inc_add_result add(fx *f)
{
    const vg_batch *v[2] = { &f->ev, &f->info };
    vg_inc_add_result r;
    vg_diag d = { { 0 } };
    vg_err e = vg_inc_add(f->inc, v, 2, &r, &d);
    if (e)
        fail_msg("vg_inc_add: %s: %s", vg_strerror(e), d.msg);
    vg_batch_reset(&f->info);
    vg_batch_reset(&f->ev);
    return r;
}

/* A one-alert call on a device. */
static vg_inc_add_result on_device(fx *f, const char *id, int64_t ts, const char *dev)
{
    alert(f, id, ts, "Suspicious PowerShell", "Medium", NULL, NULL, NULL);
    ev(f, id, "Machine", "Impacted", "DeviceId", dev, "DeviceName", dev, NULL);
    return add(f);
}

static int64_t q_int(fx *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(f->inc->db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(f->inc->db));
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static char *q_text(fx *f, const char *fmt, ...)
{
    static char out[1024];
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(f->inc->db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(f->inc->db));
    out[0] = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

static void exec(fx *f, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(f->inc->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int64_t inc_of(fx *f, const char *alert_id)
{
    return q_int(f, "SELECT incident_id FROM alerts WHERE id='%s'", alert_id);
}

/* ---- tests ---- */

static void test_new_incident(void **state)
{
    fx *f = *state;
    vg_inc_add_result r = on_device(f, "a1", T0, "dev-1");
    assert_int_equal(r.alerts, 1);
    assert_int_equal(r.created, 1);
    assert_int_equal(r.joined, 0);
    int64_t id = inc_of(f, "a1");
    assert_true(id > 0);
    assert_string_equal(q_text(f, "SELECT status FROM incidents WHERE id=%lld", (long long)id),
                        "active");
    assert_string_equal(q_text(f, "SELECT display_name FROM incidents WHERE id=%lld", (long long)id),
                        "Suspicious PowerShell on one endpoint");
    assert_string_equal(q_text(f, "SELECT severity FROM alerts WHERE id='a1'"), "medium");
    assert_int_equal(q_int(f, "SELECT alert_count FROM incidents WHERE id=%lld", (long long)id), 1);
    assert_int_equal(q_int(f, "SELECT first_activity FROM incidents WHERE id=%lld", (long long)id),
                     T0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM audit WHERE action='incident.create' AND "
                              "actor='vigil-correlation' AND object_id='%lld'", (long long)id), 1);
    /* the evidence is Graph's shape */
    char *evj = q_text(f, "SELECT evidence FROM alerts WHERE id='a1'");
    assert_non_null(strstr(evj, "\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\""));
    assert_non_null(strstr(evj, "\"mdeDeviceId\":\"dev-1\""));
    assert_non_null(strstr(evj, "\"roles\":[\"compromised\"]"));
    assert_string_equal(q_text(f, "SELECT tactics FROM alerts WHERE id='a1'"), "[\"Execution\"]");
}

static void test_join_device(void **state)
{
    fx *f = *state;
    on_device(f, "a1", T0, "dev-1");
    vg_inc_add_result r = on_device(f, "a2", T0 + HOUR, "DEV-1");
    assert_int_equal(r.joined, 1);
    assert_int_equal(r.created, 0);
    assert_int_equal(inc_of(f, "a1"), inc_of(f, "a2"));
    on_device(f, "a3", T0 + HOUR, "dev-2");
    assert_int_not_equal(inc_of(f, "a1"), inc_of(f, "a3"));
    assert_int_equal(q_int(f, "SELECT alert_count FROM incidents WHERE id=%lld",
                           (long long)inc_of(f, "a1")), 2);
}

static void test_join_account_sid_upn(void **state)
{
    fx *f = *state;
    alert(f, "a1", T0, "Logon", "Low", NULL, "Vigil Identity", NULL);
    ev(f, "a1", "User", "Impacted", "AccountSid", "S-1-5-21-1-2-3-1104", "AccountUpn",
       "alice@contoso.com", "AccountName", "alice", "AccountDomain", "CONTOSO", NULL);
    add(f);
    alert(f, "a2", T0 + 1000, "Logon", "Low", NULL, NULL, NULL);
    ev(f, "a2", "User", "Impacted", "AccountUpn", "Alice@Contoso.com", NULL);
    alert(f, "a3", T0 + 2000, "Logon", "Low", NULL, NULL, NULL);
    ev(f, "a3", "User", "Impacted", "AccountSid", "s-1-5-21-1-2-3-1104", NULL);
    alert(f, "a4", T0 + 3000, "Logon", "Low", NULL, NULL, NULL);
    ev(f, "a4", "User", "Impacted", "AccountName", "ALICE", "AccountDomain", "contoso", NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.joined, 3);
    assert_int_equal(inc_of(f, "a1"), inc_of(f, "a2"));
    assert_int_equal(inc_of(f, "a1"), inc_of(f, "a3"));
    assert_int_equal(inc_of(f, "a1"), inc_of(f, "a4"));
    assert_string_equal(q_text(f, "SELECT users FROM incidents WHERE id=%lld",
                               (long long)inc_of(f, "a1")), "[\"alice@contoso.com\"]");
    assert_string_equal(q_text(f, "SELECT display_name FROM incidents WHERE id=%lld",
                               (long long)inc_of(f, "a1")),
                        "Execution incident involving one user "
                        "reported by multiple sources");
}

static void test_join_file_and_ip(void **state)
{
    fx *f = *state;
    const char *h = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    alert(f, "a1", T0, "Malware", "High", NULL, NULL, NULL);
    ev(f, "a1", "File", "Impacted", "SHA256", h, "FileName", "evil.exe", NULL);
    alert(f, "a3", T0, "C2", "High", NULL, NULL, NULL);
    ev(f, "a3", "Ip", "Related", "RemoteIP", "8.8.8.8", NULL);
    add(f);
    char low[80];
    for (size_t i = 0; h[i]; i++)
        low[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
    low[strlen(h)] = 0;
    alert(f, "a2", T0 + 5, "Malware", "High", NULL, NULL, NULL);
    ev(f, "a2", "File", "Impacted", "SHA256", low, "FileName", "other.exe", NULL);
    add(f);
    assert_int_equal(inc_of(f, "a1"), inc_of(f, "a2"));
    alert(f, "a4", T0 + 5, "C2", "High", NULL, NULL, NULL);
    ev(f, "a4", "Ip", "Related", "RemoteIP", "::ffff:8.8.8.8", NULL);
    add(f);
    assert_int_equal(inc_of(f, "a3"), inc_of(f, "a4"));
    assert_int_not_equal(inc_of(f, "a1"), inc_of(f, "a3"));
}

static void test_no_join_private_ip_system(void **state)
{
    fx *f = *state;
    const char *priv[] = { "10.0.0.5", "192.168.1.1", "172.16.3.4", "127.0.0.1", "169.254.1.1",
                           "100.64.0.1", "224.0.0.1", "255.255.255.255", "fe80::1", "fd00::1",
                           "::1" };
    for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++) {
        char id1[16], id2[16];
        snprintf(id1, sizeof id1, "p%zu-1", i);
        snprintf(id2, sizeof id2, "p%zu-2", i);
        alert(f, id1, T0, "Conn", "Low", NULL, NULL, NULL);
        ev(f, id1, "Ip", "Related", "RemoteIP", priv[i], NULL);
        alert(f, id2, T0 + 1, "Conn", "Low", NULL, NULL, NULL);
        ev(f, id2, "Ip", "Related", "RemoteIP", priv[i], NULL);
        vg_inc_add_result r = add(f);
        assert_int_equal(r.created, 2);
        assert_int_not_equal(inc_of(f, id1), inc_of(f, id2));
    }
    alert(f, "s1", T0, "Svc", "Low", NULL, NULL, NULL);
    ev(f, "s1", "User", "Impacted", "AccountName", "SYSTEM", "AccountDomain", "NT AUTHORITY",
       "AccountSid", "S-1-5-18", NULL);
    alert(f, "s2", T0 + 1, "Svc", "Low", NULL, NULL, NULL);
    ev(f, "s2", "User", "Impacted", "AccountName", "system", "AccountDomain", "nt authority", NULL);
    alert(f, "s3", T0 + 2, "Svc", "Low", NULL, NULL, NULL);
    ev(f, "s3", "User", "Impacted", "AccountName", "NETWORK SERVICE", "AccountSid", "S-1-5-20", NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.created, 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM incident_entities WHERE kind='account'"), 0);
}

static void test_window(void **state)
{
    fx *f = *state;
    on_device(f, "a1", T0, "dev-1");
    vg_inc_add_result r = on_device(f, "a2", T0 + 23 * HOUR, "dev-1");
    assert_int_equal(r.joined, 1);
    r = on_device(f, "a3", T0 + 23 * HOUR + 25 * HOUR, "dev-1");
    assert_int_equal(r.created, 1);
    assert_int_not_equal(inc_of(f, "a1"), inc_of(f, "a3"));
}

static void test_merge(void **state)
{
    fx *f = *state;
    on_device(f, "a1", T0, "dev-1");
    on_device(f, "a1b", T0 + 10, "dev-1");
    on_device(f, "a2", T0 + 20, "dev-2");
    int64_t big = inc_of(f, "a1"), small = inc_of(f, "a2");
    assert_int_not_equal(big, small);
    int64_t v_big = q_int(f, "SELECT version FROM incidents WHERE id=%lld", (long long)big);
    int64_t v_small = q_int(f, "SELECT version FROM incidents WHERE id=%lld", (long long)small);
    alert(f, "bridge", T0 + 30, "Lateral movement", "High", "Lateral Movement", NULL, NULL);
    ev(f, "bridge", "Machine", "Impacted", "DeviceId", "dev-1", NULL);
    ev(f, "bridge", "Machine", "Related", "DeviceId", "dev-2", NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.merged, 1);
    assert_int_equal(r.joined, 1);
    assert_int_equal(inc_of(f, "bridge"), big);
    assert_int_equal(inc_of(f, "a2"), big);
    assert_string_equal(q_text(f, "SELECT status FROM incidents WHERE id=%lld", (long long)small),
                        "redirected");
    assert_int_equal(q_int(f, "SELECT redirect_id FROM incidents WHERE id=%lld", (long long)small),
                     big);
    assert_string_equal(q_text(f, "SELECT system_tags FROM incidents WHERE id=%lld",
                               (long long)small), "[\"Redirected\"]");
    assert_int_equal(q_int(f, "SELECT version FROM incidents WHERE id=%lld", (long long)big),
                     v_big + 1);
    assert_int_equal(q_int(f, "SELECT version FROM incidents WHERE id=%lld", (long long)small),
                     v_small + 1);
    assert_int_equal(q_int(f, "SELECT alert_count FROM incidents WHERE id=%lld", (long long)big), 4);
    assert_int_equal(q_int(f, "SELECT count(*) FROM incident_entities WHERE incident_id=%lld AND "
                              "value='dev-2'", (long long)big), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM audit WHERE action='incident.merge' AND "
                              "detail LIKE '{\"source\":%lld,\"target\":%lld,%%'",
                           (long long)small, (long long)big), 1);
    assert_string_equal(q_text(f, "SELECT severity FROM incidents WHERE id=%lld", (long long)big),
                        "high");
    /* the redirected incident is no longer a candidate */
    on_device(f, "later", T0 + 40, "dev-2");
    assert_int_equal(inc_of(f, "later"), big);
    vg_inc_stats st;
    vg_inc_get_stats(f->inc, &st);
    assert_int_equal(st.incidents_open, 1);
    assert_int_equal(st.merged_total, 1);
}

/* Two incidents on dev-1 and dev-2, the second changed by `set`; then a bridge. */
static vg_inc_add_result bridge_after(fx *f, const char *set, int64_t *i1, int64_t *i2)
{
    on_device(f, "a1", T0, "dev-1");
    on_device(f, "a2", T0 + 10, "dev-2");
    *i1 = inc_of(f, "a1");
    *i2 = inc_of(f, "a2");
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE incidents SET %s WHERE id=%lld", set, (long long)*i2);
    exec(f, sql);
    inc_engine_incident_changed(f->inc, *i2);
    alert(f, "bridge", T0 + 30, "Bridge", "High", NULL, NULL, NULL);
    ev(f, "bridge", "Machine", "Impacted", "DeviceId", "dev-1", NULL);
    ev(f, "bridge", "Machine", "Related", "DeviceId", "dev-2", NULL);
    return add(f);
}

static void test_no_merge_assigned(void **state)
{
    fx *f = *state;
    int64_t i1, i2;
    on_device(f, "x0", T0, "dev-1");   /* i1 gets more alerts, so it is the target */
    exec(f, "UPDATE incidents SET assigned_to='bob'");
    vg_inc_add_result r = bridge_after(f, "assigned_to='carol'",
                                       &i1, &i2);
    assert_int_equal(r.merged, 0);
    assert_int_equal(r.not_merged, 1);
    assert_string_equal(q_text(f, "SELECT status FROM incidents WHERE id=%lld", (long long)i2),
                        "active");
    assert_int_equal(inc_of(f, "bridge"), i1);
}

static void test_no_merge_classified(void **state)
{
    fx *f = *state;
    int64_t i1, i2;
    vg_inc_add_result r = bridge_after(
        f, "classification='truePositive'", &i1, &i2);
    assert_int_equal(r.merged, 0);
    assert_int_equal(r.not_merged, 1);
    assert_string_equal(q_text(f, "SELECT status FROM incidents WHERE id=%lld", (long long)i2),
                        "active");
}

static void test_no_merge_resolved(void **state)
{
    fx *f = *state;
    int64_t i1, i2;
    vg_inc_add_result r =
        bridge_after(f, "status='resolved'", &i1, &i2);
    assert_int_equal(r.merged, 0);
    assert_int_equal(inc_of(f, "bridge"), i1);
    assert_string_equal(q_text(f, "SELECT status FROM incidents WHERE id=%lld", (long long)i2),
                        "resolved");
    assert_int_equal(q_int(f, "SELECT alert_count FROM incidents WHERE id=%lld", (long long)i2), 1);
    /* and a later alert on dev-2 alone joins the open incident holding it now */
    on_device(f, "a3", T0 + 40, "dev-2");
    assert_int_equal(inc_of(f, "a3"), i1);
}

/* A DLL every device loads, flagged on each: with max_key_devices 3 it
 * glues the first 3 devices' alerts, then is common and glues nothing more;
 * without the guard, everything ends in one incident. Reopening rebuilds
 * the counts from the alerts of the window. */
static void prevalence_run(fx *f, int ndev, int64_t t0)
{
    char id[48], dev[48], upn[64];
    for (int i = 0; i < ndev; i++) {
        snprintf(id, sizeof id, "p%lld-%d", (long long)t0, i);
        snprintf(dev, sizeof dev, "ws%02d-%lld", i, (long long)t0);
        snprintf(upn, sizeof upn, "u%d-%lld@contoso.com", i, (long long)t0);
        alert(f, id, t0 + i, "VBA DLL loaded", "Low", "Execution", NULL, NULL);
        ev(f, id, "Machine", "Impacted", "DeviceId", dev, "DeviceName", dev, NULL);
        ev(f, id, "User", "Related", "AccountUpn", upn, NULL);
        ev(f, id, "File", "Related", "SHA1", "38a7ba799504e2638f9854f2bbbef043a204e9f1",
           "FileName", "VBE7.DLL", NULL);
        add(f);
    }
}

static void test_common_artifact(void **state)
{
    fx *f = *state;
    vg_inc_close(f->inc);
    f->o.max_key_devices = 3;
    fx_open(f);
    /* recent alerts: the counts rebuilt at open come from the last window */
    int64_t now = vg_state_now_ms() - HOUR;
    prevalence_run(f, 8, now);
    /* devices 0-2 share one incident; 3..7 each their own */
    assert_int_equal(q_int(f, "SELECT count(DISTINCT incident_id) FROM alerts"), 6);
    assert_int_equal(q_int(f, "SELECT max(alert_count) FROM incidents"), 3);
    /* the hash is still recorded on every incident */
    assert_int_equal(q_int(f, "SELECT count(DISTINCT incident_id) FROM incident_entities "
                              "WHERE kind='file'"), 6);
    /* reopened: the hash is known to be common (from the window's alerts) */
    vg_inc_close(f->inc);
    fx_open(f);
    char id[24];
    snprintf(id, sizeof id, "late");
    alert(f, id, now + 100, "VBA DLL loaded", "Low", "Execution", NULL, NULL);
    ev(f, id, "Machine", "Impacted", "DeviceId", "ws99", NULL);
    ev(f, id, "File", "Related", "SHA1", "38a7ba799504e2638f9854f2bbbef043a204e9f1", NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.created, 1);
    /* the guard off: the same artifact glues all of them */
    vg_inc_close(f->inc);
    f->o.max_key_devices = 0;
    fx_open(f);
    prevalence_run(f, 8, now + 1000);
    assert_int_equal(q_int(f, "SELECT count(DISTINCT incident_id) FROM alerts "
                              "WHERE id LIKE 'p%lld-%%'", (long long)(now + 1000)), 1);
}

static void test_entity_limit(void **state)
{
    fx *f = *state;
    vg_inc_close(f->inc);
    f->o.max_entities = 5;
    fx_open(f);
    /* a domain controller in every alert, each with a different user */
    char id[16], upn[32];
    int64_t first = 0;
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "dc%d", i);
        snprintf(upn, sizeof upn, "user%d@contoso.com", i);
        alert(f, id, T0 + i, "Kerberoasting", "Medium", "Credential Access", NULL, NULL);
        ev(f, id, "Machine", "Impacted", "DeviceName", "dc01.contoso.com", NULL);
        ev(f, id, "User", "Impacted", "AccountUpn", upn, NULL);
        vg_inc_add_result r = add(f);
        if (i == 0)
            first = inc_of(f, id);
        if (i < 4) {
            assert_int_equal(inc_of(f, id), first);
        } else {
            /* full: a new incident for dc4; dc5 joins that one, and the
             * full incident is refused each time */
            assert_int_equal(r.created, i == 4 ? 1 : 0);
            assert_int_equal(r.not_merged, 1);
            assert_int_not_equal(inc_of(f, id), first);
        }
    }
    assert_int_equal(q_int(f, "SELECT entity_count FROM incidents WHERE id=%lld", (long long)first),
                     5);
    assert_int_equal(inc_of(f, "dc4"), inc_of(f, "dc5"));
}

static void test_severity_and_names(void **state)
{
    fx *f = *state;
    alert(f, "n1", T0, "Phish delivered", "Low", "Initial Access", "Vigil Email", NULL);
    ev(f, "n1", "User", "Impacted", "AccountUpn", "bob@contoso.com", NULL);
    ev(f, "n1", "Mailbox", "Impacted", "AccountUpn", "bob@contoso.com", NULL);
    add(f);
    int64_t id = inc_of(f, "n1");
    assert_string_equal(q_text(f, "SELECT display_name FROM incidents WHERE id=%lld", (long long)id),
                        "Phish delivered involving one user");
    alert(f, "n2", T0 + 1, "Encoded PowerShell", "Medium", "Execution", NULL, NULL);
    ev(f, "n2", "User", "Impacted", "AccountUpn", "bob@contoso.com", NULL);
    ev(f, "n2", "Machine", "Impacted", "DeviceName", "ws1", NULL);
    alert(f, "n3", T0 + 2, "LSASS dump", "High", "CredentialAccess", NULL, NULL);
    ev(f, "n3", "User", "Impacted", "AccountUpn", "bob@contoso.com", NULL);
    ev(f, "n3", "Machine", "Impacted", "DeviceName", "ws2", NULL);
    alert(f, "n4", T0 + 3, "Remote logon", "Informational", "lateral_movement", NULL, NULL);
    ev(f, "n4", "User", "Impacted", "AccountUpn", "bob@contoso.com", NULL);
    ev(f, "n4", "Machine", "Impacted", "DeviceName", "ws3", NULL);
    add(f);
    assert_int_equal(inc_of(f, "n4"), id);
    assert_string_equal(q_text(f, "SELECT severity FROM incidents WHERE id=%lld", (long long)id),
                        "high");
    assert_string_equal(q_text(f, "SELECT display_name FROM incidents WHERE id=%lld", (long long)id),
                        "Multi-stage incident involving Initial access & Execution on 3 endpoints "
                        "reported by multiple sources");
    assert_string_equal(q_text(f, "SELECT tactics FROM incidents WHERE id=%lld", (long long)id),
                        "[\"InitialAccess\",\"Execution\",\"CredentialAccess\","
                        "\"LateralMovement\"]");
    assert_string_equal(q_text(f, "SELECT mailboxes FROM incidents WHERE id=%lld", (long long)id),
                        "[\"bob@contoso.com\"]");
    assert_string_equal(q_text(f, "SELECT techniques FROM incidents WHERE id=%lld", (long long)id),
                        "[\"T1059.001\"]");
    /* a user's severity is kept */
    exec(f, "UPDATE incidents SET severity='low', severity_manual=1");
    alert(f, "n5", T0 + 4, "More", "High", NULL, NULL, NULL);
    ev(f, "n5", "Machine", "Impacted", "DeviceName", "ws1", NULL);
    add(f);
    assert_string_equal(q_text(f, "SELECT severity FROM incidents WHERE id=%lld", (long long)id),
                        "low");
}

static void test_duplicates(void **state)
{
    fx *f = *state;
    on_device(f, "a1", T0, "dev-1");
    alert(f, "a1", T0, "Again", "High", NULL, NULL, NULL);
    alert(f, "a2", T0, "New", "High", NULL, NULL, NULL);
    alert(f, "a2", T0, "New twice in one call", "High", NULL, NULL, NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.duplicates, 2);
    assert_int_equal(r.alerts, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM alerts"), 2);
    assert_true(vg_inc_has_alert(f->inc, vg_str_c("a2")));
    assert_false(vg_inc_has_alert(f->inc, vg_str_c("zz")));
}

static void test_suppression(void **state)
{
    fx *f = *state;
    exec(f, "INSERT INTO suppressions(name, rule_id, conditions, created_by, created, updated)"
            " VALUES('noisy', 'rule-1', '[{\"kind\":\"device\",\"value\":\"WS*\"}]', 't', 0, 0)");
    inc_engine_suppressions_changed(f->inc);
    alert(f, "s1", T0, "Noisy", "Low", NULL, NULL, "rule-1");
    ev(f, "s1", "Machine", "Impacted", "DeviceName", "ws9.contoso.com", NULL);
    alert(f, "s2", T0, "Noisy", "Low", NULL, NULL, "rule-1");
    ev(f, "s2", "Machine", "Impacted", "DeviceName", "srv1", NULL);
    alert(f, "s3", T0, "Other rule", "Low", NULL, NULL, "rule-2");
    ev(f, "s3", "Machine", "Impacted", "DeviceName", "ws9.contoso.com", NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.suppressed, 1);
    assert_int_equal(r.alerts, 2);
    assert_string_equal(q_text(f, "SELECT status FROM alerts WHERE id='s1'"), "resolved");
    assert_int_equal(inc_of(f, "s1"), 0);
    assert_int_equal(q_int(f, "SELECT suppressed_by FROM alerts WHERE id='s1'"),
                     q_int(f, "SELECT id FROM suppressions"));
    assert_int_equal(q_int(f, "SELECT hits FROM suppressions"), 1);
    assert_true(inc_of(f, "s3") > 0);
    /* a disabled rule no longer matches once the engine is told */
    exec(f, "UPDATE suppressions SET enabled=0");
    inc_engine_suppressions_changed(f->inc);
    alert(f, "s4", T0, "Noisy", "Low", NULL, NULL, "rule-1");
    ev(f, "s4", "Machine", "Impacted", "DeviceName", "ws9.contoso.com", NULL);
    r = add(f);
    assert_int_equal(r.suppressed, 0);
    assert_int_equal(inc_of(f, "s4"), inc_of(f, "s3"));
}

static void test_persistence(void **state)
{
    fx *f = *state;
    on_device(f, "a1", T0, "dev-1");
    on_device(f, "a2", T0, "dev-2");
    int64_t id = inc_of(f, "a1");
    vg_inc_close(f->inc);
    fx_open(f);
    vg_inc_stats st;
    vg_inc_get_stats(f->inc, &st);
    assert_int_equal(st.incidents_open, 2);
    vg_inc_add_result r = on_device(f, "a3", T0 + HOUR, "dev-1");
    assert_int_equal(r.joined, 1);
    assert_int_equal(inc_of(f, "a3"), id);
    assert_int_equal(q_int(f, "SELECT alert_count FROM incidents WHERE id=%lld", (long long)id), 2);
}

static void test_process_and_url(void **state)
{
    fx *f = *state;
    const char *row = "{\"Table\":\"DeviceProcessEvents\",\"Row\":{\"DeviceId\":\"d9\","
                      "\"ProcessId\":4242,\"ProcessCreationTime\":\"2026-01-01T00:00:00Z\"}}";
    alert(f, "p1", T0, "Proc", "Medium", NULL, NULL, NULL);
    ev(f, "p1", "Process", "Impacted", "FileName", "rundll32.exe", "AdditionalFields", row, NULL);
    alert(f, "u1", T0, "Click", "Medium", NULL, "Vigil Email", NULL);
    ev(f, "u1", "Url", "Related", "RemoteUrl", "https://Evil.example.com/a?b=1", NULL);
    add(f);
    assert_int_equal(q_int(f, "SELECT count(*) FROM alert_entities WHERE alert_id='p1' AND "
                              "kind='process' AND value='d9|4242|2026-01-01t00:00:00z'"), 1);
    alert(f, "p2", T0 + 1, "Proc 2", "Medium", NULL, NULL, NULL);
    ev(f, "p2", "Process", "Impacted", "FileName", "rundll32.exe", "AdditionalFields", row, NULL);
    alert(f, "u2", T0 + 1, "Domain", "Medium", NULL, NULL, NULL);
    ev(f, "u2", "Url", "Related", "RemoteUrl", "evil.example.com", NULL);
    vg_inc_add_result r = add(f);
    assert_int_equal(r.joined, 2);
    assert_int_equal(inc_of(f, "p1"), inc_of(f, "p2"));
    assert_int_equal(inc_of(f, "u1"), inc_of(f, "u2"));
    char *evj = q_text(f, "SELECT evidence FROM alerts WHERE id='p1'");
    assert_non_null(strstr(evj, "\"processId\":4242"));
    assert_non_null(strstr(evj, "\"imageFile\":{\"fileName\":\"rundll32.exe\""));
}

static void test_stats(void **state)
{
    fx *f = *state;
    on_device(f, "a1", T0, "dev-1");
    on_device(f, "a2", T0, "dev-1");
    on_device(f, "a2", T0, "dev-1");
    on_device(f, "a3", T0, "dev-3");
    vg_inc_stats st;
    vg_inc_get_stats(f->inc, &st);
    assert_int_equal(st.alerts_total, 3);
    assert_int_equal(st.duplicates_total, 1);
    assert_int_equal(st.incidents_created_total, 2);
    assert_int_equal(st.joined_total, 1);
    assert_int_equal(st.incidents_open, 2);
    assert_int_equal(st.add_calls, 4);
    assert_true(st.add_ns_total > 0);
}

static void test_bad_input(void **state)
{
    fx *f = *state;
    uint32_t r = (uint32_t)vg_batch_add_row(&f->info);
    setcol(&f->info, r, "AlertId", "no-time");
    const vg_batch *v[1] = { &f->info };
    vg_diag d = { { 0 } };
    vg_err e = vg_inc_add(f->inc, v, 1, NULL, &d);
    assert_int_equal(e, VG_EINVAL);
    assert_non_null(strstr(d.msg, "no Timestamp"));
    vg_batch_reset(&f->info);
    /* the failed call left nothing behind, and the engine still works */
    assert_int_equal(q_int(f, "SELECT count(*) FROM alerts"), 0);
    on_device(f, "a1", T0, "dev-1");
    assert_true(inc_of(f, "a1") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_incident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_account_sid_upn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_file_and_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_join_private_ip_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_merge_assigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_merge_classified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_merge_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entity_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_severity_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_common_artifact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suppression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_and_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
