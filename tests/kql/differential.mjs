// differential.mjs - a syntax differential between vg-kql-parse and
// Microsoft's parser on generated queries (valid ones, and ones with a token
// dropped, inserted or cut). Prints each disagreement and a summary; not part
// of `make check`, since a few exotic corners are known to differ (see the
// comment at the top of src/kql/vg_kql.h).
//   node differential.mjs PATH/TO/vg-kql-parse [seed] [count]
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
const require = createRequire(import.meta.url);
require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.js');
const K = globalThis.Kusto;
const tool = process.argv[2];
let seed = Number(process.argv[3] || 1);
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const cols = ['a', 'b', 'FileName', 'Timestamp', "['x y']", '$left.a', 'd.k', 'd[0]', "d['k']"];
const lits = ['1', '2.5', "'s'", '"t"', '1d', '30m', 'true', 'datetime(2024-01-01)', 'dynamic([1,2])', 'long(null)', "@'v'", 'guid(00000000-0000-0000-0000-000000000000)', 'time(1.00:00:00)'];
const binops = ['+', '-', '*', '/', '%', '==', '!=', '=~', '!~', '<', '<=', '>', '>=', 'has', '!has', 'has_cs', 'contains', '!contains_cs', 'startswith', 'endswith_cs', 'hasprefix', '!hassuffix', 'matches regex', 'and', 'or'];
function expr(d = 0) {
  const r = rnd();
  if (d > 3 || r < 0.3) return rnd() < 0.5 ? pick(cols) : pick(lits);
  if (r < 0.55) return `${expr(d + 1)} ${pick(binops)} ${expr(d + 1)}`;
  if (r < 0.65) return `(${expr(d + 1)})`;
  if (r < 0.75) return `${pick(['iff', 'strcat', 'tostring', 'bin', 'ago', 'not', 'isempty', 'case'])}(${expr(d + 1)}${rnd() < 0.5 ? ', ' + expr(d + 1) : ''})`;
  if (r < 0.82) return `${pick(cols)} ${pick(['in', '!in', 'in~', '!in~', 'has_any', 'has_all'])} (${expr(d + 1)}, ${pick(lits)})`;
  if (r < 0.88) return `${pick(cols)} ${pick(['between', '!between'])} (${pick(lits)} .. ${pick(lits)})`;
  if (r < 0.94) return `-${pick(cols)}`;
  return `${pick(cols)}.${pick(['x', 'y'])}`;
}
const named = () => rnd() < 0.5 ? `${pick(['n', 'm', "['o p']"])} = ${expr()}` : expr();
const list = (f) => Array.from({ length: 1 + Math.floor(rnd() * 3) }, f).join(', ');
const ops = [
  () => `where ${expr()}`, () => `project ${list(named)}`, () => `extend ${list(named)}`,
  () => `summarize ${list(() => pick(['count()', 'n = dcount(a)', 'arg_max(Timestamp, *)', 'make_set(b, 10)']))}${rnd() < 0.7 ? ' by ' + list(() => pick(['a', 'bin(Timestamp, 1h)', 'k = b'])) : ''}`,
  () => `take ${pick(['1', '10', 'n'])}`, () => `top ${pick(['5', '10'])} by ${expr()} ${pick(['', 'asc', 'desc', 'desc nulls last'])}`,
  () => `sort by ${list(() => pick(['a', 'b desc', 'c asc nulls first']))}`, () => `distinct ${pick(['*', 'a, b'])}`,
  () => `join ${pick(['', 'kind=inner ', 'kind=leftouter ', 'hint.strategy=shuffle '])}(U | where ${expr()}) on ${pick(['a', '$left.a == $right.b', 'a, b'])}`,
  () => `lookup (U) on a`, () => `union ${pick(['', 'withsource=S '])}U, (V | take 1)`,
  () => `mv-expand ${pick(['a', 'x = a to typeof(string)', 'with_itemindex=i a'])}`,
  () => `mv-apply x = a on (${pick(['take 1', 'where x > 1 | summarize count()'])})`,
  () => `parse ${pick(['', 'kind=regex '])}a with ${pick(["* 'x' b:long", "'p' c '-' d *"])}`,
  () => `make-series n = count() on Timestamp step 1h by a`, () => `evaluate bag_unpack(d)`,
  () => `count`, () => `getschema`, () => `serialize r = row_number()`, () => `as X`,
  () => `render timechart`, () => `project-away a, b*`, () => `project-rename n = a`, () => `project-reorder a desc`,
  () => `sample 5`, () => `invoke f()`,
];
function query() {
  let q = pick(['T', 'T', 'datatable(a:long)[1, 2]', 'print x = 1', 'range i from 1 to 3 step 1', 'union T, U']);
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) q += ` | ${pick(ops)()}`;
  if (rnd() < 0.3) q = `let n = ${pick(lits)};\n` + q;
  return q;
}
function mutate(q) {
  const toks = q.split(' ');
  const i = Math.floor(rnd() * toks.length);
  const r = rnd();
  if (r < 0.4) toks.splice(i, 1);
  else if (r < 0.7) toks.splice(i, 0, pick(['(', ')', ',', '|', '==', '..', 'by', '=', ';', ']']));
  else toks[i] = toks[i].slice(0, Math.max(0, toks[i].length - 1));
  return toks.join(' ');
}
const N = Number(process.argv[4] || 1000);
let diffs = 0, total = 0, agreeOk = 0, agreeBad = 0;
const out = [];
for (let k = 0; k < N; k++) {
  let q = query();
  if (rnd() < 0.5) q = mutate(q);
  total++;
  const code = K.Language.KustoCode.Parse(q);
  const it = Bridge.getEnumerator(code.GetSyntaxDiagnostics());
  const ms = [];
  while (it.moveNext()) if (it.Current.Severity === 'Error') ms.push(it.Current.Message);
  const r = spawnSync(tool, ['-e', q], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) { out.push(`CRASH ${q}`); diffs++; continue; }
  const vok = r.status === 0 || r.stdout.includes('VG_EUNSUPPORTED');
  const msok = ms.length === 0;
  if (vok === msok) { msok ? agreeOk++ : agreeBad++; continue; }
  diffs++;
  out.push(`DIFF ${JSON.stringify(q)}\n   MS: ${msok ? 'ok' : ms[0]}\n   Vigil: ${r.stdout.trim().slice(0, 200)}`);
}
for (const line of out) console.log(line);
console.log(`${total} queries: agree ok ${agreeOk}, agree rejected ${agreeBad}, differ ${diffs}`);
