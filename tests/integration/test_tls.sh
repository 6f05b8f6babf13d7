#!/usr/bin/env bash
# test_tls.sh - HTTPS on the listener: with --tls-cert and --tls-key vigild
# speaks TLS only (health and the API work over https with the certificate
# trusted, plain http fails, the listening line says tls=on); a setting
# without its pair, an unreadable file, a file that is not PEM or a key of
# another certificate stop vigild at start with a message naming the setting.
. "$(dirname "$0")/lib.sh"
D=$T/data

mkcert() {   # mkcert NAME: self-signed certificate + key for 127.0.0.1 in $T
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$T/$1.key" -out "$T/$1.crt" >/dev/null 2>&1
}
check "openssl makes a certificate" mkcert srv
check "openssl makes a second certificate" mkcert other

vg_start "$D" --detect=false --tls-cert "$T/srv.crt" --tls-key "$T/srv.key" || finish
HTTPS=https://127.0.0.1:$VG_PORT
ADMIN=$(vg_admin "$D")
expect_match "listening line says tls=on" 'msg=listening .*tls=on' "$(cat "$VG_LOG")"

r=$(curl -s -w ' %{http_code}' --cacert "$T/srv.crt" "$HTTPS/healthz")
expect_eq "healthz over https" '{"status":"ok"}
 200' "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/srv.crt" -H "Authorization: Bearer $ADMIN" "$HTTPS/api/v1/tokens")
expect_eq "API call with a token over https" 200 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/srv.crt" "$HTTPS/api/v1/tokens")
expect_eq "no token over https is still 401" 401 "$r"
printf '{"Table":"DeviceEvents","DeviceName":"tls-host"}\n' >"$T/one.ndjson"
r=$(curl -s --cacert "$T/srv.crt" -H "Authorization: Bearer $ADMIN" --data-binary @"$T/one.ndjson" "$HTTPS/api/v1/ingest")
expect_match "ingest over https" '"accepted":1' "$r"
# the certificate must be checked: another CA is refused by the client
r=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/other.crt" "$HTTPS/healthz")
expect_eq "an untrusted certificate is refused by curl" 000 "$r"
# plain HTTP to the TLS listener gets no HTTP answer
r=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VG_PORT/healthz")
expect_eq "plain http to the TLS listener fails" 000 "$r"
# the CLI talks https with --cacert
r=$("$BUILD/vigil" token list --server "$HTTPS" --token "$ADMIN" --cacert "$T/srv.crt" --format json 2>&1)
expect_match "vigil token list over https" '"name":"admin"' "$r"
check "vigild stops cleanly" vg_stop

# refused settings: vigild exits non-zero naming what is wrong
refused() {   # refused DESC REGEX vigild-args...
    local desc=$1 re=$2
    shift 2
    local out rc=0
    out=$(timeout 20 "$VIGILD" --data "$D" --listen 127.0.0.1:0 --detect=false "$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then ok; else fail "$desc: vigild did not refuse to start (rc=$rc)"; fi
    expect_match "$desc: message" "$re" "$out"
}
refused "only tls-cert" 'tls-key' --tls-cert "$T/srv.crt"
refused "only tls-key" 'tls-cert' --tls-key "$T/srv.key"
refused "unreadable cert" "tls-cert: cannot read $T/missing.crt" --tls-cert "$T/missing.crt" --tls-key "$T/srv.key"
printf 'not a certificate\n' >"$T/bad.crt"
refused "cert not PEM" "tls-cert: $T/bad.crt holds no PEM certificate" --tls-cert "$T/bad.crt" --tls-key "$T/srv.key"
refused "key not PEM" "tls-key: $T/srv.crt holds no PEM private key" --tls-cert "$T/srv.crt" --tls-key "$T/srv.crt"
refused "key of another cert" "tls-key: $T/other.key is not the key of the certificate" --tls-cert "$T/srv.crt" --tls-key "$T/other.key"
finish
