// End-to-end tests of the built page (trunk build --release output) in Debian's Chromium.
// Each check is one named test; the run prints "N passed, N failed" and saves screenshots in
// tests/e2e/artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import { axeSource, artifacts, srv, newPage, expect, test, finish } from './harness.mjs';

async function fresh(query = '', opts = {}) {
  const page = await newPage({ viewport: { width: opts.width || 1280, height: opts.height || 720 }, colorScheme: opts.dark ? 'dark' : 'light', acceptDownloads: true });
  await page.goto(srv.base + query);
  await page.waitForSelector('[data-testid=step-no]');
  return page;
}

const stepLabel = (page) => page.textContent('[data-testid=step-no]');
// axe-core on the page as it stands: no serious or critical finding.
async function axeClean(page, where) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.length === 0, `${where}: ${bad.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0]?.target}`).join('; ')}`);
}
// The address bar follows the page a moment after stepping stops (see src/lib.rs).
const urlHas = async (page, part) => {
  try { await page.waitForFunction((p) => location.href.includes(p), part, { timeout: 3000 }); return true; } catch { return false; }
};

await test('every built-in scenario steps to the end and back without console errors', async () => {
  const page = await fresh();
  const ids = await page.$$eval('[data-testid=scenario-select] option', (o) => o.map((x) => x.value).filter(Boolean));
  expect(ids.length >= 15, `only ${ids.length} scenarios`);
  const endAndBack = async (id) => {
    await page.click('[data-testid=last]');
    const l = await stepLabel(page);
    expect(/Step (\d+) of \1/.test(l), `${id}: End shows "${l}"`);
    for (let i = 0; i < 3; i++) await page.click('[data-testid=prev]');
    await page.click('[data-testid=first]');
    expect((await stepLabel(page)).startsWith('Step 0 '), `${id}: Start`);
  };
  let both = 0;
  for (const id of ids) {
    await page.selectOption('[data-testid=scenario-select]', id);
    await endAndBack(id);
    // A lesson written in both versions: the toggle reaches the other file.
    const other = await page.$('[data-testid=version-toggle] [data-goto]');
    if (other) {
      const to = await other.getAttribute('data-goto');
      const button = await other.getAttribute('data-testid');
      await other.click();
      await page.waitForSelector(`[data-testid="${button}"][aria-pressed=true]`);
      await endAndBack(to);
      both += 1;
    }
  }
  expect(both >= 4, `only ${both} lessons in both versions`);
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('takeover step: lifecycle, deviation and packets match the engine', async () => {
  const page = await fresh('?s=takeover-v5&step=5');
  const life = await page.textContent('[data-testid=lifecycle-text]');
  expect(life.includes('gateway-old') && life.includes('took over its client id'), life);
  expect(life.includes('Session Present = 1'), life);
  const devs = await page.$$eval('[data-testid=deviation]', (d) => d.map((x) => x.textContent));
  expect(devs.some((d) => d.includes('0x8E')), `deviations: ${devs}`);
  const pk = await page.textContent('[data-testid=packet-list]');
  expect(pk.includes('CONNACK SP=1 rc=0x00'), 'CONNACK with Session Present = 1 is listed');
  expect(!pk.includes('DISCONNECT rc=0x8E'), 'mosquitto 2.0.11 sends no 0x8E');
  // Verified against a real mosquitto (tests/verify.sh), with the report one click away.
  expect((await page.textContent('[data-testid=verified]')).includes('mosquitto 2.0.11'), 'verified badge');
  const report = await page.evaluate(async () => (await fetch(document.querySelector('[data-testid=verified]').href)).text());
  expect(report.includes('| `takeover-v5` |'), 'CONFORMANCE.md is served next to the page');
  // The packet inspector: the CONNACK's real bytes, and a byte lights its field.
  const pkts = await page.$$('[data-testid=packet-list] .pkt');
  await pkts[pkts.length - 1].click();
  await page.waitForSelector('[data-testid=hex]');
  const hex = (await page.textContent('[data-testid=hex] .bytes')).replace(/\s/g, '');
  expect(hex === '2006010003210014', `CONNACK SP=1, reason 0, Receive Maximum 20: ${hex}`);
  await page.hover('[data-testid=hex] .bytes span:nth-child(4)');
  const lit = await page.$$eval('[data-testid=hex] .hexfields .hl', (x) => x.map((e) => e.textContent));
  expect(lit.length === 1 && lit[0].includes('Reason Code'), `hovered byte lights its field: ${lit}`);
  await page.locator('[data-testid=inspector]').screenshot({ path: path.join(artifacts, 'inspector-hex.png') });
  // Same scenario on the specification profile: 0x8E is sent.
  await page.selectOption('[data-testid=broker-select]', 'spec');
  const pk2 = await page.textContent('[data-testid=packet-list]');
  expect(pk2.includes('DISCONNECT rc=0x8E'), 'spec profile sends 0x8E');
  expect(await urlHas(page, 'broker=spec'), `broker in the URL: ${page.url()}`);
  await page.screenshot({ path: path.join(artifacts, 'takeover-spec.png'), fullPage: true });
  await page.close();
});

await test('the verified badge only where a real mosquitto matched', async () => {
  const page = await fresh('?s=sleepy-sensor');
  expect(!(await page.$('[data-testid=verified]')), 'sleepy-sensor (30 min of waits with a session expiry pending) is not played against mosquitto');
  await page.close();
});

await test('session expiry step: the broker side shows the session gone and why', async () => {
  const page = await fresh('?s=session-expiry-v5&step=10');
  const state = await page.$$eval('[data-testid=pair-sensor] [data-testid=broker-state]', (d) => d.map((x) => x.textContent));
  expect(state[0] === 'no session', `broker state: ${state}`);
  const narr = await page.textContent('[data-testid=narration]');
  expect(narr.includes('[MQTT-4.1.0-2]'), narr);
  // What the cited statement says, from the engine's catalogue, beside the rule.
  const says = await page.$$eval('[data-testid=statements] dt', (d) => d.map((x) => x.textContent));
  expect(says.includes('[MQTT-4.1.0-2] 5.0'), `statements listed: ${says}`);
  const dd = await page.textContent('[data-testid=statements] dt:has-text("[MQTT-4.1.0-2]") + dd');
  expect(/session/i.test(dd) && dd.length > 20, `its summary: ${dd}`);
  await page.click('[data-testid="why-m2"]');
  const fate = await page.textContent('[data-testid="fate-m2"]');
  expect(fate.includes('dropped') && fate.includes('the session expired'), fate);
  await page.close();
});

await test('URL state round-trips and nonsense parameters get a message', async () => {
  const page = await fresh('?s=qos-downgrade&step=3&broker=emqx');
  expect((await stepLabel(page)).startsWith('Step 3 of'), await stepLabel(page));
  expect((await page.inputValue('[data-testid=broker-select]')) === 'emqx', 'broker select');
  await page.click('[data-testid=next]');
  expect(await urlHas(page, 'step=4'), page.url());
  const bad = await fresh('?s=nope&step=abc&broker=acme&zzz=1');
  const notes = await bad.textContent('[data-testid=notices]');
  expect(notes.includes('"nope"') && notes.includes('acme') && notes.includes('zzz'), notes);
  expect((await stepLabel(bad)).startsWith('Step 0'), 'falls back to step 0');
  expect(bad.errors.length === 0, bad.errors.join(' | '));
  const odd = await fresh('?s=qos-downgrade&embed=yes&step=+1&panels=&broker=spec&broker=emqx');
  const said = await odd.textContent('[data-testid=notices]');
  for (const part of ['embed="yes"', 'step="+1"', 'panels= names no panel', 'more than once']) expect(said.includes(part), `${part}: ${said}`);
  expect((await odd.inputValue('[data-testid=broker-select]')) === 'spec', 'the first broker is used');
  await page.close();
  await bad.close();
  await odd.close();
});

await test('links that used to kill or freeze the page give a sentence, and the page keeps answering', async () => {
  const zlib = await import('node:zlib');
  const link = (clients, steps) => '?srcz=' + zlib.deflateRawSync(JSON.stringify({ format: 1, id: 'b', title: 'b', version: '5.0', clients, steps })).toString('base64url');
  const waits = (n) => Array.from({ length: n }, (_, i) => ({ say: `s${i}`, wait: '1s' }));
  const cases = [
    [link([{ name: 'a' }], [{ connect: { client: 'a', keep_alive: 1 } }, { wait: '366d' }]), '63.2 million packets'],
    [link([{ name: 'a', auto_reconnect: { initial: 0, multiplier: 1, max: 0 } }], [{ stop_broker: {} }, { connect: { client: 'a' } }, { wait: 1 }]), 'no delay'],
    [link([{ name: 'a', auto_reconnect: { initial: 1, multiplier: 1, max: 1 } }], [{ stop_broker: {} }, { connect: { client: 'a' } }, { wait: '366d' }]), 'timer firings'],
    [link([{ name: 'c', count: 100 }], [{ connect: { client: 'c', keep_alive: 1 } }, { wait: '1d' }]), 'keep-alive pings of 100 clients'],
    [link([{ name: 'c', count: 9999 }, { name: 'p' }], [{ connect: { client: 'c' } }, { subscribe: { client: 'c', filter: 't' } }, { connect: { client: 'p' } }, { publish: { client: 'p', topic: 't', count: 100000 } }]), 'matching subscription'],
    [link([{ name: 'c', count: 10000 }], [{ connect: { client: 'c' } }, ...waits(700)]), 'client-steps'],
  ];
  for (const [q, want] of cases) {
    const page = await fresh(q);
    await page.waitForSelector('[data-testid=error]');
    const e = await page.textContent('[data-testid=error]');
    expect(e.includes(want), `${want}: ${e}`);
    // Still answering: another lesson opens.
    await page.selectOption('[data-testid=scenario-select]', 'qos-downgrade');
    await page.click('[data-testid=next]');
    expect((await stepLabel(page)).startsWith('Step 1'), await stepLabel(page));
    expect(page.errors.length === 0 && !(await page.$('#lab-stopped')), page.errors.join(' | '));
    await page.close();
  }
  // 70,000 QoS 1 messages for one offline session play (identifiers wait, never reused), and step.
  const q = link([{ name: 'sub' }, { name: 'pub' }], [
    { connect: { client: 'sub', clean_start: false, session_expiry: 3600 } }, { subscribe: { client: 'sub', filter: 't', qos: 1 } },
    { disconnect: { client: 'sub' } }, { connect: { client: 'pub' } }, { publish: { client: 'pub', topic: 't', qos: 1, count: 70000 } },
    { connect: { client: 'sub', clean_start: false, session_expiry: 3600 } }]);
  const page = await fresh(q + '&step=6');
  expect(/Step 6 of 6/.test(await stepLabel(page)), await stepLabel(page));
  await page.click('[data-testid=prev]');
  expect(/Step 5 of 6/.test(await stepLabel(page)), await stepLabel(page));
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('an error that escapes the page is shown with a way back', async () => {
  const page = await fresh('?s=qos-downgrade');
  page.errors.length = 0;
  await page.evaluate(() => setTimeout(() => { throw new WebAssembly.RuntimeError('unreachable'); }));
  await page.waitForSelector('#lab-stopped[role=alert]');
  const t = await page.textContent('#lab-stopped');
  expect(t.includes('stopped working') && t.includes('unreachable') && t.includes('Start again'), t);
  expect((await page.getAttribute('#lab-stopped a', 'href')) === new URL(page.url()).pathname, 'the way back is the page without the link');
  await page.close();
});

await test('a scenario too big for a link is refused with a sentence, and packed links are short', async () => {
  const page = await fresh('?s=qos-downgrade');
  const big = JSON.parse(fs.readFileSync('engine/scenarios/04-qos-downgrade.json', 'utf8'));
  // Text that does not compress: 24 KB of pseudo-random letters.
  let x = 7, noise = '';
  for (let i = 0; i < 24000; i++) { x = (x * 1103515245 + 12345) % 2147483648; noise += String.fromCharCode(97 + (x >> 16) % 26); }
  big.id = 'too-big'; big.summary = noise;
  const file = path.join(artifacts, 'too-big.json');
  fs.writeFileSync(file, JSON.stringify(big, null, 2));
  await page.setInputFiles('[data-testid=import]', file);
  await page.waitForFunction(() => (document.querySelector('[data-testid=notices]') || {}).textContent?.includes('a reload will not bring it back'));
  await page.click('[data-testid=copy-link]');
  await page.waitForFunction(() => document.querySelector('[data-testid=notices]').textContent.includes('No link copied'));
  await page.click('[data-testid=embed]');
  await page.waitForFunction(() => document.querySelector('[data-testid=notices]').textContent.includes('No embed code'));
  expect(!(await page.textContent('.tools .status')).includes('copied'), 'never says copied');
  expect(!(await page.evaluate(() => location.search)).includes('srcz='), 'the address bar does not carry it');
  await page.click('[data-testid=next]');
  const notes = await page.textContent('[data-testid=notices]');
  expect(notes.split('a reload will not bring it back').length === 2, `said once: ${notes}`);
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('embed mode has compact chrome and obeys postMessage', async () => {
  const page = await fresh('?s=clean-vs-persistent&step=2&embed=1');
  expect(!(await page.$('[data-testid=scenario-select]')), 'no picker in embed mode');
  expect(!(await page.$('[data-testid=sandbox]')), 'no sandbox in embed mode');
  await page.evaluate(() => window.postMessage({ type: 'mqtt-session-lab:goto', step: 6 }, '*'));
  await page.waitForFunction(() => document.querySelector('[data-testid=step-no]').textContent.startsWith('Step 6 '));
  await page.evaluate(() => window.postMessage({ type: 'mqtt-session-lab:goto', step: -3 }, '*'));
  await page.waitForFunction(() => (document.querySelector('[data-testid=notices]') || {}).textContent?.includes('a whole number from 0'));
  expect((await stepLabel(page)).startsWith('Step 6 '), 'a negative step is refused, with a notice');
  // A burst of 10,000 commands is applied once: the last goto wins, the nonsense is counted.
  await page.evaluate(() => {
    for (let i = 0; i < 10000; i++) window.postMessage({ type: 'mqtt-session-lab:goto', step: i % 9 }, '*');
    window.postMessage({ type: 'mqtt-session-lab:goto', step: 3 }, '*');
    window.postMessage({ type: 'mqtt-session-lab:jump' }, '*');
    window.postMessage({ type: 'mqtt-session-lab:goto', step: 1.5 }, '*');
    window.postMessage({ type: 'other-tool:hello' }, '*');
  });
  // (Usually one notice, "2 messages ... were refused"; a busy machine may split the burst.)
  await page.waitForFunction(() => document.querySelector('[data-testid=notices]').textContent.includes('"mqtt-session-lab:jump" is not a command'));
  await page.waitForFunction(() => document.querySelector('[data-testid=step-no]').textContent.startsWith('Step 3 '));
  expect(!(await page.textContent('[data-testid=notices]')).includes('other-tool'), 'other senders are left alone');
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.screenshot({ path: path.join(artifacts, 'embed.png') });
  await axeClean(page, 'embed');
  await page.close();
});

await test('a malformed scenario file is explained and the page keeps working', async () => {
  const page = await fresh('?s=qos-downgrade');
  const file = path.join(artifacts, 'bad-scenario.json');
  fs.writeFileSync(file, '{\n  "format": 1,\n  "id": "bad",\n  "title": "Bad",\n  "version": "5.0",\n  "clients": [{"name": "a"}],\n  "steps": [\n    {"publish": {"client": "a", "topic": "t", "qos": 7}}\n  ]\n}\n');
  await page.setInputFiles('[data-testid=import]', file);
  await page.waitForSelector('[data-testid=notices]');
  const notes = await page.textContent('[data-testid=notices]');
  expect(notes.includes('line 8') && notes.includes('QoS must be 0, 1 or 2'), notes);
  await page.click('[data-testid=next]');
  expect((await stepLabel(page)).startsWith('Step 1'), 'still steps the old scenario');
  const good = path.join(artifacts, 'good-scenario.json');
  fs.writeFileSync(good, fs.readFileSync('engine/scenarios/04-qos-downgrade.json', 'utf8').replace('"qos-downgrade"', '"my-copy"'));
  // Bytes the CLI refuses, the page refuses with the same reader (Latin-1 é is byte E9).
  const latin1 = path.join(artifacts, 'latin1-scenario.json');
  const src04 = fs.readFileSync('engine/scenarios/04-qos-downgrade.json', 'utf8');
  fs.writeFileSync(latin1, Buffer.from(src04.replace('"title": "', '"title": "caf\u00e9 '), 'latin1'));
  await page.setInputFiles('[data-testid=import]', latin1);
  await page.waitForFunction(() => document.querySelector('[data-testid=notices]').textContent.includes('latin1-scenario.json was not imported'));
  // A UTF-8 byte-order mark is accepted, as by mqtt-lab check.
  fs.writeFileSync(good, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(fs.readFileSync(good))]));
  await page.setInputFiles('[data-testid=import]', good);
  await page.waitForFunction(() => location.search.includes('srcz='));
  expect((await stepLabel(page)).startsWith('Step 0'), 'imported file starts at step 0');
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('sandbox branches the history and rejects bad values', async () => {
  const page = await fresh('?s=takeover-v5&step=5');
  await page.selectOption('[data-testid=sb-action]', 'connect');
  await page.fill('[data-testid=sandbox] label:has-text("Keep alive") input', '-5');
  await page.click('[data-testid=sb-add]');
  const err = await page.textContent('[data-testid=sb-error]');
  expect(err.includes('Keep alive must be a whole number from 0 to 65535'), err);
  await page.fill('[data-testid=sandbox] label:has-text("Keep alive") input', '30');
  await page.click('[data-testid=sb-add]');
  expect((await stepLabel(page)) === 'Step 6 of 6', await stepLabel(page));
  expect(await urlHas(page, 'srcz='), 'the branched scenario is in the link');
  const link = page.url();
  const again = await fresh(link.slice(srv.base.length));
  expect((await stepLabel(again)) === 'Step 6 of 6', 'the link reproduces the branch');
  await again.close();
  await page.close();
});

await test('sandbox sends bytes that are not a packet and the inspector says why', async () => {
  const page = await fresh('?s=takeover-v5&step=2');
  await page.selectOption('[data-testid=sb-action]', 'send');
  await page.selectOption('[data-testid=sb-client]', 'ops');
  const hex = page.locator('[data-testid=sandbox] label:has-text("Bytes in hex") input');
  await hex.fill('E0 0');
  await page.click('[data-testid=sb-add]');
  const err = await page.textContent('[data-testid=sb-error]');
  expect(err.includes('odd number of hex digits'), err);
  await hex.fill('E0 05 00 03 23 00 01');
  await page.click('[data-testid=sb-add]');
  expect((await stepLabel(page)) === 'Step 3 of 3', await stepLabel(page));
  const body = await page.textContent('body');
  expect(body.includes('bytes E0 05 00 03 23 00 01'), 'the bytes are in the packet list');
  expect(body.includes('Malformed packet from'), 'the broker explains what it refused');
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('the run exports as SVG and Mermaid, and the scenario saves as a file that loads again', async () => {
  const page = await fresh('?s=qos2-interrupted&step=7');
  const got = {};
  for (const id of ['export-svg', 'export-mermaid', 'save']) {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${id}]`)]);
    got[id] = { name: dl.suggestedFilename(), text: fs.readFileSync(await dl.path(), 'utf8') };
  }
  expect(got['export-svg'].name === 'qos2-interrupted-sequence.svg' && got['export-svg'].text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), 'svg');
  expect(got['export-svg'].text.includes('PUBREL id=1'), 'svg has the packets');
  expect(got['export-mermaid'].text.startsWith('sequenceDiagram') && got['export-mermaid'].text.includes('-xbroker: PUBCOMP id=1 (lost)'), 'mermaid');
  const saved = path.join(artifacts, 'saved-scenario.json');
  fs.writeFileSync(saved, got.save.text);
  await page.setInputFiles('[data-testid=import]', saved);
  await page.waitForFunction(() => location.search.includes('srcz='));
  await page.click('[data-testid=last]');
  expect(/Step 11 of 11/.test(await stepLabel(page)), 'the saved file plays the same 11 steps');
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('keyboard-only use: arrows, Home/End, space, ? and Esc', async () => {
  const page = await fresh('?s=clean-vs-persistent');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  expect((await stepLabel(page)).startsWith('Step 3 '), await stepLabel(page));
  await page.keyboard.press('End');
  expect(/Step (\d+) of \1/.test(await stepLabel(page)), 'End');
  await page.keyboard.press('Home');
  expect((await stepLabel(page)).startsWith('Step 0 '), 'Home');
  await page.keyboard.press('?');
  expect(await page.$('[data-testid=help-overlay]'), 'help opens');
  await page.keyboard.press('Escape');
  expect(!(await page.$('[data-testid=help-overlay]')), 'help closes');
  // Tab reaches the controls and Enter operates them.
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.dataset?.testid === 'next')) break;
  }
  expect(await page.evaluate(() => document.activeElement?.dataset?.testid === 'next'), 'Tab reaches "next"');
  await page.keyboard.press('Enter');
  expect((await stepLabel(page)).startsWith('Step 1 '), 'Enter on next');
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'true');
  await page.keyboard.press(' ');
  await page.close();
});

await test("each broker's departures are listed before anything runs and stay open across steps", async () => {
  const page = await fresh('?s=takeover-v5&broker=mosquitto-2.0.11&step=1');
  const summary = await page.textContent('[data-testid=departures] summary');
  expect(/mosquitto 2\.0\.11 differs from the specification: \d+ departures, \d+ choices of its own/.test(summary), summary);
  expect(!(await page.evaluate(() => document.getElementById('departures').open)), 'closed at first');
  await page.click('[data-testid=departures-link]');
  expect(await page.evaluate(() => document.getElementById('departures').open), "the overview's count opens the list");
  const will = await page.textContent('[data-testid=departures] li[data-field=takeover_will]');
  expect(will.includes('[MQTT-3.1.2-8]') && will.includes('Source: mosquitto 2.0.11 handle_connect.c'), will);
  for (let i = 0; i < 3; i++) await page.click('[data-testid=next]');
  expect(await page.evaluate(() => document.getElementById('departures').open), 'still open three steps later');
  await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => await window.axe.run(document.getElementById('departures'), { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.length === 0, bad.map((v) => `${v.id}: ${v.nodes[0]?.target}`).join('; '));
  await page.selectOption('[data-testid=broker-select]', 'spec');
  await page.waitForFunction(() => document.querySelector('[data-testid=departures] summary').textContent.includes('specification (strict)'));
  const spec = await page.textContent('[data-testid=departures]');
  expect(spec.includes('every behaviour as the specification states it') && !spec.includes('Where it departs'), spec);
  await page.close();
});

await test('narration says only what holds on the broker played; toggle and broker changes are history entries', async () => {
  const page = await fresh('?s=takeover-311&step=10&broker=mosquitto-2.0.11');
  const narr = () => page.textContent('[data-testid=narration]');
  let n = await narr();
  expect(!n.includes('will goes out') && n.includes('clears the will'), `mosquitto: ${n}`);
  expect(!/switch the broker/i.test(n), n);
  await page.selectOption('[data-testid=broker-select]', 'spec');
  await page.waitForFunction(() => document.querySelector('[data-testid=narration]').textContent.includes('will goes out'));
  n = await narr();
  expect(!n.includes('clears the will'), `spec: ${n}`);
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('[data-testid=narration]').textContent.includes('clears the will'));
  expect((await page.inputValue('[data-testid=broker-select]')) === 'mosquitto-2.0.11', 'Back undid the broker change');
  // The version toggle keeps the moment (the takeover) and the broker.
  await page.goto(srv.base + '?s=takeover-311&step=6');
  await page.waitForSelector('[data-testid=step-no]');
  await page.click('[data-testid=version-5\\.0]');
  await page.waitForSelector('[data-testid="version-5.0"][aria-pressed=true]');
  const label = await page.textContent('[data-testid=narration] h2');
  expect(/gateway-new connects/.test(label), `lands on the 5.0 takeover: ${label}`);
  expect((await page.inputValue('[data-testid=broker-select]')) === 'spec', 'the broker stays');
  await page.goBack();
  await page.waitForSelector('[data-testid="version-3.1.1"][aria-pressed=true]');
  expect((await stepLabel(page)).startsWith('Step 6 '), await stepLabel(page));
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test('what the user opened, chose, typed and focused stays as it was across steps', async () => {
  const page = await fresh('?s=qos1-redelivered-dup&step=7');
  const why = '[data-testid=messages] .why-btn';
  const first = await page.getAttribute(why, 'data-testid');
  await page.click(`[data-testid=${first}]`);
  await page.selectOption('[data-testid=packets] select[name=filter-kind]', 'PUBLISH');
  await page.fill('[data-testid=sb-form] input[name=payload]', 'typed by hand');
  const pkt = (await page.$$('[data-testid=packet-list] .pkt'))[0];
  await pkt.click();
  await page.waitForSelector('[data-testid=inspector]');
  // Focus the Why? button and step with the keyboard, then with the Next button.
  await page.focus(`[data-testid=${first}]`);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.querySelector('[data-testid=step-no]').textContent.startsWith('Step 8 '));
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  expect(focused === first, `focus stays on ${first}, not ${focused}`);
  await page.click('[data-testid=prev]');
  await page.click('[data-testid=next]');
  expect((await page.getAttribute(`[data-testid=${first}]`, 'aria-expanded')) === 'true', 'Why? still open');
  expect(await page.$(`[data-testid=${first}] + .copies .chain`), 'its chain still shown');
  expect((await page.inputValue('[data-testid=packets] select[name=filter-kind]')) === 'PUBLISH', 'filter kept');
  const kinds = await page.$$eval('[data-testid=packet-list] .sum', (x) => x.map((e) => e.textContent.split(' ')[0]));
  expect(kinds.length > 0 && kinds.every((k) => k === 'PUBLISH'), `only PUBLISH listed: ${kinds}`);
  expect(await page.$('[data-testid=inspector]'), 'inspector still open');
  expect((await page.inputValue('[data-testid=sb-form] input[name=payload]')) === 'typed by hand', 'sandbox field kept');
  await axeClean(page, 'Why? and inspector open');
  expect(page.errors.length === 0, page.errors.join(' | '));
  await page.close();
});

await test("the step's changes and packets are in view at 1366x768, times never wrap, pings behind a switch", async () => {
  const page = await fresh('?s=takeover-311&step=6', { width: 1366, height: 768 });
  const box = async (sel) => (await page.$(sel)).boundingBox();
  const ch = await box('[data-testid=changes] li:first-child');
  const sp = await box('[data-testid=step-packets] .pkt');
  expect(ch.y + ch.height <= 768 && sp.y + sp.height <= 768, `first change ends at ${ch.y + ch.height}, first packet at ${sp.y + sp.height}`);
  const changes = await page.textContent('[data-testid=changes]');
  expect(changes.includes('old connection is closed') && changes.includes('[MQTT-3.1.4-2] 3.1.1'), changes);
  const rows = await page.$$eval('[data-testid=step-packets] .pkt .sum', (x) => x.map((e) => e.textContent));
  expect(rows.some((r) => r.startsWith('CONNACK SP=1')), `this step's packets: ${rows}`);
  // A long lesson: the step's rows are marked and scrolled into the list, times stay on one line.
  await page.goto(srv.base + '?s=sleepy-sensor&step=14');
  await page.waitForSelector('[data-testid=packet-list] li.current');
  const t = await page.$$eval('[data-testid=packet-list] .pkt .t', (x) => x.map((e) => [e.textContent, e.getBoundingClientRect().height]));
  expect(t.every(([s]) => /^\d+:\d\d(:\d\d)?(\.\d{3})?$/.test(s)), `times: ${t.map(([s]) => s)}`);
  const lh = Math.min(...t.map(([, h]) => h));
  expect(t.every(([, h]) => h <= lh * 1.5), 'no time wraps');
  const visible = await page.evaluate(() => {
    const ol = document.querySelector('[data-testid=packet-list]');
    const cur = ol.querySelector('li.current');
    const a = ol.getBoundingClientRect(), b = cur.getBoundingClientRect();
    return b.top >= a.top && b.bottom <= a.bottom + 1;
  });
  expect(visible, "the step's first packet is scrolled into the list");
  const pings = async () => (await page.$$eval('[data-testid=packet-list] .sum', (x) => x.filter((e) => /^PING/.test(e.textContent)).length));
  expect((await pings()) === 0, 'pings hidden by default');
  await page.check('[data-testid=show-pings]');
  expect((await pings()) > 0, 'pings listed once asked for');
  await page.close();
});

await test('phone: no sideways scroll, a readable lifecycle diagram, full client names', async () => {
  const page = await fresh('?s=clean-vs-persistent&step=12', { width: 390, height: 844 });
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(w <= 390, `page is ${w} px wide`);
  const sizes = await page.$$eval('[data-testid=lifecycle] svg text', (x) => x.filter((e) => e.textContent.trim()).map((e) => e.getBoundingClientRect().height));
  expect(Math.min(...sizes) >= 11, `smallest diagram text ${Math.min(...sizes)} px`);
  const chips = await page.$$eval('[data-testid=lifecycle] svg text.chip', (x) => x.map((e) => e.textContent));
  expect(chips.includes('valve-persistent') && !chips.some((c) => c.endsWith('…')), `names: ${chips}`);
  await page.screenshot({ path: path.join(artifacts, 'phone-lesson.png'), fullPage: true });
  await axeClean(page, 'phone');
  const dark = await fresh('?s=takeover-311&step=10&broker=mosquitto-2.0.11', { width: 390, height: 844, dark: true });
  await dark.click('[data-testid=help]');
  await dark.waitForSelector('[data-testid=help-overlay]');
  await axeClean(dark, 'phone, dark, help open');
  await dark.close();
  await page.close();
});

await test('axe-core finds no serious or critical problems (light, dark, phone)', async () => {
  for (const [q, opts, shot] of [['?s=takeover-v5&step=5', {}, 'axe-light.png'], ['?s=qos1-redelivered-dup&step=9', { dark: true }, 'axe-dark.png'], ['?s=sleepy-sensor&step=8', { width: 390, height: 844 }, 'phone.png']]) {
    const page = await fresh(q, opts);
    await page.addScriptTag({ content: axeSource });
    const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    await page.screenshot({ path: path.join(artifacts, shot), fullPage: true });
    expect(bad.length === 0, `${q}: ${bad.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0]?.target}`).join('; ')}`);
    await page.close();
  }
});

await finish();
