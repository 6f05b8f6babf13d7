#!/usr/bin/env bash
# test_regression_data.sh [BUILD_DIR] - (run.sh passes $BUILD instead) decodes
# every sample of SigmaHQ's regression suite (../shared/data/sigma/regression_data, beside the repo)
# with build/tools/vg-decode, in both forms: the .evtx file (libevtx + expat)
# and the .json dump (evtx JSON convention). Checks that
#   - no file gives a reject or an error,
#   - the EVTX and JSON forms of each sample give the same rows (sorted),
#   - each sample gives at least one row.
# Skips (exit 0, saying so) when the data is absent. Last line: "N passed, M failed".
set -u
build=${1:-${BUILD:-build}}
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/../.." && pwd))
data=${REGRESSION_DATA:-$top/../shared/data/sigma/regression_data}
decode=$build/tools/vg-decode
case $decode in /*) ;; *) decode=$top/$decode ;; esac
if [ ! -d "$data" ]; then
    echo "test_regression_data: SKIP: $data is absent"
    echo "0 passed, 0 failed"
    exit 0
fi
if [ ! -x "$decode" ]; then
    echo "test_regression_data: $decode is missing (build it first)"
    echo "0 passed, 1 failed"
    exit 1
fi
# Samples whose two forms hold different data (checked by reading libevtx's XML),
# so equality is not expected; each with the reason. Everything else must match.
known_diff() {
    case $1 in
    */proc_creation_win_susp_right_to_left_override/ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx)
        echo "the JSON dump writes ParentCommandLine C:\\Windows\\Explorer.exe, the EVTX Explorer.EXE" ;;
    esac
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 files=0 rows=0 rejects=0
while IFS= read -r -d '' evtx; do
    json=${evtx%.evtx}.json
    rel=${evtx#"$data"/}
    files=$((files + 1))
    "$decode" "$evtx" >"$tmp/e.out" 2>"$tmp/e.err"; erc=$?
    if [ -f "$json" ]; then
        files=$((files + 1))
        "$decode" --format evtx-json "$json" >"$tmp/j.out" 2>"$tmp/j.err"; jrc=$?
    else
        : >"$tmp/j.out"; echo "no JSON dump beside the EVTX file" >"$tmp/j.err"; jrc=1
    fi
    n=$(wc -l <"$tmp/e.out")
    rows=$((rows + n))
    rejects=$((rejects + $(grep -c '^reject' "$tmp/e.err") + $(grep -c '^reject' "$tmp/j.err")))
    why=
    [ $erc -ne 0 ] || [ -s "$tmp/e.err" ] && why="EVTX: exit $erc $(head -c 300 "$tmp/e.err")"
    [ -z "$why" ] && { [ $jrc -ne 0 ] || [ -s "$tmp/j.err" ]; } && why="JSON: exit $jrc $(head -c 300 "$tmp/j.err")"
    [ -z "$why" ] && [ "$n" -eq 0 ] && why="no rows"
    known=$(known_diff "$rel")
    if [ -z "$why" ] && [ -n "$known" ]; then
        [ "$(wc -l <"$tmp/j.out")" -eq "$n" ] || why="row counts differ"
        cmp -s <(sort "$tmp/e.out") <(sort "$tmp/j.out") && why="known difference is gone: drop it from known_diff"
        [ -z "$why" ] && echo "note $rel: forms differ as known: $known"
    elif [ -z "$why" ] && ! cmp -s <(sort "$tmp/e.out") <(sort "$tmp/j.out"); then
        why="EVTX and JSON rows differ:
$(diff <(sort "$tmp/e.out" | tr ',' '\n') <(sort "$tmp/j.out" | tr ',' '\n') | head -10)"
    fi
    if [ -z "$why" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $rel: $why"
    fi
done < <(find "$data" -name '*.evtx' -print0 | sort -z)
echo "regression data: $files files, $rows events per form, $rejects rejects, $passed of $((passed + failed)) samples pass (EVTX = JSON except the known differences noted)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
