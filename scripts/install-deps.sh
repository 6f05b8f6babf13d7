#!/usr/bin/env bash
# install-deps.sh [LIST] - installs the Debian packages listed in LIST
# (default scripts/packages.txt; scripts/packages-test.txt adds the browser).
# Idempotent: packages already present are skipped, and apt-get runs only when
# something is missing. Needs root (or sudo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list=${1:-$here/packages.txt}
mapfile -t pkgs < <(grep -Ev '^\s*(#|$)' "$list")
missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
# Node.js (console and browser tests, peer benchmarks): the machine's own
# node+npm are used when present (they may come from outside Debian).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
