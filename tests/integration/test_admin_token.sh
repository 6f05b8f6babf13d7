#!/usr/bin/env bash
# test_admin_token.sh - the first start creates an admin token, prints it
# once on stdout and keeps it in DIR/admin.token (mode 0600); later starts
# print nothing and the same token keeps working.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" || finish
out1=$(cat "$VG_OUT")
tok=$(printf '%s' "$out1" | grep -o 'vgt_[0-9a-f]*' | head -1)
expect_match "token printed on first start" '^vgt_[0-9a-f]{64}$' "$tok"
expect_eq "printed once" 1 "$(printf '%s' "$out1" | grep -c 'vgt_')"
expect_eq "admin.token holds it" "$tok" "$(vg_admin "$D")"
expect_eq "admin.token mode" 600 "$(stat -c %a "$D/admin.token")"
expect_eq "state.db mode" 600 "$(stat -c %a "$D/state.db")"
r=$(http GET /metrics -H "Authorization: Bearer $tok"); expect_match "token works" '^200 ' "$r"
check "clean stop" vg_stop
# settings also come from a config file; JSON logs are one object per line
printf '# vigild settings\nlog-format = json\nthreads = 2\n' >"$T/vigild.conf"
vg_start "$D" --config "$T/vigild.conf" || finish
sleep 0.2
expect_eq "nothing printed on restart" "" "$(cat "$VG_OUT")"
expect_eq "admin.token unchanged" "$tok" "$(vg_admin "$D")"
r=$(http GET /metrics -H "Authorization: Bearer $tok"); expect_match "token still works" '^200 ' "$r"
expect_eq "one token in state.db" 1 "$(sqlite3 "$D/state.db" 'SELECT count(*) FROM tokens')"
check "clean stop" vg_stop
check "JSON log lines parse" python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    json.loads(l); n += 1
assert n >= 3
' "$VG_LOG"
expect_match "JSON request line" '"msg":"request","req":[0-9]+,"method":"GET","path":"/metrics","status":200' "$(cat "$VG_LOG")"
r=$("$VIGILD" --threads 0 2>&1); expect_match "bounds checked" 'threads: 0 is outside 1..256' "$r"
r=$("$VIGILD" --bogus 2>&1); expect_match "unknown flag" "unknown option '--bogus'" "$r"
r=$("$VIGILD" --help); expect_match "--help lists settings" '--max-body size' "$r"
expect_match "--help lists endpoints" 'POST /api/v1/ingest' "$r"
finish
