#!/usr/bin/env bash
# test_limits.sh - bodies larger than max-body are a 413 with a JSON error,
# whether announced by Content-Length or sent chunked; a compressed body
# that decodes past max-decoded (a "zip bomb") is a 413 too; nothing of a
# refused body is stored, and the server keeps serving.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" --max-body 64K --max-decoded 1M || finish
TOK=$(vg_admin "$D")
python3 -c '
import sys
for i in range(2000):
    sys.stdout.write("{\"Timestamp\":\"2025-03-03T00:00:00Z\",\"DeviceName\":\"big-%d\",\"ReportId\":%d}\n" % (i, i))
' >"$T/big.ndjson"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/big.ndjson")
expect_match "413 by Content-Length" '^413 \{"error":"request body of [0-9]+ bytes is larger than max-body' "$r"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/big.ndjson" -H 'Transfer-Encoding: chunked')
expect_match "413 chunked" '^413 \{"error":' "$r"
head -c 5000000 /dev/zero | gzip -c >"$T/bomb.gz"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/bomb.gz" -H 'Content-Encoding: gzip')
expect_match "413 gzip bomb" '^413 \{"error":"decoded body larger than' "$r"
head -c 5000000 /dev/zero | zstd -q -c >"$T/bomb.zst"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/bomb.zst" -H 'Content-Encoding: zstd')
expect_match "413 zstd bomb" '^413 \{"error":"decoded body larger than' "$r"
head -n 100 "$T/big.ndjson" >"$T/small.ndjson"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/small.ndjson")
expect_match "still serving after 413s" '^200 \{"accepted":100' "$r"
m=$(http GET /metrics -H "Authorization: Bearer $TOK")
expect_match "413s counted" 'vigil_ingest_requests_total\{code="413"\} [1-9]' "$m"
check "clean stop" vg_stop
expect_eq "only the small body stored" 100 "$(count "$D" DeviceProcessEvents)"
finish
