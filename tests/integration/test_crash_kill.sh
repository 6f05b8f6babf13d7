#!/usr/bin/env bash
# test_crash_kill.sh - crash safety: a writer streams batches over HTTP and
# records every acknowledged one while vigild is killed with SIGKILL at
# random points (KILLS times, default 25) and restarted on the same data
# directory. Tails are sealed every SEAL_ROWS rows so kills also land in the
# middle of seals. At the end every acknowledged row must be present exactly
# once, no id twice, every batch whole or absent, and nothing quarantined.
. "$(dirname "$0")/lib.sh"
KILLS=${KILLS:-25}
BATCH=200
SEAL_ROWS=${SEAL_ROWS:-3000}
D=$T/data
vg_start "$D" --seal-rows "$SEAL_ROWS" || finish
TOK=$(vg_admin "$D")
echo "$VG_PORT" >"$T/port"
: >"$T/acked"
python3 "$(dirname "$0")/crash_writer.py" "$T/port" "$T/acked" "$T/stop" "$TOK" $BATCH 3 \
    >"$T/writer.out" 2>&1 &
wpid=$!
kills=0
for k in $(seq 1 "$KILLS"); do
    # up 0.15 .. 1.0 s, then SIGKILL at whatever point the server is
    sleep "0.$(( 15 + RANDOM % 85 ))"
    vg_kill9
    kills=$((kills + 1))
    if ! vg_start "$D" --seal-rows "$SEAL_ROWS"; then
        fail "restart $k after SIGKILL"
        break
    fi
    echo "$VG_PORT" >"$T/port"
done
sleep 0.5
touch "$T/stop"
wait $wpid
cat "$T/writer.out" | sed 's/^/  /'
check "clean stop at the end" vg_stop

"$VGCOUNT" --values ReportId "$D" DeviceProcessEvents >"$T/ids" 2>"$T/count.err" ||
    fail "scan of the store failed: $(cat "$T/count.err")"
summary=$(python3 - "$T/acked" "$T/ids" $BATCH <<'X'
import collections, sys
acked = [int(x) for x in open(sys.argv[1]) if x.strip()]
batch = int(sys.argv[3])
ids = collections.Counter(int(x) for x in open(sys.argv[2]) if x.strip() and x.strip() != "-")
dups = [i for i, c in ids.items() if c > 1]
missing = [b * batch + i for b in acked for i in range(batch) if ids[b * batch + i] != 1]
present_batches = collections.Counter(i // batch for i in ids)
partial = [b for b, c in present_batches.items() if c != batch]
print("acked_batches=%d acked_rows=%d stored_rows=%d missing=%d duplicates=%d partial_batches=%d"
      % (len(acked), len(acked) * batch, sum(ids.values()), len(missing), len(dups), len(partial)))
X
)
echo "  kills=$kills $summary"
expect_match "enough kills" "^$KILLS\$" "$kills"
expect_match "acknowledged something" 'acked_batches=[1-9]' "$summary"
expect_match "no acknowledged row missing" ' missing=0 ' "$summary"
expect_match "no row twice" ' duplicates=0 ' "$summary"
expect_match "every batch whole or absent" ' partial_batches=0$' "$summary"
q=$(find "$D/quarantine" -type f 2>/dev/null | wc -l)
expect_eq "quarantine empty" 0 "$q"
stats=$("$VGCOUNT" --stats "$D")
echo "  store: $(printf '%s' "$stats" | tr '\n' ' ')"
expect_match "store stats: nothing quarantined" '^quarantined=0$' "$stats"
stored=$(printf '%s' "$summary" | sed 's/.*stored_rows=\([0-9]*\).*/\1/')
if "$BUILD/vigil" count --data "$D" DeviceProcessEvents >"$T/vc" 2>/dev/null; then
    expect_eq "vigil count agrees" "$stored" "$(tr -d ' \n' <"$T/vc")"
fi
finish
