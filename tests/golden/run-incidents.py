#!/usr/bin/env python3
"""run-incidents.py BUILD_DIR [CASE ...] - scenario tests of incident correlation.

Every tests/golden/incidents/NAME.case is one scenario: detections, a sequence
of events across domains, and the incidents they must end up in. The runner
starts a real vigild for each case (127.0.0.1, a free port, its own data
directory), feeds the steps in order through the HTTP API, and compares the
incidents of GET /api/v1/security/incidents?$expand=alerts with the
expectation. A case file is `# comment` lines, then sections that each start
with a line `=== KIND`:

  args       extra vigild options, whitespace-separated
             (e.g. --incident-window 2h --incident-max-entities 6)
  rules      one Sigma rule file (YAML); several sections are several files
  detection  one custom detection rule, as the JSON body of
             POST /api/v1/security/rules/detectionRules
  suppression  one suppression rule, as the JSON body of
             POST /api/v1/security/suppressionRules
  step       NDJSON rows (native format: {"Table":..., ...}), ingested as one
             request; then every custom detection is run once
             (POST .../detectionRules/{id}/run), in the order they were
             defined. Several steps run in order.
  patch      `ALERT TITLE => {json}` lines: PATCH the incident that holds the
             alert with that title (e.g. assign it, classify it, resolve it)
  expect     the incidents, every one of them (redirected ones too):
               incident status=active severity=high alerts=3 name="..." tags=Redirected
                 - Alert title
                 - Another alert title
             `incident` starts one, with attributes that must hold (status,
             severity, alerts = the alert count, name = displayName,
             tags = systemTags joined with ',', redirected = yes|no,
             classification, assignedTo); the `- TITLE` lines under it are its
             alerts (a multiset; when given, exactly these). Every expected
             incident must match a distinct actual one, and there must be no
             other incident.

Event times: `{{T-90m}}`, `{{T-2h}}`, `{{T-30h}}`, `{{T}}` in any section are
replaced by ISO-8601 times relative to when the case starts (suffixes s, m,
h, d), so windows and lookbacks can be exercised.

Prints each failure, then "incident scenarios: N passed, M failed"; exits 1 on
any failure. Python 3 standard library only.
"""
import concurrent.futures
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "incidents")
KINDS = {"args", "rules", "detection", "suppression", "step", "patch", "expect"}
START_TIMEOUT = 60


class CaseError(Exception):
    pass


def parse_case(path):
    sections, cur = [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f.read().split("\n"), 1):
            if line.startswith("=== "):
                kind = line[4:].strip()
                if kind not in KINDS:
                    raise CaseError("%s:%d: unknown section '%s'" % (path, n, kind))
                cur = [kind, [], n]
                sections.append(cur)
            elif cur is None:
                if line.strip() and not line.startswith("#"):
                    raise CaseError("%s:%d: text before the first section" % (path, n))
            else:
                cur[1].append(line)
    out = [(k, "\n".join(v).strip("\n") + "\n", n) for k, v, n in sections]
    kinds = [k for k, _, _ in out]
    if kinds.count("expect") != 1:
        raise CaseError("%s: exactly one expect section is needed" % path)
    if "step" not in kinds:
        raise CaseError("%s: no step section" % path)
    return out


def parse_expect(path, text, line0):
    incs = []
    for i, line in enumerate(text.split("\n"), line0 + 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("incident"):
            attrs = {}
            for tok in shlex.split(s[len("incident"):]):
                if "=" not in tok:
                    raise CaseError("%s:%d: expected key=value, got %r" % (path, i, tok))
                k, v = tok.split("=", 1)
                if k not in ("status", "severity", "alerts", "name", "tags", "redirected",
                             "classification", "assignedTo"):
                    raise CaseError("%s:%d: unknown attribute %r" % (path, i, k))
                attrs[k] = v
            incs.append({"attrs": attrs, "titles": None, "line": i})
        elif s.startswith("- "):
            if not incs:
                raise CaseError("%s:%d: alert title before any incident" % (path, i))
            if incs[-1]["titles"] is None:
                incs[-1]["titles"] = []
            incs[-1]["titles"].append(s[2:].strip())
        else:
            raise CaseError("%s:%d: not understood: %r" % (path, i, s))
    return incs


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def expand_times(text, t0):
    def sub(m):
        off = 0
        if m.group(1):
            off = -int(m.group(2)) * UNITS[m.group(3)]
        t = t0 + datetime.timedelta(seconds=off)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    return re.sub(r"\{\{T(?:(-)(\d+)([smhd]))?\}\}", sub, text)


class Server:
    def __init__(self, build, tmp, args):
        self.data = os.path.join(tmp, "data")
        self.log = open(os.path.join(tmp, "vigild.log"), "w+")
        cmd = [os.path.join(build, "vigild"), "--data", self.data, "--listen", "127.0.0.1:0",
               "--detect-cache", os.path.join(tmp, "cache"), "--detections-tick", "3600s",
               "--rate-limit", "0"] + args
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + START_TIMEOUT
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise CaseError("vigild exited: " + self.text())
            m = re.search(r"msg=listening .*port=(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)
        if self.port is None:
            raise CaseError("vigild did not start: " + self.text())
        with open(os.path.join(self.data, "admin.token")) as f:
            self.token = f.read().strip()

    def text(self):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()[-3000:]

    def call(self, method, path, body=None, ctype="application/json"):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def incidents(srv):
    q = urllib.parse.urlencode({"$expand": "alerts", "$top": "1000"})
    st, body = srv.call("GET", "/api/v1/security/incidents?" + q)
    if st != 200:
        raise CaseError("GET incidents: %s %s" % (st, body))
    return body.get("value", [])


def matches(exp, inc):
    a = exp["attrs"]
    why = []
    if "status" in a and inc.get("status") != a["status"]:
        why.append("status %s" % inc.get("status"))
    if "severity" in a and inc.get("severity") != a["severity"]:
        why.append("severity %s" % inc.get("severity"))
    alerts = inc.get("alerts") or []
    if "alerts" in a and len(alerts) != int(a["alerts"]):
        why.append("%d alerts" % len(alerts))
    if "name" in a and inc.get("displayName") != a["name"]:
        why.append("name %r" % inc.get("displayName"))
    if "tags" in a and ",".join(inc.get("systemTags") or []) != a["tags"]:
        why.append("tags %s" % inc.get("systemTags"))
    if "redirected" in a and (a["redirected"] == "yes") != bool(inc.get("redirectIncidentId")):
        why.append("redirectIncidentId %s" % inc.get("redirectIncidentId"))
    if "classification" in a and inc.get("classification") != a["classification"]:
        why.append("classification %s" % inc.get("classification"))
    if "assignedTo" in a and (inc.get("assignedTo") or "") != a["assignedTo"]:
        why.append("assignedTo %s" % inc.get("assignedTo"))
    if exp["titles"] is not None:
        got = sorted(x.get("title", "") for x in alerts)
        if got != sorted(exp["titles"]):
            why.append("alerts %s" % got)
    return why


def describe(inc):
    return "#%s %s %s %r alerts=%s tags=%s" % (
        inc.get("id"), inc.get("status"), inc.get("severity"), inc.get("displayName"),
        sorted(a.get("title") for a in inc.get("alerts") or []), inc.get("systemTags"))


def run_case(build, path):
    name = os.path.basename(path)[:-5]
    sections = parse_case(path)
    t0 = datetime.datetime.now(datetime.timezone.utc)
    tmp = tempfile.mkdtemp(prefix="vigil-inc-")
    srv = None
    try:
        rules = os.path.join(tmp, "rules")
        os.makedirs(rules)
        args, expect = [], None
        for i, (k, text, line) in enumerate(sections):
            text = expand_times(text, t0)
            if k == "args":
                args += text.split()
            elif k == "rules":
                with open(os.path.join(rules, "%02d.yml" % i), "w") as f:
                    f.write(text)
            elif k == "expect":
                expect = parse_expect(path, text, line)
        srv = Server(build, tmp, ["--detect-rules", rules] + args)
        detections = []
        for k, text, line in sections:
            text = expand_times(text, t0)
            if k == "detection":
                st, body = srv.call("POST", "/api/v1/security/rules/detectionRules", text)
                if st != 201:
                    raise CaseError("line %d: creating the detection: %s %s" % (line, st, body))
                detections.append(body["id"])
            elif k == "suppression":
                st, body = srv.call("POST", "/api/v1/security/suppressionRules", text)
                if st != 201:
                    raise CaseError("line %d: creating the suppression rule: %s %s" % (line, st, body))
            elif k == "step":
                st, body = srv.call("POST", "/api/v1/ingest?format=ndjson", text,
                                    "application/x-ndjson")
                if st != 200 or body.get("rejected_total"):
                    raise CaseError("line %d: ingest: %s %s" % (line, st, body))
                for d in detections:
                    st, body = srv.call("POST", "/api/v1/security/rules/detectionRules/%s/run" % d)
                    if st not in (200, 201):
                        raise CaseError("line %d: running detection %s: %s %s" % (line, d, st, body))
            elif k == "patch":
                for pl in text.split("\n"):
                    if not pl.strip() or pl.strip().startswith("#"):
                        continue
                    if "=>" not in pl:
                        raise CaseError("line %d: patch lines are 'TITLE => {json}'" % line)
                    title, js = [x.strip() for x in pl.split("=>", 1)]
                    target = [inc for inc in incidents(srv)
                              if any(a.get("title") == title for a in inc.get("alerts") or [])]
                    if len(target) != 1:
                        raise CaseError("line %d: %d incidents hold alert %r" % (line, len(target), title))
                    st, body = srv.call("PATCH", "/api/v1/security/incidents/%s" % target[0]["id"], js)
                    if st != 200:
                        raise CaseError("line %d: PATCH: %s %s" % (line, st, body))
        got = incidents(srv)
        free = list(got)
        errors = []
        for exp in expect:
            best = None
            for inc in free:
                if not matches(exp, inc):
                    best = inc
                    break
            if best is None:
                near = min(free, key=lambda inc: len(matches(exp, inc))) if free else None
                errors.append("line %d: no incident like %s%s" % (
                    exp["line"], exp["attrs"],
                    "; nearest %s: %s" % (describe(near), ", ".join(matches(exp, near))) if near else ""))
            else:
                free.remove(best)
        for inc in free:
            errors.append("unexpected incident %s" % describe(inc))
        if errors:
            raise CaseError("\n    ".join(errors) + "\n    all: " +
                            "\n         ".join(describe(i) for i in got))
        return name, None
    except CaseError as e:
        return name, str(e)
    except Exception as e:  # a harness failure is a test failure too
        return name, "%s: %s" % (type(e).__name__, e)
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__.split("\n")[0])
        return 2
    build = os.path.abspath(sys.argv[1])
    paths = sys.argv[2:] or sorted(os.path.join(CASES, f) for f in os.listdir(CASES)
                                   if f.endswith(".case"))
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        for name, err in ex.map(lambda p: run_case(build, p), paths):
            if err:
                failed += 1
                print("FAIL %s:\n    %s" % (name, err))
            else:
                passed += 1
    print("incident scenarios: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
