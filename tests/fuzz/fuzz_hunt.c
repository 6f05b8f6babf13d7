/*
 * fuzz_hunt.c - the whole KQL engine (parse, bind, plan, execute) on any
 * input must never crash, hang past its time limit or grow past its memory
 * cap. Runs without a store, so queries work on datatable, print and range
 * sources (a table name is a clean error); the seeds are the golden
 * hunting cases. Every failure must come with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kql/vg_kql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    vg_kql_opts o = { .max_rows = 1000, .timeout_ms = 2000, .max_memory = 64u << 20,
                      .now = 638000000000000000 };
    vg_kql_result *r = NULL;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_kql_run(NULL, vg_str_make((const char *)data, size), &o, &r, &d);
    if (e != VG_OK) {
        if (!d.msg[0])
            abort();
        return 0;
    }
    vg_buf b;
    vg_buf_init(&b, 64u << 20);
    vg_kql_result_write(r, VG_KQL_FMT_DEFENDER, false, &b);
    vg_kql_result_write(r, VG_KQL_FMT_TABLE, false, &b);
    vg_buf_free(&b);
    vg_kql_result_free(r);
    return 0;
}
