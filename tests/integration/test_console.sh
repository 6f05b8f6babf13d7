#!/usr/bin/env bash
# test_console.sh - GET / serves the console page without a token (it holds
# no data), GET /api/v1/tables needs a reader token and lists the tables that
# hold rows with their counts; an ingest-only token may not read it. The
# page text: it reads the incident routes, sends If-Match, and never inserts
# markup from data (no innerHTML) nor loads anything from elsewhere.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")
page=$(curl -s -D "$T/h" "$VG_URL/")
expect_match "console page" '<title>Vigil</title>' "$page"
expect_match "page reads the tables endpoint" "/api/v1/tables" "$page"
expect_match "page reads the incidents" "/api/v1/security/incidents" "$page"
expect_match "page sends If-Match" "If-Match" "$page"
expect_match "page draws the graph as SVG" "createElementNS" "$page"
expect_nomatch "no innerHTML in the page" "innerHTML|outerHTML|insertAdjacentHTML|document\\.write" "$page"
expect_nomatch "no outside assets" "(src|href|action)=[\"']?(https?:)?//" "$page"
expect_match "page ends whole" '</script>.*</body></html>' "$(printf '%s' "$page" | tr -d '\n')"
expect_match "html content type" 'Content-Type: text/html' "$(cat "$T/h")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$VG_URL/api/v1/tables")
expect_eq "tables without token" 401 "$code"
printf '{"Timestamp":"2025-03-04T00:00:00Z","DeviceName":"a"}\n{"Timestamp":"2025-03-04T00:00:01Z","DeviceName":"b"}\n' >"$T/a.ndjson"
printf '{"Timestamp":"2025-03-04T00:00:00Z","ActionType":"LogonSuccess"}\n' >"$T/b.ndjson"
ingest "$TOK" "?table=DeviceProcessEvents" "$T/a.ndjson" >/dev/null
ingest "$TOK" "?table=DeviceLogonEvents" "$T/b.ndjson" >/dev/null
t=$(curl -s -H "Authorization: Bearer $TOK" "$VG_URL/api/v1/tables")
expect_match "process rows" '\{"table":"DeviceProcessEvents","rows":2\}' "$t"
expect_match "logon rows" '\{"table":"DeviceLogonEvents","rows":1\}' "$t"
expect_nomatch "empty tables left out" '"DeviceFileEvents"' "$t"
ING=$(vg_add_token "$D" feeder ingest)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ING" "$VG_URL/api/v1/tables")
expect_eq "ingest token may not read tables" 403 "$code"
check "clean stop" vg_stop
finish
