#!/usr/bin/env bash
# test_auth.sh - /healthz needs no token; everything else needs a valid
# bearer token (401 without one, with a wrong one, with another scheme, or a
# revoked one); roles are enforced (403): ingest tokens may ingest but not
# read metrics, viewer tokens the reverse; no token secret ever reaches the log.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" || finish
ADMIN=$(vg_admin "$D")

r=$(http GET /healthz); expect_eq "healthz without token" '200 {"status":"ok"}' "$r"
r=$(http GET /metrics); expect_match "metrics without token" '^401 ' "$r"
r=$(http GET /metrics -H "Authorization: Bearer vgt_0000"); expect_match "metrics wrong token" '^401 ' "$r"
r=$(http GET /metrics -H "Authorization: Basic $(printf admin:x | base64)"); expect_match "basic scheme" '^401 ' "$r"
r=$(http GET /metrics -H "Authorization: Bearer ${ADMIN}x"); expect_match "token with extra char" '^401 ' "$r"
printf '{"Table":"DeviceEvents","DeviceName":"a"}\n' >"$T/one.ndjson"
r=$(http POST /api/v1/ingest --data-binary @"$T/one.ndjson"); expect_match "ingest without token" '^401 ' "$r"
r=$(ingest wrong "" "$T/one.ndjson"); expect_match "ingest wrong token" '^401 ' "$r"
hdr=$(curl -s -D - -o /dev/null "$VG_URL/metrics")
expect_match "401 carries WWW-Authenticate" 'WWW-Authenticate: Bearer' "$hdr"
r=$(http GET /nope); expect_match "unknown path without token is 401" '^401 ' "$r"
r=$(http GET /nope -H "Authorization: Bearer $ADMIN"); expect_match "unknown path with token is 404" '^404 ' "$r"
r=$(http GET /api/v1/ingest -H "Authorization: Bearer $ADMIN"); expect_match "GET on ingest is 405" '^405 ' "$r"
r=$(http GET /metrics -H "Authorization: Bearer $ADMIN"); expect_match "metrics with admin token" '^200 ' "$r"
r=$(http GET /metrics -H "authorization: bearer $ADMIN"); expect_match "scheme is case-insensitive" '^200 ' "$r"

# tokens added offline (as `vigil token` would) are picked up without a restart
ING=$(vg_add_token "$D" shipper ingest)
VIEW=$(vg_add_token "$D" grafana viewer)
r=$(ingest "$ING" "" "$T/one.ndjson"); expect_match "ingest token may ingest" '^200 .*"accepted":1' "$r"
r=$(http GET /metrics -H "Authorization: Bearer $ING"); expect_match "ingest token may not read metrics" '^403 ' "$r"
r=$(ingest "$VIEW" "" "$T/one.ndjson"); expect_match "viewer may not ingest" '^403 ' "$r"
r=$(http GET /metrics -H "Authorization: Bearer $VIEW"); expect_match "viewer reads metrics" '^200 ' "$r"
sqlite3 "$D/state.db" "UPDATE tokens SET revoked = strftime('%s','now') WHERE name = 'shipper'"
r=$(ingest "$ING" "" "$T/one.ndjson"); expect_match "revoked token" '^401 ' "$r"

# hashes only in state.db, secrets nowhere in the logs
stored=$(sqlite3 "$D/state.db" "SELECT hash FROM tokens ORDER BY id" | tr '\n' ' ')
expect_match "hashes are sha256" '^sha256:[0-9a-f]{64} sha256:' "$stored"
expect_nomatch "admin secret not in state.db" "$ADMIN" "$(sqlite3 "$D/state.db" .dump)"
check "vigild stops cleanly" vg_stop
logs=$(cat "$T"/vigild.*.log)
expect_nomatch "admin secret not logged" "$ADMIN" "$logs"
expect_nomatch "ingest secret not logged" "$ING" "$logs"
expect_nomatch "viewer secret not logged" "$VIEW" "$logs"
expect_match "audit line names the token" 'msg=audit action=ingest .*token=shipper role=ingest' "$logs"
expect_match "one log line per request" 'msg=request .*path=/metrics status=403' "$logs"
finish
