// What every end-to-end test file shares: the built site served on 127.0.0.1, Debian's Chromium,
// axe-core, the artifacts folder, and named tests that print "N passed, N failed".
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { serve, chromiumArgs } from './serve.mjs';

const require = createRequire(import.meta.url);
export const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const artifacts = 'tests/e2e/artifacts';
fs.mkdirSync(artifacts, { recursive: true });

export const srv = await serve();
export const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });

/// A new page that records console errors, page errors and any request leaving the site.
export async function newPage(options) {
  const page = await browser.newPage(options);
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith(srv.base)) page.errors.push(`request left the page: ${r.url()}`); });
  return page;
}

let passed = 0;
const failed = [];

export function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

export async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

/// Closes everything and exits non-zero when a test failed.
export async function finish() {
  await browser.close();
  srv.close();
  console.log(`\n${passed} passed, ${failed.length} failed`);
  if (failed.length) process.exit(1);
}
