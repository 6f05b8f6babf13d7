// incidents.mjs URL TOKEN VIEWER_TOKEN ASSIGNEE SCREENSHOT - drives the
// console's incident queue and incident page in Debian's Chromium against a
// vigild holding two incidents (one of two alerts on one device, one of one
// alert), as test_console_browser.sh sets it up:
//   - the queue lists both with their alert counts; the severity filter, the
//     sort and the pages change what it lists;
//   - the bigger incident opens from the queue: its fields, its alerts with
//     their evidence, its graph as SVG with the API's node and edge counts;
//   - a comment added in the page shows, and still shows after a reload;
//   - status inProgress and the assignment are set from the page;
//   - a change made through the API behind the page's back makes the page's
//     next action fail with "changed by someone else - reloaded" and the
//     page shows the new state; the same action then succeeds;
//   - with a viewer token the actions are refused with the server's 403
//     message.
// The shell test checks the results through the API afterwards. Prints one
// line per check and exits 1 when any failed; page errors fail too.
import { chromium } from 'playwright-core';

const [url, token, viewer, assignee, shot] = process.argv.slice(2);
const INC = new URL('/api/v1/security/incidents', url).href;
let failed = 0;
const ok = (m) => console.log(`ok: ${m}`);
const fail = (m) => { console.log(`FAIL: ${m}`); failed++; };
const expect = (cond, m, detail) => (cond ? ok(m) : fail(`${m}: ${detail}`));

// api(path, opts): the API as the test's own client (behind the page's back)
async function api(path, opts = {}) {
  const r = await fetch(INC + path, {
    ...opts, headers: { Authorization: `Bearer ${token}`, ...(opts.headers || {}) },
  });
  return { status: r.status, etag: r.headers.get('etag'), j: await r.json() };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  // every request the page makes stays on the server it came from
  page.on('request', (rq) => {
    if (new URL(rq.url()).origin !== new URL(url).origin) fail(`outside request: ${rq.url()}`);
  });
  const text = (sel) => page.textContent(sel);
  const field = (k) => text(`#i-fields dd[data-field="${k}"]`);
  const queueRows = () => page.$$eval('#queue tbody tr', (trs) =>
    trs.map((tr) => ({ id: tr.dataset.id, cells: [...tr.cells].map((c) => c.textContent) })));
  // waits until the queue shows n rows (after the answer for the current controls)
  const queueSettles = async (n) => {
    await page.waitForFunction((k) => document.querySelectorAll('#queue tbody tr').length === k, n);
    return queueRows();
  };
  // waits until the incident page shows a version other than `before`
  const reloaded = (before) => page.waitForFunction(
    (b) => { const e = document.getElementById('v-inc').dataset.etag; return e && e !== b; }, before);
  const etag = () => page.$eval('#v-inc', (e) => e.dataset.etag || '');

  // ---- the queue ----
  await page.goto(url + '#/incidents');
  await page.fill('#token', token);
  await page.fill('#me', assignee);
  await page.click('#load');
  let rows = await queueSettles(2);
  const counts = Object.fromEntries(rows.map((r) => [r.id, r.cells[4]]));
  const big = rows.find((r) => r.cells[4] === '2'), small = rows.find((r) => r.cells[4] === '1');
  expect(big && small, 'queue lists 2 incidents with 2 and 1 alerts', JSON.stringify(counts));
  expect(big && /ws-01/.test(big.cells[5]) && /CORP\\alice/.test(big.cells[5]),
    'queue shows the devices and users', JSON.stringify(big));
  expect(big && big.cells[1] === 'high' && small.cells[1] === 'medium',
    'queue shows the severities', JSON.stringify(rows));
  const sevClass = await page.$eval(`#queue tr[data-id="${big.id}"] .sev`, (e) => e.className);
  expect(sevClass.includes('sev-high'), 'severity is coloured', sevClass);

  await page.selectOption('#f-sev', 'high');
  rows = await queueSettles(1);
  expect(rows[0].id === big.id, 'severity filter: high only', JSON.stringify(rows));
  await page.selectOption('#f-sev', '');
  await page.selectOption('#f-order', 'severity asc,lastUpdateDateTime desc');
  await page.waitForFunction((id) => {
    const r = document.querySelectorAll('#queue tbody tr');
    return r.length === 2 && r[1].dataset.id === id;
  }, big.id);
  await page.selectOption('#f-order', 'severity desc,lastUpdateDateTime desc');
  await page.waitForFunction((id) => {
    const r = document.querySelectorAll('#queue tbody tr');
    return r.length === 2 && r[0].dataset.id === id;
  }, big.id);
  ok('sort by severity, both ways');
  await page.selectOption('#f-top', '10');
  await page.fill('#f-assigned', 'unassigned');
  await page.press('#f-assigned', 'Enter');
  rows = await queueSettles(2);
  ok('assignee filter: unassigned lists both');
  await page.fill('#f-assigned', 'nobody-has-this');
  await page.press('#f-assigned', 'Enter');
  await page.waitForFunction(() => document.getElementById('q-msg').textContent === 'no incidents match');
  await queueSettles(0);
  ok('assignee filter: an unknown name lists none');
  await page.fill('#f-assigned', '');
  await page.press('#f-assigned', 'Enter');
  await queueSettles(2);
  // one per page: the pager walks the two
  await page.evaluate(() => {
    const s = document.getElementById('f-top');
    s.append(new Option('1', '1'));
  });
  await page.selectOption('#f-top', '1');
  rows = await queueSettles(1);
  const first = rows[0].id;
  expect((await text('#q-page')) === '1-1 of 2', 'pager counts', await text('#q-page'));
  await page.click('#q-next');
  await page.waitForFunction((f) => {
    const r = document.querySelectorAll('#queue tbody tr');
    return r.length === 1 && r[0].dataset.id !== f;
  }, first);
  expect((await text('#q-page')) === '2-2 of 2' && await page.isDisabled('#q-next'),
    'next page shows the other incident', await text('#q-page'));
  await page.selectOption('#f-top', '20');
  await queueSettles(2);

  // ---- the incident page ----
  await page.click(`#queue tr[data-id="${big.id}"] td:nth-child(1)`);
  await page.waitForFunction(() => document.getElementById('v-inc').dataset.etag);
  expect(page.url().endsWith(`#/incidents/${big.id}`), 'a row opens its incident', page.url());
  expect(/Multi-stage incident/.test(await text('#i-name')), 'incident name',
    await text('#i-name'));
  expect((await field('status')) === 'active' && (await field('devices')) === 'ws-01' &&
    /Execution/.test(await field('tactics')) && /T1003\.001/.test(await field('techniques')),
  'incident fields', await page.textContent('#i-fields'));
  const alertRows = await page.$$eval('#alerts tbody tr[data-id]', (trs) =>
    trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  expect(alertRows.length === 2 && alertRows.some((r) => r[0] === 'VGCON credential dumper' &&
    r[1] === 'high' && r[4] === 'sigma'), 'its 2 alerts', JSON.stringify(alertRows));
  expect(await page.isHidden('#alerts tr.evidence >> nth=0'), 'evidence starts folded', '');
  await page.click('#alerts tbody tr[data-id] button.ev-toggle >> nth=0');
  const evText = await page.textContent('#alerts tr.evidence:not([hidden])');
  expect(/device/.test(evText) && /deviceDnsName: ws-01/.test(evText) && /compromised/.test(evText),
    'evidence unfolds', evText);

  const g = await api(`/${big.id}/graph`);
  await page.waitForSelector('#graph svg g.node');
  const nodes = await page.$$eval('#graph svg g.node', (n) => n.length);
  const edges = await page.$$eval('#graph svg line.edge', (n) => n.length);
  const types = await page.$$eval('#graph svg g.node', (n) => n.map((x) => x.dataset.type));
  expect(nodes === g.j.nodes.length && edges === g.j.edges.length && nodes >= 5,
    `graph: ${nodes} nodes, ${edges} edges as the API says`,
    `page ${nodes}/${edges}, api ${g.j.nodes.length}/${g.j.edges.length}`);
  expect(types.filter((t) => t === 'alert').length === 2 && types.includes('incident') &&
    types.includes('device') && types.includes('account'), 'graph node types',
  JSON.stringify(types));
  expect((await text('#g-note')) === '', 'no truncated note', await text('#g-note'));
  // the layout keeps every node inside the drawing, and no two on one spot
  const spots = await page.$$eval('#graph svg g.node', (n) => n.map((x) => {
    const b = x.firstChild.getBBox();
    return `${Math.round(b.x)},${Math.round(b.y)}`;
  }));
  expect(new Set(spots).size === spots.length, 'graph nodes do not overlap', spots.join(' '));

  // ---- a comment ----
  const note = `first look from the console test ${process.pid}`;
  let v = await etag();
  await page.fill('#c-text', note);
  await page.click('#c-add');
  await reloaded(v);
  expect((await text('#c-msg')) === 'comment added' &&
    (await text('#comments')).includes(note), 'comment shows', await text('#comments'));
  await page.reload();
  await page.waitForFunction(() => document.getElementById('v-inc').dataset.etag);
  expect((await text('#comments')).includes(note), 'comment still there after a reload',
    await text('#comments'));

  // ---- status and assignment ----
  v = await etag();
  await page.selectOption('#a-status', 'inProgress');
  await page.click('#a-status-set');
  await reloaded(v);
  expect((await field('status')) === 'inProgress' && /saved/.test(await text('#i-msg')),
    'status set to inProgress', `${await field('status')} / ${await text('#i-msg')}`);
  v = await etag();
  await page.click('#a-me');
  await reloaded(v);
  expect((await field('assigned to')) === assignee, 'assigned to me',
    await field('assigned to'));

  // ---- a stale version: the API changes it behind the page's back ----
  const fresh = await api(`/${big.id}`);
  const behind = await api(`/${big.id}`, {
    method: 'PATCH', headers: { 'If-Match': fresh.etag, 'Content-Type': 'application/json' },
    body: JSON.stringify({ customTags: ['changed-behind'] }),
  });
  expect(behind.status === 200, 'change behind the page', JSON.stringify(behind.j));
  v = await etag();
  await page.selectOption('#a-class', 'truePositive');
  await page.selectOption('#a-det', 'malware');
  await page.click('#a-classify');
  await reloaded(v);
  expect((await text('#i-msg')) === 'changed by someone else - reloaded',
    'conflict says so', await text('#i-msg'));
  expect((await field('tags')) === 'changed-behind' && (await field('classification')) === 'unknown',
    'conflict: the new state shows, nothing written',
    `${await field('tags')} / ${await field('classification')}`);
  v = await etag();
  await page.selectOption('#a-class', 'truePositive');
  await page.selectOption('#a-det', 'malware');
  await page.click('#a-classify');
  await reloaded(v);
  expect((await field('classification')) === 'truePositive' &&
    (await field('determination')) === 'malware', 'the same action after the reload succeeds',
  `${await field('classification')} / ${await field('determination')}`);
  if (shot) await page.screenshot({ path: shot, fullPage: true });

  // ---- a viewer token: read yes, change no ----
  await page.fill('#token', viewer);
  await page.click('#load');
  await page.waitForFunction(() => document.getElementById('i-msg').textContent === '' &&
    document.getElementById('v-inc').dataset.etag);
  await page.selectOption('#a-status', 'resolved');
  await page.click('#a-status-set');
  await page.waitForFunction(() => /403|may not/.test(document.getElementById('i-msg').textContent));
  const refused = await text('#i-msg');
  expect(/^role viewer may not call PATCH \/api\/v1\/security\/incidents\/\{id\}$/.test(refused),
    "viewer's change refused with the server's message", refused);
  await page.fill('#c-text', 'viewer comment');
  await page.click('#c-add');
  await page.waitForFunction(() => document.getElementById('c-msg').textContent !== '');
  const refusedC = await text('#c-msg');
  expect(/^role viewer may not call POST /.test(refusedC), "viewer's comment refused", refusedC);
  expect((await field('status')) === 'inProgress', 'refused change left the page as it was',
    await field('status'));
  const cookies = await page.context().cookies();
  expect(cookies.length === 0 && !page.url().includes(token), 'token not in cookies or URL', '');
} catch (e) {
  fail(`stopped: ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
}
process.exitCode = failed ? 1 : 0;
