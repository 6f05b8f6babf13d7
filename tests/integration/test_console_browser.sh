#!/usr/bin/env bash
# test_console_browser.sh - the console page in a real browser (Debian's
# Chromium driven by playwright-core from tests/browser): health, a wrong
# token refused with the server's message, the right token listing tables.
# Needs chromium and `npm ci` in tests/browser (.ci/run does both); without
# them it says SKIP and passes.
. "$(dirname "$0")/lib.sh"
BR=$(cd "$(dirname "$0")/../browser" && pwd)
if ! command -v chromium >/dev/null || ! command -v node >/dev/null ||
    [ ! -d "$BR/node_modules/playwright-core" ]; then
    echo "test_console_browser: SKIP (needs chromium, node and npm ci in tests/browser)"
    exit 0
fi
D=$T/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")
printf '{"Timestamp":"2025-03-04T00:00:00Z","DeviceName":"a"}\n%.0s' 1 2 3 >"$T/a.ndjson"
printf '{"Timestamp":"2025-03-04T00:00:00Z","ActionType":"LogonSuccess"}\n' >"$T/b.ndjson"
ingest "$TOK" "?table=DeviceProcessEvents" "$T/a.ndjson" >/dev/null
ingest "$TOK" "?table=DeviceLogonEvents" "$T/b.ndjson" >/dev/null
out=$(cd "$BR" && timeout 120 node console.mjs "$VG_URL/" "$TOK" "vgt_$(printf '0%.0s' $(seq 64))" \
    "$T/console.png" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  /'
expect_eq "browser checks" 0 "$rc"
expect_match "tables listed" "ok: tables listed" "$out"
check "screenshot taken" test -s "$T/console.png"
check "clean stop" vg_stop
finish
