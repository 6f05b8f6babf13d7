#!/usr/bin/env bash
# demo.sh BUILD_DIR - runs Vigil with embedded storage and demo data:
# generates a few days of synthetic telemetry for 25 devices (deterministic),
# loads it into the data directory (once), starts vigild in the foreground and
# prints where to reach it and how to authenticate.
#   VIGIL_DATA   data directory (default ./vigil-data)
#   VIGIL_LISTEN address (default 127.0.0.1:8080)
set -euo pipefail
build=${1:-build}
data=${VIGIL_DATA:-./vigil-data}
listen=${VIGIL_LISTEN:-127.0.0.1:8080}
if [ ! -e "$data/.demo-loaded" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "demo: generating telemetry for 25 devices over 3 days"
    "$build/vigil" gen --devices 25 --days 3 --seed 42 --out "$tmp/demo.ndjson"
    echo "demo: loading it into $data (the Sigma rules of ./rules run on it as it loads)"
    "$build/vigil" ingest --data "$data" "$tmp/demo.ndjson"
    touch "$data/.demo-loaded"
fi
cat <<TXT

  Vigil is starting with embedded storage in $data
  Console and API:  http://$listen/   (incidents: http://$listen/#/incidents)
  Health:           http://$listen/healthz
  Admin token:      printed below on the first start, and kept in $data/admin.token
  Try:              curl -H "Authorization: Bearer \$(cat $data/admin.token)" http://$listen/metrics
  Alerts:           $build/vigil hunt --server http://$listen --token "\$(cat $data/admin.token)" \\
                        'AlertInfo | summarize count() by Title, Severity | top 10 by count_'
  Incidents:        VIGIL_SERVER=http://$listen VIGIL_TOKEN="\$(cat $data/admin.token)" $build/vigil incidents list
                    (the demo's alerts are correlated into incidents when vigild starts)
  Rules:            ./rules (the SigmaHQ corpus; kill -HUP the server after changing it)
  Stop:             Ctrl-C

TXT
exec "$build/vigild" --data "$data" --listen "$listen"
