// Worker of bench/sqlite.mjs: the WAT SQLite guest instantiated with the SQLite capability's
// worker-side imports (as an executor worker builds them), its query loops timed here.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteKvDatabase } from '@spinel/kv-wit';
import { KV_WAT_GUEST_KEYS } from '@spinel/test-utils';
import { createGuestCapability } from '../dist/guest/spin/sqlite-guest.js';
import { createGuestCapability as createKvCapability } from '../dist/guest/spin/key-value-guest.js';
import { KV_OPERATIONS } from '../dist/services/key-value.js';
import { createSharedCounters } from '../dist/worker-counters.js';
import { patchGlueDebugLog } from '../dist/prepare/glue-debug-log-patch.js';
import { patchGlueSyncCalls } from '../dist/prepare/glue-sync-call-patch.js';

const { dir, dbPath, n, rounds, kv } = workerData;
/**
 * A guest's glue instantiated as the runtime keeps it (prepare's patches: jco's per-call debug
 * check read once, sync host calls without the async task bookkeeping) or, with `jco` set, with
 * the debug patch alone: the glue as jco 1.35 makes it, for the A/B lines in the same run.
 */
const load = async (guestDir, imports, { jco = false } = {}) => {
  const glue = join(guestDir, jco ? 'guest-jco.mjs' : 'guest-patched.mjs');
  let source = patchGlueDebugLog(readFileSync(join(guestDir, 'guest.mjs'), 'utf8')).source;
  if (!jco) {
    const patch = patchGlueSyncCalls(source);
    if (!patch.ok) throw new Error(`the sync-call patch did not apply to the bench guest: ${patch.reason}`);
    source = patch.source;
  }
  writeFileSync(glue, source);
  const { instantiate } = await import(pathToFileURL(glue).href);
  return instantiate((name) => new WebAssembly.Module(readFileSync(join(guestDir, name))), imports);
};
const capability = createGuestCapability({ databases: [['default', { path: dbPath, allowAttachFile: false }]], components: [['bench', ['default']]] }, {});
const ctx = { componentId: 'bench' };
const imports = capability.imports(ctx);
const guest = await load(dir, imports);
const guestJco = await load(dir, imports, { jco: true });
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
// A row of eight columns (`SELECT *`): naming the columns costs by width, the query little more.
const hostWide = hostLoop('SELECT * FROM wide WHERE id = ?', (i) => BigInt((i % 1000) + 1));
const times = { point: [], scan: [], hostPoint: [], hostScan: [], hostWide: [], pointJco: [], scanJco: [] };
for (let round = 0; round < rounds + 1; round++) {
  // Patched and jco's glue alternate within each round, so load shifts touch both alike.
  const p = time(() => guest.bench(n));
  const pj = time(() => guestJco.bench(n));
  const s = time(() => guest.benchScan(n));
  const sj = time(() => guestJco.benchScan(n));
  const hp = time(hostPoint);
  const hs = time(hostScan);
  const hw = time(hostWide);
  if (round === 0) continue;
  times.point.push(p);
  times.pointJco.push(pj);
  times.scan.push(s);
  times.scanJco.push(sj);
  times.hostPoint.push(hp);
  times.hostScan.push(hs);
  times.hostWide.push(hw);
}
capability.close();

// Key-value on SQLite from a guest: 1,000 bucket.get against one batch.get-many of the same keys,
// through the glue and the key-value capability's worker imports (counted, as an executor has them).
const kvCapability = createKvCapability(
  { stores: { sqlite: [['default', kv.dbPath]], bridged: [] }, labels: [['bench', ['default']]], counts: createSharedCounters(KV_OPERATIONS.length), countedLabels: ['default'] },
  { channel: undefined },
);
const kvCtx = { componentId: 'bench' };
const kvGuest = await load(kv.dir, kvCapability.imports(kvCtx));
const kvGuestJco = await load(kv.dir, kvCapability.imports(kvCtx), { jco: true });
const perBatch = (fn) => {
  kvCapability.beginRequest(kvCtx);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const found = fn();
  const cpu = process.cpuUsage(cpuStart);
  const ns = Number(process.hrtime.bigint() - start);
  kvCapability.endRequest(kvCtx);
  if (found !== kv.batches * 1000) throw new Error(`the key-value guest found ${found} values, not ${kv.batches * 1000}`);
  return { wall: ns / kv.batches, cpu: ((cpu.user + cpu.system) * 1000) / kv.batches };
};
// The store itself, called from JS on its own connection (no glue, no host): the ceiling of the
// ratio, whatever the glue and host cost.
const kvStore = openSqliteKvDatabase(kv.dbPath);
const store = kvStore.store('default');
const storeSingles = () => {
  let found = 0;
  for (let b = 0; b < kv.batches; b++) for (const key of KV_WAT_GUEST_KEYS) if (store.get(key) !== undefined) found += 1;
  return found;
};
const storeMany = () => {
  let found = 0;
  for (let b = 0; b < kv.batches; b++) for (const [, value] of store.getMany(KV_WAT_GUEST_KEYS)) if (value !== undefined) found += 1;
  return found;
};
times.kvSingles = [];
times.kvMany = [];
times.kvSinglesJco = [];
times.kvManyJco = [];
times.kvStoreSingles = [];
times.kvStoreMany = [];
for (let round = 0; round < rounds + 1; round++) {
  const singles = perBatch(() => kvGuest.singles(kv.batches));
  const singlesJco = perBatch(() => kvGuestJco.singles(kv.batches));
  const many = perBatch(() => kvGuest.many(kv.batches));
  const manyJco = perBatch(() => kvGuestJco.many(kv.batches));
  const sSingles = perBatch(storeSingles);
  const sMany = perBatch(storeMany);
  if (round === 0) continue;
  times.kvSingles.push(singles);
  times.kvMany.push(many);
  times.kvSinglesJco.push(singlesJco);
  times.kvManyJco.push(manyJco);
  times.kvStoreSingles.push(sSingles);
  times.kvStoreMany.push(sMany);
}
kvStore.close();
kvCapability.close();
parentPort.postMessage(times);
