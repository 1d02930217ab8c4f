// A Spin JS SDK app built by the SDK's own build tool (`j2w` from @spinframework/build-tools,
// HTTP trigger world from @spinframework/wasi-http-proxy), served unchanged as `spinel up`
// serves it, through runApp.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { testApp } from '../../test/test-app.js';
import { runApp, type RunningApp } from '../run-app.js';
import type { AppCapabilities } from './app-capabilities.js';
import { buildSpinSdkApp } from '../../test/test-spin-sdk-build.js';
import { startCountingServer, type CountingServer } from '../../test/test-servers.js';

let dir: string;
let wasm: string;
let upstream: CountingServer;
let denied: CountingServer;
let caps: AppCapabilities;
let serving: RunningApp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-sdkapp-test-'));
  upstream = await startCountingServer((req, res, body) => res.end(`upstream got ${req.method} ${req.url} "${body}"`));
  denied = await startCountingServer();
  wasm = await buildSpinSdkApp();
  const app = testApp([
    {
      id: 'sdk-app',
      path: wasm,
      metadata: { allowed_outbound_hosts: [upstream.origin], key_value_stores: ['default'] },
    },
  ]);
  const trigger = app.triggers[0];
  if (trigger === undefined) throw new Error('no trigger');
  trigger.trigger_config = { component: 'sdk-app', route: '/...' };
  serving = await runApp({ app, cache: openCache({ root: join(dir, 'cache') }), stateDir: join(dir, 'state'), keyValue: { seeds: ['seeded=yes'] }, workers: 1, logDir: null, listen: '127.0.0.1:0' });
  caps = serving.capabilities;
}, 900_000);

afterAll(async () => {
  await serving?.close();
  await Promise.all([upstream?.close(), denied?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${serving.baseUrl}${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

describe('a Spin JS SDK app built with @spinframework/build-tools', () => {
  it('is a component built by the SDK tool, served as built', async () => {
    const bytes = await readFile(wasm);
    // Component binary: magic then layer 1 (core modules are layer 0).
    expect([...bytes.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
  });

  it('keeps a count in its default store across requests and is refused a store it does not list', async () => {
    const first = await get('/count');
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^count=1 keys=count,seeded other=refused .*access-denied/);
    expect((await get('/count')).body).toMatch(/^count=2 /);
    expect(new TextDecoder().decode(await caps.keyValue.manager.store('default').get('count'))).toBe('2');
  });

  it('calls an allowed loopback upstream with fetch()', async () => {
    expect(await get('/proxy', { 'x-target': `${upstream.origin}/hook?x=1` })).toEqual({ status: 200, body: 'status=200 body=upstream got GET /hook?x=1 ""' });
  });

  it('posts a body to an allowed loopback upstream with fetch()', async () => {
    expect(await get('/proxy', { 'x-method': 'POST', 'x-target': `${upstream.origin}/hook` })).toEqual({ status: 200, body: 'status=200 body=upstream got POST /hook "from the sdk app"' });
  });

  it('is refused a host not in allowed_outbound_hosts, before any connection', async () => {
    const refused = await get('/proxy', { 'x-target': `${denied.origin}/secret` });
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('fetch failed');
    expect(denied.seen).toHaveLength(0);
  });
});
