/*
 * fuzz_native.c - the native NDJSON decoder and the ingest framing: any bytes,
 * with and without a default table, must give rows or rejects, never a crash,
 * and accepted + rejected must equal the records seen.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ingest(data, size, VG_FMT_NDJSON, NULL);
    fuzz_ingest(data, size, VG_FMT_NDJSON, vg_schema_table(VG_STR_LIT("DeviceProcessEvents")));
    return 0;
}
