#!/usr/bin/env bash
# hunt.sh BUILD_DIR - the hunting benchmark (make bench, part 2; make bench-hunt):
# Vigil's KQL beside DuckDB and SQLite, in the same run, on the same rows.
#
#   1. generates (once; cached in bench/data/hunt-ROWS/, which git ignores)
#      DeviceProcessEvents and DeviceNetworkEvents rows with `vigil gen`
#      (fixed seed and start: every run sees the same bytes). The generator
#      splits --rows across the tables (about 45% process rows), so it is asked
#      for 2.3 x BENCH_HUNT_ROWS rows to give at least BENCH_HUNT_ROWS process
#      rows. The NDJSON (~3 KB a row) is kept zstd-compressed (about 25:1) and
#      decompressed into each loader through a pipe (DuckDB decompresses it
#      itself), so a 10M-row run needs ~2.5 GB of disk, not ~55 GB;
#   2. loads it into Vigil (`zstd -dc | vigil ingest --data DIR -`: every
#      column, durable), DuckDB (hunt_duckdb.mjs: only the 9 columns the
#      queries use, Timestamp a TIMESTAMP) and SQLite (hunt_sqlite.py: the same
#      9 columns, Timestamp an INTEGER of 100 ns ticks). No engine gets an
#      index. Loaded stores are cached beside the data and reused by later runs
#      (Vigil's is redone when the vigil binary is newer than it);
#      BENCH_HUNT_RELOAD="vigil duckdb sqlite" forces any of them;
#   3. runs every bench/hunt_queries/NAME.kql with `vigil hunt` and its twins
#      NAME.duckdb.sql and NAME.sqlite.sql: one warm-up, then BENCH_HUNT_RUNS
#      (default 3) timed runs; the table shows the median. Results are
#      compared across engines and a mismatch is printed loudly.
#
# What is timed: DuckDB, around runAndReadAll on one open connection (in the
# engine, result read into JS); SQLite, around execute + fetchall on one open
# connection; Vigil, both the "ElapsedMs" that `vigil hunt --stats` reports
# (in the engine) and the whole process's wall time (start, open the store,
# run, print). The ratios use in-engine times on both sides.
# Knobs: BENCH_HUNT_ROWS (default 10000000 process rows), BENCH_HUNT_RUNS,
# BENCH_HUNT_SKIP (space-separated: vigil duckdb sqlite), BENCH_HUNT_RELOAD,
# BENCH_HUNT_SQLITE_LOAD=csv (load SQLite from DuckDB's CSV export with the
# sqlite3 shell instead of parsing the NDJSON with JSON1: minutes, not an hour,
# for 10M rows on a busy machine; its load time is then not comparable).
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROWS=${BENCH_HUNT_ROWS:-10000000}
RUNS=${BENCH_HUNT_RUNS:-3}
SKIP=" ${BENCH_HUNT_SKIP:-} "
RELOAD=" ${BENCH_HUNT_RELOAD:-} "
TOTAL=$((ROWS * 23 / 10))
DIR=$HERE/data/hunt-$ROWS
ZST=$DIR/gen.ndjson.zst
QDIR=$HERE/hunt_queries
VIGIL=$BUILD/vigil
TIME=/usr/bin/time
mkdir -p "$DIR"

die() { echo "bench-hunt: $*" >&2; exit 1; }
[ -x "$VIGIL" ] || die "$VIGIL is missing (make first)"
[ -x "$TIME" ] || die "/usr/bin/time is missing (apt-get install time)"
command -v zstd >/dev/null || die "zstd is missing (apt-get install zstd)"

if [ ! -s "$ZST" ]; then
    echo "bench-hunt: generating $ZST ($TOTAL rows of DeviceProcessEvents + DeviceNetworkEvents)..."
    ( set -o pipefail
      "$VIGIL" gen --devices 200 --days 7 --seed 1 --start 2025-01-06T00:00:00Z --rows "$TOTAL" \
          --tables DeviceProcessEvents,DeviceNetworkEvents | zstd -1 -T0 -q -o "$ZST.tmp" ) &&
        mv "$ZST.tmp" "$ZST" || { rm -f "$ZST.tmp"; die "vigil gen failed"; }
fi
WORK=$(mktemp -d "$DIR/run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOADS=$WORK/loads
: >"$LOADS"
echo "bench-hunt: $ZST: $TOTAL generated rows, $(stat -c %s "$ZST") bytes compressed ($(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"

# timed OUTFILE CMD... : runs CMD under /usr/bin/time; sets SEC and RSS
timed() {
    local out=$1
    shift
    "$TIME" -f '%e %M' -o "$WORK/time" "$@" >"$out" 2>"$out.err"
    local rc=$?
    read -r SEC RSS <"$WORK/time" || true
    [ $rc -eq 0 ] || { echo "bench-hunt: failed ($rc): $*" >&2; tail -5 "$out" "$out.err" >&2; }
    return $rc
}
want() { [[ $SKIP != *" $1 "* ]]; }
reload() { [[ $RELOAD == *" $1 "* ]]; }
# load record: ENGINE_LABEL P_ROWS N_ROWS SECONDS BYTES RSS_KB (kept beside each store)

# ---- Vigil: every column, durable ingest from the decompressing pipe ----
VDATA=$DIR/vigil-data
if want vigil; then
    if reload vigil || [ ! -s "$DIR/vigil.load" ] || [ "$VIGIL" -nt "$DIR/vigil.load" ]; then
        echo "bench-hunt: loading Vigil..."
        rm -rf "$VDATA" "$DIR/vigil.load"
        if timed "$WORK/vigil.load.out" bash -c 'zstd -dc "$1" | "$2" ingest --progress=false --data "$3" -' \
            _ "$ZST" "$VIGIL" "$VDATA"; then
            p=$("$VIGIL" count --data "$VDATA" DeviceProcessEvents)
            n=$("$VIGIL" count --data "$VDATA" DeviceNetworkEvents)
            printf 'Vigil %s (vigil ingest, all columns, durable)\t%s\t%s\t%s\t%s\t%s\n' \
                "$(git -C "$HERE" describe --always --dirty 2>/dev/null)" "$p" "$n" "$SEC" \
                "$(du -sb "$VDATA" | cut -f1)" "$RSS" >"$DIR/vigil.load"
        fi
    fi
    cat "$DIR/vigil.load" >>"$LOADS" 2>/dev/null
fi

# ---- DuckDB: 9 columns, read_ndjson on the .zst itself ----
DUCK=$DIR/duckdb.db
if want duckdb; then
    if [ ! -d "$HERE/node_modules/@duckdb/node-api" ]; then
        (cd "$HERE" && npm ci --no-audit --no-fund >/dev/null 2>&1) || echo "bench-hunt: npm ci failed; DuckDB skipped" >&2
    fi
    if [ -d "$HERE/node_modules/@duckdb/node-api" ]; then
        if reload duckdb || [ ! -s "$DIR/duckdb.load" ]; then
            echo "bench-hunt: loading DuckDB..."
            rm -f "$DIR/duckdb.load"
            if timed "$WORK/duck.load.out" node "$HERE/hunt_duckdb.mjs" load "$ZST" "$DUCK"; then
                ver=$(cd "$HERE" && node -p 'require("@duckdb/node-api/package.json").version' 2>/dev/null)
                tail -1 "$WORK/duck.load.out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("DuckDB %s (read_ndjson zstd, 9 columns, %s threads)\t%s\t%s\t%s\t%s\t%s" % (sys.argv[1], j["threads"], j["p"], j["n"], *sys.argv[2:5]))' \
                    "$ver" "$SEC" "$(($(stat -c %s "$DUCK") + $(stat -c %s "$DUCK.wal" 2>/dev/null || echo 0)))" "$RSS" \
                    >"$DIR/duckdb.load"
            fi
        fi
        cat "$DIR/duckdb.load" >>"$LOADS" 2>/dev/null
    fi
fi

# ---- SQLite: 9 columns, JSON1 parses each line, one thread ----
SQLT=$DIR/sqlite.db
if want sqlite; then
    if [ "${BENCH_HUNT_SQLITE_LOAD:-json}" = csv ] && { reload sqlite || [ ! -s "$DIR/sqlite.load" ]; }; then
        # the faster path: DuckDB exports its 9 columns as CSV, the sqlite3 shell imports them
        [ -s "$DIR/duckdb.load" ] || die "BENCH_HUNT_SQLITE_LOAD=csv needs the DuckDB store"
        echo "bench-hunt: loading SQLite from DuckDB's CSV export..."
        rm -f "$DIR/sqlite.load"
        if timed "$WORK/sqlite.load.out" bash -c 'node "$1" export "$2" "$3" && python3 "$4" load-csv "$5" "$3"' \
            _ "$HERE/hunt_duckdb.mjs" "$DUCK" "$WORK" "$HERE/hunt_sqlite.py" "$SQLT"; then
            tail -1 "$WORK/sqlite.load.out" | python3 -c '
import json, sqlite3, sys
j = json.load(sys.stdin)
print("SQLite %s (CSV from DuckDB, sqlite3 .import, 9 columns)\t%s\t%s\t%s\t%s\t%s" % (sqlite3.sqlite_version, j["p"], j["n"], *sys.argv[1:4]))' \
                "$SEC" "$(stat -c %s "$SQLT")" "$RSS" >"$DIR/sqlite.load"
        fi
        rm -f "$WORK/p.csv" "$WORK/n.csv"
    fi
    if [ "${BENCH_HUNT_SQLITE_LOAD:-json}" != csv ] && { reload sqlite || [ ! -s "$DIR/sqlite.load" ]; }; then
        echo "bench-hunt: loading SQLite (the slowest: about 35k rows/s; BENCH_HUNT_SQLITE_LOAD=csv is faster)..."
        rm -f "$DIR/sqlite.load"
        if timed "$WORK/sqlite.load.out" bash -c 'zstd -dc "$1" | python3 "$2" load "$3"' \
            _ "$ZST" "$HERE/hunt_sqlite.py" "$SQLT"; then
            tail -1 "$WORK/sqlite.load.out" | python3 -c '
import json, sqlite3, sys
j = json.load(sys.stdin)
print("SQLite %s (JSON1 via python3, 9 columns, 1 thread)\t%s\t%s\t%s\t%s\t%s" % (sqlite3.sqlite_version, j["p"], j["n"], *sys.argv[1:4]))' \
                "$SEC" "$(stat -c %s "$SQLT")" "$RSS" >"$DIR/sqlite.load"
        fi
    fi
    cat "$DIR/sqlite.load" >>"$LOADS" 2>/dev/null
fi

# ---- queries ----
QUERIES=$(cd "$QDIR" && ls *.kql | sed 's/\.kql$//')
echo "bench-hunt: running $(echo $QUERIES | wc -w) queries, 1 warm-up + $RUNS timed runs each..."
if want vigil && [ -s "$DIR/vigil.load" ]; then
    if "$VIGIL" hunt --help >/dev/null 2>&1; then
        # one process a run; wall time around it, ElapsedMs from its --stats line
        python3 - "$VIGIL" "$VDATA" "$RUNS" $(for q in $QUERIES; do echo "$QDIR/$q.kql"; done) \
            >"$WORK/vigil.q" <<'PY'
import json, os, subprocess, sys, time
vigil, data, runs, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
for f in files:
    name = os.path.basename(f)[:-4]
    wall, eng, rows, cols, err = [], [], [], [], None
    for i in range(runs + 1):
        t0 = time.perf_counter()
        p = subprocess.run([vigil, "hunt", "--data", data, "--format", "json", "--stats", "-f", f],
                           capture_output=True)
        dt = (time.perf_counter() - t0) * 1000.0
        if p.returncode != 0:
            err = p.stderr.decode(errors="replace").strip()[-500:] or f"exit {p.returncode}"
            break
        stats = None
        for line in reversed(p.stderr.decode(errors="replace").splitlines()):
            if line.startswith("{"):
                try:
                    stats = json.loads(line)
                    break
                except ValueError:
                    pass
        if i > 0:
            wall.append(dt)
            if stats and "ElapsedMs" in stats:
                eng.append(float(stats["ElapsedMs"]))
        objs = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        cols = list(objs[0].keys()) if objs else []
        rows = [list(o.values()) for o in objs]
    out = {"query": name, "ms": eng if len(eng) == len(wall) and eng else None, "wall_ms": wall,
           "columns": cols, "rows": rows, "stats": stats}
    if err:
        out = {"query": name, "error": err}
    print(json.dumps(out), flush=True)
PY
    else
        echo "bench-hunt: $VIGIL has no 'hunt' command yet: Vigil's column is empty" >&2
    fi
fi
if want duckdb && [ -s "$DIR/duckdb.load" ]; then
    node "$HERE/hunt_duckdb.mjs" query "$DUCK" "$RUNS" $(for q in $QUERIES; do echo "$QDIR/$q.duckdb.sql"; done) \
        >"$WORK/duckdb.q" 2>"$WORK/duckdb.q.err" || { echo "bench-hunt: DuckDB queries failed" >&2; cat "$WORK/duckdb.q.err" >&2; }
fi
if want sqlite && [ -s "$DIR/sqlite.load" ]; then
    python3 "$HERE/hunt_sqlite.py" query "$SQLT" "$RUNS" $(for q in $QUERIES; do echo "$QDIR/$q.sqlite.sql"; done) \
        >"$WORK/sqlite.q" 2>"$WORK/sqlite.q.err" || { echo "bench-hunt: SQLite queries failed" >&2; cat "$WORK/sqlite.q.err" >&2; }
fi

echo
python3 - "$WORK" "$LOADS" "$RUNS" "$QDIR" $QUERIES <<'PY'
import json, os, re, statistics, sys
work, loads, runs, qdir, queries = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]

def table(hdr, rows):
    w = [max(len(str(r[i])) for r in [hdr] + rows) for i in range(len(hdr))]
    print("| " + " | ".join(str(h).ljust(w[i]) for i, h in enumerate(hdr)) + " |")
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |")

def mib(b): return f"{b / 1048576:,.1f} MiB"
lrows = []
for l in open(loads):
    if not l.strip():
        continue
    name, p, n, sec, size, rss = l.rstrip("\n").split("\t")
    p, n, sec, size, rss = int(p), int(n), float(sec), int(size), int(rss)
    lrows.append([name, f"{p:,}", f"{n:,}", f"{sec:.1f}", f"{(p + n) / sec:,.0f}" if sec else "-",
                  mib(size), mib(rss * 1024)])
print("Loads (cached stores keep the figures of the run that built them):")
table(["engine", "process rows", "network rows", "seconds", "rows/s", "bytes on disk", "peak RSS"], lrows)
counts = {(r[1], r[2]) for r in lrows}
if len(counts) > 1:
    print("\n*** MISMATCH: the engines loaded different numbers of rows ***")

res = {}
for eng in ("vigil", "duckdb", "sqlite"):
    f = os.path.join(work, eng + ".q")
    res[eng] = {}
    if os.path.exists(f):
        for l in open(f):
            if l.strip():
                j = json.loads(l)
                res[eng][j["query"]] = j

TS = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)")
def norm(v):
    if isinstance(v, str):
        m = TS.match(v)
        return f"{m.group(1)}T{m.group(2)}" if m else v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v

def keyed(rows):
    return {tuple(norm(x) for x in r[:-1]): norm(r[-1]) for r in rows}

def compare(q, ref, other):
    """None if the results agree, else a description of the difference."""
    text = open(os.path.join(qdir, q + ".kql")).read()
    a, b = keyed(ref["rows"]), keyed(other["rows"])
    if len(ref["rows"]) != len(other["rows"]):
        return f"{len(other['rows'])} rows vs {len(ref['rows'])}"
    if "dcount(" in text:  # approximate distinct counts: within 3%
        if set(a) != set(b):
            return f"groups differ: {sorted(set(a) ^ set(b))[:5]}"
        bad = [(k, a[k], b[k]) for k in a if abs(b[k] - a[k]) > 0.03 * max(abs(a[k]), 1)]
        worst = max((abs(b[k] - a[k]) / max(abs(a[k]), 1) for k in a), default=0.0)
        return (f"APPROX: {len(bad)} of {len(a)} groups off by more than 3% (worst {100 * worst:.1f}%), "
                f"e.g. (group, reference, this engine) {bad[:3]}") if bad else None
    if re.search(r"\|\s*top\s", text):  # ties at the cut may pick different keys
        va, vb = sorted(a.values()), sorted(b.values())
        if va != vb:
            return f"counts {vb} vs {va}"
        cut = va[0] if va else None
        for k in a:
            if a[k] != cut and b.get(k) != a[k]:
                return f"{k}: {b.get(k)} vs {a[k]}"
        return None
    return None if a == b else f"{sorted(b.items())[:5]} vs {sorted(a.items())[:5]}"

def med(xs): return statistics.median(xs) if xs else None
def ms(x): return "-" if x is None else (f"{x:,.1f}" if x < 100 else f"{x:,.0f}")
def ratio(x, y): return "-" if x is None or y is None or y <= 0 else f"{x / y:.2f}x"
def brief(r):
    rows = r["rows"]
    if len(rows) == 1 and len(rows[0]) == 1:
        return f"{norm(rows[0][0]):,}" if isinstance(norm(rows[0][0]), int) else str(rows[0][0])
    return f"{len(rows)} rows"

out, problems = [], []
for q in queries:
    v, d, s = res["vigil"].get(q), res["duckdb"].get(q), res["sqlite"].get(q)
    for eng, r in (("vigil", v), ("duckdb", d), ("sqlite", s)):
        if r and "error" in r:
            problems.append(f"{q}: {eng} failed: {r['error']}")
    v = v if v and "error" not in v else None
    ve, vw = (med(v["ms"]) if v and v["ms"] else None), (med(v["wall_ms"]) if v else None)
    dm, sm = (med(d["ms"]) if d else None), (med(s["ms"]) if s else None)
    # the reference: SQLite if it ran (exact, and its count(distinct) is exact), then DuckDB
    have = [(n, r) for n, r in (("SQLite", s), ("DuckDB", d), ("Vigil", v)) if r]
    check = "ok" if len(have) > 1 else "-"
    for n, r in have[1:]:
        diff = compare(q, have[0][1], r)
        if diff:
            check = "APPROX>3%" if diff.startswith("APPROX") and check != "MISMATCH" else "MISMATCH"
            problems.append(f"{q}: {n} differs from {have[0][0]}: {diff}")
    vbase = ve if ve is not None else vw
    out.append([q, ms(ve), ms(vw), ms(dm), ms(sm), ratio(dm, vbase), ratio(sm, vbase),
                brief(have[0][1]) if have else "-", check])
print(f"\nQueries: median of {runs} timed runs after 1 warm-up, milliseconds:")
table(["query", "Vigil (engine)", "Vigil (process)", "DuckDB", "SQLite", "DuckDB/Vigil",
       "SQLite/Vigil", "result", "same result"], out)
print("\nVigil (engine) is the ElapsedMs of `vigil hunt --stats`; Vigil (process) the wall time of the\n"
      "whole `vigil hunt` process (start, open the store, plan, run, print). DuckDB and SQLite are timed\n"
      "in-process around the query call on an open connection (result read into the host language).\n"
      "Ratios are the peer's time over Vigil's engine time (its process time if it gave no ElapsedMs):\n"
      "above 1.00x Vigil is faster, below it the peer is.\n"
      "DuckDB and SQLite hold only the 9 columns the queries use; Vigil holds every column. No indexes.\n"
      "dcount: DuckDB approx_count_distinct and Vigil dcount are compared with SQLite's exact\n"
      "count(distinct) within 3%; tops allow different keys among ties at the cut.")
vs = [(q, res["vigil"][q].get("stats")) for q in queries if res["vigil"].get(q, {}).get("stats")]
if vs:
    print("\nVigil's own statistics (last run):")
    for q, st in vs:
        print(f"  {q}: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) and not isinstance(v, bool)
                                     else f"{k} {v}" for k, v in st.items() if k != "ElapsedMs"))
if problems:
    print("\n" + "*" * 72)
    for p in problems:
        print("*** " + p)
    print("*" * 72)
PY
