// Spin 0.x/1.x core modules served unchanged by runApp, as `spinel up` serves them: the old
// wit-bindgen ABI for inbound HTTP, wasi-outbound-http and wasi_experimental_http to a loopback
// upstream (allowed and refused by allowed_outbound_hosts), spin-config, key-value, and an
// outbound-redis call answered with its error when no Redis host is configured.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spin1ModuleFile } from '@spinel/test-utils';
import { startCountingServer, type CountingServer } from '../../../test/test-servers.js';
import { runApp, type RunningApp } from '../../run-app.js';
import { outboundDeniedChannel } from '../../services/outbound-http.js';

let dir: string;
let upstream: CountingServer;
let refused: CountingServer;
let running: RunningApp;
const denials: Array<{ componentId: string }> = [];
const onDenied = (message: unknown): void => void denials.push(message as { componentId: string });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-spin1-'));
  upstream = await startCountingServer((req, res) => {
    res.setHeader('content-type', 'text/x-upstream');
    res.end(`upstream saw ${req.url}`);
  });
  refused = await startCountingServer();
  const source = async (name: Parameters<typeof spin1ModuleFile>[0]): Promise<LockedApp['components'][number]['source']> => ({
    content_type: 'application/wasm',
    source: pathToFileURL(await spin1ModuleFile(name, dir)).href,
  });
  const allowed = { allowed_outbound_hosts: [upstream.origin] };
  const app: LockedApp = {
    metadata: { name: 'spin1' },
    triggers: [
      { id: 't-spin1', trigger_type: 'http', trigger_config: { component: 'spin1', route: '/...' } },
      { id: 't-xhttp', trigger_type: 'http', trigger_config: { component: 'xhttp', route: '/xhttp' } },
      { id: 't-xwagi', trigger_type: 'http', trigger_config: { component: 'xwagi', route: '/xwagi', executor: { type: 'wagi' } } },
    ],
    components: [
      { id: 'spin1', source: await source('http'), config: { greeting: 'hello from config' }, metadata: { ...allowed, key_value_stores: ['default'] } },
      { id: 'xhttp', source: await source('experimental-http'), metadata: allowed },
      { id: 'xwagi', source: await source('experimental-wagi'), metadata: allowed },
    ],
  };
  subscribe(outboundDeniedChannel.name, onDenied);
  running = await runApp({ app, cache: openCache({ root: join(dir, 'cache') }), stateDir: join(dir, 'state'), logDir: join(dir, 'logs'), workers: 1, listen: '127.0.0.1:0' });
}, 300_000);

afterAll(async () => {
  unsubscribe(outboundDeniedChannel.name, onDenied);
  await running?.close();
  await Promise.all([upstream?.close(), refused?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function call(path: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${running.baseUrl}${path}`, { method: init.method ?? 'POST', ...(init.body === undefined ? {} : { body: init.body }) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe('Spin 1 modules (old wit-bindgen ABI) under runApp', () => {
  it('serves handle-http-request with the method, path and query, Spin headers and body, and logs its stdout', async () => {
    const res = await call('/echo?x=1', { method: 'PUT', body: 'the body' });
    expect([res.status, res.body]).toEqual([200, 'the body']);
    expect(res.headers.get('x-uri')).toBe('/echo?x=1');
    expect(res.headers.get('x-method')).toBe('2');
    await running.close();
    expect(await readFile(join(dir, 'logs', 'spin1_stdout.txt'), 'utf8')).toContain('spin1 module log');
    running = await runApp({ ...(await reopen()), listen: '127.0.0.1:0' });
  });

  it('reads a body larger than the channel window whole before calling the module (pulled over the worker channel)', async () => {
    // 1 MiB: four times what the main thread pushes before the worker acknowledges.
    const body = Array.from({ length: 1 << 14 }, (_, i) => `${String(i).padStart(63, '.')}\n`).join('');
    const res = await call('/echo', { body });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(body.length);
    expect(res.body === body).toBe(true);
  });

  it("answers a method the old ABI cannot pass with 405, without running the guest", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${running.baseUrl}/echo`, { method: 'TRACE' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(405);
  });

  it('sends wasi-outbound-http requests to an allowed upstream and refuses others before sending anything', async () => {
    const ok = await call('/outbound', { body: `${upstream.origin}/from-spin1` });
    expect([ok.status, ok.body]).toEqual([200, 'upstream saw /from-spin1']);
    expect(upstream.seen.map((s) => s.url)).toContain('/from-spin1');
    const no = await call('/outbound', { body: `${refused.origin}/nope` });
    expect([no.status, no.body]).toEqual([500, '1']); // http-error::destination-not-allowed
    expect(refused.seen).toEqual([]);
    expect(denials.some((d) => d.componentId === 'spin1')).toBe(true);
  });

  it('reads variables through spin-config and the default store through key-value (persisting across instances)', async () => {
    expect((await call('/config', { body: 'greeting' })).body).toBe('hello from config');
    expect((await call('/kv', { body: 'stored by spin 1' })).body).toBe('stored by spin 1');
    const again = await call('/kv', { method: 'GET' });
    expect([again.status, again.body]).toEqual([200, 'stored by spin 1']);
  });

  it('answers outbound-redis with its error when the app has no Redis host (linked, never refused at load)', async () => {
    expect((await call('/redis', { body: 'hello' })).body).toBe('1');
  });

  it('serves wasi_experimental_http from a handle-http-request module: allowed, and refused with destination_not_allowed', async () => {
    const ok = await call('/xhttp', { body: `${upstream.origin}/from-experimental` });
    expect([ok.status, ok.body, ok.headers.get('x-upstream-type')]).toEqual([200, 'upstream saw /from-experimental', 'text/x-upstream']);
    const no = await call('/xhttp', { body: `${refused.origin}/nope` });
    expect([no.status, no.headers.get('x-error')]).toEqual([502, '7']);
    expect(refused.seen).toEqual([]);
  });

  it('serves wasi_experimental_http from a WAGI module under the same allow-list', async () => {
    const ok = await call(`/xwagi?${upstream.origin}/from-wagi`, { method: 'GET' });
    expect([ok.status, ok.body]).toEqual([200, 'upstream saw /from-wagi']);
    const no = await call(`/xwagi?${refused.origin}/nope`, { method: 'GET' });
    expect([no.status, no.body]).toEqual([200, 'error 7']);
    expect(refused.seen).toEqual([]);
  });
});

/** The same app again (the first test closes it to read the flushed logs). */
async function reopen(): Promise<Parameters<typeof runApp>[0]> {
  return { app: running.app, cache: openCache({ root: join(dir, 'cache') }), stateDir: join(dir, 'state'), logDir: join(dir, 'logs'), workers: 1 };
}
