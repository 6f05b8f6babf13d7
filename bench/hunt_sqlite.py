#!/usr/bin/env python3
"""hunt_sqlite.py - the SQLite side of bench/hunt.sh (the hunting benchmark).

  hunt_sqlite.py load DB < NDJSON
      reads the generated NDJSON (both tables mixed; the generator writes the
      "Table" member first, so the line's prefix tells them apart) and loads
      two tables, p (DeviceProcessEvents) and n (DeviceNetworkEvents), with
      only the columns the queries use. SQLite's own JSON1 code parses each
      line once (json_extract with several paths returns one small array,
      which ->> then splits). Timestamp is stored as an INTEGER of 100 ns ticks
      since 1970 (exact, and the fastest form to compare and bin). One
      transaction, journal and sync off: its fastest bulk load. No indexes.
      Prints {"p":ROWS,"n":ROWS,"seconds":S}.
  hunt_sqlite.py load-csv DB DIR
      the same tables from DIR/p.csv and DIR/n.csv (hunt_duckdb.mjs export),
      imported by the sqlite3 shell: much faster than JSON1 on a busy machine,
      but the rows then come through DuckDB's reader (Timestamp loses its 7th
      fractional digit, which no query bound depends on).
  hunt_sqlite.py query DB RUNS Q1.sqlite.sql [Q2...]
      runs each query 1 + RUNS times on one connection (one thread); the time
      is taken around execute + fetchall. One JSON line a query:
      {"query":NAME,"ms":[...],"columns":[...],"rows":[[...]]}.
"""
import json
import os
import sqlite3
import sys
import time

PCOLS = ["Timestamp", "DeviceId", "DeviceName", "FileName", "ProcessCommandLine", "SHA256",
         "AccountName", "ProcessId", "InitiatingProcessId"]
NCOLS = ["Timestamp", "DeviceId", "DeviceName", "InitiatingProcessId"]
TYPES = {"Timestamp": "INTEGER", "ProcessId": "INTEGER", "InitiatingProcessId": "INTEGER"}
PPFX = b'{"Table":"DeviceProcessEvents"'
NPFX = b'{"Table":"DeviceNetworkEvents"'
BATCH = 10000


def insert_sql(table, cols):
    # ticks from "YYYY-MM-DDTHH:MM:SS.fffffffZ": whole seconds by SQLite's own
    # date code, then the 7 fractional digits (padded, in case there are fewer)
    ts = ("(unixepoch(substr(j->>0, 1, 19)) * 10000000 + "
          "CAST(substr(substr(j->>0, 21, length(j->>0) - 21) || '0000000', 1, 7) AS INTEGER))")
    exprs = [ts] + [f"j->>{i}" for i in range(1, len(cols))]
    paths = ", ".join(f"'$.{c}'" for c in cols)
    return (f"INSERT INTO {table} SELECT {', '.join(exprs)} "
            f"FROM (SELECT json_extract(?, {paths}) AS j)")


def load(db):
    for suffix in ("", "-journal", "-wal"):
        try:
            os.unlink(db + suffix)
        except FileNotFoundError:
            pass
    t0 = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    for t, cols in (("p", PCOLS), ("n", NCOLS)):
        con.execute(f"CREATE TABLE {t} ({', '.join(c + ' ' + TYPES.get(c, 'TEXT') for c in cols)})")
    ins_p, ins_n = insert_sql("p", PCOLS), insert_sql("n", NCOLS)
    con.execute("BEGIN")
    bp, bn = [], []
    inp = sys.stdin.buffer
    for line in inp:
        if line.startswith(PPFX):
            bp.append((line.decode("utf-8"),))
            if len(bp) >= BATCH:
                con.executemany(ins_p, bp)
                bp.clear()
        elif line.startswith(NPFX):
            bn.append((line.decode("utf-8"),))
            if len(bn) >= BATCH:
                con.executemany(ins_n, bn)
                bn.clear()
    if bp:
        con.executemany(ins_p, bp)
    if bn:
        con.executemany(ins_n, bn)
    con.execute("COMMIT")
    sec = time.perf_counter() - t0
    p = con.execute("SELECT count(*) FROM p").fetchone()[0]
    n = con.execute("SELECT count(*) FROM n").fetchone()[0]
    con.close()
    print(json.dumps({"p": p, "n": n, "seconds": sec}))


def load_csv(db, d):
    """The faster path: DuckDB's CSV export of the same 9 columns, imported
    by the sqlite3 shell's C importer into the same typed tables."""
    import subprocess
    for suffix in ("", "-journal", "-wal"):
        try:
            os.unlink(db + suffix)
        except FileNotFoundError:
            pass
    t0 = time.perf_counter()
    ddl = "".join(f"CREATE TABLE {t} ({', '.join(c + ' ' + TYPES.get(c, 'TEXT') for c in cols)});\n"
                  for t, cols in (("p", PCOLS), ("n", NCOLS)))
    script = ("PRAGMA journal_mode=OFF;\nPRAGMA synchronous=OFF;\n" + ddl + ".mode csv\n"
              f".import '{d}/p.csv' p\n.import '{d}/n.csv' n\n")
    subprocess.run(["sqlite3", db], input=script.encode(), check=True, stdout=subprocess.DEVNULL)
    sec = time.perf_counter() - t0
    con = sqlite3.connect(db)
    p = con.execute("SELECT count(*) FROM p").fetchone()[0]
    n = con.execute("SELECT count(*) FROM n").fetchone()[0]
    con.close()
    print(json.dumps({"p": p, "n": n, "seconds": sec}))


def query(db, runs, files):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.execute("PRAGMA cache_size=-262144")
    con.execute("PRAGMA mmap_size=34359738368")
    for f in files:
        with open(f, encoding="utf-8") as fh:
            sql = fh.read()
        ms, rows, cols = [], [], []
        for i in range(runs + 1):
            t0 = time.perf_counter()
            cur = con.execute(sql)
            rows = cur.fetchall()
            dt = (time.perf_counter() - t0) * 1000.0
            if i > 0:  # run 0 is the warm-up
                ms.append(dt)
            cols = [d[0] for d in cur.description]
        name = os.path.basename(f)[: -len(".sqlite.sql")]
        print(json.dumps({"query": name, "ms": ms, "columns": cols, "rows": [list(r) for r in rows]}),
              flush=True)
    con.close()


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "load":
        load(a[1])
    elif len(a) == 3 and a[0] == "load-csv":
        load_csv(a[1], a[2])
    elif len(a) >= 4 and a[0] == "query":
        query(a[1], max(1, int(a[2])), a[3:])
    else:
        print("usage: hunt_sqlite.py load DB < NDJSON | query DB RUNS QUERY.sqlite.sql...",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
