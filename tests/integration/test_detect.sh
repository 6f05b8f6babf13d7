#!/usr/bin/env bash
# test_detect.sh - Sigma detection inside vigild, end to end over HTTP:
#   - SigmaHQ's regression samples (../shared/data/sigma/regression_data),
#     ingested as EVTX through `vigil ingest --server` with the whole corpus
#     loaded, each fire their rule: AlertInfo rows with that RuleId and
#     AlertEvidence rows (Machine, User, Process, File...) with the same
#     AlertId; the alerts survive a restart and are not raised again by the
#     WAL replay;
#   - with a few small rules written here: duplicate suppression (1h: one
#     alert and the suppressed counter; 0: every match), exclusions by field,
#     enable/disable selectors and detect-min-level, hot reload through
#     POST /api/v1/rules/reload and SIGHUP (a new rule fires afterwards), a
#     broken reload keeps the running rules, the routes' roles, and ingest
#     answering 200 with every row and alert stored while reloads run.
# The corpus server runs on the portable path (PCRE2): a cold Hyperscan build
# of the ~3,750 rules takes ~25 s on two cores; the small-rule servers use the
# default backend. Skips the corpus part (saying so) when the data is absent.
. "$(dirname "$0")/lib.sh"
VIGIL=$BUILD/vigil
top=$(cd "$(dirname "$0")/../.." && pwd)
SIGMA=${SIGMA:-$top/../shared/data/sigma}

# q KQL: the result rows of a query as CSV without the header (admin token)
q() {
    "$VIGIL" hunt --server "$VG_URL" --token "$ATOK" --format csv "$1" 2>>"$T/hunt.err" | tail -n +2 | tr -d '"\r'
}
# metric NAME: its value in /metrics
metric() {
    curl -s -H "Authorization: Bearer $ATOK" "$VG_URL/metrics" | sed -n "s/^$1 \([0-9]*\)$/\1/p"
}
# wait_metric NAME VALUE: polls until NAME reaches VALUE (10 s at most)
wait_metric() {
    local i
    for i in $(seq 1 100); do
        [ "$(metric "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# snap: reads the alert count of every rule (AC[RuleId]) and the vigil_*
# metrics (M[name]) in two requests; the checks below read them from there
declare -A AC M
snap() {
    local k v
    AC=()
    M=()
    while IFS=, read -r k v; do AC[$k]=$v; done < <(q 'AlertInfo | summarize n = count() by RuleId')
    while read -r k v; do M[$k]=$v; done < <(curl -s -H "Authorization: Bearer $ATOK" "$VG_URL/metrics" | grep '^vigil_')
}
# hscache DATA_DIR: the --detect-cache option that keeps compiled databases in
# DATA/cache/hyperscan (not the user's cache shared by every vigild and vigil)
hscache() {
    mkdir -p "$1/cache/hyperscan"
    printf -- '--detect-cache=%s/cache/hyperscan' "$1"
}

# ---------------------------------------------------------------------------
# 1. the SigmaHQ corpus and its regression samples
if [ -d "$SIGMA/regression_data" ]; then
    rules=()
    for d in rules rules-threat-hunting rules-emerging-threats; do
        [ -d "$SIGMA/$d" ] && rules+=(--detect-rules "$SIGMA/$d")
    done
    C=$T/corpus
    vg_start "$C" "$(hscache "$C")" --detect-portable "${rules[@]}" || finish
    ATOK=$(vg_admin "$C")
    find "$SIGMA/regression_data" -name '*.evtx' | sort >"$T/samples"
    nsamples=$(wc -l <"$T/samples")
    check "regression samples found" [ "$nsamples" -gt 50 ]
    # the rule id each sample is for (info.yml beside it: rule_metadata: - id:)
    sed 's|/[^/]*$|/info.yml|' "$T/samples" | sort -u | xargs -d '\n' awk \
        'FNR == 1 { d = 0 } !d && sub(/^ *- id: */, "") { print; d = 1 }' | tr -d '\r' | sort -u >"$T/want"
    check "corpus: one rule id per sample rule" [ "$(wc -l <"$T/want")" -gt 50 ]
    mapfile -t files <"$T/samples"
    "$VIGIL" ingest --server "$VG_URL" --token "$ATOK" "${files[@]}" >"$T/ingest.out" 2>&1
    expect_eq "corpus: vigil ingest --server of $nsamples EVTX samples exits 0" 0 "$?"
    q 'AlertInfo | distinct RuleId' | sort -u >"$T/got"
    missing=$(comm -23 "$T/want" "$T/got")
    expect_eq "corpus: every sample's rule raised an alert (rules that did not)" "" "$missing"
    ninfo=$(q 'AlertInfo | count')
    check "corpus: at least one alert per sample rule ($ninfo alerts)" [ "${ninfo:-0}" -ge "$(wc -l <"$T/want")" ]
    expect_eq "corpus: AlertIds are unique" 0 "$(q 'AlertInfo | summarize n = count() by AlertId | where n > 1 | count')"
    expect_eq "corpus: every alert has a Machine evidence row with its AlertId" 0 \
        "$(q 'AlertInfo | join kind=leftanti (AlertEvidence | where EntityType == "Machine") on AlertId | count')"
    expect_eq "corpus: no evidence row without its AlertInfo row" 0 \
        "$(q 'AlertEvidence | join kind=leftanti AlertInfo on AlertId | count')"
    types=$(q 'AlertEvidence | distinct EntityType' | sort | tr '\n' ' ')
    expect_match "corpus: evidence entity types" 'File .*Machine .*Process .*RegistryValue .*User' "$types"
    # one sample checked field by field: Grixba recon (Sysmon 1, GRB_NET.exe run from cmd.exe)
    gx=af688c76-4ce4-4309-bfdd-e896f01acf27
    if grep -q "$gx" "$T/want"; then
        r=$(q "AlertInfo | where RuleId == '$gx' | project Title, Severity, DetectionSource, Category")
        expect_match "corpus: Grixba alert: title and severity" '^Grixba Malware Reconnaissance Activity,High,' "$r"
        id=$(q "AlertInfo | where RuleId == '$gx' | take 1 | project AlertId")
        ev=$(q "AlertEvidence | where AlertId == '$id' | project EntityType, EvidenceRole, FileName, DeviceName | order by EntityType asc, EvidenceRole asc")
        expect_match "corpus: Grixba evidence: the device" 'Machine,Impacted,,swachchhanda' "$ev"
        expect_match "corpus: Grixba evidence: the process" '^Process,Impacted,GRB_NET.exe,' "$ev"
        expect_match "corpus: Grixba evidence: its parent" '^Process,Related,cmd.exe,' "$ev"
    fi
    m=$(metric vigil_alerts_total)
    expect_eq "corpus: vigil_alerts_total counts the stored alerts" "$ninfo" "$m"
    accepted=$(sed -n 's/.* \([0-9]*\) rows accepted.*/\1/p' "$T/ingest.out")
    expect_eq "corpus: vigil_detect_rows_total counts the ingested rows" "$accepted" "$(metric vigil_detect_rows_total)"
    enabled=$(metric vigil_rules_enabled)
    check "corpus: thousands of rules enabled ($enabled)" [ "${enabled:-0}" -gt 1000 ]

    # durability: the alerts are in the store, and the replay raises no new ones
    check "corpus: SIGTERM exits 0" vg_stop
    vg_start "$C" "$(hscache "$C")" --detect-portable "${rules[@]}" || finish
    expect_eq "corpus: AlertInfo rows after a restart" "$ninfo" "$(q 'AlertInfo | count')"
    expect_eq "corpus: rule ids after a restart" "$(cat "$T/got")" "$(q 'AlertInfo | distinct RuleId' | sort -u)"
    expect_eq "corpus: nothing detected again at startup" 0 "$(metric vigil_alerts_total)"
    vg_stop
    expect_eq "corpus: AlertInfo rows in the store (vg-count)" "$ninfo" "$(count "$C" AlertInfo)"
else
    echo "  (skipping the corpus part: $SIGMA/regression_data is absent)"
fi

# ---------------------------------------------------------------------------
# 2. small rules written here
R=$T/rules
mkdir -p "$R"
ALPHA=0a1fa000-0000-4000-8000-000000000001   # medium: CommandLine contains vgit-alpha
BETA=0b0e7a00-0000-4000-8000-000000000002    # high: Image ends with \vgit-beta.exe
DELTA=0de17a00-0000-4000-8000-000000000004   # high: disabled by id
EPS=0e951100-0000-4000-8000-000000000005     # critical: User is VGIT\eps-user (a virtual column)
GAMMA=06a33a00-0000-4000-8000-000000000003   # high: written during the run (hot reload)
rule() {  # rule NAME ID TITLE LEVEL TECHNIQUE_TAG SELECTION_LINE...
    local f=$1 id=$2 title=$3 level=$4 tag=$5
    shift 5
    {
        printf 'title: %s\nid: %s\nstatus: test\nauthor: vigil integration test\n' "$title" "$id"
        printf 'tags:\n    - attack.execution\n    - %s\n' "$tag"
        printf 'logsource:\n    category: process_creation\n    product: windows\n'
        printf 'detection:\n    selection:\n'
        printf '        %s\n' "$@"
        printf '    condition: selection\nlevel: %s\n' "$level"
    } >"$R/$f.yml"
}
rule alpha $ALPHA "VGIT alpha command line" medium attack.t1059.001 "CommandLine|contains: 'vgit-alpha'"
rule beta $BETA "VGIT beta image" high attack.t1204 "Image|endswith: '\\vgit-beta.exe'"
rule delta $DELTA "VGIT delta" high attack.t1105 "CommandLine|contains: 'vgit-delta'"
rule eps $EPS "VGIT epsilon user" critical attack.t1078 "User: 'VGIT\\eps-user'" "CommandLine|startswith: 'eps '"
printf 'title: not a rule\nid: 0bad0000-0000-4000-8000-000000000009\ndetection:\n    sel:\n        - [unclosed\n' >"$R/broken.yml"

# ev DEVICE FOLDERPATH COMMANDLINE [SECONDS] [ACCOUNT]: one DeviceProcessEvents
# line (FOLDERPATH JSON-escaped), at 2025-01-06T10:00:00Z + SECONDS
ev() {
    local s=${4:-0}
    printf '{"Table":"DeviceProcessEvents","Timestamp":"2025-01-06T%02d:%02d:%02dZ","DeviceId":"id-%s","DeviceName":"%s","ActionType":"ProcessCreated","FileName":"%s","FolderPath":"%s","ProcessCommandLine":"%s","AccountDomain":"VGIT","AccountName":"%s","InitiatingProcessFileName":"cmd.exe","InitiatingProcessFolderPath":"C:\\\\Windows\\\\System32\\\\cmd.exe"}\n' \
        $((10 + s / 3600)) $((s / 60 % 60)) $((s % 60)) "$1" "$1" "${2##*\\\\}" "$2" "$3" "${5:-user1}"
}
EXE='C:\\Tools\\'
# send TOKEN FILE DESC: ingest NDJSON, expecting 200; then snap
send() {
    local r
    r=$(ingest "$1" "" "$2")
    expect_match "$3: ingest answers 200" '^200 ' "$r"
    snap
}
a() { echo "${AC[$1]:-0}"; }

# --- server 2: suppression 1h, exclusions, reloads -------------------------
cat >"$T/excl" <<EOF
# alpha is not raised on this host (values compare case-insensitively)
$ALPHA DeviceName=HOST-EXCLUDED
# no rule is raised for this image (a Sigma field, read through the mapping)
* Image=C:\\Tools\\excluded-everywhere.exe
EOF
conf=$T/vigild.conf
printf '# reloadable detect-* settings, read again on SIGHUP\ndetect-min-level = informational\n' >"$conf"
S=$T/srv
vg_start "$S" "$(hscache "$S")" --config "$conf" --detect-rules "$R" --detect-disable "id:$DELTA" \
    --detect-suppress-window 1h --detect-exclusions "$T/excl" || finish
ATOK=$(vg_admin "$S")
itok=$(vg_add_token "$S" agent ingest)
vtok=$(vg_add_token "$S" reader viewer)

# (g) the rules routes and their roles
r=$(http GET /api/v1/rules)
expect_match "GET rules without a token: 401" '^401 ' "$r"
r=$(http GET /api/v1/rules -H "Authorization: Bearer $itok")
expect_match "GET rules with an ingest token: 403" '^403 ' "$r"
r=$(http GET /api/v1/rules -H "Authorization: Bearer $vtok")
expect_match "GET rules as viewer: 200" '^200 \{' "$r"
expect_match "rules: alpha listed, enabled, with its level, tactic and technique" \
    "\"id\":\"$ALPHA\",\"title\":\"VGIT alpha command line\",\"level\":\"medium\",\"status\":\"test\",\"enabled\":true,\"routed\":true,\"tactics\":\"Execution\",\"techniques\":\"T1059.001\"" "$r"
expect_match "rules: delta listed, disabled by id" "\"id\":\"$DELTA\",[^}]*\"enabled\":false" "$r"
expect_match "rules: the broken file is in failed, with a reason" '"failed":\[\{"file":"[^"]*broken.yml","reason":"line [0-9]+, column [0-9]+: [^"]+' "$r"
expect_match "rules: counts" '"files":5,"total":5,"compiled":4,"enabled":3' "$r"
r=$(http POST /api/v1/rules/reload -H "Authorization: Bearer $vtok")
expect_match "POST reload as viewer: 403" '^403 ' "$r"
r=$(http POST /api/v1/rules/reload -H "Authorization: Bearer $itok")
expect_match "POST reload with an ingest token: 403" '^403 ' "$r"
r=$(http POST /api/v1/rules/reload)
expect_match "POST reload without a token: 401" '^401 ' "$r"
snap
expect_eq "refused reload requests reload nothing" 0 "${M[vigil_rule_reloads_total]}"
expect_eq "vigil_rules_enabled" 3 "${M[vigil_rules_enabled]}"
expect_eq "vigil_rules_failed" 1 "${M[vigil_rules_failed]}"

# (a) an alert from an NDJSON event, with its evidence
ev host-a "$EXE"'a.exe' 'a.exe vgit-alpha 1' 1 >"$T/e1"
send "$itok" "$T/e1" "alpha event"
expect_eq "alpha: one alert" 1 "$(a $ALPHA)"
expect_eq "vigil_detect_rows_total" 1 "${M[vigil_detect_rows_total]}"
id=$(q "AlertInfo | where RuleId == '$ALPHA' | project AlertId")
expect_match "alpha: AlertId shape" '^vg[0-9a-f]{32}$' "$id"
r=$(q "AlertInfo | where AlertId == '$id' | project Title, Severity, AttackTechniques, Tactics, RuleFile, Timestamp")
expect_match "alpha: AlertInfo columns" '^VGIT alpha command line,Medium,\[T1059.001\],Execution,.*/alpha.yml,2025-01-06T10:00:01' "$r"
r=$(q "AlertEvidence | where AlertId == '$id' | project EntityType, EvidenceRole, DeviceName, AccountName, FileName, ProcessCommandLine | order by EntityType asc, EvidenceRole asc")
expect_match "alpha: Machine evidence" '^Machine,Impacted,host-a,' "$r"
expect_match "alpha: Process evidence with the command line" '^Process,Impacted,,,a.exe,a.exe vgit-alpha 1$' "$r"
expect_match "alpha: User evidence" '^User,Impacted,,user1,' "$r"

# (c) suppression, 1h: the same event again, a later one on the same device
# and account, then another device, another account, and after the window
send "$itok" "$T/e1" "alpha event again"
ev host-a "$EXE"'a.exe' 'a.exe vgit-alpha 2' 600 >"$T/e2"
send "$itok" "$T/e2" "alpha 10 minutes later"
expect_eq "suppress 1h: still one alpha alert" 1 "$(a $ALPHA)"
expect_eq "suppress 1h: vigil_alerts_suppressed_total" 2 "${M[vigil_alerts_suppressed_total]}"
expect_eq "suppress 1h: vigil_detect_matches_total" 3 "${M[vigil_detect_matches_total]}"
expect_eq "suppress 1h: vigil_alerts_total" 1 "${M[vigil_alerts_total]}"
expect_eq "suppressed events are stored" 3 "$(q "DeviceProcessEvents | where ProcessCommandLine has 'vgit-alpha' | count")"
ev host-b "$EXE"'a.exe' 'a.exe vgit-alpha 3' 601 >"$T/e3"
send "$itok" "$T/e3" "alpha on another device"
expect_eq "suppress 1h: another device alerts" 2 "$(a $ALPHA)"
ev host-a "$EXE"'a.exe' 'a.exe vgit-alpha 4' 602 user2 >"$T/e4"
send "$itok" "$T/e4" "alpha as another account"
expect_eq "suppress 1h: another account alerts" 3 "$(a $ALPHA)"
ev host-a "$EXE"'a.exe' 'a.exe vgit-alpha 5' 3700 >"$T/e5"
send "$itok" "$T/e5" "alpha after the window"
expect_eq "suppress 1h: a match 1h40s after the first alerts" 4 "$(a $ALPHA)"
send "$itok" "$T/e2" "alpha's 10-minute event sent again, late"
# e2 (10:10:00, suppressed when it first came) arrives again after e5's alert
# (11:01:40): inside the window of both alerts, so nothing should be raised;
expect_eq "suppress 1h: an older event inside the window of the last alert is suppressed" \
    4 "$(a $ALPHA)"

# (d) exclusions
ev host-excluded "$EXE"'vgit-beta.exe' 'vgit-beta.exe vgit-alpha' 10 >"$T/x1"
n_alpha=$(a $ALPHA)
send "$itok" "$T/x1" "alpha+beta on the excluded host"
expect_eq "exclusion by DeviceName (other case): no alpha alert" "$n_alpha" "$(a $ALPHA)"
expect_eq "an exclusion naming alpha only: beta alerts on that host" 1 "$(a $BETA)"
expect_eq "vigil_alerts_excluded_total" 1 "${M[vigil_alerts_excluded_total]}"
ev host-c "$EXE"'excluded-everywhere.exe' 'x vgit-alpha' 20 >"$T/x2"
send "$itok" "$T/x2" "alpha from the excluded image"
expect_eq "exclusion * by Image: no alert" "$n_alpha" "$(a $ALPHA)"
expect_eq "vigil_alerts_excluded_total after the image exclusion" 2 "${M[vigil_alerts_excluded_total]}"

# (e) disabled by id: delta never alerts; its events are stored
ev host-d "$EXE"'d.exe' 'd.exe vgit-delta' 30 >"$T/d1"
send "$itok" "$T/d1" "delta event"
expect_eq "detect-disable id: no delta alert" 0 "$(a $DELTA)"
expect_eq "the delta event is stored" 1 "$(q "DeviceProcessEvents | where ProcessCommandLine has 'vgit-delta' | count")"
# epsilon reads User (DOMAIN\name, composed from AccountDomain and AccountName)
ev host-e "$EXE"'e.exe' 'eps run' 40 eps-user >"$T/p1"
ev host-e "$EXE"'e.exe' 'eps run' 41 other-user >>"$T/p1"
send "$itok" "$T/p1" "epsilon events"
expect_eq "epsilon (User is VGIT\\eps-user): one alert of two events" 1 "$(a $EPS)"
expect_eq "epsilon: critical shows as Severity High" "High" "$(q "AlertInfo | where RuleId == '$EPS' | project Severity")"

# (f) hot reload through the API: a rule file added to the directory
rule gamma $GAMMA "VGIT gamma" high attack.t1218 "CommandLine|contains: 'vgit-gamma'"
ev host-g "$EXE"'g.exe' 'g.exe vgit-gamma 1' 50 >"$T/g1"
send "$itok" "$T/g1" "gamma before the reload"
expect_eq "gamma before the reload: no alert" 0 "$(a $GAMMA)"
r=$(http POST /api/v1/rules/reload -H "Authorization: Bearer $ATOK")
expect_match "POST reload as admin: 200 with counts" '^200 \{"reloaded":true,"total":6,"compiled":5,"enabled":4,"failed":1\}' "$r"
expect_match "audit log line for the reload" 'msg=audit action=rules-reload .*token=admin outcome=ok' "$(cat "$VG_LOG")"
ev host-g "$EXE"'g.exe' 'g.exe vgit-gamma 2' 51 >"$T/g2"
send "$itok" "$T/g2" "gamma after the reload"
expect_eq "gamma after the reload: one alert" 1 "$(a $GAMMA)"
expect_eq "vigil_rule_reloads_total after the API reload" 1 "${M[vigil_rule_reloads_total]}"
expect_eq "vigil_rules_enabled after the API reload" 4 "${M[vigil_rules_enabled]}"
n_alpha=$(a $ALPHA)
send "$itok" "$T/e5" "alpha's last event again, after the reload"
expect_eq "suppression state survives a reload" "$n_alpha" "$(a $ALPHA)"
r=$(http GET /api/v1/rules -H "Authorization: Bearer $vtok")
expect_match "rules: gamma listed after the reload" "\"id\":\"$GAMMA\",[^}]*\"enabled\":true" "$r"

# SIGHUP: the config file is read again (detect-min-level high: alpha off)
printf 'detect-min-level = high\n' >"$conf"
kill -HUP "$VG_PID"
check "SIGHUP: vigil_rule_reloads_total reaches 2" wait_metric vigil_rule_reloads_total 2
expect_match "SIGHUP: reload logged" 'msg="rules reloaded"' "$(cat "$VG_LOG")"
ev host-s "$EXE"'a.exe' 'a.exe vgit-alpha after sighup' 70 >"$T/s1"
ev host-s "$EXE"'g.exe' 'g.exe vgit-gamma after sighup' 70 >>"$T/s1"
n_alpha=$(a $ALPHA)
send "$itok" "$T/s1" "alpha and gamma after SIGHUP"
expect_eq "SIGHUP, min level high: vigil_rules_enabled (beta, epsilon, gamma)" 3 "${M[vigil_rules_enabled]}"
expect_eq "SIGHUP, min level high: medium alpha raises nothing" "$n_alpha" "$(a $ALPHA)"
expect_eq "SIGHUP, min level high: high gamma alerts" 2 "$(a $GAMMA)"

# broken reloads keep the running rules: a bad setting value (SIGHUP), a
# config file that does not parse (SIGHUP), a rules path gone (API)
printf 'detect-min-level = bogus\n' >"$conf"
kill -HUP "$VG_PID"
check "SIGHUP with a bad detect-min-level: vigil_rule_reload_failures_total reaches 1" \
    wait_metric vigil_rule_reload_failures_total 1
expect_match "failed reload logged with the reason" 'msg="rule reload failed; the running rules stay" error="detect-min-level: expected' "$(cat "$VG_LOG")"
r=$(http POST /api/v1/rules/reload -H "Authorization: Bearer $ATOK")
expect_match "POST reload with the bad setting: 400 naming it" '^400 .*detect-min-level.*bogus' "$r"
expect_match "failed reload audited" 'msg=audit action=rules-reload .*outcome=failed' "$(cat "$VG_LOG")"
ev host-f "$EXE"'vgit-beta.exe' 'beta after a failed reload' 80 >"$T/b1"
ev host-f "$EXE"'a.exe' 'a.exe vgit-alpha after a failed reload' 80 >>"$T/b1"
send "$itok" "$T/b1" "beta and alpha after the failed reloads"
expect_eq "failed reloads: vigil_rules_enabled unchanged" 3 "${M[vigil_rules_enabled]}"
expect_eq "failed reloads: vigil_rule_reload_failures_total" 2 "${M[vigil_rule_reload_failures_total]}"
expect_eq "failed reloads: the running rules alert (beta)" 2 "$(a $BETA)"
expect_eq "failed reloads: the running rules' level still holds (no alpha)" "$n_alpha" "$(a $ALPHA)"
# a file with a line that is not a setting: the reload is refused with the
# file and line named, and the running rules stay (min level high: no alpha)
fails=${M[vigil_rule_reload_failures_total]}
reloads=${M[vigil_rule_reloads_total]}
printf 'detect-min-level = informational\nthis line is not a setting\n' >"$conf"
kill -HUP "$VG_PID"
# wait_log REGEX: polls the server log (10 s at most)
wait_log() {
    local i
    for i in $(seq 1 100); do
        grep -Eq -- "$1" "$VG_LOG" && return 0
        sleep 0.1
    done
    return 1
}
check "SIGHUP with a config file that does not parse: refused, naming file and line" \
    wait_log 'msg="reload: bad settings; the running rules stay" error=".*vigild.conf:2'
ev host-u "$EXE"'a.exe' 'a.exe vgit-alpha after a bad config file' 85 >"$T/u1"
send "$itok" "$T/u1" "alpha after the bad config file"
expect_eq "bad config file: the running rules' level still holds (no alpha)" "$n_alpha" "$(a $ALPHA)"
expect_eq "bad config file: no reload done" "$reloads" "${M[vigil_rule_reloads_total]}"
expect_eq "bad config file: counted in vigil_rule_reload_failures_total" \
    $((fails + 1)) "${M[vigil_rule_reload_failures_total]}"
printf 'detect-min-level = informational\n' >"$conf"
reloads=${M[vigil_rule_reloads_total]}
kill -HUP "$VG_PID"
check "SIGHUP with the config fixed: a reload" wait_metric vigil_rule_reloads_total $((reloads + 1))
expect_eq "config fixed: every good rule but delta enabled" 4 "$(metric vigil_rules_enabled)"
# the rules directory gone: the reload fails and says which path
mv "$R" "$R.away"
r=$(http POST /api/v1/rules/reload -H "Authorization: Bearer $ATOK")
expect_match "POST reload with the rules path gone: an error naming it" "^5[0-9][0-9] .*$R" "$r"
mv "$R.away" "$R"
ev host-m "$EXE"'vgit-beta.exe' 'beta with the rules path gone' 90 >"$T/b2"
send "$itok" "$T/b2" "beta after the rules path went away"
expect_eq "rules path gone: vigil_rules_enabled unchanged" 4 "${M[vigil_rules_enabled]}"
expect_eq "rules path gone: the running rules alert" 3 "$(a $BETA)"
r=$(http POST /api/v1/rules/reload -H "Authorization: Bearer $ATOK")
expect_match "rules path back: POST reload 200" '^200 \{"reloaded":true' "$r"

# (h) ingest goes on while the rules are reloaded: 40 requests of 25 rows,
# every row a beta match on a device of its own, against 6 reloads
snap
before_rows=$(q 'DeviceProcessEvents | count')
before_beta=$(a $BETA)
before_reloads=${M[vigil_rule_reloads_total]}
for k in $(seq 0 39); do
    for i in $(seq 0 24); do ev "load-$k-$i" "$EXE"'vgit-beta.exe' "load $k $i" $((100 + i)); done >"$T/load$k"
done
(
    for k in $(seq 0 39); do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $itok" \
            -H 'Content-Type: application/x-ndjson' --data-binary "@$T/load$k" "$VG_URL/api/v1/ingest"
    done >"$T/load.codes"
) &
loader=$!
reload_codes=
for k in $(seq 1 6); do
    reload_codes+=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ATOK" \
        "$VG_URL/api/v1/rules/reload")" "
done
wait "$loader"
snap
expect_eq "during reloads: every reload answered 200" "200 200 200 200 200 200 " "$reload_codes"
expect_eq "during reloads: every ingest answered 200" 40 "$(grep -c '^200$' "$T/load.codes")"
expect_eq "during reloads: every row stored" $((before_rows + 1000)) "$(q 'DeviceProcessEvents | count')"
expect_eq "during reloads: every row alerted once" $((before_beta + 1000)) "$(a $BETA)"
expect_eq "vigil_rule_reloads_total after the reloads" $((before_reloads + 6)) "${M[vigil_rule_reloads_total]}"
expect_eq "no detection errors" 0 "${M[vigil_detect_errors_total]}"
check "Hyperscan databases cached in the --detect-cache directory" [ -n "$(ls -A "$S/cache/hyperscan" 2>/dev/null)" ]
check "server 2: SIGTERM exits 0" vg_stop

# --- server 3: no suppression, min level high, a high rule disabled --------
S3=$T/srv3
vg_start "$S3" "$(hscache "$S3")" --detect-rules "$R" --detect-suppress-window 0 --detect-min-level high \
    --detect-disable "id:$GAMMA" || finish
ATOK=$(vg_admin "$S3")
cat "$T/e1" "$T/b1" "$T/g1" "$T/p1" >"$T/all"
send "$ATOK" "$T/all" "server 3: alpha, beta, gamma, epsilon events"
send "$ATOK" "$T/all" "server 3: the same events again"
expect_eq "suppress 0: the same beta event alerts twice" 2 "$(a $BETA)"
expect_eq "suppress 0: the same epsilon event alerts twice" 2 "$(a $EPS)"
expect_eq "suppress 0: vigil_alerts_suppressed_total stays 0" 0 "${M[vigil_alerts_suppressed_total]}"
expect_eq "min-level high: medium alpha raises nothing" 0 "$(a $ALPHA)"
expect_eq "detect-disable id: gamma raises nothing" 0 "$(a $GAMMA)"
expect_eq "server 3: vigil_rules_enabled (beta, delta, epsilon)" 3 "${M[vigil_rules_enabled]}"
expect_eq "server 3: vigil_alerts_total" 4 "${M[vigil_alerts_total]}"
# two alerts of the same event still get their own AlertIds
expect_eq "suppress 0: each alert has its own AlertId" 4 \
    "$(q 'AlertInfo | distinct AlertId | count')"
r=$(http GET /api/v1/rules -H "Authorization: Bearer $ATOK")
expect_match "server 3: alpha listed as disabled" "\"id\":\"$ALPHA\",[^}]*\"enabled\":false" "$r"
check "server 3: SIGTERM exits 0" vg_stop

# --- server 4: rule paths only in the config file, SIGHUP twice ------------
printf 'detect-rules = %s\ndetect-disable = id:%s\n' "$R" "$DELTA" >"$T/v4.conf"
vg_start "$T/srv4" "$(hscache "$T/srv4")" --config "$T/v4.conf" || finish
ATOK=$(vg_admin "$T/srv4")
for n in 1 2; do
    kill -HUP "$VG_PID"
    check "server 4: SIGHUP $n reloads" wait_metric vigil_rule_reloads_total $n
    r=$(http GET /api/v1/rules -H "Authorization: Bearer $ATOK")
    t=$(printf '%s' "$r" | grep -o '"files":[0-9]*,"total":[0-9]*,"compiled":[0-9]*,"enabled":[0-9]*')
    if [ $n = 1 ]; then
        expect_eq "server 4: rule set after SIGHUP 1" '"files":6,"total":6,"compiled":5,"enabled":4' "$t"
    else
        # list settings from the file replace the previous SIGHUP's values
        expect_eq "server 4: the same rule set after SIGHUP 2" \
            '"files":6,"total":6,"compiled":5,"enabled":4' "$t"
    fi
done
check "server 4: SIGTERM exits 0" vg_stop

# --- the same rule from two paths raises one alert, not two ----------------
ev host-z "$EXE"'z.exe' 'z.exe vgit-alpha' 1 >"$T/z1"
n=$("$VIGIL" detect --rules "$R" --rules "$R/alpha.yml" --cache-dir none --format csv "$T/z1" 2>/dev/null | grep -c "$ALPHA")
expect_eq "a rule file given twice (directory and file) is loaded once" 1 "$n"

# --- a bad selector or rules path at startup is refused, clearly -----------
out=$("$VIGILD" --data "$T/srv5" --listen 127.0.0.1:0 "$(hscache "$T/srv5")" --detect-rules "$R" --detect-enable 'nope:x' 2>&1)
expect_eq "bad selector at startup: exit 1" 1 "$?"
expect_match "bad selector at startup: says which" "cannot start detection.*nope:x" "$out"
out=$("$VIGILD" --data "$T/srv5" --listen 127.0.0.1:0 "$(hscache "$T/srv5")" --detect-rules "$T/missing" 2>&1)
expect_eq "missing rules path at startup: exit 1" 1 "$?"
expect_match "missing rules path at startup: names it" "cannot start detection.*missing" "$out"
finish
