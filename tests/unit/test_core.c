/*
 * test_core.c - unit tests of src/core: errors, arenas, strings, buffers,
 * hash maps, time parsing/formatting and the settings table.
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

#include "core/vg_arena.h"
#include "core/vg_config.h"
#include "core/vg_err.h"
#include "core/vg_map.h"
#include "core/vg_str.h"
#include "core/vg_time.h"

static void test_strerror(void **state)
{
    assert_string_equal(vg_strerror(VG_OK), "ok");
    assert_string_equal(vg_strerror(VG_EPARSE), "parse error");
    assert_string_equal(vg_errname(VG_ELIMIT), "VG_ELIMIT");
    assert_string_equal(vg_strerror((vg_err)999), "unknown error");
    vg_diag d;
    assert_int_equal(vg_diag_set(&d, VG_EIO, "x=%d", 7), VG_EIO);
    vg_diag_prefix(&d, "%s: ", "file");
    assert_string_equal(d.msg, "file: x=7");
}

static void test_arena(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 128, 0);
    char *p = vg_arena_alloc(&a, 10);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 8, 0);
    char *big = vg_arena_alloc(&a, 10000); /* larger than a chunk */
    assert_non_null(big);
    memset(big, 1, 10000);
    char *s = vg_arena_printf(&a, "%s-%d", "ab", 42);
    assert_string_equal(s, "ab-42");
    vg_arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_non_null(vg_arena_alloc(&a, 64));
    vg_arena_free(&a);

    vg_arena capped;
    vg_arena_init(&capped, 1024, 4096);
    int n = 0;
    while (vg_arena_alloc(&capped, 1000))
        n++;
    assert_true(n >= 3 && n <= 4); /* the cap stops growth: NULL, not a crash */
    vg_arena_free(&capped);
}

static void test_str(void **state)
{
    assert_true(vg_str_eq_ci(VG_STR_LIT("CMD.exe"), VG_STR_LIT("cmd.EXE")));
    assert_false(vg_str_eq(VG_STR_LIT("a"), VG_STR_LIT("ab")));
    assert_true(vg_str_ends_ci(VG_STR_LIT("C:\\x\\Cmd.Exe"), VG_STR_LIT("cmd.exe")));
    assert_int_equal(vg_str_find_ci(VG_STR_LIT("powershell -EnC abc"), VG_STR_LIT("-enc")), 11);
    assert_int_equal(vg_str_find_ci(VG_STR_LIT("abc"), VG_STR_LIT("abcd")), -1);
    int64_t v;
    assert_int_equal(vg_str_to_i64(VG_STR_LIT("-9223372036854775808"), &v), VG_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(vg_str_to_i64(VG_STR_LIT("9223372036854775808"), &v), VG_ELIMIT);
    assert_int_equal(vg_str_to_i64(VG_STR_LIT("12a"), &v), VG_EPARSE);
    assert_int_equal(vg_str_to_i64(VG_STR_LIT(""), &v), VG_EPARSE);
    uint64_t u;
    assert_int_equal(vg_str_to_hex_u64(VG_STR_LIT("0x1F4"), &u), VG_OK);
    assert_int_equal(u, 500);
    double dv;
    assert_int_equal(vg_str_to_double(VG_STR_LIT("1.5e3"), &dv), VG_OK);
    assert_true(dv == 1500.0);
    assert_int_equal(vg_str_to_double(VG_STR_LIT("1.5x"), &dv), VG_EPARSE);
    vg_str t = vg_str_trim(VG_STR_LIT("  x y \t"));
    assert_int_equal(t.n, 3);
}

static void test_buf(void **state)
{
    vg_buf b;
    vg_buf_init(&b, 0);
    vg_buf_put_json_str(&b, VG_STR_LIT("a\"b\\c\n\x01"));
    assert_string_equal(vg_buf_cstr(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
    /* valid UTF-8 passes through; stray bytes become U+FFFD: always valid JSON */
    vg_buf_clear(&b);
    vg_buf_put_json_str(&b, VG_STR_LIT("\xc3\xa9-\xff-\xe2\x82-\xf0\x9f\x98\x80-\xed\xa0\x80"));
    assert_string_equal(vg_buf_cstr(&b), "\"\xc3\xa9-\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd-"
                                         "\xf0\x9f\x98\x80-\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    vg_buf_clear(&b);
    vg_buf_put_varint(&b, 300);
    vg_buf_put_u64le(&b, 0x0102030405060708ull);
    vg_reader r = vg_reader_make(b.p, b.n);
    uint64_t x;
    assert_true(vg_read_varint(&r, &x));
    assert_int_equal(x, 300);
    assert_true(vg_read_u64le(&r, &x));
    assert_true(x == 0x0102030405060708ull);
    assert_false(vg_read_u64le(&r, &x)); /* bounds-checked */
    vg_buf_free(&b);

    vg_buf lim;
    vg_buf_init(&lim, 16);
    vg_buf_puts(&lim, "0123456789");
    assert_false(lim.failed);
    vg_buf_puts(&lim, "0123456789");
    assert_true(lim.failed); /* over its limit: sticky failure, no overflow */
    vg_buf_free(&lim);
}

static void test_map(void **state)
{
    vg_map m;
    vg_map_init(&m, false);
    char keys[1000][16];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(vg_map_put(&m, vg_str_c(keys[i]), (void *)(uintptr_t)(i + 1)), VG_OK);
    }
    assert_int_equal(m.len, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal((uintptr_t)vg_map_get(&m, vg_str_c(keys[i]), NULL), i + 1);
    bool found = true;
    assert_null(vg_map_get(&m, VG_STR_LIT("nope"), &found));
    assert_false(found);
    vg_map_put(&m, VG_STR_LIT("k5"), (void *)77);
    assert_int_equal((uintptr_t)vg_map_get(&m, VG_STR_LIT("k5"), NULL), 77);
    assert_int_equal(m.len, 1000);
    size_t pos = 0, n = 0;
    while (vg_map_next(&m, &pos, NULL, NULL))
        n++;
    assert_int_equal(n, 1000);
    vg_map_free(&m);

    vg_map ci;
    vg_map_init(&ci, true);
    vg_map_put(&ci, VG_STR_LIT("ProcessId"), (void *)1);
    assert_int_equal((uintptr_t)vg_map_get(&ci, VG_STR_LIT("PROCESSID"), NULL), 1);
    vg_map_free(&ci);
}

static void expect_time(const char *in, const char *out)
{
    vg_time t;
    char buf[VG_TIME_BUFSZ];
    assert_int_equal(vg_time_parse_any(vg_str_c(in), &t), VG_OK);
    vg_time_format(t, buf, sizeof buf);
    assert_string_equal(buf, out);
}

static void test_time(void **state)
{
    expect_time("2025-11-27T07:40:10.165324Z", "2025-11-27T07:40:10.1653240Z");
    expect_time("2025-11-27 07:40:10.132", "2025-11-27T07:40:10.1320000Z");
    expect_time("2025-11-27T07:40:10.123456789Z", "2025-11-27T07:40:10.1234567Z");
    expect_time("2024-02-29", "2024-02-29T00:00:00.0000000Z");
    expect_time("2025-01-01T02:00:00+02:00", "2025-01-01T00:00:00.0000000Z");
    expect_time("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.0000000Z");
    expect_time("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5000000Z");
    expect_time("1700000000", "2023-11-14T22:13:20.0000000Z");       /* epoch s */
    expect_time("1700000000123", "2023-11-14T22:13:20.1230000Z");    /* epoch ms */
    expect_time("1700000000123456", "2023-11-14T22:13:20.1234560Z"); /* epoch us */
    expect_time("1700000000.25", "2023-11-14T22:13:20.2500000Z");
    expect_time("0x1DA1747C66D0000", "2023-11-14T22:13:20.0000000Z"); /* FILETIME */
    expect_time("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.0000000Z");
    vg_time t;
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2023-02-29"), &t), VG_EPARSE);
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2023-13-01"), &t), VG_EPARSE);
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2023-01-01T25:00"), &t), VG_EPARSE);
    assert_int_equal(vg_time_parse_any(VG_STR_LIT("yesterday"), &t), VG_EPARSE);
    /* FILETIMEs beyond year 9999 are refused, not overflowed */
    assert_int_equal(vg_time_parse_any(VG_STR_LIT("0x8000000000000000"), &t), VG_EPARSE);
    assert_int_equal(vg_time_parse_any(VG_STR_LIT("0xFFFFFFFFFFFFFFFF"), &t), VG_EPARSE);
    assert_true(vg_time_from_filetime(UINT64_MAX) == VG_TIME_MAX);
    assert_int_equal(vg_time_parse_any(VG_STR_LIT("-9223372036854775808"), &t), VG_OK);
    assert_int_equal(vg_time_parse_iso(VG_STR_LIT("2023-01-01Tjunk"), &t), VG_EPARSE);
    assert_int_equal(vg_time_day(-1), -1);
    char day[16];
    vg_day_format(vg_time_day(vg_time_from_civil(2025, 3, 4, 23, 59, 59, 0)), day, sizeof day);
    assert_string_equal(day, "2025-03-04");
}

typedef struct settings {
    const char *data;
    int64_t port;
    bool verbose;
    int64_t max_body;
    int64_t retention;
} settings;

static const vg_cfg_def defs[] = {
    { "data", VG_CFG_STRING, "./vigil-data", 0, 0, false, offsetof(settings, data), "data dir" },
    { "port", VG_CFG_INT, "8080", 1, 65535, false, offsetof(settings, port), "port" },
    { "verbose", VG_CFG_BOOL, "false", 0, 0, true, offsetof(settings, verbose), "chatty" },
    { "max-body", VG_CFG_SIZE, "64M", 1, 1LL << 40, false, offsetof(settings, max_body), "cap" },
    { "retention", VG_CFG_DURATION, "30d", 0, 0, true, offsetof(settings, retention), "keep" },
};
static const vg_cfg_spec spec = { "prog", "a test", "prog [OPTIONS]", defs, 5 };

static void test_config(void **state)
{
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    settings s;
    vg_cfg_args args;
    vg_diag d;
    char *argv1[] = { "prog", "--port", "9000", "x.ndjson", "--verbose", "--max-body=1K", NULL };
    assert_int_equal(vg_cfg_parse_args(&spec, 6, argv1, 1, &s, &args, &a, &d), VG_OK);
    assert_string_equal(s.data, "./vigil-data");
    assert_int_equal(s.port, 9000);
    assert_true(s.verbose);
    assert_int_equal(s.max_body, 1024);
    assert_int_equal(s.retention, 30 * 86400);
    assert_int_equal(args.npos, 1);
    assert_string_equal(args.pos[0], "x.ndjson");

    char *argv2[] = { "prog", "--port", "70000", NULL };
    assert_int_equal(vg_cfg_parse_args(&spec, 3, argv2, 1, &s, &args, &a, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "outside"));
    char *argv3[] = { "prog", "--bogus", NULL };
    assert_int_equal(vg_cfg_parse_args(&spec, 2, argv3, 1, &s, &args, &a, &d), VG_EINVAL);
    assert_non_null(strstr(d.msg, "--bogus"));

    /* file, then flags override it */
    char path[] = "/tmp/vg-test-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\nport = 1234\ndata = \"/srv/x\"\nverbose = yes\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cfgarg[64];
    snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
    char *argv4[] = { "prog", cfgarg, "--port", "80", "--no-verbose", NULL };
    assert_int_equal(vg_cfg_parse_args(&spec, 5, argv4, 1, &s, &args, &a, &d), VG_OK);
    assert_int_equal(s.port, 80);
    assert_string_equal(s.data, "/srv/x");
    assert_false(s.verbose);

    FILE *f = fopen(path, "w");
    fputs("port = 1\nnope = 3\n", f);
    fclose(f);
    assert_int_equal(vg_cfg_load_file(&spec, path, &s, &a, &d), VG_ENOTFOUND);
    assert_non_null(strstr(d.msg, ":2:")); /* says which line */
    unlink(path);

    char *help = NULL;
    size_t hn = 0;
    FILE *hf = open_memstream(&help, &hn);
    vg_cfg_help(&spec, hf);
    fclose(hf);
    assert_non_null(strstr(help, "--max-body size"));
    assert_non_null(strstr(help, "(default: 64M)"));
    free(help);
    vg_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror), cmocka_unit_test(test_arena), cmocka_unit_test(test_str),
        cmocka_unit_test(test_buf),      cmocka_unit_test(test_map),   cmocka_unit_test(test_time),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
