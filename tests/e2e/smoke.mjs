// Page smoke test: serve dist/ on 127.0.0.1, open it in Debian's Chromium, check that the
// built-in scenarios are listed, step through one to the end and back, and save a screenshot.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const dist = path.resolve('dist');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = path.join(dist, decodeURIComponent(url.pathname));
  if (!file.startsWith(dist)) { res.writeHead(403); return res.end(); }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
  if (!fs.existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
         '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith(base)) failures.push(`request left the page: ${r.url()}`); });
  await page.goto(base);
  await page.waitForSelector('[data-testid=scenario-select] option', { state: 'attached', timeout: 30000 });
  const options = await page.$$eval('[data-testid=scenario-select] option', (o) => o.map((x) => x.value));
  if (options.length < 15) failures.push(`expected at least 15 scenarios, found ${options.length}`);
  await page.selectOption('[data-testid=scenario-select]', 'takeover-v5');
  await page.click('[data-testid=last]');
  const label = await page.textContent('[data-testid=step-no]');
  if (!/Step (\d+) of \1/.test(label)) failures.push(`after End the label is "${label}"`);
  const trace = await page.textContent('[data-testid=trace]');
  if (!trace.includes('Session taken over') && !trace.includes('takes over') && !trace.includes('uses the client id')) failures.push('takeover not shown in the trace');
  if (!trace.includes('mosquitto 2.0.11 closes the old connection without a DISCONNECT')) failures.push('deviation note missing');
  fs.mkdirSync('tests/e2e/artifacts', { recursive: true });
  await page.screenshot({ path: 'tests/e2e/artifacts/takeover-end.png', fullPage: false });
  await page.click('[data-testid=first]');
  const start = await page.textContent('[data-testid=step-no]');
  if (!start.startsWith('Step 0')) failures.push(`after Start the label is "${start}"`);
  for (const id of options) {
    await page.selectOption('[data-testid=scenario-select]', id);
    await page.click('[data-testid=last]');
    await page.click('[data-testid=first]');
  }
  if (errors.length) failures.push(`console errors: ${errors.join(' | ')}`);
} finally {
  await browser.close();
  server.close();
}
if (failures.length) {
  console.error('page smoke test FAILED:\n- ' + failures.join('\n- '));
  process.exit(1);
}
console.log('page smoke test: 1 passed, 0 failed');
