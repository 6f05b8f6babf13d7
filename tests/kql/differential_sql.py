#!/usr/bin/env python3
"""differential_sql.py BUILD_DIR - differential test of Vigil's KQL engine
against sqlite3.

Generates deterministic data (`vigil gen`), ingests it into a fresh data
directory, reads the SAME rows back with `vigil dump` into SQLite tables, then
generates random queries (filter, aggregate and join shapes) written both in
KQL and in equivalent SQL, runs them through `vigil hunt --format json` and
sqlite3, and compares the answers as multisets of rows (numbers normalized).

Environment: DIFF_QUERIES (default 400: ~45 s on a loaded 2-core machine;
2000 take ~3.5 min), DIFF_SEED (default 1),
DIFF_BATCH (queries per `vigil hunt` call, default 40), DIFF_HUNT_ARGS (more
`vigil hunt` options, e.g. "--threads 2 --parallel-min-rows 1"), DIFF_TMP (parent of
the temporary directory), KEEP_TMP=1 keeps the temporary directory.

Batching: a `vigil hunt` process costs ~0.1-0.3 s, so queries are run
DIFF_BATCH at a time as the legs of one `union`, each leg tagged with
`extend Q_=N` and with its output columns prefixed qN_. When a batch
disagrees with SQLite, each of its queries is re-run alone, so a mismatch is
always reported for the single query (and a batch-only disagreement is
reported as a union problem).

Semantics modelled in SQL:
  * Kusto string == / != are case-sensitive (SQLite =); =~ / !~ compare
    lower() of both (the data is ASCII); startswith / contains are
    case-insensitive (substr/instr over lower()).
  * strings are never null in Kusto: string columns of a leftouter join's
    unmatched right side are "" (COALESCE(col, '')).
  * null == x is false and null != x is TRUE in Kusto: in predicates over
    nullable integers (the right side of a leftouter join) == is modelled as
    COALESCE(c = v, 0) and != as COALESCE(c != v, 1).
  * joins always name their kind (inner, leftouter, leftanti, leftsemi,
    rightanti, rightsemi), never the default innerunique.
  * only order-free shapes (no take/top); dcount only on low-cardinality
    columns (exact there), compared with count(DISTINCT).

  * dcount() of a right-side string after a leftouter join counts the ""
    of the unmatched rows as a value (count(DISTINCT COALESCE(c, ''))).
  * datetimes are compared with the fraction padded to 7 digits (Vigil, like
    Kusto, prints 2025-01-06T01:04:13.78116Z; vigil dump pads with zeros).

Known Vigil bugs left out of the generator: none. Seed 1 with 2000 queries
agreed with SQLite on every query when this file was added.
"""
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter

START = "2025-01-06T00:00:00Z"
TABLES = ["DeviceProcessEvents", "DeviceNetworkEvents"]
WANTED = ["Timestamp", "DeviceId", "DeviceName", "FileName", "ProcessCommandLine",
          "AccountName", "ProcessId", "InitiatingProcessId", "FolderPath", "RemotePort",
          "RemoteIP", "ActionType", "InitiatingProcessFileName", "RemoteUrl"]
INT_COLS = {"ProcessId", "InitiatingProcessId", "RemotePort"}
# columns with few distinct values: group-by keys and dcount() arguments
LOWCARD = ["DeviceName", "FileName", "AccountName", "ActionType", "InitiatingProcessFileName",
           "RemotePort", "RemoteIP", "RemoteUrl", "DeviceId"]
DPE, DNE = "DeviceProcessEvents", "DeviceNetworkEvents"


def die(msg):
    print("differential: " + msg, file=sys.stderr)
    sys.exit(2)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class Env:
    def __init__(self, build, tmp):
        self.vigil = os.path.join(build, "vigil")
        if not os.access(self.vigil, os.X_OK):
            die(self.vigil + " is missing (build it first)")
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.db = sqlite3.connect(":memory:")
        self.cols = {}      # table -> list of columns present
        self.values = {}    # (table, col) -> sorted distinct values

    def setup(self):
        ev = os.path.join(self.tmp, "events.ndjson")
        r = run([self.vigil, "gen", "--devices", "6", "--days", "2", "--rows", "20000",
                 "--seed", "7", "--start", START, "--tables", ",".join(TABLES), "--out", ev])
        if r.returncode:
            die("vigil gen failed: " + r.stderr)
        r = run([self.vigil, "ingest", "--data", self.data, ev])
        if r.returncode:
            die("vigil ingest failed: " + r.stderr)
        for t in TABLES:
            r = run([self.vigil, "dump", "--data", self.data, t])
            if r.returncode:
                die("vigil dump %s failed: %s" % (t, r.stderr))
            rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            if not rows:
                die("vigil dump %s: no rows" % t)
            present = [c for c in WANTED if any(c in row for row in rows[:200])]
            self.cols[t] = present
            decl = ", ".join("%s %s" % (c, "INTEGER" if c in INT_COLS else "TEXT") for c in present)
            self.db.execute("CREATE TABLE %s (%s)" % (t, decl))
            self.db.executemany("INSERT INTO %s VALUES (%s)" % (t, ",".join("?" * len(present))),
                                [tuple(row.get(c) for c in present) for row in rows])
            for c in present:
                vals = [v for (v,) in self.db.execute(
                    "SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL ORDER BY 1" % (c, t, c))]
                self.values[(t, c)] = vals
        self.db.execute("CREATE INDEX dpe_key ON %s (DeviceId, ProcessId)" % DPE)
        self.db.execute("CREATE INDEX dne_key ON %s (DeviceId, InitiatingProcessId)" % DNE)
        self.nrows = {t: self.db.execute("SELECT count(*) FROM " + t).fetchone()[0] for t in TABLES}

    def hunt(self, query):
        qf = os.path.join(self.tmp, "q.kql")
        with open(qf, "w") as f:
            f.write(query)
        extra = os.environ.get("DIFF_HUNT_ARGS", "").split()
        r = run([self.vigil, "hunt", "--data", self.data, "--format", "json",
                 "--max-rows", "100000000"] + extra + ["-f", qf])
        if r.returncode:
            return None, r.stderr.strip() or ("exit %d" % r.returncode)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()], None


# ---- literals ----

def kstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sstr(s):
    return "'" + s.replace("'", "''") + "'"


def mangle_case(rng, s):
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in s)


class Gen:
    def __init__(self, env, rng):
        self.env = env
        self.rng = rng

    def strval(self, t, c):
        rng = self.rng
        vals = self.env.values[(t, c)]
        x = rng.random()
        if x < 0.8 and vals:
            return rng.choice(vals)
        if x < 0.9 and vals:
            return mangle_case(rng, rng.choice(vals))
        return rng.choice(["", "zz-no-such", "cmd.exe", "a_b%c", "C:\\Windows"])

    def intval(self, t, c):
        rng = self.rng
        vals = self.env.values[(t, c)]
        if rng.random() < 0.85 and vals:
            v = rng.choice(vals)
            return v + rng.choice([0, 0, 0, 1, -1])
        return rng.choice([0, -1, 4, 99999, 2 ** 40])

    def tsval(self, t):
        vals = self.env.values[(t, "Timestamp")]
        v = self.rng.choice(vals)
        if self.rng.random() < 0.5:
            # a whole-second literal: datetime(...Z) and the padded string
            s = v[:19]
            return "datetime(%sZ)" % s, sstr(s + ".0000000Z")
        return "datetime(%s)" % v, sstr(v)

    # atom over table t; ref(c) gives the SQL column reference; nullable
    # integers (leftouter right side) use the two-valued null model.
    def atom(self, t, ref, nullable=False):
        rng = self.rng
        cols = [c for c in self.env.cols[t]]
        c = rng.choice(cols)
        if c == "Timestamp":
            op = rng.choice(["<", ">", "<=", ">="])
            k, s = self.tsval(t)
            return "Timestamp %s %s" % (op, k), "%s %s %s" % (ref(c), op, s)
        if c in INT_COLS:
            op = rng.choice(["==", "!=", "<", ">", "<=", ">=", "in", "!in"])
            if nullable:
                op = rng.choice(["==", "!="])
            if op in ("in", "!in"):
                vs = sorted({self.intval(t, c) for _ in range(rng.randint(1, 4))})
                lst = ", ".join(str(v) for v in vs)
                return "%s %s (%s)" % (c, op, lst), "%s %sIN (%s)" % (ref(c), "NOT " if op == "!in" else "", lst)
            v = self.intval(t, c)
            if nullable and op == "==":
                return "%s == %d" % (c, v), "COALESCE(%s = %d, 0)" % (ref(c), v)
            if nullable and op == "!=":
                return "%s != %d" % (c, v), "COALESCE(%s != %d, 1)" % (ref(c), v)
            sop = {"==": "="}.get(op, op)
            return "%s %s %d" % (c, op, v), "%s %s %d" % (ref(c), sop, v)
        r = ref(c)
        op = rng.choice(["==", "!=", "=~", "!~", "in", "!in", "startswith", "!startswith",
                         "contains", "!contains", "isempty", "isnotempty"])
        if op in ("isempty", "isnotempty"):
            return "%s(%s)" % (op, c), "%s %s ''" % (r, "=" if op == "isempty" else "!=")
        if op in ("in", "!in"):
            vs = sorted({self.strval(t, c) for _ in range(rng.randint(1, 4))})
            return ("%s %s (%s)" % (c, op, ", ".join(kstr(v) for v in vs)),
                    "%s %sIN (%s)" % (r, "NOT " if op == "!in" else "", ", ".join(sstr(v) for v in vs)))
        v = self.strval(t, c)
        if op in ("startswith", "!startswith", "contains", "!contains"):
            base = rng.choice(self.env.values[(t, c)]) if rng.random() < 0.85 else v
            if op.endswith("startswith"):
                v = base[:rng.randint(1, max(1, min(len(base), 12)))]
            else:
                i = rng.randint(0, max(0, len(base) - 1))
                v = base[i:i + rng.randint(1, 6)]
            if rng.random() < 0.5:
                v = mangle_case(rng, v)
            neg = "NOT " if op.startswith("!") else ""
            if op.endswith("startswith"):
                s = "%s(substr(lower(%s), 1, %d) = lower(%s))" % (neg, r, len(v), sstr(v))
            else:
                s = "%s(instr(lower(%s), lower(%s)) > 0)" % (neg, r, sstr(v))
            return "%s %s %s" % (c, op, kstr(v)), s
        if op == "==":
            return "%s == %s" % (c, kstr(v)), "%s = %s" % (r, sstr(v))
        if op == "!=":
            return "%s != %s" % (c, kstr(v)), "%s != %s" % (r, sstr(v))
        if op == "=~":
            return "%s =~ %s" % (c, kstr(v)), "lower(%s) = lower(%s)" % (r, sstr(v))
        return "%s !~ %s" % (c, kstr(v)), "lower(%s) != lower(%s)" % (r, sstr(v))

    def pred(self, t, ref, depth=0):
        rng = self.rng
        x = rng.random()
        if depth >= 2 or x < 0.45:
            return self.atom(t, ref)
        if x < 0.6:
            k, s = self.pred(t, ref, depth + 1)
            return "not(%s)" % k, "NOT (%s)" % s
        op = rng.choice(["and", "or"])
        k1, s1 = self.pred(t, ref, depth + 1)
        k2, s2 = self.pred(t, ref, depth + 1)
        return "(%s %s %s)" % (k1, op, k2), "(%s %s %s)" % (s1, op.upper(), s2)

    # ---- query shapes: each returns (kql, sql, output column names) ----

    def q_filter(self, n):
        rng = self.rng
        t = rng.choice(TABLES)
        k, s = self.pred(t, lambda c: c)
        if rng.random() < 0.5:
            return ("%s | where %s | summarize q%d_c=count()" % (t, k, n),
                    "SELECT count(*) AS q%d_c FROM %s WHERE %s" % (n, t, s))
        # a window of at most 300 consecutive rows keeps the answer small
        ts = self.env.values[(t, "Timestamp")]
        i = rng.randrange(len(ts))
        lo, hi = ts[i], ts[min(len(ts) - 1, i + rng.randint(0, 300))]
        k = "Timestamp between (datetime(%s) .. datetime(%s)) and %s" % (lo, hi, k)
        s = "Timestamp BETWEEN %s AND %s AND %s" % (sstr(lo), sstr(hi), s)
        cols = rng.sample(self.env.cols[t], 2)
        names = ["q%d_a" % n, "q%d_b" % n]
        return ("%s | where %s | project %s" % (t, k, ", ".join("%s=%s" % (a, c) for a, c in zip(names, cols))),
                "SELECT %s FROM %s WHERE %s" % (", ".join("%s AS %s" % (c, a) for a, c in zip(names, cols)), t, s))

    def aggs(self, t, n, ref, grouped, nullable_int=None):
        """random aggregates: lists of (kql, sql)"""
        rng = self.rng
        out = [("q%d_c=count()" % n, "count(*) AS q%d_c" % n)]
        ints = [c for c in self.env.cols[t] if c in INT_COLS]
        low = [c for c in self.env.cols[t] if c in LOWCARD and c not in INT_COLS]
        for i in range(rng.randint(0, 3)):
            name = "q%d_x%d" % (n, i)
            kind = rng.choice(["countif", "sum", "min", "max", "dcount", "mints", "maxts"]
                              if grouped else ["countif", "countif"])
            if kind == "countif":
                k, s = self.pred(t, ref, 1)
                out.append(("%s=countif(%s)" % (name, k), "COALESCE(sum(CASE WHEN %s THEN 1 ELSE 0 END), 0) AS %s" % (s, name)))
            elif kind in ("sum", "min", "max"):
                c = rng.choice(ints)
                out.append(("%s=%s(%s)" % (name, kind, c), "%s(%s) AS %s" % (kind, ref(c), name)))
            elif kind == "dcount":
                c = rng.choice(low)
                out.append(("%s=dcount(%s)" % (name, c), "count(DISTINCT %s) AS %s" % (ref(c), name)))
            else:
                f = kind[:3]
                out.append(("%s=%s(Timestamp)" % (name, f), "%s(%s) AS %s" % (f, ref("Timestamp"), name)))
        return out

    def q_summarize(self, n):
        rng = self.rng
        t = rng.choice(TABLES)
        where_k, where_s = "", ""
        if rng.random() < 0.6:
            k, s = self.pred(t, lambda c: c)
            where_k, where_s = " | where " + k, " WHERE " + s
        keys = rng.sample([c for c in self.env.cols[t] if c in LOWCARD], rng.choice([0, 1, 1, 2]))
        ag = self.aggs(t, n, lambda c: c, bool(keys))
        kn = ["q%d_k%d" % (n, i) for i in range(len(keys))]
        kql = "%s%s | summarize %s" % (t, where_k, ", ".join(a for a, _ in ag))
        if keys:
            kql += " by " + ", ".join("%s=%s" % (a, c) for a, c in zip(kn, keys))
        sel = ["%s AS %s" % (c, a) for a, c in zip(kn, keys)] + [s for _, s in ag]
        sql = "SELECT %s FROM %s%s" % (", ".join(sel), t, where_s)
        if keys:
            sql += " GROUP BY " + ", ".join(keys)
        return kql, sql

    def q_join(self, n):
        rng = self.rng
        kind = rng.choice(["inner", "leftouter", "leftanti", "leftsemi", "rightanti", "rightsemi"])
        lk = lambda c: "l." + c
        rk = lambda c: "r." + c
        left_k, left_s = DPE, ""
        right_k, right_s = DNE, ""
        lw, rw = [], []
        if rng.random() < 0.6:
            k, s = self.pred(DPE, lk, 1)
            left_k += " | where " + k
            lw.append(s)
        if rng.random() < 0.6:
            k, s = self.pred(DNE, rk, 1)
            right_k = "(%s | where %s)" % (DNE, k)
            rw.append(s)
        on = "on DeviceId, $left.ProcessId == $right.InitiatingProcessId"
        cond = "l.DeviceId = r.DeviceId AND l.ProcessId = r.InitiatingProcessId"
        kql = "%s | join kind=%s %s %s" % (left_k, kind, right_k, on)
        lwhere = (" WHERE " + " AND ".join(lw)) if lw else ""
        ron = "".join(" AND " + w for w in rw)
        lon = "".join(" AND " + w for w in lw)
        if kind in ("inner", "leftouter"):
            # filters of the right side go into ON (a LEFT JOIN keeps the
            # left rows they reject), those of the left side into WHERE
            frm = "%s l %s JOIN %s r ON %s%s%s" % (DPE, "LEFT" if kind == "leftouter" else "", DNE,
                                                 cond, ron, lwhere)
            keyc = [("DeviceName", "l.DeviceName"), ("FileName", "l.FileName"),
                    ("AccountName", "l.AccountName"), ("RemotePort", "r.RemotePort"),
                    ("RemoteIP", "COALESCE(r.RemoteIP, '')")]
            aggc = [("count()", "count(*)"), ("sum(ProcessId)", "sum(l.ProcessId)"),
                    ("dcount(RemoteIP)", "count(DISTINCT COALESCE(r.RemoteIP, ''))")]
            if kind == "leftouter":
                v = rng.choice(self.env.values[(DNE, "RemotePort")])
                aggc += [("countif(isnull(RemotePort))", "COALESCE(sum(r.RemotePort IS NULL), 0)"),
                         ("countif(RemotePort == %d)" % v, "COALESCE(sum(COALESCE(r.RemotePort = %d, 0)), 0)" % v),
                         ("countif(RemotePort != %d)" % v, "COALESCE(sum(COALESCE(r.RemotePort != %d, 1)), 0)" % v),
                         ("countif(isempty(RemoteUrl))", "COALESCE(sum(COALESCE(r.RemoteUrl, '') = ''), 0)")]
                # dcount over a column with nulls: nulls are ignored in both
        elif kind in ("leftanti", "leftsemi"):
            frm = "%s l WHERE %sEXISTS (SELECT 1 FROM %s r WHERE %s%s)%s" % (
                DPE, "NOT " if kind == "leftanti" else "", DNE, cond, ron, lon)
            keyc = [("DeviceName", "l.DeviceName"), ("FileName", "l.FileName"), ("AccountName", "l.AccountName")]
            aggc = [("count()", "count(*)"), ("sum(ProcessId)", "sum(l.ProcessId)"),
                    ("max(Timestamp)", "max(l.Timestamp)")]
        else:
            frm = "%s r WHERE %sEXISTS (SELECT 1 FROM %s l WHERE %s%s)%s" % (
                DNE, "NOT " if kind == "rightanti" else "", DPE, cond, lon, ron)
            keyc = [("DeviceName", "r.DeviceName"), ("RemotePort", "r.RemotePort"), ("RemoteIP", "r.RemoteIP")]
            aggc = [("count()", "count(*)"), ("sum(InitiatingProcessId)", "sum(r.InitiatingProcessId)"),
                    ("min(Timestamp)", "min(r.Timestamp)")]
        keys = rng.sample(keyc, rng.choice([0, 1, 1, 2]))
        if keys:
            ag = [aggc[0]] + rng.sample(aggc[1:], rng.randint(0, min(3, len(aggc) - 1)))
        else:
            ag = [a for a in [aggc[0]] + aggc[1:] if a[0].startswith("count")][:1 + rng.randint(0, 2)]
        an = ["q%d_x%d" % (n, i) for i in range(len(ag))]
        kn = ["q%d_k%d" % (n, i) for i in range(len(keys))]
        kql += " | summarize %s" % ", ".join("%s=%s" % (a, k) for a, (k, _) in zip(an, ag))
        if keys:
            kql += " by " + ", ".join("%s=%s" % (a, k) for a, (k, _) in zip(kn, keys))
        sel = ["%s AS %s" % (s, a) for a, (_, s) in zip(kn, keys)] + \
              ["%s AS %s" % (s, a) for a, (_, s) in zip(an, ag)]
        sql = "SELECT %s FROM %s" % (", ".join(sel), frm)
        if keys:
            sql += " GROUP BY " + ", ".join(s for _, s in keys)
        return kql, sql

    def query(self, n):
        x = self.rng.random()
        if x < 0.4:
            return self.q_filter(n)
        if x < 0.8:
            return self.q_summarize(n)
        return self.q_join(n)


TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?Z$")


def norm(v):
    if isinstance(v, str):
        # datetimes: Vigil (like Kusto) trims trailing zeros of the fraction
        m = TS.match(v)
        if m:
            return "%s.%sZ" % (m.group(1), (m.group(2) or "").ljust(7, "0"))
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        if v == int(v) and abs(v) < 2 ** 62:
            return int(v)
        return round(v, 9)
    return v


def rows_kql(rows, n):
    """the rows of query n in a (batched) answer: its qN_ columns by name"""
    pre = "q%d_" % n
    out = Counter()
    for r in rows:
        if "Q_" in r and r["Q_"] != n:
            continue
        out[tuple(norm(r[k]) for k in sorted(k for k in r if k.startswith(pre)))] += 1
    return out


def rows_sql(db, sql):
    cur = db.execute(sql)
    names = [d[0] for d in cur.description]
    order = sorted(range(len(names)), key=lambda i: names[i])
    return Counter(tuple(norm(row[i]) for i in order) for row in cur.fetchall())


def show(c, limit=8):
    items = sorted(c.items(), key=lambda kv: repr(kv[0]))
    s = "; ".join("%r x%d" % (k, m) if m > 1 else repr(k) for k, m in items[:limit])
    return s + ("; ... (%d distinct rows)" % len(items) if len(items) > limit else "")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BUILD", "build")
    nq = int(os.environ.get("DIFF_QUERIES", "400"))
    seed = int(os.environ.get("DIFF_SEED", "1"))
    batch = max(1, int(os.environ.get("DIFF_BATCH", "40")))
    tmp = tempfile.mkdtemp(prefix="vigil-diff.", dir=os.environ.get("DIFF_TMP") or None)
    env = Env(build, tmp)
    try:
        env.setup()
        rng = random.Random(seed)
        gen = Gen(env, rng)
        queries = []
        for i in range(1, nq + 1):
            kql, sql = gen.query(i)
            queries.append((i, kql, sql))
        mismatches = []
        union_only = []
        for b in range(0, len(queries), batch):
            part = queries[b:b + batch]
            expect = {i: rows_sql(env.db, sql) for i, _, sql in part}
            if len(part) == 1:
                got, err = env.hunt(part[0][1])
            else:
                got, err = env.hunt("union " + ",\n  ".join("(%s | extend Q_=%d)" % (k, i) for i, k, _ in part))
            bad = [q for q in part if err is not None or rows_kql(got, q[0]) != expect[q[0]]]
            for i, kql, sql in bad:
                g, e = env.hunt(kql) if len(part) > 1 else (got, err)
                if e is not None:
                    mismatches.append((kql, sql, expect[i], "ERROR: " + e))
                    continue
                gk = rows_kql(g, i)
                if gk != expect[i]:
                    mismatches.append((kql, sql, expect[i], show(gk)))
                elif err is None:
                    union_only.append((i, kql))
        for kql, sql, exp, got in mismatches[:5]:
            print("MISMATCH\n  KQL: %s\n  SQL: %s\n  sqlite: %s\n  vigil:  %s" % (kql, sql, show(exp), got))
        for i, kql in union_only[:5]:
            print("UNION-ONLY MISMATCH (alone it agrees; in a union batch it does not): " + kql)
        bad = len(mismatches) + len(union_only)
        print("differential: %d queries, %d mismatches (seed %d, rows %s)" % (
            len(queries), bad, seed, ", ".join("%s=%d" % kv for kv in env.nrows.items())))
        return 1 if bad else 0
    finally:
        if os.environ.get("KEEP_TMP") == "1":
            print("  (kept %s)" % tmp)
        else:
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
