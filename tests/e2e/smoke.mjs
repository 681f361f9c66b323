// Page smoke test: serve dist/ on 127.0.0.1, open it in Debian's Chromium, check that the
// built-in scenarios are listed, step through every one to the end and back with no console
// error, and save a screenshot.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { serve, chromiumArgs } from './serve.mjs';

const srv = await serve();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith(srv.base)) failures.push(`request left the page: ${r.url()}`); });
  await page.goto(srv.base);
  await page.waitForSelector('[data-testid=scenario-select] option', { state: 'attached', timeout: 30000 });
  const options = await page.$$eval('[data-testid=scenario-select] option', (o) => o.map((x) => x.value).filter(Boolean));
  if (options.length < 15) failures.push(`expected at least 15 scenarios, found ${options.length}`);
  await page.selectOption('[data-testid=scenario-select]', 'takeover-v5');
  await page.click('[data-testid=last]');
  const label = await page.textContent('[data-testid=step-no]');
  if (!/Step (\d+) of \1/.test(label)) failures.push(`after End the label is "${label}"`);
  await page.click('[data-testid=first]');
  for (let i = 0; i < 5; i++) await page.click('[data-testid=next]');
  const narration = await page.textContent('[data-testid=narration]');
  if (!narration.includes('mosquitto 2.0.11 closes the old connection without a DISCONNECT')) failures.push('deviation note missing at the takeover step');
  const life = await page.textContent('[data-testid=lifecycle-text]');
  if (!life.includes('took over its client id')) failures.push(`lifecycle text misses the takeover: ${life}`);
  fs.mkdirSync('tests/e2e/artifacts', { recursive: true });
  await page.screenshot({ path: 'tests/e2e/artifacts/takeover-step5.png', fullPage: true });
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
  srv.close();
}
if (failures.length) {
  console.error('page smoke test FAILED:\n- ' + failures.join('\n- '));
  process.exit(1);
}
console.log('page smoke test: 1 passed, 0 failed');
