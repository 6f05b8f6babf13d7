/*
 * fuzz_wal.c - libFuzzer target: arbitrary bytes as a WAL file and as a
 * batch payload.
 *
 * WAL replay must classify every byte string as records, damaged regions or
 * a torn tail, and payload decoding must reject anything malformed, without
 * crashing. The first byte picks the mode: odd inputs get a valid WAL file
 * header (which the fuzzer cannot forge: it is checksummed) and, for every
 * record header, a repaired header checksum, so the framing and the payload
 * decoder behind it are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static vg_err on_item(void *ctx, wal_item *it, vg_diag *d)
{
    (void)ctx;
    (void)d;
    if (it->ev == WAL_EV_RECORD) {
        st_chunk *c;
        if (wal_payload_decode(it->payload, it->payload_len, &c, d) == VG_OK)
            st_chunk_unref(c);
        it->payload = NULL;
    }
    return VG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    vg_diag d;
    /* the payload decoder alone: its input is only checked after the
     * record checksum, so feed it directly (8-byte aligned copy) */
    void *pl = malloc(size);
    if (pl) {
        memcpy(pl, data + 1, size - 1);
        st_chunk *c;
        if (wal_payload_decode(pl, size - 1, &c, &d) == VG_OK)
            st_chunk_unref(c);
    }
    size_t n = WAL_FILE_HDR + size - 1;
    uint8_t *buf = malloc(n);
    if (!buf)
        return 0;
    memcpy(buf + WAL_FILE_HDR, data + 1, size - 1);
    if (data[0] & 1) {
        wal_file_header(buf, 1);
        /* repair record headers found at the plausible positions */
        size_t off = WAL_FILE_HDR;
        while (off + WAL_REC_HDR <= n) {
            uint8_t *h = buf + off;
            h[0] = 0x56, h[1] = 0x47, h[2] = 0x57, h[3] = 0x52;
            uint32_t len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                           (uint32_t)h[7] << 24;
            if (len > n - off - WAL_REC_HDR)
                break;
            uint64_t ph = st_hash(h + WAL_REC_HDR, len);
            for (int i = 0; i < 8; i++)
                h[32 + i] = (uint8_t)(ph >> (8 * i));
            uint64_t hh = st_hash(h, 40);
            for (int i = 0; i < 8; i++)
                h[40 + i] = (uint8_t)(hh >> (8 * i));
            off += WAL_REC_HDR + len;
        }
    } else {
        memcpy(buf, data + 1, size - 1 < WAL_FILE_HDR ? size - 1 : WAL_FILE_HDR);
    }
    wal_buf_scan(buf, n, on_item, NULL, &d);
    free(buf);
    return 0;
}
