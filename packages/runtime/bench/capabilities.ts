// Capabilities benchmark: outbound HTTP from workers through the blocking bridge and the policy,
// against plain undici from the main thread to the same loopback upstream; key-value operations
// from a worker through the host binding, against the kv-wit binding called directly.
// Prints ratios measured in this run. The bridged outbound line also runs, alternated in each
// round, with lent connections off (every request a bridge call the main thread sends through
// undici, as before `guest/spin/http-lane.ts`), so the lever is compared under the same load.
// `--worker-src <dir>` adds the lent line once more with the workers' modules loaded from <dir>
// (a copy of an earlier `src/` inside this package, so its imports resolve), alternated in each
// round: a same-run A/B of a worker-side change. Each line says its workers' CPU per request.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';
import { Agent } from 'undici';
import { createKvHost, createKvStoreManager } from '@spinel/kv-wit';
import { AllowedHosts } from '@spinel/manifest';
import { startRedis } from '@spinel/test-utils';
import { createBridgeServer } from '../src/channel/bridge-server.js';
import { KV_BRIDGE_METHOD, kvBridgeHandler, prepareKeyValue } from '../src/services/key-value.js';
import { createOutboundHttp } from '../src/services/outbound-http.js';
import { outboundBridgeHandlers } from '../src/services/outbound-service.js';
import { cpuNow, median } from './harness.js';

const MS = 1500;
const ROUNDS = 3;

const CONCURRENCY = 2;
/** Rounds of the `--worker-src` pair, one worker of each side running at once. */
const PAIRED_ROUNDS = 6;

/** What a bench worker posts: operations run, and its CPU time over them (µs). */
interface WorkerResult {
  ops: number;
  cpuUs: number;
  sleeps: number;
}

function startWorker(workerData: unknown, transfer: readonly TransferListItem[]): Promise<WorkerResult> {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./capabilities-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  const worker = new Worker(code, { eval: true, workerData, transferList: [...transfer] });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: WorkerResult) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

async function outbound(): Promise<void> {
  const server = createServer((_req, res) => res.end('hello from upstream'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/x`;
  const plainRates: number[] = [];
  const guestRates: number[] = [];
  const callRates: number[] = [];
  // Main-thread CPU (µs) per request of each round: the main thread runs the upstream, the
  // undici client and the bridge, so this is what the bridged line pays beyond the reference.
  const plainCpu: number[] = [];
  const guestCpu: number[] = [];
  const callCpu: number[] = [];
  const baseRates: number[] = [];
  const baseCpu: number[] = [];
  const now: Variant = { lend: true };
  const calls: Variant = { lend: false };
  const at = process.argv.indexOf('--worker-src');
  const baseDir = at > 0 ? process.argv[at + 1] : undefined;
  const base: Variant | undefined = baseDir === undefined ? undefined : { lend: true, src: pathToFileURL(`${resolvePath(baseDir)}/`).href };
  // One round of each, not counted: the first round of a side ran before its code was optimised.
  await plainRound(port);
  await bridgedRound(url, now);
  if (base !== undefined) await bridgedRound(url, base);
  for (let round = 0; round < ROUNDS; round++) {
    plainRates.push(await measured(plainCpu, () => plainRound(port)));
    // The A/B pair in alternating order, so neither always runs first after the reference.
    if (base !== undefined && round % 2 === 1) baseRates.push(await measured(baseCpu, () => bridgedRound(url, base)));
    guestRates.push(await measured(guestCpu, () => bridgedRound(url, now)));
    if (base !== undefined && round % 2 === 0) baseRates.push(await measured(baseCpu, () => bridgedRound(url, base)));
    callRates.push(await measured(callCpu, () => bridgedRound(url, calls)));
  }
  const perRequest = (options: Variant): string =>
    `${(messagesPerRequest.get(options) ?? 0).toFixed(2)} messages to the worker per request; workers ${median(workerCpu.get(options) ?? []).toFixed(1)} µs CPU and ${median(workerSleeps.get(options) ?? []).toFixed(2)} sleeps per request`;
  const ratios = (rates: number[]): string => {
    const rs = rates.map((g, i) => g / (plainRates[i] ?? 1));
    return `ratio per round ${rs.map((r) => r.toFixed(2)).join(', ')} → median ${median(rs).toFixed(2)}x of plain undici`;
  };
  const cpu = (samples: number[]): string => `main thread ${median(samples).toFixed(0)} µs CPU per request`;
  console.log(`outbound HTTP, ${CONCURRENCY} concurrent callers to a loopback upstream (${ROUNDS} rounds, median; load average ${loadavg()[0]?.toFixed(2)}):`);
  console.log(`  plain undici from Node:            ${median(plainRates).toFixed(0)} req/s (reference); ${cpu(plainCpu)}`);
  console.log(`  workers via bridge + policy:       ${median(guestRates).toFixed(0)} req/s; ${ratios(guestRates)}; ${perRequest(now)}; ${cpu(guestCpu)}`);
  if (base !== undefined) {
    const ab = guestRates.map((g, i) => g / (baseRates[i] ?? 1));
    console.log(`    the same, workers from ${baseDir}: ${median(baseRates).toFixed(0)} req/s; ${ratios(baseRates)}; ${perRequest(base)}; ${cpu(baseCpu)}`);
    console.log(`    this checkout ÷ ${baseDir}, per round: ${ab.map((r) => r.toFixed(2)).join(', ')} → median ${median(ab).toFixed(2)}`);
    // Rounds apart swing with the machine's other load; a worker of each side at once, on the
    // same upstream, shares it. Requests and CPU per request, this checkout ÷ the other.
    const pairs: Array<{ rate: number; cpu: number; sleepsA: number; sleepsB: number }> = [];
    for (let round = 0; round < PAIRED_ROUNDS; round++) pairs.push(await pairedRound(url, now, base));
    const show = (xs: number[]): string => `${xs.map((x) => x.toFixed(2)).join(', ')} → median ${median(xs).toFixed(2)}`;
    console.log(`    one worker of each at once (${PAIRED_ROUNDS} rounds), this checkout ÷ ${baseDir}: requests ${show(pairs.map((p) => p.rate))}; worker CPU per request ${show(pairs.map((p) => p.cpu))}; sleeps per request ${median(pairs.map((p) => p.sleepsA)).toFixed(2)} against ${median(pairs.map((p) => p.sleepsB)).toFixed(2)}`);
  }
  server.close();
  console.log(`    lending off, each request a call: ${median(callRates).toFixed(0)} req/s; ${ratios(callRates)}; ${perRequest(calls)}; ${cpu(callCpu)}`);
}

/** Runs a round that returns requests per second, and records the main thread's CPU per request. */
async function measured(into: number[], round: () => Promise<number>): Promise<number> {
  const before = cpuNow();
  const rate = await round();
  const after = cpuNow();
  into.push((after.main - before.main) / (rate * (MS / 1000)));
  return rate;
}

async function plainRound(port: number): Promise<number> {

  // Reference: plain undici from the main thread, CONCURRENCY loops.
  const agent = new Agent({ connections: 128 });
  let plain = 0;
  const end = Date.now() + MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const res = await agent.request({ origin: `http://127.0.0.1:${port}`, path: '/x', method: 'GET' });
        await res.body.text();
        plain++;
      }
    }),
  );
  await agent.close();
  return plain / (MS / 1000);
}

/** A bridged round: with connections lent to the workers, or every request a bridge call. */
interface Variant {
  lend: boolean;
  /** Where the workers load their modules from (`--worker-src`); this checkout's `src/` when absent. */
  src?: string;
}

/** The workers' CPU per request of each round, by variant. */
const workerCpu = new Map<Variant, number[]>();
/** The workers' sleeps per request (waits on the bridge or a lent socket) of each round, by variant. */
const workerSleeps = new Map<Variant, number[]>();

function sample(into: Map<Variant, number[]>, variant: Variant, value: number): void {
  let samples = into.get(variant);
  if (samples === undefined) into.set(variant, (samples = []));
  samples.push(value);
}

/** Messages sent to the workers per request, by the variant of the round that measured it last. */
const messagesPerRequest = new Map<Variant, number>();

/**
 * Runs one bench worker per entry of `variants` at once, on one bridge and policy, to the
 * upstream of `url` (lent connections when `lend`), and gives what each reported with the
 * messages it was sent.
 */
async function runWorkers(url: string, lend: boolean, variants: readonly Variant[]): Promise<Array<WorkerResult & { messages: number }>> {
  const http = createOutboundHttp({ allowedHosts: new Map([['bench', AllowedHosts.parse([new URL(url).origin])]]), lendHttpConnections: lend });
  const bridge = createBridgeServer(outboundBridgeHandlers(http));
  try {
    return await Promise.all(
      variants.map(async (variant) => {
        const endpoint = bridge.connect();
        const result = await startWorker({ endpoint, mode: 'http', url, ms: MS, kv: { sqlite: [], bridged: [] }, label: '', src: variant.src }, [endpoint.port]);
        // The signal's first cell counts the messages the worker was sent (each one a wake-up when it sleeps).
        return { ...result, messages: Atomics.load(new Int32Array(endpoint.signal), 0) };
      }),
    );
  } finally {
    bridge.close();
    await http.close();
  }
}

async function bridgedRound(url: string, options: Variant): Promise<number> {
  const results = await runWorkers(url, options.lend, Array.from({ length: CONCURRENCY }, () => options));
  const sum = (pick: (r: WorkerResult & { messages: number }) => number): number => results.reduce((a, r) => a + pick(r), 0);
  const guest = sum((r) => r.ops);
  messagesPerRequest.set(options, sum((r) => r.messages) / guest);
  sample(workerCpu, options, sum((r) => r.cpuUs) / guest);
  sample(workerSleeps, options, sum((r) => r.sleeps) / guest);
  return guest / (MS / 1000);
}

/** One worker of each variant at once: `a ÷ b` of requests and of worker CPU per request, and each one's sleeps per request. */
async function pairedRound(url: string, a: Variant, b: Variant): Promise<{ rate: number; cpu: number; sleepsA: number; sleepsB: number }> {
  const [ra, rb] = await runWorkers(url, true, [a, b]);
  if (ra === undefined || rb === undefined) throw new Error('a paired worker did not report');
  return { rate: ra.ops / rb.ops, cpu: ra.cpuUs / ra.ops / (rb.cpuUs / rb.ops), sleepsA: ra.sleeps / ra.ops, sleepsB: rb.sleeps / rb.ops };
}

async function kv(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-kv-bench-'));
  const redis = await startRedis();
  try {
    const definitions = new Map([['cache', { type: 'redis' as const, url: redis.url }]]);
    const prepared = await prepareKeyValue({ app: { components: [] }, stateDir: dir, definitions });
    const rounds: Array<[number, number, number, number, number]> = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await kvRound(dir, prepared));
    await prepared.close();
    const rate = (n: number): number => n / (MS / 1000);
    const col = (i: 0 | 1 | 2 | 3 | 4): number[] => rounds.map((r) => r[i]);
    const ratio = (a: 0 | 2, b: 1 | 3 | 4): string => {
      const rs = rounds.map((r) => r[b] / r[a]);
      return `${rs.map((x) => x.toFixed(2)).join(', ')} → median ${median(rs).toFixed(2)}x`;
    };
    console.log(`key-value, set+get of 64-byte values, one caller (${ROUNDS} rounds, median):`);
    console.log(`  SQLite, kv-wit binding called directly:  ${rate(median(col(0))).toFixed(0)} ops/s (reference)`);
    console.log(`  SQLite, worker through the host binding: ${rate(median(col(1))).toFixed(0)} ops/s; ratio ${ratio(0, 1)}`);
    console.log(`  Redis, kv-wit async store from Node:     ${rate(median(col(2))).toFixed(0)} ops/s (reference)`);
    console.log(`  Redis, worker on a lent connection:      ${rate(median(col(3))).toFixed(0)} ops/s; ratio ${ratio(2, 3)}`);
    console.log(`  the same, each operation a call (before): ${rate(median(col(4))).toFixed(0)} ops/s; ratio ${ratio(2, 4)}`);
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function kvRound(dir: string, prepared: Awaited<ReturnType<typeof prepareKeyValue>>): Promise<[number, number, number, number, number]> {
  {
    const value = new Uint8Array(64);

    // Reference: kv-wit's binding called directly, in this thread, over the same SQLite file.
    const direct = createKvStoreManager({ stateDir: dir });
    const host = createKvHost({ allowedLabels: ['default'], stores: (l) => direct.syncStore(l) });
    const store = host.imports['fermyon:spin/key-value@2.0.0'].Store.open('default');
    let directOps = 0;
    const end = Date.now() + MS;
    while (Date.now() < end) {
      store.set(`k${directOps % 100}`, value);
      store.get(`k${directOps % 100}`);
      directOps += 2;
    }
    await direct.close();

    const bridge = createBridgeServer({ [KV_BRIDGE_METHOD]: kvBridgeHandler(prepared.manager, prepared.redisUrls) });
    const e1 = bridge.connect();
    const { ops: sqliteOps } = await startWorker({ endpoint: e1, mode: 'kv', url: '', ms: MS, kv: prepared.workerConfig, label: 'default' }, [e1.port]);

    // Redis: async store from the main thread against the worker's bridged binding.
    const redisStore = prepared.manager.store('cache');
    let redisDirect = 0;
    const end2 = Date.now() + MS;
    while (Date.now() < end2) {
      await redisStore.set(`k${redisDirect % 100}`, value);
      await redisStore.get(`k${redisDirect % 100}`);
      redisDirect += 2;
    }
    const e2 = bridge.connect();
    const { ops: redisOps } = await startWorker({ endpoint: e2, mode: 'kv', url: '', ms: MS, kv: prepared.workerConfig, label: 'cache' }, [e2.port]);
    // Before: no label lent, each operation a call the main thread runs on kv-wit's store.
    const e3 = bridge.connect();
    const { ops: redisCalls } = await startWorker({ endpoint: e3, mode: 'kv', url: '', ms: MS, kv: { ...prepared.workerConfig, lent: [] }, label: 'cache' }, [e3.port]);
    bridge.close();
    return [directOps, sqliteOps, redisDirect, redisOps, redisCalls];
  }
}

await outbound();
// `--outbound` runs the outbound half alone.
if (!process.argv.includes('--outbound')) await kv();
