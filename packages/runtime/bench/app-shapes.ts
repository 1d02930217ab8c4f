// App-shapes benchmark: what hosting a Spin 1 module's old ABI directly costs, against the
// component path a converted module would take. Spin converts such modules into components
// (crates/componentize: the module plus an adapter module plus the preview1 adapter); the
// smallest component that answers the same request, a WAT wasi:http component with one core
// module, is the floor of that path here. Printed as ratios, all measured in this run:
//   1. per fresh instance and request, in this thread: the Spin 1 host vs that component under
//      jco's glue (refreshed core instances, as the workers make them) vs the V8 floor
//      (`new WebAssembly.Instance` of the Spin 1 module alone);
//   2. requests/s through the executor (workers, one fresh instance per request) for both.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { spin1Module, spin1ModuleFile, watComponent } from '@spinel/test-utils';
import { GlueTemplate, type GlueInstantiate } from '../src/guest/glue-template.js';
import { HostRegistry } from '../src/guest/host-registry.js';
import { instantiateSpin1Module } from '../src/guest/spin1/spin1-module.js';
import { IncomingRequest, ResponseOutparam, type ResponseSink } from '../src/guest/wasi/http.js';
import { MemorySource } from '../src/guest/wasi/io.js';
import { wasiHostInterfaces } from '../src/guest/wasi/host.js';
import { createExecutor } from '../src/pool/create-executor.js';
import { loadTranspiled } from '../src/prepare/component-source.js';
import { bodyOf, readAll } from '../test/test-app.js';
import { median } from './harness.js';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 2_000);
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 4_000);
const workers = Number(process.env['BENCH_WORKERS'] ?? availableParallelism());

/** Median µs per call of `fn` over five rounds of ITERATIONS. */
function timePerCall(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    for (let i = 0; i < ITERATIONS; i++) fn();
    rounds.push(((performance.now() - start) * 1000) / ITERATIONS);
  }
  return median(rounds);
}

const dir = await mkdtemp(join(tmpdir(), 'spinel-bench-shapes-'));
try {
  const cache = openCache({ root: join(tmpdir(), 'spinel-bench-cache') });
  const spin1 = await WebAssembly.compile((await spin1Module('http')) as Uint8Array<ArrayBuffer>);
  const hello = await watComponent('hello');

  // 1. In this thread.
  const discard = { stdout: () => undefined, stderr: () => undefined };
  const body = new Uint8Array(0);
  const spin1Us = timePerCall(() => {
    const instance = instantiateSpin1Module(spin1, { env: [], preopens: [], host: () => undefined, output: discard });
    const res = instance.handleHttp({ method: 'get', uri: '/echo', headers: [['spin-full-url', 'http://localhost/echo']], body });
    if (res.status !== 200) throw new Error(`spin1 answered ${res.status}`);
  });
  const floorUs = timePerCall(() => {
    new WebAssembly.Instance(spin1, {
      'wasi_snapshot_preview1': { fd_write: () => 0, environ_sizes_get: () => 0 },
      'wasi-outbound-http': { request: () => undefined },
      'spin-config': { 'get-config': () => undefined },
      'key-value': { open: () => undefined, get: () => undefined, set: () => undefined },
      'outbound-redis': { publish: () => undefined, get: () => undefined },
      redis: { set: () => undefined },
      sqlite: { open: () => undefined },
      'outbound-pg': { query: () => undefined },
      'outbound-mysql': { execute: () => undefined },
    });
  });
  const transpiled = await loadTranspiled(new Uint8Array(await (await import('node:fs/promises')).readFile(hello)), cache);
  const modules = new Map<string, WebAssembly.Module>();
  for (const [name, code] of transpiled.modules) modules.set(name, await WebAssembly.compile(code as Uint8Array<ArrayBuffer>));
  const glueModule = (await import(transpiled.glueUrl)) as { instantiate: GlueInstantiate };
  const registry = new HostRegistry(wasiHostInterfaces());
  const blocker = { wait: () => undefined };
  const ctx = { componentId: 'hello', env: [], mounts: [], stdout: { write: () => undefined }, stderr: { write: () => undefined }, blocker };
  const glue = new GlueTemplate(glueModule.instantiate, (name) => modules.get(name) as WebAssembly.Module, registry.buildImports(transpiled.meta.imports, ctx));
  const handler = glue.exports['incomingHandler'] as { handle(req: IncomingRequest, out: ResponseOutparam): void };
  const componentUs = timePerCall(() => {
    glue.refresh();
    let status = 0;
    const sink: ResponseSink = { head: (s) => void (status = s), chunk: () => undefined, end: () => undefined, fail: () => undefined };
    handler.handle(new IncomingRequest({ method: 'GET', url: 'http://localhost/', headers: [] }, new MemorySource(body), blocker), new ResponseOutparam(sink));
    if (status !== 200) throw new Error(`component answered ${status}`);
  });

  // 2. Through the executor.
  const source = (path: string): LockedApp['components'][number]['source'] => ({ content_type: 'application/wasm', source: pathToFileURL(path).href });
  const app: LockedApp = {
    triggers: [
      { id: 't1', trigger_type: 'http', trigger_config: { component: 'spin1', route: '/spin1/...' } },
      { id: 't2', trigger_type: 'http', trigger_config: { component: 'component', route: '/component' } },
    ],
    components: [
      { id: 'spin1', source: source(await spin1ModuleFile('http', dir)) },
      { id: 'component', source: source(hello) },
    ],
  };
  const executor = await createExecutor({ app, cache, workers, logDir: null });
  const rps = async (id: string): Promise<number> => {
    const one = async (): Promise<void> => {
      const res = await executor.handle(id, { method: 'GET', url: `http://127.0.0.1:3000/${id}/echo`, headers: [], body: bodyOf() });
      await readAll(res.body);
      if (res.status !== 200) throw new Error(`${id} answered ${res.status}`);
    };
    for (let i = 0; i < 20; i++) await one();
    let done = 0;
    const end = Date.now() + DURATION_MS;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 2 * workers }, async () => {
        while (Date.now() < end) {
          await one();
          done++;
        }
      }),
    );
    return (done * 1000) / (performance.now() - start);
  };
  const spin1Rps = await rps('spin1');
  const componentRps = await rps('component');
  await executor.close();

  console.log('app shapes: a Spin 1 module hosted on the old ABI, against the component path (figures from this run only)');
  console.log(`  per fresh instance + request, one thread: Spin 1 host ${(spin1Us / floorUs).toFixed(2)}x the V8 floor; smallest component under jco's glue ${(componentUs / floorUs).toFixed(2)}x; Spin 1 host / component ${(spin1Us / componentUs).toFixed(2)}`);
  console.log(`  through the executor (${workers} workers): Spin 1 module ${(spin1Rps / componentRps).toFixed(2)}x the requests/s of the component`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
