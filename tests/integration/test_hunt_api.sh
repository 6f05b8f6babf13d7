#!/usr/bin/env bash
# test_hunt_api.sh - advanced hunting against a vigild started here:
# Defender's and Graph's shapes, the same answers offline (vigil hunt --data
# on the same rows after the server stops) and through `vigil hunt --server`,
# 400 with line:column for a bad query, 401 without a token, 403 for an
# ingest-only token, the row cap with its truncation flag, externaldata refused.
. "$(dirname "$0")/lib.sh"
VIGIL=$BUILD/vigil
START=2025-01-06T00:00:00Z

"$VIGIL" gen --devices 6 --days 2 --rows 6000 --seed 5 --start $START \
    --tables DeviceProcessEvents,DeviceNetworkEvents --out "$T/a.ndjson"
vg_start "$T/srv" || finish
tok=$(vg_admin "$T/srv")
itok=$(vg_add_token "$T/srv" agent ingest)
vtok=$(vg_add_token "$T/srv" reader viewer)
r=$(ingest "$tok" "" "$T/a.ndjson")
expect_match "ingest" "^200 " "$r"

q='{"Query":"DeviceProcessEvents | summarize n = count() by DeviceName | order by DeviceName asc"}'
r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $vtok" --data-binary "$q")
expect_match "defender shape: 200" "^200 " "$r"
expect_match "defender shape: Schema" '"Schema":\[\{"Name":"DeviceName","Type":"String"\},\{"Name":"n","Type":"Int64"\}\]' "$r"
expect_match "defender shape: Stats and Results" '"Stats":\{"ExecutionTime".*"Results":\[\{"DeviceName":' "$r"

r=$(http POST /api/v1/security/runHuntingQuery -H "Authorization: Bearer $vtok" --data-binary "$q")
expect_match "graph shape" '^200 \{"@odata.context".*"schema":\[\{"name":"DeviceName","type":"String"\}.*"results":\[\{' "$r"

r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $vtok" \
    --data-binary '{"Query":"DeviceProcessEvents\n| where NoSuchColumn == 1"}')
expect_match "bad query: 400 with position" '^400 .*line 2, column 9: Failed to resolve column .NoSuchColumn' "$r"
r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $vtok" --data-binary '{"Query":"DeviceProcessEvents | where"}')
expect_match "syntax error: 400" '^400 .*line 1, column' "$r"
r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $vtok" --data-binary '{"query":"externaldata(a:string)[\"http://127.0.0.1/x\"]"}')
expect_match "externaldata refused" '^400 .*externaldata' "$r"
r=$(http POST /api/advancedhunting/run --data-binary "$q")
expect_match "no token: 401" "^401 " "$r"
r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $itok" --data-binary "$q")
expect_match "ingest-only token: 403" "^403 " "$r"
r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $vtok" --data-binary '{"Query":"DeviceProcessEvents | project Timestamp","MaxRows":10}')
expect_match "row cap: truncated" '"Truncated":true' "$r"
rows=$(printf '%s' "$r" | grep -o '"Timestamp":' | wc -l)
expect_eq "row cap: 10 rows" 10 "$rows"
r=$(http POST /api/advancedhunting/run -H "Authorization: Bearer $vtok" --data-binary 'not json')
expect_match "body not JSON: 400" "^400 " "$r"

# the CLI against the server, and offline on the same rows: same answer
kq='DeviceProcessEvents | where FileName =~ "cmd.exe" | join kind=inner (DeviceNetworkEvents) on DeviceId, $left.ProcessId == $right.InitiatingProcessId | summarize c = count() by DeviceName | order by DeviceName asc'
"$VIGIL" hunt --server "$VG_URL" --token "$vtok" --format json "$kq" >"$T/srv.json" 2>"$T/err"
expect_eq "hunt --server exit" 0 "$?"
"$VIGIL" hunt --server "$VG_URL" --token wrong "$kq" >/dev/null 2>"$T/err"
expect_eq "hunt --server bad token exits 1" 1 "$?"
expect_match "hunt --server bad token says 401" "401" "$(cat "$T/err")"
vg_stop
"$VIGIL" hunt --data "$T/srv" --format json "$kq" >"$T/off.json" 2>"$T/err"
expect_eq "hunt --data exit" 0 "$?"
expect_eq "server and offline answers are the same" "$(cat "$T/off.json")" "$(cat "$T/srv.json")"
lines=$(wc -l <"$T/off.json")
check "the join found rows" [ "$lines" -gt 0 ]
"$VIGIL" hunt --data "$T/srv" --format csv 'DeviceProcessEvents | take 2 | project DeviceName, FileName' >"$T/out.csv"
expect_match "csv header" "^DeviceName,FileName" "$(head -1 "$T/out.csv")"
"$VIGIL" hunt --data "$T/srv" 'DeviceProcessEvents | where' >/dev/null 2>"$T/err"
expect_eq "offline syntax error exits 1" 1 "$?"
expect_match "offline syntax error position" "line 1, column" "$(cat "$T/err")"
finish
