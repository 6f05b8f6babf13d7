/*
 * fuzz_winlogbeat.c - the Winlogbeat/ECS decoder with the ingest framing (NDJSON
 * lines, pretty-printed documents, arrays): any bytes give rows or rejects,
 * never a crash, and accepted + rejected equals the records seen.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ingest/vg_ingest.h"

static vg_err render_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    vg_buf out;
    vg_buf_init(&out, 0);
    for (uint32_t r = 0; r < b->nrows; r++) {
        vg_buf_clear(&out);
        vg_batch_row_json(b, r, &out);
    }
    vg_buf_free(&out);
    return VG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_batchset set;
    vg_diag d;
    vg_ingest_result res = { 0 };
    vg_ingest_opts o = { .format = VG_FMT_WINLOGBEAT, .keep_raw = true };
    if (vg_batchset_init(&set, 8, render_sink, NULL))
        abort();
    vg_err e = vg_ingest_buffer(&set, &o, vg_str_make((const char *)data, size), NULL, NULL, &res, &d);
    if (e == VG_OK)
        e = vg_batchset_flush(&set, &d);
    if (e == VG_OK && res.accepted + res.rejected != res.records)
        abort();
    vg_batchset_free(&set);
    return 0;
}
