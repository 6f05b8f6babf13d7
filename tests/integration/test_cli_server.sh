#!/usr/bin/env bash
# test_cli_server.sh - `vigil ingest --server` against a vigild started here:
# rows arrive (counted offline after the server stops), rejects come back
# as FILE:LINE with exit 3 and land in the server's dead-letter area, a bad
# token fails clearly, and an offline ingest into the directory the server
# holds is refused.
. "$(dirname "$0")/lib.sh"
VIGIL=$BUILD/vigil
if "$VIGIL" --help 2>&1 | grep -q 'not built yet'; then
    echo "$TEST_NAME: SKIP (vigil not built yet)"
    exit 0
fi
if "$VIGILD" --help 2>&1 | grep -q 'not built yet'; then
    echo "$TEST_NAME: SKIP (vigild not built yet)"
    exit 0
fi
START=2025-01-06T00:00:00Z

"$VIGIL" gen --devices 8 --days 2 --rows 12000 --seed 3 --start $START --out "$T/a.ndjson"
vg_start "$T/srv" || finish
tok=$(vg_admin "$T/srv")

# the directory is held: offline ingest must refuse it, clearly
out=$("$VIGIL" ingest --data "$T/srv" "$T/a.ndjson" 2>&1); rc=$?
expect_eq "offline ingest into a held directory exits 1" 1 "$rc"
expect_match "offline ingest names the problem" "in use|--server" "$out"

# small chunks so that several requests are made and line numbers add up
out=$("$VIGIL" ingest --server "$VG_URL" --token "$tok" --chunk 256K "$T/a.ndjson" 2>"$T/err"); rc=$?
expect_eq "ingest --server exit" 0 "$rc"
expect_match "ingest --server summary" "12,000 rows accepted, 0 rejected" "$out"

{
    sed -n 1,2p "$T/a.ndjson"
    echo '{"Table":"DeviceProcessEvents","Timestamp":"yesterday"}'
    sed -n 3p "$T/a.ndjson"
    echo 'not json'
} >"$T/bad.ndjson"
out=$(VIGIL_TOKEN=$tok "$VIGIL" ingest --server "$VG_URL/" "$T/bad.ndjson" 2>"$T/err"); rc=$?
err=$(cat "$T/err")
expect_eq "ingest --server with bad lines exits 3" 3 "$rc"
expect_match "server rejects: summary" "3 rows accepted, 2 rejected" "$out"
expect_match "server rejects: file:line (3)" "bad.ndjson:3: " "$err"
expect_match "server rejects: file:line (5)" "bad.ndjson:5: " "$err"

# line numbers stay right across requests: a bad line deep in a big file
{ head -6000 "$T/a.ndjson"; echo '{"Table":"DeviceInfo","Timestamp":"x"}'; } >"$T/deep.ndjson"
"$VIGIL" ingest --server "$VG_URL" --token "$tok" --chunk 128K "$T/deep.ndjson" >/dev/null 2>"$T/err"
expect_eq "deep reject exit" 3 "$?"
expect_match "deep reject line number" "deep.ndjson:6001: " "$(cat "$T/err")"

"$VIGIL" ingest --server "$VG_URL" --token wrong "$T/bad.ndjson" >/dev/null 2>"$T/err"
expect_eq "bad token exits 1" 1 "$?"
expect_match "bad token message" "401" "$(cat "$T/err")"
"$VIGIL" ingest --server "$VG_URL" "$T/bad.ndjson" >/dev/null 2>&1 </dev/null
expect_eq "no token is a usage error" 2 "$?"

vg_stop
dl=$(cat "$T"/srv/deadletter/*.ndjson 2>/dev/null)
expect_match "server dead-lettered the bad lines" "yesterday" "$dl"
for t in DeviceProcessEvents DeviceNetworkEvents DeviceInfo; do
    # the whole file, the 3 good lines of bad.ndjson, the 6000 of deep.ndjson
    got=$("$VIGIL" count --data "$T/srv" $t)
    expect_eq "rows sent through the server: $t" \
        "$(( $(grep -c "^{\"Table\":\"$t\"" "$T/a.ndjson") + $(head -3 "$T/a.ndjson" | grep -c "^{\"Table\":\"$t\"") + $(head -6000 "$T/a.ndjson" | grep -c "^{\"Table\":\"$t\"") ))" "$got"
done
# EVTX files are decoded here and sent as native rows: same rows as offline
EVTX_DIR=$(cd "$(dirname "$0")/../.." && pwd)/../shared/data/sigma/regression_data
if [ -d "$EVTX_DIR" ] && vg_start "$T/srv2"; then
    tok=$(vg_admin "$T/srv2")
    mapfile -t ev < <(find "$EVTX_DIR" -name '*.evtx' | sort | head -8)
    a=$("$VIGIL" ingest --server "$VG_URL" --token "$tok" "${ev[@]}" 2>/dev/null | sed -n 's/.* \([0-9,]*\) rows accepted.*/\1/p')
    b=$("$VIGIL" ingest --data "$T/evtx-offline" "${ev[@]}" 2>/dev/null | sed -n 's/.* \([0-9,]*\) rows accepted.*/\1/p')
    expect_match "EVTX through the server: rows accepted" "^[1-9]" "$a"
    expect_eq "EVTX through the server: same rows as offline" "$b" "$a"
    vg_stop
else
    echo "  (no EVTX samples at $EVTX_DIR: EVTX case skipped)"
fi

finish
