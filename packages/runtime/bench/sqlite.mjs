// `pnpm bench` (runtime): SQLite queries from a guest, served through runApp (the query runs in
// an executor worker, through jco's glue and the SQLite host), against the same query with
// better-sqlite3 called directly from Node on the same file. Ratios of medians from one run.
//
// Plain node on the built package (not tsx): a loader that transforms the guests' glue
// (esbuild's keepNames wraps every closure it creates per call) would inflate the guest's side.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteKvDatabase } from '@spinel/kv-wit';
import { buildKvWatGuest, buildSqliteGuest, buildSqliteWatGuest, KV_WAT_GUEST_KEYS } from '@spinel/test-utils';
import { runApp } from '../dist/index.js';

const ROUNDS = 9;
const N = 2000;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** Medians of {wall, cpu} timings. */
const medians = (timings) => ({ wall: median(timings.map((t) => t.wall)), cpu: median(timings.map((t) => t.cpu)) });

const dir = await mkdtemp(join(tmpdir(), 'spinel-sqlite-bench-'));
const guest = await buildSqliteGuest('v3');
await writeFile(
  join(dir, 'spin.toml'),
  `spin_manifest_version = 2
[application]
name = "sqlite-bench"
[[trigger.http]]
route = "/..."
component = "bench"
[component.bench]
source = ${JSON.stringify(guest)}
sqlite_databases = ["default"]
`,
);
const stateDir = join(dir, '.spin');
const running = await runApp({
  manifestPath: join(dir, 'spin.toml'),
  lock: { workingDir: dir },
  stateDir,
  workers: 1,
  listen: '127.0.0.1:0',
  sqlite: {
    cwd: dir,
    statements: [
      'CREATE TABLE bench (id INTEGER PRIMARY KEY, v INTEGER)',
      `INSERT INTO bench SELECT value, value * 2 FROM json_each('${JSON.stringify(Array.from({ length: 1000 }, (_, i) => i + 1))}')`,
      'CREATE TABLE wide (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL, d BLOB, e INTEGER, f TEXT, g TEXT)',
      "INSERT INTO wide SELECT id, v, 'b' || id, id / 2.0, x'0102', 5, 'f', NULL FROM bench",
    ],
  },
});
try {
  const raw = new Database(join(stateDir, 'sqlite_db.db'));
  const point = raw.prepare('SELECT v FROM bench WHERE id = ?').raw(true).safeIntegers(true);
  const scan = raw.prepare('SELECT sum(v) FROM bench WHERE id <= ?').raw(true).safeIntegers(true);
  const wide = raw.prepare('SELECT * FROM wide WHERE id = ?').raw(true).safeIntegers(true);
  // Wall-clock and CPU ns of one request. The guest runs in this process's worker, so the CPU
  // time covers the client, the main thread and the guest; the client's part cancels out below.
  const request = async (query) => {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    const res = await fetch(`${running.baseUrl}/bench?${query}`);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`guest answered ${res.status}: ${body}`);
    const cpu = process.cpuUsage(cpuStart);
    return { wall: Number(process.hrtime.bigint() - start), cpu: (cpu.user + cpu.system) * 1000 };
  };
  const direct = (stmt, arg) => {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    let sum = 0n;
    for (let i = 0; i < N; i++) sum += stmt.get(arg(i))[0];
    if (sum === 0n) throw new Error('no rows');
    const cpu = process.cpuUsage(cpuStart);
    return { wall: Number(process.hrtime.bigint() - start) / N, cpu: ((cpu.user + cpu.system) * 1000) / N };
  };
  const measure = async (q) => {
    const guest = [];
    const raw = [];
    for (let round = 0; round < ROUNDS + 1; round++) {
      // A request's own cost (instance, HTTP, the guest's JS) is what n=0 takes: subtract it.
      const empty = await request(`n=0&q=${q}`);
      const full = await request(`n=${N}&q=${q}`);
      const alone = direct(q === 'scan' ? scan : point, q === 'scan' ? () => 1000n : (i) => BigInt((i % 1000) + 1));
      if (round === 0) continue; // warm-up
      guest.push({ wall: (full.wall - empty.wall) / N, cpu: (full.cpu - empty.cpu) / N });
      raw.push(alone);
    }
    return { guest: medians(guest), raw: medians(raw) };
  };
  const directMedian = (stmt, arg) => {
    const timings = [];
    for (let round = 0; round < ROUNDS; round++) timings.push(direct(stmt, arg));
    return medians(timings);
  };
  // The same queries from a WAT guest, in a worker, through jco's glue and the SQLite capability's
  // worker-side imports: what the host path costs without a guest language's own work.
  const wat = await buildSqliteWatGuest();
  // Key-value on SQLite shares the path: a store of the 1,000 keys the key-value guest reads.
  const kvGuest = await buildKvWatGuest();
  const kvPath = join(stateDir, 'sqlite_key_value.db');
  const kvDb = openSqliteKvDatabase(kvPath);
  kvDb.store('default').setMany(KV_WAT_GUEST_KEYS.map((key) => [key, new Uint8Array(100).fill(7)]));
  kvDb.close();
  const worker = new Worker(new URL('./sqlite-wat-worker.mjs', import.meta.url), {
    workerData: { dir: wat.dir, dbPath: join(stateDir, 'sqlite_db.db'), n: N, rounds: ROUNDS, kv: { dir: kvGuest.dir, dbPath: kvPath, batches: 5 } },
  });
  const [watTimes] = await once(worker, 'message');
  await worker.terminate();
  await rm(wat.dir, { recursive: true, force: true });
  await rm(kvGuest.dir, { recursive: true, force: true });
  const rawPoint = directMedian(point, (i) => BigInt((i % 1000) + 1));
  const rawScan = directMedian(scan, () => 1000n);
  const rawWide = directMedian(wide, (i) => BigInt((i % 1000) + 1));
  for (const [q, title, wat, watJco, host, raw] of [
    ['point', 'point query (SELECT v FROM bench WHERE id = ?)', medians(watTimes.point), medians(watTimes.pointJco), medians(watTimes.hostPoint), rawPoint],
    ['scan', 'aggregate over 1,000 rows (SELECT sum(v) FROM bench WHERE id <= ?)', medians(watTimes.scan), medians(watTimes.scanJco), medians(watTimes.hostScan), rawScan],
  ]) {
    const { guest: g, raw: r } = await measure(q);
    const us = (ns) => (ns / 1000).toFixed(2).padStart(9);
    const both = (t) => `${us(t.wall)} µs/op wall ${us(t.cpu)} µs/op CPU`;
    const ratios = (t, ref) => `ratio ${(t.wall / ref.wall).toFixed(2)}× wall, ${(t.cpu / ref.cpu).toFixed(2)}× CPU`;
    console.log(`\nSQLite from a guest in a worker vs better-sqlite3 called from Node: ${title}`);
    console.log(`  componentize-js guest through runApp (per query)  ${both(g)}   ${ratios(g, r)}  (goal: ≤ 1.25×)`);
    console.log(`  better-sqlite3 directly, same run                 ${both(r)}`);
    console.log(`  WAT guest, glue + host only (per query)           ${both(wat)}   ${ratios(wat, raw)}`);
    console.log(`  the same, jco's glue without the sync-call patch  ${both(watJco)}   ${ratios(watJco, raw)}; patched ÷ unpatched ${(wat.cpu / watJco.cpu).toFixed(2)}× CPU`);
    console.log(`  host alone (imports called from JS, no glue)      ${both(host)}   ${ratios(host, raw)}`);
    console.log(`  better-sqlite3 directly, beside them              ${both(raw)}`);
    // Where a componentize-js query's CPU time goes, by difference: the query itself, the host's
    // own cost over it, the glue's lifting and lowering, and the rest (the guest's JS and SDK).
    const hostShare = host.cpu - raw.cpu;
    const glueShare = wat.cpu - host.cpu;
    const pct = (ns) => `${((100 * ns) / g.cpu).toFixed(0)}%`;
    console.log(`  componentize-js query (CPU) = query ${us(raw.cpu)} + host ${us(hostShare)} + glue ${us(glueShare)} + guest ${us(g.cpu - wat.cpu)} µs (query ${pct(raw.cpu)}, host ${pct(hostShare)}, glue ${pct(glueShare)})`);
  }
  {
    const host = medians(watTimes.hostWide);
    const us = (ns) => (ns / 1000).toFixed(2).padStart(9);
    console.log('\nSQLite host alone (imports called from JS in a worker) vs better-sqlite3 from Node: a row of 8 columns (SELECT * FROM wide WHERE id = ?)');
    console.log(`  host alone (per query)                            ${us(host.wall)} µs/op wall ${us(host.cpu)} µs/op CPU   ratio ${(host.wall / rawWide.wall).toFixed(2)}× wall, ${(host.cpu / rawWide.cpu).toFixed(2)}× CPU`);
    console.log(`  better-sqlite3 directly, beside it                ${us(rawWide.wall)} µs/op wall ${us(rawWide.cpu)} µs/op CPU`);
  }
  {
    const singles = medians(watTimes.kvSingles);
    const many = medians(watTimes.kvMany);
    const singlesJco = medians(watTimes.kvSinglesJco);
    const manyJco = medians(watTimes.kvManyJco);
    const us = (ns) => (ns / 1000).toFixed(2).padStart(9);
    console.log('\nKey-value on SQLite from a WAT guest in a worker (wasi:keyvalue, glue + key-value capability): 1,000 bucket.get vs one batch.get-many of 1,000 keys');
    console.log(`  1,000 bucket.get                                  ${us(singles.wall)} µs/batch wall ${us(singles.cpu)} µs/batch CPU`);
    console.log(`  one get-many of 1,000                             ${us(many.wall)} µs/batch wall ${us(many.cpu)} µs/batch CPU`);
    console.log(`  ratio 1,000 gets / get-many = ${(singles.wall / many.wall).toFixed(2)}× wall, ${(singles.cpu / many.cpu).toFixed(2)}× CPU  (goal: get-many ≥ 10× faster)`);
    console.log(`  jco's glue without the sync-call patch, same run: 1,000 gets ${us(singlesJco.cpu)} µs CPU, get-many ${us(manyJco.cpu)} µs CPU (patched ÷ unpatched ${(singles.cpu / singlesJco.cpu).toFixed(2)}× and ${(many.cpu / manyJco.cpu).toFixed(2)}×)`);
    const storeSingles = medians(watTimes.kvStoreSingles);
    const storeMany = medians(watTimes.kvStoreMany);
    console.log(`  the store alone from JS (no glue, no host), same worker: 1,000 get ${us(storeSingles.cpu)} µs CPU, getMany ${us(storeMany.cpu)} µs CPU (ratio ${(storeSingles.cpu / storeMany.cpu).toFixed(2)}× CPU, ${(storeSingles.wall / storeMany.wall).toFixed(2)}× wall)`);
    console.log(`  ceiling: 1,000 gets from the guest ÷ the store's getMany = ${(singles.cpu / storeMany.cpu).toFixed(2)}× CPU, ${(singles.wall / storeMany.wall).toFixed(2)}× wall (a get-many whose glue and host cost nothing)`);
  }
  raw.close();
} finally {
  await running.close();
  await rm(dir, { recursive: true, force: true });
}
