#!/usr/bin/env bash
# test_incidents_api.sh - the Graph-shaped incidents API of vigild end to end:
# Sigma rules (data/incidents/rules) fire on ingested Defender NDJSON, the
# engine groups the alerts into incidents, and over HTTP:
#   - incidents with the right displayName, severity and alerts; $filter,
#     $orderby, $top/$skip with @odata.nextLink, $count, $expand=alerts, and
#     a bad $filter answered 400 with its column;
#   - GET one with its ETag; PATCH with the right If-Match (200, new ETag),
#     the stale one (412, nothing changed), an unknown field (400), a viewer
#     (403); resolving resolves the alerts; comments; the graph; alert PATCH;
#   - a suppression rule, then a matching event: its alert is stored
#     resolved and belongs to no incident;
#   - two concurrent PATCHes with the same If-Match: one 200, one 412;
#   - after a restart everything is still there.
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/data/incidents" && pwd)
API=/api/v1/security

S=$T/srv
vg_start "$S" --detect-rules "$DATA/rules" || finish
ATOK=$(vg_admin "$S")
ANTOK=$(vg_add_token "$S" ann analyst)
VTOK=$(vg_add_token "$S" vic viewer)
itok=$(vg_add_token "$S" agent ingest)

# as TOKEN METHOD PATH [curl args]: "STATUS BODY"; the answer's headers in $T/hdr
as() {
    local tok=$1 method=$2 path=$3
    shift 3
    http "$method" "$path" -H "Authorization: Bearer $tok" -D "$T/hdr" "$@"
}
etag() { sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r*$/\1/p' "$T/hdr" | tr -d '\r'; }
# field JSON KEY: the first string value of "KEY":"..."
field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | sed 's/^[^:]*:"\(.*\)"$/\1/'; }

r=$(ingest "$itok" "" "$DATA/events.ndjson")
expect_match "ingest of the events: 200" '^200 ' "$r"

# --- lists -------------------------------------------------------------------
r=$(as "$VTOK" GET "$API/incidents?\$count=true")
expect_match "list as viewer: 200" '^200 \{"@odata.context":"[^"]*security/incidents","@odata.count":2,"value":\[' "$r"
r=$(as "$VTOK" GET "$API/incidents" -G --data-urlencode "\$filter=alertCount eq 2")
expect_match "filter alertCount eq 2: one incident" '"value":\[\{"@odata.type":"#microsoft.graph.security.incident"' "$r"
expect_match "the two-alert incident is high (its dumper alert)" '"severity":"high"' "$r"
expect_match "its name says the tactics and the endpoint" '"displayName":"[^"]*(Execution|Credential)[^"]*"' "$r"
expect_match "its device is host-a" '"devices":\[[^]]*host-a' "$r"
expect_match "Vigil's serviceSource spelling mapped to Graph's" '"serviceSources":\["microsoftDefenderForEndpoint"\]' "$r"
expect_nomatch "only one incident" '"id":"[0-9]+".*"@odata.type":"#microsoft.graph.security.incident"' "$r"
BIG=$(field "$r" id)
check "the big incident has an id" [ -n "$BIG" ]
r=$(as "$VTOK" GET "$API/incidents" -G --data-urlencode "\$filter=alertCount eq 1 and severity ge 'medium'")
SMALL=$(field "$r" id)
check "the small incident (medium) is found by severity rank" [ -n "$SMALL" ]
check "two different incidents" [ "$SMALL" != "$BIG" ]
r=$(as "$VTOK" GET "$API/incidents?\$orderby=alertCount%20desc&\$top=1&\$count=true")
expect_eq "orderby alertCount desc, top 1: the big one first" "$BIG" "$(field "$r" id)"
expect_match "top 1 of 2: a nextLink with the skip" '"@odata.nextLink":"/api/v1/security/incidents\?\$top=1&\$skip=1&\$orderby=alertCount%20desc&\$count=true"' "$r"
r=$(as "$VTOK" GET "$API/incidents?\$orderby=alertCount%20desc&\$top=1&\$skip=1")
expect_eq "skip 1: the small one" "$SMALL" "$(field "$r" id)"
expect_nomatch "the last page has no nextLink" 'nextLink' "$r"
r=$(as "$VTOK" GET "$API/incidents/$BIG?\$expand=alerts")
expect_match "expand=alerts: two alerts with evidence" '"alerts":\[\{"@odata.type":"#microsoft.graph.security.alert".*"evidence":\[\{.*\},\{"@odata.type":"#microsoft.graph.security.alert"' "$r"
expect_match "alerts carry Graph's sources" '"serviceSource":"microsoftDefenderForEndpoint","detectionSource":"sigma"' "$r"
r=$(as "$VTOK" GET "$API/incidents" -G --data-urlencode "\$filter=status eq 'active' and colour eq 'red'")
expect_match "unknown filter field: 400 with the column" "^400 .*column 24: unknown field 'colour'" "$r"
r=$(as "$VTOK" GET "$API/incidents?\$top=1001")
expect_match "\$top above 1000: 400" '^400 ' "$r"
r=$(as "$VTOK" GET "$API/alerts_v2?\$count=true")
expect_match "alerts: three" '"@odata.count":3' "$r"

# --- get, PATCH with ETags ---------------------------------------------------
r=$(as "$VTOK" GET "$API/incidents/$BIG")
expect_match "get one: 200" '^200 ' "$r"
E1=$(etag)
expect_match "get one: ETag W/\"N\"" '^W/"[0-9]+"$' "$E1"
expect_match "the body's @odata.etag is the header's" "\"@odata.etag\":\"W/\\\\\"${E1//[^0-9]/}\\\\\"\"" "$r"
r=$(as "$VTOK" PATCH "$API/incidents/$BIG" -H "If-Match: $E1" -d '{"status":"inProgress"}')
expect_match "PATCH as viewer: 403" '^403 ' "$r"
r=$(as "$ANTOK" PATCH "$API/incidents/$BIG" -H "If-Match: $E1" -d '{"status":"inProgress","assignedTo":"ann@corp","customTags":["triage"]}')
expect_match "PATCH with the right If-Match: 200" '^200 .*"assignedTo":"ann@corp".*"status":"inProgress"' "$r"
E2=$(etag)
check "PATCH answers a new ETag" [ -n "$E2" -a "$E2" != "$E1" ]
r=$(as "$ANTOK" PATCH "$API/incidents/$BIG" -H "If-Match: $E1" -d '{"status":"active"}')
expect_match "PATCH with the stale ETag: 412 naming the version" "^412 .*is at version ${E2//[^0-9]/}" "$r"
r=$(as "$VTOK" GET "$API/incidents/$BIG")
expect_match "nothing changed by the 412" '"status":"inProgress"' "$r"
expect_eq "the ETag is still the PATCH's" "$E2" "$(etag)"
r=$(as "$ANTOK" PATCH "$API/incidents/$BIG" -d '{"colour":"red"}')
expect_match "PATCH unknown field: 400 naming it" "^400 .*unknown field 'colour'" "$r"
r=$(as "$ANTOK" PATCH "$API/incidents/$BIG" -H 'If-Match: yesterday' -d '{"status":"active"}')
expect_match "malformed If-Match: 400" '^400 .*If-Match' "$r"
r=$(as "$ANTOK" GET "$API/alerts_v2" -G --data-urlencode "\$filter=incidentId eq $BIG")
expect_match "assigning the incident assigned its alerts" '"assignedTo":"ann@corp".*"assignedTo":"ann@corp"' "$r"
r=$(as "$ANTOK" PATCH "$API/incidents/999999" -d '{"status":"active"}')
expect_match "PATCH of no incident: 404" '^404 ' "$r"

# --- comments, graph ---------------------------------------------------------
r=$(as "$ANTOK" POST "$API/incidents/$BIG/comments" -d '{"comment":"looking at host-a"}')
expect_match "comment: 201 with the list" '^201 .*"comment":"looking at host-a","createdByDisplayName":"ann"' "$r"
r=$(as "$ANTOK" POST "$API/incidents/$BIG/comments" -d '{"comment":""}')
expect_match "empty comment: 400" '^400 ' "$r"
r=$(as "$VTOK" GET "$API/incidents/$BIG/comments")
expect_match "comments listed" '^200 .*looking at host-a' "$r"
r=$(as "$VTOK" GET "$API/incidents/$BIG/graph")
expect_match "graph: the incident node" '^200 \{"incidentId":"[0-9]+","nodes":\[\{"id":"incident:' "$r"
expect_match "graph: the device node" '"type":"device","label":"host-a"' "$r"
expect_match "graph: alert to device edges" '"source":"alert:[^"]*","target":"device:host-a"' "$r"
expect_match "graph: not truncated" '"truncated":false\}$' "$r"

# --- alert PATCH, resolve ----------------------------------------------------
r=$(as "$VTOK" GET "$API/alerts_v2" -G --data-urlencode "\$filter=incidentId eq $SMALL")
AID=$(field "$r" id)
r=$(as "$VTOK" GET "$API/alerts_v2/$AID")
AE=$(etag)
expect_match "alert get: ETag" '^W/"[0-9]+"$' "$AE"
r=$(as "$ANTOK" PATCH "$API/alerts_v2/$AID" -H "If-Match: $AE" -d '{"status":"inProgress","classification":"truePositive","determination":"malware"}')
expect_match "alert PATCH: 200" '^200 .*"status":"inProgress","severity":"medium","classification":"truePositive","determination":"malware"' "$r"
r=$(as "$ANTOK" PATCH "$API/alerts_v2/$AID" -H "If-Match: $AE" -d '{"status":"new"}')
expect_match "alert PATCH, stale: 412" '^412 ' "$r"
r=$(as "$ANTOK" POST "$API/alerts_v2/$AID/comments" -d '{"comment":"alert note"}')
expect_match "alert comment: 201" '^201 .*alert note' "$r"
r=$(as "$VTOK" GET "$API/incidents/$SMALL")
expect_match "an alert PATCH leaves its incident alone" '"status":"active"' "$r"

r=$(as "$ANTOK" PATCH "$API/incidents/$BIG" -d '{"status":"resolved","classification":"truePositive","determination":"clean","resolvingComment":"contained"}')
expect_match "resolve: 200, the alias stored as Graph's value" '^200 .*"determination":"notMalicious".*"status":"resolved"' "$r"
r=$(as "$VTOK" GET "$API/alerts_v2" -G --data-urlencode "\$filter=incidentId eq $BIG and status ne 'resolved'" --data-urlencode '$count=true')
expect_match "resolving the incident resolved its alerts" '"@odata.count":0' "$r"

# --- suppression -------------------------------------------------------------
r=$(as "$VTOK" POST "$API/suppressionRules" -d '{"displayName":"x","ruleId":"*","conditions":[{"kind":"device","value":"host-s"}]}')
expect_match "suppression create as viewer: 403" '^403 ' "$r"
r=$(as "$ANTOK" POST "$API/suppressionRules" -d '{"displayName":"x","ruleId":"*","conditions":[{"kind":"galaxy","value":"m31"}]}')
expect_match "suppression with a bad kind: 400" '^400 .*conditions\[0\].kind' "$r"
r=$(as "$ANTOK" POST "$API/suppressionRules" -d '{"displayName":"service box","ruleId":"*","conditions":[{"kind":"device","value":"host-s"}],"action":"resolve","enabled":true}')
expect_match "suppression create: 201" '^201 \{"@odata.etag":"W/\\"1\\"","id":"[0-9]+","displayName":"service box"' "$r"
SID=$(field "$r" id)
r=$(ingest "$itok" "" "$DATA/suppressed.ndjson")
expect_match "ingest of the suppressed event: 200" '^200 ' "$r"
r=$(as "$VTOK" GET "$API/alerts_v2" -G --data-urlencode "\$filter=title eq 'VGIA whoami discovery'")
expect_match "the suppressed alert is stored resolved, tagged" '"status":"resolved".*"systemTags":\["Suppressed"\]' "$r"
expect_match "and it is in no incident" '"incidentId":"0"' "$r"
r=$(as "$VTOK" GET "$API/incidents?\$count=true")
expect_match "still two incidents" '"@odata.count":2' "$r"
r=$(as "$VTOK" GET "$API/suppressionRules/$SID")
expect_match "the rule counted its hit" '"hits":1' "$r"

# --- concurrent PATCHes --------------------------------------------------------
r=$(as "$VTOK" GET "$API/incidents/$SMALL")
EC=$(etag)
pids=()
for i in 1 2; do
    curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $ANTOK" \
        -H "If-Match: $EC" -d "{\"assignedTo\":\"racer$i\"}" "$VG_URL$API/incidents/$SMALL" >"$T/race.$i" &
    pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$T/race.1" "$T/race.2" | sort | tr '\n' ' ')
expect_eq "two PATCHes with one If-Match: one 200, one 412" "200 412 " "$codes"

# --- persistence ---------------------------------------------------------------
r=$(as "$VTOK" GET "$API/incidents/$BIG")
before=$(printf '%s' "$r" | sed 's/^200 //')
EB=$(etag)
vg_stop
expect_eq "vigild stops cleanly" 0 "$?"
vg_start "$S" --detect-rules "$DATA/rules" || finish
r=$(as "$VTOK" GET "$API/incidents/$BIG")
expect_eq "after a restart the incident is the same" "$before" "$(printf '%s' "$r" | sed 's/^200 //')"
expect_eq "and so is its ETag" "$EB" "$(etag)"
expect_match "with its comments" 'looking at host-a.*contained' "$r"
r=$(as "$VTOK" GET "$API/suppressionRules")
expect_match "the suppression rule survived" '"displayName":"service box"' "$r"
r=$(as "$VTOK" GET "$API/alerts_v2/$AID/comments")
expect_match "the alert comment survived" 'alert note' "$r"
r=$(as "$VTOK" GET "$API/incidents?\$count=true")
expect_match "two incidents after the restart" '"@odata.count":2' "$r"
r=$(as "$ANTOK" DELETE "$API/suppressionRules/$SID")
expect_match "suppression delete: 204" '^204' "$r"
# one audit row per change, with who and the fields: the engine's, not a
# second generic one; a refused write has its generic row
r=$(as "$ATOK" GET "/api/v1/audit?objectType=suppression&objectId=$SID&\$top=100")
n_eng=$(printf '%s' "$r" | grep -o '"action":"suppression.delete"' | wc -l)
n_gen=$(printf '%s' "$r" | grep -o '"action":"DELETE [^"]*"' | wc -l)
expect_eq "the delete is audited once, by the engine" "1 0" "$n_eng $n_gen"
expect_match "with its actor" '"actor":"ann"' "$r"
r=$(as "$VTOK" PATCH "$API/incidents/$BIG" -H 'Content-Type: application/json' --data '{"status":"active"}')
expect_match "a viewer's PATCH: 403" '^403 ' "$r"
r=$(as "$ATOK" GET "/api/v1/audit?actor=vic&\$top=100")
expect_match "the refused PATCH is audited" '"action":"PATCH /api/v1/security/incidents/\{id\}".*"status":403' "$r"
r=$(as "$VTOK" GET "$API/suppressionRules/$SID")
expect_match "deleted: 404" '^404 ' "$r"
finish
