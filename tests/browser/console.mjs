// console.mjs URL TOKEN BADTOKEN SCREENSHOT - drives the console page in
// Debian's Chromium: health shows ok; a wrong token shows the server's error;
// the right token lists the tables that hold rows with their counts. Prints
// one line per check and exits 1 on the first failure.
import { chromium } from 'playwright-core';

const [url, token, bad, shot] = process.argv.slice(2);
const fail = (m) => { console.log(`FAIL: ${m}`); process.exitCode = 1; };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('health').textContent !== 'checking…');
  const health = await page.textContent('#health');
  health === 'ok' ? console.log('ok: health') : fail(`health is '${health}'`);

  await page.fill('#token', bad);
  await page.click('#load');
  await page.waitForFunction(() => document.getElementById('msg').textContent !== '');
  const err = await page.textContent('#msg');
  /token/i.test(err) ? console.log('ok: wrong token refused') : fail(`wrong token shows '${err}'`);

  await page.fill('#token', token);
  await page.click('#load');
  await page.waitForSelector('#tables tbody tr');
  const rows = await page.$$eval('#tables tbody tr', (trs) =>
    trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const got = Object.fromEntries(rows);
  got.DeviceProcessEvents === '3' && got.DeviceLogonEvents === '1' && rows.length === 2
    ? console.log('ok: tables listed')
    : fail(`tables: ${JSON.stringify(rows)}`);
  // the token stays in the tab (sessionStorage), never in the URL or a cookie
  const cookies = await page.context().cookies();
  cookies.length === 0 && !page.url().includes(token)
    ? console.log('ok: token not in cookies or URL')
    : fail('token leaked into a cookie or the URL');
  if (shot) await page.screenshot({ path: shot });
} finally {
  await browser.close();
}
