/*
 * test_store.c - the event store: round trips of every column type (nulls,
 * raw records) through the tail, sealing and reopening; `has` terms; day
 * partitions; pruning; retention; dead letters.
 * Recovery and fault injection are in test_store_recovery.c.
 */
#include "test_store_util.h"

#include <dirent.h>

static void test_has_term(void **state)
{
    (void)state;
    vg_str h = VG_STR_LIT("C:\\Windows\\System32\\cmd.exe /c whoami");
    assert_true(vg_has_term(h, VG_STR_LIT("cmd")));
    assert_true(vg_has_term(h, VG_STR_LIT("CMD")));
    assert_true(vg_has_term(h, VG_STR_LIT("cmd.exe")));
    assert_true(vg_has_term(h, VG_STR_LIT("windows")));
    assert_true(vg_has_term(h, VG_STR_LIT("whoami")));
    assert_true(vg_has_term(h, VG_STR_LIT("system32\\cmd")));
    assert_false(vg_has_term(h, VG_STR_LIT("cm")));
    assert_false(vg_has_term(h, VG_STR_LIT("md")));
    assert_false(vg_has_term(h, VG_STR_LIT("whoam")));
    assert_false(vg_has_term(h, VG_STR_LIT("md.exe")));
    assert_false(vg_has_term(h, VG_STR_LIT("system")));
    assert_false(vg_has_term(VG_STR_LIT(""), VG_STR_LIT("a")));
    assert_true(vg_has_term(VG_STR_LIT("a"), VG_STR_LIT("A")));
    assert_true(vg_has_term(VG_STR_LIT("x-1.2.3.4:80"), VG_STR_LIT("1.2.3.4")));
    assert_false(vg_has_term(VG_STR_LIT("x-11.2.3.4:80"), VG_STR_LIT("1.2.3.4")));
    /* the bloom side: terms of a needle are a subset of the hay's terms */
    uint64_t a[8], b[8];
    size_t na = st_term_hashes(VG_STR_LIT("CMD.exe"), a, 8);
    size_t nb = st_term_hashes(VG_STR_LIT("x cmd exe"), b, 8);
    assert_int_equal(na, 2);
    assert_int_equal(nb, 3);
    assert_true(a[0] == b[1] && a[1] == b[2]);
}

static void roundtrip_table(const char *name)
{
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named(name);
    vg_store *s = open_store(dir, 4000, 1024);
    append_rows(s, t, 0, 10000, 700);
    /* 8400 rows sealed in 2 rounds (4200 each), the rest in the tail */
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.rows_total, 10000);
    assert_true(st.segments >= 2);
    assert_true(st.tail_rows > 0 && st.tail_rows < 4000);
    assert_int_equal(vg_store_table_rows(s, t), 10000);
    scan_check(s, t, 0, 10000);
    vg_diag d;
    assert_int_equal(vg_store_close(s, &d), VG_OK);
    assert_int_equal(count_files(dir, ".wal"), 0);   /* all sealed: WAL removed */
    s = open_store(dir, 4000, 1024);
    vg_store_stats_get(s, &st);
    assert_int_equal(st.tail_rows, 0);
    assert_int_equal(st.rows_total, 10000);
    scan_check(s, t, 0, 10000);
    /* projection: only some columns come back */
    bool *cols = calloc(t->ncols, 1);
    cols[1] = true;
    vg_scan_spec sp = { .table = t, .cols = cols, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan *sc;
    assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
    const vg_batch *b;
    uint64_t n = 0;
    while (vg_scan_next(sc, &b, &d) == VG_OK) {
        for (int c = 0; c < t->ncols; c++)
            assert_int_equal(vg_batch_has_col(b, c), c == 1);
        assert_false(b->has_raw);
        n += b->nrows;
    }
    assert_int_equal(n, 10000);
    vg_scan_close(sc);
    free(cols);
    assert_int_equal(vg_store_close(s, &d), VG_OK);
    tmpdir_remove(dir);
}

static void test_roundtrip_network(void **state) { (void)state; roundtrip_table("DeviceNetworkEvents"); }
static void test_roundtrip_info_bool(void **state) { (void)state; roundtrip_table("DeviceInfo"); }
static void test_roundtrip_real(void **state)
{
    (void)state;
    roundtrip_table("DeviceTvmSecureConfigurationAssessment");
}
static void test_roundtrip_dynamic(void **state) { (void)state; roundtrip_table("CloudAppEvents"); }

static void test_roundtrip_no_timestamp(void **state)
{
    (void)state;
    const vg_table_def *t = NULL;
    for (size_t i = 0; i < vg_schema_ntables && !t; i++)
        if (vg_schema_tables[i].ts_col < 0 && vg_schema_tables[i].ncols > 2)
            t = &vg_schema_tables[i];
    if (!t)
        skip();
    roundtrip_table(t->name);
    /* goes by ingest day: exactly one day directory */
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    vg_store *s = open_store(dir, 0, 0);
    append_rows(s, t, 0, 100, 100);
    vg_diag d;
    assert_int_equal(vg_store_flush(s, &d), VG_OK);
    char p[256], day[16];
    vg_day_format(vg_time_day(vg_time_now()), day, sizeof day);
    snprintf(p, sizeof p, "%s/tables/%s/%s", dir, t->name, day);
    struct stat stt;
    assert_int_equal(stat(p, &stt), 0);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

/* Rows across three days land in three partitions; a time range prunes. */
static void test_day_partitions(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    vg_store *s = open_store(dir, 0, 0);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, 300, NULL, false), VG_OK);
    for (uint32_t i = 0; i < 300; i++) {
        vg_batch_add_row(&b);
        vg_batch_set_i64(&b, t->ts_col, i, DAY0 + (int64_t)(i % 3) * VG_TICKS_PER_DAY + i);
    }
    vg_batch *bp = &b;
    vg_diag d;
    assert_int_equal(vg_store_append(s, &bp, 1, &d), VG_OK);
    assert_int_equal(vg_store_flush(s, &d), VG_OK);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.segments, 3);
    for (int k = 0; k < 3; k++) {
        char p[256], day[16];
        vg_day_format(vg_time_day(DAY0) + k, day, sizeof day);
        snprintf(p, sizeof p, "%s/tables/%s/%s", dir, t->name, day);
        assert_int_equal(count_files(p, ".seg"), 1);
    }
    vg_scan_spec sp = { .table = t, .tmin = DAY0 + VG_TICKS_PER_DAY,
                        .tmax = DAY0 + 2 * VG_TICKS_PER_DAY - 1, .exact = true };
    vg_scan *sc;
    assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
    const vg_batch *o;
    uint64_t n = 0;
    while (vg_scan_next(sc, &o, &d) == VG_OK) {
        for (uint32_t r = 0; r < o->nrows; r++)
            assert_int_equal(vg_time_day(o->cols[t->ts_col].v.i64[r]), vg_time_day(DAY0) + 1);
        n += o->nrows;
    }
    vg_scan_stats ss;
    vg_scan_get_stats(sc, &ss);
    vg_scan_close(sc);
    assert_int_equal(n, 100);
    assert_int_equal(ss.segments_total, 3);
    assert_int_equal(ss.segments_skipped, 2);
    vg_batch_free(&b);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

static uint64_t scan_count(vg_store *s, const vg_scan_spec *sp, vg_scan_stats *ss)
{
    vg_scan *sc;
    vg_diag d;
    assert_int_equal(vg_scan_open(s, sp, &sc, &d), VG_OK);
    const vg_batch *o;
    uint64_t n = 0;
    vg_err e;
    while ((e = vg_scan_next(sc, &o, &d)) == VG_OK)
        n += o->nrows;
    assert_int_equal(e, VG_EEOF);
    vg_scan_get_stats(sc, ss);
    vg_scan_close(sc);
    return n;
}

/* Pruning by time, min/max, bloom and dictionary: assert blocks skipped. */
static void test_pruning(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceNetworkEvents");
    int ip = vg_schema_col(t, VG_STR_LIT("RemoteIP"));
    int port = vg_schema_col(t, VG_STR_LIT("RemotePort"));
    int act = vg_schema_col(t, VG_STR_LIT("ActionType"));
    int cmd = vg_schema_col(t, VG_STR_LIT("InitiatingProcessCommandLine"));
    assert_true(ip >= 0 && port >= 0 && act >= 0 && cmd >= 0);
    vg_store *s = open_store(dir, 0, 1000);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, 1000, NULL, false), VG_OK);
    char buf[128];
    for (int blk = 0; blk < 10; blk++) {
        vg_batch_reset(&b);
        for (uint32_t i = 0; i < 1000; i++) {
            vg_batch_add_row(&b);
            vg_batch_set_i64(&b, t->ts_col, i, DAY0 + (blk * 1000 + (int64_t)i) * VG_TICKS_PER_SEC);
            snprintf(buf, sizeof buf, "10.0.%d.%u", blk, i % 200);
            vg_batch_set_str(&b, ip, i, vg_str_c(buf));
            vg_batch_set_i64(&b, port, i, blk * 100 + (int)(i % 50));
            snprintf(buf, sizeof buf, "Action%d", blk);   /* one value per block */
            vg_batch_set_str(&b, act, i, vg_str_c(buf));
            snprintf(buf, sizeof buf, "powershell.exe -enc blob%d_%u", blk, i);
            vg_batch_set_str(&b, cmd, i, vg_str_c(buf));
        }
        vg_batch *bp = &b;
        vg_diag d;
        assert_int_equal(vg_store_append(s, &bp, 1, &d), VG_OK);
    }
    vg_diag d;
    assert_int_equal(vg_store_flush(s, &d), VG_OK);
    vg_scan_stats ss;
    vg_scan_spec all = { .table = t, .tmin = INT64_MIN, .tmax = INT64_MAX };
    assert_int_equal(scan_count(s, &all, &ss), 10000);
    assert_int_equal(ss.blocks_total, 10);
    assert_int_equal(ss.blocks_skipped, 0);

    /* time range inside block 4 */
    vg_scan_spec tr = all;
    tr.tmin = DAY0 + 4100 * VG_TICKS_PER_SEC;
    tr.tmax = DAY0 + 4199 * VG_TICKS_PER_SEC;
    assert_int_equal(scan_count(s, &tr, &ss), 1000);
    assert_int_equal(ss.blocks_skipped, 9);
    tr.exact = true;
    assert_int_equal(scan_count(s, &tr, &ss), 100);

    /* has term: only block 7 has "blob7_12" */
    vg_scan_pred p = { .kind = VG_PRED_HAS_TERM, .col = cmd, .s = VG_STR_LIT("BLOB7_12") };
    vg_scan_spec hs = all;
    hs.preds = &p;
    hs.npreds = 1;
    uint64_t n = scan_count(s, &hs, &ss);
    assert_true(ss.blocks_skipped >= 8);   /* bloom false positives are rare */
    assert_true(n >= 1000);
    hs.exact = true;
    assert_int_equal(scan_count(s, &hs, &ss), 1);
    /* == on a dictionary column */
    p = (vg_scan_pred){ .kind = VG_PRED_STR_EQ, .col = act, .s = VG_STR_LIT("Action3") };
    hs.exact = false;
    assert_int_equal(scan_count(s, &hs, &ss), 1000);
    assert_int_equal(ss.blocks_skipped, 9);
    p.s = VG_STR_LIT("action3");
    assert_int_equal(scan_count(s, &hs, &ss), 0);   /* case-sensitive: dictionary prunes all */
    assert_int_equal(ss.blocks_skipped, 10);
    p.kind = VG_PRED_STR_EQ_CI;
    assert_int_equal(scan_count(s, &hs, &ss), 1000);
    /* == on a plain column: bloom */
    p = (vg_scan_pred){ .kind = VG_PRED_STR_EQ, .col = ip, .s = VG_STR_LIT("10.0.5.17") };
    hs.exact = true;
    assert_int_equal(scan_count(s, &hs, &ss), 5);
    assert_true(ss.blocks_skipped >= 8);
    /* int range: min/max */
    p = (vg_scan_pred){ .kind = VG_PRED_I64_RANGE, .col = port, .lo = 610, .hi = 620 };
    assert_int_equal(scan_count(s, &hs, &ss), 11 * 20);
    assert_int_equal(ss.blocks_skipped, 9);
    /* conjunction that cannot match */
    vg_scan_pred two[2] = { { .kind = VG_PRED_I64_RANGE, .col = port, .lo = 610, .hi = 620 },
                            { .kind = VG_PRED_STR_EQ, .col = act, .s = VG_STR_LIT("Action2") } };
    hs.preds = two;
    hs.npreds = 2;
    assert_int_equal(scan_count(s, &hs, &ss), 0);
    assert_int_equal(ss.blocks_skipped, 10);
    /* bad predicates are refused */
    vg_scan_pred bad = { .kind = VG_PRED_I64_RANGE, .col = ip };
    hs.preds = &bad;
    hs.npreds = 1;
    vg_scan *sc;
    assert_int_equal(vg_scan_open(s, &hs, &sc, &d), VG_EINVAL);
    vg_batch_free(&b);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

/* A scan's snapshot is stable while appends and seals go on. */
static void test_snapshot(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceFileEvents");
    vg_store *s = open_store(dir, 2000, 512);
    append_rows(s, t, 0, 1500, 500);
    vg_scan_spec sp = { .table = t, .raw = true, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan *sc;
    vg_diag d;
    assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
    append_rows(s, t, 1500, 3000, 500);   /* seals the tail the scan holds */
    const vg_batch *b;
    uint64_t g = 0;
    while (vg_scan_next(sc, &b, &d) == VG_OK)
        for (uint32_t r = 0; r < b->nrows; r++)
            check_row(b, r, g++);
    assert_int_equal(g, 1500);
    vg_scan_close(sc);
    scan_check(s, t, 0, 4500);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

static void test_retention(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    vg_store *s = open_store(dir, 0, 0);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, 30, NULL, false), VG_OK);
    vg_time now = DAY0 + 20 * VG_TICKS_PER_DAY + 3600 * VG_TICKS_PER_SEC;
    for (uint32_t i = 0; i < 30; i++) {
        vg_batch_add_row(&b);
        int64_t age = i < 10 ? 12 : i < 20 ? 5 : 0;   /* days */
        vg_batch_set_i64(&b, t->ts_col, i, now - age * VG_TICKS_PER_DAY);
    }
    vg_batch *bp = &b;
    vg_diag d;
    assert_int_equal(vg_store_append(s, &bp, 1, &d), VG_OK);
    assert_int_equal(vg_store_flush(s, &d), VG_OK);
    int dropped = -1;
    assert_int_equal(vg_store_retention(s, 7, now, &dropped, &d), VG_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(vg_store_table_rows(s, t), 20);
    char p[256], day[16];
    vg_day_format(vg_time_day(now - 12 * VG_TICKS_PER_DAY), day, sizeof day);
    snprintf(p, sizeof p, "%s/tables/%s/%s", dir, t->name, day);
    struct stat stt;
    assert_int_not_equal(stat(p, &stt), 0);
    assert_int_equal(vg_store_retention(s, 7, now, &dropped, &d), VG_OK);
    assert_int_equal(dropped, 0);
    assert_int_equal(vg_store_retention(s, 1, now, &dropped, &d), VG_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(vg_store_table_rows(s, t), 10);
    vg_batch_free(&b);
    vg_store_close(s, &d);
    s = open_store(dir, 0, 0);
    assert_int_equal(vg_store_table_rows(s, t), 10);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

static void test_deadletter(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    vg_store *s = open_store(dir, 0, 0);
    vg_diag d;
    assert_int_equal(vg_store_deadletter(s, "file.ndjson", 7, VG_STR_LIT("bad \"json\""),
                                         VG_STR_LIT("{not json\n"), &d), VG_OK);
    assert_int_equal(vg_store_deadletter(s, "http", 9, VG_STR_LIT("unknown table"),
                                         VG_STR_LIT("{\"Table\":\"X\"}"), &d), VG_OK);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.deadletters, 2);
    /* many at once: one write; a failed write keeps the set for a retry */
    vg_deadletters dl;
    vg_deadletters_init(&dl);
    for (int i = 0; i < 100; i++)
        vg_deadletters_add(&dl, "bulk", 100 + (uint64_t)i, VG_STR_LIT("r"), VG_STR_LIT("x"));
    vg_store_fault_inject(VG_FAULT_FSYNC, 1);
    assert_int_equal(vg_store_deadletters_write(s, &dl, &d), VG_EIO);
    assert_int_equal(dl.n, 100);
    vg_store_stats_get(s, &st);
    assert_int_equal(st.deadletters, 2);
    vg_store_fault_inject(VG_FAULT_FSYNC, 0);
    assert_int_equal(vg_store_deadletters_write(s, &dl, &d), VG_OK);
    assert_int_equal(dl.n, 0);
    vg_deadletters_free(&dl);
    vg_store_stats_get(s, &st);
    assert_int_equal(st.deadletters, 102);
    vg_store_close(s, &d);
    char p[256], day[16];
    vg_day_format(vg_time_day(vg_time_now()), day, sizeof day);
    snprintf(p, sizeof p, "%s/deadletter/%s.ndjson", dir, day);
    vg_buf fb;
    vg_buf_init(&fb, 0);
    assert_int_equal(st_read_file(p, &fb, 1 << 20, &d), VG_OK);
    vg_buf_putc(&fb, 0);
    const char *l1 = fb.p, *l2 = strchr(l1, '\n') + 1;
    assert_non_null(strstr(l1, "\"source\":\"file.ndjson\",\"line\":7,\"reason\":\"bad \\\"json\\\"\""));
    assert_non_null(strstr(l1, "\"record\":\"{not json\\n\"}"));
    assert_non_null(strstr(l1, "\"time\":\""));
    assert_non_null(strstr(l2, "\"line\":9"));
    const char *l3 = strchr(l2, '\n') + 1;
    assert_non_null(strstr(l3, "\"source\":\"bulk\",\"line\":100,"));
    int lines = 0;
    for (const char *q = fb.p; (q = strchr(q, '\n')); q++)
        lines++;
    assert_int_equal(lines, 102);
    vg_buf_free(&fb);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_has_term),
        cmocka_unit_test(test_roundtrip_network),
        cmocka_unit_test(test_roundtrip_info_bool),
        cmocka_unit_test(test_roundtrip_real),
        cmocka_unit_test(test_roundtrip_dynamic),
        cmocka_unit_test(test_roundtrip_no_timestamp),
        cmocka_unit_test(test_day_partitions),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_deadletter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
