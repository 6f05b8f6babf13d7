#!/usr/bin/env bash
# test_kql_fidelity.sh - syntax fidelity of the KQL parser against Microsoft's
# (@kusto/language-service-next): every golden query (tests/golden/kql) is
# accepted by both, every tests/kql/invalid query rejected by both. Needs node
# and `npm ci` in tests/kql (.ci/run does it); without them it prints SKIP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
tool=$build/tools/vg-kql-parse
if ! command -v node >/dev/null 2>&1; then
    echo "SKIP test_kql_fidelity: node is not installed"
    exit 0
fi
if [ ! -d "$top/tests/kql/node_modules/@kusto/language-service-next" ]; then
    echo "SKIP test_kql_fidelity: run 'npm ci' in tests/kql to install @kusto/language-service-next"
    exit 0
fi
if [ ! -x "$tool" ]; then
    echo "test_kql_fidelity: $tool is missing (build it first)"
    exit 1
fi
node "$top/tests/kql/fidelity.mjs" "$tool"
rc=$?
if [ $rc -eq 77 ]; then
    exit 0
fi
[ $rc -eq 0 ] && echo "test_kql_fidelity: ok"
exit $rc
