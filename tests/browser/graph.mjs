// graph.mjs URL TOKEN MID_ID BIG_ID [SCREENSHOT] - the incident graph of bigger incidents
// in Debian's Chromium, as test_console_browser.sh sets them up:
//   - MID_ID, about 60 nodes (30 alerts, each with its own account): every
//     node the API gives is drawn, inside the drawing, none on another, and
//     the drawing stays within a readable size;
//   - BIG_ID, more alerts than the server's graph holds: the API says
//     "truncated" and the page says so, drawing at most its own node limit.
// Prints one line per check and exits 1 when any failed.
import { chromium } from 'playwright-core';

const [url, token, mid, big, shot] = process.argv.slice(2);
let failed = 0;
const ok = (m) => console.log(`ok: ${m}`);
const fail = (m) => { console.log(`FAIL: ${m}`); failed++; };
const expect = (cond, m, detail) => (cond ? ok(m) : fail(`${m}: ${detail}`));
const graphOf = async (id) => (await fetch(new URL(`/api/v1/security/incidents/${id}/graph`, url),
  { headers: { Authorization: `Bearer ${token}` } })).json();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('#load');
  // open ID: waits until the page shows that incident's graph
  const open = async (id) => {
    await page.evaluate((i) => { location.hash = `#/incidents/${i}`; }, id);
    await page.waitForFunction((i) => location.hash.endsWith(`/${i}`) &&
      document.getElementById('v-inc').dataset.etag &&
      document.getElementById('i-id').textContent === `#${i}` &&
      document.querySelector('#graph svg'), id);
  };
  // the drawn nodes: their boxes, and the drawing's size
  const drawn = () => page.$eval('#graph svg', (s) => ({
    w: +s.getAttribute('width'), h: +s.getAttribute('height'),
    boxes: [...s.querySelectorAll('g.node')].map((g) => {
      const b = g.getBBox();
      return [b.x, b.y, b.x + b.width, b.y + b.height];
    }),
    shapes: [...s.querySelectorAll('g.node')].map((g) => {
      const b = g.firstChild.getBBox();
      return `${Math.round(b.x)},${Math.round(b.y)}`;
    }),
    edges: s.querySelectorAll('line.edge').length,
  }));

  const gm = await graphOf(mid);
  await open(mid);
  let d = await drawn();
  expect(gm.nodes.length >= 55 && !gm.truncated, `the API graph of ${mid} has ~60 nodes`,
    `${gm.nodes.length}, truncated ${gm.truncated}`);
  expect(d.boxes.length === gm.nodes.length && d.edges === gm.edges.length,
    `all ${d.boxes.length} nodes and ${d.edges} edges drawn`,
    `page ${d.boxes.length}/${d.edges}, api ${gm.nodes.length}/${gm.edges.length}`);
  expect(new Set(d.shapes).size === d.shapes.length, 'no two nodes on one spot', '');
  expect(d.boxes.every(([x0, y0, x1, y1]) => x0 >= 0 && y0 >= 0 && x1 <= d.w && y1 <= d.h),
    'every node inside the drawing', `${d.w}x${d.h}`);
  // labels of one column do not run into the next column's shapes
  const overlap = d.boxes.some((a, i) => d.boxes.some((b, j) => i !== j &&
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]));
  expect(!overlap, 'no node (shape and label) overlaps another', '');
  expect(d.w <= 1400 && d.h <= 800, `drawing of a readable size (${d.w}x${d.h})`, '');
  expect((await page.textContent('#g-note')) === '', 'no truncated note', '');
  if (shot) await (await page.$('#graph')).screenshot({ path: shot });

  const gb = await graphOf(big);
  await open(big);
  d = await drawn();
  const note = await page.textContent('#g-note');
  expect(gb.truncated === true, 'the API truncates the big graph', String(gb.truncated));
  expect(/truncated/.test(note), 'the page says truncated', note);
  expect(d.boxes.length > 0 && d.boxes.length <= gb.nodes.length && d.boxes.length <= 240,
    `the page draws ${d.boxes.length} of the ${gb.nodes.length} nodes`, note);
  expect(new Set(d.shapes).size === d.shapes.length, 'big graph: no two nodes on one spot', '');
} catch (e) {
  fail(`stopped: ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
}
process.exitCode = failed ? 1 : 0;
