// duckdb_load.mjs - the DuckDB side of bench/run.sh: loads an NDJSON file into
// a fresh database file with DuckDB's own reader and prints one JSON line
// {"rows":N,"seconds":S,"threads":T}. Usage: node duckdb_load.mjs FILE DB [THREADS]
import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';

const [file, db, threads] = process.argv.slice(2);
if (!file || !db) {
  console.error('usage: node duckdb_load.mjs FILE DB [THREADS]');
  process.exit(2);
}
rmSync(db, { force: true });
rmSync(db + '.wal', { force: true });
const opts = threads ? { threads: String(threads) } : {};
const t0 = process.hrtime.bigint();
const inst = await DuckDBInstance.create(db, opts);
const con = await inst.connect();
const q = file.replace(/'/g, "''");
await con.run(`CREATE TABLE t AS SELECT * FROM read_ndjson('${q}', maximum_object_size=16777216)`);
await con.run('CHECKPOINT');
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
const r = await con.runAndReadAll('SELECT count(*) AS n, current_setting(\'threads\') AS th FROM t');
const row = r.getRowObjects()[0];
con.closeSync?.();
console.log(JSON.stringify({ rows: Number(row.n), seconds: sec, threads: Number(row.th) }));
