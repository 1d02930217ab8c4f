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

describe('versionedNames', () => {
  it('recovers the version of an import from the component binary', () => {
    const bytes = new TextEncoder().encode('\u0000\u0001wasi:http/types@0.2.3\u0000spinel:x/y@1.0.0-rc\u0002');
    expect(versionedNames(bytes, ['wasi:http/types', 'spinel:x/y', 'other:a/b'])).toEqual(['wasi:http/types@0.2.3', 'spinel:x/y@1.0.0-rc', 'other:a/b']);
  });
});
