#!/usr/bin/env bash
# test_metrics.sh - GET /metrics speaks the Prometheus text format and
# counts what happened: rows by table, rejects by table and reason,
# requests by status, the latency histogram, and the store's gauges.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")
python3 -c '
import sys
for i in range(1000):
    sys.stdout.write("{\"Timestamp\":\"2025-03-04T00:00:00Z\",\"DeviceName\":\"m-%d\",\"ReportId\":%d}\n" % (i, i))
sys.stdout.write("{broken\n{\"DeviceName\":\"x\",\"ReportId\":\"y\"}\n")
' >"$T/b.ndjson"
for i in 1 2 3; do ingest "$TOK" "?table=DeviceNetworkEvents" "$T/b.ndjson" >/dev/null; done
ingest "$TOK" "?table=Bogus" "$T/b.ndjson" >/dev/null
m=$(curl -s -H "Authorization: Bearer $TOK" "$VG_URL/metrics")
expect_match "rows by table" '^vigil_ingest_rows_total\{table="DeviceNetworkEvents"\} 3000$' "$m"
expect_match "json rejects" '^vigil_ingest_rejected_total\{table="DeviceNetworkEvents",reason="json"\} 3$' "$m"
expect_match "type rejects" '^vigil_ingest_rejected_total\{table="DeviceNetworkEvents",reason="type"\} 3$' "$m"
expect_match "requests 200" '^vigil_ingest_requests_total\{code="200"\} 3$' "$m"
expect_match "requests 400" '^vigil_ingest_requests_total\{code="400"\} 1$' "$m"
expect_match "histogram count" '^vigil_ingest_latency_seconds_count 4$' "$m"
expect_match "histogram +Inf bucket" '^vigil_ingest_latency_seconds_bucket\{le="\+Inf"\} 4$' "$m"
expect_match "histogram buckets" '^vigil_ingest_latency_seconds_bucket\{le="0.005"\} [0-9]+$' "$m"
expect_match "histogram sum" '^vigil_ingest_latency_seconds_sum [0-9.]+$' "$m"
expect_match "TYPE lines" '^# TYPE vigil_ingest_latency_seconds histogram$' "$m"
expect_match "store rows gauge" '^vigil_store_rows 3000$' "$m"
expect_match "wal bytes gauge" '^vigil_wal_bytes [0-9]+$' "$m"
expect_match "segments gauge" '^vigil_segments [0-9]+$' "$m"
expect_match "ingest bytes" '^vigil_ingest_bytes_total [1-9][0-9]*$' "$m"
# every sample line is "name{labels} value" or "name value"
bad=$(printf '%s\n' "$m" | grep -v '^#' | grep -Ev '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$' || true)
expect_eq "exposition format" "" "$bad"
hdr=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOK" "$VG_URL/metrics")
expect_match "content type" 'Content-Type: text/plain; version=0.0.4' "$hdr"
check "clean stop" vg_stop
finish
