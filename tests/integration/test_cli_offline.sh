#!/usr/bin/env bash
# test_cli_offline.sh - the `vigil` command line against a data directory:
# help and schema output, gen determinism, gen -> ingest -> count, dump
# round trips (a dump re-ingested into a second directory dumps the same),
# stdin input, and a file with bad lines (exit 3, FILE:LINE on stderr,
# every bad line in the dead-letter area).
. "$(dirname "$0")/lib.sh"
VIGIL=$BUILD/vigil
if "$VIGIL" --help 2>&1 | grep -q 'not built yet'; then
    echo "$TEST_NAME: SKIP (vigil not built yet)"
    exit 0
fi
START=2025-01-06T00:00:00Z

# ---- help and schema ----
out=$("$VIGIL" --help); rc=$?
expect_eq "vigil --help exit" 0 "$rc"
for c in schema ingest count dump gen; do
    expect_match "vigil --help lists $c" "^  $c " "$out"
    o=$("$VIGIL" "$c" --help); rc=$?
    expect_eq "vigil $c --help exit" 0 "$rc"
    expect_match "vigil $c --help usage" "Usage: vigil $c" "$o"
done
"$VIGIL" nonsense >/dev/null 2>&1; expect_eq "unknown command exit" 2 "$?"
"$VIGIL" gen --bogus 1 >/dev/null 2>&1; expect_eq "unknown option exit" 2 "$?"

out=$("$VIGIL" schema)
expect_match "schema lists DeviceProcessEvents" "^DeviceProcessEvents +[0-9]+ columns" "$out"
expect_match "schema lists EmailEvents" "^EmailEvents " "$out"
out=$("$VIGIL" schema DeviceProcessEvents)
expect_match "schema of a table: a column and its type" "ProcessCommandLine +string" "$out"
expect_match "schema of a table: datetime" "Timestamp +datetime" "$out"
out=$("$VIGIL" schema --format json DeviceLogonEvents)
n=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["name"], len(d["columns"]), [c["type"] for c in d["columns"] if c["name"]=="RemotePort"][0])')
expect_match "schema --format json of a table" "^DeviceLogonEvents [0-9]+ int$" "$n"
n=$("$VIGIL" schema --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect_eq "schema --format json lists as many tables as text" "$("$VIGIL" schema | wc -l)" "$n"
"$VIGIL" schema NoSuchTable >/dev/null 2>&1; expect_eq "schema of an unknown table" 1 "$?"

# ---- gen ----
"$VIGIL" gen --devices 12 --days 3 --rows 20000 --seed 5 --start $START --out "$T/a.ndjson"
expect_eq "gen exit" 0 "$?"
"$VIGIL" gen --devices 12 --days 3 --rows 20000 --seed 5 --start $START >"$T/a2.ndjson"
check "gen: same seed, same bytes" cmp -s "$T/a.ndjson" "$T/a2.ndjson"
"$VIGIL" gen --devices 12 --days 3 --rows 20000 --seed 6 --start $START >"$T/b.ndjson"
if cmp -s "$T/a.ndjson" "$T/b.ndjson"; then fail "gen: another seed gives the same bytes"; else ok; fi
expect_eq "gen --rows is exact" 20000 "$(wc -l <"$T/a.ndjson")"
"$VIGIL" gen --rows 10 --tables Nope >/dev/null 2>&1; expect_eq "gen --tables unknown" 2 "$?"

# ---- gen -> ingest -> count ----
out=$("$VIGIL" ingest --data "$T/d1" "$T/a.ndjson" 2>"$T/err"); rc=$?
expect_eq "ingest exit" 0 "$rc"
expect_match "ingest summary" "1 file, 20,000 rows accepted, 0 rejected" "$out"
total=0
for t in DeviceProcessEvents DeviceNetworkEvents DeviceLogonEvents DeviceFileEvents \
         DeviceRegistryEvents DeviceImageLoadEvents DeviceInfo; do
    want=$(grep -c "^{\"Table\":\"$t\"" "$T/a.ndjson")
    got=$("$VIGIL" count --data "$T/d1" $t)
    expect_eq "count $t" "$want" "$got"
    total=$((total + got))
done
expect_eq "count: all rows" 20000 "$total"
expect_eq "count of an empty table" 0 "$("$VIGIL" count --data "$T/d1" EmailEvents)"

# ---- dump round trips ----
for t in DeviceProcessEvents DeviceNetworkEvents DeviceInfo; do
    "$VIGIL" dump --data "$T/d1" $t >"$T/dump1.$t"
    expect_eq "dump $t rows" "$("$VIGIL" count --data "$T/d1" $t)" "$(wc -l <"$T/dump1.$t")"
    "$VIGIL" ingest --data "$T/d2" "$T/dump1.$t" >/dev/null 2>&1
    expect_eq "re-ingest of dump $t exit" 0 "$?"
    "$VIGIL" dump --data "$T/d2" $t >"$T/dump2.$t"
    check "dump $t round-trips" cmp -s "$T/dump1.$t" "$T/dump2.$t"
done
expect_eq "dump --limit" 5 "$("$VIGIL" dump --data "$T/d1" --limit 5 DeviceProcessEvents | wc -l)"
python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$T/dump1.DeviceProcessEvents"
expect_eq "dump is valid NDJSON" 0 "$?"

# ---- stdin ----
out=$(head -3000 "$T/a.ndjson" | "$VIGIL" ingest --data "$T/d3" - 2>&1); rc=$?
expect_eq "ingest from stdin exit" 0 "$rc"
want=$(head -3000 "$T/a.ndjson" | grep -c '^{"Table":"DeviceNetworkEvents"')
expect_eq "ingest from stdin: count" "$want" "$("$VIGIL" count --data "$T/d3" DeviceNetworkEvents)"

# ---- bad lines: exit 3, FILE:LINE, dead letters ----
{
    sed -n 1p "$T/a.ndjson"
    echo '{"Table":"DeviceProcessEvents","Timestamp":"not a time","FileName":"x.exe"}'
    sed -n 2p "$T/a.ndjson"
    echo '{"Table":"DeviceProcessEvents", "ProcessId": }'
    echo ''
    echo '{"Table":"NoSuchTable","Timestamp":"2025-01-06T00:00:00Z"}'
    sed -n 3p "$T/a.ndjson"
} >"$T/bad.ndjson"
out=$("$VIGIL" ingest --data "$T/d4" "$T/bad.ndjson" 2>"$T/err"); rc=$?
err=$(cat "$T/err")
expect_eq "ingest with bad lines exits 3" 3 "$rc"
expect_match "summary counts accepted and rejected" "3 rows accepted, 3 rejected" "$out"
expect_match "reject names file:line (2)" "bad.ndjson:2: " "$err"
expect_match "reject names file:line (4)" "bad.ndjson:4: " "$err"
expect_match "reject names file:line (6)" "bad.ndjson:6: .*NoSuchTable" "$err"
dl=$(cat "$T"/d4/deadletter/*.ndjson 2>/dev/null)
expect_eq "dead letters written" 3 "$(printf '%s\n' "$dl" | grep -c '"line"')"
expect_match "dead letter keeps the line number and the record" '"line":4,.*ProcessId' "$dl"
expect_eq "good rows of a file with bad lines are kept" 3 \
    "$(( $("$VIGIL" count --data "$T/d4" DeviceProcessEvents) + $("$VIGIL" count --data "$T/d4" DeviceNetworkEvents) + $("$VIGIL" count --data "$T/d4" DeviceInfo) + $("$VIGIL" count --data "$T/d4" DeviceRegistryEvents) + $("$VIGIL" count --data "$T/d4" DeviceFileEvents) + $("$VIGIL" count --data "$T/d4" DeviceImageLoadEvents) + $("$VIGIL" count --data "$T/d4" DeviceLogonEvents) ))"
"$VIGIL" ingest --data "$T/d5" "$T/missing.ndjson" >/dev/null 2>&1
expect_eq "missing input file exits 1" 1 "$?"

finish
