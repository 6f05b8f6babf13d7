#!/usr/bin/env python3
"""run-detect.py BUILD_DIR [CASE ...] - golden tests of Sigma detection semantics.

Every tests/golden/detect/NAME.case is one case: Sigma rules, events, and the
alerts they must raise. A case file is a header, then sections that each start
with a line `=== KIND`:

  header      `# comment` lines, and optionally `known_failure: "reason"` (an
              engine bug: the case must still fail, and is reported as XFAIL;
              a known failure that passes is a failure, so the mark is removed
              once the engine is fixed).
  rules       one Sigma rule file (YAML; `---` separates documents). Several
              `=== rules` sections are several files (--rules each).
  placeholders  a placeholder YAML file (--placeholders)
  exclusions  an exclusions file (--exclusions), 'RULE FIELD=VALUE' lines
  args        extra command line arguments, whitespace-separated
              (e.g. --suppress-window 10m)
  ndjson      native NDJSON rows (--input-format ndjson), one per line
  evtx-json   evtx-JSON documents (--input-format evtx-json), one per line
  expect      one line per rule that must alert: `TITLE: TOKEN TOKEN ...`, the
              alerts of the rule with that title in output order. A rule that
              is not listed must raise no alert; `TITLE:` with no tokens says
              so explicitly. Tokens compare as a multiset (alerts come out
              batch by batch, and a batch holds one table's rows, so the
              output order across tables is not the event order); a token
              that repeats is an alert raised that many times. An alert's token is its event id: the evidence's
              ReportId (native rows: the ReportId member; evtx-json: the
              EventRecordID). A correlation alert's token is
              `GROUPVALUE,...=EVENTS` (`=EVENTS` without group-by).
  stderr      lines that must each occur in stderr (rule load failures)

Input files are given in section order (ndjson then evtx-json as written).
Each case runs twice, with Hyperscan (default) and with --portable (PCRE2);
both runs must give the expected alerts. `vigil detect` runs with
`--cache-dir none --format json`; its stderr must be empty (every rule loaded)
unless the case has a stderr section.
Prints each failure, then "detect golden: N passed, M failed, K xfail";
exits 1 on any failure. Python 3 standard library only.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "detect")
TIMEOUT = 30
KINDS = {"rules", "placeholders", "exclusions", "args", "ndjson", "evtx-json", "expect", "stderr"}


class CaseError(Exception):
    pass


def parse_case(path):
    header, sections, cur = [], [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f.read().split("\n"), 1):
            if line.startswith("=== "):
                kind = line[4:].strip()
                if kind not in KINDS:
                    raise CaseError("%s:%d: unknown section '%s'" % (path, n, kind))
                cur = [kind, []]
                sections.append(cur)
            elif cur is None:
                header.append(line)
            else:
                cur[1].append(line)
    case = {"known_failure": None, "sections": [(k, "\n".join(v).rstrip("\n") + "\n") for k, v in sections]}
    for line in header:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("known_failure:"):
            case["known_failure"] = s.split(":", 1)[1].strip().strip('"') or "known failure"
        else:
            raise CaseError("%s: header line not understood: %r" % (path, line))
    sections = case["sections"]
    kinds = [k for k, _ in sections]
    if "rules" not in kinds:
        raise CaseError("%s: no rules section" % path)
    if "expect" not in kinds:
        raise CaseError("%s: no expect section" % path)
    if "ndjson" not in kinds and "evtx-json" not in kinds:
        raise CaseError("%s: no events (ndjson or evtx-json section)" % path)
    expect = {}
    for k, text in sections:
        if k != "expect":
            continue
        for line in text.split("\n"):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if ":" not in line:
                raise CaseError("%s: expect line without 'TITLE:': %r" % (path, line))
            title, toks = line.split(":", 1)
            expect[title.strip()] = toks.split()
    case["expect"] = expect
    return case


def token(alert):
    if alert.get("DetectionSource") == "Sigma correlation":
        grp = alert.get("Group") or {}
        return "%s=%s" % (",".join(str(v) for v in grp.values()), alert.get("Events"))
    ev = alert.get("Evidence") or {}
    if "ReportId" in ev:
        return str(ev["ReportId"])
    raw = ev.get("_Raw") or {}
    if "EventRecordID" in raw:
        return str(raw["EventRecordID"])
    return "?"


def tok_key(t):
    return (0, int(t), "") if t.isdigit() else (1, 0, t)


def run_once(vigil, case, tmp, portable):
    args = [vigil, "detect", "--cache-dir", "none", "--format", "json"]
    if portable:
        args.append("--portable")
    want_stderr = [l.strip() for k, t in case["sections"] if k == "stderr" for l in t.split("\n") if l.strip()]
    files = []
    for i, (k, text) in enumerate(case["sections"]):
        if k in ("expect", "stderr"):
            continue
        if k == "args":
            args += text.split()
            continue
        ext = {"rules": "yml", "placeholders": "yml", "exclusions": "txt", "ndjson": "ndjson",
               "evtx-json": "json"}[k]
        p = os.path.join(tmp, "%02d-%s.%s" % (i, k, ext))
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        if k == "rules":
            args += ["--rules", p]
        elif k == "placeholders":
            args += ["--placeholders", p]
        elif k == "exclusions":
            args += ["--exclusions", p]
        else:
            files.append((k, p))
    # --input-format applies to every file: name it when the case has one
    # kind of input, else let auto detection pick per file
    kinds = {k for k, _ in files}
    if len(kinds) == 1:
        args += ["--input-format", kinds.pop()]
    args += [p for _, p in files]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    problems = []
    if r.returncode != 0:
        problems.append("exit status %d: %s" % (r.returncode, err.strip()))
    got = {}
    for line in out.split("\n"):
        if not line.strip():
            continue
        try:
            a = json.loads(line)
        except ValueError:
            problems.append("output line is not JSON: %r" % line[:200])
            continue
        got.setdefault(a.get("Title", "?"), []).append(token(a))
    for t in sorted(set(got) | set(case["expect"])):
        e, g = case["expect"].get(t, []), got.get(t, [])
        if sorted(e, key=tok_key) != sorted(g, key=tok_key):
            problems.append("rule %r: expected [%s], got [%s]" % (t, " ".join(e), " ".join(g)))
    if not want_stderr and err.strip():
        problems.append("unexpected stderr (a rule that failed to load?): %s" % err.strip()[:500])
    for w in want_stderr:
        if w not in err:
            problems.append("stderr lacks %r (stderr: %s)" % (w, err.strip()[:500]))
    return problems, " ".join(args)


def run_case(vigil, path):
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        case = parse_case(path)
    except (CaseError, OSError, UnicodeDecodeError) as e:
        return name, None, ["bad case file: %s" % e]
    problems = []
    with tempfile.TemporaryDirectory(prefix="vg-detect-") as tmp:
        for portable in (False, True):
            try:
                p, cmd = run_once(vigil, case, tmp, portable)
            except subprocess.TimeoutExpired:
                p, cmd = ["timed out after %ds" % TIMEOUT], "(timeout)"
            if p:
                problems.append("%s:\n      %s\n      $ %s" % ("--portable (PCRE2)" if portable else "Hyperscan",
                                                        "\n      ".join(p), cmd))
    return name, case, problems


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: run-detect.py BUILD_DIR [CASE ...]\n")
        return 2
    vigil = os.path.join(sys.argv[1], "vigil")
    if not os.access(vigil, os.X_OK):
        sys.stderr.write("run-detect.py: %s: not built\n" % vigil)
        return 2
    if len(sys.argv) > 2:
        paths = [a if os.path.exists(a) else os.path.join(CASES, a + ".case") for a in sys.argv[2:]]
    else:
        paths = sorted(os.path.join(CASES, f) for f in os.listdir(CASES) if f.endswith(".case"))
    passed = failed = xfail = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as ex:
        results = list(ex.map(lambda p: run_case(vigil, p), paths))
    for name, case, problems in results:
        kf = case and case["known_failure"]
        if kf and problems:
            xfail += 1
            print("XFAIL %s: %s" % (name, kf))
        elif kf:
            failed += 1
            print("FAIL %s: marked known_failure (%s) but passes; remove the mark" % (name, kf))
        elif problems:
            failed += 1
            print("FAIL %s\n  %s" % (name, "\n  ".join(problems)))
    print("detect golden: %d passed, %d failed, %d xfail" % (len(results) - failed - xfail, failed, xfail))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
