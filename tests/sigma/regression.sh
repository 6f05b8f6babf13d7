#!/usr/bin/env bash
# regression.sh BUILD_DIR - SigmaHQ's own regression suite (make sigma-regression):
# every sample under $SIGMA/regression_data (EVTX and its JSON dump) must fire
# its rule at least match_count times, with the whole corpus loaded together,
# once with Hyperscan (when built in) and once on the portable PCRE2 path.
# Prints the pass count and every failure with its reason; exits 1 on any.
#   SIGMA  the SigmaHQ tree (default ../shared/data/sigma)
set -u
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
SIGMA=${SIGMA:-$top/../shared/data/sigma}
if [ ! -d "$SIGMA/regression_data" ]; then
    echo "sigma-regression: $SIGMA/regression_data is missing (set SIGMA=)"; exit 1
fi
rules=()
for d in rules rules-threat-hunting rules-emerging-threats; do
    [ -d "$SIGMA/$d" ] && rules+=(--rules "$SIGMA/$d")
done
cache="$BUILD/hs-cache"
rc=0
for mode in hyperscan portable; do
    extra=()
    [ "$mode" = portable ] && extra=(--portable)
    out=$("$BUILD/vigil" rules test "$SIGMA/regression_data" "${rules[@]}" "${extra[@]}" \
        --cache-dir "$cache" 2>/dev/null)
    status=$?
    echo "$out" | grep -E '^FAIL' || true
    echo "sigma-regression ($mode): $(echo "$out" | tail -1)"
    [ $status -eq 0 ] || rc=1
done
check=$("$BUILD/vigil" rules check --format json "${rules[@]}" --cache-dir "$cache" 2>/dev/null)
echo "sigma-regression: corpus: $(echo "$check" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("%d of %d rules compile (%.2f%%), %d failed" % (r["compiled"], r["total"],
      100.0 * r["compiled"] / max(r["total"], 1), len(r["failed"])))
for f in r["failed"]:
    print("  failed: %s: %s" % (f["file"], f["reason"]))
if r["compiled"] * 100 < r["total"] * 99:
    sys.exit(1)
')" || rc=1
exit $rc
