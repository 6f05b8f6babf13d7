// fidelity.mjs - syntax fidelity of Vigil's KQL parser against Microsoft's.
//
// Loads Microsoft's Kusto parser (@kusto/language-service-next, installed by
// `npm ci` in this folder), declares the Advanced Hunting tables from
// schema/advanced-hunting-columns.tsv, then checks that
//   - every tests/golden/kql/*.kql is accepted by Microsoft's parser and
//     analyzer (no diagnostic of severity Error), and by vg-kql-parse unless
//     its .ast expects Vigil to refuse it (error: VG_EUNSUPPORTED);
//   - every tests/kql/invalid/*.kql is rejected by both (Microsoft: at least
//     one syntax diagnostic of severity Error; Vigil: exit status 1 with VG_EPARSE).
// Usage: node fidelity.mjs PATH/TO/vg-kql-parse
// Exit 0 when all agree, 1 otherwise, 77 when the npm package is missing.
// Last line: "N passed, M failed".
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const require = createRequire(import.meta.url);
const tool = process.argv[2];
if (!tool || !existsSync(tool)) {
  console.log(`fidelity: vg-kql-parse not found (${tool}); build it first`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
try {
  require('@kusto/language-service-next/bridge.js');
  require('@kusto/language-service-next/Kusto.Language.Bridge.js');
} catch (e) {
  console.log(`SKIP fidelity: @kusto/language-service-next is not installed (${e.code || e.message})`);
  process.exit(77);
}
const K = globalThis.Kusto;

// Advanced Hunting schema. TSV types are Kusto's, except "boolean" -> bool.
const tables = new Map();
for (const line of readFileSync(path.join(top, 'schema/advanced-hunting-columns.tsv'), 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue;
  const [table, column, type] = line.split('\t');
  if (table === 'table') continue;
  if (!tables.has(table)) tables.set(table, []);
  const t = type === 'boolean' ? 'bool' : type;
  tables.get(table).push(`['${column}']:${t}`);
}
const symbols = [...tables].map(([name, cols]) =>
  new K.Language.Symbols.TableSymbol.$ctor7(name, `(${cols.join(', ')})`, null));
const db = new K.Language.Symbols.DatabaseSymbol.ctor('db', symbols);
const globals = K.Language.GlobalState.Default.WithDatabase(db);

// Error diagnostics: all of them (syntax and semantics) for golden queries,
// the parser's only (syntax) for invalid ones, which must fail to parse.
function msErrors(text, syntaxOnly = false) {
  const code = K.Language.KustoCode.ParseAndAnalyze(text, globals);
  const out = [];
  const it = Bridge.getEnumerator(syntaxOnly ? code.GetSyntaxDiagnostics() : code.GetDiagnostics());
  while (it.moveNext()) {
    const d = it.Current;
    if (d.Severity === 'Error') out.push(`${d.Code} at ${d.Start}: ${d.Message}`);
  }
  return out;
}

function vigil(file) {
  const r = spawnSync(tool, [file], { encoding: 'utf8' });
  return { status: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

let passed = 0, failed = 0;
const fail = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

const goldenDir = path.join(top, 'tests/golden/kql');
let msAccepted = 0, goldenCount = 0;
for (const f of readdirSync(goldenDir).filter((f) => f.endsWith('.kql')).sort()) {
  const file = path.join(goldenDir, f);
  const text = readFileSync(file, 'utf8');
  goldenCount++;
  const errs = msErrors(text);
  const astFile = file.replace(/\.kql$/, '.ast');
  const refused = existsSync(astFile) && readFileSync(astFile, 'utf8').startsWith('error: VG_EUNSUPPORTED');
  const v = vigil(file);
  if (errs.length) { fail(`golden/${f}`, `Microsoft's parser rejects it: ${errs.slice(0, 3).join('; ')}`); continue; }
  msAccepted++;
  if (!refused && v.status !== 0) { fail(`golden/${f}`, `vg-kql-parse rejects it: ${v.out.trim()}`); continue; }
  if (refused && !v.out.startsWith('error: VG_EUNSUPPORTED')) { fail(`golden/${f}`, `expected Vigil to refuse it: ${v.out.trim()}`); continue; }
  passed++;
}

// The hunting golden cases (tests/golden/hunt): every query that has
// expected rows (.out) must parse with Microsoft's parser as well.
const huntDir = path.join(top, 'tests/golden/hunt');
let huntCount = 0;
if (existsSync(huntDir)) {
  for (const f of readdirSync(huntDir).filter((f) => f.endsWith('.kql')).sort()) {
    const file = path.join(huntDir, f);
    if (!existsSync(file.replace(/\.kql$/, '.out'))) continue;
    huntCount++;
    const errs = msErrors(readFileSync(file, 'utf8'), true);
    if (errs.length) { fail(`hunt/${f}`, `Microsoft's parser rejects it: ${errs.slice(0, 3).join('; ')}`); continue; }
    passed++;
  }
}

const invalidDir = path.join(here, 'invalid');
let bothRejected = 0, invalidCount = 0;
for (const f of readdirSync(invalidDir).filter((f) => f.endsWith('.kql')).sort()) {
  const file = path.join(invalidDir, f);
  const text = readFileSync(file, 'utf8');
  invalidCount++;
  const errs = msErrors(text, true);
  const v = vigil(file);
  if (!errs.length) { fail(`invalid/${f}`, `Microsoft's parser accepts it (analysis: ${msErrors(text).join('; ') || 'no errors'})`); continue; }
  if (v.status !== 1 || !v.out.startsWith('error: VG_EPARSE')) { fail(`invalid/${f}`, `vg-kql-parse does not reject it with VG_EPARSE: ${v.out.trim().slice(0, 200)}`); continue; }
  bothRejected++;
  passed++;
  if (process.env.VERBOSE) console.log(`  invalid/${f}: MS ${errs[0]} | Vigil ${v.out.trim()}`);
}
console.log(`fidelity: Microsoft accepts ${msAccepted}/${goldenCount} golden queries; ` +
            `${bothRejected}/${invalidCount} invalid queries rejected by both`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
