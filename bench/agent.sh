#!/usr/bin/env bash
# agent.sh BUILD_DIR - the agent benchmark (make bench, part 5; make bench-agent). Needs root.
#
# Starts a real vigild and vigil-agent (all sensors) on 127.0.0.1 with scratch
# directories, then measures the agent process from /proc/PID/stat (CPU ticks)
# and /proc/PID/status (VmRSS, VmHWM):
#   1. idle: BENCH_AGENT_IDLE (60) seconds with nothing happening;
#   2. exec storm: BENCH_AGENT_RATE (2000) execs/s of /bin/true for
#      BENCH_AGENT_STORM (30) seconds (bench/exec_storm.c), each with a unique
#      marker argument; then waits for delivery and counts, through advanced
#      hunting, the DeviceProcessEvents rows that carry the marker: rows
#      delivered, rows/s, and the agent's own drop counters (its last
#      heartbeat, kept in state.db) - delivered + dropped must account for
#      every exec (nothing silent).
# Targets (issue 6): idle < 0.5% CPU and < 20 MB RSS; storm < 10% of one core,
# no silent drops. Prints "name value unit" lines and one
# "bench-agent-json: {...}" line. Exit status 0 when it ran (targets missed
# are printed as FAIL, as the other benchmarks do).
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench-agent: SKIP (needs root: the proc connector and fanotify)"; exit 0; }
for b in vigild vigil-agent bench/exec_storm; do
    [ -x "$BUILD/$b" ] || { echo "bench-agent: $BUILD/$b is missing (make bench)" >&2; exit 1; }
done
IDLE=${BENCH_AGENT_IDLE:-60}
RATE=${BENCH_AGENT_RATE:-2000}
STORM=${BENCH_AGENT_STORM:-30}
T=$(mktemp -d /tmp/vigil-bench-agent.XXXXXX)
VG=; AG=
cleanup() {
    [ -n "$AG" ] && kill -TERM "$AG" 2>/dev/null && wait "$AG" 2>/dev/null
    [ -n "$VG" ] && kill -TERM "$VG" 2>/dev/null && wait "$VG" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
echo "bench-agent: ($(git -C "$HERE" describe --always --dirty 2>/dev/null), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r))"

"$BUILD/vigild" --data "$T/data" --listen 127.0.0.1:0 --detect=false --rate-limit 0 >"$T/vigild.out" 2>"$T/vigild.log" &
VG=$!
PORT=
for _ in $(seq 1 200); do
    PORT=$(sed -n 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' "$T/vigild.log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "bench-agent: vigild did not start"; cat "$T/vigild.log"; exit 1; }
URL=http://127.0.0.1:$PORT
ADM=$(cat "$T/data/admin.token")
ENROLL=$(curl -s -H "Authorization: Bearer $ADM" -d '{"name":"bench-enroll","role":"ingest"}' "$URL/api/v1/tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$BUILD/vigil-agent" --server "$URL" --enroll-token "$ENROLL" --state "$T/agent" --heartbeat-interval 5 \
    >"$T/agent.out" 2>"$T/agent.log" &
AG=$!
for _ in $(seq 1 100); do
    grep -q 'sensor=inventory' "$T/agent.log" && grep -q 'sensor=proc' "$T/agent.log" && break
    sleep 0.1
done
sleep 5   # enrollment, the first inventory and the first batches settle

ticks() { awk '{print $14 + $15}' "/proc/$AG/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$AG/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$AG/status"; }
HZ=$(getconf CLK_TCK)

# 1. idle
t0=$(ticks); s0=$(date +%s.%N)
sleep "$IDLE"
t1=$(ticks); s1=$(date +%s.%N)
idle_cpu=$(python3 -c "print(round(100.0 * ($t1 - $t0) / $HZ / ($s1 - $s0), 3))")
idle_rss=$(rss_kb)

# 2. exec storm
MARK="vgbench$(date +%s)"
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%3NZ; }
t0=$(ticks); s0=$(date +%s.%N)
storm=$("$BUILD/bench/exec_storm" "$RATE" "$STORM" /bin/true "$MARK")
t1=$(ticks); s1=$(date +%s.%N)
storm_cpu=$(python3 -c "print(round(100.0 * ($t1 - $t0) / $HZ / ($s1 - $s0), 2))")
execs=$(printf '%s' "$storm" | awk '{print $2}')
achieved=$(printf '%s' "$storm" | awk '{print $4}')
storm_hwm=$(hwm_kb)
# delivery: wait until the storm's row count stops growing. A /bin/true
# that ended before the agent read /proc still has its row, with less in it
# (no command line): rows are counted by time window (the storm's, plus 1 s),
# and those carrying the marker separately.
W0=$(iso "$s0"); W1=$(iso "$(python3 -c "print($s1 + 1)")")
hunt_count() {
    curl -s -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
        --data "{\"Query\":\"DeviceProcessEvents | where $1 | count\"}" \
        "$URL/api/advancedhunting/run" | python3 -c 'import json,sys; r=json.load(sys.stdin)["Results"]; print(r[0]["Count"] if r else 0)'
}
count() { hunt_count "Timestamp between (datetime($W0) .. datetime($W1))"; }
ds=$(date +%s.%N); prev=-1; n=0
for _ in $(seq 1 120); do
    n=$(count)
    [ "$n" = "$prev" ] && [ "$n" != 0 ] && break
    prev=$n
    sleep 2
done
de=$(date +%s.%N)
marked=$(hunt_count "ProcessCommandLine has '$MARK'")
sleep 6   # one more heartbeat with the final drop counters
hb=$(sqlite3 "$T/data/state.db" "SELECT heartbeat FROM devices LIMIT 1" 2>/dev/null)
drops=$(printf '%s' "$hb" | python3 -c '
import json,sys
try: h=json.loads(sys.stdin.read() or "{}")
except Exception: h={}
d=h.get("Drops") or {}
print(sum(v for v in d.values() if isinstance(v,(int,float))) + ((h.get("Spool") or {}).get("Dropped") or 0))')
rate_delivered=$(python3 -c "print(round($n / ($de - $s0)))")
accounted=$((n + drops))
echo "idle_cpu ${idle_cpu} %"
echo "idle_rss $((idle_rss / 1024)) MB ($idle_rss kB)"
echo "storm_execs $execs (${achieved} execs/s asked ${RATE}/s for ${STORM} s)"
echo "storm_cpu ${storm_cpu} % of one core"
echo "storm_rss_peak $((storm_hwm / 1024)) MB"
echo "delivered $n rows (${rate_delivered} rows/s from the storm's start to the last row; $marked with the full command line)"
echo "dropped $drops (the agent's counters)"
silent=$((execs - accounted))
[ $silent -lt 0 ] && silent=0
echo "unaccounted $silent (execs neither delivered nor counted as dropped)"
verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo ok; else echo FAIL; fi; }
echo "target idle cpu < 0.5%: $(verdict "$idle_cpu < 0.5")"
echo "target idle rss < 20 MB: $(verdict "$idle_rss < 20480")"
echo "target storm cpu < 10%: $(verdict "$storm_cpu < 10")"
echo "target no silent drops: $(verdict "$silent == 0")"
printf 'bench-agent-json: {"idle_cpu_pct":%s,"idle_rss_kb":%s,"storm_execs":%s,"storm_rate":%s,"storm_cpu_pct":%s,"storm_rss_peak_kb":%s,"delivered":%s,"with_cmdline":%s,"delivered_per_s":%s,"dropped":%s,"unaccounted":%s}\n' \
    "$idle_cpu" "$idle_rss" "$execs" "${achieved%/s}" "$storm_cpu" "$storm_hwm" "$n" "$marked" "$rate_delivered" "$drops" "$silent"
exit 0
