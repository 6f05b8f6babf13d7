/*
 * test_custom.c - custom detection rules (src/detect/custom_*.c) and the KQL
 * time window they run with:
 *   - validation: every rejection a rule can get, each with its message
 *     (missing ReportId / entity column / Timestamp, bad KQL with its
 *     line:column, NRT with a join or over a non-NRT table, an impacted
 *     asset the query does not return, bad period, severity, category,
 *     technique, identifier); a good rule's shape (columns, single table);
 *   - impactedAsset identifiers -> columns;
 *   - AlertIds: deterministic, "cd" + 32 hex, different for different rows;
 *   - due runs: first run, catch-up, the lookback/period bound and the
 *     count of skipped runs, nothing due before a period has passed;
 *   - vg_kql_opts time_min/time_max: rows outside the window are not seen,
 *     in the store's tail and in sealed segments;
 *   - vg_cd_run: alerts for rows in the window only, known hits skipped,
 *     100 alerts at most with the rest counted as dropped, AlertInfo and
 *     AlertEvidence columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "detect/vg_custom.h"
#include "kql/vg_kql.h"
#include "store/store_int.h"
#include "store/vg_store.h"

#define H_MS 3600000LL
#define T0_MS 1730000000000LL          /* 2024-10-27T03:33:20Z */
#define MS_TICKS 10000LL

static char dir[64];
static vg_store *store;

/* ---- fixtures ---- */

/* n DeviceProcessEvents rows at T0 + offset_ms[i] (device "ws<i % 3>"). */
static void add_rows(const int64_t *offset_ms, uint32_t n, uint32_t first)
{
    const vg_table_def *t = vg_schema_table(vg_str_c("DeviceProcessEvents"));
    assert_non_null(t);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, VG_BATCH_ROWS, NULL, false), VG_OK);
    vg_diag d;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)vg_batch_add_row(&b);
        vg_batch_set_i64(&b, t->ts_col, r, (T0_MS + offset_ms[i]) * MS_TICKS);
        char v[64];
        snprintf(v, sizeof v, "ws%u", (first + i) % 3);
        assert_int_equal(vg_batch_set_text(&b, vg_schema_col(t, vg_str_c("DeviceName")), r,
                                           vg_str_c(v), &d), VG_OK);
        snprintf(v, sizeof v, "dev-%u", (first + i) % 3);
        assert_int_equal(vg_batch_set_text(&b, vg_schema_col(t, vg_str_c("DeviceId")), r,
                                           vg_str_c(v), &d), VG_OK);
        snprintf(v, sizeof v, "%u", first + i);
        assert_int_equal(vg_batch_set_text(&b, vg_schema_col(t, vg_str_c("ReportId")), r,
                                           vg_str_c(v), &d), VG_OK);
        assert_int_equal(vg_batch_set_text(&b, vg_schema_col(t, vg_str_c("FileName")), r,
                                           vg_str_c("powershell.exe"), &d), VG_OK);
        assert_int_equal(vg_batch_set_text(&b, vg_schema_col(t, vg_str_c("AccountUpn")), r,
                                           vg_str_c("alice@contoso.com"), &d), VG_OK);
    }
    vg_batch *v[1] = { &b };
    assert_int_equal(vg_store_append(store, v, 1, &d), VG_OK);
    vg_batch_free(&b);
}

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/vg-custom-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    vg_store_opts o = { .dir = dir, .no_fsync = true };
    vg_diag d;
    return vg_store_open(&o, &store, &d) == VG_OK ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    vg_diag d;
    vg_store_close(store, &d);
    st_rmtree(dir, NULL);
    return 0;
}

/* A rule from a body; VG_OK when it parses and checks, else the message in d. */
static vg_err check_body(const char *body, vg_arena *a, vg_cd_shape *sh, vg_diag *d)
{
    vg_cd_rule r;
    vg_err e = vg_cd_rule_parse(a, vg_str_c(body), NULL, &r, d);
    if (!e)
        e = vg_cd_check(store, &r, a, sh, d);
    return e;
}

static char *body(const char *query, const char *period, const char *severity,
                  const char *category, const char *assets)
{
    static char b[4096];
    snprintf(b, sizeof b,
             "{\"displayName\":\"r\",\"isEnabled\":true,\"queryCondition\":{\"queryText\":\"%s\"},"
             "\"schedule\":{\"period\":\"%s\"},\"detectionAction\":{\"alertTemplate\":{"
             "\"title\":\"t\",\"severity\":\"%s\",\"category\":\"%s\","
             "\"mitreTechniques\":[\"T1059.001\"],\"impactedAssets\":[%s]}}}",
             query, period, severity, category, assets);
    return b;
}

#define DEV_ASSET "{\"@odata.type\":\"#microsoft.graph.security.impactedDeviceAsset\",\"identifier\":\"deviceId\"}"

static void expect_reject(const char *b, vg_err want, const char *text)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_cd_shape *sh = vg_arena_zalloc(&a, sizeof *sh);
    vg_diag d;
    d.msg[0] = 0;
    vg_err e = check_body(b, &a, sh, &d);
    if (e != want || !strstr(d.msg, text))
        fail_msg("want %s with '%s', got %s: %s", vg_strerror(want), text, vg_strerror(e), d.msg);
    vg_arena_free(&a);
}

/* ---- validation ---- */

static void test_validation(void **st)
{
    (void)st;
    const char *P = "DeviceProcessEvents | project Timestamp, ReportId, DeviceId, AccountUpn";
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_cd_shape *sh = vg_arena_zalloc(&a, sizeof *sh);
    vg_diag d;
    d.msg[0] = 0;
    vg_err e = check_body(body(P, "1H", "high", "Execution", DEV_ASSET), &a, sh, &d);
    if (e)
        fail_msg("good rule refused: %s", d.msg);
    assert_string_equal(sh->table, "DeviceProcessEvents");
    assert_true(sh->nrt_ok);
    assert_int_equal(sh->ncolumns, 4);
    assert_true(vg_str_eqc(sh->columns[1], "ReportId"));
    /* NRT accepted for a single NRT table */
    assert_int_equal(check_body(body(P, "0", "low", "Execution", ""), &a, sh, &d), VG_OK);
    vg_arena_free(&a);

    expect_reject(body("DeviceProcessEvents | project Timestamp, DeviceId", "1H", "high",
                       "Execution", ""), VG_EINVAL, "ReportId column");
    expect_reject(body("DeviceProcessEvents | project Timestamp, ReportId, FileName", "1H", "high",
                       "Execution", ""), VG_EINVAL, "entity column");
    expect_reject(body("DeviceProcessEvents | project ReportId, DeviceId", "1H", "high",
                       "Execution", ""), VG_EINVAL, "Timestamp column");
    expect_reject(body("DeviceProcessEvents | extend Timestamp = 1 | project Timestamp, ReportId, "
                       "DeviceId", "1H", "high", "Execution", ""), VG_EINVAL, "must be a datetime");
    expect_reject(body("DeviceProcessEvents | where", "1H", "high", "Execution", ""), VG_EPARSE,
                  "line 1, column");
    expect_reject(body("DeviceProcessEvents\\n| where NoSuchColumn == 1", "1H", "high",
                       "Execution", ""), VG_EPARSE, "line 2, column 9");
    expect_reject(body("DeviceProcessEvents | join (DeviceLogonEvents) on DeviceId | project "
                       "Timestamp, ReportId, DeviceId", "0", "high", "Execution", ""),
                  VG_EINVAL, "join");
    expect_reject(body("union DeviceProcessEvents, DeviceFileEvents | project Timestamp, ReportId, "
                       "DeviceId", "0", "high", "Execution", ""), VG_EINVAL, "union");
    expect_reject(body("DeviceTvmSoftwareVulnerabilities | extend Timestamp = now(), ReportId = 1 "
                       "| project Timestamp, ReportId, DeviceId", "0", "high", "Execution", ""),
                  VG_EINVAL, "not one near-real-time rules run over");
    expect_reject(body(P, "1H", "high", "Execution",
                       "{\"@odata.type\":\"#microsoft.graph.security.impactedMailboxAsset\","
                       "\"identifier\":\"recipientEmailAddress\"}"),
                  VG_EINVAL, "needs the column RecipientEmailAddress");
    expect_reject(body(P, "1H", "high", "Execution",
                       "{\"@odata.type\":\"#microsoft.graph.security.impactedUserAsset\","
                       "\"identifier\":\"deviceId\"}"),
                  VG_EINVAL, "belongs to #microsoft.graph.security.impactedDeviceAsset");
    expect_reject(body(P, "1H", "high", "Execution", "{\"identifier\":\"hostName\"}"), VG_EINVAL,
                  "'hostName' is not an identifier");
    expect_reject(body(P, "2H", "high", "Execution", ""), VG_EINVAL, "schedule.period: '2H'");
    expect_reject(body(P, "1H", "urgent", "Execution", ""), VG_EINVAL,
                  "severity: 'urgent' is not one of");
    expect_reject(body(P, "1H", "high", "Sneaky", ""), VG_EINVAL, "category: 'Sneaky'");
    expect_reject("{\"displayName\":\"x\",\"queryCondition\":{\"queryText\":\"T\"},"
                  "\"schedule\":{\"period\":\"1H\"},\"detectionAction\":{\"alertTemplate\":{"
                  "\"severity\":\"low\",\"category\":\"Execution\"}}}",
                  VG_EINVAL, "alertTemplate.title: missing");
    expect_reject("{\"displayName\":\"x\",\"queryCondition\":{\"queryText\":\"T\"},"
                  "\"schedule\":{\"period\":\"1H\"},\"detectionAction\":{\"alertTemplate\":{"
                  "\"title\":\"t\",\"severity\":\"low\",\"category\":\"Execution\","
                  "\"mitreTechniques\":[\"X1\"]}}}",
                  VG_EINVAL, "mitreTechniques[0]: 'X1'");
    expect_reject("[1]", VG_EINVAL, "JSON detectionRule object");
}

static void test_patch_keeps_fields(void **st)
{
    (void)st;
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_cd_rule base, r;
    vg_diag d;
    assert_int_equal(vg_cd_rule_parse(&a, vg_str_c(body("DeviceProcessEvents", "3H", "medium",
                                                        "Execution", DEV_ASSET)),
                                      NULL, &base, &d), VG_OK);
    assert_int_equal(vg_cd_rule_parse(&a, vg_str_c("{\"isEnabled\":false,\"schedule\":"
                                                   "{\"period\":\"24H\"}}"),
                                      &base, &r, &d), VG_OK);
    assert_false(r.enabled);
    assert_string_equal(r.period->name, "24H");
    assert_int_equal(r.period->lookback_ms, 30 * 24 * H_MS);
    assert_true(vg_str_eqc(r.severity, "medium"));
    assert_int_equal(r.nassets, 1);
    vg_arena_free(&a);
}

/* ---- identifiers ---- */

static void test_identifiers(void **st)
{
    (void)st;
    static const char *const pairs[][2] = {
        { "deviceId", "DeviceId" }, { "deviceName", "DeviceName" },
        { "remoteDeviceName", "RemoteDeviceName" }, { "accountSid", "AccountSid" },
        { "accountUpn", "AccountUpn" }, { "accountObjectId", "AccountObjectId" },
        { "accountName", "AccountName" }, { "accountDomain", "AccountDomain" },
        { "initiatingProcessAccountSid", "InitiatingProcessAccountSid" },
        { "initiatingProcessAccountUpn", "InitiatingProcessAccountUpn" },
        { "initiatingProcessAccountObjectId", "InitiatingProcessAccountObjectId" },
        { "recipientEmailAddress", "RecipientEmailAddress" },
        { "senderFromAddress", "SenderFromAddress" },
        { "senderMailFromAddress", "SenderMailFromAddress" },
        { "recipientObjectId", "RecipientObjectId" }, { "fileSha256", "SHA256" },
        { "fileSha1", "SHA1" }, { "remoteIp", "RemoteIP" }, { "remoteUrl", "RemoteUrl" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const vg_cd_ident *id = vg_cd_ident_find(vg_str_c(pairs[i][0]));
        assert_non_null(id);
        assert_string_equal(id->column, pairs[i][1]);
    }
    assert_int_equal(vg_cd_ident_find(vg_str_c("deviceId"))->kind, VG_CD_DEVICE);
    assert_int_equal(vg_cd_ident_find(vg_str_c("accountUpn"))->kind, VG_CD_USER);
    assert_int_equal(vg_cd_ident_find(vg_str_c("recipientEmailAddress"))->kind, VG_CD_MAILBOX);
    assert_null(vg_cd_ident_find(vg_str_c("DeviceId")));   /* Graph's spelling only */
    assert_true(vg_cd_is_entity_column(vg_str_c("InitiatingProcessAccountObjectId")));
    assert_false(vg_cd_is_entity_column(vg_str_c("FileName")));
    assert_null(vg_cd_period_find(vg_str_c("6H")));
    assert_int_equal(vg_cd_period_find(vg_str_c("12H"))->lookback_ms, 48 * H_MS);
    assert_int_equal(vg_cd_period_find(vg_str_c("3H"))->lookback_ms, 12 * H_MS);
    assert_int_equal(vg_cd_period_find(vg_str_c("1H"))->lookback_ms, 4 * H_MS);
    assert_int_equal(vg_cd_period_find(vg_str_c("0"))->period_ms, 0);
}

/* ---- AlertIds ---- */

static void test_alert_ids(void **st)
{
    (void)st;
    vg_str ents[2] = { vg_str_c("dev-1"), vg_str_c("ws1") };
    vg_cd_hit a, b, c, e, f;
    vg_cd_row_hash(7, vg_str_c("2024-10-27T03:33:20Z"), vg_str_c("42"), ents, 2, &a);
    vg_cd_row_hash(7, vg_str_c("2024-10-27T03:33:20Z"), vg_str_c("42"), ents, 2, &b);
    assert_string_equal(a.alert_id, b.alert_id);
    assert_int_equal(strlen(a.alert_id), 34);
    assert_memory_equal(a.alert_id, "cd", 2);
    assert_string_equal(a.alert_id + 2, a.hit);
    vg_cd_row_hash(8, vg_str_c("2024-10-27T03:33:20Z"), vg_str_c("42"), ents, 2, &c);
    assert_string_not_equal(a.hit, c.hit);                 /* another rule */
    vg_cd_row_hash(7, vg_str_c("2024-10-27T03:33:20Z"), vg_str_c("43"), ents, 2, &e);
    assert_string_not_equal(a.hit, e.hit);                 /* another event */
    vg_str moved[2] = { vg_str_c("dev-1w"), vg_str_c("s1") };
    vg_cd_row_hash(7, vg_str_c("2024-10-27T03:33:20Z"), vg_str_c("42"), moved, 2, &f);
    assert_string_not_equal(a.hit, f.hit);                 /* values are delimited */
}

/* ---- due runs ---- */

static void test_due(void **st)
{
    (void)st;
    int64_t out[64];
    uint32_t n;
    uint64_t skipped;
    int64_t now = T0_MS;
    /* never ran: one run now */
    vg_cd_due(0, H_MS, 4 * H_MS, now, out, 64, &n, &skipped);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], now);
    /* not yet due */
    vg_cd_due(now - H_MS + 1, H_MS, 4 * H_MS, now, out, 64, &n, &skipped);
    assert_int_equal(n, 0);
    /* exactly due */
    vg_cd_due(now - H_MS, H_MS, 4 * H_MS, now, out, 64, &n, &skipped);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], now);
    /* three missed hours: three runs in order */
    int64_t last = now - 3 * H_MS - 1000;
    vg_cd_due(last, H_MS, 4 * H_MS, now, out, 64, &n, &skipped);
    assert_int_equal(n, 3);
    assert_int_equal(skipped, 0);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(out[i], last + (int64_t)(i + 1) * H_MS);
    /* ten missed hours of a 1H rule: the newest 4 (lookback/period), 6 skipped */
    vg_cd_due(now - 10 * H_MS, H_MS, 4 * H_MS, now, out, 64, &n, &skipped);
    assert_int_equal(n, 4);
    assert_int_equal(skipped, 6);
    assert_int_equal(out[0], now - 3 * H_MS);
    assert_int_equal(out[3], now);
    /* 24H rule down 40 days: 30 runs, 10 skipped */
    vg_cd_due(now - 40 * 24 * H_MS, 24 * H_MS, 30 * 24 * H_MS, now, out, 64, &n, &skipped);
    assert_int_equal(n, 30);
    assert_int_equal(skipped, 10);
    /* the caller's array bounds it too */
    vg_cd_due(now - 40 * 24 * H_MS, 24 * H_MS, 30 * 24 * H_MS, now, out, 8, &n, &skipped);
    assert_int_equal(n, 8);
    assert_int_equal(skipped, 32);
    assert_int_equal(out[7], now);
    /* NRT is not scheduled by period */
    vg_cd_due(now - H_MS, 0, 5 * 60000, now, out, 64, &n, &skipped);
    assert_int_equal(n, 0);
}

/* ---- the KQL time window ---- */

static uint64_t count_in(int64_t min_ms, int64_t max_ms, const char *q)
{
    vg_kql_opts o = { .time_min = min_ms ? min_ms * MS_TICKS : 0,
                      .time_max = max_ms ? max_ms * MS_TICKS : 0, .threads = 1 };
    vg_kql_result *r = NULL;
    vg_diag d;
    vg_err e = vg_kql_run(store, vg_str_c(q), &o, &r, &d);
    if (e)
        fail_msg("%s: %s", q, d.msg);
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_kql_result_write(r, VG_KQL_FMT_CSV, false, &b);
    vg_buf_putc(&b, 0);
    uint64_t n = 0;
    const char *nl = strchr(b.p, '\n');
    if (nl)
        n = strtoull(nl + 1, NULL, 10);
    vg_buf_free(&b);
    vg_kql_result_free(r);
    return n;
}

static void test_kql_window(void **st)
{
    (void)st;
    /* rows at T0-5h, T0-3h, T0-1h, T0, T0+1h; then sealed into a segment */
    int64_t offs[5] = { -5 * H_MS, -3 * H_MS, -H_MS, 0, H_MS };
    add_rows(offs, 5, 1000);
    const char *q = "DeviceProcessEvents | where ReportId >= 1000 and ReportId < 1005 | count";
    assert_int_equal(count_in(0, 0, q), 5);
    assert_int_equal(count_in(T0_MS - 4 * H_MS, T0_MS, q), 3);      /* -3h, -1h, 0 */
    assert_int_equal(count_in(T0_MS - 3 * H_MS, T0_MS - 1, q), 2);  /* bounds inclusive */
    assert_int_equal(count_in(T0_MS + 1, 0, q), 1);                 /* open above */
    assert_int_equal(count_in(0, T0_MS - 4 * H_MS, q), 1);          /* open below */
    /* every scan of the query, sub-queries and joins included */
    assert_int_equal(count_in(T0_MS - 4 * H_MS, T0_MS,
                              "DeviceProcessEvents | where ReportId >= 1000 and ReportId < 1005 | "
                              "join kind=inner (DeviceProcessEvents | where ReportId >= 1000) on "
                              "ReportId | count"), 3);
    vg_diag d;
    assert_int_equal(vg_store_flush(store, &d), VG_OK);   /* now from segments */
    assert_int_equal(count_in(0, 0, q), 5);
    assert_int_equal(count_in(T0_MS - 4 * H_MS, T0_MS, q), 3);
    assert_int_equal(count_in(T0_MS + 2 * H_MS, 0, q), 0);
    /* tables without a Timestamp are read whole; datatables are not scans */
    assert_int_equal(count_in(T0_MS, T0_MS, "datatable(a:long)[1, 2] | count"), 2);
}

/* ---- running ---- */

typedef struct known_set {
    char hits[256][33];
    uint32_t n;
} known_set;

static bool known(void *ctx, vg_str hit)
{
    known_set *k = ctx;
    for (uint32_t i = 0; i < k->n; i++)
        if (vg_str_eqc(hit, k->hits[i]))
            return true;
    return false;
}

static vg_cd_runspec spec(const char *q, int64_t min_ms, int64_t max_ms)
{
    vg_cd_runspec rs = { .id = 3, .query = vg_str_c(q), .title = vg_str_c("PS"),
                         .severity = vg_str_c("high"), .category = vg_str_c("Execution"),
                         .techniques_json = vg_str_c("[\"T1059.001\"]"),
                         .author = vg_str_c("tester"), .table = "DeviceProcessEvents",
                         .nimpacted = 1, .time_min_ms = min_ms, .time_max_ms = max_ms,
                         .max_rows = 100000, .timeout_ms = 60000 };
    rs.impacted[0] = vg_str_c("DeviceId");
    return rs;
}

static vg_str cell(const vg_batch *b, uint32_t r, const char *col, vg_arena *a)
{
    vg_str v = VG_STR_NULL;
    if (vg_batch_field(b, r, vg_str_c(col), a, &v))
        return VG_STR_NULL;
    return v;
}

static void test_run(void **st)
{
    (void)st;
    int64_t offs[4] = { -6 * H_MS, -2 * H_MS, -30 * 60000, 0 };
    add_rows(offs, 4, 2000);
    const char *q = "DeviceProcessEvents | where ReportId between (2000 .. 2999) "
                    "| project Timestamp, ReportId, DeviceId, DeviceName, AccountUpn, FileName";
    vg_cd_runspec rs = spec(q, T0_MS - 4 * H_MS, T0_MS);
    vg_cd_outcome o;
    vg_diag d;
    known_set ks = { .n = 0 };
    vg_err e = vg_cd_run(store, &rs, known, &ks, &o, &d);
    if (e)
        fail_msg("run: %s", d.msg);
    assert_int_equal(o.rows, 3);              /* the -6h row is outside the 4h lookback */
    assert_int_equal(o.alerts, 3);
    assert_false(o.truncated);
    assert_int_equal(o.info.nrows, 3);
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    assert_true(vg_str_eqc(cell(&o.info, 0, "DetectionSource", &a), "Custom detection"));
    assert_true(vg_str_eqc(cell(&o.info, 0, "Severity", &a), "High"));
    assert_true(vg_str_eqc(cell(&o.info, 0, "RuleId", &a), "custom:3"));
    assert_true(vg_str_eqc(cell(&o.info, 0, "ServiceSource", &a), "Vigil Endpoint"));
    assert_true(vg_str_eqc(cell(&o.info, 0, "Category", &a), "Execution"));
    assert_true(vg_str_eqc(cell(&o.info, 0, "AlertId", &a), o.hits[0].alert_id));
    assert_non_null(strstr(cell(&o.info, 0, "AttackTechniques", &a).p, "T1059.001"));
    /* evidence: a Machine (Impacted: DeviceId is the impacted asset) and a User (Related) */
    uint32_t machines = 0, users = 0;
    for (uint32_t r = 0; r < o.evidence.nrows; r++) {
        vg_str ty = cell(&o.evidence, r, "EntityType", &a);
        vg_str role = cell(&o.evidence, r, "EvidenceRole", &a);
        if (vg_str_eqc(ty, "Machine")) {
            machines++;
            assert_true(vg_str_eqc(role, "Impacted"));
            assert_true(vg_str_starts_ci(cell(&o.evidence, r, "DeviceId", &a), vg_str_c("dev-")));
        } else if (vg_str_eqc(ty, "User")) {
            users++;
            assert_true(vg_str_eqc(role, "Related"));
            assert_true(vg_str_eqc(cell(&o.evidence, r, "AccountUpn", &a), "alice@contoso.com"));
        }
    }
    assert_int_equal(machines, 3);
    assert_int_equal(users, 3);
    assert_non_null(strstr(cell(&o.evidence, 0, "AdditionalFields", &a).p, "\"ReportId\""));
    /* the same run again, its hits known: nothing new */
    for (uint32_t i = 0; i < o.alerts; i++)
        memcpy(ks.hits[ks.n++], o.hits[i].hit, 33);
    char first[35];
    memcpy(first, o.hits[0].alert_id, sizeof first);
    vg_cd_outcome_free(&o);
    assert_int_equal(vg_cd_run(store, &rs, known, &ks, &o, &d), VG_OK);
    assert_int_equal(o.rows, 3);
    assert_int_equal(o.alerts, 0);
    assert_int_equal(o.known, 3);
    vg_cd_outcome_free(&o);
    /* without the hits the AlertIds come out the same (deterministic) */
    assert_int_equal(vg_cd_run(store, &rs, NULL, NULL, &o, &d), VG_OK);
    assert_string_equal(o.hits[0].alert_id, first);
    vg_cd_outcome_free(&o);
    /* a wider window (a later run) finds only what is new */
    vg_cd_runspec wide = spec(q, T0_MS - 8 * H_MS, T0_MS);
    assert_int_equal(vg_cd_run(store, &wide, known, &ks, &o, &d), VG_OK);
    assert_int_equal(o.alerts, 1);
    vg_cd_outcome_free(&o);
    vg_arena_free(&a);
    /* a bad query is an error with its position */
    vg_cd_runspec bad = spec("DeviceProcessEvents | where Nope == 1", T0_MS - H_MS, T0_MS);
    assert_int_not_equal(vg_cd_run(store, &bad, NULL, NULL, &o, &d), VG_OK);
    assert_non_null(strstr(d.msg, "line 1"));
    vg_cd_outcome_free(&o);
}

static void test_run_cap(void **st)
{
    (void)st;
    int64_t offs[150];
    for (int i = 0; i < 150; i++)
        offs[i] = -(int64_t)i * 1000;
    add_rows(offs, 150, 5000);
    vg_cd_runspec rs = spec("DeviceProcessEvents | where ReportId between (5000 .. 5999) "
                            "| project Timestamp, ReportId, DeviceId",
                            T0_MS - H_MS, T0_MS);
    vg_cd_outcome o;
    vg_diag d;
    assert_int_equal(vg_cd_run(store, &rs, NULL, NULL, &o, &d), VG_OK);
    assert_int_equal(o.rows, 150);
    assert_int_equal(o.alerts, VG_CD_MAX_ALERTS_PER_RUN);
    assert_int_equal(o.dropped, 50);
    assert_true(o.truncated);
    assert_int_equal(o.info.nrows, 100);
    vg_cd_outcome_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_patch_keeps_fields),
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_alert_ids),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_kql_window),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_run_cap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
