#!/usr/bin/env python3
"""sqlite_load.py - the SQLite side of bench/run.sh.

Loads an NDJSON file of one table into a fresh SQLite database file: one
typed column per schema column (TEXT, INTEGER, REAL), each line bound as
text to INSERT ... SELECT json_extract(...) so that SQLite's own JSON1 code
parses it (Python only reads lines), all in one transaction, journal off.
Prints one JSON line {"rows":N,"seconds":S,"method":"..."}.
Usage: sqlite_load.py FILE DB SCHEMA_TSV TABLE
"""
import json
import os
import sqlite3
import sys
import time


def main():
    path, db, tsv, table = sys.argv[1:5]
    cols = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[0] == table:
                cols.append((parts[1], parts[2]))
    if not cols:
        sys.exit(f"no columns for {table} in {tsv}")
    sqltype = {"long": "INTEGER", "int": "INTEGER", "bool": "INTEGER", "boolean": "INTEGER",
               "real": "REAL", "double": "REAL"}
    for p in (db, db + "-journal", db + "-wal"):
        if os.path.exists(p):
            os.remove(p)
    t0 = time.monotonic()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    ddl = ", ".join(f'"{c}" {sqltype.get(t, "TEXT")}' for c, t in cols)
    con.execute(f"CREATE TABLE t ({ddl})")
    sel = ", ".join(f"json_extract(j, '$.{c}')" for c, _ in cols)
    ins = f"INSERT INTO t SELECT {sel} FROM (SELECT ? AS j)"
    con.execute("BEGIN")
    n = 0
    batch = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            batch.append((line,))
            if len(batch) == 10000:
                con.executemany(ins, batch)
                n += len(batch)
                batch.clear()
    if batch:
        con.executemany(ins, batch)
        n += len(batch)
    con.execute("COMMIT")
    con.close()
    sec = time.monotonic() - t0
    print(json.dumps({"rows": n, "seconds": sec,
                      "method": "python3 sqlite3: INSERT ... SELECT json_extract(line) per row, "
                                "one transaction, journal off"}))


if __name__ == "__main__":
    main()
