#!/usr/bin/env bash
# incidents.sh BUILD_DIR - the incident benchmark (make bench, part 4; make bench-incidents).
#
# 1. BUILD_DIR/bench/incidents (bench/incidents.c): the correlation engine
#    alone with BENCH_INC_OPEN (100000) open incidents: alerts/s through
#    correlation (joins, new incidents, merges) and the latency of one alert.
# 2. bench/incidents_e2e.py: a real vigild with one Sigma rule; BENCH_INC_E2E_OPEN
#    (100000) events on distinct devices open as many incidents through the
#    ingest API, then BENCH_INC_E2E_N (1000) single-event requests, each
#    raising an alert that joins an open incident: p50/p99 of the time from
#    the POST to the answer, which vigild gives only once the event is durable,
#    detected and its incident updated (correlation runs before the answer).
# Exit status: 0 when both parts ran.
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$BUILD/bench/incidents
[ -x "$BIN" ] || { echo "bench-incidents: $BIN is missing (make bench)" >&2; exit 1; }
echo "bench-incidents: ($(git -C "$HERE" describe --always --dirty 2>/dev/null), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
rc=0
"$BIN" --incidents "${BENCH_INC_OPEN:-100000}" || rc=1
python3 "$HERE/incidents_e2e.py" "$BUILD" || rc=1
exit $rc
