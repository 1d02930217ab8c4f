// HTTP middleware composed statically as Spin's HTTP trigger composes it (crates/trigger-http/src/middleware.rs):
// the chain is read back from the composed binary (which nested component is instantiated with
// what) and the binary is checked by jco's wasm-tools (componentWit decodes and validates it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as JcoApi from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedComponent } from '@spinel/manifest';
import { middlewareGuest, writeMiddlewareGuest, watComponent, type MiddlewareGuest } from '@spinel/test-utils';
import type { DependencyError } from '../../errors.js';
import { composeMiddleware } from './compose-middleware.js';
import { composeLockedComponent } from './composed-source.js';
import { readCompositionStructure, type InstanceOrigin } from './composition-structure.js';
import { decodeComponent } from './decode-component.js';

const HANDLER = 'wasi:http/handler@0.3.0';
const guests = new Map<MiddlewareGuest, Uint8Array>();
let dir: string;
let jco: typeof JcoApi;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-compose-mw-'));
  for (const g of ['app', 'middleware-outer', 'middleware-inner', 'not-middleware'] as const) guests.set(g, await middlewareGuest(g));
  // componentWit reads no files, so jco needs no preopens here.
  jco = await import('@bytecodealliance/jco');
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function bytesOf(g: MiddlewareGuest): Uint8Array {
  return guests.get(g) as Uint8Array;
}

function mw(g: MiddlewareGuest, inherit?: 'All' | { Some: string[] }): { bytes: Uint8Array; source: string; inherit?: 'All' | { Some: string[] } } {
  return { bytes: bytesOf(g), source: `${g}.wasm`, ...(inherit === undefined ? {} : { inherit }) };
}

function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

/** The instantiation an instance comes from, following aliases of its `name` export. */
function instantiation(origin: InstanceOrigin | { kind: 'other' } | undefined, name = HANDLER): Extract<InstanceOrigin, { kind: 'instantiate' }> {
  if (origin?.kind !== 'alias' || origin.name !== name || origin.instance.kind !== 'instantiate') throw new Error(`expected an alias of ${name} from an instantiation, got ${JSON.stringify(origin?.kind)}`);
  return origin.instance;
}

describe('composeMiddleware', { timeout: 120_000 }, () => {
  it('chains outermost → … → component through wasi:http/handler@0.3.0 and exports only the outermost handler', async () => {
    const composed = composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [mw('middleware-outer'), mw('middleware-inner')] });
    const s = readCompositionStructure(composed);
    expect([...s.exports.keys()]).toEqual([HANDLER]);
    const outer = instantiation(s.exports.get(HANDLER));
    expect(same(s.components[outer.component], bytesOf('middleware-outer'))).toBe(true);
    const inner = instantiation(outer.args.get(HANDLER));
    expect(same(s.components[inner.component], bytesOf('middleware-inner'))).toBe(true);
    const primary = instantiation(inner.args.get(HANDLER));
    expect(same(s.components[primary.component], bytesOf('app'))).toBe(true);
    // The component's own imports come from the host, its environment included (no adapter for it).
    expect(primary.args.get('wasi:cli/environment@0.3.0')).toEqual({ kind: 'import', name: 'wasi:cli/environment@0.3.0' });
    expect(primary.args.get('wasi:http/types@0.3.0')).toEqual({ kind: 'import', name: 'wasi:http/types@0.3.0' });
    expect(inner.args.get('wasi:http/types@0.3.0')).toEqual({ kind: 'import', name: 'wasi:http/types@0.3.0' });
    // What the host must provide: the chain's imports, less the wired handler.
    expect([...s.imports].sort()).toEqual(['wasi:cli/environment@0.3.0', 'wasi:http/types@0.3.0']);
    // WASI 0.3's stream and future types are copied into the outer import as they are.
    const types = decodeComponent(composed, new Map()).imports.find((i) => i.name === 'wasi:http/types@0.3.0');
    const consume = types?.kind === 'instance' ? types.type.exports.find((e) => e.name === '[static]request.consume-body') : undefined;
    expect(consume?.kind === 'func' && consume.type.result?.kind === 'tuple' ? consume.type.result.types.map((t) => t.kind) : []).toEqual(['stream', 'future']);
    // jco's wasm-tools decode (and validate) it; its world is the handler's.
    const wit = await jco.componentWit(composed);
    expect(wit).toContain(`export ${HANDLER};`);
    expect(wit).toContain('import wasi:http/types@0.3.0;');
    expect(wit).not.toContain(`import ${HANDLER};`);
    // And jco transpiles it (it validates the whole binary first), though Node 20 cannot run it.
    const transpiled = await jco.transpile(composed, { name: 'chain' });
    expect(Object.keys(transpiled.files)).toContain('chain.js');
  });

  it('denies a middleware the host interfaces it does not inherit (deny adapter) and keeps its other imports', async () => {
    const composed = composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [mw('middleware-outer')] });
    const s = readCompositionStructure(composed);
    const outer = instantiation(s.exports.get(HANDLER));
    expect(same(s.components[outer.component], bytesOf('middleware-outer'))).toBe(true);
    expect(outer.args.get('wasi:http/types@0.3.0')).toEqual({ kind: 'import', name: 'wasi:http/types@0.3.0' });
    for (const denied of ['wasi:http/client@0.3.0', 'wasi:cli/environment@0.3.0']) {
      const adapter = instantiation(outer.args.get(denied), denied);
      const nested = s.components[adapter.component] as Uint8Array;
      expect(Object.values(Object.fromEntries(guests)).some((g) => same(nested, g))).toBe(false);
    }
    // The client is not imported at all: only the adapter answers it. (The environment still is, for the component.)
    expect(s.imports).not.toContain('wasi:http/client@0.3.0');
    const wit = await jco.componentWit(composed);
    expect(wit).not.toContain('wasi:http/client');
    // The adapter's answer to the async `send` says it is not permitted, as Spin's does.
    expect(Buffer.from(composed).includes(Buffer.from('"wasi:http/client" is not permitted'))).toBe(true);
  });

  it('leaves a middleware what it inherits: all of it, or the named configurations', async () => {
    const all = readCompositionStructure(composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [mw('middleware-outer', 'All')] }));
    const outerAll = instantiation(all.exports.get(HANDLER));
    expect(outerAll.args.get('wasi:http/client@0.3.0')).toEqual({ kind: 'import', name: 'wasi:http/client@0.3.0' });
    expect(outerAll.args.get('wasi:cli/environment@0.3.0')).toEqual({ kind: 'import', name: 'wasi:cli/environment@0.3.0' });
    expect(all.components).toHaveLength(2);

    const some = readCompositionStructure(composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [mw('middleware-outer', { Some: ['environment'] })] }));
    const outerSome = instantiation(some.exports.get(HANDLER));
    expect(outerSome.args.get('wasi:cli/environment@0.3.0')).toEqual({ kind: 'import', name: 'wasi:cli/environment@0.3.0' });
    expect(instantiation(outerSome.args.get('wasi:http/client@0.3.0'), 'wasi:http/client@0.3.0').kind).toBe('instantiate');
    expect(some.imports).not.toContain('wasi:http/client@0.3.0');
  });

  it('returns the component unchanged with no middleware', () => {
    expect(composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [] })).toBe(bytesOf('app'));
  });

  it('refuses a component that is not a wasi:http 0.3 handler, and middleware that cannot sit in a chain', async () => {
    const { readFile } = await import('node:fs/promises');
    const http02 = new Uint8Array(await readFile(await watComponent('hello')));
    const refusal = (f: () => unknown): DependencyError => {
      try {
        f();
      } catch (e) {
        return e as DependencyError;
      }
      throw new Error('expected a refusal');
    };
    const notHandler = refusal(() => composeMiddleware({ componentId: 'web', bytes: http02, middleware: [mw('middleware-inner')] }));
    expect(notHandler.code).toBe('RUNTIME_MIDDLEWARE_INVALID');
    expect(notHandler.message).toContain("Component 'web' has HTTP middleware but does not export wasi:http/handler@0.3.0");
    expect(notHandler.message).toContain('wasi:http/incoming-handler@0.2.3');

    const noNext = refusal(() => composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [mw('not-middleware')] }));
    expect(noNext.code).toBe('RUNTIME_MIDDLEWARE_INVALID');
    expect(noNext.message).toContain('Middleware 1 of 1 of component \'web\' (not-middleware.wasm) must import and export wasi:http/handler@0.3.0');

    const notWasm = refusal(() => composeMiddleware({ componentId: 'web', bytes: bytesOf('app'), middleware: [{ bytes: new TextEncoder().encode('hello'), source: 'notes.txt' }] }));
    expect(notWasm.code).toBe('RUNTIME_MIDDLEWARE_INVALID');
    expect(notWasm.message).toContain('(from notes.txt)');
  });
});

describe('composeLockedComponent with trigger dependencies', { timeout: 120_000 }, () => {
  async function locked(extra: Partial<LockedComponent>): Promise<LockedComponent> {
    const path = await writeMiddlewareGuest('app', dir);
    return { id: 'web', source: { content_type: 'application/wasm', source: pathToFileURL(path).href }, ...extra };
  }
  const source = async (g: MiddlewareGuest): Promise<{ content_type: string; source: string }> => ({ content_type: 'application/wasm', source: pathToFileURL(await writeMiddlewareGuest(g, dir)).href });

  it('reads the middleware from the locked sources and chains them in order', async () => {
    const component = await locked({
      metadata: { 'resolve-trigger-dependencies-using': 'http' },
      trigger_dependencies: { middleware: [{ source: await source('middleware-inner'), export: null }, { source: await source('middleware-outer'), export: null, inherit: 'All' }] },
    });
    const s = readCompositionStructure(await composeLockedComponent(component));
    const first = instantiation(s.exports.get(HANDLER));
    expect(same(s.components[first.component], bytesOf('middleware-inner'))).toBe(true);
    const second = instantiation(first.args.get(HANDLER));
    expect(same(s.components[second.component], bytesOf('middleware-outer'))).toBe(true);
    expect(second.args.get('wasi:http/client@0.3.0')).toEqual({ kind: 'import', name: 'wasi:http/client@0.3.0' });
  });

  it('refuses trigger dependencies other than middleware, or on a trigger other than HTTP', async () => {
    const other = await locked({ trigger_dependencies: { auth: [{ source: await source('middleware-inner'), export: null }] } });
    await expect(composeLockedComponent(other)).rejects.toMatchObject({ code: 'RUNTIME_MIDDLEWARE_INVALID', message: expect.stringContaining("only allowed trigger dependency is `middleware`") as unknown });
    const redis = await locked({ metadata: { 'resolve-trigger-dependencies-using': 'redis' }, trigger_dependencies: { middleware: [{ source: await source('middleware-inner'), export: null }] } });
    await expect(composeLockedComponent(redis)).rejects.toMatchObject({ code: 'RUNTIME_MIDDLEWARE_INVALID', message: expect.stringContaining("a 'redis' trigger") as unknown });
  });
});
