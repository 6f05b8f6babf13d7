/*
 * test_store_recovery.c - the store after crashes and damage: WAL replay
 * after a process dies without closing (exactly once), torn WAL tails,
 * damaged WAL records and segments (quarantined, reported, the rest still
 * readable), orphan segments of an interrupted seal, and fault injection on
 * write/fsync/rename (error returned, nothing acknowledged lost).
 */
#include "test_store_util.h"

#include <fcntl.h>
#include <sys/wait.h>

/* Runs fn in a child that dies with _exit() (no close, no seal). */
static void in_child(const char *dir, void (*fn)(const char *dir))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn(dir);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void child_append(vg_store *s, const vg_table_def *t, uint64_t first, uint32_t n)
{
    vg_batch b;
    if (vg_batch_init(&b, t, n, NULL, true))
        _exit(2);
    /* fill_batch asserts only on programming errors */
    fill_batch(&b, first, n);
    vg_batch *bp = &b;
    vg_diag d;
    if (vg_store_append(s, &bp, 1, &d))
        _exit(3);
    vg_batch_free(&b);
}

static vg_store *child_open(const char *dir, uint32_t seal)
{
    vg_store_opts o = { .dir = dir, .seal_rows = seal, .block_rows = 512 };
    vg_store *s;
    vg_diag d;
    if (vg_store_open(&o, &s, &d))
        _exit(4);
    return s;
}

/* 5 batches of 1000; seal at 2500 rows: 3000 sealed, 2000 in the WAL only. */
static void crash_after_appends(const char *dir)
{
    vg_store *s = child_open(dir, 2500);
    const vg_table_def *t = vg_schema_table(VG_STR_LIT("DeviceProcessEvents"));
    for (int i = 0; i < 5; i++)
        child_append(s, t, (uint64_t)i * 1000, 1000);
}

static void test_crash_replay(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    in_child(dir, crash_after_appends);
    assert_true(count_files(dir, ".wal") >= 1);
    vg_store *s = open_store(dir, 2500, 512);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.rows_total, 5000);
    assert_int_equal(st.tail_rows, 2000);
    assert_int_equal(st.quarantined, 0);
    scan_check(s, t, 0, 5000);
    /* a second crash-free cycle: still exactly once */
    vg_diag d;
    assert_int_equal(vg_store_close(s, &d), VG_OK);
    s = open_store(dir, 2500, 512);
    scan_check(s, t, 0, 5000);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

/* The same, twice in a row, with more appends after recovery. */
static void crash_more(const char *dir)
{
    vg_store *s = child_open(dir, 2500);
    const vg_table_def *t = vg_schema_table(VG_STR_LIT("DeviceProcessEvents"));
    child_append(s, t, 5000, 700);
}

static void test_crash_twice(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    in_child(dir, crash_after_appends);
    in_child(dir, crash_more);
    vg_store *s = open_store(dir, 2500, 512);
    scan_check(s, t, 0, 5700);
    vg_diag d;
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

static void last_wal(const char *dir, char *out, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/wal/*.wal | sort | tail -1", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, (int)cap, f));
    out[strcspn(out, "\n")] = 0;
    pclose(f);
}

static off_t file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static void test_torn_tail(void **state)
{
    (void)state;
    char dir[64], w[256];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    in_child(dir, crash_after_appends);
    last_wal(dir, w, sizeof w);
    off_t sz = file_size(w);
    /* cut the last record in half: it was "acknowledged" in this simulation,
     * but a real crash can only tear a record whose fsync never returned */
    assert_int_equal(truncate(w, sz - 300), 0);
    vg_store *s = open_store(dir, 2500, 512);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.rows_total, 4000);
    assert_int_equal(st.quarantined, 0);
    assert_true(file_size(w) < sz - 300);   /* the partial record was truncated */
    scan_check(s, t, 0, 4000);
    /* appends continue after the truncated tail */
    append_rows(s, t, 4000, 1000, 1000);
    vg_diag d;
    assert_int_equal(vg_store_close(s, &d), VG_OK);
    s = open_store(dir, 2500, 512);
    scan_check(s, t, 0, 5000);
    vg_store_close(s, &d);
    /* garbage appended after the last record is a torn tail too */
    tmpdir_remove(dir);
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void crash_three_batches(const char *dir)
{
    vg_store *s = child_open(dir, 100000);
    const vg_table_def *t = vg_schema_table(VG_STR_LIT("DeviceProcessEvents"));
    for (int i = 0; i < 3; i++)
        child_append(s, t, (uint64_t)i * 1000, 1000);
}

static void test_bad_wal_record(void **state)
{
    (void)state;
    char dir[64], w[256];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    in_child(dir, crash_three_batches);
    last_wal(dir, w, sizeof w);
    off_t sz = file_size(w);
    /* damage the middle of the file: inside the second record's payload */
    flip_byte(w, sz / 2);
    vg_store *s = open_store(dir, 100000, 512);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(st.rows_total, 2000);
    assert_int_equal(count_files(dir, ".reason"), 1);
    /* batches 0 and 2 survive */
    vg_scan_spec sp = { .table = t, .raw = true, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan *sc;
    vg_diag d;
    assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
    const vg_batch *b;
    uint64_t g = 0;
    while (vg_scan_next(sc, &b, &d) == VG_OK)
        for (uint32_t r = 0; r < b->nrows; r++, g++)
            check_row(b, r, g < 1000 ? g : g + 1000);
    vg_scan_close(sc);
    assert_int_equal(g, 2000);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

static void seg_paths(const char *dir, char out[][256], size_t n)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find %s/tables -name '*.seg' | sort", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(fgets(out[i], 256, f));
        out[i][strcspn(out[i], "\n")] = 0;
    }
    pclose(f);
}

static void corrupt_segment(bool verify)
{
    char dir[64], segs[2][256];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    vg_store *s = open_store(dir, 3000, 512);
    append_rows(s, t, 0, 6000, 1000);   /* two segments of 3000 */
    vg_diag d;
    assert_int_equal(vg_store_close(s, &d), VG_OK);
    seg_paths(dir, segs, 2);
    /* a byte inside the first segment's Timestamp data of block 2 */
    {
        int fd = open(segs[0], O_RDONLY);
        assert_true(fd >= 0);
        seg_src src = { fd, NULL, (uint64_t)file_size(segs[0]), segs[0] };
        seg_meta *m;
        assert_int_equal(seg_meta_read(&src, &m, &d), VG_OK);
        assert_int_equal(m->nrows, 3000);
        const seg_cblock *cb = seg_cb(m, 2, (uint32_t)t->ts_col);
        flip_byte(segs[0], (off_t)(cb->data.off + cb->data.len / 2));
        seg_meta_free(m);
        close(fd);
    }
    vg_store_opts o = { .dir = dir, .verify = verify };
    assert_int_equal(vg_store_open(&o, &s, &d), VG_OK);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.quarantined, verify ? 1 : 0);
    vg_scan_spec sp = { .table = t, .raw = true, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan *sc;
    assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
    const vg_batch *b;
    uint64_t n = 0, g = 3000;
    vg_err e;
    while ((e = vg_scan_next(sc, &b, &d)) == VG_OK) {
        for (uint32_t r = 0; r < b->nrows; r++) {
            if (n < 3000 && !verify) {
                /* rows before the damaged block of segment 0 may come back */
            }
            n++;
        }
        if (b->nrows && b->cols[t->ts_col].v.i64[0] >= DAY0 + 3000 * VG_TICKS_PER_SEC)
            for (uint32_t r = 0; r < b->nrows; r++)
                check_row(b, r, g++);
    }
    assert_int_equal(e, VG_EEOF);
    vg_scan_stats ss;
    vg_scan_get_stats(sc, &ss);
    vg_scan_close(sc);
    assert_int_equal(g, 6000);   /* the intact segment is fully readable */
    assert_int_equal(ss.segments_damaged, verify ? 0 : 1);
    vg_store_stats_get(s, &st);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(st.segments, 1);
    assert_int_equal(vg_store_table_rows(s, t), 3000);
    vg_store_close(s, &d);
    assert_int_equal(count_files(dir, ".seg"), 2);   /* one in quarantine/ */
    char q[128];
    snprintf(q, sizeof q, "%s/quarantine", dir);
    assert_int_equal(count_files(q, ".seg"), 1);
    assert_int_equal(count_files(q, ".reason"), 1);
    tmpdir_remove(dir);
}

static void test_bad_segment_scan(void **state) { (void)state; corrupt_segment(false); }
static void test_bad_segment_verify(void **state) { (void)state; corrupt_segment(true); }

static void test_bad_segment_footer(void **state)
{
    (void)state;
    char dir[64], segs[1][256];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    vg_store *s = open_store(dir, 0, 0);
    append_rows(s, t, 0, 100, 100);
    vg_diag d;
    vg_store_close(s, &d);
    seg_paths(dir, segs, 1);
    flip_byte(segs[0], file_size(segs[0]) - 60);   /* in the footer */
    s = open_store(dir, 0, 0);
    vg_store_stats st;
    vg_store_stats_get(s, &st);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(st.segments, 0);
    /* the store stays usable */
    append_rows(s, t, 0, 100, 100);
    scan_check(s, t, 0, 100);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

/* A seal interrupted after its segment was renamed but before sealed.lsn. */
static void test_orphan_segment(void **state)
{
    (void)state;
    char dir[64], segs[1][256], cmd[600];
    tmpdir_make(dir, sizeof dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    in_child(dir, crash_three_batches);   /* 3000 rows in the WAL */
    /* make a copy: seal it there, then put its segment into the original
     * without sealed.lsn, as a crash between rename and commit would */
    char copy[80];
    snprintf(copy, sizeof copy, "%s-copy", dir);
    snprintf(cmd, sizeof cmd, "cp -a %s %s", dir, copy);
    assert_int_equal(system(cmd), 0);
    vg_store *s = open_store(copy, 100000, 512);
    vg_diag d;
    assert_int_equal(vg_store_flush(s, &d), VG_OK);
    vg_store_close(s, &d);
    seg_paths(copy, segs, 1);
    const char *rel = segs[0] + strlen(copy);
    snprintf(cmd, sizeof cmd, "mkdir -p $(dirname %s%s) && cp %s %s%s", dir, rel, segs[0], dir, rel);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(count_files(dir, ".seg"), 1);
    s = open_store(dir, 100000, 512);
    assert_int_equal(count_files(dir, ".seg"), 0);   /* orphan removed */
    scan_check(s, t, 0, 3000);                       /* rows once, from the WAL */
    vg_store_close(s, &d);
    s = open_store(dir, 100000, 512);
    scan_check(s, t, 0, 3000);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
    tmpdir_remove(copy);
}

/*
 * Fault injection: a failing write/fsync/rename returns VG_EIO; everything
 * acknowledged before and after is there exactly once after a crash
 * (simulated by reopening a copy of the directory, as if the process died)
 * and after a clean close.
 */
static void fault_case(vg_fault_op op, bool on_seal)
{
    char dir[64], copy[80], cmd[256];
    tmpdir_make(dir, sizeof dir);
    snprintf(copy, sizeof copy, "%s-copy", dir);
    const vg_table_def *t = table_named("DeviceProcessEvents");
    vg_store *s = open_store(dir, 100000, 512);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, 500, NULL, true), VG_OK);
    vg_batch *bp = &b;
    vg_diag d;
    uint64_t acked[8];
    size_t nacked = 0;
    for (uint64_t k = 0; k < 6; k++) {
        fill_batch(&b, k * 500, 500);
        if (k == 2 && !on_seal)
            vg_store_fault_inject(op, 1);
        if (k == 3 && on_seal) {
            vg_store_fault_inject(op, 1);
            vg_err e = vg_store_flush(s, &d);
            assert_int_equal(e, VG_EIO);
            assert_non_null(strstr(d.msg, "injected"));
        }
        vg_err e = vg_store_append(s, &bp, 1, &d);
        if (k == 2 && !on_seal) {
            assert_int_equal(e, VG_EIO);
            assert_non_null(strstr(d.msg, "injected"));
            continue;
        }
        assert_int_equal(e, VG_OK);
        acked[nacked++] = k;
    }
    vg_store_fault_inject(op, 0);
    /* crash now: copy the directory as it is */
    snprintf(cmd, sizeof cmd, "cp -a %s %s", dir, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vg_store_close(s, &d), VG_OK);
    const char *dirs[2] = { copy, dir };
    for (int k = 0; k < 2; k++) {
        s = open_store(dirs[k], 100000, 512);
        vg_scan_spec sp = { .table = t, .raw = true, .tmin = INT64_MIN, .tmax = INT64_MAX };
        vg_scan *sc;
        assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
        const vg_batch *o;
        uint64_t n = 0;
        while (vg_scan_next(sc, &o, &d) == VG_OK)
            for (uint32_t r = 0; r < o->nrows; r++, n++)
                check_row(o, r, acked[n / 500] * 500 + n % 500);
        vg_scan_close(sc);
        assert_int_equal(n, nacked * 500);
        vg_store_close(s, &d);
    }
    vg_batch_free(&b);
    tmpdir_remove(dir);
    tmpdir_remove(copy);
}

static void test_fault_wal_write(void **state) { (void)state; fault_case(VG_FAULT_WRITE, false); }
static void test_fault_wal_fsync(void **state) { (void)state; fault_case(VG_FAULT_FSYNC, false); }
static void test_fault_seal_write(void **state) { (void)state; fault_case(VG_FAULT_WRITE, true); }
static void test_fault_seal_fsync(void **state) { (void)state; fault_case(VG_FAULT_FSYNC, true); }
static void test_fault_seal_rename(void **state) { (void)state; fault_case(VG_FAULT_RENAME, true); }

/* Every possible failing operation of a seal, one at a time. */
static void test_fault_every_seal_op(void **state)
{
    (void)state;
    const vg_table_def *t = table_named("DeviceNetworkEvents");
    for (int op = 0; op < 3; op++) {
        for (uint64_t nth = 1; nth < 12; nth++) {
            char dir[64];
            tmpdir_make(dir, sizeof dir);
            vg_store *s = open_store(dir, 100000, 256);
            append_rows(s, t, 0, 1000, 250);
            /* three day partitions: several segment files per seal */
            vg_batch b;
            assert_int_equal(vg_batch_init(&b, t, 10, NULL, true), VG_OK);
            fill_batch(&b, 1000, 10);
            for (uint32_t r = 0; r < 10; r++)
                b.cols[t->ts_col].v.i64[r] += (int64_t)(r % 3) * VG_TICKS_PER_DAY;
            vg_batch *bp = &b;
            vg_diag d;
            assert_int_equal(vg_store_append(s, &bp, 1, &d), VG_OK);
            vg_store_fault_inject((vg_fault_op)op, nth);
            vg_err e = vg_store_flush(s, &d);
            vg_store_fault_inject((vg_fault_op)op, 0);
            assert_true(e == VG_OK || e == VG_EIO);
            assert_int_equal(vg_store_table_rows(s, t), 1010);
            vg_store_close(s, &d);
            s = open_store(dir, 100000, 256);
            assert_int_equal(vg_store_table_rows(s, t), 1010);
            vg_store_stats st;
            vg_store_stats_get(s, &st);
            assert_int_equal(st.quarantined, 0);
            vg_store_close(s, &d);
            vg_batch_free(&b);
            tmpdir_remove(dir);
        }
    }
}

static void test_lock(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    vg_store *s = open_store(dir, 0, 0);
    vg_store_opts o = { .dir = dir };
    vg_store *s2;
    vg_diag d;
    assert_int_equal(vg_store_open(&o, &s2, &d), VG_EBUSY);
    o.read_only = true;
    assert_int_equal(vg_store_open(&o, &s2, &d), VG_OK);
    vg_batch b;
    const vg_table_def *t = table_named("DeviceEvents");
    assert_int_equal(vg_batch_init(&b, t, 1, NULL, false), VG_OK);
    vg_batch_add_row(&b);
    vg_batch *bp = &b;
    assert_int_equal(vg_store_append(s2, &bp, 1, &d), VG_EINVAL);
    vg_store_close(s2, &d);
    vg_batch_free(&b);
    vg_store_close(s, &d);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_replay),
        cmocka_unit_test(test_crash_twice),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_bad_wal_record),
        cmocka_unit_test(test_bad_segment_scan),
        cmocka_unit_test(test_bad_segment_verify),
        cmocka_unit_test(test_bad_segment_footer),
        cmocka_unit_test(test_orphan_segment),
        cmocka_unit_test(test_fault_wal_write),
        cmocka_unit_test(test_fault_wal_fsync),
        cmocka_unit_test(test_fault_seal_write),
        cmocka_unit_test(test_fault_seal_fsync),
        cmocka_unit_test(test_fault_seal_rename),
        cmocka_unit_test(test_fault_every_seal_op),
        cmocka_unit_test(test_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
