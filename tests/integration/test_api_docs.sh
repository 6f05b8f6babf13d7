#!/usr/bin/env bash
# test_api_docs.sh - docs/api.md's route index against the server's route
# table (`vigild --routes`, one JSON line per route):
#   - every route's "METHOD PATH" is a row of the index, with the same roles
#     ("public" for a public route), so a new route without docs fails here;
#   - every row of the index is a route (no stale or misspelt entries), once;
#   - every row links to an anchor (<a id="...">) of the document whose section
#     shows an example: a curl command and an HTTP/1.1 answer.
# The same checks run on a copy of the document with one row dropped and one
# made up, and must report exactly those two problems (the checker can fail).
. "$(dirname "$0")/lib.sh"
DOC=$(cd "$(dirname "$0")/../.." && pwd)/docs/api.md

# routes: "METHOD PATH<TAB>roles" (roles sorted, comma-separated, or "public")
"$VIGILD" --routes >"$T/routes.json" 2>"$T/routes.err"
expect_eq "vigild --routes exits 0" 0 $?
jq -r '"\(.method) \(.path)\t\(if .public then "public" else (.roles | sort | join(",")) end)"' \
    "$T/routes.json" | sort >"$T/routes"
nroutes=$(wc -l <"$T/routes")
check "vigild --routes lists routes" [ "$nroutes" -gt 0 ]

# index_rows DOC: the route index's rows as "METHOD PATH<TAB>roles<TAB>anchor"
index_rows() {
    awk -F'|' '
        /^## / { inside = ($0 == "## Route index"); next }
        inside && /^\| `/ {
            m = $2; p = $3; r = $4; l = $6
            gsub(/[` ]/, "", m); gsub(/[` ]/, "", p); gsub(/ /, "", r)
            n = split(r, a, ",")
            for (i = 1; i <= n; i++)            # sort the roles (few: insertion sort)
                for (j = i + 1; j <= n; j++)
                    if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            r = a[1]; for (i = 2; i <= n; i++) r = r "," a[i]
            anchor = l; sub(/.*\(#/, "", anchor); sub(/\).*/, "", anchor)
            if (l !~ /\(#/) anchor = ""
            printf "%s %s\t%s\t%s\n", m, p, r, anchor
        }' "$1"
}

# section DOC ANCHOR: the lines from <a id="ANCHOR"> to the next anchor
section() {
    awk -v a="<a id=\"$2\"></a>" '
        index($0, a) == 1 { on = 1; print; next }
        on && /^<a id="/ { exit }
        on { print }' "$1"
}

# problems DOC: one line per disagreement between DOC's index and the routes
problems() {
    local doc=$1 rows=$T/rows.$$ key roles anchor body
    index_rows "$doc" | sort >"$rows"
    cut -f1 "$rows" | uniq -d | sed 's/^/index lists twice: /'
    while IFS=$'\t' read -r key roles; do
        if ! grep -qF -- "$key"$'\t' "$rows"; then
            echo "route missing from the index: $key"
        elif ! grep -qF -- "$key"$'\t'"$roles"$'\t' "$rows"; then
            echo "roles differ for $key: the server says $roles, the index $(grep -F -- "$key"$'\t' "$rows" | cut -f2 | head -1)"
        fi
    done <"$T/routes"
    while IFS=$'\t' read -r key roles anchor; do
        grep -qF -- "$key"$'\t' "$T/routes" || echo "index entry is not a route: $key"
        if [ -z "$anchor" ]; then
            echo "index entry links to no section: $key"
            continue
        fi
        body=$(section "$doc" "$anchor")
        if [ -z "$body" ]; then
            echo "no <a id=\"$anchor\"> in the document: $key"
        elif ! printf '%s' "$body" | grep -q '^curl ' || ! printf '%s' "$body" | grep -q '^HTTP/1.1 '; then
            echo "section #$anchor has no example request and answer: $key"
        fi
    done <"$rows"
    rm -f "$rows"
}

check "docs/api.md exists" [ -f "$DOC" ]
nrows=$(index_rows "$DOC" | wc -l)
expect_eq "the route index has one row per route" "$nroutes" "$nrows"
p=$(problems "$DOC")
expect_eq "docs/api.md's route index matches vigild --routes" "" "$p"

# the checker itself: drop the first route's row, add a route that does not exist
first=$(head -1 "$T/routes" | cut -f1)
fm=${first%% *} fp=${first#* }
awk -v m="| \`$fm\` | \`$fp\` |" '
    index($0, m) == 1 { next }
    { print }
    /^\| --- \| --- \|/ && !done { print "| `GET` | `/api/v1/made-up` | admin | none | [x](#get-healthz) |"; done = 1 }' \
    "$DOC" >"$T/mutated.md"
p=$(problems "$T/mutated.md")
expect_match "a dropped row is reported" "route missing from the index: $first\$" "$p"
expect_match "a made-up row is reported" 'index entry is not a route: GET /api/v1/made-up$' "$p"
expect_eq "nothing else is reported" 2 "$(printf '%s\n' "$p" | grep -c .)"

finish
