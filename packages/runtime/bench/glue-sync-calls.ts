// Worker-side CPU per request of P1's component (issue 11: a WAT wasi:http handler writing a
// 15-byte body), in one thread as a worker runs it — a fresh instance per request under the kept
// glue, the WASI host, the response writer — through the glue prepare makes, against the same glue
// with its sync host calls put back on jco's lowerer (prepare/glue-sync-call-patch.ts undone: the
// rebinding reverted, so every call takes jco's task and subtask bookkeeping). Alternated in one
// run; CPU time from process.cpuUsage (this thread and V8's helpers), ratios only.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import { createComponentInstances } from '../src/guest/component-instances.js';
import type { GlueInstantiate } from '../src/guest/glue-template.js';
import { HostRegistry } from '../src/guest/host-registry.js';
import { ResponseWriter } from '../src/guest/response-writer.js';
import { IncomingRequest, ResponseOutparam } from '../src/guest/wasi/http.js';
import { wasiHostInterfaces } from '../src/guest/wasi/host.js';
import { WASI_INTERFACES } from '../src/guest/wasi/interface-specs.js';
import { MemorySource } from '../src/guest/wasi/io.js';
import { InterfaceSet } from '../src/prepare/interface-set.js';
import { prepareComponent } from '../src/prepare/prepare-component.js';
import { SPINEL_LOWER_SYNC } from '../src/prepare/glue-sync-call-patch.js';
import { testApp } from '../test/test-app.js';

const ROUNDS = 9;
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 2000);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const dir = await mkdtemp(join(tmpdir(), 'spinel-glue-bench-'));
try {
  const cache = openCache({ root: join(dir, 'cache') });
  const app = testApp([{ id: 'hello', path: await watComponent('hello') }]);
  const component = app.components[0];
  if (component === undefined) throw new Error('no component');
  const prepared = await prepareComponent(component, { cache, kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) });
  const patched = Buffer.from((prepared.glueUrl ?? '').replace(/^data:text\/javascript;base64,/, ''), 'base64').toString('utf8');
  if (!patched.includes(`) : ${SPINEL_LOWER_SYNC}.bind(`)) throw new Error('prepare did not patch the glue for sync calls');
  // jco's path: the same text with every import bound to jco's lowerer again (the trampolines
  // then see no caller task as `this` and make their own tasks, as jco's text does).
  const unpatched = patched.replaceAll(`) : ${SPINEL_LOWER_SYNC}.bind(`, ') : _lowerImportBackwardsCompat.bind(');
  const sink = { write: (): void => undefined };
  const ctx = { componentId: 'hello', env: [], mounts: [], stdout: sink, stderr: sink, blocker: { wait: (): void => undefined } };
  const run = async (source: string): Promise<() => void> => {
    const { instantiate } = (await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)) as { instantiate: GlueInstantiate };
    const instances = createComponentInstances({
      instantiate,
      getCoreModule: (name) => prepared.modules[name] as WebAssembly.Module,
      imports: () => new HostRegistry(wasiHostInterfaces()).buildImports(prepared.imports, ctx),
      reset: prepared.reset,
    });
    let status = 0;
    const post = (message: { type: string; status?: number }): void => {
      if (message.type === 'response') status = message.status ?? 0;
    };
    return () => {
      const handler = instances.nextHandler();
      const writer = new ResponseWriter(1, post as never, () => undefined);
      handler.handle(new IncomingRequest({ method: 'GET', url: 'http://127.0.0.1/', headers: [] }, new MemorySource(new Uint8Array(0)), ctx.blocker), new ResponseOutparam(writer));
      writer.end();
      instances.release();
      if (status !== 200) throw new Error(`the guest answered ${status}`);
      status = 0;
    };
  };
  const ours = await run(patched);
  const jco = await run(unpatched);
  const cpuPerRequest = (one: () => void): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) one();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / REQUESTS;
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const x = cpuPerRequest(ours);
    const y = cpuPerRequest(jco);
    if (round === 0) continue;
    a.push(x);
    b.push(y);
  }
  const [pa, pb] = [median(a), median(b)];
  console.log(`\nP1's WAT component in one thread, a fresh instance per request (worker side: glue, WASI host, response writer), CPU per request, ${ROUNDS} alternated rounds of ${REQUESTS}`);
  console.log(`  glue as prepare makes it (sync calls patched)    ${pa.toFixed(2).padStart(8)} µs`);
  console.log(`  the same glue on jco's lowerer (unpatched path)  ${pb.toFixed(2).padStart(8)} µs`);
  console.log(`  patched ÷ unpatched ${(pa / pb).toFixed(2)}×`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
