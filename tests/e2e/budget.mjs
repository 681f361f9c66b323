// Size budget: the whole page transfer (html + js + wasm + css), gzip level 9, must be at most
// 455 KB (455,000 bytes). It was 250 KB until the codec's typed encode errors (shown in the packet
// inspector) and three more mosquitto behaviours added 8 KB, 260 KB until the behaviour
// catalogue (every profile's departures and choices, listed in the page before anything runs)
// added 8.6 KB of text and code, and 268 KB until the `send` step (a scenario file or the
// sandbox sends a model packet or bytes) brought the whole decoder and the packet model's
// deserializer into the page: 38.6 KB, the first thing to trim; and 308 KB until the statement
// catalogue (the one-line summary of each of the 184 statements cited, shown beside the rules
// of each step) and the DISCONNECT-will behaviour added 8.2 KB, and 316 KB until the page became
// Leptos components (panels as `view!` nodes that keep their DOM, focus and open items across
// steps, instead of one HTML string rebuilt per step): +84 KB with type-erased components
// (`--cfg erase_components`, .cargo/config.toml), and 400 KB until the engine's claims (checked
// narration) and message fates (each copy's causal chain) came into the page: +51 KB, and 450 KB
// until every run got a budget (limits checked before and while a step plays, with sentences
// that name the step and the cause), files got one strict reader shared with the CLI, and links
// got packed and bounded (+19 KB, of which 8 KB of float formatting were then taken out again). Deterministic for a given build. `node tests/e2e/budget.mjs [dir]`:
// dist (the scenarios page, default) or dist/calc (the calculators page, its own wasm).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const BUDGET = 455_000;
const dir = process.argv[2] || 'dist';
const files = fs.readdirSync(dir).filter((f) => /\.(html|js|wasm|css)$/.test(f));
let total = 0;
for (const f of files) {
  const n = zlib.gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length;
  total += n;
  console.log(`${String(n).padStart(8)}  ${f}`);
}
console.log(`${String(total).padStart(8)}  total gzip bytes of ${dir} (budget ${BUDGET})`);
if (total > BUDGET) {
  console.log(`size budget: 0 passed, 1 failed (${total - BUDGET} bytes over)`);
  process.exit(1);
}
console.log(`size budget: 1 passed, 0 failed (${BUDGET - total} bytes to spare)`);
