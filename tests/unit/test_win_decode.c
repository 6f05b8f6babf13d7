/*
 * test_win_decode.c - the Windows decoders end to end: the evtx JSON and the
 * Winlogbeat forms of one event give the same columns; Sigma's source field
 * names resolve through the raw record (vg_batch_field); bad records are
 * rejected with their line and the rest still load; an EVTX file from the
 * regression suite (when present beside the repository) decodes, with and
 * without recovered records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/vg_ingest.h"
#include "ingest/win_event.h"

typedef struct out {
    vg_buf rows;          /* rendered rows, one per line */
    vg_buf fields;        /* "name=value;" of a few source fields per row */
    int n, rejects;
    char reject_msg[256];
    uint64_t reject_line;
} out;

static vg_err sink(void *ctx, vg_batch *b, vg_diag *d)
{
    out *o = ctx;
    static const char *names[] = { "CommandLine", "ParentImage", "EventID", "Provider_Name",
                                   "Computer", "FolderPath" };
    for (uint32_t r = 0; r < b->nrows; r++) {
        vg_batch_row_json(b, r, &o->rows);
        vg_buf_putc(&o->rows, '\n');
        vg_arena a;
        vg_arena_init(&a, 0, 0);
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            vg_str v;
            if (vg_batch_field(b, r, vg_str_c(names[i]), &a, &v) == VG_OK)
                vg_buf_printf(&o->fields, "%s=%.*s;", names[i], VG_STR_FMT(v));
        }
        vg_arena_free(&a);
        o->n++;
    }
    return VG_OK;
}

static void on_reject(void *ctx, uint64_t line, vg_str reason, vg_str rec)
{
    out *o = ctx;
    if (!o->rejects++) {
        o->reject_line = line;
        vg_str_copy_c(o->reject_msg, sizeof o->reject_msg, reason);
    }
}

static void decode(vg_format f, vg_str text, out *o)
{
    memset(o, 0, sizeof *o);
    vg_buf_init(&o->rows, 0);
    vg_buf_init(&o->fields, 0);
    vg_batchset set;
    vg_diag d;
    vg_ingest_result res = { 0 };
    vg_ingest_opts opts = { .format = f, .keep_raw = true };
    assert_int_equal(vg_batchset_init(&set, 2, sink, o), VG_OK);
    assert_int_equal(vg_ingest_buffer(&set, &opts, text, on_reject, o, &res, &d), VG_OK);
    assert_int_equal(vg_batchset_flush(&set, &d), VG_OK);
    assert_int_equal(res.accepted + res.rejected, res.records);
    assert_int_equal((int)res.rejected, o->rejects);
    vg_batchset_free(&set);
}

static void out_free(out *o)
{
    vg_buf_free(&o->rows);
    vg_buf_free(&o->fields);
}

static const char evtx_json[] =
    "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Sysmon\","
    "\"Guid\":\"5770385F-C22A-43E0-BF4C-06F5698FFBD9\"}},\"EventID\":1,\"TimeCreated\":{\"#attributes\":"
    "{\"SystemTime\":\"2025-03-04T10:15:30.123456Z\"}},\"EventRecordID\":9,\"Channel\":"
    "\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"wks01\"},\"EventData\":{\"UtcTime\":"
    "\"2025-03-04 10:15:30.120\",\"ProcessGuid\":\"8B7A1C2D-3E4F-5A6B-7C8D-9E0F1A2B3C4D\","
    "\"ProcessId\":6120,\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd /c whoami\","
    "\"User\":\"CORP\\\\alice\",\"Hashes\":\"MD5=7353F60B1739074EB17C5F4DDDEFE239\",\"ParentImage\":"
    "\"C:\\\\Windows\\\\explorer.exe\",\"ParentProcessId\":4420}}}\n";

static const char winlogbeat[] =
    "{\"@timestamp\":\"2025-03-04T10:15:30.123Z\",\"winlog\":{\"event_id\":\"1\",\"channel\":"
    "\"Microsoft-Windows-Sysmon/Operational\",\"provider_name\":\"Microsoft-Windows-Sysmon\","
    "\"provider_guid\":\"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}\",\"computer_name\":\"wks01\","
    "\"record_id\":9,\"time_created\":\"2025-03-04T10:15:30.1234567Z\",\"event_data\":{\"UtcTime\":"
    "\"2025-03-04 10:15:30.120\",\"ProcessGuid\":\"{8B7A1C2D-3E4F-5A6B-7C8D-9E0F1A2B3C4D}\","
    "\"ProcessId\":\"6120\",\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":"
    "\"cmd /c whoami \",\"User\":\"CORP\\\\alice\",\"Hashes\":\"MD5=7353F60B1739074EB17C5F4DDDEFE239\","
    "\"ParentImage\":\"C:\\\\Windows\\\\explorer.exe\",\"ParentProcessId\":\"4420\"}}}\n";

static void test_forms_agree(void **state)
{
    out a, b;
    decode(VG_FMT_EVTX_JSON, vg_str_make(evtx_json, sizeof evtx_json - 1), &a);
    decode(VG_FMT_AUTO, vg_str_make(winlogbeat, sizeof winlogbeat - 1), &b);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(a.rejects + b.rejects, 0);
    /* same columns and raw record: braces, padding, spacing and fractions normalized */
    assert_string_equal(vg_buf_cstr(&a.rows), vg_buf_cstr(&b.rows));
    assert_non_null(strstr(vg_buf_cstr(&a.rows), "\"MD5\":\"7353f60b1739074eb17c5f4dddefe239\""));
    assert_non_null(strstr(vg_buf_cstr(&a.rows), "\"InitiatingProcessFileName\":\"explorer.exe\""));
    /* Sigma's field names: columns first, else the raw record */
    assert_string_equal(vg_buf_cstr(&a.fields),
                        "CommandLine=cmd /c whoami;ParentImage=C:\\Windows\\explorer.exe;EventID=1;"
                        "Provider_Name=Microsoft-Windows-Sysmon;Computer=wks01;"
                        "FolderPath=C:\\Windows\\System32\\cmd.exe;");
    out_free(&a);
    out_free(&b);
}

static void test_rejects(void **state)
{
    static const char text[] =
        "{\"Event\":{\"System\":{\"EventID\":4634,\"Channel\":\"Security\"}}}\n"
        "{\"Event\":{\"System\":{\"EventID\":\"x\"}}}\n"
        "{\"Event\":{\"System\":{\"EventID\":4634,\"Channel\":\"Security\"}}}\n";
    out o;
    decode(VG_FMT_EVTX_JSON, vg_str_make(text, sizeof text - 1), &o);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.rejects, 1);
    assert_int_equal(o.reject_line, 2);
    assert_non_null(strstr(o.reject_msg, "EventID"));
    out_free(&o);

    /* deep UserData nesting is bounded */
    vg_buf deep;
    vg_buf_init(&deep, 0);
    vg_buf_puts(&deep, "{\"Event\":{\"System\":{\"EventID\":1},\"UserData\":{\"a\":");
    for (int i = 0; i < 40; i++)
        vg_buf_puts(&deep, "{\"b\":");
    vg_buf_puts(&deep, "1");
    for (int i = 0; i < 40; i++)
        vg_buf_putc(&deep, '}');
    vg_buf_puts(&deep, "}}}\n");
    decode(VG_FMT_EVTX_JSON, vg_str_make(deep.p, deep.n), &o);
    assert_int_equal(o.n, 0);
    assert_int_equal(o.rejects, 1);
    assert_non_null(strstr(o.reject_msg, "deeper"));
    out_free(&o);
    vg_buf_free(&deep);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    vg_buf b;
    vg_buf_init(&b, 0);
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
        vg_buf_put(&b, tmp, k);
    fclose(f);
    *n = b.n;
    return b.p;
}

static void test_evtx_file(void **state)
{
    const char *path = "tests/golden/decoders/evtx_sysmon11_file.input";
    size_t n;
    char *data = slurp(path, &n);
    if (!data) {
        print_message("skip: %s not found (run from the repository root)\n", path);
        skip();
    }
    out o;
    decode(VG_FMT_AUTO, vg_str_make(data, n), &o);
    assert_int_equal(o.n, 7);
    assert_int_equal(o.rejects, 0);
    assert_non_null(strstr(vg_buf_cstr(&o.fields), "EventID=11;"));
    out_free(&o);

    /* with recovery: live records plus whatever free space still holds, never fewer */
    memset(&o, 0, sizeof o);
    vg_buf_init(&o.rows, 0);
    vg_buf_init(&o.fields, 0);
    vg_batchset set;
    vg_diag d;
    vg_ingest_result res = { 0 };
    vg_ingest_opts opts = { .format = VG_FMT_EVTX, .keep_raw = true };
    assert_int_equal(vg_batchset_init(&set, 0, sink, &o), VG_OK);
    assert_int_equal(win_decode_evtx(&set, &opts, vg_str_make(data, n), true, on_reject, &o, &res, &d), VG_OK);
    assert_int_equal(vg_batchset_flush(&set, &d), VG_OK);
    assert_true(o.n >= 7);
    vg_batchset_free(&set);
    out_free(&o);

    /* a truncated image: a reject or fewer rows, never a crash */
    decode(VG_FMT_EVTX, vg_str_make(data, 5000), &o);
    assert_true(o.n < 7);
    out_free(&o);
    /* not EVTX at all */
    decode(VG_FMT_EVTX, VG_STR_LIT("ElfFile\0short"), &o);
    assert_int_equal(o.rejects, 1);
    assert_int_equal(o.reject_line, 0);
    out_free(&o);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_agree),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_evtx_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
