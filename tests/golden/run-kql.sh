#!/usr/bin/env bash
# run-kql.sh BUILD_DIR - the KQL parser golden tests: every
# tests/golden/kql/<case>.kql is parsed by BUILD_DIR/tools/vg-kql-parse and its
# output (the AST as an S-expression, or "error: VG_X: line L, column C: ...")
# plus "# exit N" when the status is not 0 is compared with <case>.ast.
#   UPDATE=1 run-kql.sh BUILD_DIR   rewrites the .ast files (review the diff!)
#   CASES=pattern                   runs only the cases whose name matches
# Called by run.sh; last line: "N passed, M failed"; exit 1 on any failure.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
tool=$build/tools/vg-kql-parse
if [ ! -x "$tool" ]; then
    echo "golden kql: $tool is missing (build it first)"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0 failed=0 updated=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for q in "$here"/kql/*.kql; do
    [ -e "$q" ] || continue
    name=$(basename "$q" .kql)
    [ -n "${CASES:-}" ] && [[ $name != *${CASES}* ]] && continue
    (cd "$here/kql" && "$tool" "$name.kql" >"$tmp" 2>&1)
    rc=$?
    [ $rc -ne 0 ] && echo "# exit $rc" >>"$tmp"
    expected=$here/kql/$name.ast
    if [ "${UPDATE:-0}" = 1 ]; then
        cmp -s "$tmp" "$expected" 2>/dev/null || { cp "$tmp" "$expected"; updated=$((updated + 1)); }
        passed=$((passed + 1))
        continue
    fi
    if [ -f "$expected" ] && cmp -s "$tmp" "$expected"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL kql/$name"
        if [ -f "$expected" ]; then
            diff "$expected" "$tmp" | head -20
        else
            echo "  (no $name.ast; UPDATE=1 writes it)"
        fi
    fi
done
[ "${UPDATE:-0}" = 1 ] && echo "golden kql: $updated expectation file(s) written"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
