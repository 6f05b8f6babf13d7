#!/usr/bin/env bash
# test_cli_incidents.sh - `vigil incidents|alerts|detections|suppressions`
# against a vigild started here with two small Sigma rules
# (data/cli_incidents/rules) and Defender NDJSON rows that fire them
# (data/cli_incidents/events.ndjson: two alerts on host-a, one on host-z):
#   - incidents list/show (table and json), update with a comment, checked
#     through the API with curl; the If-Match conflict path (a stale
#     --if-match exits 1 with the message and changes nothing);
#   - alerts list/show/update;
#   - detections create (a bad query exits 1 with the server's reason), list,
#     show, update, disable/enable, run (an alert from rows ingested now),
#     delete;
#   - suppressions create/list/delete;
#   - usage errors exit 2 before any request (missing token, bad values),
#     a viewer token is refused with exit 1, --format json parses.
. "$(dirname "$0")/lib.sh"
VIGIL=$BUILD/vigil
DATA=$(cd "$(dirname "$0")" && pwd)/data/cli_incidents
if ! "$VIGIL" incidents --help >/dev/null 2>&1; then
    echo "$TEST_NAME: SKIP (vigil incidents not built yet)"
    exit 0
fi

vg_start "$T/srv" --detect-rules "$DATA/rules" || finish
ATOK=$(vg_admin "$T/srv")
export VIGIL_SERVER=$VG_URL VIGIL_TOKEN=$ATOK
r=$(ingest "$ATOK" "" "$DATA/events.ndjson")
expect_match "ingest the events" '^200 .*"accepted":3' "$r"

# api PATH: GET through curl with the admin token (body only)
api() { curl -s -H "Authorization: Bearer $ATOK" "$VG_URL$1"; }
# jq_py EXPR: evaluates a Python expression over the JSON on stdin (as j)
jq_py() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
# run ARGS...: runs vigil, output in $out (stdout) and $err, status in $rc
run() {
    "$VIGIL" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}
# waits until the server lists N incidents (correlation follows ingest)
for _ in $(seq 1 50); do
    [ "$(api /api/v1/security/incidents | jq_py 'len(j["value"])' 2>/dev/null)" = 2 ] && break
    sleep 0.1
done

# ---- usage errors: exit 2, no request --------------------------------------
VIGIL_TOKEN= "$VIGIL" incidents list >/dev/null 2>"$T/err"
expect_eq "no token: exit 2" 2 "$?"
expect_match "no token: says so" 'needs --token' "$(cat "$T/err")"
env -u VIGIL_SERVER "$VIGIL" incidents list >/dev/null 2>"$T/err"
expect_eq "no server: exit 2" 2 "$?"
run incidents list --status bogus
expect_eq "bad --status: exit 2" 2 "$rc"
expect_match "bad --status: names the option and the values" "--status: 'bogus' is not one of active" "$err"
run incidents show abc
expect_eq "non-numeric incident id: exit 2" 2 "$rc"
run incidents update 1
expect_eq "update without changes: exit 2" 2 "$rc"
expect_match "update without changes: says so" 'nothing to change' "$err"
run incidents update 1 --assign bob --unassign
expect_eq "--assign with --unassign: exit 2" 2 "$rc"
run incidents list --format xml
expect_eq "bad --format: exit 2" 2 "$rc"
run incidents list --orderby 'severity sideways'
expect_eq "bad --orderby: exit 2" 2 "$rc"
run incidents list --server ftp://x
expect_eq "bad --server: exit 2" 2 "$rc"
run incidents list --server https://127.0.0.1:1 --cacert "$T/nope.pem"
expect_eq "unreadable --cacert: exit 2" 2 "$rc"
expect_match "unreadable --cacert: says so" 'cacert: cannot open' "$err"
run incidents bogus
expect_eq "unknown subcommand: exit 2" 2 "$rc"
for c in incidents alerts detections suppressions; do
    check "vigil $c --help exits 0" "$VIGIL" $c --help
done
for s in "incidents list" "incidents show" "incidents update" "alerts list" "alerts update" \
    "detections create" "detections update" "detections run" "suppressions create"; do
    # shellcheck disable=SC2086
    h=$("$VIGIL" $s --help 2>&1)
    expect_match "vigil $s --help lists --server" '--server' "$h"
done
h=$("$VIGIL" incidents update --help)
expect_match "incidents update --help lists --if-match" '--if-match' "$h"

# ---- incidents: list and show ----------------------------------------------
run incidents list
expect_eq "incidents list: exit 0" 0 "$rc"
expect_match "incidents list: header" '^ID +SEVERITY +STATUS +ALERTS +ASSIGNED +LAST UPDATE +NAME' "$out"
expect_match "incidents list: the two-alert incident on host-a" \
    ' high +active +2 +- .*Multi-stage incident involving Execution & Credential access on one endpoint' "$out"
expect_match "incidents list: the count" '\(2 shown of 2\)' "$out"
INC=$(api '/api/v1/security/incidents?$filter=alertCount%20eq%202' | jq_py 'j["value"][0]["id"]')
OTHER=$(api '/api/v1/security/incidents?$filter=alertCount%20eq%201' | jq_py 'j["value"][0]["id"]')
check "the incidents' ids" [ -n "$INC" ] && [ -n "$OTHER" ]
run incidents list --severity high
expect_eq "list --severity high: one incident" 1 "$(grep -c ' high ' <<<"$out")"
expect_nomatch "list --severity high: not the medium one" ' medium ' "$out"
run incidents list --filter "alertCount eq 1" --format json
expect_eq "list --filter --format json: exit 0" 0 "$rc"
expect_eq "list --filter: the one-alert incident" "$OTHER" "$(jq_py 'j["value"][0]["id"]' <<<"$out")"
run incidents list --filter "nosuchfield eq 1"
expect_eq "bad \$filter: exit 1" 1 "$rc"
expect_match "bad \$filter: the server's reason" "answered 400: .*nosuchfield" "$err"
run incidents list --top 1 --all --format json
expect_eq "list --top 1 --all: exit 0" 0 "$rc"
expect_eq "list --top 1 --all: both incidents over two pages" 2 "$(jq_py 'len(j["value"])' <<<"$out")"
run incidents list --top 1
expect_eq "list --top 1: one row" 1 "$(grep -c '^[0-9]' <<<"$out")"
expect_match "list --top 1: says there is more" 'more results' "$err"

run incidents show "$INC" --alerts
expect_eq "incidents show: exit 0" 0 "$rc"
expect_match "show: status" 'Status: +active' "$out"
expect_match "show: devices" 'Devices: +host-a' "$out"
expect_match "show: users" 'Users: +VGCI\\alice' "$out"
expect_match "show: tactics" 'Tactics: .*Execution' "$out"
expect_match "show: techniques" 'Techniques: .*T1003.001' "$out"
expect_match "show: alerts with their evidence counts" \
    'vg[0-9a-f]+ +high +new +[1-9][0-9]* +.*VGCI beta credential dumper' "$out"
expect_match "show: the version" 'Version: +[0-9]+' "$out"
run incidents show "$INC" --graph --format json
expect_eq "show --graph --format json: exit 0" 0 "$rc"
check "show --graph --format json parses" python3 -m json.tool "$T/out"
expect_eq "show --graph: the graph member" True "$(jq_py '"nodes" in j["graph"] and j["id"] == "'"$INC"'"' <<<"$out")"
run incidents show 999999
expect_eq "show of a missing incident: exit 1" 1 "$rc"
expect_match "show of a missing incident: the server's 404" 'answered 404' "$err"

# ---- incidents: update, comment, conflicts ----------------------------------
V0=$(api "/api/v1/security/incidents/$INC" | jq_py 'j["@odata.etag"]')
run incidents update "$INC" --status inProgress --assign 'alice@corp.example' --tag vip \
    --tag 'needs "review"' --classification truePositive --determination malware \
    --comment 'looking at it: "encoded" PowerShell, then a dumper'
expect_eq "update: exit 0" 0 "$rc"
expect_match "update: says what it did" "incident $INC updated \(version [0-9]+\): status inProgress, assigned to alice@corp.example" "$out"
j=$(api "/api/v1/security/incidents/$INC")
expect_eq "update: status (API)" inProgress "$(jq_py 'j["status"]' <<<"$j")"
expect_eq "update: assignedTo (API)" alice@corp.example "$(jq_py 'j["assignedTo"]' <<<"$j")"
expect_eq "update: classification (API)" truePositive/malware "$(jq_py 'j["classification"] + "/" + j["determination"]' <<<"$j")"
expect_eq "update: tags, quotes kept (API)" "['vip', 'needs \"review\"']" "$(jq_py 'j["customTags"]' <<<"$j")"
expect_eq "update: the comment (API)" 'looking at it: "encoded" PowerShell, then a dumper' \
    "$(api "/api/v1/security/incidents/$INC/comments" | jq_py '[c["comment"] for c in j.get("value", j if isinstance(j, list) else [])][-1]')"
check "update: the version moved" [ "$V0" != "$(jq_py 'j["@odata.etag"]' <<<"$j")" ]
run incidents update "$INC" --untag vip
expect_eq "--untag: exit 0" 0 "$rc"
expect_eq "--untag: the tag is gone, the other kept" "['needs \"review\"']" \
    "$(api "/api/v1/security/incidents/$INC" | jq_py 'j["customTags"]')"
run incidents show "$INC"
expect_match "show after update: assignee" 'Assigned to: +alice@corp.example' "$out"
expect_match "show after update: the comment" 'looking at it: "encoded" PowerShell' "$out"
# a stale version: exit 1, the message, nothing changed
NOW=$(api "/api/v1/security/incidents/$INC" | jq_py 'j["@odata.etag"].split("\"")[1]')
run incidents update "$INC" --status resolved --if-match 1
expect_eq "stale --if-match: exit 1" 1 "$rc"
expect_match "stale --if-match: the message" "changed by someone else \(version $NOW now, this update was for version 1\); run again" "$err"
expect_eq "stale --if-match: nothing changed" inProgress "$(api "/api/v1/security/incidents/$INC" | jq_py 'j["status"]')"
run incidents update "$INC" --status resolved --if-match "W/\"$NOW\"" --format json
expect_eq "current --if-match (W/\"N\" form): exit 0" 0 "$rc"
expect_eq "current --if-match: resolved, json answer" resolved "$(jq_py 'j["status"]' <<<"$out")"
run incidents update "$INC" --severity extreme
expect_eq "bad --severity: exit 2" 2 "$rc"
run incidents update "$INC" --if-match soon --status active
expect_eq "bad --if-match: exit 2" 2 "$rc"

# a viewer may read but not change
VTOK=$(vg_add_token "$T/srv" reader viewer)
run incidents list --token "$VTOK"
expect_eq "viewer: list exit 0" 0 "$rc"
run incidents update "$OTHER" --status inProgress --token "$VTOK"
expect_eq "viewer: update refused, exit 1" 1 "$rc"
expect_match "viewer: the server's 403" 'answered 403' "$err"
run incidents list --token wrong-token
expect_eq "bad token: exit 1" 1 "$rc"
expect_match "bad token: the server's 401" 'answered 401' "$err"

# ---- alerts --------------------------------------------------------------
run alerts list
expect_eq "alerts list: exit 0" 0 "$rc"
expect_match "alerts list: header" '^ID +SEVERITY +STATUS +INCIDENT +ASSIGNED +CREATED +TITLE' "$out"
expect_eq "alerts list: three alerts" 3 "$(grep -c '^vg' <<<"$out")"
AL=$(api '/api/v1/security/alerts_v2' | jq_py '[a["id"] for a in j["value"] if a["incidentId"] == "'"$OTHER"'"][0]')
check "the host-z alert's id" [ -n "$AL" ]
run alerts list --status new --format json
expect_eq "alerts list --status new: the host-z alert still new" True "$(jq_py '"'"$AL"'" in [a["id"] for a in j["value"]]' <<<"$out")"
run alerts show "$AL"
expect_match "alerts show: title" "Alert $AL: VGCI alpha encoded PowerShell" "$out"
expect_match "alerts show: evidence" 'Evidence \([1-9]' "$out"
expect_match "alerts show: the process evidence and its command line" 'processEvidence +powershell.exe +"powershell -enc vgci-alpha other"' "$out"
run alerts update "$AL" --status inProgress --assign bob --comment 'checking host-z'
expect_eq "alerts update: exit 0" 0 "$rc"
j=$(api "/api/v1/security/alerts_v2/$AL")
expect_eq "alerts update: status and assignee (API)" inProgress/bob "$(jq_py 'j["status"] + "/" + j["assignedTo"]' <<<"$j")"
expect_match "alerts update: the comment (API)" 'checking host-z' "$j"
run alerts update "$AL" --status active
expect_eq "alerts update --status active (an incident status): exit 2" 2 "$rc"
run alerts show 'bad id!'
expect_eq "alerts show with a bad id: exit 2" 2 "$rc"
run alerts show vg0000
expect_eq "alerts show of a missing alert: exit 1" 1 "$rc"

# ---- detections --------------------------------------------------------------
run detections create --name 'vgci broken' --query 'DeviceProcessEvents | where' --title t \
    --severity high --category Execution
expect_eq "detections create with a bad query: exit 1" 1 "$rc"
expect_match "bad query: the server's reason" 'answered 400: .*line 1, column' "$err"
run detections create --name x --query 'DeviceProcessEvents' --title t --severity high
expect_eq "detections create without --category: exit 2" 2 "$rc"
expect_match "without --category: says so" '--category is required' "$err"
run detections create --name x --query q --title t --severity high --category Execution --technique 1059
expect_eq "bad --technique: exit 2" 2 "$rc"
run detections create --name x --query q --title t --severity high --category Execution --period 2H
expect_eq "bad --period: exit 2" 2 "$rc"
run detections create --name x --query q --title t --severity high --category Execution --device-column 'Device Id'
expect_eq "bad --device-column: exit 2" 2 "$rc"
printf '%s\n%s\n%s' 'DeviceProcessEvents' '| where ProcessCommandLine has "vgci-custom"' \
    '| project Timestamp, ReportId, DeviceId, DeviceName, AccountName' >"$T/q.kql"
run detections create --name 'vgci custom' --query-file "$T/q.kql" --period 1H \
    --title 'VGCI custom detection' --severity medium --category Execution \
    --technique T1059.001 --device-column DeviceId --description 'from test_cli_incidents' --format json
expect_eq "detections create: exit 0" 0 "$rc"
DET=$(jq_py 'j["id"]' <<<"$out")
j=$(api "/api/v1/security/rules/detectionRules/$DET")
expect_eq "create: the impacted asset (API)" '#microsoft.graph.security.impactedDeviceAsset deviceId' \
    "$(jq_py 'j["detectionAction"]["alertTemplate"]["impactedAssets"][0]["@odata.type"] + " " + j["detectionAction"]["alertTemplate"]["impactedAssets"][0]["identifier"]' <<<"$j")"
expect_eq "create: the query, as written (API)" "$(cat "$T/q.kql")" "$(jq_py 'j["queryCondition"]["queryText"]' <<<"$j")"
expect_eq "create: period, severity, techniques (API)" "1H medium ['T1059.001']" \
    "$(jq_py 'j["schedule"]["period"] + " " + j["detectionAction"]["alertTemplate"]["severity"] + " " + str(j["detectionAction"]["alertTemplate"]["mitreTechniques"])' <<<"$j")"
run detections list
expect_match "detections list: the rule" "^$DET +yes +1H +medium .*vgci custom" "$out"
run detections update "$DET" --severity high --title 'VGCI custom v2'
expect_eq "detections update: exit 0" 0 "$rc"
j=$(api "/api/v1/security/rules/detectionRules/$DET")
expect_eq "update: severity and title changed, query and assets kept (API)" \
    "high|VGCI custom v2|$(cat "$T/q.kql")|deviceId" \
    "$(jq_py '"|".join([j["detectionAction"]["alertTemplate"]["severity"], j["detectionAction"]["alertTemplate"]["title"], j["queryCondition"]["queryText"], j["detectionAction"]["alertTemplate"]["impactedAssets"][0]["identifier"]])' <<<"$j")"
run detections disable "$DET"
expect_eq "detections disable: exit 0" 0 "$rc"
expect_eq "disable: isEnabled false (API)" False "$(api "/api/v1/security/rules/detectionRules/$DET" | jq_py 'j["isEnabled"]')"
run detections enable "$DET"
expect_eq "enable: isEnabled true (API)" True "$(api "/api/v1/security/rules/detectionRules/$DET" | jq_py 'j["isEnabled"]')"
# rows from a few minutes ago, inside the 1H rule's lookback: run raises an alert
ts=$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Table":"DeviceProcessEvents","Timestamp":"%s","DeviceId":"id-host-c","DeviceName":"host-c","ActionType":"ProcessCreated","FileName":"cmd.exe","FolderPath":"C:\\\\Windows\\\\System32\\\\cmd.exe","ProcessCommandLine":"cmd /c vgci-custom","AccountDomain":"VGCI","AccountName":"carol","ReportId":77}\n' "$ts" >"$T/custom.ndjson"
r=$(ingest "$ATOK" "" "$T/custom.ndjson")
expect_match "ingest a row for the custom detection" '^200 ' "$r"
run detections run "$DET" --format json
expect_eq "detections run: exit 0" 0 "$rc"
expect_eq "detections run: one alert created" 1 "$(jq_py 'j.get("alertsCreated")' <<<"$out")"
run detections show "$DET" --runs
expect_eq "detections show --runs: exit 0" 0 "$rc"
expect_match "show --runs: the query" 'vgci-custom' "$out"
expect_match "show --runs: the runs" 'Runs \([1-9]' "$out"
run detections show "$DET" --runs --format json
check "detections show --runs --format json parses" python3 -m json.tool "$T/out"
run alerts list --filter "title eq 'VGCI custom v2'" --format json
expect_eq "the custom detection's alert is listed" 1 "$(jq_py 'len(j["value"])' <<<"$out")"
run detections delete "$DET"
expect_eq "detections delete: exit 0" 0 "$rc"
run detections show "$DET"
expect_eq "show after delete: exit 1" 1 "$rc"
expect_match "show after delete: the server's 404" 'answered 404' "$err"

# ---- suppressions ------------------------------------------------------------
run suppressions create --name 'lab host' --rule 1c1a0000-0000-4000-8000-000000000001 \
    --device host-lab --user 'VGCI\tester' --action resolve --format json
expect_eq "suppressions create: exit 0" 0 "$rc"
SUP=$(jq_py 'j["id"]' <<<"$out")
j=$(api "/api/v1/security/suppressionRules/$SUP")
expect_eq "suppression: rule, action, conditions (API)" \
    "1c1a0000-0000-4000-8000-000000000001 resolve device=host-lab user=VGCI\\tester" \
    "$(jq_py 'j["ruleId"] + " " + j["action"] + " " + " ".join(c["kind"] + "=" + c["value"] for c in j["conditions"]).replace("account=", "user=")' <<<"$j")"
run suppressions list
expect_match "suppressions list: the rule" "^$SUP +yes +resolve +1c1a0000-0000-4000-8000-000000000001 .*device=host-lab.*lab host" "$out"
run suppressions list --format json
check "suppressions list --format json parses" python3 -m json.tool "$T/out"
run suppressions create --name x --rule r --file abc
expect_eq "suppressions create with a bad --file: exit 2" 2 "$rc"
run suppressions create --name x --rule r --ip 300.1.1.1
expect_eq "suppressions create with a bad --ip: exit 2" 2 "$rc"
run suppressions create --name x --rule r --action drop
expect_eq "suppressions create with a bad --action: exit 2" 2 "$rc"
run suppressions delete "$SUP"
expect_eq "suppressions delete: exit 0" 0 "$rc"
expect_eq "suppressions delete: gone (API)" 0 "$(api /api/v1/security/suppressionRules | jq_py 'len(j["value"])')"
run suppressions delete "$SUP"
expect_eq "suppressions delete again: exit 1" 1 "$rc"

# ---- json output of every list parses ----------------------------------------
for l in incidents alerts detections suppressions; do
    "$VIGIL" $l list --format json >"$T/l.json" 2>/dev/null
    check "vigil $l list --format json parses" python3 -m json.tool "$T/l.json"
done

vg_stop
finish
