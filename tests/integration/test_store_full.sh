#!/usr/bin/env bash
# test_store_full.sh - a store that cannot write (its disk is full) makes
# ingest answer 503 with nothing acknowledged, the server stays up, and every
# row acknowledged before the disk filled is still there. Needs root to mount
# a small tmpfs; skipped otherwise.
. "$(dirname "$0")/lib.sh"
MNT=$T/small
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=3M tmpfs "$MNT" 2>/dev/null; then
    echo "$TEST_NAME: SKIP (cannot mount a tmpfs)"
    exit 0
fi
trap 'vg_kill9; umount "$MNT" 2>/dev/null; cleanup' EXIT
D=$MNT/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")
acked=0 got503=0
python3 -c '
import random, sys
random.seed(1)
for b in range(41):
    with open("%s/b%d.ndjson" % (sys.argv[1], b), "w") as f:
        for i in range(1000):
            rid = b * 1000 + i
            f.write("{\"Timestamp\":\"2025-03-06T00:00:00Z\",\"DeviceName\":\"full-%d\",\"ReportId\":%d,\"ProcessCommandLine\":\"%0200x\"}\n" % (rid, rid, random.getrandbits(800)))
' "$T"
for i in $(seq 0 40); do
    r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/b$i.ndjson")
    case $r in
    "200 "*) acked=$((acked + $(json_get "${r#200 }" accepted))) ;;
    "503 "*) got503=1; last503=$r; break ;;
    *) fail "unexpected answer: $(printf '%s' "$r" | head -c 300)"; break ;;
    esac
done
expect_eq "a full disk gives a 503" 1 "$got503"
expect_match "503 is a JSON error, nothing accepted" '^503 \{"error":"store unavailable' "${last503:-}"
expect_nomatch "503 acknowledges nothing" '"accepted"' "${last503:-}"
r=$(http GET /healthz); expect_match "server still up" '^200 ' "$r"
m=$(curl -s -H "Authorization: Bearer $TOK" "$VG_URL/metrics")
expect_match "503 counted" 'vigil_ingest_requests_total\{code="503"\} [1-9]' "$m"
vg_kill9
# on a disk with room, everything acknowledged is there
cp -a "$D" "$T/copy"
n=$(count "$T/copy" DeviceProcessEvents)
echo "  acknowledged rows before the disk filled: $acked, found: $n"
check "acknowledged rows were made" test "$acked" -gt 0
check "every acknowledged row is present" test "$n" -ge "$acked"
finish
