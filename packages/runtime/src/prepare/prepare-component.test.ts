import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import type { InstanceContext } from '../guest/host-registry.js';
import { wasiHostInterfaces } from '../guest/wasi/host.js';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { InterfaceSet } from './interface-set.js';
import { prepareComponent, versionedNames } from './prepare-component.js';

let dir: string;
let cache: Cache;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-prepare-'));
  cache = openCache({ root: join(dir, 'cache') });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('prepareComponent', () => {
  it('gives the guest only the manifest environment and --env (which wins), nothing of the host', async () => {
    const path = await watComponent('hello');
    const prepared = await prepareComponent(
      { id: 'hello', source: { content_type: 'application/wasm', source: pathToFileURL(path).href }, env: { A: '1', B: '2' } },
      { cache, kind: 'http', env: { B: '3' }, interfaces: new InterfaceSet(WASI_INTERFACES) },
    );
    expect(prepared.env).toEqual([['A', '1'], ['B', '3']]);
    const factory = wasiHostInterfaces().get('wasi:cli/environment');
    const sink = { write: (): void => undefined };
    const ctx: InstanceContext = { componentId: 'hello', env: prepared.env, mounts: [], stdout: sink, stderr: sink, blocker: { wait: () => undefined } };
    const iface = factory?.(ctx) as { getEnvironment(): Array<[string, string]> };
    expect(iface.getEnvironment()).toEqual([['A', '1'], ['B', '3']]);
    expect(prepared.imports).toContain('wasi:http/types@0.2.3');
    expect(Object.keys(prepared.modules).length).toBeGreaterThan(0);
  }, 60_000);
});

describe('prepareComponent with a warm cache', () => {
  it('reads only the resettable form and the code cache of its glue (each file once, verified) and gives the same modules as the first start', async () => {
    const path = await watComponent('hello');
    const component = { id: 'hello', source: { content_type: 'application/wasm', source: pathToFileURL(path).href } };
    const fresh = openCache({ root: join(dir, 'warm') });
    const reads: string[] = [];
    const counting = new Proxy(fresh, {
      get(target, prop, receiver) {
        if (prop !== 'readDerived') return Reflect.get(target, prop, receiver) as unknown;
        return (key: string, options?: Parameters<Cache['readDerived']>[1]) => {
          reads.push(key);
          return target.readDerived(key, options);
        };
      },
    });
    const options = { cache: counting, kind: 'http' as const, env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) };
    const cold = await prepareComponent(component, options);
    // The first start transpiles, then makes the resettable form from that output.
    expect(reads.some((k) => k.startsWith('jco-transpile-'))).toBe(true);
    reads.length = 0;
    const warm = await prepareComponent(component, options);
    // The resettable form, then the code cache of its glue (prepare/glue-script.ts).
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatch(/^spinel-reset-\d+-jco-transpile-/);
    expect(reads[1]).toMatch(/^spinel-glue-code-/);
    expect(warm.glueUrl).toBe(cold.glueUrl);
    expect(warm.glueScript).toEqual(cold.glueScript);
    expect(Object.keys(warm.modules).sort()).toEqual(Object.keys(cold.modules).sort());
    expect(warm.reset).toEqual(cold.reset);
  }, 120_000);
});

describe('versionedNames', () => {
  it('recovers the version of an import from the component binary', () => {
    const bytes = new TextEncoder().encode('\u0000\u0001wasi:http/types@0.2.3\u0000spinel:x/y@1.0.0-rc\u0002');
    expect(versionedNames(bytes, ['wasi:http/types', 'spinel:x/y', 'other:a/b'])).toEqual(['wasi:http/types@0.2.3', 'spinel:x/y@1.0.0-rc', 'other:a/b']);
  });
});
