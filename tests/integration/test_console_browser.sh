#!/usr/bin/env bash
# test_console_browser.sh - the console page in a real browser (Debian's
# Chromium driven by playwright-core from tests/browser):
#   - console.mjs: health, a wrong token refused with the server's message,
#     the right token listing tables;
#   - incidents.mjs: the incident queue and the incident page, against a
#     vigild with two Sigma rules (data/console/rules) and NDJSON rows that
#     fire them (data/console/events.ndjson: two alerts on ws-01, one on
#     ws-77, so two incidents): queue, filters, sort, pages, the incident's
#     fields, alerts, evidence and graph, a comment, status and assignment,
#     a stale-version conflict, a viewer refused. What the page changed is
#     then checked here through the API with curl, and a screenshot of the
#     incident page is taken into $T;
#   - graph.mjs: the graph of an incident of ~60 nodes (drawn whole, no
#     overlaps) and of one the server truncates (the page says so).
# Needs chromium and `npm ci` in tests/browser (.ci/run does both); without
# them it says SKIP and passes.
. "$(dirname "$0")/lib.sh"
BR=$(cd "$(dirname "$0")/../browser" && pwd)
DATA=$(cd "$(dirname "$0")" && pwd)/data/console
if ! command -v chromium >/dev/null || ! command -v node >/dev/null ||
    [ ! -d "$BR/node_modules/playwright-core" ]; then
    echo "test_console_browser: SKIP (needs chromium, node and npm ci in tests/browser)"
    exit 0
fi
D=$T/data
vg_start "$D" --detect-rules "$DATA/rules" || finish
TOK=$(vg_admin "$D")
VIEWER=$(vg_add_token "$D" watcher viewer)
# browse NAME SCRIPT ARGS...: runs a browser script, its lines indented, the
# output in $out; the exit status counts as a check
browse() {
    local name=$1
    shift
    out=$(cd "$BR" && timeout 180 node "$@" 2>&1)
    local rc=$?
    printf '%s\n' "$out" | sed 's/^/  /'
    expect_eq "$name" 0 "$rc"
}

# ---- the overview: tables (no rule fires on these rows) ----
printf '{"Timestamp":"2025-03-04T00:00:00Z","DeviceName":"a"}\n%.0s' 1 2 3 >"$T/a.ndjson"
printf '{"Timestamp":"2025-03-04T00:00:00Z","ActionType":"LogonSuccess"}\n' >"$T/b.ndjson"
ingest "$TOK" "?table=DeviceProcessEvents" "$T/a.ndjson" >/dev/null
ingest "$TOK" "?table=DeviceLogonEvents" "$T/b.ndjson" >/dev/null
browse "overview checks" console.mjs "$VG_URL/" "$TOK" "vgt_$(printf '0%.0s' $(seq 64))" \
    "$T/console.png"
expect_match "tables listed" "ok: tables listed" "$out"
check "overview screenshot taken" test -s "$T/console.png"

# ---- incidents: two, one of two alerts ----
r=$(ingest "$TOK" "" "$DATA/events.ndjson")
expect_match "ingest the incident events" '^200 .*"accepted":3' "$r"
api() { curl -s -H "Authorization: Bearer $TOK" "$VG_URL/api/v1/security/incidents$1"; }
# py EXPR: a Python expression over the JSON on stdin (as j)
py() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
counts=$(api '?$orderby=id' | py '",".join(str(i["alertCount"]) for i in j["value"])')
expect_eq "the API holds two incidents of 2 and 1 alerts" "2,1" "$counts"
BIG=$(api '?$filter=alertCount%20eq%202' | py 'j["value"][0]["id"]')

ASSIGNEE=alice@corp.example
browse "incident checks" incidents.mjs "$VG_URL/" "$TOK" "$VIEWER" "$ASSIGNEE" "$T/incident.png"
for c in "queue lists 2 incidents with 2 and 1 alerts" "its 2 alerts" "graph: [0-9]+ nodes" \
    "comment still there after a reload" "conflict says so" \
    "viewer's change refused with the server's message"; do
    expect_match "browser: $c" "ok: $c" "$out"
done
expect_nomatch "no browser check failed" "FAIL" "$out"
check "incident screenshot taken" test -s "$T/incident.png"

# ---- what the page did, through the API ----
inc=$(api "/$BIG")
expect_eq "status set in the page" inProgress "$(printf '%s' "$inc" | py 'j["status"]')"
expect_eq "assigned in the page" "$ASSIGNEE" "$(printf '%s' "$inc" | py 'j["assignedTo"]')"
expect_eq "classified after the conflict" "truePositive malware" \
    "$(printf '%s' "$inc" | py 'j["classification"]+" "+j["determination"]')"
expect_eq "the change behind the page kept" "['changed-behind']" \
    "$(printf '%s' "$inc" | py 'j["customTags"]')"
com=$(api "/$BIG/comments")
expect_eq "one comment, the page's (the viewer's was refused)" "1" \
    "$(printf '%s' "$com" | py 'len(j["value"])')"
expect_match "the comment's text" '"comment":"first look from the console test [0-9]+"' "$com"
# the audit log: one PATCH refused with 412 (the conflict) and nothing it
# wrote (one classification change, the retry's); the viewer's PATCH and
# comment refused with 403
aud=$(curl -s -H "Authorization: Bearer $TOK" "$VG_URL/api/v1/audit?objectId=$BIG" | py '
" ".join(str(n) for n in (
    sum(r["status"] == 412 and r["action"].startswith("PATCH") for r in j["value"]),
    sum(r["action"] == "incident.update" and "classification" in (r["detail"] or {})
        for r in j["value"]),
    sum(r["status"] == 403 and r["role"] == "viewer" for r in j["value"])))')
expect_eq "audit: 412s, classification changes, viewer 403s" "1 1 2" "$aud"
expect_eq "the other incident untouched" "active None" \
    "$(api '?$filter=alertCount%20eq%201' | py 'j["value"][0]["status"]+" "+str(j["value"][0]["assignedTo"])')"

# ---- bigger graphs: ~60 nodes, and more than the server's graph holds ----
# generated rows: 30 dumper alerts on ws-mid, each by its own account (one
# incident, 1 + 30 + 32 nodes), and 1,001 encoded-PowerShell alerts on
# ws-big (one incident; the graph holds 1,000 alerts). A second vigild on the
# same data with no alert suppression window, so every row is an alert.
check "stop for the bigger graphs" vg_stop
vg_start "$D" --detect-rules "$DATA/rules" --detect-suppress-window 0 || finish
python3 - "$T/many.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    def row(n, dev, acct, img, cmd):
        f.write(json.dumps({"Table": "DeviceProcessEvents",
            "Timestamp": "2025-02-04T08:%02d:%02dZ" % (n // 60 % 60, n % 60),
            "DeviceId": "id-" + dev, "DeviceName": dev, "ActionType": "ProcessCreated",
            "FileName": img.split("\\")[-1], "FolderPath": img, "ProcessCommandLine": cmd,
            "AccountDomain": "CORP", "AccountName": acct, "ReportId": 1000 + n}) + "\n")
    for i in range(30):
        row(i, "ws-mid", "user%02d" % i, "C:\\Tools\\vgcon-dumper.exe", "vgcon-dumper.exe %d" % i)
    for i in range(1001):
        row(i, "ws-big", "bigsvc", "C:\\Windows\\powershell.exe", "powershell -enc vgcon-encoded %d" % i)
PY
r=$(ingest "$TOK" "" "$T/many.ndjson")
expect_match "ingest the generated rows" '^200 .*"accepted":1031' "$r"
MID=$(api '?$filter=alertCount%20eq%2030' | py 'j["value"][0]["id"]')
BIGG=$(api '?$filter=alertCount%20eq%201001' | py 'j["value"][0]["id"]')
browse "graph checks" graph.mjs "$VG_URL/" "$TOK" "$MID" "$BIGG" "$T/graph.png"
expect_match "browser: ~60 nodes drawn" "ok: all [0-9]+ nodes" "$out"
expect_match "browser: truncated note" "ok: the page says truncated" "$out"
expect_nomatch "no graph check failed" "FAIL" "$out"
check "graph screenshot taken" test -s "$T/graph.png"
check "clean stop" vg_stop
finish
