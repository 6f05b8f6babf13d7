#!/usr/bin/env bash
# test_tokens_audit.sh - tokens, the audit log and rate limits end to end:
#   - tokens created, listed and revoked through the API, through `vigil
#     token --server` and offline with `vigil token --data` beside a running
#     vigild; a revoked token is refused at its very next request; the last
#     active admin token cannot be revoked; bad names and roles are refused;
#   - no secret in vigild's log, in state.db's audit table or in
#     GET /api/v1/audit;
#   - every write has an audit row with its actor and status, refused ones
#     (401, 403) and ingest included; reads have none; the filters work;
#   - --rate-limit 5 --rate-burst 5: a quick burst gets 429 with Retry-After,
#     another token is not affected, /healthz is never limited.
. "$(dirname "$0")/lib.sh"
VIGIL=$BUILD/vigil
D=$T/data
vg_start "$D" --detect=false --detections=false || finish
ADMIN=$(vg_admin "$D")
AH=(-H "Authorization: Bearer $ADMIN")
J=(-H 'Content-Type: application/json')
secret_of() { printf '%s' "$1" | sed -n 's/.*"token":"\(vgt_[0-9a-f]*\)".*/\1/p'; }
id_of() { printf '%s' "$1" | sed -n 's/^[0-9]* {"id":"\([0-9]*\)".*/\1/p; s/^{"id":"\([0-9]*\)".*/\1/p' | head -1; }

# ---- the token API ----
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"shipper","role":"ingest"}')
expect_match "create an ingest token" '^201 \{"id":"[0-9]+","name":"shipper","role":"ingest","created":"[0-9T:.-]+Z","revoked":null,"token":"vgt_[0-9a-f]{64}"\}' "$r"
ING=$(secret_of "$r"); ING_ID=$(id_of "$r")
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"grafana","role":"viewer"}')
VIEW=$(secret_of "$r"); VIEW_ID=$(id_of "$r")
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"soc","role":"analyst"}')
ANA=$(secret_of "$r")
check "secrets came back" test -n "$ING" -a -n "$VIEW" -a -n "$ANA" -a -n "$ING_ID"
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"x","role":"root"}')
expect_match "unknown role is 400" '^400 .*role: .root. is not a role' "$r"
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"","role":"viewer"}')
expect_match "empty name is 400" '^400 .*token name: empty' "$r"
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d "{\"name\":\"$(printf 'n%.0s' $(seq 1 65))\",\"role\":\"viewer\"}")
expect_match "65-character name is 400" '^400 .*at most 64' "$r"
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"tab\there","role":"viewer"}')
expect_match "control character in name is 400" '^400 .*not printable' "$r"
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"a","role":"viewer","x":1}')
expect_match "unknown member is 400" "^400 .*unknown member 'x'" "$r"
r=$(http POST /api/v1/tokens "${AH[@]}" "${J[@]}" -d '{"name":"a"')
expect_match "bad JSON is 400" '^400 ' "$r"
r=$(http GET /api/v1/tokens "${AH[@]}")
expect_match "list names the tokens" '^200 \{"value":\[\{"id":"1","name":"admin","role":"admin".*"name":"shipper".*"name":"grafana"' "$r"
expect_nomatch "list holds no secret" 'vgt_' "$r"
expect_nomatch "list holds no hash" 'sha256' "$r"
r=$(http GET /api/v1/tokens -H "Authorization: Bearer $VIEW")
expect_match "viewer may not list tokens" '^403 ' "$r"
r=$(http POST /api/v1/tokens -H "Authorization: Bearer $ANA" "${J[@]}" -d '{"name":"mine","role":"admin"}')
expect_match "analyst may not create tokens" '^403 ' "$r"

printf '{"Table":"DeviceEvents","DeviceName":"a"}\n' >"$T/one.ndjson"
r=$(ingest "$ING" "" "$T/one.ndjson"); expect_match "new ingest token ingests" '^200 .*"accepted":1' "$r"
r=$(ingest "$VIEW" "" "$T/one.ndjson"); expect_match "viewer may not ingest (403, audited)" '^403 ' "$r"
r=$(http DELETE "/api/v1/tokens/$ING_ID" "${AH[@]}")
expect_match "revoke through the API" '^200 \{"id":"'"$ING_ID"'","name":"shipper".*"revoked":"[0-9T:.-]+Z"' "$r"
r=$(ingest "$ING" "" "$T/one.ndjson"); expect_match "revoked token refused at once" '^401 ' "$r"
r=$(http DELETE "/api/v1/tokens/$ING_ID" "${AH[@]}"); expect_match "revoking twice is fine" '^200 ' "$r"
r=$(http DELETE /api/v1/tokens/424242 "${AH[@]}"); expect_match "unknown id is 404" '^404 ' "$r"
r=$(http DELETE /api/v1/tokens/abc "${AH[@]}"); expect_match "non-numeric id is 400" '^400 ' "$r"
r=$(http DELETE /api/v1/tokens/1 "${AH[@]}"); expect_match "last admin token is kept (409)" '^409 .*last active admin' "$r"
r=$(http GET /metrics "${AH[@]}"); expect_match "admin still works" '^200 ' "$r"

# ---- vigil token against the server ----
export VIGIL_SERVER=$VG_URL VIGIL_TOKEN=$ADMIN
out=$("$VIGIL" token create --name cli-made --role responder --format json 2>&1)
expect_match "vigil token create (server)" '^\{"id":"[0-9]+","name":"cli-made","role":"responder".*"token":"vgt_' "$out"
RESP=$(secret_of "$out"); RESP_ID=$(id_of "$out")
r=$(http GET /api/v1/security/incidents -H "Authorization: Bearer $RESP")
expect_nomatch "the CLI-made token authenticates" '^401 ' "$r"
out=$("$VIGIL" token list 2>&1)
expect_match "vigil token list (server) is a table" 'ID +NAME +ROLE +CREATED +REVOKED' "$out"
expect_match "vigil token list shows the revoked token" "$ING_ID +shipper +ingest +[0-9T:.-]+Z +[0-9T:.-]+Z" "$out"
expect_nomatch "vigil token list shows no secret" 'vgt_' "$out"
check "vigil token revoke (server)" "$VIGIL" token revoke "$RESP_ID"
r=$(http GET /metrics -H "Authorization: Bearer $RESP"); expect_match "CLI-revoked token refused" '^401 ' "$r"
out=$("$VIGIL" token revoke 1 2>&1); rc=$?
expect_eq "vigil token revoke of the last admin fails" 1 "$rc"
expect_match "and says why" 'last active admin' "$out"
out=$(VIGIL_TOKEN=$VIEW "$VIGIL" token list 2>&1); rc=$?
expect_eq "vigil token list with a viewer token fails" 1 "$rc"
expect_match "with the server's 403" 'answered 403' "$out"
out=$("$VIGIL" token create --name x --role king 2>&1); rc=$?
expect_eq "bad --role is a usage error" 2 "$rc"
unset VIGIL_SERVER VIGIL_TOKEN

# ---- vigil token offline, beside the running vigild ----
out=$("$VIGIL" token create --data "$D" --name offline-ops --role admin --format json 2>&1)
expect_match "vigil token create --data" '"name":"offline-ops","role":"admin"' "$out"
OFF=$(secret_of "$out"); OFF_ID=$(id_of "$out")
r=$(http GET /api/v1/tokens -H "Authorization: Bearer $OFF"); expect_match "offline-made token works at once" '^200 ' "$r"
out=$("$VIGIL" token list --data "$D" 2>&1)
expect_match "vigil token list --data" "$OFF_ID +offline-ops +admin" "$out"
check "vigil token revoke --data" "$VIGIL" token revoke "$OFF_ID" --data "$D"
r=$(http GET /api/v1/tokens -H "Authorization: Bearer $OFF"); expect_match "offline revocation seen at once" '^401 ' "$r"
out=$("$VIGIL" token revoke 1 --data "$D" 2>&1); rc=$?
expect_eq "offline: the last admin is kept too" 1 "$rc"
out=$("$VIGIL" token list --data "$T/nowhere" 2>&1); rc=$?
expect_eq "offline on a missing directory fails" 1 "$rc"

# ---- the audit log ----
http POST /api/v1/ingest --data-binary @"$T/one.ndjson" >/dev/null   # anonymous attempt
r=$(http GET '/api/v1/audit?$top=1000' "${AH[@]}")
expect_match "audit answers" '^200 \{"value":\[' "$r"
expect_match "token.create row" '"actor":"admin","role":"admin","action":"token.create","objectType":"token","objectId":"'"$ING_ID"'","status":201,"remote":"127.0.0.1:[0-9]+","detail":\{"name":"shipper","role":"ingest"\}' "$r"
expect_match "token.revoke row" '"action":"token.revoke","objectType":"token","objectId":"'"$ING_ID"'","status":200' "$r"
expect_match "ingest row" '"actorId":"'"$ING_ID"'","actor":"shipper","role":"ingest","action":"POST /api/v1/ingest","objectType":null,"objectId":null,"status":200' "$r"
expect_match "403 attempt row" '"actorId":"'"$VIEW_ID"'","actor":"grafana","role":"viewer","action":"POST /api/v1/ingest","objectType":null,"objectId":null,"status":403' "$r"
expect_match "401 attempt row (revoked token)" '"actorId":null,"actor":"anonymous","role":null,"action":"POST /api/v1/ingest","objectType":null,"objectId":null,"status":401' "$r"
expect_match "409 row" '"action":"DELETE /api/v1/tokens/\{id\}","objectType":"token","objectId":"1","status":409' "$r"
expect_match "404 row" '"action":"DELETE /api/v1/tokens/\{id\}","objectType":"token","objectId":"424242","status":404' "$r"
expect_match "CLI revoke row" '"action":"token.revoke","objectType":"token","objectId":"'"$RESP_ID"'","status":200' "$r"
expect_nomatch "reads are not audited" '"action":"GET ' "$r"
expect_nomatch "no secret in GET /api/v1/audit" 'vgt_' "$r"
r=$(http GET "/api/v1/audit?actor=grafana" "${AH[@]}")
expect_match "?actor= filters" '"actor":"grafana"' "$r"
expect_nomatch "?actor= keeps only that actor" '"actor":"(admin|shipper|anonymous)"' "$r"
r=$(http GET "/api/v1/audit?objectType=token&objectId=$ING_ID" "${AH[@]}")
expect_eq "?objectType=&objectId= filter" 3 "$(printf '%s' "$r" | grep -o '"objectId":"'"$ING_ID"'"' | wc -l)"
r=$(http GET "/api/v1/audit?action=token.create&\$top=2" "${AH[@]}")
expect_eq "\$top limits" 2 "$(printf '%s' "$r" | grep -o '"action":"token.create"' | wc -l)"
r=$(http GET "/api/v1/audit?action=token.create&\$top=1&\$skip=1" "${AH[@]}")
expect_eq "\$skip pages" 1 "$(printf '%s' "$r" | grep -o '"action":"token.create"' | wc -l)"
r=$(http GET '/api/v1/audit?$top=1001' "${AH[@]}"); expect_match "\$top over 1000 is 400" '^400 ' "$r"
r=$(http GET '/api/v1/audit?since=2999-01-01T00:00:00Z' "${AH[@]}"); expect_eq "since in the future" '200 {"value":[]}' "$r"
r=$(http GET '/api/v1/audit?since=yesterday' "${AH[@]}"); expect_match "bad since is 400" '^400 .*since' "$r"
r=$(http GET /api/v1/audit -H "Authorization: Bearer $VIEW"); expect_match "viewer may not read the audit log" '^403 ' "$r"
rows=$(sqlite3 "$D/state.db" "SELECT count(*) FROM audit WHERE actor IS NULL OR actor = '' OR action = ''")
expect_eq "every audit row has an actor and an action" 0 "$rows"
rows=$(sqlite3 "$D/state.db" "SELECT count(*) FROM audit WHERE action LIKE 'POST %' OR action LIKE 'DELETE %' OR action LIKE 'token.%'")
check "writes are in the audit table" test "$rows" -ge 10

check "vigild stops cleanly" vg_stop
dump=$(sqlite3 "$D/state.db" .dump)
logs=$(cat "$T"/vigild.*.log "$T"/vigild.*.out)
for s in "$ING" "$VIEW" "$ANA" "$RESP" "$OFF"; do
    expect_nomatch "a secret is not in state.db" "$s" "$dump"
    expect_nomatch "a secret is not in vigild's log" "$s" "$logs"
done
expect_nomatch "the admin secret is not in state.db" "$ADMIN" "$dump"

# ---- rate limits ----
vg_start "$D" --detect=false --detections=false --rate-limit 5 --rate-burst 5 || finish
codes=""
for i in $(seq 1 15); do
    c=$(curl -s -D "$T/hdr.$i" -o "$T/body.$i" -w '%{http_code}' -H "Authorization: Bearer $VIEW" "$VG_URL/metrics")
    codes="$codes $c"
    [ "$c" = 429 ] && last429=$i
done
expect_match "a quick burst is limited" ' 429' "$codes"
expect_match "the first requests of the burst pass" '^ 200 200 200 200' "$codes"
expect_match "429 carries Retry-After" 'Retry-After: [0-9]+' "$(cat "$T/hdr.${last429:-0}" 2>/dev/null)"
expect_match "429 body names the limit" 'rate limit: token .grafana. is over 5 requests/s' "$(cat "$T/body.${last429:-0}" 2>/dev/null)"
r=$(http GET /metrics "${AH[@]}"); expect_match "another token is not affected" '^200 ' "$r"
expect_match "429s are counted" 'vigil_http_requests_total\{code="429"\} [1-9]' "$r"
for i in $(seq 1 20); do
    c=$(curl -s -o /dev/null -w '%{http_code}' "$VG_URL/healthz")
    [ "$c" = 200 ] || break
done
expect_eq "health is never limited" 200 "$c"
sleep 1.3
r=$(http GET /metrics -H "Authorization: Bearer $VIEW"); expect_match "the bucket refills" '^200 ' "$r"
r=$(sqlite3 "$D/state.db" "SELECT count(*) FROM audit WHERE status = 429")
expect_eq "refused reads are not audited (GET)" 0 "$r"
codes=""
for i in $(seq 1 15); do
    codes="$codes $(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $VIEW" "$VG_URL/api/v1/rules/reload")"
done
expect_match "writes over the limit get 429 too" ' 429' "$codes"
check "vigild stops cleanly" vg_stop
r=$(sqlite3 "$D/state.db" "SELECT count(*) FROM audit WHERE status = 429 AND actor = 'grafana' AND action = 'POST /api/v1/rules/reload'")
check "a write refused with 429 is audited" test "$r" -ge 1
finish
