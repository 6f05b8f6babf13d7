#!/usr/bin/env bash
# test_kql_differential.sh - differential test of the KQL engine against
# sqlite3 (tests/kql/differential_sql.py): random filter, aggregate and join
# queries written in KQL and in equivalent SQL over the same rows must give the
# same multisets of rows. DIFF_QUERIES / DIFF_SEED / DIFF_BATCH tune the run.
. "$(dirname "$0")/lib.sh"
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: python3 is not installed"
    exit 0
fi
out=$(DIFF_TMP=$T python3 "$(dirname "$0")/../kql/differential_sql.py" "$BUILD" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  /' | tail -40
expect_eq "differential_sql.py exit status" 0 "$rc"
expect_match "differential summary line" '^differential: [0-9]+ queries, 0 mismatches' "$out"
# the parallel plans (scans split over threads, partial aggregates merged):
# every query alone, so that none hides inside a union
out=$(DIFF_TMP=$T DIFF_QUERIES=${DIFF_PAR_QUERIES:-150} DIFF_BATCH=1 \
      DIFF_HUNT_ARGS="--threads 3 --parallel-min-rows 1" \
      python3 "$(dirname "$0")/../kql/differential_sql.py" "$BUILD" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  /' | tail -20
expect_eq "differential_sql.py (parallel) exit status" 0 "$rc"
expect_match "differential summary line (parallel)" '^differential: [0-9]+ queries, 0 mismatches' "$out"
finish
