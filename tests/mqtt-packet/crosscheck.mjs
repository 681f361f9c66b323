// The engine's codec against npm mqtt-packet 9.0.2 (the parser and writer of MQTT.js), both
// directions, seeded so every run tries the same packets:
//
// 1. ours -> theirs: `mqtt-lab codec samples` writes random valid model packets of every type
//    for 3.1.1 and 5.0; a fresh mqtt-packet parser reads each and must see the same packet.
// 2. theirs -> ours: random packets written by mqtt-packet's generate() (with fields the model
//    does not keep: user name, password, user properties, reason strings, topic aliases, ...)
//    are decoded by `mqtt-lab codec decode`; where both accept, both must read the same packet.
//    A share of them carries one deliberate fault (a wildcard in a topic name, packet id 0, a
//    non-minimal length, ...): the engine must refuse each with the expected error, and where
//    mqtt-packet accepts it the disagreement is listed with the statement mqtt-packet breaks.
//
// Any other disagreement fails the run. `--write` rewrites docs/CODEC-CROSSCHECK.md from the
// counts; without it the run fails when that file is stale.
//
//   node tests/mqtt-packet/crosscheck.mjs [--write] [path/to/mqtt-lab]

import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const mqtt = require('mqtt-packet');
const theirVersion = require('mqtt-packet/package.json').version;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const write = args.includes('--write');
const bin = args.find((a) => !a.startsWith('--')) ?? path.join(root, 'target/debug/mqtt-lab');
const docPath = path.join(root, 'docs/CODEC-CROSSCHECK.md');
const SAMPLES = 14_000; // ours -> theirs: 500 of each type and version
const GENERATED = 14_000; // theirs -> ours
const SEED = 2026;

if (!existsSync(bin)) {
  console.error(`${bin} not found: build it first (cargo build -p mqtt-lab)`);
  process.exit(2);
}

function lab(argv, input) {
  const r = spawnSync(bin, argv, { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`mqtt-lab ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout.split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
}

// ---------------------------------------------------------------------------------------------
// One packet through a fresh mqtt-packet parser.

function theirParse(buf, version) {
  const parser = mqtt.parser({ protocolVersion: version === '5.0' ? 5 : 4 });
  const packets = [];
  let error = null;
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => {
    error = error ?? e;
  });
  const left = parser.parse(buf);
  if (error) return { error: error.message };
  if (packets.length !== 1 || left !== 0) {
    return { error: `read ${packets.length} packet(s), ${left} byte(s) left` };
  }
  return { packet: packets[0] };
}

const hexOf = (b) => Buffer.from(b).toString('hex').toUpperCase();

// The engine's trace form of a packet (docs/TRACE-SCHEMA.md) with payloads as hex, for
// comparison: the model's fields only.
function canon(p) {
  const c = structuredClone(p);
  const payload = (x) => (typeof x === 'string' ? hexOf(Buffer.from(x, 'utf8')) : x.hex.toUpperCase());
  delete c.msg;
  if ('payload' in c) c.payload = payload(c.payload);
  if (c.will) c.will.payload = payload(c.will.payload);
  return c;
}

// mqtt-packet's object in the engine's trace form (the model's fields only).
function fromTheirs(o, version) {
  const v5 = version === '5.0';
  const pr = o.properties ?? {};
  const opt = (x) => (x === undefined ? null : x);
  const list = (x) => (x === undefined ? [] : [].concat(x));
  const code = () => (v5 ? o.reasonCode ?? 0 : 0);
  switch (o.cmd) {
    case 'connect': {
      const w = o.will;
      const wp = w?.properties ?? {};
      return {
        type: 'CONNECT',
        version: o.protocolVersion === 5 ? '5.0' : '3.1.1',
        client_id: o.clientId,
        clean_start: o.clean,
        keep_alive: o.keepalive,
        session_expiry: opt(pr.sessionExpiryInterval),
        receive_maximum: opt(pr.receiveMaximum),
        will: w
          ? {
              topic: w.topic,
              payload: hexOf(w.payload),
              qos: w.qos,
              retain: w.retain,
              delay: wp.willDelayInterval ?? 0,
              message_expiry: opt(wp.messageExpiryInterval),
            }
          : null,
      };
    }
    case 'connack':
      return {
        type: 'CONNACK',
        session_present: o.sessionPresent,
        code: v5 ? o.reasonCode : o.returnCode,
        assigned_client_id: opt(pr.assignedClientIdentifier),
        session_expiry: opt(pr.sessionExpiryInterval),
        server_keep_alive: opt(pr.serverKeepAlive),
        receive_maximum: opt(pr.receiveMaximum),
        maximum_qos: opt(pr.maximumQoS),
      };
    case 'publish':
      return {
        type: 'PUBLISH',
        dup: o.dup,
        qos: o.qos,
        retain: o.retain,
        topic: o.topic,
        packet_id: o.qos > 0 ? o.messageId : null,
        payload: hexOf(o.payload),
        message_expiry: opt(pr.messageExpiryInterval),
        subscription_ids: list(pr.subscriptionIdentifier),
      };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { type: o.cmd.toUpperCase(), packet_id: o.messageId, reason: code() };
    case 'subscribe':
      return {
        type: 'SUBSCRIBE',
        packet_id: o.messageId,
        filters: o.subscriptions.map((s) => [
          s.topic,
          { qos: s.qos, no_local: !!s.nl, retain_as_published: !!s.rap, retain_handling: s.rh ?? 0 },
        ]),
        subscription_id: opt(pr.subscriptionIdentifier),
      };
    case 'suback':
      return { type: 'SUBACK', packet_id: o.messageId, codes: o.granted };
    case 'unsubscribe':
      return { type: 'UNSUBSCRIBE', packet_id: o.messageId, filters: o.unsubscriptions };
    case 'unsuback':
      return { type: 'UNSUBACK', packet_id: o.messageId, codes: v5 ? o.granted : [] };
    case 'pingreq':
      return { type: 'PINGREQ' };
    case 'pingresp':
      return { type: 'PINGRESP' };
    case 'disconnect':
      return { type: 'DISCONNECT', reason: code(), session_expiry: opt(pr.sessionExpiryInterval) };
    case 'auth':
      return { auth: { reason: o.reasonCode, method: opt(pr.authenticationMethod) } };
    default:
      throw new Error(`unexpected mqtt-packet command ${o.cmd}`);
  }
}

// Properties the model keeps, per mqtt-packet command (ours -> theirs: nothing else may appear).
const MODEL_PROPS = {
  connect: ['sessionExpiryInterval', 'receiveMaximum'],
  connack: ['assignedClientIdentifier', 'sessionExpiryInterval', 'serverKeepAlive', 'receiveMaximum', 'maximumQoS'],
  publish: ['messageExpiryInterval', 'subscriptionIdentifier'],
  subscribe: ['subscriptionIdentifier'],
  disconnect: ['sessionExpiryInterval'],
};

const failures = [];
function fail(msg) {
  if (failures.length < 12) console.error(`FAIL ${msg}`);
  failures.push(msg);
}

// ---------------------------------------------------------------------------------------------
// 1. ours -> theirs

const ours = lab(['codec', 'samples', String(SEED), String(SAMPLES)]);
const oursByType = {};
for (const s of ours) {
  const key = `${s.packet.type} ${s.version}`;
  oursByType[key] = (oursByType[key] ?? 0) + 1;
  const r = theirParse(Buffer.from(s.hex, 'hex'), s.version);
  if (r.error) {
    fail(`ours -> theirs: mqtt-packet refuses our ${key} ${s.hex}: ${r.error}`);
    continue;
  }
  const extra = Object.keys(r.packet.properties ?? {}).filter(
    (k) => !(MODEL_PROPS[r.packet.cmd] ?? []).includes(k),
  );
  const wextra = Object.keys(r.packet.will?.properties ?? {}).filter(
    (k) => !['willDelayInterval', 'messageExpiryInterval'].includes(k),
  );
  if (extra.length || wextra.length) {
    fail(`ours -> theirs: ${key} ${s.hex} carries properties the model does not: ${[...extra, ...wextra]}`);
  }
  try {
    assert.deepStrictEqual(fromTheirs(r.packet, s.version), canon(s.packet));
  } catch (e) {
    fail(`ours -> theirs: ${key} ${s.hex} read differently:\n${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. theirs -> ours

// A small seeded generator (mulberry32), so the packets are the same on every run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const chance = (p) => rand() < p;
const pick = (xs) => xs[int(0, xs.length - 1)];
const CHARS = ['a', 'b', 'z', '0', '9', '-', '_', ' ', 'é', '€', '😀', '$'];
const level = () => Array.from({ length: int(0, 5) }, () => pick(CHARS)).join('');
function topicName() {
  for (;;) {
    const t = Array.from({ length: int(1, 4) }, level).join('/');
    if (t) return t;
  }
}
function topicFilter() {
  for (;;) {
    const ls = Array.from({ length: int(1, 4) }, () => (chance(0.2) ? '+' : level()));
    if (chance(0.2)) ls.push('#');
    const t = ls.join('/');
    if (t) return t;
  }
}
const bytes = () => Buffer.from(Array.from({ length: int(0, 30) }, () => int(0, 255)));
const u32 = () => pick([0, 1, 4294967295, int(0, 1000), int(0, 4294967295)]);
const u16nz = () => pick([1, 65535, int(1, 65535)]);
const subId = () => pick([1, 127, 128, 16383, 16384, 268435455, int(1, 268435455)]);
const clientId = () => Array.from({ length: int(1, 23) }, () => pick(['a', 'Z', '0', '-', 'é'])).join('');
const codes = {
  connack4: [0, 1, 2, 3, 4, 5],
  connack5: [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f],
  puback: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrel: [0x00, 0x92],
  suback4: [0, 1, 2, 0x80],
  suback5: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2],
};
const userProps = () => (chance(0.3) ? { userProperties: { k: level(), [level() || 'x']: [level(), level()] } } : {});
const reasonString = () => (chance(0.2) ? { reasonString: level() } : {});
const maybe = (p, f) => (chance(p) ? f() : undefined);
function clean(o) {
  // generate() treats an explicitly undefined property as present.
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

// A valid packet of command `cmd` for protocol version `pv` (4 or 5), with extras.
function valid(cmd, pv) {
  const v5 = pv === 5;
  switch (cmd) {
    case 'connect': {
      const o = {
        cmd, protocolId: 'MQTT', protocolVersion: pv, clean: chance(0.5), clientId: clientId(), keepalive: int(0, 65535),
      };
      if (chance(0.3)) o.username = level();
      if (o.username !== undefined && chance(0.5)) o.password = bytes();
      if (chance(0.4)) {
        o.will = { topic: topicName(), payload: bytes(), qos: int(0, 2), retain: chance(0.5) };
        if (v5 && chance(0.6)) {
          o.will.properties = clean({
            willDelayInterval: maybe(0.5, u32),
            messageExpiryInterval: maybe(0.5, u32),
            contentType: maybe(0.2, level),
            responseTopic: maybe(0.2, topicName),
            correlationData: maybe(0.2, bytes),
            ...userProps(),
          });
        }
      }
      if (v5) {
        o.properties = clean({
          sessionExpiryInterval: maybe(0.5, u32),
          receiveMaximum: maybe(0.4, u16nz),
          maximumPacketSize: maybe(0.2, () => int(1, 4294967295)),
          topicAliasMaximum: maybe(0.2, () => int(0, 65535)),
          requestResponseInformation: maybe(0.2, () => chance(0.5)),
          requestProblemInformation: maybe(0.2, () => chance(0.5)),
          ...userProps(),
        });
        if (chance(0.1)) {
          o.properties.authenticationMethod = level();
          if (chance(0.5)) o.properties.authenticationData = bytes();
        }
      }
      return o;
    }
    case 'connack': {
      const code = pick(v5 ? codes.connack5 : codes.connack4);
      const o = { cmd, sessionPresent: code === 0 && chance(0.5) };
      if (v5) {
        o.reasonCode = code;
        o.properties = clean({
          sessionExpiryInterval: maybe(0.3, u32),
          receiveMaximum: maybe(0.3, u16nz),
          maximumQoS: maybe(0.3, () => int(0, 1)),
          retainAvailable: maybe(0.2, () => chance(0.5)),
          maximumPacketSize: maybe(0.2, () => int(1, 4294967295)),
          assignedClientIdentifier: maybe(0.3, clientId),
          topicAliasMaximum: maybe(0.2, () => int(0, 65535)),
          wildcardSubscriptionAvailable: maybe(0.2, () => chance(0.5)),
          subscriptionIdentifiersAvailable: maybe(0.2, () => chance(0.5)),
          sharedSubscriptionAvailable: maybe(0.2, () => chance(0.5)),
          serverKeepAlive: maybe(0.3, () => int(0, 65535)),
          responseInformation: maybe(0.1, level),
          serverReference: maybe(0.1, level),
          ...reasonString(),
          ...userProps(),
        });
      } else {
        o.returnCode = code;
      }
      return o;
    }
    case 'publish': {
      const qos = int(0, 2);
      const o = { cmd, qos, dup: qos > 0 && chance(0.3), retain: chance(0.3), topic: topicName(), payload: bytes() };
      if (qos > 0) o.messageId = u16nz();
      if (v5) {
        o.properties = clean({
          payloadFormatIndicator: maybe(0.1, () => false),
          messageExpiryInterval: maybe(0.3, u32),
          topicAlias: maybe(0.2, u16nz),
          responseTopic: maybe(0.2, topicName),
          correlationData: maybe(0.2, bytes),
          subscriptionIdentifier: maybe(0.3, () => (chance(0.5) ? subId() : [subId(), subId()])),
          contentType: maybe(0.2, level),
          ...userProps(),
        });
        // 5.0 §3.3.2.1: a Topic Alias may stand for the Topic Name, which is then empty.
        if (o.properties.topicAlias && chance(0.3)) o.topic = '';
      }
      return o;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const o = { cmd, messageId: u16nz() };
      if (v5 && chance(0.7)) {
        o.reasonCode = pick(cmd === 'puback' || cmd === 'pubrec' ? codes.puback : codes.pubrel);
        if (chance(0.4)) o.properties = clean({ ...reasonString(), ...userProps() });
      }
      return o;
    }
    case 'subscribe': {
      const o = {
        cmd,
        messageId: u16nz(),
        subscriptions: Array.from({ length: int(1, 4) }, () => {
          const s = { topic: topicFilter(), qos: int(0, 2) };
          if (v5) Object.assign(s, { nl: chance(0.3), rap: chance(0.3), rh: int(0, 2) });
          return s;
        }),
      };
      if (v5) o.properties = clean({ subscriptionIdentifier: maybe(0.4, subId), ...userProps() });
      return o;
    }
    case 'suback':
    case 'unsuback': {
      const o = { cmd, messageId: u16nz() };
      if (cmd === 'suback' || v5) {
        const table = cmd === 'suback' ? (v5 ? codes.suback5 : codes.suback4) : codes.unsuback;
        o.granted = Array.from({ length: int(1, 4) }, () => pick(table));
      }
      if (v5) o.properties = clean({ ...reasonString(), ...userProps() });
      return o;
    }
    case 'unsubscribe': {
      const o = { cmd, messageId: u16nz(), unsubscriptions: Array.from({ length: int(1, 4) }, topicFilter) };
      if (v5) o.properties = clean({ ...userProps() });
      return o;
    }
    case 'pingreq':
    case 'pingresp':
      return { cmd };
    case 'disconnect': {
      const o = { cmd };
      if (v5) {
        o.reasonCode = pick(codes.disconnect);
        o.properties = clean({
          sessionExpiryInterval: maybe(0.3, u32),
          serverReference: maybe(0.1, level),
          ...reasonString(),
          ...userProps(),
        });
      }
      return o;
    }
    case 'auth':
      return {
        cmd,
        reasonCode: pick([0x00, 0x18, 0x19]),
        properties: clean({ authenticationMethod: level(), authenticationData: maybe(0.5, bytes), ...reasonString(), ...userProps() }),
      };
    default:
      throw new Error(cmd);
  }
}

// The bytes of a packet split at its fixed header: [first byte, body].
function split(buf) {
  let n = 0;
  let mul = 1;
  let i = 1;
  for (;;) {
    const b = buf[i++];
    n += (b & 0x7f) * mul;
    mul *= 128;
    if (!(b & 0x80)) break;
  }
  return [buf[0], buf.subarray(i, i + n)];
}
function frame(first, body) {
  const len = [];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), body]);
}
// Bytes of a 5.0 Variable Byte Integer at `at`: [value, length].
function varint(buf, at) {
  let n = 0;
  let mul = 1;
  let i = at;
  for (;;) {
    const b = buf[i++];
    n += (b & 0x7f) * mul;
    mul *= 128;
    if (!(b & 0x80)) return [n, i - at];
  }
}

// Deliberate faults: each names the rule, the commands it applies to, how it is made (an edit
// of the packet object before generate(), or of the bytes after), and the error kind the
// engine's decoder must give (its statement id comes from the decoder itself).
const FAULTS = [
  {
    id: 'publish-topic-wildcard', rule: 'a Topic Name with a wildcard character', kind: 'Topic',
    cmds: ['publish'], edit: (o) => { o.topic = pick(['a/+', '#', 'a/#', '+/b', 'x+y']); },
  },
  {
    id: 'publish-topic-empty', rule: 'an empty Topic Name without a Topic Alias', kind: 'Topic',
    cmds: ['publish'], edit: (o) => { o.topic = ''; if (o.properties) delete o.properties.topicAlias; },
  },
  {
    id: 'will-topic-wildcard', rule: 'a Will Topic with a wildcard character', kind: 'Topic',
    cmds: ['connect'], edit: (o) => { o.will = { topic: pick(['w/+', 'w/#']), payload: bytes(), qos: 0, retain: false }; },
  },
  {
    id: 'filter-invalid', rule: 'a Topic Filter with a misplaced wildcard, or empty', kind: 'Topic',
    cmds: ['subscribe', 'unsubscribe'],
    edit: (o) => {
      const bad = pick(['a/#/b', 'a+', 'a/b#', '', '#/a', 'a/+b']);
      if (o.cmd === 'subscribe') o.subscriptions[0].topic = bad;
      else o.unsubscriptions[0] = bad;
    },
  },
  {
    id: 'utf8-nul', rule: 'U+0000 in a UTF-8 Encoded String', kind: 'Utf8',
    cmds: ['publish', 'connect'],
    edit: (o) => { if (o.cmd === 'publish') o.topic = 'a\u0000b'; else o.clientId = 'id\u0000'; },
  },
  {
    id: 'utf8-ill-formed', rule: 'a UTF-8 Encoded String that is not well-formed UTF-8', kind: 'Utf8',
    cmds: ['publish'],
    edit: (o) => { o.topic = 'a~b'; o.payload = Buffer.from('p'); },
    bytes: (b) => { const i = b.indexOf(0x7e); b[i] = 0xff; return b; },
  },
  {
    id: 'packet-id-zero', rule: 'Packet Identifier 0', kind: 'PacketIdZero',
    cmds: ['publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback'],
    edit: (o) => { if (o.cmd === 'publish') { o.qos = Math.max(o.qos, 1); } o.messageId = 0; },
  },
  {
    id: 'dup-qos0', rule: 'DUP 1 on a QoS 0 PUBLISH', kind: 'DupWithQos0',
    cmds: ['publish'], edit: (o) => { o.qos = 0; o.dup = true; delete o.messageId; },
  },
  {
    id: 'connack-code', rule: 'a CONNACK code outside the table', kind: 'ReasonCode',
    cmds: ['connack'],
    edit: (o, pv) => {
      o.sessionPresent = false;
      if (pv === 5) o.reasonCode = pick([0x01, 0x10, 0x8b, 0xa0, 0xff]);
      else o.returnCode = int(6, 255);
    },
  },
  {
    id: 'empty-list', rule: 'a SUBSCRIBE, UNSUBSCRIBE or SUBACK without its list, or a 5.0 UNSUBACK without reason codes',
    kind: ['NoTopicFilter', 'NoReasonCodes'],
    cmds: ['subscribe', 'unsubscribe', 'suback', 'unsuback'], only: (cmd, pv) => cmd !== 'unsuback' || pv === 5,
    bytes: (b, pv) => {
      const [first, body] = split(b);
      let keep = 2;
      if (pv === 5) { const [n, l] = varint(body, 2); keep += l + n; }
      return frame(first, Buffer.from(body.subarray(0, keep)));
    },
  },
  {
    id: 'ack-trailing', rule: 'a 3.1.1 acknowledgement longer than its 2 bytes', kind: 'Trailing', v: [4],
    cmds: ['puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback'],
    bytes: (b) => { const [first, body] = split(b); return frame(first, Buffer.concat([body, Buffer.from([0])])); },
  },
  {
    id: 'varint-not-minimal', rule: 'a Remaining Length in more bytes than it needs', kind: 'VarIntNotMinimal', v: [5],
    cmds: ['publish', 'puback', 'subscribe', 'connack', 'disconnect', 'pingreq'],
    bytes: (b) => {
      const [first, body] = split(b);
      if (body.length > 127) return null;
      return Buffer.concat([Buffer.from([first, body.length | 0x80, 0x00]), body]);
    },
  },
  {
    id: 'subscription-id-zero', rule: 'Subscription Identifier 0', kind: 'PropertyValue', v: [5],
    cmds: ['subscribe', 'publish'], edit: (o) => { o.properties.subscriptionIdentifier = 0; },
  },
  {
    id: 'topic-alias-zero', rule: 'Topic Alias 0', kind: 'PropertyValue', v: [5],
    cmds: ['publish'], edit: (o) => { o.properties.topicAlias = 0; if (!o.topic) o.topic = 't'; },
  },
  {
    id: 'maximum-packet-size-zero', rule: 'Maximum Packet Size 0', kind: 'PropertyValue', v: [5],
    cmds: ['connect', 'connack'], edit: (o) => { o.properties.maximumPacketSize = 0; },
  },
  {
    id: 'receive-maximum-zero', rule: 'Receive Maximum 0', kind: 'PropertyValue', v: [5],
    cmds: ['connect', 'connack'], edit: (o) => { o.properties.receiveMaximum = 0; },
  },
  {
    id: 'auth-data-without-method', rule: 'Authentication Data without an Authentication Method', kind: 'AuthDataWithoutMethod', v: [5],
    cmds: ['connect'], edit: (o) => { delete o.properties.authenticationMethod; o.properties.authenticationData = Buffer.from([1, 2]); },
  },
  {
    id: 'duplicate-property', rule: 'a property that may appear once, twice', kind: 'DuplicateProperty', v: [5],
    cmds: ['connect', 'subscribe', 'publish'],
    edit: (o) => {
      if (o.cmd === 'connect') o.properties.sessionExpiryInterval = [1, 2];
      else if (o.cmd === 'subscribe') o.properties.subscriptionIdentifier = [1, 2];
      else o.properties.messageExpiryInterval = [10, 20];
    },
  },
  {
    id: 'maximum-qos-2', rule: 'Maximum QoS 2 in CONNACK', kind: 'PropertyValue', v: [5],
    cmds: ['connack'], edit: (o) => { o.properties.maximumQoS = 2; },
  },
];

const CMDS = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'];

const cases = [];
let generateRefused = 0;
for (let i = 0; cases.length < GENERATED; i++) {
  const pv = i % 2 === 0 ? 4 : 5;
  const cmd = CMDS[Math.floor(i / 2) % CMDS.length];
  if (cmd === 'auth' && pv === 4) continue;
  const obj = valid(cmd, pv);
  let fault = null;
  if (chance(0.25)) {
    const fits = FAULTS.filter(
      (f) => f.cmds.includes(cmd) && (!f.v || f.v.includes(pv)) && (!f.only || f.only(cmd, pv)),
    );
    if (fits.length) fault = pick(fits);
  }
  if (fault?.edit) {
    if (pv === 5 && !obj.properties && cmd !== 'pingreq') obj.properties = {};
    fault.edit(obj, pv);
  }
  let buf;
  try {
    buf = mqtt.generate(obj, { protocolVersion: pv });
  } catch (e) {
    generateRefused++;
    if (!fault) fail(`theirs: generate() refused a valid ${cmd} (v${pv}): ${e.message}`);
    continue;
  }
  if (fault?.bytes) {
    buf = fault.bytes(Buffer.from(buf), pv);
    if (!buf) continue;
  }
  cases.push({ cmd, version: pv === 5 ? '5.0' : '3.1.1', hex: hexOf(buf), fault });
}

const verdicts = lab(['codec', 'decode'], cases.map((c) => JSON.stringify({ version: c.version, hex: c.hex })).join('\n'));
assert.equal(verdicts.length, cases.length);

const generatedByType = {};
const faultStats = new Map(); // id -> {count, theyAccept, theyRefuse, statements:Set, example}
let bothAccept = 0;
for (let i = 0; i < cases.length; i++) {
  const c = cases[i];
  const ourV = verdicts[i];
  const key = `${c.cmd.toUpperCase()} ${c.version}`;
  generatedByType[key] = (generatedByType[key] ?? 0) + 1;
  const theirs = theirParse(Buffer.from(c.hex, 'hex'), c.version);
  const oursRefuse = 'error' in ourV;
  if (c.fault) {
    const f = c.fault;
    const st = faultStats.get(f.id) ?? { f, count: 0, theyAccept: 0, theyRefuse: 0, statements: new Set(), example: null, theirErrors: new Set() };
    faultStats.set(f.id, st);
    st.count++;
    const kinds = [].concat(f.kind);
    if (!oursRefuse || !kinds.includes(ourV.kind)) {
      fail(`theirs -> ours: ${f.id} ${key} ${c.hex}: expected the engine to refuse it (${kinds}), got ${JSON.stringify(ourV)}`);
      continue;
    }
    st.statements.add(`${ourV.statement} (0x${ourV.code.toString(16).toUpperCase()})`);
    if (theirs.error) {
      st.theyRefuse++;
      st.theirErrors.add(theirs.error);
    } else {
      st.theyAccept++;
      st.example ??= c.hex;
    }
    continue;
  }
  if (oursRefuse && theirs.error) {
    fail(`theirs -> ours: both refuse a packet generated as valid, ${key} ${c.hex}: ours ${ourV.error}; theirs ${theirs.error}`);
  } else if (oursRefuse) {
    fail(`theirs -> ours: the engine refuses ${key} ${c.hex}, mqtt-packet reads it: ${ourV.error}`);
  } else if (theirs.error) {
    fail(`theirs -> ours: mqtt-packet refuses ${key} ${c.hex}, the engine reads it: ${theirs.error}`);
  } else {
    bothAccept++;
    const ourPacket = ourV.auth ? { auth: ourV.auth } : canon(ourV.packet);
    try {
      assert.deepStrictEqual(ourPacket, fromTheirs(theirs.packet, c.version));
    } catch (e) {
      fail(`theirs -> ours: ${key} ${c.hex} read differently:\n${e.message}`);
    }
  }
}

for (const f of FAULTS) {
  if (!faultStats.has(f.id)) fail(`fault ${f.id} was never tried: raise GENERATED or its odds`);
}

// ---------------------------------------------------------------------------------------------
// The report

const rows = (o) => Object.keys(o).sort().map((k) => `${k}: ${o[k]}`).join(', ');
let md = `# The engine's codec against npm mqtt-packet ${theirVersion}

Generated by \`node tests/mqtt-packet/crosscheck.mjs --write\`; \`bash scripts/test.sh\` runs it
and fails when a packet is read differently, when a disagreement is not one listed here, or when
this file is stale. Seed ${SEED}: every run tries the same packets.

## Ours, read by mqtt-packet

${ours.length} packets from \`mqtt-lab codec samples ${SEED} ${SAMPLES}\` (random valid model packets, every
type, both versions: ${rows(oursByType)}), each read by a fresh mqtt-packet parser: all read, all the
same packet as the engine's, with no property the model does not carry.

## mqtt-packet's, read by ours

${cases.length} packets written by mqtt-packet's \`generate()\`, with fields the model does not keep (user
name, password, user properties, reason strings, Topic Alias, Content Type, Correlation Data, AUTH
packets, ...), decoded by \`mqtt-lab codec decode\`: ${rows(generatedByType)}.

- ${bothAccept} valid packets: both read them, and read the same packet.
- ${[...faultStats.values()].reduce((n, s) => n + s.count, 0)} packets with one deliberate fault each. The engine refuses every one, with the
  statement below. Where mqtt-packet reads the packet anyway, mqtt-packet is at fault.

| fault | tried | the engine refuses it by | mqtt-packet ${theirVersion} | example (hex) |
| --- | ---: | --- | --- | --- |
`;
for (const f of FAULTS) {
  const s = faultStats.get(f.id);
  if (!s) continue;
  const them =
    s.theyAccept === s.count
      ? `reads it (${s.count} of ${s.count}): at fault`
      : s.theyAccept === 0
        ? `refuses it too (${[...s.theirErrors].sort().join('; ')})`
        : `reads ${s.theyAccept} of ${s.count}: at fault for those (refuses the rest: ${[...s.theirErrors].sort().join('; ')})`;
  const ex = s.example ? `\`${s.example.length > 48 ? `${s.example.slice(0, 48)}...` : s.example}\`` : '';
  md += `| ${f.rule} | ${s.count} | ${[...s.statements].sort().join(', ')} | ${them} | ${ex} |\n`;
}
md += `
Fault packets that mqtt-packet's \`generate()\` itself refused to write: ${generateRefused} (not counted above).
The statement ids are those of the packet's version, as the engine's decoder reports them; the
code in brackets is the 5.0 reason code a server gives such a packet (0x81 Malformed Packet, 0x82
Protocol Error).
`;

if (failures.length) {
  console.error(`\n${failures.length} disagreement(s) not explained; see above.`);
  process.exit(1);
}
if (write) {
  writeFileSync(docPath, md);
  console.log(`wrote ${path.relative(root, docPath)}`);
} else if (!existsSync(docPath) || readFileSync(docPath, 'utf8') !== md) {
  console.error(`${path.relative(root, docPath)} is stale: run node tests/mqtt-packet/crosscheck.mjs --write`);
  process.exit(1);
}
console.log(
  `codec vs mqtt-packet ${theirVersion}: ${ours.length} of ours read alike; ${bothAccept} of theirs read alike; ` +
    `${faultStats.size} kinds of fault refused (${[...faultStats.values()].filter((s) => s.theyAccept).length} of them read by mqtt-packet)`,
);
