// Engine benchmark: requests/s of a JS component (componentize-js, fetch-event hello) with a fresh
// instance per request through the executor, against the V8 floor (workers ÷ median time of
// `new WebAssembly.Instance` of its core modules, compiled beforehand), and against the same
// executor running jco's glue for every instance. Ratios only: all figures come from this run.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { jsComponent } from '@spinel/test-utils';
import { createExecutor } from '../src/pool/create-executor.js';
import { GlueTemplate, type GlueInstantiate } from '../src/guest/glue-template.js';
import { HostRegistry } from '../src/guest/host-registry.js';
import { wasiHostInterfaces } from '../src/guest/wasi/host.js';
import { WASI_INTERFACES } from '../src/guest/wasi/interface-specs.js';
import { InterfaceSet } from '../src/prepare/interface-set.js';
import { prepareComponent } from '../src/prepare/prepare-component.js';
import { bodyOf, readAll, testApp } from '../test/test-app.js';
import { median } from './harness.js';

const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 6_000);
const workers = Number(process.env['BENCH_WORKERS'] ?? availableParallelism());

async function load(executorRun: (n: number) => Promise<void>, concurrency: number): Promise<number> {
  let done = 0;
  const end = Date.now() + DURATION_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await executorRun(done);
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

const dir = await mkdtemp(join(tmpdir(), 'spinel-bench-'));
try {
  const cache = openCache({ root: join(tmpdir(), 'spinel-bench-cache') });
  const path = await jsComponent('fetch-event');
  const app = testApp([{ id: 'hello', path }]);

  async function rps(glueGenerations: number): Promise<number> {
    const executor = await createExecutor({ app, cache, workers, glueGenerations });
    const one = async (): Promise<void> => {
      const res = await executor.handle('hello', { method: 'GET', url: 'http://127.0.0.1:3000/', headers: [], body: bodyOf() });
      const { text } = await readAll(res.body);
      if (res.status !== 200 || text !== 'hello from js') throw new Error(`unexpected answer ${res.status} ${text}`);
    };
    for (let i = 0; i < 2 * workers; i++) await one();
    const result = await load(one, 2 * workers);
    await executor.close();
    return result;
  }

  // V8 floor: the same core modules, compiled once, instantiated with the imports jco wires up.
  const component = app.components[0];
  if (component === undefined) throw new Error('no component');
  const prepared = await prepareComponent(component, { cache, kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) });
  const glueModule = (await import(prepared.glueUrl ?? '')) as { instantiate: GlueInstantiate };
  const sink = { write: (): void => undefined };
  const template = new GlueTemplate(glueModule.instantiate, (n) => prepared.modules[n] as WebAssembly.Module, new HostRegistry(wasiHostInterfaces()).buildImports(prepared.imports, {
    componentId: 'hello', env: [], mounts: [], stdout: sink, stderr: sink, blocker: { wait: () => undefined },
  }));
  const plan = template.coreInstantiations();
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    for (const { module, imports } of plan) new WebAssembly.Instance(module, imports);
    times.push(performance.now() - t);
  }
  const floorMs = median(times.slice(5));
  const floorRps = (workers * 1000) / floorMs;

  const engine = await rps(4096);
  const glueEach = await rps(1);
  const size = (await readFile(path)).length;

  console.log(`engine bench: JS hello component (${(size / 1e6).toFixed(1)} MB), ${workers} workers, ${DURATION_MS} ms per run`);
  console.log(`  V8 floor (workers ÷ median new WebAssembly.Instance of ${plan.length} core modules): 1.00`);
  console.log(`  executor, fresh instance per request (glue template):   ${(engine / floorRps).toFixed(2)} of the floor`);
  console.log(`  executor, jco glue run for every instance:              ${(glueEach / floorRps).toFixed(2)} of the floor`);
  console.log(`  glue template vs glue per instance:                     ${(engine / glueEach).toFixed(2)}x`);
  if (process.env['BENCH_VERBOSE'] === '1') console.log({ floorMs, floorRps, engine, glueEach });
} finally {
  await rm(dir, { recursive: true, force: true });
}
