/*
 * test_gen.c - unit tests of src/gen: the same options give the same bytes
 * and another seed other bytes; every line decodes with the native decoder
 * without a reject and lands in the table its "Table" member names; the row
 * count is exact; the table mask and the natural volume are honoured; the
 * rare suspicious episodes appear in a large enough run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/vg_gen.h"
#include "ingest/vg_ingest.h"

static const vg_time START = 1736121600LL * VG_TICKS_PER_SEC;   /* 2025-01-06T00:00:00Z */

/* Generates a whole run into b (small pieces, to exercise resumption). */
static void gen_all(const vg_gen_opts *o, vg_buf *b, vg_gen **keep)
{
    vg_gen *g;
    vg_diag d;
    assert_int_equal(vg_gen_open(o, &g, &d), VG_OK);
    bool done = false;
    while (!done)
        assert_int_equal(vg_gen_fill(g, b, 100000, &done), VG_OK);
    assert_false(b->failed);
    if (keep)
        *keep = g;
    else
        vg_gen_close(g);
}

static uint64_t count_lines(const vg_buf *b)
{
    uint64_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->p[i] == '\n';
    return n;
}

static void test_deterministic(void **state)
{
    vg_gen_opts o = { .seed = 42, .devices = 7, .days = 3, .rows = 8000, .start = START };
    vg_buf a, b, c;
    vg_buf_init(&a, 0);
    vg_buf_init(&b, 0);
    vg_buf_init(&c, 0);
    gen_all(&o, &a, NULL);
    gen_all(&o, &b, NULL);
    assert_true(a.n > 0);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
    o.seed = 43;
    gen_all(&o, &c, NULL);
    assert_true(c.n != a.n || memcmp(a.p, c.p, a.n) != 0);
    vg_buf_free(&a);
    vg_buf_free(&b);
    vg_buf_free(&c);
}

static void test_rows_exact(void **state)
{
    static const uint64_t counts[] = { 1, 2, 17, 999, 12345 };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        vg_gen_opts o = { .seed = 3, .devices = 4, .days = 2, .rows = counts[i], .start = START };
        vg_buf b;
        vg_buf_init(&b, 0);
        vg_gen *g;
        gen_all(&o, &b, &g);
        assert_int_equal(count_lines(&b), counts[i]);
        assert_int_equal(vg_gen_rows_done(g), counts[i]);
        assert_int_equal(vg_gen_rows_total(g), counts[i]);
        uint64_t sum = 0;
        for (int t = 0; t < VG_GEN_NTABLES; t++)
            sum += vg_gen_rows_in(g, (vg_gen_table)t);
        assert_int_equal(sum, counts[i]);
        vg_gen_close(g);
        vg_buf_free(&b);
    }
}

static void test_natural_volume(void **state)
{
    vg_gen_opts o = { .seed = 1, .devices = 2, .days = 1, .start = START };
    vg_buf b;
    vg_buf_init(&b, 0);
    gen_all(&o, &b, NULL);
    assert_int_equal(count_lines(&b), 2ull * VG_GEN_ROWS_PER_DEVICE_DAY);
    vg_buf_free(&b);
}

/* The decoder's view: rows per table. */
typedef struct tally {
    uint64_t rows[64];
    uint64_t ts_min, ts_max;
} tally;

static vg_err tally_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    tally *t = ctx;
    assert_true(b->table->id < 64);
    t->rows[b->table->id] += b->nrows;
    int ts = b->table->ts_col;
    assert_true(ts >= 0);
    for (uint32_t r = 0; r < b->nrows; r++) {
        assert_false(vg_batch_is_null(b, ts, r));
        uint64_t v = (uint64_t)b->cols[ts].v.i64[r];
        if (!t->ts_min || v < t->ts_min)
            t->ts_min = v;
        if (v > t->ts_max)
            t->ts_max = v;
    }
    return VG_OK;
}

static void reject_fails(void *ctx, uint64_t line, vg_str reason, vg_str record)
{
    fprintf(stderr, "line %llu rejected: %.*s\n%.*s\n", (unsigned long long)line,
            VG_STR_FMT(reason), (int)(record.n > 600 ? 600 : record.n), record.p);
    fail();
}

static void test_decodes_cleanly(void **state)
{
    vg_gen_opts o = { .seed = 9, .devices = 25, .days = 4, .rows = 30000, .start = START };
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_gen *g;
    gen_all(&o, &b, &g);
    tally t;
    memset(&t, 0, sizeof t);
    vg_batchset set;
    assert_int_equal(vg_batchset_init(&set, 0, tally_sink, &t), VG_OK);
    vg_ingest_opts io = { .format = VG_FMT_NDJSON, .keep_raw = true };
    vg_ingest_result res = { 0 };
    vg_diag d;
    assert_int_equal(vg_ingest_buffer(&set, &io, vg_str_make(b.p, b.n), reject_fails, NULL, &res,
                                      &d),
                     VG_OK);
    assert_int_equal(vg_batchset_flush(&set, &d), VG_OK);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(res.accepted, 30000);
    /* each table got exactly the rows the generator wrote for it */
    uint64_t sum = 0;
    for (int k = 0; k < VG_GEN_NTABLES; k++) {
        const vg_table_def *td = vg_schema_table(vg_str_c(vg_gen_table_name((vg_gen_table)k)));
        assert_non_null(td);
        assert_int_equal(t.rows[td->id], vg_gen_rows_in(g, (vg_gen_table)k));
        assert_true(vg_gen_rows_in(g, (vg_gen_table)k) > 0);
        sum += t.rows[td->id];
    }
    assert_int_equal(sum, 30000);
    /* and the rows cover the days asked for, no more */
    assert_true((vg_time)t.ts_min >= START);
    assert_true((vg_time)t.ts_max < START + 5 * VG_TICKS_PER_DAY);
    assert_true((vg_time)t.ts_max > START + 3 * VG_TICKS_PER_DAY);
    vg_batchset_free(&set);
    vg_gen_close(g);
    vg_buf_free(&b);
}

static void test_table_mask(void **state)
{
    vg_gen_opts o = { .seed = 5, .devices = 10, .days = 2, .rows = 5000, .start = START };
    vg_diag d;
    assert_int_equal(vg_gen_parse_tables(vg_str_c("DeviceProcessEvents"), &o.tables, &d), VG_OK);
    vg_buf b;
    vg_buf_init(&b, 0);
    gen_all(&o, &b, NULL);
    assert_int_equal(count_lines(&b), 5000);
    static const char pre[] = "{\"Table\":\"DeviceProcessEvents\",";
    for (const char *p = b.p, *end = b.p + b.n; p < end;) {
        assert_memory_equal(p, pre, sizeof pre - 1);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        p = nl + 1;
    }
    vg_buf_free(&b);
    /* DeviceInfo alone works too (one row per device and day, then more) */
    vg_buf_init(&b, 0);
    assert_int_equal(vg_gen_parse_tables(vg_str_c("deviceinfo"), &o.tables, &d), VG_OK);
    o.rows = 50;
    gen_all(&o, &b, NULL);
    assert_int_equal(count_lines(&b), 50);
    vg_buf_free(&b);
    uint32_t m;
    assert_int_equal(vg_gen_parse_tables(vg_str_c("DeviceProcessEvents,Nope"), &m, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "Nope"));
    assert_int_equal(vg_gen_parse_tables(vg_str_c("DeviceLogonEvents, DeviceInfo"), &m, &d),
                     VG_OK);
    assert_int_equal(m, (1u << VG_GEN_LOGON) | (1u << VG_GEN_INFO));
}

static void test_needles_and_realism(void **state)
{
    vg_gen_opts o = { .seed = 11, .devices = 50, .days = 7, .rows = 20000, .start = START,
                      .needle_odds = 20 };
    vg_buf b;
    vg_buf_init(&b, 0);
    gen_all(&o, &b, NULL);
    vg_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "-enc "));
    assert_non_null(strstr(b.p, "certutil.exe  -urlcache"));
    assert_non_null(strstr(b.p, "lsass"));
    assert_non_null(strstr(b.p, "\"InitiatingProcessFileName\":\"explorer.exe\""));
    assert_non_null(strstr(b.p, "\"InitiatingProcessFileName\":\"services.exe\""));
    assert_non_null(strstr(b.p, "\"FolderPath\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\""));
    assert_non_null(strstr(b.p, "\"AccountSid\":\"S-1-5-21-"));
    /* a binary keeps its hash everywhere: cmd.exe's SHA256 is one value */
    const char *p = strstr(b.p, "\"FileName\":\"cmd.exe\",\"FolderPath\"");
    assert_non_null(p);
    const char *h = strstr(p, "\"SHA256\":\"");
    assert_non_null(h);
    char sha[65];
    memcpy(sha, h + 10, 64);
    sha[64] = '\0';
    for (const char *q = strstr(p + 1, "\"FileName\":\"cmd.exe\",\"FolderPath\""); q;
         q = strstr(q + 1, "\"FileName\":\"cmd.exe\",\"FolderPath\"")) {
        const char *hq = strstr(q, "\"SHA256\":\"");
        assert_memory_equal(hq + 10, sha, 64);
    }
    vg_buf_free(&b);
}

static void test_bad_options(void **state)
{
    vg_gen *g = NULL;
    vg_diag d;
    vg_gen_opts o = { .seed = 1, .devices = 0, .days = 1, .start = START };
    assert_int_equal(vg_gen_open(&o, &g, &d), VG_EINVAL);
    assert_null(g);
    o.devices = 1;
    o.days = 0;
    assert_int_equal(vg_gen_open(&o, &g, &d), VG_EINVAL);
    o.days = VG_GEN_MAX_DAYS + 1;
    assert_int_equal(vg_gen_open(&o, &g, &d), VG_EINVAL);
    vg_gen_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_rows_exact),
        cmocka_unit_test(test_natural_volume),
        cmocka_unit_test(test_decodes_cleanly),
        cmocka_unit_test(test_table_mask),
        cmocka_unit_test(test_needles_and_realism),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
