/*
 * fuzz_evtx.c - the EVTX file decoder (libevtx + expat + the mapping): any
 * bytes give rows or rejects, never a crash. An input that starts with the
 * EVTX signature is decoded as a whole file; any other input is taken as the
 * file's one 64 KiB chunk behind a fixed, valid file header, so that the
 * fuzzer (whose inputs are capped at 64 KiB by run.sh, smaller than any real
 * file) spends its time inside chunks, templates and records. The seeds in
 * corpus/fuzz_evtx/ are such chunks, cut from real files. Both live-only and
 * with recovered records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "ingest/vg_ingest.h"
#include "ingest/win_event.h"


/*
 * Debian's libevtx (20181227) leaks its XML tag objects when a record's
 * binary XML is malformed; that is libevtx's bug, not ours, so LeakSanitizer
 * is told to ignore allocations made inside libevtx only.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libevtx.so\n";
}

/* The first 128 bytes of a one-chunk EVTX file header (the rest is zero). */
static const uint8_t file_header[128] = {
    0x45, 0x6c, 0x66, 0x46, 0x69, 0x6c, 0x65, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0,
    0x80, 0, 0, 0, 0x02, 0x00, 0x03, 0x00, 0x00, 0x10, 0x01, 0x00,
    [124] = 0xd1, 0x95, 0x06, 0x15,
};

#define HEADER_SIZE 4096
#define CHUNK_SIZE 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t image[HEADER_SIZE + CHUNK_SIZE];
    if (size > (1u << 20))
        return 0;
    if (!(size >= 8 && memcmp(data, "ElfFile", 8) == 0)) {
        if (size > CHUNK_SIZE)
            size = CHUNK_SIZE;
        memset(image, 0, sizeof image);
        memcpy(image, file_header, sizeof file_header);
        memcpy(image + HEADER_SIZE, data, size);
        data = image;
        size = sizeof image;
    }
    for (int recover = 0; recover < 2; recover++) {
        vg_batchset set;
        vg_diag d;
        vg_ingest_result res = { 0 };
        vg_ingest_opts o = { .format = VG_FMT_EVTX, .keep_raw = true };
        if (vg_batchset_init(&set, 8, fuzz_render_sink, NULL))
            abort();
        vg_err e = win_decode_evtx(&set, &o, vg_str_make((const char *)data, size), recover != 0,
                                   NULL, NULL, &res, &d);
        if (e == VG_OK)
            e = vg_batchset_flush(&set, &d);
        if (e == VG_OK && res.accepted + res.rejected != res.records)
            abort();
        vg_batchset_free(&set);
    }
    return 0;
}
