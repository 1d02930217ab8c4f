// Every component shape Spin accepts as an HTTP handler, served by runApp as `spinel up` serves
// it: wasi:http at the two 0.2 release candidates (WAT and componentize-js builds against the old
// WIT), Spin 1's fermyon:spin/inbound-http (WAT and componentize-js, with outbound HTTP, variables
// and key-value), a core module that embeds its component type; and the refusals at load.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache, type Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { coreModuleWithWorld, fixtureWitDir, legacyJsComponent, rcWatComponent, refusedShapeComponent, spinWatComponent, watComponentSource } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingServer, type CountingServer } from '../../test/test-servers.js';
import { createExecutor } from '../pool/create-executor.js';
import { runApp, type RunningApp } from '../run-app.js';
import { MULTIPLE_HTTP_HANDLERS_MESSAGE, NO_HTTP_HANDLER_MESSAGE } from './handler-type.js';

let dir: string;
let cache: Cache;
let upstream: CountingServer;
let refused: CountingServer;
let running: RunningApp;

const source = (path: string): LockedApp['components'][number]['source'] => ({ content_type: 'application/wasm', source: pathToFileURL(path).href });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-shapes-'));
  cache = openCache({ root: join(dir, 'cache') });
  upstream = await startCountingServer((req, res) => res.end(`upstream saw ${req.url}`));
  refused = await startCountingServer();
  const core = join(dir, 'core-module.wasm');
  await writeFile(core, await coreModuleWithWorld(watComponentSource('hello'), await fixtureWitDir('0.2.3'), 'http-handler'));
  const components: Array<[id: string, path: string, metadata?: Record<string, string[]>, config?: Record<string, string>]> = [
    ['rc1018-wat', await rcWatComponent('rc-2023-10-18')],
    ['rc1110-wat', await rcWatComponent('rc-2023-11-10')],
    ['rc1018-js', await legacyJsComponent('rc-2023-10-18')],
    ['rc1110-js', await legacyJsComponent('rc-2023-11-10')],
    ['spin-wat', await spinWatComponent('inbound-http'), { key_value_stores: ['default'] }],
    ['spin-js', await legacyJsComponent('spin-inbound-http'), { allowed_outbound_hosts: [upstream.origin], key_value_stores: ['default'] }, { greeting: 'hello {{ who }}' }],
    ['core-module', core],
  ];
  const app: LockedApp = {
    metadata: { name: 'shapes' },
    variables: { who: { default: 'spin 1' } },
    // spin-js routes on its whole path, so it takes the catch-all; the others their own prefixes.
    triggers: components.map(([id]) => ({ id: `t-${id}`, trigger_type: 'http', trigger_config: { component: id, route: id === 'spin-js' ? '/...' : `/${id}/...` } })),
    components: components.map(([id, path, metadata, config]) => ({ id, source: source(path), ...(metadata === undefined ? {} : { metadata }), ...(config === undefined ? {} : { config }) })),
  };
  running = await runApp({ app, cache, stateDir: join(dir, 'state'), logDir: null, workers: 1, listen: '127.0.0.1:0' });
}, 1_800_000);

afterAll(async () => {
  await running?.close();
  await Promise.all([upstream?.close(), refused?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function call(path: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${running.baseUrl}${path}`, { method: init.method ?? 'GET', ...(init.body === undefined ? {} : { body: init.body }) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe('wasi:http release candidates', () => {
  it('serves a WAT component exporting incoming-handler@0.2.0-rc-2023-10-18 (fields from entries, response from status, write())', async () => {
    const res = await call('/rc1018-wat/path?q=1', { method: 'POST', body: 'request body' });
    expect([res.status, res.headers.get('x-wasi-rc'), res.body]).toEqual([200, 'rc-2023-10-18', 'hello from rc-2023-10-18: /rc1018-wat/path?q=1\nrequest body']);
  });

  it('serves a WAT component exporting incoming-handler@0.2.0-rc-2023-11-10', async () => {
    const res = await call('/rc1110-wat/x', { method: 'POST', body: 'more' });
    expect([res.status, res.headers.get('x-wasi-rc'), res.body]).toEqual([200, 'rc-2023-11-10', 'hello from rc-2023-11-10: /rc1110-wat/x\nmore']);
  });

  it('serves componentize-js builds against each rc WIT (their own WASI 0.2.x imports beside the rc ones)', async () => {
    const a = await call('/rc1018-js/a');
    expect([a.status, a.headers.get('x-js-rc'), a.body]).toEqual([200, 'rc-2023-10-18', 'js says hello from /rc1018-js/a']);
    const b = await call('/rc1110-js/b');
    expect([b.status, b.headers.get('x-js-rc'), b.body]).toEqual([200, 'rc-2023-11-10', 'js says hello from /rc1110-js/b']);
  });
});

describe('fermyon:spin/inbound-http (Spin 1 components)', () => {
  it('passes method, path and query and the body; the response comes back whole (WAT)', async () => {
    const res = await call('/spin-wat/echo?x=y', { method: 'PUT', body: 'payload' });
    expect([res.status, res.headers.get('x-spin-component'), res.body]).toEqual([200, 'inbound-http', '2/spin-wat/echo?x=y payload']);
  });

  it("gives the handler Spin's headers, and reaches variables, key-value and outbound HTTP (componentize-js)", async () => {
    const echo = await call('/echo?z=1', { method: 'POST', body: 'b' });
    expect([echo.status, echo.body]).toEqual([200, 'post /echo?z=1 b']);
    expect(echo.headers.get('x-spin-headers')?.split(',')).toEqual(
      expect.arrayContaining(['spin-full-url', 'spin-path-info', 'spin-matched-route', 'spin-component-route', 'spin-raw-component-route', 'spin-base-path', 'spin-client-addr']),
    );
    expect((await call('/config', { method: 'POST', body: 'greeting' })).body).toBe('hello spin 1');
    expect((await call('/kv', { method: 'POST', body: 'from js' })).body).toBe('from js');
    // The WAT component reads the same default store.
    expect((await call('/spin-wat/kv')).body).toBe('from js');
  });

  it('sends fermyon:spin/http requests within allowed_outbound_hosts and refuses others (destination-not-allowed)', async () => {
    const ok = await call('/outbound', { method: 'POST', body: `${upstream.origin}/from-inbound-http` });
    expect([ok.status, ok.body]).toEqual([200, 'upstream saw /from-inbound-http']);
    const no = await call('/outbound', { method: 'POST', body: `${refused.origin}/nope` });
    expect([no.status, no.headers.get('x-error')]).toEqual([500, '"destination-not-allowed"']);
    expect(refused.seen).toEqual([]);
  });
});

describe('core modules that embed their component type (wit-bindgen ≥0.5)', () => {
  it('are made into components at load and served', async () => {
    const res = await call('/core-module');
    expect([res.status, res.body]).toEqual([200, 'hello from wat\n']);
  });
});

describe('refused at load', () => {
  async function loadError(path: string, trigger: 'http' | 'redis' = 'http'): Promise<{ code: string; message: string }> {
    const app: LockedApp = {
      triggers: [{ id: 't', trigger_type: trigger, trigger_config: trigger === 'http' ? { component: 'c', route: '/...' } : { component: 'c', channel: 'x' } }],
      components: [{ id: 'c', source: source(path) }],
    };
    try {
      const executor = await createExecutor({ app, cache, workers: 1 });
      await executor.close();
    } catch (err) {
      return { code: (err as { code: string }).code, message: (err as Error).message };
    }
    return { code: 'none', message: '' };
  }

  it("refuses a component with two HTTP handlers with Spin's message", async () => {
    expect(await loadError(await refusedShapeComponent('two-handlers'))).toEqual({ code: 'RUNTIME_MULTIPLE_HANDLERS', message: `Component "c": ${MULTIPLE_HTTP_HANDLERS_MESSAGE}` });
  });

  it("refuses a component without an HTTP handler with Spin's full message (a Redis handler on an HTTP route)", async () => {
    expect(await loadError(await legacyJsComponent('spin-inbound-redis'))).toEqual({ code: 'RUNTIME_NOT_A_HANDLER', message: `Component "c": ${NO_HTTP_HANDLER_MESSAGE}` });
  }, 300_000); // the first run componentizes the guest (tens of seconds on a busy machine)

  it('refuses wasi:http/handler@0.3 and async Spin 3 imports, naming them', async () => {
    const p3 = await loadError(await refusedShapeComponent('p3-handler'));
    expect(p3.code).toBe('RUNTIME_ASYNC_UNSUPPORTED');
    expect(p3.message).toContain('`wasi:http/handler@0.3.0-rc-2026-03-15`');
    expect(p3.message).toContain('component-model async is not supported yet');
    const imported = await loadError(await refusedShapeComponent('async-import'));
    expect(imported.code).toBe('RUNTIME_ASYNC_UNSUPPORTED');
    expect(imported.message).toContain('spin:key-value/key-value@3.0.0 (build against fermyon:spin/key-value@2.0.0 instead)');
  });

  it('refuses an HTTP component on a Redis trigger', async () => {
    const res = await loadError(await spinWatComponent('inbound-http'), 'redis');
    expect(res.code).toBe('RUNTIME_NOT_A_HANDLER');
    expect(res.message).toContain('does not export a Redis interface');
  });
});
