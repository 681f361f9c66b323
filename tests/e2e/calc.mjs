// End-to-end tests of the calculators page (dist/calc/, built by scripts/build.sh) in Debian's
// Chromium: inputs set through the page, numbers read back, the canvas checked for pixels,
// absurd inputs, links in and out, axe-core. Screenshots land in tests/e2e/artifacts/.
import path from 'node:path';
import { axeSource, artifacts, srv, browser, newPage, expect, test, finish } from './harness.mjs';

async function open(query = '', opts = {}) {
  const page = await newPage({ viewport: { width: opts.width || 1280, height: opts.height || 900 }, colorScheme: opts.dark ? 'dark' : 'light', deviceScaleFactor: opts.dpr || 1, reducedMotion: opts.still ? 'reduce' : 'no-preference' });
  await page.goto(srv.base + 'calc/' + query);
  await page.waitForSelector('[data-testid=results]');
  return page;
}

const rows = (page) => page.textContent('[data-testid=rows]');
// Pixels of the chart that differ from its background (top-left pixel).
const inked = (page) => page.evaluate(() => {
  const c = document.querySelector('[data-testid=chart]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) n++;
  return n;
});
// Typed values count once typing pauses (250 ms).
const set = async (page, key, value) => {
  await page.fill(`[data-testid=in-${key}]`, value);
  await page.waitForTimeout(400);
};

await test('queue memory: the course numbers through the form, the chart drawn, the link updated', async () => {
  const page = await open();
  expect((await rows(page)).includes('8.4 MB (8.01 MiB)'), await rows(page));
  await set(page, 'devices', '10000');
  await set(page, 'hours', '24');
  const r = await rows(page);
  expect(r.includes('2.02 GB (1.88 GiB)') && r.includes('202 kB (197 KiB)'), r);
  expect((await inked(page)) > 2000, 'the chart has pixels');
  expect(page.url().includes('devices=10000') && page.url().includes('hours=24'), page.url());
  // A broker preset fills the limit: mosquitto keeps 1,000 and refuses newer messages.
  await page.selectOption('[data-testid=in-broker]', 'mosquitto-2.0.11');
  await page.waitForTimeout(50);
  expect((await page.inputValue('[data-testid=in-limit]')) === '1000', 'limit filled in');
  expect((await rows(page)).includes('440 per device'), await rows(page));
  await page.screenshot({ path: path.join(artifacts, 'calc-queue.png'), fullPage: true });
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('absurd inputs get a sentence with the allowed range, never NaN', async () => {
  const page = await open();
  for (const bad of ['-5', '1e30', 'NaN', '']) {
    await set(page, 'devices', bad);
    const e = await page.textContent('[data-testid=calc-errors]');
    expect(e.includes('Devices offline') && e.includes('a whole number from 1 to 100,000,000'), `${bad}: ${e}`);
    // Nothing computed shows NaN (the message may quote what was typed).
    const shown = await page.evaluate(() => { const b = document.body.cloneNode(true); b.querySelector('[data-testid=calc-errors]')?.remove(); b.querySelectorAll('input').forEach((i) => i.remove()); return b.textContent; });
    expect(!/NaN|Infinity|undefined/.test(shown), `${bad}: the page shows NaN`);
  }
  await page.screenshot({ path: path.join(artifacts, 'calc-error.png') });
  await set(page, 'devices', '1000');
  expect(!(await page.$('[data-testid=calc-errors]')), 'the error goes away');
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('every calculator computes, draws and explains (light and dark)', async () => {
  const expected = {
    queue: 'Fleet total', qos: 'End to end', backoff: 'Time to attempt', storm: 'all connected after',
    ids: 'Devices for a 50 % risk', buffer: 'Readings to hold', loss: 'QoS 2 duplicates', advisor: 'Publish QoS',
  };
  for (const dark of [false, true]) {
    const page = await open('', { dark, dpr: 2 });
    for (const [id, label] of Object.entries(expected)) {
      await page.click(`[data-testid=tab-${id}]`);
      await page.waitForSelector(`[data-testid=tool-${id}]`);
      await page.waitForTimeout(dark ? 50 : 100);
      const r = await rows(page);
      expect(r.includes(label), `${id}: ${r}`);
      expect((await inked(page)) > 2000, `${id}: the chart is blank`);
      expect((await page.textContent('[data-testid=formula]')).length > 10, `${id}: formula`);
      expect(!/NaN|Infinity/.test(await page.textContent('body')), `${id}: NaN shown`);
      await page.screenshot({ path: path.join(artifacts, `calc-${id}${dark ? '-dark' : ''}.png`), fullPage: true });
    }
    // HiDPI: the canvas holds device pixels.
    const [w, cw] = await page.evaluate(() => { const c = document.querySelector('[data-testid=chart]'); return [c.width, c.clientWidth]; });
    expect(w === cw * 2, `canvas ${w} px for ${cw} CSS px at ratio 2`);
    expect(page.errors.length === 0, page.errors.join(' | '));
    await page.close();
  }
});

await test('links carry every input; nonsense in the link is reported', async () => {
  const page = await open('?c=storm&devices=1000&capacity=100&outage=10&max=60');
  const r = await rows(page);
  expect(r.includes('8 min 3 s'), r);
  await page.close();
  // A million devices through the form (a measurement is printed, not asserted).
  const big = await open('?c=storm');
  const t0 = Date.now();
  await big.fill('[data-testid=in-devices]', '1000000');
  await big.waitForFunction(() => document.querySelector('[data-testid=rows]')?.textContent.includes('all connected after') && document.querySelector('[data-testid=in-devices]').value === '1000000' && location.search.includes('devices=1000000'), null, { timeout: 30000 });
  console.log(`     storm with 1,000,000 devices: numbers shown ${Date.now() - t0} ms after typing (incl. the 250 ms pause)`);
  expect(big.errors.length === 0, big.errors.join(' | '));
  await big.close();
  const bad = await open('?c=warp-drive&zzz=1');
  const n = await bad.textContent('[data-testid=calc-notices]');
  expect(n.includes('warp-drive'), n);
  expect(bad.errors.length === 0, bad.errors.join(' | '));
  await bad.close();
  const ids = await open('?c=ids&form=bits&bits=2000');
  expect((await ids.textContent('[data-testid=calc-errors]')).includes('Bits'), 'bits out of range');
  await ids.close();
});

await test('a scenario opens the calculators with its own numbers, and back', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(srv.base + '?s=queue-overflow&step=5');
  await page.waitForSelector('[data-testid=calc-links]');
  await page.click('[data-testid=calc-links] a:first-child');
  await page.waitForSelector('[data-testid=results]');
  expect((await page.inputValue('[data-testid=in-limit]')) === '3', 'the scenario broker limit');
  expect((await page.inputValue('[data-testid=in-broker]')) === 'mosquitto-2.0.11', 'broker preset');
  await page.click('[data-testid=to-scenarios]');
  await page.waitForSelector('[data-testid=step-no]');
  await page.click('[data-testid=to-calculators]');
  await page.waitForSelector('[data-testid=results]');
  await page.close();
});

await test('axe-core finds no serious or critical problems on the calculators', async () => {
  // Reduced motion: axe judges contrast in the final state, not halfway through a fade-in.
  for (const [q, opts] of [['?c=qos', {}], ['?c=loss', { dark: true }], ['?c=queue', { width: 390, height: 844 }]]) {
    const page = await open(q, { ...opts, still: true });
    await page.addScriptTag({ content: axeSource });
    const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (opts.width) await page.screenshot({ path: path.join(artifacts, 'calc-phone.png'), fullPage: true });
    expect(bad.length === 0, `${q}: ${bad.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0]?.target}`).join('; ')}`);
    await page.close();
  }
});

await finish();
