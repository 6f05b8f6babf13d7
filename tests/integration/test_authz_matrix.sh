#!/usr/bin/env bash
# test_authz_matrix.sh - the authorization matrix: every route of vigild x
# {no token, admin, ingest, viewer, analyst, responder} against the
# hand-written expectation in authz_matrix.tsv.
#
# The routes come from vigild itself (`vigild --routes`), so a route added
# without a line in the TSV fails here, as does a TSV line naming a route
# that no longer exists, a non-public route that no role may call, or a
# route whose declared roles differ from the TSV. Then every cell is asked
# over HTTP: without a token a non-public route answers 401; a role outside
# the route's set 403; a role inside it neither 401 nor 403 (400, 404, 200
# ... all mean the request got past authorization). {param} segments become
# 999999 (no such object: nothing is changed, no token is revoked); writes
# carry a small JSON body. The whole matrix is printed when a cell is wrong.
. "$(dirname "$0")/lib.sh"
TSV=$(dirname "$0")/authz_matrix.tsv
ROLES="admin ingest viewer analyst responder"
IDS="none $ROLES"

# ---- the route table against the TSV ----
declare -A want declared
"$VIGILD" --routes >"$T/routes.jsonl" 2>"$T/routes.err"
check "vigild --routes exits 0" test $? -eq 0
nroutes=0
while IFS= read -r line; do
    m=$(printf '%s' "$line" | sed -n 's/.*"method":"\([^"]*\)".*/\1/p')
    p=$(printf '%s' "$line" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
    roles=$(printf '%s' "$line" | sed -n 's/.*"roles":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' '\n' | sort | paste -sd, -)
    pub=$(printf '%s' "$line" | sed -n 's/.*"public":\(true\|false\).*/\1/p')
    if [ -z "$m" ] || [ -z "$p" ] || [ -z "$pub" ]; then fail "unreadable --routes line: $line"; continue; fi
    if [ "$pub" = true ]; then roles=public; fi
    if [ "$pub" = false ] && [ -z "$roles" ]; then fail "$m $p: not public, yet no role may call it"; fi
    declared["$m $p"]=$roles
    nroutes=$((nroutes + 1))
done <"$T/routes.jsonl"
check "vigild --routes lists routes" test "$nroutes" -gt 5

while IFS=$'\t' read -r m p r; do
    case "$m" in ''|'#'*) continue ;; esac
    if [ -z "$p" ] || [ -z "$r" ]; then fail "authz_matrix.tsv: bad line '$m $p $r'"; continue; fi
    want["$m $p"]=$(printf '%s' "$r" | tr ',' '\n' | sort | paste -sd, -)
done <"$TSV"

for k in "${!declared[@]}"; do
    if [ -z "${want[$k]+x}" ]; then
        fail "route $k is not in authz_matrix.tsv (every route needs a rule there)"
    elif [ "${want[$k]}" != "${declared[$k]}" ]; then
        fail "route $k: declared roles '${declared[$k]}', authz_matrix.tsv says '${want[$k]}'"
    else
        ok
    fi
done
for k in "${!want[@]}"; do
    [ -n "${declared[$k]+x}" ] || fail "authz_matrix.tsv names $k, which vigild does not have"
done

# ---- every route x every identity over HTTP ----
D=$T/data
vg_start "$D" --detect=false --detections=false --rate-limit 0 || finish
ADMIN=$(vg_admin "$D")
declare -A tok
tok[admin]=$ADMIN
for r in ingest viewer analyst responder; do
    resp=$(http POST /api/v1/tokens -H "Authorization: Bearer $ADMIN" \
        -H 'Content-Type: application/json' -d "{\"name\":\"matrix-$r\",\"role\":\"$r\"}")
    expect_match "create a $r token" '^201 ' "$resp"
    tok[$r]=$(printf '%s' "$resp" | sed -n 's/.*"token":"\(vgt_[0-9a-f]*\)".*/\1/p')
done

declare -A got
bad=0
for k in "${!want[@]}"; do
    [ -n "${declared[$k]+x}" ] || continue
    m=${k%% *}
    p=${k#* }
    url=$(printf '%s' "$p" | sed 's/{[^}]*}/999999/g')
    body=()
    case "$m" in POST|PATCH|PUT) body=(-H 'Content-Type: application/json' --data-binary '{}') ;; esac
    for id in $IDS; do
        auth=()
        [ "$id" = none ] || auth=(-H "Authorization: Bearer ${tok[$id]}")
        code=$(curl -s -o /dev/null -w '%{http_code}' -X "$m" "${auth[@]}" "${body[@]}" "$VG_URL$url")
        verdict=ok
        if [ "${want[$k]}" = public ]; then
            case "$code" in 401|403|000) verdict=bad ;; esac
        elif [ "$id" = none ]; then
            [ "$code" = 401 ] || verdict=bad
        elif printf ',%s,' "${want[$k]}" | grep -q ",$id,"; then
            case "$code" in 401|403|429|000) verdict=bad ;; esac
        else
            [ "$code" = 403 ] || verdict=bad
        fi
        if [ $verdict = ok ]; then ok; got["$k|$id"]=$code; else
            bad=1; got["$k|$id"]="$code!"
            fail "$m $p as ${id}: got $code (allowed: ${want[$k]})"
        fi
    done
done

if [ "$bad" = 1 ]; then
    echo "  the matrix (! marks a wrong cell; allowed roles from authz_matrix.tsv):"
    printf '    %-58s' "route"
    for id in $IDS; do printf ' %-9s' "$id"; done
    echo
    for k in $(printf '%s\n' "${!want[@]}" | sort -k2 | tr ' ' '#'); do
        k=${k//#/ }
        [ -n "${declared[$k]+x}" ] || continue
        printf '    %-58s' "$k"
        for id in $IDS; do printf ' %-9s' "${got[$k|$id]:-?}"; done
        echo
    done
fi

# the tokens the matrix used are all still there (no DELETE hit a real id)
resp=$(http GET /api/v1/tokens -H "Authorization: Bearer $ADMIN")
expect_eq "no token was revoked by the matrix" 0 "$(printf '%s' "$resp" | grep -o '"revoked":"' | wc -l)"
check "vigild stops cleanly" vg_stop
finish
