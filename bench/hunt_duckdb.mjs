// hunt_duckdb.mjs - the DuckDB side of bench/hunt.sh (the hunting benchmark).
//
//   node hunt_duckdb.mjs load FILE.ndjson.zst DB
//       loads the generated NDJSON (zstd-compressed, both tables mixed, told
//       apart by the "Table" member) into two tables, p (DeviceProcessEvents)
//       and n (DeviceNetworkEvents), keeping only the columns the queries use;
//       Timestamp is a native TIMESTAMP (microseconds: the 7th fractional digit
//       of the 100 ns ticks is dropped, which no query bound depends on).
//       Prints {"p":ROWS,"n":ROWS,"seconds":S,"threads":T}.
//   node hunt_duckdb.mjs export DB DIR
//       writes DIR/p.csv and DIR/n.csv (Timestamp as 100 ns ticks), for
//       hunt_sqlite.py load-csv.
//   node hunt_duckdb.mjs query DB RUNS Q1.duckdb.sql [Q2...]
//       runs each query 1 + RUNS times on one warm connection; the time is
//       taken around runAndReadAll (planning, execution and reading the whole
//       result into JS values, nothing else). Prints one JSON line a query:
//       {"query":NAME,"ms":[...RUNS timed runs],"columns":[...],"rows":[[...]]}.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';

const [mode, ...args] = process.argv.slice(2);

function plain(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v); // timestamps and the like: their text form
}

if (mode === 'load') {
  const [file, db] = args;
  rmSync(db, { force: true });
  rmSync(db + '.wal', { force: true });
  const t0 = process.hrtime.bigint();
  const inst = await DuckDBInstance.create(db);
  const con = await inst.connect();
  const q = file.replace(/'/g, "''");
  // one pass over the file into a staging table, then one table per Defender table
  await con.run(`CREATE TABLE raw AS SELECT * FROM read_ndjson('${q}', compression='zstd',
      maximum_object_size=16777216, format='newline_delimited',
      columns={"Table":'VARCHAR', Timestamp:'VARCHAR', DeviceId:'VARCHAR', DeviceName:'VARCHAR',
               FileName:'VARCHAR', ProcessCommandLine:'VARCHAR', SHA256:'VARCHAR',
               AccountName:'VARCHAR', ProcessId:'BIGINT', InitiatingProcessId:'BIGINT'})`);
  await con.run(`CREATE TABLE p AS SELECT CAST(Timestamp AS TIMESTAMP) AS Timestamp, DeviceId, DeviceName,
      FileName, ProcessCommandLine, SHA256, AccountName, ProcessId, InitiatingProcessId
      FROM raw WHERE "Table" = 'DeviceProcessEvents'`);
  await con.run(`CREATE TABLE n AS SELECT CAST(Timestamp AS TIMESTAMP) AS Timestamp, DeviceId, DeviceName,
      InitiatingProcessId FROM raw WHERE "Table" = 'DeviceNetworkEvents'`);
  await con.run('DROP TABLE raw');
  await con.run('CHECKPOINT');
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = await con.runAndReadAll(
    "SELECT (SELECT count(*) FROM p) AS p, (SELECT count(*) FROM n) AS n, current_setting('threads') AS th");
  const row = r.getRowObjects()[0];
  console.log(JSON.stringify({ p: Number(row.p), n: Number(row.n), seconds: sec, threads: Number(row.th) }));
} else if (mode === 'export') {
  // CSV of the loaded tables for the SQLite loader's faster path (hunt.sh,
  // BENCH_HUNT_SQLITE_LOAD=csv): Timestamp as 100 ns ticks (7th digit 0)
  const [db, dir] = args;
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const con = await inst.connect();
  const d = dir.replace(/'/g, "''");
  const t0 = process.hrtime.bigint();
  await con.run(`COPY (SELECT epoch_us(Timestamp) * 10 AS Timestamp, DeviceId, DeviceName, FileName,
      ProcessCommandLine, SHA256, AccountName, ProcessId, InitiatingProcessId FROM p)
      TO '${d}/p.csv' (HEADER false)`);
  await con.run(`COPY (SELECT epoch_us(Timestamp) * 10 AS Timestamp, DeviceId, DeviceName, InitiatingProcessId FROM n)
      TO '${d}/n.csv' (HEADER false)`);
  console.log(JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9 }));
} else if (mode === 'query') {
  const [db, runsArg, ...files] = args;
  const runs = Math.max(1, Number(runsArg) || 3);
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const con = await inst.connect();
  for (const f of files) {
    const sql = readFileSync(f, 'utf8');
    const ms = [];
    let reader;
    for (let i = 0; i <= runs; i++) {
      const t0 = process.hrtime.bigint();
      reader = await con.runAndReadAll(sql);
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i > 0) ms.push(dt); // run 0 is the warm-up
    }
    const columns = reader.columnNames();
    const rows = reader.getRows().map((r) => r.map(plain));
    console.log(JSON.stringify({ query: basename(f).replace(/\.duckdb\.sql$/, ''), ms, columns, rows }));
  }
} else {
  console.error('usage: node hunt_duckdb.mjs load FILE.zst DB | query DB RUNS QUERY.duckdb.sql...');
  process.exit(2);
}
