#!/usr/bin/env python3
"""incidents_e2e.py BUILD_DIR - ingestion-to-incident latency through a real vigild.

Starts vigild (127.0.0.1, a free port, a scratch data directory, one Sigma
rule), opens BENCH_INC_E2E_OPEN incidents by ingesting as many events on
distinct devices (requests of 5,000 rows), then sends BENCH_INC_E2E_N
requests of one event each on one of those devices, timing each POST: vigild
answers once the event is in the fsync'ed WAL, its alert raised and the
alert correlated into its incident, so the answer time is the time from
ingestion to the incident being updated. Checks afterwards that the
incidents really grew (alert counts through the API), so the figure cannot
come from requests that did nothing. Prints "name value unit" lines and one
"bench-incidents-e2e-json: {...}" line. Python 3 standard library only.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

RULE = r"""title: Bench whoami
level: medium
tags: [attack.discovery]
logsource: {category: process_creation, product: windows}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
"""


def row(i, ts):
    return json.dumps({"Table": "DeviceProcessEvents", "Timestamp": ts, "ReportId": i,
                       "DeviceId": "bench-%06d" % (i % OPEN), "DeviceName": "host%06d" % (i % OPEN),
                       "AccountDomain": "corp", "AccountName": "user%06d" % (i % OPEN),
                       "FolderPath": "C:\\Windows\\System32\\whoami.exe",
                       "ProcessCommandLine": "whoami /all %d" % i})


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    global OPEN
    OPEN = int(os.environ.get("BENCH_INC_E2E_OPEN", "100000"))
    n = int(os.environ.get("BENCH_INC_E2E_N", "1000"))
    tmp = tempfile.mkdtemp(prefix="vigil-bench-inc-", dir=os.environ.get("TMPDIR"))
    os.makedirs(os.path.join(tmp, "rules"))
    with open(os.path.join(tmp, "rules", "r.yml"), "w") as f:
        f.write(RULE)
    log = open(os.path.join(tmp, "vigild.log"), "w+")
    # suppress-window 0: every event is an alert (the bench sends one per device and time)
    proc = subprocess.Popen([os.path.join(build, "vigild"), "--data", os.path.join(tmp, "data"),
                             "--listen", "127.0.0.1:0", "--detect-rules", os.path.join(tmp, "rules"),
                             "--detect-suppress-window", "0", "--rate-limit", "0",
                             "--detect-cache", os.path.join(tmp, "cache")],
                            stdout=log, stderr=log)
    try:
        port = None
        for _ in range(600):
            log.flush()
            m = re.search(r"msg=listening .*port=(\d+)", open(log.name).read())
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        if not port:
            print("bench-incidents-e2e: vigild did not start:\n" + open(log.name).read()[-2000:])
            return 1
        token = open(os.path.join(tmp, "data", "admin.token")).read().strip()
        url = "http://127.0.0.1:%d" % port

        def call(method, path, body=None):
            req = urllib.request.Request(url + path, data=body, method=method)
            req.add_header("Authorization", "Bearer " + token)
            with urllib.request.urlopen(req, timeout=600) as r:
                return json.loads(r.read())

        now = time.time()
        ts = lambda off: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - off)) + ".000Z"
        t0 = time.time()
        chunk = 5000
        for start in range(0, OPEN, chunk):
            body = "\n".join(row(i, ts(7200)) for i in range(start, min(OPEN, start + chunk)))
            call("POST", "/api/v1/ingest?format=ndjson", body.encode())
        open_s = time.time() - t0
        first = call("GET", "/api/v1/security/incidents?$top=1&$count=true")
        opened = first.get("@odata.count", -1)
        lat = []
        rnd = random.Random(7)
        picked = []
        for k in range(n):
            i = rnd.randrange(OPEN)
            picked.append(i)
            body = row(OPEN * (k + 1) + i, ts(3600 - k)).encode()
            t = time.perf_counter()
            r = call("POST", "/api/v1/ingest?format=ndjson", body)
            lat.append((time.perf_counter() - t) * 1000)
            if r.get("accepted") != 1:
                print("bench-incidents-e2e: ingest refused: %s" % r)
                return 1
        # proof: every picked device's incident grew (an alert joined it)
        res = call("GET", "/api/v1/security/incidents?$filter=" +
                   urllib.request.quote("alertCount ge 2") + "&$top=1&$count=true")
        grown = res.get("@odata.count", 0)
        want = len(set(picked))
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        out = {"open_incidents": opened, "open_seconds": round(open_s, 1),
               "open_alerts_per_s": round(OPEN / open_s),
               "requests": n, "p50_ms": round(p(0.50), 2), "p99_ms": round(p(0.99), 2),
               "max_ms": round(lat[-1], 2), "incidents_with_2plus_alerts": grown}
        print("open_incidents %d incidents" % opened)
        print("open_rate %d alerts/s (ingest+detect+correlate, 5,000-row requests)" % out["open_alerts_per_s"])
        print("ingest_to_incident_p50 %.2f ms" % out["p50_ms"])
        print("ingest_to_incident_p99 %.2f ms" % out["p99_ms"])
        print("ingest_to_incident_max %.2f ms" % out["max_ms"])
        print("incidents_grown %d (incidents with 2+ alerts after the run)" % grown)
        print("bench-incidents-e2e-json: " + json.dumps(out))
        if opened < OPEN or grown < want:
            print("bench-incidents-e2e: FAIL: expected %d open incidents and %d grown ones" % (OPEN, want))
            return 1
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
