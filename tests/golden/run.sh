#!/usr/bin/env bash
# run.sh BUILD_DIR - the golden tests: every tests/golden/<suite>/<case>.input
# is run through BUILD_DIR/tools/vg-decode with the options in <case>.args
# (if any), from inside its folder so that messages name the file the same
# way everywhere. The output compared with <case>.expected is the tool's
# stdout (one JSON row per line), then its stderr (rejects, errors), then
# "# exit N" when the exit status is not 0.
#   UPDATE=1 run.sh BUILD_DIR   rewrites the .expected files (review the diff!)
#   CASES=pattern               runs only the cases whose name matches
# The KQL parser cases in kql/ are run by run-kql.sh (called at the end).
# Last line: "N passed, M failed"; exit 1 on any failure.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
decode=$build/tools/vg-decode
if [ ! -x "$decode" ]; then
    echo "golden: $decode is missing (build it first)"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0 failed=0 updated=0
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.err"' EXIT
for input in "$here"/*/*.input; do
    [ -e "$input" ] || continue
    dir=$(dirname "$input")
    name=$(basename "$input" .input)
    [ -n "${CASES:-}" ] && [[ $name != *${CASES}* ]] && continue
    args=()
    [ -f "$dir/$name.args" ] && read -r -a args <"$dir/$name.args"
    (cd "$dir" && "$decode" "${args[@]}" "$name.input" >"$tmp" 2>"$tmp.err")
    rc=$?
    cat "$tmp.err" >>"$tmp"
    [ $rc -ne 0 ] && echo "# exit $rc" >>"$tmp"
    expected=$dir/$name.expected
    if [ "${UPDATE:-0}" = 1 ]; then
        cmp -s "$tmp" "$expected" 2>/dev/null || { cp "$tmp" "$expected"; updated=$((updated + 1)); }
        passed=$((passed + 1))
        continue
    fi
    if [ -f "$expected" ] && cmp -s "$tmp" "$expected"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $(basename "$dir")/$name"
        if [ -f "$expected" ]; then
            diff "$expected" "$tmp" | head -20
        else
            echo "  (no $name.expected; UPDATE=1 writes it)"
        fi
    fi
done
# The KQL parser cases (kql/<case>.kql -> <case>.ast) have their own runner;
# its lines are shown and its counts added to these.
if [ -x "$here/run-kql.sh" ]; then
    kql_out=$("$here/run-kql.sh" "$build")
    kql_last=$(printf '%s\n' "$kql_out" | tail -n 1)
    printf '%s\n' "$kql_out" | sed '$d'
    if [[ $kql_last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    else
        echo "FAIL kql: $kql_last"
        failed=$((failed + 1))
    fi
fi
[ "${UPDATE:-0}" = 1 ] && echo "golden: $updated expectation file(s) written"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
