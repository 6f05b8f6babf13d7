#!/usr/bin/env bash
# run.sh BUILD_DIR - the ingest benchmark (make bench): Vigil beside DuckDB and
# SQLite, all in the same run, on the same file.
#
#   1. generates (once; cached in bench/data/, which git ignores) an NDJSON
#      file of BENCH_ROWS (default 1,000,000) DeviceProcessEvents rows with
#      `vigil gen` (fixed seed and start, so every run sees the same bytes);
#   2. the native decoder alone (`vigil decode-bench`: file -> batches,
#      batches dropped) to show where the time goes;
#   3. Vigil's durable ingest: `vigil ingest --data FRESH_DIR FILE` (WAL fsync
#      per batch, segments sealed before it exits), then a count check;
#   4. DuckDB: CREATE TABLE t AS SELECT * FROM read_ndjson(FILE) into a fresh
#      database file, then CHECKPOINT (bench/duckdb_load.mjs), with its
#      default threads and with one thread;
#   5. SQLite: bench/sqlite_load.py (typed columns, SQLite's JSON1 parses
#      each line, one transaction, journal and sync off).
# Wall time and peak RSS come from /usr/bin/time (package `time`); bytes on
# disk are the sizes of the files each engine left. Environment knobs:
# BENCH_ROWS, BENCH_SKIP (space-separated: decode evtx vigil http duckdb duckdb1 sqlite).
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROWS=${BENCH_ROWS:-1000000}
SKIP=" ${BENCH_SKIP:-} "
DATA=$HERE/data
FILE=$DATA/DeviceProcessEvents-$ROWS.ndjson
VIGIL=$BUILD/vigil
TIME=/usr/bin/time
mkdir -p "$DATA"

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$VIGIL" ] || die "$VIGIL is missing (make first)"
[ -x "$TIME" ] || die "/usr/bin/time is missing (apt-get install time)"

if [ ! -s "$FILE" ]; then
    echo "bench: generating $FILE ($ROWS rows)..."
    "$VIGIL" gen --devices 200 --days 7 --seed 1 --start 2025-01-06T00:00:00Z --rows "$ROWS" \
        --tables DeviceProcessEvents --out "$FILE.tmp" && mv "$FILE.tmp" "$FILE" ||
        die "vigil gen failed"
fi
RAW=$(stat -c %s "$FILE")
WORK=$(mktemp -d "$DATA/run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results
: >"$RESULTS"
echo "bench: $FILE: $ROWS rows, $RAW bytes of NDJSON ($(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"

# record ENGINE ROWS SECONDS BYTES RSS_KB NOTE
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }
# timed OUTFILE CMD... : runs CMD under /usr/bin/time; sets SEC and RSS
timed() {
    local out=$1
    shift
    "$TIME" -f '%e %M' -o "$WORK/time" "$@" >"$out" 2>"$out.err"
    local rc=$?
    read -r SEC RSS <"$WORK/time" || true
    [ $rc -eq 0 ] || { echo "bench: failed ($rc): $*" >&2; cat "$out" "$out.err" >&2; }
    return $rc
}
dirsize() { du -sb "$1" | cut -f1; }

# drop the page cache's advantage between engines: read the file once first
cat "$FILE" >/dev/null

if [[ $SKIP != *" decode "* ]]; then
    timed "$WORK/decode.out" "$VIGIL" decode-bench "$FILE" &&
        echo "decoder alone: $(sed 's/^decode-bench: //' "$WORK/decode.out") (peak RSS $((RSS / 1024)) MiB)"
fi

# EVTX: Vigil's own reader against libevtx + expat, same file, same run
EVTX_DIR="$HERE/../../shared/data/sigma/regression_data"
if [[ $SKIP != *" evtx "* ]] && [ -x "$BUILD/bench/evtx_bench" ] && [ -d "$EVTX_DIR" ]; then
    # the sample with the most events (file size says little: chunks are 64 KiB)
    big=$(for f in $(find "$EVTX_DIR" -name '*.evtx'); do
        echo "$("$BUILD/tools/vg-decode" --format evtx "$f" 2>/dev/null | wc -l) $f"; done |
        sort -n | tail -1 | cut -d' ' -f2-)
    echo "EVTX ($(basename "$big"), decoded 300 times):"
    "$BUILD/bench/evtx_bench" "$big" 300 | sed 's/^/  /'
fi

if [[ $SKIP != *" vigil "* ]]; then
    if timed "$WORK/vigil.out" "$VIGIL" ingest --no-detect --data "$WORK/vigil-data" "$FILE"; then
        n=$("$VIGIL" count --data "$WORK/vigil-data" DeviceProcessEvents)
        [ "$n" = "$ROWS" ] || echo "bench: WARNING: vigil count says $n, expected $ROWS" >&2
        record "Vigil (vigil ingest, durable)" "$n" "$SEC" "$(dirsize "$WORK/vigil-data")" "$RSS" \
            "WAL fsync per batch; sealed zstd segments"
    fi
    rm -rf "$WORK/vigil-data"
    # the same pinned to one core (decoder and store threads share it)
    if command -v taskset >/dev/null &&
        timed "$WORK/vigil1.out" taskset -c 0 "$VIGIL" ingest --no-detect --data "$WORK/vigil-data" "$FILE"; then
        n=$("$VIGIL" count --data "$WORK/vigil-data" DeviceProcessEvents)
        record "Vigil (vigil ingest, durable, 1 core)" "$n" "$SEC" "$(dirsize "$WORK/vigil-data")" \
            "$RSS" "taskset -c 0"
    fi
    rm -rf "$WORK/vigil-data"
fi

# the same file over HTTP: vigild on 127.0.0.1, one `vigil ingest --server` client
# (zstd bodies of 4 MB of lines, each acknowledged after its fsync); peak RSS is the server's
if [[ $SKIP != *" http "* ]] && [ -x "$BUILD/vigild" ]; then
    port=$((20000 + RANDOM % 20000))
    "$BUILD/vigild" --no-detect --data "$WORK/vigil-http" --listen "127.0.0.1:$port" \
        >"$WORK/vigild.out" 2>"$WORK/vigild.err" &
    srv=$!
    for _ in $(seq 1 50); do [ -s "$WORK/vigil-http/admin.token" ] && break; sleep 0.1; done
    tok=$(tr -d '\n' <"$WORK/vigil-http/admin.token" 2>/dev/null)
    if timed "$WORK/http.out" "$VIGIL" ingest --server "http://127.0.0.1:$port" --token "$tok" "$FILE"; then
        # the server's peak RSS, from the kernel, before it stops
        SRSS=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$srv/status" 2>/dev/null)
        kill -TERM "$srv"; wait "$srv" 2>/dev/null
        n=$("$VIGIL" count --data "$WORK/vigil-http" DeviceProcessEvents)
        record "Vigil over HTTP (1 client, durable)" "$n" "$SEC" "$(dirsize "$WORK/vigil-http")" \
            "${SRSS:-0}" "vigild + vigil ingest --server"
    else
        kill -TERM "$srv"; wait "$srv" 2>/dev/null
    fi
    rm -rf "$WORK/vigil-http"
fi

if [[ $SKIP != *" duckdb "* ]] || [[ $SKIP != *" duckdb1 "* ]]; then
    if [ ! -d "$HERE/node_modules/@duckdb/node-api" ]; then
        (cd "$HERE" && npm ci --no-audit --no-fund >/dev/null 2>&1) || echo "bench: npm ci failed; DuckDB skipped" >&2
    fi
    for th in "" 1; do
        name=duckdb$th
        [[ $SKIP == *" $name "* ]] && continue
        [ -d "$HERE/node_modules/@duckdb/node-api" ] || continue
        if timed "$WORK/$name.out" node "$HERE/duckdb_load.mjs" "$FILE" "$WORK/$name.db" $th; then
            j=$(tail -1 "$WORK/$name.out")
            n=$(printf '%s' "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])')
            t=$(printf '%s' "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["threads"])')
            bytes=$(( $(stat -c %s "$WORK/$name.db") + $( [ -f "$WORK/$name.db.wal" ] && stat -c %s "$WORK/$name.db.wal" || echo 0) ))
            record "DuckDB $(cd "$HERE" && node -p 'require("@duckdb/node-api/package.json").version' 2>/dev/null) (read_ndjson, $t thread$([ "$t" = 1 ] || echo s))" \
                "$n" "$SEC" "$bytes" "$RSS" "CREATE TABLE AS read_ndjson + CHECKPOINT"
        fi
        rm -f "$WORK/$name.db" "$WORK/$name.db.wal"
    done
fi

if [[ $SKIP != *" sqlite "* ]]; then
    if timed "$WORK/sqlite.out" python3 "$HERE/sqlite_load.py" "$FILE" "$WORK/t.sqlite" \
        "$ROOT/schema/advanced-hunting-columns.tsv" DeviceProcessEvents; then
        n=$(tail -1 "$WORK/sqlite.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])')
        record "SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (JSON1 via python3, 1 thread)" \
            "$n" "$SEC" "$(stat -c %s "$WORK/t.sqlite")" "$RSS" "INSERT..SELECT json_extract per line; journal+sync off"
    fi
    rm -f "$WORK/t.sqlite"
fi

echo
python3 - "$RESULTS" "$RAW" "$ROWS" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
raw = int(sys.argv[2])
def mib(b): return f"{b / 1048576:,.1f} MiB"
hdr = ["engine", "rows", "seconds", "rows/s", "bytes on disk", "bytes/row", "ratio vs raw", "peak RSS"]
out = []
for name, n, sec, size, rss, note in rows:
    n, sec, size, rss = int(n), float(sec), int(size), int(rss)
    out.append([name, f"{n:,}", f"{sec:.2f}", f"{n / sec:,.0f}" if sec else "-", mib(size),
                f"{size / n:,.1f}" if n else "-", f"{100.0 * size / raw:.2f}%", mib(rss * 1024)])
w = [max(len(r[i]) for r in [hdr] + out) for i in range(len(hdr))]
print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)) + " |")
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in out:
    print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
print(f"\nraw NDJSON: {raw:,} bytes ({mib(raw)}), {raw / int(sys.argv[3]):,.0f} bytes/row")
PY
