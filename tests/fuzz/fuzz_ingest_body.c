/*
 * fuzz_ingest_body.c - the body pipeline of POST /api/v1/ingest
 * (vg_ingest_body in src/server/srv_body.c): Content-Encoding decoding with a
 * bounded output, format detection and every decoder, with the rejects
 * recorded as the route records them. The first input byte picks the
 * encoding, the format and whether a default table is given; the rest is
 * the body. Any bytes must give rows and rejects or a clean error, never a
 * crash, a leak or output past the decoded-size cap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "server/vg_srv_int.h"

#define FUZZ_MAX_DECODED (1u << 20)

static vg_err null_sink(void *ctx, vg_batch *b, vg_diag *d)
{
    uint64_t *rows = ctx;
    *rows += b->nrows;
    return VG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    vg_encoding enc = (vg_encoding)(sel % VG_ENC_COUNT_);
    vg_format fmt = (vg_format)((sel >> 2) % VG_FMT_COUNT_);
    vg_ingest_opts o = { .format = fmt, .keep_raw = true,
                         .table = (sel & 0x40) ? vg_schema_table(VG_STR_LIT("DeviceProcessEvents"))
                                               : NULL };
    uint64_t rows = 0;
    vg_batchset set;
    if (vg_batchset_init(&set, 64, null_sink, &rows))
        abort();
    vg_buf decoded;
    vg_buf_init(&decoded, 0);
    vg_rejects rej;
    vg_rejects_init(&rej);
    vg_ingest_result res;
    vg_diag d;
    vg_diag_clear(&d);
    vg_err e = vg_ingest_body(enc, vg_str_make((const char *)data + 1, size - 1),
                              FUZZ_MAX_DECODED, &o, &set, &decoded, &rej, &res, &d);
    if (decoded.n > FUZZ_MAX_DECODED + 1)
        abort();   /* the decoded-size cap was not enforced */
    if (e == VG_OK) {
        if (vg_batchset_flush(&set, &d))
            abort();
        /* every record is either a row or a recorded reject */
        if (res.accepted + res.rejected != res.records || rej.n != res.rejected ||
            rows != res.accepted)
            abort();
    }
    vg_rejects_free(&rej);
    vg_buf_free(&decoded);
    vg_batchset_free(&set);
    return 0;
}
