#!/usr/bin/env bash
# test_ingest.sh - POST /api/v1/ingest with good and bad lines: the good rows
# are accepted and durable, each bad line is listed with its line number and
# reason and lands in the dead-letter area with that reason; ?table= and the
# "Table" member route rows; unknown table/format are 400; the rejected list
# is capped with rejected_total.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")

cat >"$T/mixed.ndjson" <<'X'
{"Table":"DeviceProcessEvents","Timestamp":"2025-03-01T10:00:00Z","DeviceName":"good-1","ReportId":1}
this is not json at all
{"Table":"DeviceProcessEvents","Timestamp":"2025-03-01T10:00:01Z","DeviceName":"good-2","ReportId":2}

{"Table":"DeviceProcessEvents","DeviceName":"bad-type","ReportId":"notanumber"}
{"Table":"NoSuchTable","DeviceName":"bad-table"}
{"Table":"DeviceProcessEvents","Timestamp":"2025-03-01T10:00:02Z","DeviceName":"good-3","ReportId":3}
X
r=$(ingest "$TOK" "" "$T/mixed.ndjson")
expect_match "status 200" '^200 ' "$r"
body=${r#200 }
expect_eq "accepted" 3 "$(json_get "$body" accepted)"
expect_eq "rejected_total" 3 "$(json_get "$body" rejected_total)"
lines=$(printf '%s' "$body" | python3 -c 'import json,sys; print(",".join(str(x["line"]) for x in json.load(sys.stdin)["rejected"]))')
expect_eq "rejected line numbers" "2,5,6" "$lines"
expect_match "reason for the type error" '"line":5,"error":"column ReportId \(long\): cannot read' "$body"
expect_match "reason for the unknown table" '"line":6,"error":"unknown table' "$body"

# ?table= gives the default table; a "Table" member still wins
cat >"$T/notable.ndjson" <<'X'
{"Timestamp":"2025-03-01T11:00:00Z","DeviceName":"q-1","ActionType":"x"}
{"Timestamp":"2025-03-01T11:00:01Z","DeviceName":"q-2","ActionType":"y"}
{"Table":"DeviceLogonEvents","Timestamp":"2025-03-01T11:00:02Z","DeviceName":"member-1"}
X
r=$(ingest "$TOK" "?table=DeviceEvents" "$T/notable.ndjson")
expect_match "?table= accepted" '^200 \{"accepted":3,"rejected":\[\],"rejected_total":0' "$r"
r=$(ingest "$TOK" "" "$T/notable.ndjson")
expect_match "no table: two rejects" '^200 \{"accepted":1,.*"rejected_total":2' "$r"
r=$(ingest "$TOK" "?table=NoSuchTable" "$T/notable.ndjson")
expect_match "unknown ?table= is 400" '^400 .*unknown table' "$r"
r=$(ingest "$TOK" "?format=yaml" "$T/notable.ndjson")
expect_match "unknown ?format= is 400" '^400 .*unknown format' "$r"
r=$(ingest "$TOK" "?format=ndjson&table=DeviceEvents" "$T/notable.ndjson")
expect_match "?format=ndjson" '^200 \{"accepted":3' "$r"
: >"$T/empty"
r=$(ingest "$TOK" "" "$T/empty")
expect_match "empty body" '^200 \{"accepted":0' "$r"

# a reason quoting invalid UTF-8 still makes a valid UTF-8 JSON answer
printf '{"DeviceName":"u","ReportId":"\xff\xfe\xc3"}\n' >"$T/utf8.ndjson"
curl -s -o "$T/utf8.resp" -H "Authorization: Bearer $TOK" --data-binary @"$T/utf8.ndjson" \
    "$VG_URL/api/v1/ingest?table=DeviceEvents"
check "answer is valid UTF-8 JSON" python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$T/utf8.resp"
hdr=$(curl -s -D - -o /dev/null "$VG_URL/healthz")
expect_match "X-Request-Id header" 'X-Request-Id: [0-9]+' "$hdr"

# the rejected list is capped, the total is not
python3 -c 'import sys; sys.stdout.write("garbage\n" * 1500)' >"$T/garbage.ndjson"
r=$(ingest "$TOK" "?table=DeviceEvents" "$T/garbage.ndjson")
body=${r#200 }
expect_eq "rejected_total uncapped" 1500 "$(json_get "$body" rejected_total)"
expect_eq "rejected list capped" 1000 "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rejected"]))')"

check "clean stop" vg_stop
# durable: what was acknowledged is in the store
expect_eq "DeviceProcessEvents rows" 3 "$(count "$D" DeviceProcessEvents)"
expect_eq "DeviceEvents rows" 4 "$(count "$D" DeviceEvents)"
expect_eq "DeviceLogonEvents rows (Table member)" 3 "$(count "$D" DeviceLogonEvents)"
# dead letters: every bad line with its reason
check "dead-letter area exists" test -d "$D/deadletter"
dl=$(cat $(find "$D/deadletter" -type f) 2>/dev/null)
expect_match "dead letter: not-json line" 'this is not json at all' "$dl"
expect_match "dead letter: bad type line" 'notanumber' "$dl"
expect_match "dead letter: type reason" 'cannot read' "$dl"
expect_match "dead letter: unknown table line" 'bad-table' "$dl"
expect_match "dead letter: table reason" 'unknown table' "$dl"
expect_match "dead letter: no-table reason" 'no table' "$dl"
expect_match "dead letter: the invalid UTF-8 line" '"line":1,' "$dl"
expect_eq "dead letter: all 1500 garbage lines" 1500 "$(printf '%s\n' "$dl" | grep -c garbage)"
finish
