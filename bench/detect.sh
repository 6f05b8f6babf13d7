#!/usr/bin/env bash
# detect.sh BUILD_DIR - the detection benchmark (make bench, part 3; make bench-detect).
#
# Runs BUILD_DIR/bench/detect (bench/detect.c; make builds it, this script
# builds nothing) over the SigmaHQ corpus and its EVTX regression samples in
# SIGMA_DIR (default ../shared/data/sigma beside the repository), and prints
# its table and its one machine-readable line ("bench-detect-json: {...}").
# What it measures, on one core: detection rows/s with 0, 10, 100, 1,000 and
# all rules over generated mixed telemetry (+10% Windows rows from the EVTX
# samples), the portable PCRE2 path on a sample, and the whole path (decode ->
# detect -> alerts -> durable store) with all rules; beside the published
# figures of Hayabusa, Zircolite and Wazuh (none can be installed here: not in
# Debian 12, no registry we can reach ships them).
#
# Knobs (environment; see bench/detect.c): BENCH_DETECT_ROWS (500000),
# BENCH_DETECT_RUNS (3), BENCH_DETECT_PATH_ROWS (200000),
# BENCH_DETECT_SAMPLE_ROWS (2000), BENCH_DETECT_FSYNC (1), BENCH_DETECT_PORTABLE
# (1), BENCH_DETECT_TMP (scratch store; TMPDIR or /tmp), SIGMA_DIR.
# Exit status: the program's (0 when every part ran; targets that are missed
# are printed as FAIL but do not fail make bench).
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SIGMA=${SIGMA_DIR:-$(cd "$HERE/../.." && pwd)/shared/data/sigma}
BIN=$BUILD/bench/detect

die() { echo "bench-detect: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN is missing (make $BUILD/bench/detect, or make bench)"
for d in rules rules-threat-hunting rules-emerging-threats regression_data; do
    [ -d "$SIGMA/$d" ] || die "$SIGMA/$d is missing (set SIGMA_DIR to the SigmaHQ data)"
done
echo "bench-detect: $BIN $SIGMA ($(git -C "$HERE" describe --always --dirty 2>/dev/null), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
start=$(date +%s)
"$BIN" "$SIGMA"
rc=$?
echo "bench-detect: done in $(( $(date +%s) - start )) s (exit $rc)"
exit $rc
