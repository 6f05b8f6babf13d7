/*
 * fuzz_common.h - what the decoder fuzz targets share: a sink that renders
 * every row (as `vigil dump` would, so rendering is fuzzed too) and one
 * ingest run through the real framing with the invariant that every record
 * is either accepted or rejected. Header-only: each target is one program.
 */
#ifndef VG_FUZZ_COMMON_H
#define VG_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "ingest/vg_ingest.h"

static vg_err fuzz_render_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    (void)ctx;
    (void)d;
    vg_buf out;
    vg_buf_init(&out, 0);
    for (uint32_t r = 0; r < b->nrows; r++) {
        vg_buf_clear(&out);
        vg_batch_row_json(b, r, &out);
    }
    vg_buf_free(&out);
    return VG_OK;
}

/* Decodes data as fmt (default table t, may be NULL); aborts on a broken invariant. */
static inline void fuzz_ingest(const uint8_t *data, size_t size, vg_format fmt,
                               const vg_table_def *t)
{
    vg_batchset set;
    vg_diag d;
    vg_ingest_result res = { 0 };
    vg_ingest_opts o = { .format = fmt, .keep_raw = true, .table = t };
    if (vg_batchset_init(&set, 8, fuzz_render_sink, NULL))
        abort();
    vg_err e = vg_ingest_buffer(&set, &o, vg_str_make((const char *)data, size), NULL, NULL,
                                &res, &d);
    if (e == VG_OK)
        e = vg_batchset_flush(&set, &d);
    if (e == VG_OK && res.accepted + res.rejected != res.records)
        abort();
    vg_batchset_free(&set);
}

#endif
