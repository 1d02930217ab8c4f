// Worker of bench/sqlite.mjs: the WAT SQLite guest instantiated with the SQLite capability's
// worker-side imports (as an executor worker builds them), its query loops timed here.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { createGuestCapability } from '../dist/guest/spin/sqlite-guest.js';
import { patchGlueDebugLog } from '../dist/prepare/glue-debug-log-patch.js';

const { dir, dbPath, n, rounds } = workerData;
// The glue as the runtime keeps it (prepare patches jco's per-call debug check).
const glue = join(dir, 'guest-patched.mjs');
writeFileSync(glue, patchGlueDebugLog(readFileSync(join(dir, 'guest.mjs'), 'utf8')).source);
const capability = createGuestCapability({ databases: [['default', { path: dbPath, allowAttachFile: false }]], components: [['bench', ['default']]] }, {});
const ctx = { componentId: 'bench' };
const imports = capability.imports(ctx);
const { instantiate } = await import(pathToFileURL(glue).href);
const guest = instantiate((name) => new WebAssembly.Module(readFileSync(join(dir, name))), imports);
const time = (fn) => {
  capability.beginRequest(ctx);
  const start = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - start);
  capability.endRequest(ctx);
  return ns / n;
};
const point = [];
const scan = [];
for (let round = 0; round < rounds + 1; round++) {
  const p = time(() => guest.bench(n));
  const s = time(() => guest.benchScan(n));
  if (round === 0) continue;
  point.push(p);
  scan.push(s);
}
capability.close();
parentPort.postMessage({ point, scan });
