#!/usr/bin/env bash
# test_custom_detections.sh - custom detection rules (KQL on a schedule) in
# vigild, end to end over HTTP, with Sigma detection off:
#   - rows of EmailEvents (a phishing verdict), DeviceProcessEvents and
#     IdentityLogonEvents (failures) ingested;
#   - rules refused with 400 and their reason (no ReportId, no entity column,
#     NRT with a join, bad KQL with line:column, an impacted asset the query
#     does not return), 409 on a duplicate name, 403 for a viewer;
#   - POST .../run raises one alert per matching row, visible through
#     advanced hunting (AlertInfo with DetectionSource "Custom detection",
#     AlertEvidence); a second run raises nothing new;
#   - more than 100 matching rows: 100 alerts and a truncated run;
#   - a near-real-time rule picks up new rows within seconds;
#   - catch-up: with last_run_end moved 3 hours back while vigild is down, a
#     1H rule makes 3 catch-up runs at start and no duplicate alerts;
#   - PATCH and DELETE with a stale If-Match get 412; DELETE; the rules
#     survive a restart; alerts reach the incident API when it is there.
. "$(dirname "$0")/lib.sh"

D=$T/data
vg_start "$D" --detect=false --detections-tick 1s || finish
ATOK=$(vg_admin "$D")
VTOK=$(vg_add_token "$D" viewer viewer)
A=(-H "Authorization: Bearer $ATOK")
DR=/api/v1/security/rules/detectionRules

# hunt KQL: the rows of a query as NDJSON (admin)
hunt() {
    curl -s "${A[@]}" -H 'Content-Type: application/json' \
        --data-binary "$(jq -cn --arg q "$1" '{Query: $q}')" \
        "$VG_URL/api/advancedhunting/run?format=ndjson"
}
# nrows KQL: the number of rows of `KQL | count`
nrows() { hunt "$1 | count" | jq -r '.Count // empty' | head -1; }
# rule NAME PERIOD QUERY [ASSETS-JSON] [ENABLED]: a detectionRule body
rule() {
    jq -cn --arg n "$1" --arg p "$2" --arg q "$3" --argjson assets "${4:-[]}" --argjson en "${5:-true}" '{
        displayName: $n, isEnabled: $en, queryCondition: {queryText: $q}, schedule: {period: $p},
        detectionAction: {alertTemplate: {title: ("Custom: " + $n), description: "test rule",
            severity: "high", category: "Execution", recommendedActions: "look",
            mitreTechniques: ["T1059.001"], impactedAssets: $assets}}}'
}
DEV_ASSETS='[{"@odata.type":"#microsoft.graph.security.impactedDeviceAsset","identifier":"deviceId"},{"@odata.type":"#microsoft.graph.security.impactedUserAsset","identifier":"accountUpn"}]'
# create BODY: POST, prints "STATUS BODY"
create() { http POST "$DR" "${A[@]}" -H 'Content-Type: application/json' --data-binary "$1"; }
# wait_for DESC CMD EXPECTED: polls CMD (20 s at most) until it prints EXPECTED
wait_for() {
    local i got
    for i in $(seq 1 100); do
        got=$(eval "$2")
        [ "$got" = "$3" ] && { ok; return 0; }
        sleep 0.2
    done
    fail "$1: expected '$3', got '$got'"
    return 1
}
# nruns ID: how many runs a rule has recorded
nruns() { curl -s "${A[@]}" "$VG_URL$DR/$1/runs" | jq '.value | length'; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }
now=$(date +%s)

# ---------------------------------------------------------------------------
# events
{
    for i in 1 2 3; do
        printf '{"Timestamp":"%s","DeviceId":"dev-%d","DeviceName":"ws%d","ReportId":%d,"FileName":"powershell.exe","ProcessCommandLine":"powershell -enc AAAA","AccountUpn":"u%d@contoso.com","AccountName":"u%d","AccountDomain":"contoso"}\n' \
            "$(iso $((now - 600 * i)))" "$i" "$i" "$((100 + i))" "$i" "$i"
    done
    # 120 rows for the 100-alert cap, and one for the catch-up rule 2 hours back
    for i in $(seq 1 120); do
        printf '{"Timestamp":"%s","DeviceId":"dev-b%d","DeviceName":"wsb%d","ReportId":%d,"FileName":"bulk.exe"}\n' \
            "$(iso $((now - 60 - i)))" "$i" "$i" "$((1000 + i))"
    done
    printf '{"Timestamp":"%s","DeviceId":"dev-c","DeviceName":"wsc","ReportId":5000,"FileName":"catch.exe"}\n' \
        "$(iso $((now - 7200)))"
} >"$T/proc.ndjson"
{
    printf '{"Timestamp":"%s","NetworkMessageId":"m1","RecipientEmailAddress":"alice@contoso.com","SenderFromAddress":"evil@phish.example","Subject":"Invoice","ThreatTypes":"Phish","DeliveryAction":"Delivered","ReportId":"r-m1"}\n' "$(iso $((now - 900)))"
    printf '{"Timestamp":"%s","NetworkMessageId":"m2","RecipientEmailAddress":"bob@contoso.com","SenderFromAddress":"evil@phish.example","Subject":"Invoice","ThreatTypes":"Phish","DeliveryAction":"Delivered","ReportId":"r-m2"}\n' "$(iso $((now - 800)))"
    printf '{"Timestamp":"%s","NetworkMessageId":"m3","RecipientEmailAddress":"carol@contoso.com","SenderFromAddress":"friend@ok.example","Subject":"Lunch","ThreatTypes":"","DeliveryAction":"Delivered","ReportId":"r-m3"}\n' "$(iso $((now - 700)))"
} >"$T/email.ndjson"
{
    for i in 1 2 3 4 5; do
        printf '{"Timestamp":"%s","ActionType":"LogonFailed","Application":"Active Directory","LogonType":"Credentials validation","AccountUpn":"dave@contoso.com","AccountName":"dave","AccountDomain":"contoso","DeviceName":"dc1","IPAddress":"203.0.113.9","FailureReason":"WrongPassword","ReportId":"idl-%d"}\n' "$(iso $((now - 500 + i)))" "$i"
    done
    printf '{"Timestamp":"%s","ActionType":"LogonSuccess","AccountUpn":"erin@contoso.com","DeviceName":"dc1","ReportId":"idl-ok"}\n' "$(iso $((now - 400)))"
} >"$T/idl.ndjson"
expect_match "ingest DeviceProcessEvents" '^200 ' "$(ingest "$ATOK" '?table=DeviceProcessEvents' "$T/proc.ndjson")"
expect_match "ingest EmailEvents" '^200 ' "$(ingest "$ATOK" '?table=EmailEvents' "$T/email.ndjson")"
expect_match "ingest IdentityLogonEvents" '^200 ' "$(ingest "$ATOK" '?table=IdentityLogonEvents' "$T/idl.ndjson")"

# ---------------------------------------------------------------------------
# refusals
r=$(create "$(rule bad1 1H 'DeviceProcessEvents | project Timestamp, DeviceId')")
expect_match "no ReportId: 400" '^400 .*ReportId column' "$r"
r=$(create "$(rule bad2 1H 'DeviceProcessEvents | project Timestamp, ReportId, FileName')")
expect_match "no entity column: 400" '^400 .*entity column' "$r"
r=$(create "$(rule bad3 0 'DeviceProcessEvents | join kind=inner (DeviceLogonEvents) on DeviceId | project Timestamp, ReportId, DeviceId')")
expect_match "NRT with a join: 400" '^400 .*near-real-time.*join' "$r"
r=$(create "$(rule bad4 1H 'DeviceProcessEvents
| where NoSuchColumn == 1')")
expect_match "bad KQL: 400 with line:column" '^400 .*line 2, column 9' "$r"
r=$(create "$(rule bad5 1H 'DeviceProcessEvents | project Timestamp, ReportId, DeviceId' "$DEV_ASSETS")")
expect_match "impacted asset not returned: 400" '^400 .*accountUpn.*AccountUpn' "$r"
r=$(create "$(rule bad6 2H 'DeviceProcessEvents | project Timestamp, ReportId, DeviceId')")
expect_match "bad period: 400" '^400 .*schedule.period' "$r"
r=$(http POST "$DR" -H "Authorization: Bearer $VTOK" --data-binary "$(rule v 1H 'DeviceProcessEvents | project Timestamp, ReportId, DeviceId')")
expect_match "viewer cannot create: 403" '^403 ' "$r"
expect_eq "nothing stored by refusals" 0 "$(http GET "$DR" "${A[@]}" | sed 's/^200 //' | jq '.value | length')"

# ---------------------------------------------------------------------------
# a rule, run on demand
PSQ='DeviceProcessEvents | where FileName =~ "powershell.exe" and ProcessCommandLine has "-enc" | project Timestamp, ReportId, DeviceId, DeviceName, AccountUpn, AccountName, AccountDomain, ProcessCommandLine'
r=$(create "$(rule ps 1H "$PSQ" "$DEV_ASSETS")")
expect_match "create: 201" '^201 ' "$r"
PS=$(printf '%s' "${r#* }" | jq -r .id)
expect_match "created rule has its fields" '"createdBy":"admin".*"period":"1H".*"nextRunDateTime"' "$r"
expect_match "created rule has an etag" '"@odata.etag":"W/\\"1\\""' "$r"
r=$(create "$(rule ps 3H "$PSQ" "$DEV_ASSETS")")
expect_match "duplicate name: 409" '^409 .*exists' "$r"
r=$(http GET "$DR/$PS" -H "Authorization: Bearer $VTOK")
expect_match "GET answers the ETag header" '^ETag: W/"1"' "$(curl -s -D - -o /dev/null "${A[@]}" "$VG_URL$DR/$PS" | tr -d '\r')"
expect_match "viewer can read a rule" '^200 .*"displayName":"ps"' "$r"
r=$(http POST "$DR/$PS/run" -H "Authorization: Bearer $VTOK")
expect_match "viewer cannot run a rule: 403" '^403 ' "$r"
r=$(http POST "$DR/$PS/run" "${A[@]}")
expect_match "run: 200 with the run record" '^200 .*"status":"succeeded".*"rowsReturned":3' "$r"
Q_PS="AlertInfo | where RuleId == 'custom:$PS'"
expect_eq "3 alerts of the rule" 3 "$(nrows "$Q_PS")"
expect_eq "alerts are Custom detection, High, Vigil Endpoint" 3 \
    "$(nrows "$Q_PS | where DetectionSource == 'Custom detection' and Severity == 'High' and ServiceSource == 'Vigil Endpoint' and Category == 'Execution' and AttackTechniques has 'T1059.001'")"
expect_eq "AlertIds are cd + 32 hex" 3 "$(nrows "$Q_PS | where AlertId matches regex '^cd[0-9a-f]{32}\$'")"
expect_eq "evidence: an impacted Machine per alert" 3 \
    "$(nrows "AlertEvidence | where DetectionSource == 'Custom detection' and EntityType == 'Machine' and EvidenceRole == 'Impacted' and DeviceId startswith 'dev-' | join kind=inner ($Q_PS) on AlertId")"
expect_eq "evidence: an impacted User per alert" 3 \
    "$(nrows "AlertEvidence | where EntityType == 'User' and EvidenceRole == 'Impacted' and AccountUpn endswith '@contoso.com' | join kind=inner ($Q_PS) on AlertId")"
r=$(http POST "$DR/$PS/run" "${A[@]}")
expect_match "second run: no new alerts" '^200 .*"alertsCreated":0' "$r"
expect_eq "still 3 alerts" 3 "$(nrows "$Q_PS")"

# email and identity rules
r=$(create "$(rule phish 1H 'EmailEvents | where ThreatTypes has "Phish" and DeliveryAction == "Delivered" | project Timestamp, ReportId, NetworkMessageId, RecipientEmailAddress, SenderFromAddress, Subject' \
    '[{"@odata.type":"#microsoft.graph.security.impactedMailboxAsset","identifier":"recipientEmailAddress"}]')")
expect_match "phishing rule: 201" '^201 ' "$r"
PH=$(printf '%s' "${r#* }" | jq -r .id)
http POST "$DR/$PH/run" "${A[@]}" >/dev/null
expect_eq "2 phishing alerts from Vigil Email" 2 "$(nrows "AlertInfo | where RuleId == 'custom:$PH' and ServiceSource == 'Vigil Email'")"
expect_eq "impacted mailboxes" 2 "$(nrows "AlertEvidence | where EntityType == 'Mailbox' and EvidenceRole == 'Impacted' | join kind=inner (AlertInfo | where RuleId == 'custom:$PH') on AlertId")"
r=$(create "$(rule logonfail 1H 'IdentityLogonEvents | where ActionType == "LogonFailed" | project Timestamp, ReportId, AccountUpn, AccountName, AccountDomain, DeviceName, IPAddress' \
    '[{"@odata.type":"#microsoft.graph.security.impactedUserAsset","identifier":"accountUpn"}]')")
IL=$(printf '%s' "${r#* }" | jq -r .id)
http POST "$DR/$IL/run" "${A[@]}" >/dev/null
expect_eq "5 logon-failure alerts from Vigil Identity" 5 "$(nrows "AlertInfo | where RuleId == 'custom:$IL' and ServiceSource == 'Vigil Identity'")"

# ---------------------------------------------------------------------------
# more than 100 matching rows (a disabled rule: only run on demand)
r=$(create "$(rule bulk 1H 'DeviceProcessEvents | where FileName == "bulk.exe" | project Timestamp, ReportId, DeviceId' '[]' false)")
BU=$(printf '%s' "${r#* }" | jq -r .id)
r=$(http POST "$DR/$BU/run" "${A[@]}")
expect_match "bulk run: 100 alerts, truncated" '^200 .*"rowsReturned":120,"alertsCreated":100,"truncated":true' "$r"
expect_match "bulk run: the dropped rows are counted" '20 more new rows were not alerted' "$r"
expect_eq "100 bulk alerts stored" 100 "$(nrows "AlertInfo | where RuleId == 'custom:$BU'")"
r=$(http GET "$DR/$BU/runs" "${A[@]}")
expect_match "runs list the truncated run" '"truncated":true' "$r"
r=$(http GET "$DR/$BU" "${A[@]}")
expect_match "lastRunDetails says partiallyFailed" '"lastRunDetails":\{[^}]*"status":"partiallyFailed"[^}]*"alertsCreated":100' "$r"

# ---------------------------------------------------------------------------
# near-real-time
r=$(create "$(rule nrt 0 'DeviceProcessEvents | where FileName == "nrt.exe" | project Timestamp, ReportId, DeviceId, DeviceName')")
expect_match "NRT rule: 201" '^201 .*"period":"0"' "$r"
NR=$(printf '%s' "${r#* }" | jq -r .id)
sleep 1.5
printf '{"Timestamp":"%s","DeviceId":"dev-n","DeviceName":"wsn","ReportId":7000,"FileName":"nrt.exe"}\n' "$(iso "$(date +%s)")" >"$T/nrt.ndjson"
ingest "$ATOK" '?table=DeviceProcessEvents' "$T/nrt.ndjson" >/dev/null
wait_for "NRT rule alerts within seconds" "nrows \"AlertInfo | where RuleId == 'custom:$NR'\"" 1

# ---------------------------------------------------------------------------
# catch-up after downtime
r=$(create "$(rule catch 1H 'DeviceProcessEvents | where FileName == "catch.exe" | project Timestamp, ReportId, DeviceId')")
CU=$(printf '%s' "${r#* }" | jq -r .id)
wait_for "the new 1H rule runs at creation" "nruns $CU" 1
expect_eq "catch rule: 1 alert" 1 "$(nrows "AlertInfo | where RuleId == 'custom:$CU'")"
vg_stop
check "vigild stopped cleanly" [ $? -eq 0 ]
sqlite3 "$D/state.db" "UPDATE detections SET last_run_end = last_run_end - 3*3600000 WHERE id = $CU"
vg_start "$D" --detect=false --detections-tick 1s || finish
wait_for "3 catch-up runs after the restart" "nruns $CU" 4
r=$(http GET "$DR/$CU/runs?\$top=3" "${A[@]}")
expect_eq "catch-up runs raised nothing new" "0 0 0" "$(printf '%s' "${r#* }" | jq -r '[.value[].alertsCreated] | join(" ")')"
expect_eq "catch-up runs are an hour apart" "3600000" \
    "$(sqlite3 "$D/state.db" "SELECT max(scheduled) - min(scheduled) FROM (SELECT scheduled FROM detection_runs WHERE detection_id = $CU ORDER BY id DESC LIMIT 2)")"
expect_eq "no duplicate alerts after catch-up" 1 "$(nrows "AlertInfo | where RuleId == 'custom:$CU'")"
expect_eq "rules survive the restart" 6 "$(http GET "$DR" "${A[@]}" | sed 's/^200 //' | jq '.value | length')"
expect_eq "alerts survive the restart" 3 "$(nrows "$Q_PS")"

# ---------------------------------------------------------------------------
# PATCH, If-Match, DELETE
r=$(http PATCH "$DR/$PS" "${A[@]}" -H 'If-Match: W/"7"' --data-binary '{"isEnabled":false}')
expect_match "PATCH with a stale If-Match: 412" '^412 ' "$r"
r=$(http PATCH "$DR/$PS" "${A[@]}" -H 'If-Match: W/"1"' --data-binary '{"isEnabled":false,"detectionAction":{"alertTemplate":{"severity":"medium"}}}')
expect_match "PATCH: 200, version 2" '^200 .*"@odata.etag":"W/\\"2\\"".*"isEnabled":false' "$r"
expect_match "PATCH kept the rest" '"severity":"medium".*"mitreTechniques":\["T1059.001"\]' "$r"
r=$(http PATCH "$DR/$PS" "${A[@]}" --data-binary '{"queryCondition":{"queryText":"DeviceProcessEvents | project Timestamp, DeviceId"}}')
expect_match "PATCH is checked again: 400" '^400 .*ReportId' "$r"
r=$(http DELETE "$DR/$PS" "${A[@]}" -H 'If-Match: W/"1"')
expect_match "DELETE with a stale If-Match: 412" '^412 ' "$r"
r=$(http DELETE "$DR/$PS" -H "Authorization: Bearer $VTOK")
expect_match "viewer cannot delete: 403" '^403 ' "$r"
r=$(http DELETE "$DR/$PS" "${A[@]}" -H 'If-Match: W/"2"')
expect_match "DELETE: 204" '^204' "$r"
expect_match "deleted rule: 404" '^404 ' "$(http GET "$DR/$PS" "${A[@]}")"
expect_eq "its alerts stay" 3 "$(nrows "$Q_PS")"

# ---------------------------------------------------------------------------
# the incident API, when present
r=$(http GET "/api/v1/security/alerts_v2?\$filter=detectorId%20eq%20'custom:$PH'" "${A[@]}")
if [ "${r%% *}" = 200 ]; then
    expect_eq "phishing alerts reached the incident API" 2 "$(printf '%s' "${r#* }" | jq '.value | length')"
    expect_eq "each alert is in an incident" 2 "$(printf '%s' "${r#* }" | jq '[.value[] | select(.incidentId != null and .incidentId != "")] | length')"
else
    echo "  (incident API answered ${r%% *}: alerts_v2 check skipped)"
fi
vg_stop
check "vigild stopped cleanly at the end" [ $? -eq 0 ]
# the audit log (read once vigild is down: its writes may be batched)
if [ -n "$(sqlite3 "$D/state.db" "SELECT 1 FROM audit WHERE action = 'detectionRule.create' LIMIT 1")" ]; then
    expect_eq "audit: create, update, delete, run recorded" 4 \
        "$(sqlite3 "$D/state.db" "SELECT count(DISTINCT action) FROM audit WHERE action LIKE 'detectionRule.%'")"
else
    echo "  (audit log not written by this build: skipped)"
fi
finish
