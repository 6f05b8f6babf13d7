#!/usr/bin/env bash
# run-unit.sh BUILD_DIR - runs every cmocka test program in BUILD_DIR/tests and
# sums the cases. Last line: "N passed, M failed". Exit 1 on any failure.
set -u
build=${1:-build}
passed=0 failed=0 broken=()
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        [ -z "$f" ] && failed=$((failed + 1))
        broken+=("$(basename "$t")")
        printf '%s\n' "$out" | grep -E 'FAIL|ERROR|error|Sanitizer|runtime error' | head -20
    fi
    printf '%-28s %s\n' "$(basename "$t")" "$([ $rc -eq 0 ] && echo ok || echo FAILED)"
done
[ ${#broken[@]} -eq 0 ] || echo "failing programs: ${broken[*]}"
echo "unit ($build): $passed passed, $failed failed"
[ $failed -eq 0 ] && [ ${#broken[@]} -eq 0 ]
