/*
 * test_agent_spool.c - the agent's on-disk spool (src/agent/ag_spool.c) and
 * the delivery backoff: batches come back oldest first, a seq is never handed
 * out twice (also across a reopen with an empty spool), the size bound refuses
 * and counts, a batch leaves only when acknowledged, and a damaged file is
 * skipped with a message naming it instead of blocking the rest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ag_int.h"

static char base[128], dir[256];

static int setup(void **st)
{
    snprintf(base, sizeof base, "/tmp/vg_spool_test.XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/spool", base);
    return 0;
}

static int teardown(void **st)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static uint64_t put(ag_spool *s, const char *text)
{
    uint64_t seq = 0;
    vg_diag d;
    assert_int_equal(ag_spool_put(s, text, strlen(text), &seq, &d), VG_OK);
    return seq;
}

static void expect_oldest(ag_spool *s, uint64_t want_seq, const char *want)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    uint64_t seq = 0;
    vg_diag d;
    assert_int_equal(ag_spool_oldest(s, &seq, &b, &d), VG_OK);
    assert_int_equal(seq, want_seq);
    assert_int_equal(b.n, strlen(want));
    assert_memory_equal(b.p, want, b.n);
    vg_buf_free(&b);
}

static void test_order_and_ack(void **st)
{
    ag_spool *s;
    vg_diag d;
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    assert_int_equal(put(s, "one"), 1);
    assert_int_equal(put(s, "two"), 2);
    assert_int_equal(put(s, "three"), 3);
    /* not acknowledged: the same batch again */
    expect_oldest(s, 1, "one");
    expect_oldest(s, 1, "one");
    assert_int_equal(ag_spool_ack(s, 1, &d), VG_OK);
    expect_oldest(s, 2, "two");
    assert_int_equal(ag_spool_ack(s, 2, &d), VG_OK);
    assert_int_equal(ag_spool_ack(s, 2, &d), VG_ENOTFOUND);
    ag_spool_stats stt;
    ag_spool_stats_get(s, &stt);
    assert_int_equal(stt.batches, 1);
    assert_int_equal(stt.last_seq, 3);
    ag_spool_close(s);

    /* a restart replays what was not acknowledged */
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    expect_oldest(s, 3, "three");
    assert_int_equal(ag_spool_ack(s, 3, &d), VG_OK);
    vg_buf b;
    vg_buf_init(&b, 0);
    uint64_t seq;
    assert_int_equal(ag_spool_oldest(s, &seq, &b, &d), VG_ENOTFOUND);
    vg_buf_free(&b);
    ag_spool_close(s);
}

static void test_seq_survives_empty_reopen(void **st)
{
    ag_spool *s;
    vg_diag d;
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ag_spool_ack(s, put(s, "x"), &d), VG_OK);
    ag_spool_close(s);
    /* every batch acknowledged and deleted: the seq file still says 5 */
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    assert_int_equal(put(s, "after"), 6);
    ag_spool_close(s);
}

static void test_bound_and_drop(void **st)
{
    ag_spool *s;
    vg_diag d;
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ag_spool_open(dir, 1000, &s, &d), VG_OK);
    assert_int_equal(put(s, big), 1);
    assert_int_equal(put(s, big), 2);
    uint64_t seq = 0;
    assert_int_equal(ag_spool_put(s, big, strlen(big), &seq, &d), VG_ELIMIT);
    assert_non_null(strstr(d.msg, "spool full"));
    ag_spool_stats stt;
    ag_spool_stats_get(s, &stt);
    assert_int_equal(stt.dropped_batches, 1);
    assert_int_equal(stt.batches, 2);
    assert_true(stt.bytes <= 1000);
    assert_false(ag_spool_has_room(s, 400));
    /* the refused batch used no seq; an acknowledgement makes room */
    assert_int_equal(ag_spool_ack(s, 1, &d), VG_OK);
    assert_true(ag_spool_has_room(s, 400));
    assert_int_equal(put(s, big), 3);
    ag_spool_close(s);
}

static void test_corrupt_skipped(void **st)
{
    ag_spool *s;
    vg_diag d;
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    put(s, "first batch");
    put(s, "second batch");
    /* flip a payload byte of the first file */
    char path[400];
    snprintf(path, sizeof path, "%s/%020d.batch", dir, 1);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 34), 1);
    close(fd);
    vg_buf b;
    vg_buf_init(&b, 0);
    uint64_t seq = 0;
    assert_int_equal(ag_spool_oldest(s, &seq, &b, &d), VG_ECORRUPT);
    assert_non_null(strstr(d.msg, "damaged spool file skipped"));
    assert_non_null(strstr(d.msg, "checksum"));
    assert_non_null(strstr(d.msg, path));
    vg_buf_free(&b);
    expect_oldest(s, 2, "second batch");
    ag_spool_stats stt;
    ag_spool_stats_get(s, &stt);
    assert_int_equal(stt.corrupt, 1);
    assert_int_equal(access(path, F_OK), -1);
    /* a truncated file is damaged too */
    ag_spool_close(s);
    snprintf(path, sizeof path, "%s/%020d.batch", dir, 2);
    assert_int_equal(truncate(path, 20), 0);
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    vg_buf_init(&b, 0);
    assert_int_equal(ag_spool_oldest(s, &seq, &b, &d), VG_ECORRUPT);
    assert_non_null(strstr(d.msg, "no spool header"));
    assert_int_equal(ag_spool_oldest(s, &seq, &b, &d), VG_ENOTFOUND);
    vg_buf_free(&b);
    ag_spool_close(s);
}

static void test_unfinished_write_removed(void **st)
{
    ag_spool *s;
    vg_diag d;
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    put(s, "kept");
    ag_spool_close(s);
    char path[400];
    snprintf(path, sizeof path, "%s/%020d.tmp", dir, 2);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("half", f);
    fclose(f);
    assert_int_equal(ag_spool_open(dir, 1 << 20, &s, &d), VG_OK);
    assert_int_equal(access(path, F_OK), -1);
    expect_oldest(s, 1, "kept");
    assert_int_equal(put(s, "next"), 2);
    ag_spool_close(s);
}

static void test_backoff(void **st)
{
    for (uint32_t r = 0; r < 1000; r += 7) {
        uint64_t a = ag_backoff_ms(1, r);
        assert_true(a >= 750 && a < 1250);
        uint64_t b = ag_backoff_ms(3, r);
        assert_true(b >= 3000 && b < 5000);
        uint64_t c = ag_backoff_ms(30, r);
        assert_true(c >= 45000 && c < 75000);
    }
    /* jitter: not every agent waits the same */
    assert_int_not_equal(ag_backoff_ms(5, 1), ag_backoff_ms(5, 2000));
}

static void test_zstd_roundtrip_size(void **st)
{
    vg_buf z;
    vg_buf_init(&z, 0);
    vg_diag d;
    char rows[8192];
    for (size_t i = 0; i < sizeof rows; i++)
        rows[i] = "{\"Table\":\"DeviceProcessEvents\"}\n"[i % 32];
    assert_int_equal(ag_zstd(rows, sizeof rows, &z, &d), VG_OK);
    assert_true(z.n > 4 && z.n < sizeof rows / 4);
    assert_memory_equal(z.p, "\x28\xb5\x2f\xfd", 4);   /* the zstd frame magic */
    vg_buf_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_survives_empty_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_write_removed, setup, teardown),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_zstd_roundtrip_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
