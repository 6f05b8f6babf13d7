#!/usr/bin/env bash
# run.sh BUILD_DIR - runs every tests/integration/test_*.sh against the
# programs in BUILD_DIR (each test starts its own vigild on a free port with
# its own data directory). Last line: "N passed, M failed"; exit status is
# non-zero when any test failed. ONLY=pattern runs the matching tests only.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR}
[ -d "$build" ] || { echo "run.sh: no build directory $build"; echo "0 passed, 1 failed"; exit 1; }
build=$(cd "$build" && pwd)
passed=0 failed=0 failed_names=()
for t in "$here"/test_*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    if [ -n "${ONLY:-}" ] && [[ $name != *$ONLY* ]]; then continue; fi
    start=$(date +%s%N)
    if BUILD=$build bash "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '  (%s: %d.%01d s)\n' "$name" $((ms / 1000)) $((ms % 1000 / 100))
done
[ $failed -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
