#!/usr/bin/env bash
# test_restart.sh - data survives a clean restart (SIGTERM: stop accepting,
# finish in flight, close the store) and a restart after SIGKILL; an ingest
# in flight when SIGTERM arrives is finished and acknowledged, not cut off.
. "$(dirname "$0")/lib.sh"
D=$T/data
gen() {  # gen FIRST N
    python3 -c '
import sys
a, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(a, a + n):
    sys.stdout.write("{\"Timestamp\":\"2025-03-05T00:00:00Z\",\"DeviceName\":\"r-%d\",\"ReportId\":%d}\n" % (i, i))
' "$1" "$2"
}
vg_start "$D" || finish
TOK=$(vg_admin "$D")
gen 0 1000 >"$T/a.ndjson"
r=$(ingest "$TOK" "?table=DeviceFileEvents" "$T/a.ndjson"); expect_match "first batch" '^200 \{"accepted":1000' "$r"
check "SIGTERM exits 0" vg_stop
expect_match "shutdown logged" 'msg="shutting down" signal=TERM' "$(cat "$VG_LOG")"
expect_match "stopped logged" 'msg=stopped' "$(cat "$VG_LOG")"
expect_eq "rows after clean stop" 1000 "$(count "$D" DeviceFileEvents)"
if "$BUILD/vigil" count --data "$D" DeviceFileEvents >"$T/vc" 2>/dev/null; then
    expect_match "vigil count agrees" '(^|[^0-9])1000([^0-9]|$)' "$(cat "$T/vc")"
fi

vg_start "$D" || finish
# a second server on the same data directory is refused, clearly
out=$("$VIGILD" --data "$D" --listen 127.0.0.1:0 2>&1); rc=$?
expect_eq "second vigild on the same data exits 1" 1 "$rc"
expect_match "and says why" 'in use' "$out"
# and so is a second server on the same port
out=$("$VIGILD" --data "$T/other" --listen "127.0.0.1:$VG_PORT" 2>&1); rc=$?
expect_eq "second vigild on the same port exits 1" 1 "$rc"
expect_match "and says why" 'cannot listen' "$out"
gen 1000 500 >"$T/b.ndjson"
r=$(ingest "$TOK" "?table=DeviceFileEvents" "$T/b.ndjson"); expect_match "after restart" '^200 \{"accepted":500' "$r"
vg_kill9
vg_start "$D" || finish
m=$(curl -s -H "Authorization: Bearer $TOK" "$VG_URL/metrics")
expect_match "rows after SIGKILL, seen by the server" '^vigil_store_rows 1500$' "$m"

# SIGTERM while a slow upload is in flight: it completes and is acknowledged
gen 2000 4000 >"$T/c.ndjson"
curl -s -o "$T/inflight.resp" -w '%{http_code}' --limit-rate 100K -H "Authorization: Bearer $TOK" \
    --data-binary @"$T/c.ndjson" "$VG_URL/api/v1/ingest?table=DeviceFileEvents" >"$T/inflight.code" &
cpid=$!
sleep 1
kill -TERM "$VG_PID"
wait $cpid
expect_eq "in-flight request answered" 200 "$(cat "$T/inflight.code")"
expect_match "in-flight request acknowledged" '"accepted":4000' "$(cat "$T/inflight.resp")"
check "exit 0 after draining" vg_stop
expect_eq "rows after draining" 5500 "$(count "$D" DeviceFileEvents)"
vg_start "$D" || finish
r=$(http GET /healthz); expect_match "new connections refused while stopped, served after restart" '^200' "$r"
check "clean stop" vg_stop
finish
