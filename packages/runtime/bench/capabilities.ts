// Capabilities benchmark: outbound HTTP from workers through the blocking bridge and the policy,
// against plain undici from the main thread to the same loopback upstream; key-value operations
// from a worker through the host binding, against the kv-wit binding called directly.
// Prints ratios measured in this run. The bridged outbound line also runs, alternated in each
// round, with lent connections off (every request a bridge call the main thread sends through
// undici, as before `guest/spin/http-lane.ts`), so the lever is compared under the same load.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
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

function startWorker(workerData: unknown, transfer: readonly TransferListItem[]): Promise<number> {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./capabilities-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  const worker = new Worker(code, { eval: true, workerData, transferList: [...transfer] });
  return new Promise((resolve, reject) => {
    worker.once('message', (n: number) => {
      void worker.terminate();
      resolve(n);
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
  const now: Variant = { lend: true };
  const calls: Variant = { lend: false };
  // One round of each, not counted: the first round of a side ran before its code was optimised.
  await plainRound(port);
  await bridgedRound(port, url, now);
  for (let round = 0; round < ROUNDS; round++) {
    plainRates.push(await measured(plainCpu, () => plainRound(port)));
    guestRates.push(await measured(guestCpu, () => bridgedRound(port, url, now)));
    callRates.push(await measured(callCpu, () => bridgedRound(port, url, calls)));
  }
  const perRequest = (options: Variant): string => `${(messagesPerRequest.get(options) ?? 0).toFixed(2)} messages to the worker per request`;
  server.close();
  const ratios = (rates: number[]): string => {
    const rs = rates.map((g, i) => g / (plainRates[i] ?? 1));
    return `ratio per round ${rs.map((r) => r.toFixed(2)).join(', ')} → median ${median(rs).toFixed(2)}x of plain undici`;
  };
  const cpu = (samples: number[]): string => `main thread ${median(samples).toFixed(0)} µs CPU per request`;
  console.log(`outbound HTTP, ${CONCURRENCY} concurrent callers to a loopback upstream (${ROUNDS} rounds, median; load average ${loadavg()[0]?.toFixed(2)}):`);
  console.log(`  plain undici from Node:            ${median(plainRates).toFixed(0)} req/s (reference); ${cpu(plainCpu)}`);
  console.log(`  workers via bridge + policy:       ${median(guestRates).toFixed(0)} req/s; ${ratios(guestRates)}; ${perRequest(now)}; ${cpu(guestCpu)}`);
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
}

/** Messages sent to the workers per request, by the variant of the round that measured it last. */
const messagesPerRequest = new Map<Variant, number>();

async function bridgedRound(port: number, url: string, options: Variant): Promise<number> {
  const http = createOutboundHttp({ allowedHosts: new Map([['bench', AllowedHosts.parse([`http://127.0.0.1:${port}`])]]), lendHttpConnections: options.lend });
  const bridge = createBridgeServer(outboundBridgeHandlers(http));
  let messages = 0;
  const counts = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const endpoint = bridge.connect();
      const n = await startWorker({ endpoint, mode: 'http', url, ms: MS, kv: { sqlite: [], bridged: [] }, label: '' }, [endpoint.port]);
      // The signal's first cell counts the messages the worker was sent (each one a wake-up when it sleeps).
      messages += Atomics.load(new Int32Array(endpoint.signal), 0);
      return n;
    }),
  );
  bridge.close();
  await http.close();
  const guest = counts.reduce((a, b) => a + b, 0);
  messagesPerRequest.set(options, messages / guest);
  return guest / (MS / 1000);
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
    const sqliteOps = await startWorker({ endpoint: e1, mode: 'kv', url: '', ms: MS, kv: prepared.workerConfig, label: 'default' }, [e1.port]);

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
    const redisOps = await startWorker({ endpoint: e2, mode: 'kv', url: '', ms: MS, kv: prepared.workerConfig, label: 'cache' }, [e2.port]);
    // Before: no label lent, each operation a call the main thread runs on kv-wit's store.
    const e3 = bridge.connect();
    const redisCalls = await startWorker({ endpoint: e3, mode: 'kv', url: '', ms: MS, kv: { ...prepared.workerConfig, lent: [] }, label: 'cache' }, [e3.port]);
    bridge.close();
    return [directOps, sqliteOps, redisDirect, redisOps, redisCalls];
  }
}

await outbound();
// `--outbound` runs the outbound half alone.
if (!process.argv.includes('--outbound')) await kv();
