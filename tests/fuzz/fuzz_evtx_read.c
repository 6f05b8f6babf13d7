/*
 * fuzz_evtx_read.c - Vigil's own EVTX reader (evtx_read.c) and the decoder
 * on top of it: any bytes give rows or rejects, never a crash, a leak or
 * unbounded work. An input that starts with "ElfFile" is read as a whole
 * file, checksums and all. Any other input is the file's one 64 KiB chunk
 * (zero-padded) behind a valid file header, with the chunk's two checksums
 * recomputed, so that mutations reach records, templates and values instead
 * of stopping at the checksum. The seeds in corpus/fuzz_evtx_read/ are the
 * used part of chunks from the SigmaHQ regression samples (Sysmon process,
 * config and pipe events, TaskScheduler, WMI UserData).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ingest/evtx_read.h"
#include "fuzz_common.h"
#include "ingest/vg_ingest.h"


static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t image[EVTX_FILE_HEADER_BLOCK + EVTX_CHUNK_SIZE];
    if (size > (1u << 20))
        return 0;
    if (!(size >= 7 && memcmp(data, "ElfFile", 7) == 0)) {
        if (size > EVTX_CHUNK_SIZE)
            size = EVTX_CHUNK_SIZE;
        memset(image, 0, sizeof image);
        memcpy(image, "ElfFile", 8);
        put32(image + 32, 128);
        image[36] = 1;
        image[38] = 3;
        image[41] = 0x10;   /* 4096 */
        image[42] = 1;
        put32(image + 124, (uint32_t)crc32(0L, image, 120));
        uint8_t *c = image + EVTX_FILE_HEADER_BLOCK;
        memcpy(c, data, size);
        uint32_t free_off = get32(c + 48);
        if (free_off >= EVTX_CHUNK_HEADER && free_off <= EVTX_CHUNK_SIZE)
            put32(c + 52, (uint32_t)crc32(0L, c + EVTX_CHUNK_HEADER, free_off - EVTX_CHUNK_HEADER));
        uLong crc = crc32(0L, c, 120);
        crc = crc32(crc, c + 128, EVTX_CHUNK_HEADER - 128);
        put32(c + 124, (uint32_t)crc);
        data = image;
        size = sizeof image;
    }
    vg_batchset set;
    vg_diag d;
    vg_ingest_result res = { 0 };
    vg_ingest_opts o = { .format = VG_FMT_EVTX, .keep_raw = true };
    if (vg_batchset_init(&set, 8, fuzz_render_sink, NULL))
        abort();
    vg_err e = win_decode_evtx_native(&set, &o, vg_str_make((const char *)data, size), NULL, NULL,
                                      &res, &d);
    if (e == VG_OK)
        e = vg_batchset_flush(&set, &d);
    if (e == VG_OK && res.accepted + res.rejected != res.records)
        abort();
    vg_batchset_free(&set);
    return 0;
}
