# lib.sh - helpers shared by the integration tests (sourced, not run).
#
# Each test sources this file with BUILD set (the build directory holding
# vigild and tools/vg-count), gets its own temporary directory $T, starts its
# own vigild on 127.0.0.1 with a free port (--listen 127.0.0.1:0; the bound
# port is read back from the "listening" log line), and on exit kills the
# servers it started by PID. Assertions count failures; `finish` prints
# the outcome and sets the exit status.
set -u
: "${BUILD:?BUILD must name the build directory}"
BUILD=$(cd "$BUILD" && pwd)
VIGILD=$BUILD/vigild
VGCOUNT=$BUILD/tools/vg-count
T=$(mktemp -d /tmp/vigil-it.XXXXXX)
VG_PID=
VG_PORT=
VG_URL=
VG_LOG=
VG_OUT=
VG_RUN=0
FAILS=0
CHECKS=0
TEST_NAME=$(basename "$0" .sh)

cleanup() {
    if [ -n "$VG_PID" ] && kill -0 "$VG_PID" 2>/dev/null; then
        kill -KILL "$VG_PID" 2>/dev/null
        wait "$VG_PID" 2>/dev/null
    fi
    if [ "${KEEP_TMP:-0}" = 1 ] || [ "$FAILS" -ne 0 ]; then
        echo "  (kept $T)"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

fail() { FAILS=$((FAILS + 1)); echo "  FAIL: $*"; }
ok() { CHECKS=$((CHECKS + 1)); }

# check DESC COMMAND... : passes when the command succeeds
check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then ok; else fail "$desc"; fi
}
# expect_eq DESC EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok; else fail "$1: expected '$2', got '$3'"; fi
}
# expect_match DESC REGEX TEXT
expect_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then ok; else fail "$1: '$2' not in: $(printf '%s' "$3" | head -c 600)"; fi
}
expect_nomatch() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then fail "$1: '$2' unexpectedly in output"; else ok; fi
}

# vg_start DATA_DIR [vigild options...]: starts vigild, waits until it listens
# (a failure to start counts as a failed check).
vg_start() {
    local dir=$1
    shift
    VG_RUN=$((VG_RUN + 1))
    VG_LOG=$T/vigild.$VG_RUN.log
    VG_OUT=$T/vigild.$VG_RUN.out
    "$VIGILD" --data "$dir" --listen 127.0.0.1:0 "$@" >"$VG_OUT" 2>"$VG_LOG" &
    VG_PID=$!
    local i
    for i in $(seq 1 200); do
        VG_PORT=$(sed -n -e 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' \
            -e 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$VG_LOG" | head -1)
        if [ -n "$VG_PORT" ]; then
            VG_URL=http://127.0.0.1:$VG_PORT
            return 0
        fi
        if ! kill -0 "$VG_PID" 2>/dev/null; then
            fail "vigild exited at start:"; sed 's/^/    /' "$VG_LOG"
            VG_PID=
            return 1
        fi
        sleep 0.05
    done
    fail "vigild did not start listening"; sed 's/^/    /' "$VG_LOG"
    return 1
}

# vg_stop: SIGTERM and wait; returns vigild's exit status.
vg_stop() {
    [ -n "$VG_PID" ] || return 0
    kill -TERM "$VG_PID" 2>/dev/null
    local rc=0
    wait "$VG_PID" || rc=$?
    VG_PID=
    return $rc
}

# vg_kill9: SIGKILL and reap.
vg_kill9() {
    [ -n "$VG_PID" ] || return 0
    kill -KILL "$VG_PID" 2>/dev/null
    wait "$VG_PID" 2>/dev/null
    VG_PID=
}

# admin token of a data directory
vg_admin() { tr -d '\n' <"$1/admin.token"; }

# vg_add_token DATA_DIR NAME ROLE: adds a token to state.db the way an offline
# tool would (sqlite3), prints the secret. vigild notices the change.
vg_add_token() {
    local secret hash
    secret=vgt_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    hash=sha256:$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
    sqlite3 "$1/state.db" "INSERT INTO tokens(name, role, hash, created, revoked) VALUES('$2', '$3', '$hash', strftime('%s','now'), 0);" || return 1
    printf '%s' "$secret"
}

# http METHOD PATH [curl args...]: prints "STATUS BODY" (body on one line)
http() {
    local method=$1 path=$2
    shift 2
    curl -s -o "$T/resp" -w '%{http_code}' -X "$method" "$@" "$VG_URL$path" >"$T/code" 2>/dev/null
    printf '%s %s' "$(cat "$T/code")" "$(tr -d '\n' <"$T/resp")"
}

# ingest TOKEN QUERY FILE [curl args...]
ingest() {
    local tok=$1 query=$2 file=$3
    shift 3
    http POST "/api/v1/ingest$query" -H "Authorization: Bearer $tok" \
        -H 'Content-Type: application/x-ndjson' --data-binary "@$file" "$@"
}

# count DATA_DIR TABLE: rows of TABLE through the scan API (vigild stopped)
count() { "$VGCOUNT" "$1" "$2"; }

# json_get JSON KEY: the number after "KEY": in a JSON answer (first match)
json_get() { printf '%s' "$1" | sed -n "s/^[^\"]*\"$2\":\([0-9]*\).*/\1/p; s/.*[{,]\"$2\":\([0-9]*\).*/\1/p" | head -1; }

finish() {
    if [ "$FAILS" -eq 0 ]; then
        echo "$TEST_NAME: ok ($CHECKS checks)"
        exit 0
    fi
    echo "$TEST_NAME: FAILED ($FAILS of $((CHECKS + FAILS)) checks)"
    exit 1
}
