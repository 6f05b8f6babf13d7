/*
 * fuzz_evtx_json.c - the evtx JSON decoder with the ingest framing (NDJSON
 * lines, pretty-printed documents, arrays): any bytes give rows or rejects,
 * never a crash, and accepted + rejected equals the records seen.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ingest(data, size, VG_FMT_EVTX_JSON, NULL);
    return 0;
}
