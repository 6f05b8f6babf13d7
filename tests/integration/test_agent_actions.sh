#!/usr/bin/env bash
# test_agent_actions.sh - the agent's response actions end to end (needs
# root: the proc connector, killing and quarantining). A real vigild and a
# real vigil-agent (--poll-interval 1); every action goes through the
# Defender-shaped API (POST /api/machines/{id}/...) and is polled at
# GET /api/machineactions/{id} until a final status:
#   - killProcess by ProcessId + ProcessStartTime (the start time from the
#     agent's own DeviceProcessEvents row, through advanced hunting); with a
#     wrong start time: Failed, the process alive; by Sha256 of a copied
#     binary: every process of it killed;
#   - StopAndQuarantineFile by Sha256 of a running file in $T: the process
#     killed, the file moved into the quarantine store with its metadata;
#     restoreQuarantinedFile puts it back with its mode;
#   - collectInvestigationPackage: the package through GetPackageUri, a
#     tar.gz with the manifest and the sections;
#   - runYaraScan: the match in the result and as a YaraScanMatch DeviceEvents
#     row; bad rules: Failed with the compiler's line number;
#   - an action handed out (InProgress) and never reported on becomes Failed
#     ("timed out ...") once it is older than the 1 h timeout: its updated
#     time is moved back in state.db with sqlite3 while vigild is stopped.
# Without root: a SKIP line.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
    echo "$TEST_NAME: SKIP (needs root for the proc connector and the response actions)"
    exit 0
fi
AGENT=$BUILD/vigil-agent
AG_PID=
KIDS=()
ag_cleanup() {
    if [ -n "$AG_PID" ] && kill -0 "$AG_PID" 2>/dev/null; then
        kill -KILL "$AG_PID" 2>/dev/null
        wait "$AG_PID" 2>/dev/null
    fi
    local p
    for p in "${KIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    cleanup
}
trap ag_cleanup EXIT

D=$T/data
vg_start "$D" || finish
ADM=$(vg_admin "$D")
r=$(http POST /api/v1/tokens -H "Authorization: Bearer $ADM" -d '{"name":"enroll","role":"ingest"}')
expect_match "ingest token created" '^201 ' "$r"
ENROLL=$(printf '%s' "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
r=$(http POST /api/v1/tokens -H "Authorization: Bearer $ADM" -d '{"name":"resp","role":"responder"}')
RESP=$(printf '%s' "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

AG_RUN=0
ag_start() {
    AG_RUN=$((AG_RUN + 1))
    "$AGENT" --state "$T/agent" --sensors proc --heartbeat-interval 2 --poll-interval 1 \
        --log-level debug "$@" >"$T/agent.$AG_RUN.out" 2>"$T/agent.$AG_RUN.log" &
    AG_PID=$!
    local i
    for i in $(seq 1 100); do
        grep -q 'msg="sensor started" sensor=proc' "$T/agent.$AG_RUN.log" && return 0
        if ! kill -0 "$AG_PID" 2>/dev/null; then
            fail "vigil-agent exited at start:"; sed 's/^/    /' "$T/agent.$AG_RUN.log"
            AG_PID=
            return 1
        fi
        sleep 0.1
    done
    fail "vigil-agent did not start its process sensor"; sed 's/^/    /' "$T/agent.$AG_RUN.log"
    return 1
}
ag_stop() {
    kill -TERM "$AG_PID"
    local rc=0
    wait "$AG_PID" || rc=$?
    AG_PID=
    expect_eq "agent exits 0 on SIGTERM" 0 "$rc"
}

# hunt KQL: the Results as JSON lines (the query through a file, never a
# command line: the agent reports command lines)
hunt() {
    Q=$1 python3 -c 'import json,os; print(json.dumps({"Query": os.environ["Q"]}))' >"$T/q.json"
    curl -s -X POST -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
        --data-binary "@$T/q.json" "$VG_URL/api/advancedhunting/run" |
        python3 -c 'import json,sys
d=json.load(sys.stdin)
for r in d.get("Results", []): print(json.dumps(r, sort_keys=True))'
}
wait_rows() {
    local n=0 end=$((SECONDS + $3))
    while :; do
        n=$(hunt "$1" | wc -l)
        [ "$n" -ge "$2" ] || [ $SECONDS -ge $end ] && break
        sleep 0.5
    done
    echo "$n"
}
# jfield JSON KEY: a top-level member (strings bare, the rest as JSON)
jfield() {
    printf '%s' "$1" | python3 -c 'import json,sys
v=json.load(sys.stdin).get(sys.argv[1])
print(v if isinstance(v,str) else json.dumps(v))' "$2"
}
# act ROUTE BODY: POST /api/machines/$DEV/ROUTE as the responder; sets ACT (the action id)
act() {
    ACT=
    local r
    r=$(http POST "/api/machines/$DEV/$1" -H "Authorization: Bearer $RESP" -d "$2")
    expect_match "$1: 201 Pending" '^201 .*"status":"Pending"' "$r"
    ACT=$(jfield "${r#* }" id)
}
# final ID: waits (60 s at most) until the action is Succeeded, Failed or
# Cancelled; FINAL is its JSON
final() {
    local end=$((SECONDS + 60)) r
    FINAL=
    while [ $SECONDS -lt $end ]; do
        r=$(http GET "/api/machineactions/$1" -H "Authorization: Bearer $ADM")
        case $r in
        200*'"status":"Succeeded"'* | 200*'"status":"Failed"'* | 200*'"status":"Cancelled"'*)
            FINAL=${r#* }
            return 0 ;;
        esac
        sleep 0.3
    done
    fail "action $1 not final within 60 s: $r"
    FINAL=${r#* }
}
# reaped PID: waits for a child of this shell; true when a signal ended it
reaped() {
    local rc=0
    timeout_end=$((SECONDS + 10))
    while kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ] &&
        [ $SECONDS -lt $timeout_end ]; do sleep 0.1; done
    wait "$1" 2>/dev/null || rc=$?
    [ "$rc" -gt 128 ]
}

ag_start --server "$VG_URL" --enroll-token "$ENROLL" || finish
DEV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deviceId"])' "$T/agent/credential.json")
expect_match "device id" '^[0-9a-f]{40}$' "$DEV"
RUN=a$$x$RANDOM

# ---- killProcess by ProcessId + ProcessStartTime ----
sleep 300 &
SP=$!
KIDS+=("$SP")
n=$(wait_rows "DeviceProcessEvents | where ProcessId == $SP and FileName == 'sleep'" 1 20)
expect_eq "the agent's row of the sleep" 1 "$n"
START=$(hunt "DeviceProcessEvents | where ProcessId == $SP and FileName == 'sleep' | project ProcessCreationTime" |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["ProcessCreationTime"])')
expect_match "ProcessCreationTime of the sleep" '^20[0-9-]+T[0-9:.]+Z$' "$START"
# a wrong start time (an hour off): Failed, the process lives
WRONG=$(python3 -c 'import datetime,sys
t=datetime.datetime.strptime(sys.argv[1][:19], "%Y-%m-%dT%H:%M:%S")-datetime.timedelta(hours=1)
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$START")
act killProcess "{\"Comment\":\"wrong start\",\"ProcessId\":$SP,\"ProcessStartTime\":\"$WRONG\"}"
final "$ACT"
expect_match "kill with a wrong start time: Failed" '"status":"Failed"' "$FINAL"
expect_match "kill with a wrong start time: the error says so" \
    "\"error\":\"kill: pid $SP started at [^\"]*not at the requested" "$FINAL"
check "kill with a wrong start time: the sleep is alive" kill -0 "$SP"
act killProcess "{\"Comment\":\"kill it\",\"ProcessId\":$SP,\"ProcessStartTime\":\"$START\"}"
final "$ACT"
expect_match "kill by pid and start time: Succeeded" '"status":"Succeeded"' "$FINAL"
expect_match "kill by pid: the result names it" "\"killed\":\\[\\{\"ProcessId\":$SP," "$FINAL"
check "kill by pid: the sleep was killed by a signal" reaped "$SP"

# ---- killProcess by Sha256: every process of a copied binary ----
cp "$(readlink -f "$(command -v sleep)")" "$T/hsleep_$RUN"
printf 'vigil-test-%s' "$RUN" >>"$T/hsleep_$RUN"   # a hash of its own, not every sleep's
HS=$(sha256sum "$T/hsleep_$RUN" | cut -d' ' -f1)
"$T/hsleep_$RUN" 300 & H1=$!
"$T/hsleep_$RUN" 301 & H2=$!
sleep 300 & OTHER=$!
KIDS+=("$H1" "$H2" "$OTHER")
sleep 0.3
act killProcess "{\"Comment\":\"by hash\",\"Sha256\":\"$HS\"}"
final "$ACT"
expect_match "kill by Sha256: Succeeded" '"status":"Succeeded"' "$FINAL"
expect_match "kill by Sha256: two killed" '"count":2' "$FINAL"
check "kill by Sha256: the first copy killed" reaped "$H1"
check "kill by Sha256: the second copy killed" reaped "$H2"
check "kill by Sha256: a plain sleep lives" kill -0 "$OTHER"

# ---- StopAndQuarantineFile by Sha256, then restoreQuarantinedFile ----
Q=$T/qbin_$RUN
cp "$(readlink -f "$(command -v sleep)")" "$Q"
printf 'vigil-quarantine-%s' "$RUN" >>"$Q"
chmod 0750 "$Q"
QS=$(sha256sum "$Q" | cut -d' ' -f1)
"$Q" 300 & QP=$!
KIDS+=("$QP")
sleep 0.3
act StopAndQuarantineFile "{\"Comment\":\"quarantine\",\"Sha256\":\"$QS\"}"
final "$ACT"
QACT=$ACT
expect_match "quarantine: Succeeded" '"status":"Succeeded"' "$FINAL"
check "quarantine: the running process was killed" reaped "$QP"
check "quarantine: the file is gone from its path" test ! -e "$Q"
check "quarantine: the file is in the store" test -f "$T/agent/quarantine/$QS"
expect_eq "quarantine: the stored file's hash" "$QS" "$(sha256sum "$T/agent/quarantine/$QS" | cut -d' ' -f1)"
meta=$(cat "$T/agent/quarantine/$QS.json" 2>/dev/null)
expect_eq "quarantine metadata: OriginalPath" "$Q" "$(jfield "$meta" OriginalPath)"
expect_eq "quarantine metadata: Mode" "$((8#750))" "$(jfield "$meta" Mode)"
expect_eq "quarantine metadata: Sha256" "$QS" "$(jfield "$meta" Sha256)"
expect_eq "quarantine metadata: the action" "$QACT" "$(jfield "$meta" ActionId)"
r=$(http POST "/api/machines/$DEV/restoreQuarantinedFile" -H "Authorization: Bearer $RESP" -d '{"Comment":"x","Sha256":"zz"}')
expect_match "restore: a bad Sha256 is refused" '^400 .*Sha256: expected 64 hex digits' "$r"
r=$(http POST "/api/machines/$DEV/restoreQuarantinedFile" -H "Authorization: Bearer $RESP" -d '{"Comment":"x"}')
expect_match "restore: Sha256 required" '^400 .*Sha256: required' "$r"
r=$(http POST "/api/machines/$DEV/restoreQuarantinedFile" -H "Authorization: Bearer $ADM" -d "{\"Comment\":\"put back\",\"Sha256\":\"$QS\"}")
expect_match "restore: 201 RestoreQuarantinedFile" '^201 .*"type":"RestoreQuarantinedFile"' "$r"
ACT=$(jfield "${r#* }" id)
final "$ACT"
expect_match "restore: Succeeded" '"status":"Succeeded"' "$FINAL"
check "restore: the file is back at its path" test -f "$Q"
expect_eq "restore: its content" "$QS" "$(sha256sum "$Q" 2>/dev/null | cut -d' ' -f1)"
expect_eq "restore: its mode" 750 "$(stat -c %a "$Q" 2>/dev/null)"
check "restore: gone from the store" test ! -e "$T/agent/quarantine/$QS"
# restoring again: nothing in quarantine
act restoreQuarantinedFile "{\"Comment\":\"again\",\"Sha256\":\"$QS\"}"
final "$ACT"
expect_match "restore twice: Failed, not in quarantine" '"status":"Failed".*is not in quarantine' "$FINAL"
# by Path, and a restore that would overwrite a newer file at the path is refused
act StopAndQuarantineFile "{\"Comment\":\"by path\",\"Path\":\"$Q\"}"
final "$ACT"
expect_match "quarantine by Path: Succeeded" '"status":"Succeeded"' "$FINAL"
check "quarantine by Path: the file is gone" test ! -e "$Q"
printf 'a newer file\n' >"$Q"
act restoreQuarantinedFile "{\"Comment\":\"onto a file\",\"Sha256\":\"$QS\"}"
final "$ACT"
expect_match "restore onto a file: Failed, not overwritten" '"status":"Failed".*exists; not overwritten' "$FINAL"
expect_eq "restore onto a file: the newer file intact" "a newer file" "$(cat "$Q")"
check "restore onto a file: still in quarantine" test -f "$T/agent/quarantine/$QS"
rm -f "$Q"
act restoreQuarantinedFile "{\"Comment\":\"now\",\"Sha256\":\"$QS\"}"
final "$ACT"
expect_match "restore after the path is free: Succeeded" '"status":"Succeeded"' "$FINAL"
expect_eq "restored again: its content" "$QS" "$(sha256sum "$Q" 2>/dev/null | cut -d' ' -f1)"

# ---- collectInvestigationPackage ----
r=$(http POST "/api/machines/$DEV/collectInvestigationPackage" -H "Authorization: Bearer $RESP" -d '{"Comment":"package"}')
expect_match "package: 201" '^201 ' "$r"
PACT=$(jfield "${r#* }" id)
final "$PACT"
expect_match "package: Succeeded" '"status":"Succeeded"' "$FINAL"
r=$(http GET "/api/machineactions/$PACT/GetPackageUri" -H "Authorization: Bearer $RESP")
expect_match "GetPackageUri: the download path" "^200 .*\"value\":\"/api/machineactions/$PACT/package\"" "$r"
URI=$(jfield "${r#* }" value)
code=$(curl -s -o "$T/pkg.tar.gz" -w '%{http_code}' -H "Authorization: Bearer $RESP" "$VG_URL$URI")
expect_eq "package download" 200 "$code"
tar -tzf "$T/pkg.tar.gz" >"$T/pkg.list" 2>"$T/pkg.err"
expect_eq "package: a valid tar.gz" "" "$(cat "$T/pkg.err")"
for e in manifest.json processes.tsv network.tsv logons.tsv etc/passwd etc/group persistence/; do
    check "package holds $e" grep -q "^$e" "$T/pkg.list"
done
tar -xzf "$T/pkg.tar.gz" -C "$T" manifest.json processes.tsv 2>/dev/null
check "package manifest names this device" grep -q "\"DeviceId\":\"$DEV\"" "$T/manifest.json"
check "package process list holds this shell" grep -qw "$$" "$T/processes.tsv"
r=$(http POST /api/v1/tokens -H "Authorization: Bearer $ADM" -d '{"name":"viewer","role":"viewer"}')
VIEW=$(printf '%s' "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
r=$(http GET "/api/machineactions/$PACT/GetPackageUri" -H "Authorization: Bearer $VIEW")
expect_match "GetPackageUri: not for a viewer" '^40[13] ' "$r"

# ---- runYaraScan ----
mkdir -p "$T/scan/sub"
printf 'nothing here\n' >"$T/scan/clean.txt"
printf 'header VIGIL_YARA_%s trailer\n' "$RUN" >"$T/scan/sub/evil.bin"
RULES="rule vigil_marker_$RUN { strings: \$a = \"VIGIL_YARA_$RUN\" condition: \$a }"
body=$(P="$T/scan" R="$RULES" python3 -c 'import json,os; print(json.dumps({"Comment":"yara","Path":os.environ["P"],"Rules":os.environ["R"]}))')
act runYaraScan "$body"
final "$ACT"
expect_match "yara: Succeeded" '"status":"Succeeded"' "$FINAL"
expect_match "yara: the match in the result" "\"matchCount\":1,.*$T/scan/sub/evil.bin.*vigil_marker_$RUN" "$FINAL"
YQ="DeviceEvents | where ActionType == 'YaraScanMatch' and FolderPath == '$T/scan/sub/evil.bin'"
n=$(wait_rows "$YQ" 1 20)
expect_eq "yara: one YaraScanMatch DeviceEvents row" 1 "$n"
hunt "$YQ" >"$T/yara.rows"
check "yara: the row's device" grep -q "\"DeviceId\": \"$DEV\"" "$T/yara.rows"
check "yara: the row's FileName" grep -q '"FileName": "evil.bin"' "$T/yara.rows"
check "yara: the row's rule" grep -q "vigil_marker_$RUN" "$T/yara.rows"
check "yara: the row's SHA256" grep -q "\"SHA256\": \"$(sha256sum "$T/scan/sub/evil.bin" | cut -d' ' -f1)\"" "$T/yara.rows"
expect_eq "yara: no row for the clean file" 0 \
    "$(hunt "DeviceEvents | where ActionType == 'YaraScanMatch' and FileName == 'clean.txt'" | wc -l)"
# the error on line 4 (libyara names the line of the token after the
# offending one: the closing brace is kept on line 4)
BAD=$(printf 'rule ok { condition: true }\nrule broken {\n  strings: $a = "x"\n  condition: $b }\nrule after { condition: true }\n')
body=$(P="$T/scan" R="$BAD" python3 -c 'import json,os; print(json.dumps({"Comment":"bad","Path":os.environ["P"],"Rules":os.environ["R"]}))')
act runYaraScan "$body"
final "$ACT"
expect_match "yara bad rules: Failed" '"status":"Failed"' "$FINAL"
expect_match "yara bad rules: the compiler's line" '"error":"YARA rules: line 4: ' "$FINAL"

# ---- an action handed out and never reported on times out ----
ag_stop
TOK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/agent/credential.json")
act killProcess '{"Comment":"never answered","Sha256":"'"$HS"'"}'
OLD=$ACT
act killProcess '{"Comment":"pulled, not yet an hour old","Sha256":"'"$HS"'"}'
NEW=$ACT
r=$(http GET /api/v1/agents/actions -H "Authorization: Bearer $TOK")
expect_match "pulled by the device (agent stopped)" "^200 .*$OLD.*$NEW|^200 .*$NEW.*$OLD" "$r"
r=$(http GET "/api/machineactions/$OLD" -H "Authorization: Bearer $ADM")
expect_match "pulled: InProgress" '^200 .*"status":"InProgress"' "$r"
# an hour less a minute: not yet
vg_stop
sqlite3 "$D/state.db" "UPDATE machine_actions SET updated = updated - 3540000 WHERE id = '$OLD'"
vg_start "$D" || finish
r=$(http GET "/api/machineactions/$OLD" -H "Authorization: Bearer $ADM")
expect_match "59 minutes InProgress: still InProgress" '^200 .*"status":"InProgress"' "$r"
vg_stop
sqlite3 "$D/state.db" "UPDATE machine_actions SET updated = updated - 60000 WHERE id = '$OLD'"
expect_eq "updated moved back an hour (still InProgress in state.db)" InProgress \
    "$(sqlite3 "$D/state.db" "SELECT status FROM machine_actions WHERE id = '$OLD'")"
vg_start "$D" || finish
r=$(http GET "/api/machineactions/$OLD" -H "Authorization: Bearer $ADM")
expect_match "an hour InProgress: Failed when read" '^200 .*"status":"Failed"' "$r"
expect_match "an hour InProgress: the timeout error" \
    '"error":"timed out: the agent did not report a result within 1h"' "$r"
r=$(http GET "/api/machineactions?\$filter=status%20eq%20'InProgress'" -H "Authorization: Bearer $ADM")
expect_match "the recent one stays InProgress" "^200 .*\"id\":\"$NEW\"" "$r"
expect_nomatch "the old one is not listed InProgress" "\"id\":\"$OLD\"" "$r"
check "vigild logged the timeout" grep -q "machine action timed out.*$OLD" "$VG_LOG"
r=$(http POST "/api/v1/agents/actions/$OLD" -H "Authorization: Bearer $TOK" -d '{"status":"Succeeded"}')
expect_match "a late report of a timed-out action: 409" '^409 .*already Failed' "$r"
# the agent's pull expires them too (nothing else reads in between: the
# status is read from state.db)
vg_stop
sqlite3 "$D/state.db" "UPDATE machine_actions SET updated = updated - 3600000 WHERE id = '$NEW'"
vg_start "$D" || finish
r=$(http GET /api/v1/agents/actions -H "Authorization: Bearer $TOK")
expect_match "a pull with nothing pending" '^200 \{"value":\[\]\}' "$r"
expect_eq "an hour InProgress: Failed when the agent pulls" \
    "Failed|timed out: the agent did not report a result within 1h" \
    "$(sqlite3 "$D/state.db" "SELECT status || '|' || error FROM machine_actions WHERE id = '$NEW'")"
finish
