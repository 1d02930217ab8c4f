import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { openCache, type Cache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../../test/test-app.js';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { InterfaceSet } from '../prepare/interface-set.js';
import { prepareComponent, type PreparedComponent } from '../prepare/prepare-component.js';
import { workerComponent } from './job-protocol.js';

// What every worker's init message carries of a component's glue: one form, never both.

let dir: string;
let cache: Cache;
let prepared: PreparedComponent;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-job-protocol-'));
  cache = openCache({ root: join(dir, 'cache') });
  const component = testApp([{ id: 'guest', path: await watComponent('counter') }]).components[0];
  if (component === undefined) throw new Error('no component');
  prepared = await prepareComponent(component, { cache, kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('workerComponent', () => {
  it('posts the glue script alone when prepare made one, without the base64 URL', () => {
    expect(prepared.glueScript).toBeDefined();
    const posted = workerComponent(prepared);
    expect(posted.glue).toEqual({ script: prepared.glueScript });
    expect(Object.keys(posted)).not.toContain('glueUrl');
    expect(Object.keys(posted)).not.toContain('glueScript');
    // What structured clone copies to each worker no longer holds the data: URL.
    const url = prepared.glueUrl ?? '';
    expect(url.length).toBeGreaterThan(1000);
    expect(serialize(posted).length).toBeLessThan(serialize(prepared).length - url.length / 2);
  });

  it('posts the URL when the glue has no script form', () => {
    const { glueScript: _script, ...noScript } = prepared;
    expect(workerComponent(noScript).glue).toEqual({ url: prepared.glueUrl });
  });

  it('posts no glue for a core module', () => {
    const wagi: PreparedComponent = { ...prepared, kind: 'wagi', glueUrl: undefined, glueScript: undefined };
    const posted = workerComponent(wagi);
    expect(posted.glue).toBeUndefined();
    expect(posted.kind).toBe('wagi');
  });
});
