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
// Wall-clock and CPU ns per query. The main thread waits on this worker meanwhile, so the
// process's CPU time is this thread's (and V8's helpers'): what other load disturbs least.
const time = (fn) => {
  capability.beginRequest(ctx);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  fn();
  const cpu = process.cpuUsage(cpuStart);
  const ns = Number(process.hrtime.bigint() - start);
  capability.endRequest(ctx);
  return { wall: ns / n, cpu: ((cpu.user + cpu.system) * 1000) / n };
};
// The host alone: the same import objects called from JS, as the glue calls them once it has
// lifted the parameters (no glue, no guest): what the glue adds is the difference.
const { Connection } = imports['spin:sqlite/sqlite'];
const hostLoop = (sql, param) => () => {
  const conn = Connection.open('default');
  let sum = 0n;
  for (let i = 0; i < n; i++) sum += conn.execute(sql, [{ tag: 'integer', val: param(i) }]).rows[0].values[0].val;
  if (sum === 0n) throw new Error('no rows');
};
const hostPoint = hostLoop('SELECT v FROM bench WHERE id = ?', (i) => BigInt((i % 1000) + 1));
const hostScan = hostLoop('SELECT sum(v) FROM bench WHERE id <= ?', () => 1000n);
const times = { point: [], scan: [], hostPoint: [], hostScan: [] };
for (let round = 0; round < rounds + 1; round++) {
  const p = time(() => guest.bench(n));
  const s = time(() => guest.benchScan(n));
  const hp = time(hostPoint);
  const hs = time(hostScan);
  if (round === 0) continue;
  times.point.push(p);
  times.scan.push(s);
  times.hostPoint.push(hp);
  times.hostScan.push(hs);
}
capability.close();
parentPort.postMessage(times);
