// End to end through the engine and the HTTP trigger, run by runApp as `spinel up` runs it
// (capabilities, executor, service chaining, self origin, serving). The guest is the componentize-js one of guest-components.test.ts.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { testApp } from '../../test/test-app.js';
import { runApp, type RunningApp } from '../run-app.js';
import type { AppCapabilities } from './app-capabilities.js';
import { outboundAllowedChannel, outboundDeniedChannel } from '../events.js';
import { buildGuest } from '../../test/test-guest-build.js';
import { startCountingServer, type CountingServer } from '../../test/test-servers.js';

let dir: string;
let upstream: CountingServer;
let denied: CountingServer;
/**
 * The requests for `path` a counting server saw. Only the paths a test sends count: its port is
 * ephemeral, and another test file's client still polling a server that had the port before
 * (HEAD requests were seen) can reach it.
 */
const seenAt = (server: CountingServer, path: string): CountingServer['seen'] => server.seen.filter((r) => r.url === path);
let caps: AppCapabilities;
let serving: RunningApp;
const deniedEvents: unknown[] = [];
const onDenied = (message: unknown): void => {
  deniedEvents.push(message);
};
const allowedEvents: unknown[] = [];
const onAllowed = (message: unknown): void => {
  allowedEvents.push(message);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-capserve-'));
  upstream = await startCountingServer((req, res) => res.end(`upstream saw ${req.url}`));
  denied = await startCountingServer();
  const wasm = await buildGuest();
  const app = testApp([
    {
      id: 'guest',
      path: wasm,
      config: { greeting: 'hello {{ who }}' },
      metadata: {
        allowed_outbound_hosts: [upstream.origin, 'http://self', 'http://guest.spin.internal'],
        key_value_stores: ['default'],
      },
    },
  ]);
  // The guest routes on its own path, so it gets every path.
  const trigger = app.triggers[0];
  if (trigger === undefined) throw new Error('no trigger');
  trigger.trigger_config = { component: 'guest', route: '/...' };
  app.variables = { who: {} }; // required: no default
  serving = await runApp({
    app,
    cache: openCache({ root: join(dir, 'cache') }),
    variables: { flags: ['who=guest world'], env: {}, cwd: dir },
    stateDir: join(dir, 'state'),
    keyValue: { seeds: ['seeded=yes'] },
    // Two workers: a self or chained request needs a second free one while the caller waits.
    workers: 2,
    logDir: null,
    listen: '127.0.0.1:0',
  });
  caps = serving.capabilities;
  subscribe(outboundDeniedChannel.name, onDenied);
  subscribe(outboundAllowedChannel.name, onAllowed);
}, 900_000);

afterAll(async () => {
  unsubscribe(outboundDeniedChannel.name, onDenied);
  unsubscribe(outboundAllowedChannel.name, onAllowed);
  await serving?.close();
  await Promise.all([upstream?.close(), denied?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${serving.baseUrl}${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

describe('capabilities wired into the executor and the HTTP trigger', () => {
  it('gives the guest its variables (from --variable style flags)', async () => {
    expect(await get('/var')).toEqual({ status: 200, body: 'hello guest world' });
  });

  it('keeps state in the default SQLite store under the state dir, seeded before serving, across fresh instances', async () => {
    const first = await get('/kv');
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^visits=1 seeded=yes other=refused .*access-denied/);
    expect((await get('/kv')).body).toMatch(/^visits=2 seeded=yes /);
    expect(existsSync(join(dir, 'state', 'sqlite_key_value.db'))).toBe(true);
    expect(new TextDecoder().decode(await caps.keyValue.manager.store('default').get('visits'))).toBe('2');
    expect(caps.keyValue.defaultStoreNote).toContain('sqlite_key_value.db');
    // Counted where the workers ran them: per request two gets and a set on `default` (seeding is not the guest's).
    expect(serving.stats().keyValueOperations).toEqual([
      { store: 'default', op: 'get', count: 4 },
      { store: 'default', op: 'set', count: 2 },
    ]);
  });

  it('fetches an allowed loopback upstream and is refused a host not in its list, before any connection', async () => {
    expect(await get('/fetch', { 'x-target': `${upstream.origin}/up` })).toEqual({ status: 200, body: 'status=200 body=upstream saw /up' });
    const refused = await get('/denied', { 'x-target': `${denied.origin}/secret` });
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('fetch failed');
    expect(seenAt(denied, '/secret')).toHaveLength(0);
    expect(deniedEvents).toContainEqual(expect.objectContaining({ app: serving.app, componentId: 'guest', destination: denied.origin }));
    expect(allowedEvents).toContainEqual({ app: serving.app, componentId: 'guest', destination: upstream.origin });
    expect(allowedEvents).not.toContainEqual(expect.objectContaining({ destination: denied.origin }));
  });

  it('sends a self request to the listener itself, whatever Host the client sent', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${serving.baseUrl}/fetch`, { headers: { host: `127.0.0.1:${denied.port}`, 'x-target': 'http://self.alt/var' } }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res).toEqual({ status: 200, body: 'status=200 body=hello guest world' });
    expect(seenAt(denied, '/var')).toHaveLength(0);
  });

  it('dispatches http://<component>.spin.internal in process to the component', async () => {
    expect(await get('/fetch', { 'x-target': 'http://guest.spin.internal/var' })).toEqual({ status: 200, body: 'status=200 body=hello guest world' });
  });
});
