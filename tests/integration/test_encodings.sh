#!/usr/bin/env bash
# test_encodings.sh - bodies with Content-Encoding gzip, deflate (zlib) and
# zstd decode to the same rows as plain ones; corrupt or truncated
# compressed bodies are a 400 with nothing stored; unknown encodings a 415.
. "$(dirname "$0")/lib.sh"
D=$T/data
vg_start "$D" || finish
TOK=$(vg_admin "$D")
python3 - "$T/body.ndjson" <<'X'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(5000):
        f.write(json.dumps({"Timestamp": "2025-03-02T00:00:00Z", "DeviceName": "enc-%d" % i,
                            "ReportId": i, "ProcessCommandLine": "cmd.exe /c echo %d" % i}) + "\n")
    f.write("not json\n")
X
gzip -c "$T/body.ndjson" >"$T/body.gz"
zstd -q -c "$T/body.ndjson" >"$T/body.zst"
python3 -c 'import sys,zlib; sys.stdout.buffer.write(zlib.compress(open(sys.argv[1],"rb").read()))' "$T/body.ndjson" >"$T/body.zlib"

r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/body.gz" -H 'Content-Encoding: gzip')
expect_match "gzip" '^200 \{"accepted":5000,"rejected":\[\{"line":5001' "$r"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/body.zst" -H 'Content-Encoding: zstd')
expect_match "zstd" '^200 \{"accepted":5000,"rejected":\[\{"line":5001' "$r"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/body.zlib" -H 'Content-Encoding: deflate')
expect_match "deflate (zlib)" '^200 \{"accepted":5000' "$r"
# two gzip members back to back decode as one body
cat "$T/body.gz" "$T/body.gz" >"$T/two.gz"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/two.gz" -H 'Content-Encoding: gzip')
expect_match "concatenated gzip members" '^200 \{"accepted":10000' "$r"

head -c 2000 "$T/body.gz" >"$T/trunc.gz"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/trunc.gz" -H 'Content-Encoding: gzip')
expect_match "truncated gzip is 400" '^400 .*truncated' "$r"
head -c 2000 "$T/body.zst" >"$T/trunc.zst"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/trunc.zst" -H 'Content-Encoding: zstd')
expect_match "truncated zstd is 400" '^400 ' "$r"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/body.ndjson" -H 'Content-Encoding: gzip')
expect_match "plain body labelled gzip is 400" '^400 .*bad compressed body' "$r"
r=$(ingest "$TOK" "?table=DeviceProcessEvents" "$T/body.ndjson" -H 'Content-Encoding: br')
expect_match "unknown encoding is 415" '^415 ' "$r"

check "clean stop" vg_stop
expect_eq "rows stored (gzip+zstd+deflate+2x gzip)" 25000 "$(count "$D" DeviceProcessEvents)"
finish
