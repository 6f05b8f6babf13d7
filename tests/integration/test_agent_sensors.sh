#!/usr/bin/env bash
# test_agent_sensors.sh - vigil-agent's file, net, logon and inventory sensors
# against a real vigild (needs root: fanotify, sock_diag owners, sshd).
# Real actions, rows found through /api/advancedhunting/run:
#   file: a file created, appended, renamed and deleted in a watched folder,
#         an executable written outside it; hashes of the written file;
#   net: a listener on 127.0.0.1, a connect to it and its accept;
#   logon: an sshd started here on 127.0.0.1 (its log via sshd -E is the
#         auth log): a key login that succeeds, an unknown user that fails;
#         a sudo line and a wtmp console record appended by the test;
#   inventory: a dpkg status fixture, then a changed one (a second snapshot).
# Without root: a SKIP line.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
    echo "$TEST_NAME: SKIP (needs root for fanotify and sshd)"
    exit 0
fi
AGENT=$BUILD/vigil-agent
AG_PID=
SSHD_PID=
ag_cleanup() {
    if [ -n "$AG_PID" ] && kill -0 "$AG_PID" 2>/dev/null; then
        kill -KILL "$AG_PID" 2>/dev/null
        wait "$AG_PID" 2>/dev/null
    fi
    if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null; fi
    cleanup
}
trap ag_cleanup EXIT

D=$T/data
vg_start "$D" || finish
ADM=$(vg_admin "$D")
r=$(http POST /api/v1/tokens -H "Authorization: Bearer $ADM" -d '{"name":"enroll","role":"ingest"}')
expect_match "ingest token created" '^201 ' "$r"
ENROLL=$(printf '%s' "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

hunt() {
    Q=$1 python3 -c 'import json,os; print(json.dumps({"Query": os.environ["Q"]}))' >"$T/q.json"
    curl -s -X POST -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
        --data-binary "@$T/q.json" "$VG_URL/api/advancedhunting/run" |
        python3 -c 'import json,sys
d=json.load(sys.stdin)
for r in d.get("Results", []): print(json.dumps(r, sort_keys=True))'
}
wait_rows() {
    local i n=0
    for i in $(seq 1 $(($3 * 2))); do
        n=$(hunt "$1" | wc -l)
        [ "$n" -ge "$2" ] && break
        sleep 0.5
    done
    echo "$n"
}

# ---- the sshd whose log is the auth log ----
SSH=$T/ssh
mkdir -p "$SSH" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$SSH/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$SSH/userkey"
cp "$SSH/userkey.pub" "$SSH/authorized_keys"
chmod 600 "$SSH/authorized_keys"
SSH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$SSH/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $SSH/hostkey
AuthorizedKeysFile $SSH/authorized_keys
PidFile $SSH/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
: >"$T/auth.log"
/usr/sbin/sshd -f "$SSH/sshd_config" -E "$T/auth.log" || { fail "sshd did not start"; finish; }
for i in $(seq 1 50); do [ -s "$SSH/sshd.pid" ] && break; sleep 0.1; done
SSHD_PID=$(cat "$SSH/sshd.pid")

# ---- the agent ----
mkdir -p "$T/watched" "$T/elsewhere"
: >"$T/wtmp"
: >"$T/btmp"
cp "$(dirname "$0")/../unit/data/agent/dpkg_status" "$T/dpkg_status"
# the sensors' configuration is in the settings table: --help lists it
help=$("$AGENT" --help)
for f in file-paths auth-log wtmp btmp dpkg-status inventory-interval; do
    printf '%s\n' "$help" | grep -q -- "--$f " || { echo "FAIL: --help does not list --$f"; exit 1; }
done
"$AGENT" --file-paths "$T/watched" --auth-log "$T/auth.log" --wtmp "$T/wtmp" \
    --btmp "$T/btmp" --dpkg-status "$T/dpkg_status" --inventory-interval 1 \
    --server "$VG_URL" --enroll-token "$ENROLL" --state "$T/agent" \
    --sensors file,net,logon,inventory --heartbeat-interval 2 --log-level debug \
    >"$T/agent.out" 2>"$T/agent.log" &
AG_PID=$!
started=0
for i in $(seq 1 100); do
    started=$(grep -c 'msg="sensor started"' "$T/agent.log")
    [ "$started" -ge 4 ] && break
    kill -0 "$AG_PID" 2>/dev/null || break
    sleep 0.1
done
expect_eq "four sensors started" 4 "$started"
[ "$started" -ge 4 ] || { sed 's/^/    /' "$T/agent.log"; finish; }

# ---- file ----
W=$T/watched
printf 'one\n' >"$W/a.txt"
sleep 0.3
printf 'two\n' >>"$W/a.txt"
sleep 0.3
mv "$W/a.txt" "$W/b.txt"
sleep 0.3
rm "$W/b.txt"
install -m 755 /dev/stdin "$T/elsewhere/tool.sh" <<<'#!/bin/sh'
printf 'not executable\n' >"$T/elsewhere/plain.txt"
printf '#!/bin/sh\necho dropped\n' >"$T/elsewhere/dropped"
chmod +x "$T/elsewhere/dropped"
q="DeviceFileEvents | where FolderPath startswith '$T/'"
n=$(wait_rows "$q" 6 20)
rows=$(hunt "$q")
check "file rows arrived" test "$n" -ge 6
c=$(printf '%s\n' "$rows" | grep '"FileName": "a.txt"' | grep '"ActionType": "FileCreated"')
expect_match "a.txt created, with its size" '"FileSize": 4' "$c"
expect_match "a.txt created: SHA256" "\"SHA256\": \"$(printf 'one\n' | sha256sum | cut -d' ' -f1)\"" "$c"
expect_match "a.txt created: initiating process is this shell" "\"InitiatingProcessId\": $$" "$c"
c=$(printf '%s\n' "$rows" | grep '"FileName": "a.txt"' | grep '"ActionType": "FileModified"')
expect_match "a.txt appended: one FileModified with the new size" '"FileSize": 8' "$c"
expect_eq "a.txt appended: one row" 1 "$(printf '%s\n' "$c" | grep -c .)"
expect_match "renamed a.txt -> b.txt" '"ActionType": "FileRenamed".*"FileName": "b.txt".*"PreviousFileName": "a.txt"' \
    "$(printf '%s\n' "$rows" | grep FileRenamed)"
expect_match "b.txt deleted" '"ActionType": "FileDeleted"' "$(printf '%s\n' "$rows" | grep '"FileName": "b.txt"')"
expect_match "executable written outside the watched folder" '"FileName": "tool.sh"' "$rows"
expect_match "a file written outside, then made executable" \
    "\"FileName\": \"dropped\".*\"SHA256\": \"$(sha256sum "$T/elsewhere/dropped" | cut -d' ' -f1)\"" \
    "$(printf '%s\n' "$rows" | grep '"FileName": "dropped"')"
expect_nomatch "a plain file outside is not reported" 'plain.txt' "$rows"

# ---- net ----
python3 - "$T/port" <<'EOF' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(1.5)
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
time.sleep(3)
EOF
PYPID=$!
for i in $(seq 1 30); do [ -s "$T/port" ] && break; sleep 0.1; done
P=$(cat "$T/port")
q="DeviceNetworkEvents | where LocalPort == $P or RemotePort == $P"
n=$(wait_rows "$q" 3 20)
rows=$(hunt "$q")
expect_eq "three network rows for the port" 3 "$n"
expect_match "listener" '"ActionType": "ListeningConnectionCreated"' "$rows"
expect_match "outbound connect" "\"ActionType\": \"ConnectionSuccess\".*\"RemotePort\": $P" \
    "$(printf '%s\n' "$rows" | grep ConnectionSuccess | tr -d '\n')"
expect_match "inbound accept" "\"ActionType\": \"InboundConnectionAccepted\".*\"LocalPort\": $P" \
    "$(printf '%s\n' "$rows" | grep Inbound | tr -d '\n')"
expect_match "owner process" "\"InitiatingProcessId\": $PYPID" "$rows"
expect_match "loopback" '"RemoteIPType": "Loopback"' "$rows"
wait "$PYPID"

# ---- logon ----
SSHOPT=(-p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
    -o LogLevel=ERROR)
check "ssh key login" ssh "${SSHOPT[@]}" -i "$SSH/userkey" root@127.0.0.1 true
ssh "${SSHOPT[@]}" nosuchuser_$$@127.0.0.1 true 2>/dev/null
printf '%s host sudo:    root : TTY=pts/9 ; PWD=/ ; USER=nobody ; COMMAND=/bin/true\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.000000+00:00)" >>"$T/auth.log"
python3 - "$T/wtmp" <<'EOF'
import struct, sys, time
rec = struct.pack('<hxxi32s4s32s256shhiii4I20x', 7, 4242, b'tty7', b'', b'consoleuser', b'',
                  0, 0, 0, int(time.time()), 0, 0, 0, 0, 0)
open(sys.argv[1], 'ab').write(rec)
EOF
q="DeviceLogonEvents"
n=$(wait_rows "$q" 4 20)
rows=$(hunt "$q")
expect_eq "four logon rows" 4 "$n"
ok_row=$(printf '%s\n' "$rows" | grep '"Protocol": "ssh"' | grep LogonSuccess)
expect_match "ssh success: account, type, address" '"AccountName": "root".*"LogonType": "Network"' "$ok_row"
expect_match "ssh success: remote IP" '"RemoteIP": "127.0.0.1"' "$ok_row"
expect_match "ssh success: method" 'publickey' "$ok_row"
bad_row=$(printf '%s\n' "$rows" | grep LogonFailed)
expect_match "ssh failure: unknown user" "\"AccountName\": \"nosuchuser_$$\"" "$bad_row"
expect_match "ssh failure: reason" '"FailureReason": "UnknownUser"' "$bad_row"
expect_match "sudo success" '"AccountName": "root".*"Protocol": "sudo"' "$(printf '%s\n' "$rows" | grep sudo)"
expect_match "wtmp console login" '"AccountName": "consoleuser".*"Protocol": "login"' \
    "$(printf '%s\n' "$rows" | grep consoleuser)"

# ---- inventory ----
# (the table has no Timestamp column in Vigil's schema: snapshots are told apart by count here)
q="DeviceTvmSoftwareInventory"
n=$(wait_rows "$q" 3 20)
rows=$(hunt "$q")
expect_eq "three installed packages" 3 "$n"
expect_match "OS columns" '"OSArchitecture": "x(64|86)|"OSArchitecture": "arm' "$rows"
expect_match "libc6 with vendor" '"SoftwareName": "libc6".*"SoftwareVendor": "GNU Libc Maintainers"|"SoftwareVendor": "GNU Libc Maintainers".*"SoftwareName": "libc6"' "$rows"
expect_nomatch "not-installed packages skipped" 'oldpkg|halfpkg' "$rows"
printf '\nPackage: newpkg\nStatus: install ok installed\nVersion: 9\nMaintainer: Me <me@x>\n' >>"$T/dpkg_status"
n=$(wait_rows "$q" 7 20)
expect_eq "a changed status file gives a second, full snapshot (3 + 4 rows)" 7 "$n"

kill -TERM "$AG_PID"
rc=0
wait "$AG_PID" || rc=$?
AG_PID=
expect_eq "agent exits 0 on SIGTERM" 0 "$rc"
check "logon offsets kept for a restart" test -s "$T/agent/logon-offsets"
finish
