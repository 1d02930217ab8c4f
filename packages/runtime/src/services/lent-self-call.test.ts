// A guest calling its own app through an address the runtime does not know as its listener (a
// Kubernetes Service IP, a load balancer, a NAT hairpin, a docker bridge): here a TCP relay on
// another loopback port. The outbound connection is lent to the worker (only the listener's own
// port is recognised as `self`), and the worker waits on it for a request only another worker
// of the same pool can answer. The pool must see that worker as blocked on the app and start an
// extra one, as it does for a call through the main thread.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { testApp } from '../../test/test-app.js';
import { buildGuest } from '../../test/test-guest-build.js';
import { runApp, type RunningApp } from '../run-app.js';
import { outboundAllowedChannel } from '../events.js';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

let dir: string;
let wasm: string;
const running: RunningApp[] = [];
const relays: Server[] = [];

/** The app, listening, with its guest allowed to reach the relay that forwards to it. */
async function serveWithRelay(options: { serveFromWorkers?: boolean; requestTimeoutMs?: number; workers?: number }): Promise<{ app: RunningApp; relayOrigin: string }> {
  // The relay's port must be in the allow-list before the app starts: reserve it on a placeholder first.
  const placeholder = createServer();
  await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
  const relayPort = (placeholder.address() as AddressInfo).port;
  await new Promise<void>((resolve) => placeholder.close(() => resolve()));
  const relayOrigin = `http://127.0.0.1:${relayPort}`;
  const app = testApp([{ id: 'guest', path: wasm, config: { greeting: 'hello from inside' }, metadata: { allowed_outbound_hosts: [relayOrigin] } }]);
  const trigger = app.triggers[0];
  if (trigger === undefined) throw new Error('no trigger');
  trigger.trigger_config = { component: 'guest', route: '/...' };
  const serving = await runApp({
    app,
    cache: openCache({ root: join(dir, 'cache') }),
    variables: { flags: [], env: {}, cwd: dir },
    stateDir: join(dir, `state-${running.length}`),
    workers: 1,
    maxWorkers: 3,
    logDir: null,
    listen: '127.0.0.1:0',
    ...options,
  });
  running.push(serving);
  relays.push(await startRelay(relayPort, Number(new URL(serving.baseUrl).port)));
  return { app: serving, relayOrigin };
}

/** A TCP relay on loopback port `relayPort`, forwarding every connection to the app's `port`. */
async function startRelay(relayPort: number, port: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const relay = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  relay.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  await new Promise<void>((resolve) => relay.listen(relayPort, '127.0.0.1', resolve));
  return relay;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-lentself-'));
  wasm = await buildGuest();
}, 900_000);

afterAll(async () => {
  for (const app of running) await app.close(1000).catch(() => undefined);
  for (const relay of relays) relay.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

describe('a guest calling its own app through an address that is not its listener', () => {
  it('is answered promptly by a one-worker pool: the worker waiting on its lent connection counts as blocked', async () => {
    const { app, relayOrigin } = await serveWithRelay({});
    const allowed: unknown[] = [];
    const onAllowed = (m: unknown): void => void allowed.push(m);
    subscribe(outboundAllowedChannel.name, onAllowed);
    try {
      const started = Date.now();
      // Without the worker counted as blocked, nothing answers the inner request before the
      // 600 s first-byte timeout; the fetch below gives up after 15 s.
      const res = await get(`${app.baseUrl}/fetch`, { 'x-target': `${relayOrigin}/var` }, 15_000);
      expect(res).toEqual({ status: 200, body: 'status=200 body=hello from inside' });
      expect(Date.now() - started).toBeLessThan(10_000);
      // It went on a lent connection (the path under test), not through the main thread's client.
      expect(app.executor?.workerCount).toBe(2);
      // Two callers at once, each waiting on its own lent connection: a third worker answers.
      const again = await Promise.all([1, 2].map(() => get(`${app.baseUrl}/fetch`, { 'x-target': `${relayOrigin}/var` }, 15_000)));
      expect(again).toEqual([1, 2].map(() => ({ status: 200, body: 'status=200 body=hello from inside' })));
      // They went on lent connections, the path under test: one allowed event per connection,
      // where the main thread's client has one per request.
      expect(allowed.length).toBeGreaterThan(0);
      expect(allowed.length).toBeLessThan(3);
    } finally {
      unsubscribe(outboundAllowedChannel.name, onAllowed);
    }
  }, 60_000);

  it('with serveFromWorkers and one serving worker, stalls only until the request deadline (no extra worker there)', async () => {
    // The inner request reaches the listening socket, which only the serving workers accept, and
    // the one there is the caller: nothing can answer it (as on the main thread's client, lent
    // or not). The deadline stops the guest; the worker goes on serving.
    const { app, relayOrigin } = await serveWithRelay({ serveFromWorkers: true, requestTimeoutMs: 1500 });
    const started = Date.now();
    const res = await get(`${app.baseUrl}/fetch`, { 'x-target': `${relayOrigin}/var` }, 15_000);
    expect(res.status).toBe(500);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await get(`${app.baseUrl}/var`, {}, 15_000)).toEqual({ status: 200, body: 'hello from inside' });
  }, 60_000);

  it('keeps the fairness between components: waits on a slow service over lent connections leave the last extra worker to the others', async () => {
    // Component `fetch` calls a service that answers after 5 s, over lent connections; with one
    // regular worker and one extra, the extra must stay for component `var`, as with any worker
    // its component holds. Counted as not held, `fetch` took the extra and `var` waited for it.
    const slow = createHttpServer((_req, res) => void setTimeout(() => res.end('slow'), 5000));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const app = testApp([
      { id: 'fetch', path: wasm, metadata: { allowed_outbound_hosts: [origin] } },
      { id: 'var', path: wasm, config: { greeting: 'still here' } },
    ]);
    const serving = await runApp({ app, cache: openCache({ root: join(dir, 'cache') }), variables: { flags: [], env: {}, cwd: dir }, stateDir: join(dir, 'state-fair'), workers: 1, maxWorkers: 2, logDir: null, listen: '127.0.0.1:0' });
    running.push(serving);
    try {
      expect(await get(`${serving.baseUrl}/var`, {}, 15_000)).toEqual({ status: 200, body: 'still here' });
      const flood = [1, 2].map(() => get(`${serving.baseUrl}/fetch`, { 'x-target': `${origin}/` }, 30_000));
      await new Promise((resolve) => setTimeout(resolve, 800));
      const started = Date.now();
      expect(await get(`${serving.baseUrl}/var`, {}, 15_000)).toEqual({ status: 200, body: 'still here' });
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await Promise.all(flood)).toEqual([1, 2].map(() => ({ status: 200, body: 'status=200 body=slow' })));
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  }, 60_000);
});
