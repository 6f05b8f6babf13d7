#!/usr/bin/env python3
"""crash_writer.py - the client side of test_crash_kill.sh.

Streams batches of DeviceProcessEvents rows to vigild over HTTP from a few
threads while the server is being killed and restarted. Every row carries a
unique ReportId (batch * BATCH + i), never reused, even when a batch fails,
so "present at most once" is checkable for every id and "present exactly
once" for every acknowledged one. A batch is recorded in ACKFILE only after
a 200 whose "accepted" equals the batch size. The port is re-read from
PORTFILE after every failure (each restart listens on a new free port).

usage: crash_writer.py PORTFILE ACKFILE STOPFILE TOKEN [BATCH] [THREADS]
"""
import gzip
import http.client
import json
import os
import sys
import threading
import time

portfile, ackfile, stopfile, token = sys.argv[1:5]
BATCH = int(sys.argv[5]) if len(sys.argv) > 5 else 200
THREADS = int(sys.argv[6]) if len(sys.argv) > 6 else 2

lock = threading.Lock()
state = {"next": 0, "sent": 0, "acked": 0, "failed": 0}
ack = open(ackfile, "a")


def port():
    try:
        with open(portfile) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def body(b):
    lines = []
    for i in range(BATCH):
        rid = b * BATCH + i
        lines.append(json.dumps({"Timestamp": "2025-04-01T00:00:%02dZ" % (rid % 60),
                                 "DeviceName": "crash-%d" % rid, "ReportId": rid,
                                 "ProcessCommandLine": "powershell -enc %d" % rid}))
    return ("\n".join(lines) + "\n").encode()


def worker():
    conn, cport = None, 0
    while not os.path.exists(stopfile):
        with lock:
            b = state["next"]
            state["next"] += 1
        data = body(b)
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/x-ndjson"}
        if b % 3 == 0:
            data = gzip.compress(data, 1)
            headers["Content-Encoding"] = "gzip"
        ok = False
        try:
            p = port()
            if conn is None or p != cport:
                if conn:
                    conn.close()
                conn, cport = http.client.HTTPConnection("127.0.0.1", p, timeout=10), p
            conn.request("POST", "/api/v1/ingest?table=DeviceProcessEvents", data, headers)
            r = conn.getresponse()
            answer = r.read()
            if r.status == 200 and json.loads(answer)["accepted"] == BATCH:
                ok = True
        except (OSError, http.client.HTTPException, ValueError):
            if conn:
                conn.close()
            conn = None
        with lock:
            state["sent"] += 1
            if ok:
                state["acked"] += 1
                ack.write("%d\n" % b)
                ack.flush()
            else:
                state["failed"] += 1
        if not ok:
            time.sleep(0.02)


threads = [threading.Thread(target=worker) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ack.close()
print("writer: batches sent=%d acked=%d failed=%d ids_used=%d" %
      (state["sent"], state["acked"], state["failed"], state["next"] * BATCH))
