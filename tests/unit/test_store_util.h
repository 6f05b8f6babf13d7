/*
 * test_store_util.h - helpers shared by the store's unit tests: temporary
 * directories, deterministic rows for any table (every column type, nulls,
 * raw records), and comparison of scanned rows with the generator.
 */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_int.h"
#include "store/vg_store.h"

#define DAY0 ((vg_time)20000 * VG_TICKS_PER_DAY)   /* 2024-10-04 */

static inline void tmpdir_make(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/vg-store-test-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static inline void tmpdir_remove(const char *p) { st_rmtree(p, NULL); }

static inline const vg_table_def *table_named(const char *n)
{
    const vg_table_def *t = vg_schema_table(vg_str_c(n));
    assert_non_null(t);
    return t;
}

/* Deterministic cell content: row id g, column c. */
static inline bool cell_null(uint64_t g, int c) { return (g * 7 + (uint64_t)c * 3) % 11 == 0; }

static inline void cell_str(uint64_t g, int c, char *buf, size_t cap)
{
    if (c % 3 == 0)   /* low cardinality: dictionary */
        snprintf(buf, cap, "Value-%d %s", (int)(g % 5), g % 2 ? "alpha" : "beta.exe");
    else
        snprintf(buf, cap, "u%llu c%d {\"k\": %llu}", (unsigned long long)g, c,
                 (unsigned long long)(g * 31));
}

static inline int64_t cell_i64(uint64_t g, int c, const vg_table_def *t)
{
    if (c == t->ts_col)
        return DAY0 + (int64_t)g * VG_TICKS_PER_SEC;
    return (int64_t)(g * 1000003 % 100000) - 5000 + c;
}

/* Fills a batch with rows first..first+n of the generator. */
static inline void fill_batch(vg_batch *b, uint64_t first, uint32_t n)
{
    const vg_table_def *t = b->table;
    char buf[128];
    vg_batch_reset(b);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t g = first + i;
        int64_t r = vg_batch_add_row(b);
        assert_true(r >= 0);
        for (int c = 0; c < t->ncols; c++) {
            if (c != t->ts_col && cell_null(g, c))
                continue;
            vg_type ty = t->cols[c].type;
            if (vg_type_is_i64(ty))
                vg_batch_set_i64(b, c, (uint32_t)r, cell_i64(g, c, t));
            else if (ty == VG_T_REAL)
                vg_batch_set_f64(b, c, (uint32_t)r, (double)g / 4.0 + c);
            else if (ty == VG_T_BOOL)
                vg_batch_set_bool(b, c, (uint32_t)r, (g + (uint64_t)c) % 3 == 0);
            else {
                cell_str(g, c, buf, sizeof buf);
                assert_int_equal(vg_batch_set_str(b, c, (uint32_t)r, vg_str_c(buf)), VG_OK);
            }
        }
        if (g % 4 != 1) {
            snprintf(buf, sizeof buf, "{\"EventID\":%llu,\"Raw\":\"r%llu\"}",
                     (unsigned long long)g % 50, (unsigned long long)g);
            assert_int_equal(vg_batch_set_raw(b, (uint32_t)r, vg_str_c(buf)), VG_OK);
        }
    }
}

/* Checks row r of b against generator row g (only present columns). */
static inline void check_row(const vg_batch *b, uint32_t r, uint64_t g)
{
    const vg_table_def *t = b->table;
    char buf[128];
    for (int c = 0; c < t->ncols; c++) {
        if (!vg_batch_has_col(b, c))
            continue;
        bool null = c != t->ts_col && cell_null(g, c);
        assert_int_equal(vg_batch_is_null(b, c, r), null);
        if (null)
            continue;
        vg_type ty = t->cols[c].type;
        if (vg_type_is_i64(ty))
            assert_int_equal(b->cols[c].v.i64[r], cell_i64(g, c, t));
        else if (ty == VG_T_REAL)
            assert_true(b->cols[c].v.f64[r] == (double)g / 4.0 + c);
        else if (ty == VG_T_BOOL)
            assert_int_equal(b->cols[c].v.b[r], (g + (uint64_t)c) % 3 == 0);
        else {
            cell_str(g, c, buf, sizeof buf);
            vg_str s = b->cols[c].v.s[r];
            assert_int_equal(s.n, strlen(buf));
            assert_memory_equal(s.p, buf, s.n);
        }
    }
    if (b->has_raw) {
        if (g % 4 != 1) {
            snprintf(buf, sizeof buf, "{\"EventID\":%llu,\"Raw\":\"r%llu\"}",
                     (unsigned long long)g % 50, (unsigned long long)g);
            assert_int_equal(b->raw[r].n, strlen(buf));
            assert_memory_equal(b->raw[r].p, buf, strlen(buf));
        } else {
            assert_int_equal(b->raw[r].n, 0);
        }
    }
}

/* Appends rows [first, first+n) in batches of bs rows. */
static inline void append_rows(vg_store *s, const vg_table_def *t, uint64_t first, uint64_t n,
                               uint32_t bs)
{
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, bs, NULL, true), VG_OK);
    vg_diag d = { "" };
    for (uint64_t g = first; g < first + n; g += bs) {
        uint32_t k = (uint32_t)(first + n - g < bs ? first + n - g : bs);
        fill_batch(&b, g, k);
        vg_batch *bp = &b;
        vg_err e = vg_store_append(s, &bp, 1, &d);
        if (e)
            fail_msg("append: %s", d.msg);
    }
    vg_batch_free(&b);
}

/* Scans everything (rows in generator order expected) and checks each row. */
static inline uint64_t scan_check(vg_store *s, const vg_table_def *t, uint64_t first,
                                  uint64_t expect)
{
    vg_scan_spec sp = { .table = t, .raw = true, .tmin = INT64_MIN, .tmax = INT64_MAX };
    vg_scan *sc;
    vg_diag d = { "" };
    assert_int_equal(vg_scan_open(s, &sp, &sc, &d), VG_OK);
    const vg_batch *b;
    uint64_t g = first;
    vg_err e;
    while ((e = vg_scan_next(sc, &b, &d)) == VG_OK) {
        assert_true(b->nrows <= VG_BATCH_ROWS);
        for (uint32_t r = 0; r < b->nrows; r++)
            check_row(b, r, g++);
    }
    assert_int_equal(e, VG_EEOF);
    vg_scan_close(sc);
    assert_int_equal(g - first, expect);
    return g - first;
}

static inline vg_store *open_store(const char *dir, uint32_t seal, uint32_t block)
{
    vg_store_opts o = { .dir = dir, .seal_rows = seal, .block_rows = block, .no_fsync = false };
    vg_store *s = NULL;
    vg_diag d = { "" };
    vg_err e = vg_store_open(&o, &s, &d);
    if (e)
        fail_msg("open: %s", d.msg);
    return s;
}

static inline size_t count_files(const char *dir, const char *suffix)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find %s -name '*%s' | wc -l", dir, suffix);
    FILE *f = popen(cmd, "r");
    size_t n = 0;
    if (f) {
        if (fscanf(f, "%zu", &n) != 1)
            n = 0;
        pclose(f);
    }
    return n;
}

#endif
