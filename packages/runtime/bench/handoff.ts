// What crossing between the main thread and a worker costs, per round trip, measured apart from
// everything else a request does:
//  1. A job and its response: Node's postMessage both ways (what the pool does), against a
//     SharedArrayBuffer mailbox per worker woken by Atomics.notify (the worker blocked in
//     Atomics.wait, or waiting with Atomics.waitAsync) with the main thread told by
//     Atomics.waitAsync. Each round trip carries what a small request carries (method, URL, eight
//     headers; status, two headers, a 15-byte body). Printed: round trips per second with two
//     workers kept busy and the main thread's CPU time per round trip (from /proc, Linux).
//  2. A capability call over the worker's blocking channel (channel/sync-bridge.ts →
//     channel/bridge-server.ts) to a handler that answers at once: calls per second from one
//     worker, and CPU per call on the main thread and on the others.
//
// Under shared load the mailbox measured 0.9x-1.5x the round trips of postMessage and about the
// same main-thread CPU, and inside `spinel up` it was no cheaper per request (see the runtime
// README, "Where one request's time goes under load"): both ways wake a sleeping thread per
// hand-off, and that wake is most of the cost.
//
// Usage: tsx bench/handoff.ts
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createBridgeServer } from '../src/channel/bridge-server.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 40_000);
const WORKERS = 2;
const RING_BYTES = 64 * 1024;

const HEADERS = ['host', '127.0.0.1:3000', 'user-agent', 'wrk', 'accept', '*/*', 'spin-full-url', 'http://127.0.0.1:3000/', 'spin-path-info', '', 'spin-matched-route', '/...', 'spin-client-addr', '127.0.0.1:40000', 'spin-raw-component-route', '/...'];

/** The main thread's CPU time so far (µs), from /proc (0 elsewhere). */
function mainCpu(): number {
  try {
    const fields = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return 0;
  }
}

/** `Atomics.waitAsync` (Node ≥ 16; not in the TypeScript lib this package targets). */
const waitAsync = (cells: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> } =>
  (Atomics as unknown as { waitAsync(c: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> } }).waitAsync(cells, index, value);

const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const BODY = new TextEncoder().encode('hello from wat\\n');
if (workerData.mode === 'post') {
  parentPort.on('message', (m) => {
    const body = BODY.slice();
    parentPort.postMessage({ type: 'response', job: m.job, status: 200, headers: ['content-type', 'text/plain', 'x-fixture', 'wat'], body, end: true }, [body.buffer]);
  });
} else {
  // The ring: cell 0 counts jobs written (negative: stop), cell 1 the job's length, then -1 once
  // the answer is in; cells 2 and 3 the answer's head and body lengths; bytes from offset 16.
  const cells = new Int32Array(workerData.sab, 0, 4);
  const bytes = new Uint8Array(workerData.sab, 16);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const HEAD = 'content-type\\0text/plain\\0x-fixture\\0wat';
  let seen = 0;
  // Reads the job (as a worker must, to know what to run) and writes the response in its place.
  const answer = () => {
    dec.decode(bytes.subarray(0, cells[1])).split('\\0');
    const w = enc.encodeInto(HEAD, bytes);
    bytes.set(BODY, w.written);
    cells[2] = w.written;
    cells[3] = BODY.length;
    Atomics.store(cells, 1, -1);
    Atomics.notify(cells, 1);
  };
  if (workerData.mode === 'ring-async') {
    const arm = () => {
      const r = Atomics.waitAsync(cells, 0, seen);
      if (r.async) r.value.then(take); else take();
    };
    const take = () => {
      seen = Atomics.load(cells, 0);
      if (seen < 0) return;
      answer();
      arm();
    };
    // A pending waitAsync does not keep a thread's event loop alive; the port does.
    parentPort.on('message', () => undefined);
    arm();
  } else {
    for (;;) {
      Atomics.wait(cells, 0, seen);
      seen = Atomics.load(cells, 0);
      if (seen < 0) break;
      answer();
    }
  }
}
`;

interface Result {
  rps: number;
  cpuPerRound: number;
}

async function runPost(): Promise<Result> {
  const workers = Array.from({ length: WORKERS }, () => new Worker(WORKER_CODE, { eval: true, workerData: { mode: 'post' } }));
  let done = 0;
  let job = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((r) => (finish = r));
  const send = (w: Worker): void => {
    job++;
    w.postMessage({ type: 'http', job, componentId: 'wat', method: 'GET', url: 'http://127.0.0.1:3000/', headers: HEADERS, body: false });
  };
  for (const w of workers) {
    w.on('message', () => {
      done++;
      if (done >= ROUNDS) finish();
      else if (job < ROUNDS) send(w);
    });
  }
  await new Promise((r) => setTimeout(r, 200));
  const c0 = mainCpu();
  const t0 = performance.now();
  for (const w of workers) send(w);
  await all;
  const ms = performance.now() - t0;
  const cpu = mainCpu() - c0;
  await Promise.all(workers.map((w) => w.terminate()));
  return { rps: (ROUNDS / ms) * 1000, cpuPerRound: cpu / ROUNDS };
}

async function runRing(mode = 'ring'): Promise<Result> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const rings = Array.from({ length: WORKERS }, () => new SharedArrayBuffer(16 + RING_BYTES));
  const workers = rings.map((sab) => new Worker(WORKER_CODE, { eval: true, workerData: { mode, sab } }));
  let done = 0;
  let job = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((r) => (finish = r));
  const send = (sab: SharedArrayBuffer): void => {
    job++;
    const cells = new Int32Array(sab, 0, 4);
    const bytes = new Uint8Array(sab, 16);
    const w = enc.encodeInto(`GET\0http://127.0.0.1:3000/\0${HEADERS.join('\0')}`, bytes);
    Atomics.store(cells, 1, w.written);
    Atomics.add(cells, 0, 1);
    Atomics.notify(cells, 0);
    const waited = waitAsync(cells, 1, w.written);
    const onDone = (): void => {
      const head = dec.decode(bytes.subarray(0, cells[2]));
      const body = bytes.slice(cells[2], (cells[2] ?? 0) + (cells[3] ?? 0));
      if (head.length === 0 || body.length === 0) throw new Error('empty');
      done++;
      if (done >= ROUNDS) finish();
      else if (job < ROUNDS) send(sab);
    };
    if (waited.async) void waited.value.then(onDone);
    else onDone();
  };
  await new Promise((r) => setTimeout(r, 200));
  const c0 = mainCpu();
  const t0 = performance.now();
  for (const sab of rings) send(sab);
  await all;
  const ms = performance.now() - t0;
  const cpu = mainCpu() - c0;
  for (const sab of rings) {
    const cells = new Int32Array(sab, 0, 4);
    Atomics.store(cells, 0, -1);
    Atomics.notify(cells, 0);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return { rps: (ROUNDS / ms) * 1000, cpuPerRound: cpu / ROUNDS };
}

/** The main thread's and the whole process's CPU time so far (µs). */
function cpuTimes(): { main: number; all: number } {
  const all = process.cpuUsage();
  return { main: mainCpu(), all: all.user + all.system };
}

/** Capability calls over the real blocking channel, from one worker, to a handler that answers at once. */
async function runBridge(calls: number): Promise<{ rate: number; mainUs: number; otherUs: number }> {
  const server = createBridgeServer({ 'bench.echo': (args: unknown) => Promise.resolve(args) });
  const endpoint = server.connect();
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const bridgeUrl = new URL('../src/channel/sync-bridge.ts', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(bridgeUrl)}); }).then(({ createSyncBridge }) => {
      const bridge = createSyncBridge(workerData.endpoint);
      parentPort.on('message', (n) => {
        for (let i = 0; i < n; i++) bridge.call('bench.echo', { store: 1, key: 'k' + (i % 100) });
        parentPort.postMessage('done');
      });
      parentPort.postMessage('ready');
    });`;
  const worker = new Worker(code, { eval: true, workerData: { endpoint }, transferList: [endpoint.port] });
  const next = (): Promise<unknown> => new Promise((resolve) => worker.once('message', resolve));
  await next();
  worker.postMessage(Math.min(5000, calls));
  await next();
  const before = cpuTimes();
  const t0 = performance.now();
  worker.postMessage(calls);
  await next();
  const ms = performance.now() - t0;
  const after = cpuTimes();
  await worker.terminate();
  server.close();
  const mainUs = (after.main - before.main) / calls;
  return { rate: (calls / ms) * 1000, mainUs, otherUs: (after.all - before.all) / calls - mainUs };
}

const post = await runPost();
const ring = await runRing();
const post2 = await runPost();
const ring2 = await runRing();
const ringAsync = await runRing('ring-async');
const ringAsync2 = await runRing('ring-async');
const best = (a: Result, b: Result): Result => (a.rps > b.rps ? a : b);
const ra = best(ringAsync, ringAsync2);
const p = best(post, post2);
const r = best(ring, ring2);
console.log(`hand-off, ${WORKERS} workers, ${ROUNDS} round trips (load average ${loadavg()[0]?.toFixed(1)}):`);
console.log(`  postMessage both ways        ${p.rps.toFixed(0).padStart(8)} round trips/s, main thread ${p.cpuPerRound.toFixed(1)} µs CPU each`);
console.log(`  SAB + Atomics.wait/waitAsync ${r.rps.toFixed(0).padStart(8)} round trips/s, main thread ${r.cpuPerRound.toFixed(1)} µs CPU each`);
console.log(`  SAB, waitAsync both sides     ${ra.rps.toFixed(0).padStart(8)} round trips/s, main thread ${ra.cpuPerRound.toFixed(1)} µs CPU each`);
console.log(`  ratio (ring ÷ postMessage): throughput ${(r.rps / p.rps).toFixed(2)}, main-thread CPU ${(r.cpuPerRound / p.cpuPerRound).toFixed(2)}`);
const bridgeRuns: Array<{ rate: number; mainUs: number; otherUs: number }> = [];
for (let round = 0; round < 3; round++) bridgeRuns.push(await runBridge(ROUNDS));
const medianOf = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
console.log(`capability call over the blocking channel, one worker, ${ROUNDS} calls, 3 rounds (median):`);
console.log(`  ${medianOf(bridgeRuns.map((r) => r.rate)).toFixed(0).padStart(7)} calls/s, main thread ${medianOf(bridgeRuns.map((r) => r.mainUs)).toFixed(1)} µs CPU each, other threads ${medianOf(bridgeRuns.map((r) => r.otherUs)).toFixed(1)} µs`);
process.exit(0);
