// Page benchmark (a measurement, not a test): node scripts/bench-page.mjs
// Needs `trunk build --release` output in dist/ and the baseline in bench/counter/dist/
// (scripts/bench-page.sh builds both). Prints, as medians over several runs in headless Chromium:
//  - time to interactive of the page vs a bare Leptos counter built the same way;
//  - the time to render one step with 20 clients and about 1,000 queued messages;
//  - the time to step into, and to jump to the end of, a scenario in which 20 subscribers
//    receive 1,007 queued messages each in one step (20,140 deliveries).
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from '../tests/e2e/serve.mjs';

const RUNS = 9;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const page = await serve('dist');
const counter = await serve('bench/counter/dist');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });

async function tti(base, ready, act, done) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(base, { waitUntil: 'commit' });
    await p.waitForSelector(ready);
    await p.click(act);
    await p.waitForFunction(done);
    times.push(await p.evaluate(() => performance.now()));
    await ctx.close();
  }
  return median(times);
}

const counterMs = await tti(counter.base, '[data-testid=count]', '[data-testid=count]', () => document.querySelector('[data-testid=count]').textContent === '1');
const pageMs = await tti(page.base + '?s=takeover-v5', '[data-testid=next]', '[data-testid=next]', () => document.querySelector('[data-testid=step-no]').textContent.startsWith('Step 1 '));

// 19 offline persistent subscribers and one publisher: 19 x 53 = 1,007 queued QoS 1 messages.
const big = {
  format: 1, id: 'bench-20-clients', title: 'Benchmark: 20 clients, 1,007 queued messages', version: '5.0', broker: 'spec', seed: 1,
  clients: [{ name: 'sub', count: 19 }, { name: 'pub' }],
  steps: [
    { connect: { client: 'sub', clean_start: false, session_expiry: 3600 } },
    { subscribe: { client: 'sub', filter: 'load/#', qos: 1 } },
    { disconnect: { client: 'sub' } },
    { connect: { client: 'pub' } },
    { publish: { client: 'pub', topic: 'load/x', payload: 'reading {n}', qos: 1, count: 53 } },
    { wait: '1s' },
    { wait: '1s' },
  ],
};
const src = Buffer.from(JSON.stringify(big)).toString('base64url');
const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
const p = await ctx.newPage();
await p.goto(`${page.base}?src=${src}&step=5`);
await p.waitForSelector('[data-testid=sessions]');
// Queued messages across all sessions, from the broker overview's table.
const queued = await p.evaluate(() => [...document.querySelectorAll('.all-sessions tbody tr')].reduce((n, tr) => n + parseInt(tr.children[2].textContent, 10), 0));
const renders = [];
for (let i = 0; i < RUNS * 2; i++) {
  const id = i % 2 === 0 ? 'next' : 'prev';
  renders.push(await p.evaluate(async (id) => {
    // Click, let the reactive updates (microtasks) finish, then force style and layout: the
    // work one step costs before the browser can paint it.
    const t0 = performance.now();
    document.querySelector(`[data-testid=${id}]`).click();
    await new Promise((r) => setTimeout(r, 0));
    document.body.getBoundingClientRect();
    void document.body.offsetHeight;
    return performance.now() - t0;
  }, id));
}
const renderMs = median(renders);
await ctx.close();

// 20 offline persistent subscribers receive 1,007 queued QoS 1 messages each when they all
// reconnect in one step: 20,140 deliveries. Times: stepping into that step, and jumping from
// the start to the last step.
const storm = {
  format: 1, id: 'bench-20140-deliveries', title: 'Benchmark: 20 subscribers reconnect to 1,007 queued messages each', version: '5.0', broker: 'spec', seed: 1,
  clients: [{ name: 'sub', count: 20 }, { name: 'pub' }],
  steps: [
    { connect: { client: 'sub', clean_start: false, session_expiry: 3600 } },
    { subscribe: { client: 'sub', filter: 'load/#', qos: 1 } },
    { disconnect: { client: 'sub' } },
    { connect: { client: 'pub' } },
    { publish: { client: 'pub', topic: 'load/x', payload: 'reading {n}', qos: 1, count: 1007 } },
    { connect: { client: 'sub', clean_start: false, session_expiry: 3600 } },
    { wait: '1s' },
  ],
};
const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 720 } });
const p2 = await ctx2.newPage();
await p2.goto(`${page.base}?src=${Buffer.from(JSON.stringify(storm)).toString('base64url')}&step=5`, { timeout: 120000 });
await p2.waitForSelector('[data-testid=sessions]', { timeout: 120000 });
const delivered = async () => p2.evaluate(() => [...document.querySelectorAll('[data-testid=sessions] [data-testid^=client-] p')]
  .map((x) => x.textContent).filter((t) => t.startsWith('received')).reduce((n, t) => n + parseInt(t.split(' ')[1], 10), 0));
const timeClick = (ids) => p2.evaluate(async (ids) => {
  const t0 = performance.now();
  for (const id of ids) document.querySelector(`[data-testid=${id}]`).click();
  await new Promise((r) => setTimeout(r, 0));
  document.body.getBoundingClientRect();
  void document.body.offsetHeight;
  return performance.now() - t0;
}, ids);
const into = [], jump = [];
for (let i = 0; i < RUNS; i++) {
  into.push(await timeClick(['next']));
  await timeClick(['prev']);
  await timeClick(['first']);
  jump.push(await timeClick(['last']));
  await timeClick(['first']);
  for (let k = 0; k < 5; k++) await timeClick(['next']);
}
await timeClick(['next']);
const shownDeliveries = await delivered();
await ctx2.close();
await browser.close();
page.close();
counter.close();

const result = {
  tti_page_ms: Math.round(pageMs),
  tti_bare_leptos_counter_ms: Math.round(counterMs),
  tti_ratio: +(pageMs / counterMs).toFixed(2),
  step_render_ms_20_clients: +renderMs.toFixed(1),
  queued_messages_on_screen_state: queued,
  step_into_20140_deliveries_ms: +median(into).toFixed(1),
  jump_to_last_step_20140_deliveries_ms: +median(jump).toFixed(1),
  deliveries_in_the_six_sessions_shown_in_full: shownDeliveries,
};
console.log(JSON.stringify(result, null, 2));
