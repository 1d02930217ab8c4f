// prepareApp: runApp without the listener, for a host that keeps its own (spinel-runner), and
// the events and counts a host builds its metrics and logs from.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import type { LockedApp } from '@spinel/manifest';
import { RUNTIME_CHANNELS, type GuestErrorEvent } from './events.js';
import { prepareApp, type PreparedApp } from './prepare-app.js';
import { testApp } from '../test/test-app.js';

let dir: string;
let cache: Cache;
let hello: string;
let echo: string;
let trap: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-prepareapp-'));
  cache = openCache({ root: join(dir, 'cache') });
  [hello, echo, trap] = await Promise.all([watComponent('hello'), watComponent('echo'), watComponent('trap')]);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A host server of our own handing every request to whichever prepared app `current()` returns. */
async function hostServer(current: () => PreparedApp): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => current().handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function withRoutes(app: LockedApp): LockedApp {
  app.triggers.push({ id: 'static', trigger_type: 'http', trigger_config: { route: '/static/...', static_response: { status_code: 202, body: 'fixed' } } });
  return app;
}

describe('prepareApp', () => {
  it('answers requests another server receives; two versions share that server, and closing the old one waits for its request', async () => {
    const v1 = await prepareApp({ app: testApp([{ id: 'web', path: echo }]), cache, workers: 1 });
    const v2 = await prepareApp({ app: testApp([{ id: 'web', path: hello }]), cache, workers: 1 });
    let serving = v1;
    const host = await hostServer(() => serving);
    try {
      // A request to v1 whose body is still arriving: v1 has it in flight.
      let answered!: (value: { status: number; body: string }) => void;
      const slow = new Promise<{ status: number; body: string }>((resolve) => (answered = resolve));
      const req = request(`${host.url}/web`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => answered({ status: res.statusCode ?? 0, body }));
      });
      req.write('first part, ');
      for (let i = 0; i < 100 && v1.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(v1.inFlight).toBe(1);

      // Switch: new requests go to v2 while v1 drains.
      serving = v2;
      const closed = v1.close(30_000);
      let closedYet = false;
      void closed.then(() => (closedYet = true));
      const fresh = await fetch(`${host.url}/web`);
      expect([fresh.status, await fresh.text()]).toEqual([200, 'hello from wat\n']);
      expect(closedYet).toBe(false);

      req.end('second part');
      expect(await slow).toEqual({ status: 201, body: 'first part, second part' });
      await closed;
      expect(v1.executor?.workerCount).toBe(0);
      expect(v2.inFlight).toBe(0);
    } finally {
      await host.close();
      await v1.close();
      await v2.close();
    }
  }, 120_000);

  it('routes paths for metrics labels as the trigger does', async () => {
    const app = await prepareApp({ app: withRoutes(testApp([{ id: 'web', path: hello }])), cache, workers: 1 });
    try {
      expect(app.routeOf('/web')).toEqual({ componentId: 'web', route: '/web' });
      expect(app.routeOf('/static/a/b')).toEqual({ componentId: undefined, route: '/static/...' });
      expect(app.routeOf('/.well-known/spin/health')).toEqual({ componentId: undefined, route: '/.well-known/spin/...' });
      expect(app.routeOf('/nowhere')).toBeUndefined();
      expect(app.routes().map((r) => r.id)).toEqual(['web', 'static']);
    } finally {
      await app.close();
    }
  }, 60_000);

  it('hands guest output to its own app, publishes faults with the app they belong to, and counts instances', async () => {
    const outputs: Array<{ componentId: string; stream: string; text: string }> = [];
    const faults: GuestErrorEvent[] = [];
    const onFault = (m: unknown): void => void faults.push(m as GuestErrorEvent);
    subscribe(RUNTIME_CHANNELS.guestError, onFault);
    const published = await prepareApp({
      app: testApp([{ id: 'hello', path: hello }, { id: 'trap', path: trap }]),
      cache,
      workers: 1,
      onGuestOutput: (componentId, stream, bytes) => void outputs.push({ componentId, stream, text: Buffer.from(bytes).toString('utf8') }),
    });
    // Without onGuestOutput (and no log dir) guest output goes nowhere.
    const quiet = await prepareApp({ app: testApp([{ id: 'hello', path: hello }]), cache, workers: 1 });
    const host = await hostServer(() => published);
    const quietHost = await hostServer(() => quiet);
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(`${host.url}/hello`)).status).toBe(200);
      expect((await fetch(`${quietHost.url}/hello`)).status).toBe(200);
      expect((await fetch(`${host.url}/trap`)).status).toBe(500);

      const lines = outputs.filter((o) => o.componentId === 'hello' && o.stream === 'stdout').map((o) => o.text);
      // Three requests to the published app's hello; the quiet app's request adds nothing here.
      expect(lines).toEqual(['log line from wat\n', 'log line from wat\n', 'log line from wat\n']);
      expect(faults).toContainEqual(expect.objectContaining({ app: published.app, componentId: 'trap', code: 'RUNTIME_GUEST_TRAP' }));

      const stats = published.stats();
      // One instance per request at least (the next one is made ahead, in idle time).
      expect(stats.instances.get('hello')).toBeGreaterThanOrEqual(3);
      expect(stats.instances.get('trap')).toBeGreaterThanOrEqual(1);
      // One regular worker, and perhaps the standby the pool keeps for an app of several components.
      expect(stats).toMatchObject({ queued: 0, busyWorkers: 0, keyValueOperations: [] });
      expect(stats.workers).toBeGreaterThanOrEqual(1);
      expect(quiet.stats().instances.get('hello')).toBeGreaterThanOrEqual(1);
    } finally {
      unsubscribe(RUNTIME_CHANNELS.guestError, onFault);
      await Promise.all([host.close(), quietHost.close()]);
      await Promise.all([published.close(), quiet.close()]);
    }
  }, 120_000);

  it('reports requests waiting for a worker as the queue', async () => {
    const app = await prepareApp({ app: testApp([{ id: 'web', path: echo }]), cache, workers: 1 });
    const host = await hostServer(() => app);
    const open = Array.from({ length: 3 }, () => {
      const req = request(`${host.url}/web`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
      req.on('error', () => undefined);
      req.write('x');
      return req;
    });
    try {
      // One worker: the first request holds it (its body never ends), the other two wait.
      for (let i = 0; i < 200 && app.stats().queued < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(app.stats()).toMatchObject({ queued: 2, busyWorkers: 1, workers: 1 });
    } finally {
      for (const req of open) req.destroy();
      await host.close();
      await app.close(0);
    }
  }, 60_000);
});
