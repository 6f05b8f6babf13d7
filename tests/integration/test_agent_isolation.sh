#!/usr/bin/env bash
# test_agent_isolation.sh - the agent's Isolate/Unisolate (src/agent/ag_isolate.c)
# applied inside network namespaces this test creates (addresses in
# 10.200.x.x, nothing leaves the machine):
#   ns "host": 10.200.N.1 runs "the Vigil server" (python3 -m http.server :8080,
#              and a second listener on :9090), 10.200.N.2 "another host" (:8080)
#   ns "iso":  10.200.N.10, the isolated endpoint, joined to "host" by a veth
#              pair; a listener on its own loopback
# Isolated: the server's address:port answers, the other host and the other
# port do not, loopback does. Re-applying at start (agent restart) keeps it.
# Released: everything answers again and `nft list ruleset` in the endpoint is
# byte for byte what it was (a pre-existing table there is untouched).
# The isolation is driven by a small program linked with the agent's code
# (the real ag_iso_* functions; the core functions it needs are stubs that
# only name the state dir and server URL).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "$TEST_NAME: SKIP (needs root for network namespaces and nftables)"
    exit 0
fi
for tool in ip nft python3 curl cc; do
    command -v $tool >/dev/null || { echo "$TEST_NAME: SKIP ($tool not installed)"; exit 0; }
done
[ -f "$BUILD/libvigil.a" ] || { echo "$TEST_NAME: SKIP (no $BUILD/libvigil.a)"; exit 0; }

N=$(( ($$ % 200) + 20 ))
HOST=vgi-host-$$ ISO=vgi-iso-$$
SRV=10.200.$N.1 OTHER=10.200.$N.2 ME=10.200.$N.10
PIDS=()
netns_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    ip netns del "$ISO" 2>/dev/null
    ip netns del "$HOST" 2>/dev/null
    cleanup
}
trap netns_cleanup EXIT

cat >"$T/isodrv.c" <<'EOF'
/* isodrv - drives the agent's isolation code: isodrv isolate|release|start STATE [URL] */
#include <stdio.h>
#include <string.h>
#include "agent/ag_response_int.h"
struct ag { ag_ident id; const char *url; };
const ag_ident *ag_identity(const ag *a) { return &a->id; }
const char *ag_server_url(const ag *a) { return a->url; }
bool ag_stopping(const ag *a) { return false; }
void ag_set_isolation(ag *a, bool isolated) { printf("isolation state: %s\n", isolated ? "Isolated" : "NotIsolated"); }
void ag_count_drop(ag *a, const char *s, uint64_t n) {}
vg_err ag_emit(ag *a, const char *s, vg_str row) { return VG_OK; }
void ag_row_begin(ag *a, vg_buf *b, const char *t, vg_time ts) {}
void ag_proc_initiating(ag *a, pid_t pid, vg_buf *row) {}
bool ag_proc_get(ag *a, pid_t pid, ag_proc *out) { return false; }
vg_err ag_server_request(ag *a, const char *m, const char *p, const void *b, size_t n, const char *c,
                         long *st, vg_buf *r, vg_diag *d) { return vg_diag_set(d, VG_EUNSUPPORTED, "no server"); }
bool ag_file_hashes(ag *a, const char *p, char s1[41], char s256[65], char m[33]) { return false; }
int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    struct ag a = { .url = argc > 3 ? argv[3] : "" };
    vg_str_copy_c(a.id.state_dir, sizeof a.id.state_dir, vg_str_c(argv[2]));
    vg_diag d = { "" };
    vg_buf r;
    vg_buf_init(&r, 0);
    vg_err e;
    bool applied = false;
    if (strcmp(argv[1], "isolate") == 0)
        e = ag_actions[0].fn(&a, NULL, &r, &d);        /* the table's Isolate */
    else if (strcmp(argv[1], "release") == 0)
        e = ag_actions[1].fn(&a, NULL, &r, &d);        /* Unisolate */
    else {
        e = ag_iso_restore_state(argv[2], &applied, &d);
        vg_buf_puts(&r, applied ? "re-applied" : "nothing to apply");
    }
    printf("%s %s\n", e == VG_OK ? "OK" : "ERROR", e == VG_OK ? vg_buf_cstr(&r) : d.msg);
    return e == VG_OK ? 0 : 1;
}
EOF
LIBS=$(make -s -C "$ROOT" BUILD="$BUILD" print-libs)
if ! cc -std=c11 -D_GNU_SOURCE -I"$ROOT/src" "$T/isodrv.c" "$BUILD/libvigil.a" $LIBS -lnftables -lyara \
        -o "$T/isodrv" 2>"$T/cc.err"; then
    fail "building the isolation driver: $(head -5 "$T/cc.err")"
    finish
fi

# ---- the namespaces ----
ip netns add "$HOST" && ip netns add "$ISO" || { fail "ip netns add"; finish; }
ip link add vgi-a$$ type veth peer name vgi-b$$ || { fail "veth"; finish; }
ip link set vgi-a$$ netns "$HOST"
ip link set vgi-b$$ netns "$ISO"
ip -n "$HOST" addr add $SRV/24 dev vgi-a$$
ip -n "$HOST" addr add $OTHER/24 dev vgi-a$$
ip -n "$ISO" addr add $ME/24 dev vgi-b$$
for ns in "$HOST" "$ISO"; do
    ip -n "$ns" link set lo up
done
ip -n "$HOST" link set vgi-a$$ up
ip -n "$ISO" link set vgi-b$$ up

mkdir -p "$T/www" "$T/state" && echo vigil-server >"$T/www/index.html"
serve() {  # NS ADDR PORT
    ip netns exec "$1" python3 -m http.server "$3" --bind "$2" --directory "$T/www" \
        >>"$T/http.log" 2>&1 &
    PIDS+=($!)
}
serve "$HOST" $SRV 8080
serve "$HOST" $SRV 9090
serve "$HOST" $OTHER 8080
serve "$ISO" 127.0.0.1 7070
reach() {  # URL -> 0 when it answers from inside the endpoint
    ip netns exec "$ISO" curl -s -o /dev/null --max-time 2 "$1"
}
for i in $(seq 50); do
    reach http://$SRV:8080/ && reach http://$OTHER:8080/ && reach http://$SRV:9090/ &&
        reach http://127.0.0.1:7070/ && break
    sleep 0.1
done
check "before: server reachable" reach http://$SRV:8080/
check "before: other host reachable" reach http://$OTHER:8080/

# a table of the endpoint's own that isolation must leave as it is
ip netns exec "$ISO" nft -f - <<'EOF'
table inet preexisting {
    counter seen {
    }
    chain out {
        type filter hook output priority 0; policy accept;
        tcp dport 8080 counter name "seen"
    }
}
EOF
ip netns exec "$ISO" nft list ruleset | grep -v 'packets' >"$T/before.nft"
check "pre-existing table created" grep -q preexisting "$T/before.nft"

# ---- isolate ----
out=$(ip netns exec "$ISO" "$T/isodrv" isolate "$T/state" "http://$SRV:8080/api")
expect_match "isolate result" "^OK .*\"ServerAddresses\":\[\"$SRV\"\],\"ServerPort\":8080" "$out"
expect_match "heartbeat state set" "^isolation state: Isolated" "$out"
check "isolation state file" test -f "$T/state/isolation.json"
check "isolated: server address:port reachable" reach http://$SRV:8080/
if reach http://$OTHER:8080/; then fail "isolated: other host still reachable"; else ok; fi
if reach http://$SRV:9090/; then fail "isolated: server's other port still reachable"; else ok; fi
check "isolated: loopback works" reach http://127.0.0.1:7070/
if ip netns exec "$ISO" ping -c1 -W1 $SRV >/dev/null 2>&1; then fail "isolated: ICMP passes"; else ok; fi
check "isolated: the pre-existing table is still there" sh -c "ip netns exec $ISO nft list tables | grep -q preexisting"

# ---- an agent restart: the state is re-applied (and re-applying is idempotent) ----
ip netns exec "$ISO" nft delete table inet vigil_isolation
check "lost table: other host reachable (precondition)" reach http://$OTHER:8080/
out=$(ip netns exec "$ISO" "$T/isodrv" start "$T/state")
expect_match "start re-applies" "^OK re-applied" "$out"
if reach http://$OTHER:8080/; then fail "after restart: other host reachable"; else ok; fi
check "after restart: server reachable" reach http://$SRV:8080/
out=$(ip netns exec "$ISO" "$T/isodrv" start "$T/state")
expect_match "start twice" "^OK re-applied" "$out"
expect_eq "one isolation table" 1 "$(ip netns exec "$ISO" nft list tables | grep -c vigil_isolation)"

# ---- release ----
out=$(ip netns exec "$ISO" "$T/isodrv" release "$T/state")
expect_match "release result" '^OK .*"Deleted":true,"Verified":true' "$out"
expect_match "heartbeat state cleared" "^isolation state: NotIsolated" "$out"
check "released: server reachable" reach http://$SRV:8080/
check "released: other host reachable" reach http://$OTHER:8080/
check "released: other port reachable" reach http://$SRV:9090/
check "state file removed" test ! -e "$T/state/isolation.json"
ip netns exec "$ISO" nft list ruleset | grep -v 'packets' >"$T/after.nft"
check "ruleset after release is as before" cmp -s "$T/before.nft" "$T/after.nft"
out=$(ip netns exec "$ISO" "$T/isodrv" start "$T/state")
expect_match "start after release applies nothing" "^OK nothing to apply" "$out"
# the host namespace's ruleset was never touched
expect_eq "host ns ruleset empty" "" "$(ip netns exec "$HOST" nft list ruleset)"

# ---- the same through the real agent and vigild (when both are built) ----
if [ ! -x "$BUILD/vigil-agent" ] || [ ! -x "$BUILD/vigild" ] || ! command -v jq >/dev/null; then
    echo "  (real agent phase skipped: vigil-agent, vigild or jq missing)"
    finish
fi
D=$T/data
mkdir -p "$D"
ip netns exec "$HOST" "$BUILD/vigild" --data "$D" --listen $SRV:8443 >"$T/vigild.out" 2>"$T/vigild.log" &
PIDS+=($!)
for i in $(seq 100); do [ -s "$D/admin.token" ] && reach http://$SRV:8443/ && break; sleep 0.1; done
ADM=$(tr -d '\n' <"$D/admin.token")
api() {  # METHOD PATH [BODY] -> "STATUS BODY", from the host namespace
    local out code
    out=$(ip netns exec "$HOST" curl -s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $ADM" \
        -H 'Content-Type: application/json' ${3:+-d "$3"} "http://$SRV:8443$2")
    code=${out##*$'\n'}
    printf '%s %s' "$code" "${out%$'\n'*}"
}
AG_RUN=0
ag_start() {
    AG_RUN=$((AG_RUN + 1))
    ip netns exec "$ISO" "$BUILD/vigil-agent" --server http://$SRV:8443 --enroll-token "$ADM" \
        --state "$T/agent" --sensors inventory --poll-interval 1 --heartbeat-interval 1 \
        >"$T/agent.$AG_RUN.out" 2>"$T/agent.$AG_RUN.log" &
    AG_PID=$!
    PIDS+=($AG_PID)
}
ag_start
DEV=
for i in $(seq 100); do
    DEV=$(api GET /api/machines | cut -d' ' -f2- | jq -r '.value[0].id // empty' 2>/dev/null)
    [ -n "$DEV" ] && break
    sleep 0.1
done
check "agent enrolled through the veth" [ -n "$DEV" ]
wait_action() {  # ACTION_ID -> final status
    local st=
    for i in $(seq 150); do
        st=$(api GET "/api/machineactions/$1" | cut -d' ' -f2- | jq -r .status)
        case $st in Succeeded|Failed|Cancelled) break ;; esac
        sleep 0.1
    done
    printf '%s' "$st"
}
r=$(api POST "/api/machines/$DEV/isolate" '{"Comment":"integration test","IsolationType":"Full"}')
expect_match "isolate action created" '^201 ' "$r"
AID=$(printf '%s' "${r#* }" | jq -r .id)
expect_eq "agent: isolate succeeded" Succeeded "$(wait_action "$AID")"
if reach http://$OTHER:8080/; then fail "agent isolated: other host reachable"; else ok; fi
if reach http://$SRV:8080/; then fail "agent isolated: server's other port reachable"; else ok; fi
check "agent isolated: vigild reachable" reach http://$SRV:8443/
for i in $(seq 50); do
    st=$(api GET "/api/machines/$DEV" | cut -d' ' -f2- | jq -r .isolationState)
    [ "$st" = Isolated ] && break
    sleep 0.1
done
expect_eq "machine isolationState" Isolated "$st"
# a restart after the table was lost (a reboot): the agent re-applies it
kill -TERM $AG_PID; wait $AG_PID 2>/dev/null
ip netns exec "$ISO" nft delete table inet vigil_isolation
ag_start
for i in $(seq 100); do ip netns exec "$ISO" nft list tables | grep -q vigil_isolation && break; sleep 0.1; done
if reach http://$OTHER:8080/; then fail "agent restarted: other host reachable"; else ok; fi
r=$(api POST "/api/machines/$DEV/unisolate" '{"Comment":"release"}')
expect_match "unisolate action created" '^201 ' "$r"
AID=$(printf '%s' "${r#* }" | jq -r .id)
expect_eq "agent: unisolate succeeded" Succeeded "$(wait_action "$AID")"
check "agent released: other host reachable" reach http://$OTHER:8080/
check "agent released: server's other port reachable" reach http://$SRV:8080/
ip netns exec "$ISO" nft list ruleset | grep -v 'packets' >"$T/after2.nft"
check "agent released: ruleset as before" cmp -s "$T/before.nft" "$T/after2.nft"

finish
