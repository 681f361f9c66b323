// Size budget: the whole page transfer (html + js + wasm + css), gzip level 9, must be at most
// 260 KB (260,000 bytes; it was 250 KB until the codec's typed encode errors, shown in the
// packet inspector, and three more mosquitto behaviours added 8 KB to the scenarios page). Deterministic for a given build. `node tests/e2e/budget.mjs [dir]`:
// dist (the scenarios page, default) or dist/calc (the calculators page, its own wasm).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const BUDGET = 260_000;
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
