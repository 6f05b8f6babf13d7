#!/usr/bin/env bash
# test_incidents_reconcile.sh - alerts are durable in the event store before
# the incident engine sees them; what state.db lost (a crash between the two,
# a power loss with synchronous=NORMAL, an old state.db restored) is
# correlated again at the next start, once, in Timestamp order.
. "$(dirname "$0")/lib.sh"
D=$T/data
R=$T/rules
mkdir -p "$R"
cat >"$R/r.yml" <<'YML'
title: Whoami discovery
level: low
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
---
title: Net user enumeration
level: medium
tags: [attack.discovery]
logsource: {category: process_creation, product: windows}
detection:
  sel: {Image|endswith: '\net.exe'}
  condition: sel
YML
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ago() { date -u -d "-$1" +%Y-%m-%dT%H:%M:%SZ; }
{
    printf '{"Table":"DeviceProcessEvents","Timestamp":"%s","ReportId":1,"DeviceId":"d1","DeviceName":"ws1","AccountDomain":"corp","AccountName":"alice","FolderPath":"C:\\\\Windows\\\\System32\\\\whoami.exe","ProcessCommandLine":"whoami"}\n' "$(ago '3 hours')"
    printf '{"Table":"DeviceProcessEvents","Timestamp":"%s","ReportId":2,"DeviceId":"d1","DeviceName":"ws1","AccountDomain":"corp","AccountName":"alice","FolderPath":"C:\\\\Windows\\\\System32\\\\net.exe","ProcessCommandLine":"net user"}\n' "$(ago '2 hours')"
    printf '{"Table":"DeviceProcessEvents","Timestamp":"%s","ReportId":3,"DeviceId":"d2","DeviceName":"ws2","AccountDomain":"corp","AccountName":"bob","FolderPath":"C:\\\\Windows\\\\System32\\\\whoami.exe","ProcessCommandLine":"whoami"}\n' "$(ago '1 hour')"
} >"$T/ev.ndjson"
OPTS=(--detect-rules "$R" --detect-cache "$T/cache")

summary() {  # incidents as "alertCount:severity" sorted, one line
    curl -s -H "Authorization: Bearer $TOK" "$VG_URL/api/v1/security/incidents?\$top=100" |
        python3 -c 'import json,sys; v=json.load(sys.stdin)["value"]; print(" ".join(sorted("%s:%s" % (i["alertCount"], i["severity"]) for i in v)))'
}
nalerts() {
    curl -s -H "Authorization: Bearer $TOK" "$VG_URL/api/v1/security/alerts_v2?\$top=100&\$count=true" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["@odata.count"])'
}

vg_start "$D" "${OPTS[@]}" || finish
TOK=$(vg_admin "$D")
r=$(ingest "$TOK" "?format=ndjson" "$T/ev.ndjson"); expect_match "ingest" '^200 \{"accepted":3' "$r"
expect_eq "incidents at once" "1:low 2:medium" "$(summary)"
expect_eq "alerts" 3 "$(nalerts)"
check "stop" vg_stop

# state.db forgets every alert and incident (as if they never reached it)
sqlite3 "$D/state.db" "DELETE FROM alert_entities; DELETE FROM alerts; DELETE FROM incident_entities; DELETE FROM incidents;" ||
    fail "sqlite3 could not edit state.db"
vg_start "$D" "${OPTS[@]}" || finish
expect_eq "incidents rebuilt from the event store at start" "1:low 2:medium" "$(summary)"
expect_eq "alerts rebuilt" 3 "$(nalerts)"
expect_match "the reconcile pass says what it did" 'reconciled alerts from the event store.*alerts=3' "$(cat "$VG_LOG")"
check "stop again" vg_stop

# a start with nothing to do adds nothing
vg_start "$D" "${OPTS[@]}" || finish
expect_eq "no duplicates after another restart" 3 "$(nalerts)"
expect_eq "same incidents" "1:low 2:medium" "$(summary)"
expect_nomatch "nothing to reconcile" 'reconciled alerts' "$(cat "$VG_LOG")"

# a power loss right after an ingest undoes state.db's last commit (it does not
# wait for the disk) but not the event store's (the WAL is fsync'ed before the
# answer): state.db as it was before the request, the alert correlated at the
# next start, exactly once
check "stop 3" vg_stop
mkdir -p "$T/old" && cp "$D"/state.db* "$T/old/"
vg_start "$D" "${OPTS[@]}" || finish
printf '{"Table":"DeviceProcessEvents","Timestamp":"%s","ReportId":4,"DeviceId":"d2","DeviceName":"ws2","AccountDomain":"corp","AccountName":"bob","FolderPath":"C:\\\\Windows\\\\System32\\\\net.exe","ProcessCommandLine":"net user x"}\n' "$(ago '30 minutes')" >"$T/ev2.ndjson"
r=$(ingest "$TOK" "?format=ndjson" "$T/ev2.ndjson"); expect_match "ingest 2" '^200 \{"accepted":1' "$r"
expect_eq "joined at once" "2:medium 2:medium" "$(summary)"
vg_kill9
rm -f "$D"/state.db*
cp "$T"/old/state.db* "$D/"
vg_start "$D" "${OPTS[@]}" || finish
expect_eq "the lost alert is back, joined to bob's incident" "2:medium 2:medium" "$(summary)"
expect_eq "four alerts" 4 "$(nalerts)"
finish
