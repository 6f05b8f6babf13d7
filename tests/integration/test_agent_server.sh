#!/usr/bin/env bash
# test_agent_server.sh - the server side of vigil-agent against a real vigild,
# with curl doing what the agent does (docs/api.md, "Endpoint agents"):
#   - enroll with an ingest token -> device id + device token; re-enrolling
#     the same machine keeps the id, and the old token is then refused (401);
#   - heartbeats move GET /api/machines/{id} (lastSeen, healthStatus Active);
#   - DeviceInfo and DeviceNetworkInfo rows are found by advanced hunting;
#   - ingest with device= and seq=: a repeated seq is a duplicate (no rows
#     stored), also after vigild restarts; a device token naming another
#     device is a 400;
#   - machine actions: isolate -> Pending -> pulled (InProgress) -> acked
#     (Succeeded, isolationState Isolated); a second pending isolate 400;
#     cancel (Pending only); unknown machine 404; viewer 403;
#   - an investigation package up (agent) and down (responder);
#   - indicators: bad values 400 naming the field, agent pull with since,
#     delete -> removed[], expiry.
. "$(dirname "$0")/lib.sh"

DATA=$T/data
mkdir -p "$DATA"
vg_start "$DATA" || finish
ADMIN=$(vg_admin "$DATA")
ENROLL=$(vg_add_token "$DATA" enroll ingest)
VIEWER=$(vg_add_token "$DATA" viewer viewer)
RESP=$(vg_add_token "$DATA" resp responder)
AH=(-H "Authorization: Bearer $ADMIN")
RH=(-H "Authorization: Bearer $RESP")
VH=(-H "Authorization: Bearer $VIEWER")
J=(-H 'Content-Type: application/json')

ENROLL_BODY='{"DeviceName":"web01","MachineId":"0123456789abcdef0123456789abcdef","OSPlatform":"Linux","OSDistribution":"debian","OSVersion":"12","KernelVersion":"6.1.0","AgentVersion":"0.1.0","IPAddresses":[{"IPAddress":"10.0.0.5","AddressType":"Private"},{"IPAddress":"203.0.113.7","AddressType":"Public"}],"MacAddresses":["02:42:ac:11:00:02"],"Interfaces":[{"Name":"eth0","MacAddress":"02:42:ac:11:00:02","IPAddresses":["10.0.0.5"]}]}'

# ---- enrollment ----
r=$(http POST /api/v1/agents/enroll -H "Authorization: Bearer $ENROLL" "${J[@]}" -d "$ENROLL_BODY")
expect_match "enroll: 201" '^201 ' "$r"
DEV=$(printf '%s' "${r#* }" | jq -r .deviceId)
TOK1=$(printf '%s' "${r#* }" | jq -r .token)
expect_match "enroll: a 40-hex device id" '^[0-9a-f]{40}$' "$DEV"
expect_match "enroll: a device token" '^vgt_[0-9a-f]{64}$' "$TOK1"
r=$(http POST /api/v1/agents/enroll -H "Authorization: Bearer $VIEWER" "${J[@]}" -d "$ENROLL_BODY")
expect_match "enroll: viewer refused" '^403 ' "$r"
r=$(http POST /api/v1/agents/enroll -H "Authorization: Bearer $ENROLL" "${J[@]}" -d '{"DeviceName":"x"}')
expect_match "enroll: MachineId required" '^400 .*MachineId' "$r"
r=$(http POST /api/v1/agents/enroll -H "Authorization: Bearer $ENROLL" "${J[@]}" -d '{"DeviceName":"x","MachineId":"a/b"}')
expect_match "enroll: bad MachineId" '^400 .*MachineId' "$r"

# the device token works before re-enrollment ...
r=$(http POST /api/v1/agents/heartbeat -H "Authorization: Bearer $TOK1" "${J[@]}" -d '{"AgentVersion":"0.1.0","Health":"Active","IsolationState":"NotIsolated"}')
expect_match "heartbeat with the first token" '^200 .*"pendingActions":0' "$r"
# ... and not after
r=$(http POST /api/v1/agents/enroll -H "Authorization: Bearer $ENROLL" "${J[@]}" -d "$ENROLL_BODY")
expect_match "re-enroll: 201" '^201 ' "$r"
DEV2=$(printf '%s' "${r#* }" | jq -r .deviceId)
TOK=$(printf '%s' "${r#* }" | jq -r .token)
expect_eq "re-enroll: same device id" "$DEV" "$DEV2"
check "re-enroll: a new token" [ "$TOK" != "$TOK1" ]
r=$(http POST /api/v1/agents/heartbeat -H "Authorization: Bearer $TOK1" "${J[@]}" -d '{}')
expect_match "re-enroll: the old token is revoked" '^401 ' "$r"
DH=(-H "Authorization: Bearer $TOK")

# ---- heartbeat, machines ----
r=$(http POST /api/v1/agents/heartbeat "${DH[@]}" "${J[@]}" -d '{"AgentVersion":"0.1.1","Health":"Active","IsolationState":"NotIsolated","Spool":{"Bytes":0,"Batches":0,"Dropped":0},"Drops":{"proc":0},"Cpu":0.1,"RssBytes":1000}')
expect_match "heartbeat: 200" '^200 .*"indicatorsVersion":0' "$r"
r=$(http POST /api/v1/agents/heartbeat "${DH[@]}" "${J[@]}" -d '{"Health":"Sick"}')
expect_match "heartbeat: bad Health" '^400 .*Health' "$r"
r=$(http POST /api/v1/agents/heartbeat "${AH[@]}" "${J[@]}" -d '{}')
expect_match "heartbeat: admin is no device" '^400 .*no device' "$r"
r=$(http GET "/api/machines/$DEV" "${VH[@]}")
expect_match "machine: 200" '^200 ' "$r"
m=${r#* }
expect_eq "machine: healthStatus" Active "$(printf '%s' "$m" | jq -r .healthStatus)"
expect_eq "machine: version from the heartbeat" 0.1.1 "$(printf '%s' "$m" | jq -r .version)"
expect_eq "machine: name" web01 "$(printf '%s' "$m" | jq -r .computerDnsName)"
expect_eq "machine: last ip" 127.0.0.1 "$(printf '%s' "$m" | jq -r .lastIpAddress)"
ls1=$(printf '%s' "$m" | jq -r .lastSeen)
sleep 1.1
http POST /api/v1/agents/heartbeat "${DH[@]}" "${J[@]}" -d '{}' >/dev/null
ls2=$(http GET "/api/machines/$DEV" "${VH[@]}" | cut -d' ' -f2- | jq -r .lastSeen)
check "heartbeat moves lastSeen ($ls1 -> $ls2)" [ "$ls2" \> "$ls1" ]
r=$(http GET "/api/machines?\$filter=healthStatus%20eq%20'Active'" "${VH[@]}")
expect_eq "machines: \$filter healthStatus" "$DEV" "$(printf '%s' "${r#* }" | jq -r '.value[0].id')"
r=$(http GET "/api/machines?\$filter=bogus%20eq%20'x'" "${VH[@]}")
expect_match "machines: unknown \$filter field" '^400 .*bogus' "$r"
r=$(http GET /api/machines/ffffffffffffffffffffffffffffffffffffffff "${VH[@]}")
expect_match "machine: unknown 404" '^404 ' "$r"

hunt() {
    http POST /api/advancedhunting/run "${VH[@]}" "${J[@]}" -d "{\"Query\":\"$1\"}" | cut -d' ' -f2-
}
q=$(hunt "DeviceInfo | where DeviceId == '$DEV' | summarize n=count(), v=max(ClientVersion), s=any(SensorHealthState), o=any(OnboardingStatus), p=any(PublicIP)")
check "DeviceInfo rows (enrollments, version change): $q" [ "$(printf '%s' "$q" | jq -r '.Results[0].n')" -ge 3 ]
expect_eq "DeviceInfo: newest ClientVersion" 0.1.1 "$(printf '%s' "$q" | jq -r '.Results[0].v')"
expect_eq "DeviceInfo: SensorHealthState" Active "$(printf '%s' "$q" | jq -r '.Results[0].s')"
expect_eq "DeviceInfo: OnboardingStatus" Onboarded "$(printf '%s' "$q" | jq -r '.Results[0].o')"
expect_eq "DeviceInfo: PublicIP" 203.0.113.7 "$(printf '%s' "$q" | jq -r '.Results[0].p')"
q=$(hunt "DeviceNetworkInfo | where DeviceId == '$DEV' | take 1 | project NetworkAdapterName, MacAddress, IPAddresses")
expect_eq "DeviceNetworkInfo: adapter" eth0 "$(printf '%s' "$q" | jq -r '.Results[0].NetworkAdapterName')"
expect_match "DeviceNetworkInfo: IPAddresses" '10\.0\.0\.5' "$(printf '%s' "$q" | jq -c '.Results[0].IPAddresses')"

# ---- ingest with device and seq ----
row() { printf '{"Table":"DeviceProcessEvents","Timestamp":"2026-11-30T01:00:0%sZ","DeviceId":"%s","DeviceName":"web01","FileName":"seq%s"}\n' "$1" "$DEV" "$1"; }
row 1 >"$T/b1.json"
row 2 >"$T/b2.json"
procs() { hunt "DeviceProcessEvents | where DeviceId == '$DEV' | count" | jq -r '.Results[0].Count'; }
r=$(ingest "$TOK" "?format=ndjson&device=$DEV&seq=1" "$T/b1.json")
expect_match "seq 1 accepted" '^200 .*"accepted":1' "$r"
r=$(ingest "$TOK" "?format=ndjson&device=$DEV&seq=1" "$T/b1.json")
expect_match "seq 1 again: duplicate" '^200 .*"accepted":0.*"duplicate":true' "$r"
expect_eq "the duplicate stored nothing" 1 "$(procs)"
r=$(ingest "$TOK" "?format=ndjson&device=$DEV&seq=2" "$T/b2.json")
expect_match "seq 2 accepted" '^200 .*"accepted":1' "$r"
r=$(ingest "$TOK" "?format=ndjson&device=ffffffffffffffffffffffffffffffffffffffff&seq=3" "$T/b2.json")
expect_match "another device's id: 400" '^400 .*device' "$r"
r=$(ingest "$TOK" "?format=ndjson&device=$DEV&seq=zero" "$T/b2.json")
expect_match "bad seq: 400" '^400 .*seq' "$r"
r=$(ingest "$ENROLL" "?format=ndjson&seq=3" "$T/b2.json")
expect_match "seq without a device: 400" '^400 .*device' "$r"
check "vigild stops cleanly" vg_stop
vg_start "$DATA" || finish
r=$(ingest "$TOK" "?format=ndjson&device=$DEV&seq=2" "$T/b2.json")
expect_match "seq 2 after a restart: still a duplicate" '^200 .*"duplicate":true' "$r"
r=$(ingest "$TOK" "?format=ndjson&seq=3" "$T/b2.json")
expect_match "seq 3 (the token's device)" '^200 .*"accepted":1' "$r"
expect_eq "rows stored: one per new seq" 3 "$(procs)"
# the same batch sent four times at once (resends while the first is being
# stored): stored once; the others are duplicates or told to retry (503)
for i in $(seq 1 20000); do
    printf '{"Table":"DeviceProcessEvents","Timestamp":"2026-11-30T01:00:00Z","DeviceId":"%s","DeviceName":"web01","FileName":"burst","ProcessId":%d}\n' "$DEV" "$i"
done >"$T/big.json"
for k in 1 2 3 4; do
    curl -s -o "$T/par.$k" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
        --data-binary "@$T/big.json" "$VG_URL/api/v1/ingest?format=ndjson&device=$DEV&seq=4" >"$T/par.$k.code" &
    pids="${pids:-} $!"
done
wait $pids   # not vigild, a child of this shell too
stored=0
for k in 1 2 3 4; do
    c=$(cat "$T/par.$k.code")
    case "$c" in
    200) grep -q '"accepted":20000' "$T/par.$k" && stored=$((stored + 1)) ;;
    503) expect_match "a concurrent resend is told to retry" 'being stored now' "$(cat "$T/par.$k")" ;;
    *) fail "concurrent resend: HTTP $c $(cat "$T/par.$k")" ;;
    esac
done
expect_eq "four concurrent sends of one batch: accepted once" 1 "$stored"
expect_eq "four concurrent sends of one batch: stored once" 20000 "$(hunt "DeviceProcessEvents | where FileName == 'burst' | count" | jq -r '.Results[0].Count')"

# ---- machine actions ----
r=$(http POST "/api/machines/$DEV/isolate" "${VH[@]}" "${J[@]}" -d '{"Comment":"x","IsolationType":"Full"}')
expect_match "isolate: viewer 403" '^403 ' "$r"
r=$(http POST /api/machines/ffffffffffffffffffffffffffffffffffffffff/isolate "${RH[@]}" "${J[@]}" -d '{"Comment":"x","IsolationType":"Full"}')
expect_match "isolate: unknown machine 404" '^404 ' "$r"
r=$(http POST "/api/machines/$DEV/isolate" "${RH[@]}" "${J[@]}" -d '{"IsolationType":"Full"}')
expect_match "isolate: Comment required" '^400 .*Comment' "$r"
r=$(http POST "/api/machines/$DEV/isolate" "${RH[@]}" "${J[@]}" -d '{"Comment":"contain","IsolationType":"Selective"}')
expect_match "isolate: Selective refused" '^400 .*IsolationType' "$r"
r=$(http POST "/api/machines/$DEV/isolate" "${RH[@]}" "${J[@]}" -d '{"Comment":"contain","IsolationType":"Full"}')
expect_match "isolate: 201" '^201 ' "$r"
ISO=$(printf '%s' "${r#* }" | jq -r .id)
expect_eq "isolate: Pending" Pending "$(printf '%s' "${r#* }" | jq -r .status)"
expect_eq "isolate: requestor" resp "$(printf '%s' "${r#* }" | jq -r .requestor)"
r=$(http POST "/api/machines/$DEV/isolate" "${RH[@]}" "${J[@]}" -d '{"Comment":"again","IsolationType":"Full"}')
expect_match "a second pending isolate: 400" '^400 .*pending' "$r"
r=$(http POST /api/v1/agents/heartbeat "${DH[@]}" "${J[@]}" -d '{}')
expect_match "heartbeat: one pending action" '"pendingActions":1' "$r"
r=$(http GET /api/v1/agents/actions "${DH[@]}")
expect_eq "pull: the isolate action" "$ISO Isolate Full" "$(printf '%s' "${r#* }" | jq -r '.value[0] | "\(.id) \(.type) \(.params.IsolationType)"')"
r=$(http GET "/api/machineactions/$ISO" "${VH[@]}")
expect_eq "pulled: InProgress" InProgress "$(printf '%s' "${r#* }" | jq -r .status)"
r=$(http GET /api/v1/agents/actions "${DH[@]}")
expect_eq "pull again: nothing" 0 "$(printf '%s' "${r#* }" | jq '.value | length')"
r=$(http POST "/api/machineactions/$ISO/cancel" "${RH[@]}" "${J[@]}" -d '{"Comment":"no"}')
expect_match "cancel InProgress: 400" '^400 .*Pending' "$r"
r=$(http POST "/api/v1/agents/actions/$ISO" "${DH[@]}" "${J[@]}" -d '{"status":"Done"}')
expect_match "ack: bad status" '^400 .*status' "$r"
r=$(http POST "/api/v1/agents/actions/$ISO" "${DH[@]}" "${J[@]}" -d '{"status":"Succeeded","result":{"rules":3}}')
expect_match "ack: 200" '^200 ' "$r"
r=$(http GET "/api/machineactions/$ISO" "${VH[@]}")
expect_eq "acked: Succeeded with result" "Succeeded 3" "$(printf '%s' "${r#* }" | jq -r '"\(.status) \(.result.rules)"')"
r=$(http POST "/api/v1/agents/actions/$ISO" "${DH[@]}" "${J[@]}" -d '{"status":"Failed"}')
expect_match "ack twice: 409" '^409 ' "$r"
r=$(http GET "/api/machines/$DEV" "${VH[@]}")
expect_eq "machine isolated" Isolated "$(printf '%s' "${r#* }" | jq -r .isolationState)"
r=$(http POST "/api/machines/$DEV/unisolate" "${RH[@]}" "${J[@]}" -d '{"Comment":"release"}')
UNI=$(printf '%s' "${r#* }" | jq -r .id)
r=$(http POST "/api/machineactions/$UNI/cancel" "${RH[@]}" "${J[@]}" -d '{"Comment":"not yet"}')
expect_eq "cancel Pending: Cancelled" Cancelled "$(printf '%s' "${r#* }" | jq -r .status)"
r=$(http GET /api/v1/agents/actions "${DH[@]}")
expect_eq "cancelled: not handed out" 0 "$(printf '%s' "${r#* }" | jq '.value | length')"
r=$(http POST "/api/machines/$DEV/StopAndQuarantineFile" "${RH[@]}" "${J[@]}" -d '{"Comment":"q","Sha1":"xyz"}')
expect_match "quarantine: bad Sha1" '^400 .*Sha1' "$r"
r=$(http POST "/api/machines/$DEV/killProcess" "${RH[@]}" "${J[@]}" -d '{"Comment":"k","ProcessId":42}')
expect_match "kill: ProcessStartTime required with ProcessId" '^400 .*ProcessStartTime' "$r"
r=$(http POST "/api/machines/$DEV/runYaraScan" "${RH[@]}" "${J[@]}" -d '{"Comment":"y","Path":"tmp","Rules":"rule x { condition: true }"}')
expect_match "yara: Path must be absolute" '^400 .*Path' "$r"
r=$(http POST "/api/machines/$DEV/killProcess" "${RH[@]}" "${J[@]}" -d '{"Comment":"k","ProcessId":42,"ProcessStartTime":"2026-11-30T01:00:00Z"}')
expect_match "kill: 201" '^201 .*"KillProcess"' "$r"
r=$(http GET "/api/machineactions?\$filter=machineId%20eq%20'$DEV'%20and%20status%20eq%20'Succeeded'" "${VH[@]}")
expect_eq "actions: \$filter machineId and status" "$ISO" "$(printf '%s' "${r#* }" | jq -r '[.value[].id] | join(",")')"
r=$(http GET "/api/machineactions?\$top=1" "${VH[@]}")
expect_eq "actions: \$top" 1 "$(printf '%s' "${r#* }" | jq '.value | length')"

# ---- investigation package ----
r=$(http POST "/api/machines/$DEV/collectInvestigationPackage" "${RH[@]}" "${J[@]}" -d '{"Comment":"triage"}')
PKG=$(printf '%s' "${r#* }" | jq -r .id)
http GET /api/v1/agents/actions "${DH[@]}" >/dev/null
mkdir -p "$T/pkg"
echo "ps output" >"$T/pkg/processes.txt"
tar -czf "$T/pkg.tar.gz" -C "$T/pkg" .
r=$(http GET "/api/machineactions/$PKG/GetPackageUri" "${RH[@]}")
expect_match "no package yet: 404" '^404 ' "$r"
r=$(http POST "/api/v1/agents/actions/$ISO/package" "${DH[@]}" --data-binary "@$T/pkg.tar.gz")
expect_match "package for an isolate action: 400" '^400 ' "$r"
r=$(http POST "/api/v1/agents/actions/$PKG/package" "${DH[@]}" -H 'Content-Type: application/gzip' --data-binary "@$T/pkg.tar.gz")
expect_match "package upload: 200" '^200 ' "$r"
check "package stored 0600" [ "$(stat -c %a "$DATA/packages/$PKG.tar.gz")" = 600 ]
http POST "/api/v1/agents/actions/$PKG" "${DH[@]}" "${J[@]}" -d '{"status":"Succeeded"}' >/dev/null
r=$(http GET "/api/machineactions/$PKG/GetPackageUri" "${RH[@]}")
expect_eq "GetPackageUri" "/api/machineactions/$PKG/package" "$(printf '%s' "${r#* }" | jq -r .value)"
curl -s -o "$T/down.tar.gz" "${RH[@]}" "$VG_URL/api/machineactions/$PKG/package"
check "package download is the upload" cmp "$T/pkg.tar.gz" "$T/down.tar.gz"
r=$(http GET "/api/machineactions/$PKG/package" "${VH[@]}")
expect_match "package download: viewer 403" '^403 ' "$r"

# ---- indicators ----
ind() { http POST /api/indicators "${RH[@]}" "${J[@]}" -d "$1"; }
r=$(ind '{"indicatorValue":"abc","indicatorType":"FileSha256","action":"Block","title":"t"}')
expect_match "indicator: bad sha256" '^400 .*indicatorValue' "$r"
r=$(ind '{"indicatorValue":"10.0.0.300","indicatorType":"IpAddress","action":"Alert","title":"t"}')
expect_match "indicator: bad IP" '^400 .*indicatorValue' "$r"
r=$(ind '{"indicatorValue":"bad domain","indicatorType":"DomainName","action":"Alert","title":"t"}')
expect_match "indicator: bad domain" '^400 .*indicatorValue' "$r"
r=$(ind '{"indicatorValue":"example.com","indicatorType":"Domain","action":"Alert","title":"t"}')
expect_match "indicator: bad type" '^400 .*indicatorType' "$r"
r=$(ind '{"indicatorValue":"example.com","indicatorType":"DomainName","action":"Nuke","title":"t"}')
expect_match "indicator: bad action" '^400 .*action' "$r"
r=$(ind '{"indicatorValue":"example.com","indicatorType":"DomainName","action":"Alert"}')
expect_match "indicator: title required" '^400 .*title' "$r"
r=$(ind '{"indicatorValue":"example.com","indicatorType":"DomainName","action":"Alert","title":"t","expirationTime":"2001-01-01T00:00:00Z"}')
expect_match "indicator: expiration in the past" '^400 .*expirationTime' "$r"
r=$(http POST /api/indicators "${VH[@]}" "${J[@]}" -d '{"indicatorValue":"example.com","indicatorType":"DomainName","action":"Alert","title":"t"}')
expect_match "indicator: viewer 403" '^403 ' "$r"
SHA=$(printf 'evil' | sha256sum | cut -d' ' -f1)
r=$(ind "{\"indicatorValue\":\"$SHA\",\"indicatorType\":\"FileSha256\",\"action\":\"Block\",\"title\":\"evil tool\",\"severity\":\"High\"}")
expect_match "indicator: sha256 created" '^200 ' "$r"
I1=$(printf '%s' "${r#* }" | jq -r .id)
r=$(ind '{"indicatorValue":"2001:db8::1","indicatorType":"IpAddress","action":"Alert","title":"c2"}')
I2=$(printf '%s' "${r#* }" | jq -r .id)
expect_match "indicator: IPv6" '^200 ' "$r"
r=$(ind '{"indicatorValue":"https://bad.example.com/x","indicatorType":"Url","action":"Block","title":"u"}')
expect_match "indicator: URL" '^200 ' "$r"
r=$(http GET /api/v1/agents/indicators "${DH[@]}")
V1=$(printf '%s' "${r#* }" | jq -r .version)
expect_eq "agent pull: three" 3 "$(printf '%s' "${r#* }" | jq '.value | length')"
expect_eq "agent pull: the sha256 blocks" "Block $SHA" "$(printf '%s' "${r#* }" | jq -r ".value[] | select(.id == \"$I1\") | \"\(.action) \(.indicatorValue)\"")"
expect_eq "agent pull from 0: full" true "$(printf '%s' "${r#* }" | jq -r .full)"
r=$(http GET "/api/v1/agents/indicators?since=$V1" "${DH[@]}")
expect_eq "since the current version: nothing" "0 0 false" "$(printf '%s' "${r#* }" | jq -r '"\(.value | length) \(.removed | length) \(.full)"')"
r=$(http GET "/api/v1/agents/indicators?since=999999" "${DH[@]}")
expect_eq "a version from the future: the full set again" "3 true" "$(printf '%s' "${r#* }" | jq -r '"\(.value | length) \(.full)"')"
r=$(http GET "/api/v1/agents/indicators?since=-1" "${DH[@]}")
expect_match "since: bad value 400" '^400 .*since' "$r"
r=$(http POST /api/v1/agents/heartbeat "${DH[@]}" "${J[@]}" -d '{}')
expect_eq "heartbeat: indicatorsVersion" "$V1" "$(printf '%s' "${r#* }" | jq -r .indicatorsVersion)"
r=$(http DELETE "/api/indicators/$I2" "${RH[@]}")
expect_match "indicator delete: 204" '^204' "$r"
r=$(http DELETE "/api/indicators/$I2" "${RH[@]}")
expect_match "indicator delete twice: 404" '^404' "$r"
r=$(http GET "/api/v1/agents/indicators?since=$V1" "${DH[@]}")
expect_eq "since: the deleted one in removed" "0 $I2" "$(printf '%s' "${r#* }" | jq -r '"\(.value | length) \(.removed | join(","))"')"
EXP=$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)
r=$(ind "{\"indicatorValue\":\"1.2.3.4\",\"indicatorType\":\"IpAddress\",\"action\":\"Alert\",\"title\":\"short\",\"expirationTime\":\"$EXP\"}")
I4=$(printf '%s' "${r#* }" | jq -r .id)
r=$(http GET /api/indicators "${VH[@]}")
expect_eq "analyst list: three live" 3 "$(printf '%s' "${r#* }" | jq '.value | length')"
V2=$(http GET /api/v1/agents/indicators "${DH[@]}" | cut -d' ' -f2- | jq -r .version)
expect_match "expiring indicator created" '^[0-9]+$' "$I4"
r=$(http GET "/api/v1/agents/indicators?since=$V2" "${DH[@]}")
expect_eq "not expired yet: nothing removed" "" "$(printf '%s' "${r#* }" | jq -r '.removed | join(",")')"
for _ in $(seq 1 40); do   # the expiry is at most 5 s away (whole seconds)
    [ "$(date -u +%s)" -gt "$(date -u -d "$EXP" +%s)" ] && break
    sleep 0.25
done
r=$(http GET "/api/v1/agents/indicators?since=$V2" "${DH[@]}")
expect_eq "expired: removed" "$I4" "$(printf '%s' "${r#* }" | jq -r '.removed | join(",")')"
r=$(http GET "/api/indicators?\$filter=indicatorType%20eq%20'FileSha256'" "${VH[@]}")
expect_eq "analyst list: \$filter" "$I1" "$(printf '%s' "${r#* }" | jq -r '[.value[].id] | join(",")')"

# ---- audit ----
r=$(http GET "/api/v1/audit?\$top=200" "${AH[@]}")
for a in device.enroll device.reenroll machineAction.create machineAction.dispatch machineAction.complete machineAction.cancel machineAction.package indicator.create indicator.delete; do
    expect_match "audit: $a" "\"$a\"" "$r"
done

# a refused write has the same object type as the made ones
r=$(http GET "/api/v1/audit?objectType=machineAction&objectId=$ISO&\$top=50" "${AH[@]}")
expect_match "audit: the refused second ack of an action under machineAction" '"status":409' "$r"
r=$(http GET "/api/v1/audit?objectType=device&objectId=$DEV&\$top=50" "${AH[@]}")
expect_match "audit: a refused isolate under the device" 'POST /api/machines/\{id\}/isolate' "$r"

check "vigild stops cleanly" vg_stop
finish
