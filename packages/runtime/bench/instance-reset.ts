// P2 benchmark: the README's JS example (examples/hello, componentize-js) with a fresh instance per
// request. Ratios only, every figure measured in this run:
//  1. In process, per request: resetting the used instances (guest/instance-snapshot.ts) against
//     `new WebAssembly.Instance` — for the main core module, and for the whole component.
//  2. Over HTTP (wrk, keep-alive): `spinel up` against the V8 floor (workers ÷ the median
//     `new WebAssembly.Instance` of the component's core modules, unmodified) and against
//     `jco serve --isolate-requests instance` on the same component.
//  3. Where one request's time goes, one request at a time with a pause between requests (so the
//     reset happens in idle time, as it does when a worker is not saturated): the guest alone (in
//     process), the reset after it, the executor's round trip (main thread → worker → guest →
//     body back), and the HTTP round trip through `spinel up` (undici, one keep-alive
//     connection); the differences are the pool/channel's and the HTTP trigger's shares (the
//     runtime README reports them).
// Needs the example built (node examples/hello/build.mjs) and the CLI built.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import { Client } from 'undici';
import { GlueTemplate, type GlueInstantiate } from '../src/guest/glue-template.js';
import { HostRegistry, type InstanceContext } from '../src/guest/host-registry.js';
import { IncomingRequest, ResponseOutparam, type ResponseSink } from '../src/guest/wasi/http.js';
import { wasiHostInterfaces } from '../src/guest/wasi/host.js';
import { WASI_INTERFACES } from '../src/guest/wasi/interface-specs.js';
import { createExecutor } from '../src/pool/create-executor.js';
import { loadTranspiled } from '../src/prepare/component-source.js';
import { InterfaceSet } from '../src/prepare/interface-set.js';
import { prepareComponent } from '../src/prepare/prepare-component.js';
import { bodyOf, readAll, testApp } from '../test/test-app.js';
import { freePort, median, ratioLine, stop, waitFor200, wrk } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const LOAD_S = Number(process.env['BENCH_LOAD_S'] ?? 5);
const CONNECTIONS = 10;
const workers = availableParallelism();

const wasm = join(repo, 'examples', 'hello', 'dist', 'hello.wasm');
const cli = join(repo, 'apps', 'cli', 'bin', 'run.js');
if (!existsSync(wasm)) {
  console.log('P2 bench: skipped (build the example: node examples/hello/build.mjs)');
  process.exit(0);
}

// ---- 1. in process: reset against new instances -------------------------------------------
const cache = openCache({ root: join(tmpdir(), 'spinel-bench-cache') });
const component = { id: 'hello', source: { content_type: 'application/wasm', source: pathToFileURL(wasm).href } };
const prepared = await prepareComponent(component, { cache, kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) });
const glue = (await import(prepared.glueUrl ?? '')) as { instantiate: GlueInstantiate };
const registry = new HostRegistry(wasiHostInterfaces());
const sink = { write: (): void => undefined };
const ctx: InstanceContext = { componentId: 'hello', env: [], mounts: [], stdout: sink, stderr: sink, blocker: { wait: () => undefined } };
const template = new GlueTemplate(glue.instantiate, (n) => prepared.modules[n] as WebAssembly.Module, registry.buildImports(prepared.imports, ctx), {
  resetLayouts: prepared.reset?.layouts,
  glueCaptureTables: prepared.reset?.glueCaptureTables,
  glueBookkeeping: prepared.reset?.glueBookkeeping,
});
if (!template.resettable) throw new Error('the example is not resettable');
const handler = template.exports['incomingHandler'] as { handle(req: IncomingRequest, out: ResponseOutparam): void };
function serveOne(): void {
  let status = 0;
  const out: ResponseSink = { head: (s) => (status = s), chunk: () => undefined, end: () => undefined, fail: () => undefined };
  const body = { read: () => undefined, poll: { ready: () => true }, waitReadable: () => undefined };
  registry.beginRequest(ctx);
  try {
    handler.handle(new IncomingRequest({ method: 'GET', url: 'http://127.0.0.1/bench', headers: [] }, body, ctx.blocker), new ResponseOutparam(out));
  } finally {
    registry.endRequest(ctx);
  }
  if (status !== 200) throw new Error(`the example answered ${status}`);
}

// The floor is measured on the modules as jco wrote them (the rewrite adds exports, tables, globals).
const original = new Map((await loadTranspiled(new Uint8Array(await readFile(wasm)), cache)).modules);
const names = new Map(Object.entries(prepared.modules).map(([name, module]) => [module, name]));
const plan = template.coreInstantiations().map(({ module, imports }) => {
  const bytes = original.get(names.get(module) ?? '');
  if (bytes === undefined) throw new Error('core module not found');
  return { module: new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports };
});
const main = plan.reduce((a, b) => (WebAssembly.Module.exports(b.module).some((e) => e.kind === 'memory') ? b : a));

const ROUNDS = 60;
// Wasm code is compiled lazily and tiered up while it runs: every path is warmed first by as many
// requests as a server has served after a few seconds of wrk, so all figures are of warm code.
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 300);
for (let i = 0; i < WARMUP; i++) {
  serveOne();
  template.reset();
}
// The guest alone on a freshly reset instance (as a worker runs it), then the reset after it;
// measured before any new instance is made, so their garbage does not land in these figures.
const guestMs: number[] = [];
const resetMs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  let t = performance.now();
  serveOne();
  guestMs.push(performance.now() - t);
  t = performance.now();
  if (!template.reset()) throw new Error('reset refused');
  resetMs.push(performance.now() - t);
}
const mainNewMs: number[] = [];
const allNewMs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  let t = performance.now();
  new WebAssembly.Instance(main.module, main.imports);
  mainNewMs.push(performance.now() - t);
  t = performance.now();
  for (const { module, imports } of plan) new WebAssembly.Instance(module, imports);
  allNewMs.push(performance.now() - t);
}
const guest = median(guestMs.slice(10));
const reset = median(resetMs.slice(10));
const mainNew = median(mainNewMs.slice(10));
const floorMs = median(allNewMs.slice(10));
const floorRps = (workers * 1000) / floorMs;

const load = uptimeLoad();
console.log(`P2: JS example (${((await readFile(wasm)).length / 1e6).toFixed(1)} MB, ${plan.length} core modules), ${workers} workers; load average at start ${load}`);
ratioLine('per request: reset of the used instances vs new main core module', `${reset.toFixed(2)} ms`, `${mainNew.toFixed(2)} ms`, mainNew / reset, 'higher');
ratioLine('per request: reset of the used instances vs new core modules (all)', `${reset.toFixed(2)} ms`, `${floorMs.toFixed(2)} ms`, floorMs / reset, 'higher');

// The executor alone, one worker, one request at a time: main thread → worker → guest → body back.
const executor = await createExecutor({ app: testApp([{ id: 'hello', path: wasm }]), cache, workers: 1, maxWorkers: 1 });
const executorMs: number[] = [];
const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 10));
for (let i = 0; i < WARMUP; i++) await readAll((await executor.handle('hello', { method: 'GET', url: 'http://127.0.0.1:3000/', headers: [], body: bodyOf() })).body);
for (let i = 0; i < ROUNDS; i++) {
  await pause();
  const t = performance.now();
  const res = await executor.handle('hello', { method: 'GET', url: 'http://127.0.0.1:3000/', headers: [], body: bodyOf() });
  await readAll(res.body);
  executorMs.push(performance.now() - t);
  if (res.status !== 200) throw new Error(`the executor answered ${res.status}`);
}
await executor.close();
const executorRoundTrip = median(executorMs.slice(10));

// ---- 2. over HTTP ----------------------------------------------------------------------------
function uptimeLoad(): string {
  return (loadavg()[0] ?? 0).toFixed(1);
}

/** Starts a server, waits for its first 200, warms it, then loads it with wrk: requests per second (then runs `after` on it). */
async function serveAndLoad(name: string, start: (port: number) => ChildProcess, after?: (url: string) => Promise<void>): Promise<number> {
  const port = await freePort();
  const child = start(port);
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  try {
    const url = `http://127.0.0.1:${port}/`;
    await waitFor200(url, child);
    for (let i = 0; i < 20; i++) await (await fetch(url)).arrayBuffer();
    const { rps, bad } = await wrk(url, LOAD_S, CONNECTIONS);
    if (bad !== undefined) console.log(`  (${name}: ${bad})`);
    await after?.(url);
    return rps;
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}\n${err.slice(0, 2000)}`);
  } finally {
    await stop(child);
  }
}

if (!existsSync(join(repo, 'apps', 'cli', 'dist'))) {
  console.log('P2 over HTTP: skipped (build the CLI: pnpm --filter @spinel/cli build)');
  process.exit(0);
}
const jco = join(here, '..', 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');
/** HTTP round trips, one at a time on one keep-alive connection, with a pause between them: their median. */
async function roundTrip(url: string): Promise<number> {
  const client = new Client(new URL(url).origin);
  const times: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      await pause();
      const t = performance.now();
      const res = await client.request({ method: 'GET', path: '/' });
      await res.body.arrayBuffer();
      times.push(performance.now() - t);
      if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
    }
  } finally {
    await client.close();
  }
  return median(times.slice(10));
}

let httpRoundTrip = NaN;
const spinelRps = await serveAndLoad('spinel up', (port) =>
  spawn(process.execPath, [cli, 'up', '-f', join(repo, 'examples', 'hello'), '--listen', `127.0.0.1:${port}`, '--state-dir', ''], { stdio: ['ignore', 'ignore', 'pipe'] }),
  async (url) => {
    httpRoundTrip = await roundTrip(url);
  },
);
const jcoRps = await serveAndLoad('jco serve', (port) =>
  spawn(process.execPath, [jco, 'serve', '--port', String(port), '--host', '127.0.0.1', '--isolate-requests', 'instance', wasm], { stdio: ['ignore', 'ignore', 'pipe'] }),
);
ratioLine(`P2 over HTTP (wrk -c${CONNECTIONS}, ${LOAD_S} s): spinel up vs the V8 floor`, `${spinelRps.toFixed(0)} req/s`, `${floorRps.toFixed(0)} req/s`, spinelRps / floorRps, 'higher');
ratioLine(`P2 over HTTP: spinel up vs jco serve --isolate-requests instance`, `${spinelRps.toFixed(0)} req/s`, `${jcoRps.toFixed(1)} req/s`, spinelRps / jcoRps, 'higher');

// ---- 3. where one request's time goes ---------------------------------------------------------
const part = (label: string, ms: number): void => console.log(`  ${label.padEnd(78)} ${ms.toFixed(2).padStart(7)} ms`);
console.log('where one request of the JS example spends its time (one at a time, idle between; medians):');
part('HTTP round trip through spinel up (undici, one keep-alive connection)', httpRoundTrip);
part('  trigger + loopback TCP + client: HTTP round trip minus executor round trip', httpRoundTrip - executorRoundTrip);
part('  pool + channel: executor round trip minus the guest (main → worker → back)', executorRoundTrip - guest);
part('  guest: handle() on a reset instance, with its WASI host calls', guest);
part('then, off the request path: reset of the used instances (worker idle time)', reset);
part('  (before: new core instances of all modules instead of the reset)', floorMs);
console.log(`  load average at end ${uptimeLoad()} (figures are only comparable within one run)`);
process.exit(0);
