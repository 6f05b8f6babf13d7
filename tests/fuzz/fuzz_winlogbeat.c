/*
 * fuzz_winlogbeat.c - the Winlogbeat/ECS decoder with the ingest framing
 * (NDJSON lines, pretty-printed documents, arrays): any bytes give rows or
 * rejects, never a crash, and accepted + rejected equals the records seen.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ingest(data, size, VG_FMT_WINLOGBEAT, NULL);
    return 0;
}
