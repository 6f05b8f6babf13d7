#!/usr/bin/env python3
"""run-hunt.py BUILD_DIR [CASE ...] - golden tests of KQL query RESULTS.

Every tests/golden/hunt/NAME.kql is run by `BUILD_DIR/vigil hunt --data TMP
--format json --schema -f NAME.kql` over a data directory loaded once per run
from hunt/data/TABLE.ndjson (`vigil ingest --data TMP --table TABLE FILE`).
  NAME.out  expected result: line 1 the schema, a JSON array of [name, type];
            then one JSON object per row (keys in column order). Rows are
            compared as a multiset unless the query's first line is
            `// ordered`. Reals compare within 1e-9 relative.
  NAME.err  the query must fail (non-zero exit) and its stderr must contain
            this file's text; a file of several lines requires each line
            (stripped), e.g. the position and the name apart from the wording.
Prints each failure with the expected and actual rows, then
"hunt golden: N passed, M failed"; exits 1 on any failure.
Python 3 standard library only.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "hunt")
DATA = os.path.join(CASES, "data")
TIMEOUT = 60


def same(a, b, top=False):
    """JSON equality: bools are not numbers, numbers compare numerically
    (reals within 1e-9 relative). A row (top) must have its keys in the
    schema's order; a property bag inside a dynamic value is unordered."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        if a == b:
            return True
        if a != a and b != b:
            return True  # NaN
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        if top and list(a.keys()) != list(b.keys()):
            return False
        return set(a.keys()) == set(b.keys()) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def parse_lines(text, what):
    """Schema then rows; returns (schema, rows) or raises ValueError."""
    lines = [l for l in text.split("\n") if l.strip() != ""]
    if not lines:
        raise ValueError("%s: empty (no schema line)" % what)
    out = []
    for i, l in enumerate(lines, 1):
        try:
            out.append(json.loads(l, object_pairs_hook=dict))
        except ValueError as e:
            raise ValueError("%s line %d: not JSON (%s): %s" % (what, i, e, l[:200]))
    schema, rows = out[0], out[1:]
    if not isinstance(schema, list) or not all(
            isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c) for c in schema):
        raise ValueError("%s line 1: the schema is not a JSON array of [name, type]: %s" % (what, lines[0][:200]))
    for i, r in enumerate(rows, 2):
        if not isinstance(r, dict):
            raise ValueError("%s line %d: a row is not a JSON object" % (what, i))
    return schema, rows


def show(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def compare(exp, got, ordered):
    """Returns a list of difference lines (empty: equal)."""
    (es, er), (gs, gr) = exp, got
    diff = []
    if es != gs:
        diff.append("  schema expected: " + show(es))
        diff.append("  schema got:      " + show(gs))
    names = [c[0] for c in es]
    for i, r in enumerate(er):
        if list(r.keys()) != names:
            diff.append("  (expected row %d keys %s differ from the schema's %s: fix the case)" % (i + 1, list(r.keys()), names))
            break
    if ordered:
        for i in range(max(len(er), len(gr))):
            e = er[i] if i < len(er) else None
            g = gr[i] if i < len(gr) else None
            if e is None or g is None or not same(e, g, True):
                diff.append("  row %d expected: %s" % (i + 1, "(none)" if e is None else show(e)))
                diff.append("  row %d got:      %s" % (i + 1, "(none)" if g is None else show(g)))
        if len(er) != len(gr):
            diff.append("  %d rows expected, %d got" % (len(er), len(gr)))
        return diff
    left = list(gr)
    missing = []
    for e in er:
        for j, g in enumerate(left):
            if same(e, g, True):
                del left[j]
                break
        else:
            missing.append(e)
    for e in missing:
        diff.append("  missing:    " + show(e))
    for g in left:
        diff.append("  unexpected: " + show(g))
    if missing or left:
        diff.append("  %d rows expected, %d got (compared as a multiset)" % (len(er), len(gr)))
    return diff


def ingest(vigil, datadir):
    if not os.path.isdir(DATA):
        return None
    for f in sorted(os.listdir(DATA)):
        if not f.endswith(".ndjson"):
            continue
        table = f[:-len(".ndjson")]
        p = subprocess.run([vigil, "ingest", "--data", datadir, "--table", table, "--no-fsync",
                            "--progress=false", os.path.join(DATA, f)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        if p.returncode != 0:
            return "ingest of data/%s failed (exit %d): %s" % (
                f, p.returncode, (p.stderr or p.stdout).decode("utf-8", "replace").strip()[:2000])
    return None


def run_case(vigil, datadir, name):
    """Returns None when the case passes, else the failure text."""
    kql = os.path.join(CASES, name + ".kql")
    out_f = os.path.join(CASES, name + ".out")
    err_f = os.path.join(CASES, name + ".err")
    has_out, has_err = os.path.exists(out_f), os.path.exists(err_f)
    if has_out == has_err:
        return "  needs exactly one of %s.out and %s.err" % (name, name)
    with open(kql, encoding="utf-8") as fh:
        first = fh.readline().strip()
    ordered = first.replace(" ", "") == "//ordered"
    try:
        p = subprocess.run([vigil, "hunt", "--data", datadir, "--format", "json", "--schema"] +
                           os.environ.get("HUNT_ARGS", "").split() + ["-f", kql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "  timed out after %ds" % TIMEOUT
    stdout = p.stdout.decode("utf-8", "replace")
    stderr = p.stderr.decode("utf-8", "replace").strip()
    if has_err:
        with open(err_f, encoding="utf-8") as fh:
            wants = [l.strip() for l in fh.read().split("\n") if l.strip()]
        if p.returncode == 0:
            return "  expected an error containing %s; the query succeeded with:\n%s" % (
                " and ".join(repr(w) for w in wants), "\n".join("    " + l for l in stdout.strip().split("\n")[:10]))
        if p.returncode < 0:
            return "  crashed (signal %d); stderr: %s" % (-p.returncode, stderr[:1000])
        missing = [w for w in wants if w not in stderr]
        if missing or not wants:
            return "  error expected to contain: %s\n  error got:                 %s" % (
                " and ".join(repr(w) for w in missing) or "(empty .err file)", stderr[:1000])
        return None
    if p.returncode != 0:
        return "  failed (exit %d): %s" % (p.returncode, stderr[:1000])
    with open(out_f, encoding="utf-8") as fh:
        try:
            exp = parse_lines(fh.read(), name + ".out")
        except ValueError as e:
            return "  bad expectation file: %s" % e
    try:
        got = parse_lines(stdout, "output")
    except ValueError as e:
        return "  %s\n  stdout: %s" % (e, stdout[:1000])
    d = compare(exp, got, ordered)
    return "\n".join(d) if d else None


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: run-hunt.py BUILD_DIR [CASE ...]\n")
        return 2
    build = argv[1]
    vigil = os.path.join(os.path.abspath(build), "vigil")
    names = [os.path.splitext(os.path.basename(a))[0] for a in argv[2:]]
    if not names:
        names = sorted(f[:-4] for f in os.listdir(CASES) if f.endswith(".kql"))
    if not os.access(vigil, os.X_OK):
        print("hunt golden: %s is missing (build it first)" % vigil)
        print("hunt golden: 0 passed, %d failed" % len(names))
        return 1
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="vigil-hunt-") as tmp:
        datadir = os.path.join(tmp, "data")
        err = ingest(vigil, datadir)
        if err:
            print("FAIL hunt: " + err)
            print("hunt golden: 0 passed, %d failed" % len(names))
            return 1
        for n in names:
            if not os.path.exists(os.path.join(CASES, n + ".kql")):
                print("FAIL hunt/%s\n  no such case" % n)
                failed += 1
                continue
            r = run_case(vigil, datadir, n)
            if r is None:
                passed += 1
            else:
                failed += 1
                print("FAIL hunt/%s\n%s" % (n, r))
    print("hunt golden: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
