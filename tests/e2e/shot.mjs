// Screenshot helper for looking at the page: node tests/e2e/shot.mjs "?s=takeover-v5&step=5" out.png [width] [height] [dark]
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './serve.mjs';

const [query = '', out = 'tests/e2e/artifacts/shot.png', w = '1280', h = '720', dark = ''] = process.argv.slice(2);
const srv = await serve();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
const page = await browser.newPage({ viewport: { width: +w, height: +h }, colorScheme: dark ? 'dark' : 'light' });
page.on('console', (m) => { if (m.type() === 'error') console.log('console error:', m.text()); });
page.on('pageerror', (e) => console.log('page error:', String(e)));
await page.goto(srv.base + query);
await page.waitForSelector('[data-testid=step-no]');
await page.waitForTimeout(300);
await page.screenshot({ path: out, fullPage: process.env.FULL === '1' });
await browser.close();
srv.close();
