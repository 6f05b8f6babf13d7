#!/usr/bin/env bash
# test_evtx_recover.sh - deleted EVTX records through ingest: a regression
# sample whose free space still holds deleted records (1 live record; libevtx
# recovers 3 readable ones and 3 fragments whose XML is broken) loads 1 row by
# default and 4 with `vigil ingest --evtx-recover` or POST
# /api/v1/ingest?evtx_recover=1 (the fragments are rejects); a bad value of
# the argument is 400.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
data=${REGRESSION_DATA:-$top/../shared/data/sigma/regression_data}
S=$data/rules/windows/process_creation/proc_creation_win_driverquery_recon/9fc3072c-dc8f-4bf7-b231-18950000fadd.evtx
if [ ! -f "$S" ]; then
    echo "$TEST_NAME: SKIP ($S is absent)"
    exit 0
fi
VIGIL=$BUILD/vigil

# ---- offline ----
o=$("$VIGIL" ingest --help)
expect_match "--help lists --evtx-recover" "--evtx-recover" "$o"
out=$("$VIGIL" ingest --data "$T/d0" "$S" 2>"$T/err0"); rc=$?
expect_eq "ingest exit (live only)" 0 "$rc"
expect_match "live only: 1 row" "1 file, 1 rows? accepted, 0 rejected" "$out"
out=$("$VIGIL" ingest --evtx-recover --data "$T/d1" "$S" 2>"$T/err1"); rc=$?
expect_eq "ingest --evtx-recover exit (rejects)" 3 "$rc"
expect_match "--evtx-recover: 4 rows, 3 fragments rejected" "1 file, 4 rows accepted, 3 rejected" "$out"
expect_match "a fragment's reject names the recovered record" "recovered record 5: XML" "$(cat "$T/err1")"
expect_eq "live only: DeviceProcessEvents" 1 "$(count "$T/d0" DeviceProcessEvents)"
expect_eq "live only: WindowsEvent" 0 "$(count "$T/d0" WindowsEvent)"
expect_eq "recovered: DeviceProcessEvents" 1 "$(count "$T/d1" DeviceProcessEvents)"
expect_eq "recovered: WindowsEvent" 3 "$(count "$T/d1" WindowsEvent)"

# ---- through the server ----
D=$T/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")
r=$(ingest "$TOK" "?format=evtx" "$S")
expect_match "POST evtx: 200" '^200 ' "$r"
expect_eq "POST evtx: accepted" 1 "$(json_get "${r#200 }" accepted)"
r=$(ingest "$TOK" "?format=evtx&evtx_recover=1" "$S")
expect_match "POST evtx_recover=1: 200" '^200 ' "$r"
expect_eq "POST evtx_recover=1: accepted" 4 "$(json_get "${r#200 }" accepted)"
expect_eq "POST evtx_recover=1: rejected_total" 3 "$(json_get "${r#200 }" rejected_total)"
r=$(ingest "$TOK" "?evtx_recover=0" "$S")
expect_eq "POST evtx_recover=0: accepted" 1 "$(json_get "${r#200 }" accepted)"
r=$(ingest "$TOK" "?evtx_recover=yes" "$S")
expect_match "POST evtx_recover=yes: 400" '^400 .*evtx_recover' "$r"
finish
