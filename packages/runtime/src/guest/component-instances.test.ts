import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache, type Cache } from '@spinel/cache';
import { jsComponent, watComponent, type WatComponentName } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../../test/test-app.js';
import { GLUE_STATE_IMPORT } from '../prepare/glue-state-patch.js';
import { InterfaceSet } from '../prepare/interface-set.js';
import { prepareComponent, type PreparedComponent } from '../prepare/prepare-component.js';
import { WASI_INTERFACES } from './wasi/interface-specs.js';
import { createComponentInstances, type ComponentInstances, type ComponentInstancesOptions } from './component-instances.js';
import type { GlueInstantiate } from './glue-template.js';
import { wasiOnlyHost } from './guest-host.js';
import type { InstanceContext } from './host-registry.js';
import { IncomingRequest, ResponseOutparam, type ResponseSink } from './wasi/http.js';

// The instances of a component as a worker drives them, in this thread: prepared by the real
// prepare step (rewrite and glue patch included), served request by request, with the worker's
// calls (nextHandler, then release or discard).

let dir: string;
let cache: Cache;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-instances-'));
  cache = openCache({ root: join(dir, 'cache') });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function prepare(path: string): Promise<PreparedComponent> {
  const component = testApp([{ id: 'guest', path }]).components[0];
  if (component === undefined) throw new Error('no component');
  return prepareComponent(component, { cache, kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) });
}

interface Served {
  instances: ComponentInstances;
  /** Runs one request and lets idle-time work (the next instance) happen; a fault discards the instance. */
  get(path: string): Promise<{ status: number | undefined; body: Buffer; fault?: unknown }>;
}

async function serve(prepared: PreparedComponent, extra: Partial<ComponentInstancesOptions> = {}): Promise<Served> {
  const glue = (await import(prepared.glueUrl ?? '')) as { instantiate: GlueInstantiate };
  const { registry } = wasiOnlyHost();
  const sink = { write: (): void => undefined };
  const ctx: InstanceContext = { componentId: 'guest', env: [], mounts: [], stdout: sink, stderr: sink, blocker: { wait: () => undefined } };
  const instances = createComponentInstances({
    instantiate: glue.instantiate,
    getCoreModule: (name) => prepared.modules[name] as WebAssembly.Module,
    imports: () => registry.buildImports(prepared.imports, ctx),
    reset: prepared.reset,
    ...extra,
  });
  return {
    instances,
    async get(path) {
      let status: number | undefined;
      const chunks: Buffer[] = [];
      const out: ResponseSink = { head: (s) => (status = s), chunk: (b) => chunks.push(Buffer.from(b)), end: () => undefined, fail: () => undefined };
      const body = { read: () => undefined, poll: { ready: () => true }, waitReadable: () => undefined };
      let fault: unknown;
      try {
        const handler = instances.nextHandler();
        registry.beginRequest(ctx);
        try {
          handler.handle(new IncomingRequest({ method: 'GET', url: `http://127.0.0.1:3000${path}`, headers: [] }, body, ctx.blocker), new ResponseOutparam(out));
        } finally {
          registry.endRequest(ctx);
        }
        instances.release();
      } catch (err) {
        fault = err;
        instances.discard();
      }
      await new Promise((r) => setImmediate(r));
      return { status, body: Buffer.concat(chunks), fault };
    },
  };
}

const wat = async (name: WatComponentName): Promise<PreparedComponent> => prepare(await watComponent(name));

describe('fresh instances by reset (WAT guests)', () => {
  it('gives every request a fresh global: the counter reads 1, and the instances are reset, not rebuilt', async () => {
    const prepared = await wat('counter');
    expect(prepared.reset?.layouts).toBeDefined();
    const { instances, get } = await serve(prepared);
    for (let i = 0; i < 5; i++) expect((await get('/')).body.toString()).toBe('1');
    expect(instances.counts()).toEqual({ glueRuns: 1, refreshes: 0, resets: 5 });
  });

  it("does not let a guest read what the previous request's guest left in memory", async () => {
    const prepared = await wat('secret');
    const { get } = await serve(prepared);
    expect((await get('/secret-of-request-one')).body).toEqual(Buffer.alloc(32));
    expect((await get('/two')).body).toEqual(Buffer.alloc(32));
    // The same guest with one instance serving two requests (--instance-reuse 2) does leak: the
    // fixture can tell.
    const reused = await serve(prepared, { instanceReuse: 2 });
    await reused.get('/secret-of-request-one');
    expect((await reused.get('/two')).body.toString('latin1')).toContain('/secret-of-request-one');
  });

  it("does not let a guest reach an earlier request's undropped handle", async () => {
    const prepared = await wat('handle-one');
    const { get } = await serve(prepared);
    expect((await get('/one')).body.toString()).toBe('/one');
    expect((await get('/two')).body.toString()).toBe('/two');
    expect((await get('/three')).body.toString()).toBe('/three');
    const reused = await serve(prepared, { instanceReuse: 2 });
    await reused.get('/one');
    expect((await reused.get('/two')).body.toString()).toBe('/one');
  });

  it('gives a guest that grew its memory new core instances', async () => {
    const { instances, get } = await serve(await wat('grow'));
    for (let i = 0; i < 4; i++) expect((await get('/')).body.toString()).toBe('3');
    expect(instances.counts()).toMatchObject({ glueRuns: 1, resets: 0, refreshes: 4 });
  });

  it('drops the instance and the glue after a trap', async () => {
    const { instances, get } = await serve(await wat('trap'));
    expect((await get('/')).fault).toBeInstanceOf(WebAssembly.RuntimeError);
    expect((await get('/')).fault).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(instances.counts()).toEqual({ glueRuns: 2, refreshes: 0, resets: 0 });
  });

  it('makes the first instance ahead when asked (prepare), and the first request is served by it', async () => {
    const { instances, get } = await serve(await wat('counter'));
    instances.prepare();
    expect(instances.counts().glueRuns).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(instances.counts()).toEqual({ glueRuns: 1, refreshes: 0, resets: 0 });
    instances.prepare();
    await new Promise((r) => setImmediate(r));
    expect(instances.counts().glueRuns).toBe(1);
    expect((await get('/')).body.toString()).toBe('1');
    expect((await get('/')).body.toString()).toBe('1');
    expect(instances.counts()).toEqual({ glueRuns: 1, refreshes: 0, resets: 2 });
  });

  it('leaves nothing behind when the instance made ahead fails: the first request runs the glue again', async () => {
    const prepared = await wat('counter');
    const real = ((await import(prepared.glueUrl ?? '')) as { instantiate: GlueInstantiate }).instantiate;
    let calls = 0;
    const failingOnce: GlueInstantiate = (...args) => {
      calls++;
      if (calls === 1) throw new Error('instantiation failed');
      return real(...args);
    };
    const { instances, get } = await serve(prepared, { instantiate: failingOnce });
    instances.prepare();
    await new Promise((r) => setImmediate(r));
    const res = await get('/');
    expect(res.fault).toBeUndefined();
    expect(res.body.toString()).toBe('1');
    expect(calls).toBe(2);
  });

  it('runs the glue for every guest when its handle tables cannot be emptied', async () => {
    const prepared = await wat('handle-one');
    const { instances, get } = await serve(prepared, { reset: { layouts: prepared.reset?.layouts, glueCaptureTables: undefined } });
    expect((await get('/one')).body.toString()).toBe('/one');
    expect((await get('/two')).body.toString()).toBe('/two');
    expect(instances.counts()).toMatchObject({ glueRuns: 3, resets: 0 });
  });
});

describe('fresh instances by reset (componentize-js guest)', () => {
  let prepared: PreparedComponent;
  beforeAll(async () => {
    prepared = await prepare(await jsComponent('isolation'));
  }, 900_000);

  it('keeps nothing of one request in the next: module variables start over, resets are used', async () => {
    expect(prepared.reset?.layouts).toBeDefined();
    const { instances, get } = await serve(prepared);
    for (const path of ['/secret-one', '/secret-two', '/three']) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ count: 1, previous: '' });
    }
    expect(instances.counts()).toEqual({ glueRuns: 1, refreshes: 0, resets: 3 });
  }, 120_000);

  it("puts jco's glue state back after every request: handle tables and bookkeeping as right after instantiation", async () => {
    // A probe on the patched glue's hook: the same containers the worker resets.
    const { instantiate } = (await import(prepared.glueUrl ?? '')) as { instantiate: GlueInstantiate };
    type Hook = (handleTables: unknown[], captures: Array<Map<unknown, unknown>>, bookkeeping: Record<string, unknown>) => void;
    let tables: Array<unknown[] & { _createdReps?: Set<unknown> }> = [];
    let bookkeeping: Record<string, unknown> = {};
    const probed: GlueInstantiate = (getCoreModule, imports, core) => {
      const hook = imports[GLUE_STATE_IMPORT] as unknown as Hook;
      const spy: Hook = (h, c, b) => {
        tables = h as typeof tables;
        bookkeeping = b;
        hook(h, c, b);
      };
      return instantiate(getCoreModule, { ...imports, [GLUE_STATE_IMPORT]: spy as unknown as Record<string, unknown> }, core);
    };
    const live = (): number => tables.filter((t) => Array.isArray(t)).reduce((n, t) => n + (t.length - 2) + (t._createdReps?.size ?? 0), 0);
    const asyncState = (): number => (bookkeeping['ASYNC_STATE'] as Map<unknown, unknown>).size;

    // With one instance serving two requests the probe sees what a request leaves behind.
    const reused = await serve(prepared, { instantiate: probed, instanceReuse: 2 });
    await reused.get('/one');
    expect(live()).toBeGreaterThan(0);
    expect(asyncState()).toBeGreaterThan(0);

    const { instances, get } = await serve(prepared, { instantiate: probed });
    for (const path of ['/one', '/two']) {
      expect((await get(path)).status).toBe(200);
      expect(live()).toBe(0);
      expect(asyncState()).toBe(0);
      expect([...(bookkeeping['INSTANCE_FLAGS'] as Map<unknown, WebAssembly.Global>).values()].map((g) => g.value)).toEqual([1]);
    }
    expect(instances.counts()).toEqual({ glueRuns: 1, refreshes: 0, resets: 2 });
  }, 120_000);

  it('makes new core instances after a request that grew memory, and resets again after that', async () => {
    const { instances, get } = await serve(prepared);
    expect(JSON.parse((await get('/grow')).body.toString())).toEqual({ count: 1, previous: '' });
    expect(JSON.parse((await get('/after-grow')).body.toString())).toEqual({ count: 1, previous: '' });
    expect(JSON.parse((await get('/again')).body.toString())).toEqual({ count: 1, previous: '' });
    expect(instances.counts()).toEqual({ glueRuns: 1, refreshes: 1, resets: 2 });
  }, 120_000);
});
