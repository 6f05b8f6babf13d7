/*
 * test_native.c - the batch spine and the native NDJSON decoder: typed
 * columns, nulls, raw source fields, per-line rejects, table routing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/vg_time.h"
#include "ingest/vg_ingest.h"

typedef struct collected {
    vg_batch batches[8];
    int n;
} collected;

static vg_err collect(void *ctx, vg_batch *b, vg_diag *d)
{
    collected *c = ctx;
    vg_batch *dst = &c->batches[c->n++];
    vg_err e = vg_batch_init(dst, b->table, b->nrows, NULL, true);
    for (uint32_t r = 0; !e && r < b->nrows; r++)
        e = vg_batch_copy_row(dst, b, r);
    return e;
}

typedef struct rejects {
    int n;
    uint64_t lines[16];
    char msgs[16][256];
} rejects;

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str rec)
{
    rejects *r = ctx;
    if (r->n < 16) {
        r->lines[r->n] = line;
        vg_str_copy_c(r->msgs[r->n], sizeof r->msgs[0], reason);
    }
    r->n++;
}

static void run(const char *text, const char *table, collected *c, rejects *rj,
                vg_ingest_result *res)
{
    vg_batchset set;
    vg_diag d;
    memset(c, 0, sizeof *c);
    memset(rj, 0, sizeof *rj);
    memset(res, 0, sizeof *res);
    vg_ingest_opts o = { .format = VG_FMT_NDJSON, .keep_raw = true,
                         .table = table ? vg_schema_table(vg_str_c(table)) : NULL };
    assert_int_equal(vg_batchset_init(&set, 4, collect, c), VG_OK);
    assert_int_equal(vg_ingest_buffer(&set, &o, vg_str_c(text), on_reject, rj, res, &d), VG_OK);
    assert_int_equal(vg_batchset_flush(&set, &d), VG_OK);
    vg_batchset_free(&set);
}

static void free_collected(collected *c)
{
    for (int i = 0; i < c->n; i++)
        vg_batch_free(&c->batches[i]);
}

static void test_types_and_raw(void **state)
{
    collected c;
    rejects rj;
    vg_ingest_result res;
    run("{\"Timestamp\":\"2025-01-02T03:04:05.5Z\",\"DeviceName\":\"pc1\",\"ProcessId\":4242,"
        "\"FileSize\":\"123\",\"IsProcessRemoteSession\":true,\"AdditionalFields\":{\"a\":[1]},"
        "\"Custom\":\"x\",\"Nested\":{\"k\":1},\"FolderPath\":null}\n",
        "DeviceProcessEvents", &c, &rj, &res);
    assert_int_equal(res.accepted, 1);
    assert_int_equal(rj.n, 0);
    assert_int_equal(c.n, 1);
    vg_batch *b = &c.batches[0];
    const vg_table_def *t = b->table;
    assert_string_equal(t->name, "DeviceProcessEvents");
    int pid = vg_schema_col(t, VG_STR_LIT("ProcessId"));
    int ts = vg_schema_col(t, VG_STR_LIT("Timestamp"));
    int fs = vg_schema_col(t, VG_STR_LIT("FileSize"));
    int fp = vg_schema_col(t, VG_STR_LIT("FolderPath"));
    int rs = vg_schema_col(t, VG_STR_LIT("IsProcessRemoteSession"));
    int af = vg_schema_col(t, VG_STR_LIT("AdditionalFields"));
    assert_int_equal(b->cols[pid].v.i64[0], 4242);
    assert_int_equal(b->cols[fs].v.i64[0], 123);
    assert_true(vg_batch_is_null(b, fp, 0));
    assert_int_equal(b->cols[rs].v.b[0], 1);
    assert_true(vg_str_eqc(b->cols[af].v.s[0], "{\"a\":[1]}"));
    char tsbuf[VG_TIME_BUFSZ];
    vg_time_format(b->cols[ts].v.i64[0], tsbuf, sizeof tsbuf);
    assert_string_equal(tsbuf, "2025-01-02T03:04:05.5000000Z");
    /* unknown members are the raw record, addressable by name */
    assert_true(vg_str_eqc(b->raw[0], "{\"Custom\":\"x\",\"Nested\":{\"k\":1}}"));
    vg_arena a;
    vg_arena_init(&a, 0, 0);
    vg_str v;
    assert_int_equal(vg_batch_field(b, 0, VG_STR_LIT("Custom"), &a, &v), VG_OK);
    assert_true(vg_str_eqc(v, "x"));
    assert_int_equal(vg_batch_field(b, 0, VG_STR_LIT("ProcessId"), &a, &v), VG_OK);
    assert_true(vg_str_eqc(v, "4242"));
    assert_int_equal(vg_batch_field(b, 0, VG_STR_LIT("Missing"), &a, &v), VG_ENOTFOUND);
    /* the dump form round-trips */
    vg_buf out;
    vg_buf_init(&out, 0);
    vg_batch_row_json(b, 0, &out);
    assert_non_null(strstr(vg_buf_cstr(&out), "\"_Raw\":{\"Custom\":\"x\",\"Nested\":{\"k\":1}}"));
    collected c2;
    run(vg_buf_cstr(&out), "DeviceProcessEvents", &c2, &rj, &res);
    assert_int_equal(res.accepted, 1);
    vg_buf out2;
    vg_buf_init(&out2, 0);
    vg_batch_row_json(&c2.batches[0], 0, &out2);
    assert_string_equal(vg_buf_cstr(&out), vg_buf_cstr(&out2));
    vg_buf_free(&out);
    vg_buf_free(&out2);
    vg_arena_free(&a);
    free_collected(&c);
    free_collected(&c2);
}

static void test_rejects_do_not_block(void **state)
{
    collected c;
    rejects rj;
    vg_ingest_result res;
    run("{\"Timestamp\":\"2025-01-01T00:00:00Z\",\"ProcessId\":1}\n"
        "{\"Timestamp\":\"nope\",\"ProcessId\":2}\n"
        "\n"
        "not json\n"
        "{\"Timestamp\":\"2025-01-01T00:00:00Z\",\"ProcessId\":\"12x\"}\r\n"
        "{\"Timestamp\":\"2025-01-01T00:00:00Z\",\"ProcessId\":5}\r\n",
        "DeviceProcessEvents", &c, &rj, &res);
    assert_int_equal(res.records, 5);
    assert_int_equal(res.accepted, 2);
    assert_int_equal(res.rejected, 3);
    assert_int_equal(rj.n, 3);
    assert_int_equal(rj.lines[0], 2);
    assert_non_null(strstr(rj.msgs[0], "Timestamp"));
    assert_int_equal(rj.lines[1], 4);
    assert_non_null(strstr(rj.msgs[1], "invalid JSON at byte 0"));
    assert_int_equal(rj.lines[2], 5);
    assert_non_null(strstr(rj.msgs[2], "ProcessId"));
    assert_int_equal(c.batches[0].nrows, 2);
    int pid = vg_schema_col(c.batches[0].table, VG_STR_LIT("ProcessId"));
    assert_int_equal(c.batches[0].cols[pid].v.i64[1], 5);
    free_collected(&c);
}

static void test_table_routing(void **state)
{
    collected c;
    rejects rj;
    vg_ingest_result res;
    /* batches of 4 rows: 6 rows of one table give two batches */
    run("{\"Table\":\"DeviceLogonEvents\",\"ActionType\":\"LogonSuccess\"}\n"
        "{\"ActionType\":\"x\",\"Table\":\"DeviceNetworkEvents\",\"RemotePort\":443}\n"
        "{\"Table\":\"NoSuchTable\"}\n"
        "{\"Table\":\"DeviceLogonEvents\"}\n{\"Table\":\"DeviceLogonEvents\"}\n"
        "{\"Table\":\"DeviceLogonEvents\"}\n{\"Table\":\"DeviceLogonEvents\"}\n"
        "{\"Table\":\"DeviceLogonEvents\"}\n",
        NULL, &c, &rj, &res);
    assert_int_equal(res.accepted, 7);
    assert_int_equal(rj.n, 1);
    assert_non_null(strstr(rj.msgs[0], "unknown table 'NoSuchTable'"));
    int logon_rows = 0, net_rows = 0;
    for (int i = 0; i < c.n; i++) {
        if (strcmp(c.batches[i].table->name, "DeviceLogonEvents") == 0)
            logon_rows += c.batches[i].nrows;
        else if (strcmp(c.batches[i].table->name, "DeviceNetworkEvents") == 0)
            net_rows += c.batches[i].nrows;
    }
    assert_int_equal(logon_rows, 6);
    assert_int_equal(net_rows, 1);
    /* no table at all is an error that says how to give one */
    free_collected(&c);
    run("{\"ActionType\":\"x\"}\n", NULL, &c, &rj, &res);
    assert_int_equal(rj.n, 1);
    assert_non_null(strstr(rj.msgs[0], "no table"));
    free_collected(&c);
}

static void test_set_text(void **state)
{
    const vg_table_def *t = vg_schema_table(VG_STR_LIT("DeviceInfo"));
    assert_non_null(t);
    vg_batch b;
    assert_int_equal(vg_batch_init(&b, t, 8, NULL, false), VG_OK);
    uint32_t r = (uint32_t)vg_batch_add_row(&b);
    vg_diag d;
    for (int c = 0; c < t->ncols; c++) {
        vg_type ty = t->cols[c].type;
        if (ty == VG_T_INT) {
            assert_int_equal(vg_batch_set_text(&b, c, r, VG_STR_LIT("0x10"), &d), VG_OK);
            assert_int_equal(b.cols[c].v.i64[r], 16);
            assert_int_equal(vg_batch_set_text(&b, c, r, VG_STR_LIT("99999999999"), &d), VG_ETYPE);
        } else if (ty == VG_T_BOOL) {
            assert_int_equal(vg_batch_set_text(&b, c, r, VG_STR_LIT("maybe"), &d), VG_ETYPE);
            assert_non_null(strstr(d.msg, t->cols[c].name));
        }
    }
    vg_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_and_raw),
        cmocka_unit_test(test_rejects_do_not_block),
        cmocka_unit_test(test_table_routing),
        cmocka_unit_test(test_set_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
