// The `serveFromWorkers` mode: worker threads serve HTTP themselves on one shared listening socket
// (guest/serve-http.ts, pool/serving-workers.ts). The trigger's behaviours hold as on the main thread.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { componentFromWat, wagiModule, watComponent } from '@spinel/test-utils';
import type { LockedApp } from '@spinel/manifest';
import { RUNTIME_CHANNELS } from '../events.js';
import { runApp, type RunningApp } from '../run-app.js';
import { testApp } from '../../test/test-app.js';
import { PING_WAT, pingCapability } from '../../test/test-ping-capability.js';

let dir: string;
let cache: Cache;
let running: RunningApp;
const events: Array<{ channel: string; message: Record<string, unknown> }> = [];
const listeners = new Map<string, (message: unknown) => void>();

function app(paths: Record<string, string>): LockedApp {
  const locked = testApp([
    { id: 'hello', path: paths['hello'] as string },
    { id: 'echo', path: paths['echo'] as string },
    { id: 'counter', path: paths['counter'] as string },
    { id: 'loop', path: paths['loop'] as string },
    { id: 'bomb', path: paths['memory-bomb'] as string },
    { id: 'trap', path: paths['trap'] as string },
    { id: 'stream', path: paths['stream'] as string },
    { id: 'pinger', path: paths['ping'] as string },
    { id: 'wagi', path: paths['wagi'] as string, wagi: true },
    { id: 'wagiloop', path: paths['wagiloop'] as string, wagi: true },
  ]);
  locked.triggers.push({ id: 'static', trigger_type: 'http', trigger_config: { route: '/static', static_response: { status_code: 201, headers: { 'x-static': 'yes' }, body: 'static body' } } });
  return locked;
}

const ping = pingCapability();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-serve-workers-'));
  cache = openCache({ root: join(dir, 'cache') });
  const paths: Record<string, string> = {};
  for (const name of ['hello', 'echo', 'counter', 'loop', 'memory-bomb', 'trap', 'stream'] as const) paths[name] = await watComponent(name);
  paths['ping'] = join(dir, 'ping.wasm');
  await writeFile(paths['ping'], await componentFromWat(PING_WAT, 'http-unknown'));
  paths['wagi'] = await wagiModule('echo');
  paths['wagiloop'] = await wagiModule('loop');
  for (const name of Object.values(RUNTIME_CHANNELS)) {
    const listener = (message: unknown): void => void events.push({ channel: name, message: message as Record<string, unknown> });
    listeners.set(name, listener);
    subscribe(name, listener);
  }
  running = await runApp({
    app: app(paths),
    cache,
    listen: '127.0.0.1:0',
    workers: 2,
    serveFromWorkers: true,
    requestTimeoutMs: 1500,
    maxInstanceMemory: 8 * 1024 * 1024,
    maxBodyBytes: 1024,
    capabilities: [ping.capability],
  });
}, 300_000);

afterAll(async () => {
  await running?.close();
  for (const [name, listener] of listeners) unsubscribe(name, listener);
  await rm(dir, { recursive: true, force: true });
});

/** Waits until `check` holds (events from the workers arrive as messages, after or before the response). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
}

/** One request on a keep-alive agent (so the connection, and the worker holding it, carry on). */
function get(path: string, options: { agent?: Agent; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${running.baseUrl}${path}`, { agent: options.agent, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('serveFromWorkers', () => {
  it('answers from the workers: components with Content-Length, static responses, health, info, 404', async () => {
    expect(running.trigger?.selfOrigin).toBe(running.baseUrl);
    const hello = await get('/hello');
    expect([hello.status, hello.text, hello.headers['content-length'], hello.headers['x-fixture']]).toEqual([200, 'hello from wat\n', '15', 'wat']);
    const fixed = await get('/static');
    expect([fixed.status, fixed.text, fixed.headers['x-static']]).toEqual([201, 'static body', 'yes']);
    expect((await get('/.well-known/spin/health')).text).toBe('OK');
    expect((await get('/.well-known/spin/info')).status).toBe(200);
    expect((await get('/nothing-here')).status).toBe(404);
    // The not-found event crossed from the worker and names the main thread's app object.
    await until(() => events.some((e) => e.channel === RUNTIME_CHANNELS.notFound));
    const notFound = events.find((e) => e.channel === RUNTIME_CHANNELS.notFound && e.message['path'] === '/nothing-here');
    expect(notFound?.message['app']).toBe(running.app);
    // Both workers serve from the one socket, and the main thread's own server never listened.
    expect(running.trigger?.server.listening).toBe(false);
  });

  it('gives every request a fresh instance (the counter reads 1 each time), counted in stats', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = running.stats().instances.get('counter') ?? 0;
      for (let i = 0; i < 5; i++) expect((await get('/counter', { agent })).text).toBe('1');
      expect((running.stats().instances.get('counter') ?? 0) - before).toBeGreaterThanOrEqual(5);
    } finally {
      agent.destroy();
    }
  });

  it('passes request bodies whole, answers 413 past maxBodyBytes and 431 past the header limit', async () => {
    const echoed = await get('/echo', { method: 'POST', body: 'ping body' });
    expect([echoed.status, echoed.text]).toEqual([201, 'ping body']);
    expect((await get('/echo', { method: 'POST', body: 'x'.repeat(2048) })).status).toBe(413);
    // Chunked, no Content-Length: the limit is found while reading.
    expect((await get('/echo', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'y'.repeat(2048) })).status).toBe(413);
    expect((await get('/hello', { headers: { 'x-big': 'z'.repeat(20_000) } })).status).toBe(431);
  });

  it('runs WAGI modules with their CGI environment, spin-style headers and stdin', async () => {
    const res = await get('/wagi?q=1', { method: 'POST', body: 'stdin text' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('QUERY_STRING=q=1');
    expect(res.text).toMatch(/X_FULL_URL=http:\/\/127\.0\.0\.1:\d+\/wagi\?q=1/);
    expect(res.text).toContain('stdin text');
  });

  it('stops a guest at its deadline inside the worker: 500, the connection and the worker live on', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get('/hello', { agent })).status).toBe(200);
      const started = Date.now();
      expect((await get('/loop', { agent })).status).toBe(500);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      // Same keep-alive connection, same worker: it still answers, with a fresh instance.
      expect((await get('/counter', { agent })).text).toBe('1');
      expect((await get('/wagiloop', { agent })).status).toBe(500);
      expect((await get('/hello', { agent })).status).toBe(200);
    } finally {
      agent.destroy();
    }
    await until(() => events.filter((e) => e.message['code'] === 'RUNTIME_TIMEOUT').length >= 2);
    const timeouts = events.filter((e) => e.channel === RUNTIME_CHANNELS.guestError && e.message['code'] === 'RUNTIME_TIMEOUT');
    expect(timeouts.map((e) => e.message['componentId']).sort()).toEqual(['loop', 'wagiloop']);
    expect(timeouts[0]?.message['app']).toBe(running.app);
    expect(running.executor?.stats().workers).toBe(2);
  });

  it('fails only its own request for a trap or a memory bomb (the memory cap holds), and reports it', async () => {
    expect((await get('/trap')).status).toBe(500);
    expect((await get('/bomb')).status).toBe(500);
    expect((await get('/counter')).text).toBe('1');
    await until(() => events.filter((e) => e.channel === RUNTIME_CHANNELS.requestError).length >= 2);
    const errors = events.filter((e) => e.channel === RUNTIME_CHANNELS.requestError).map((e) => e.message['componentId']);
    expect(errors).toEqual(expect.arrayContaining(['trap', 'bomb']));
    const traps = events.filter((e) => e.channel === RUNTIME_CHANNELS.guestError && e.message['code'] === 'RUNTIME_GUEST_TRAP').map((e) => e.message['componentId']);
    expect(traps).toEqual(expect.arrayContaining(['trap', 'bomb']));
  });

  it('serves a streamed response whole', async () => {
    const res = await get('/stream');
    expect(res.status).toBe(200);
    expect(res.text.length).toBeGreaterThan(0);
  });

  it('makes capability calls from the serving worker over its channel to the main thread', async () => {
    const before = ping.pings.length;
    // The fixture pings, then traps (it builds no response).
    expect((await get('/pinger')).status).toBe(500);
    expect(ping.pings.slice(before)).toEqual(['pinger']);
  });

  it('counts requests in flight on the main thread', async () => {
    // A body that never ends keeps a request in flight in a worker.
    const socket = connect(Number(new URL(running.baseUrl).port), '127.0.0.1');
    try {
      socket.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc');
      for (let i = 0; i < 100 && running.trigger?.inFlight !== 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(running.trigger?.inFlight).toBe(1);
    } finally {
      socket.destroy();
    }
    for (let i = 0; i < 100 && running.trigger?.inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(running.trigger?.inFlight).toBe(0);
  });
});

describe('serveFromWorkers, a serving worker lost', () => {
  /** The serving threads of an app, in the order they started (slot order). */
  const threadsOf = (served: RunningApp): Set<Worker> => (served.executor as unknown as { servingThreads: Set<Worker> }).servingThreads;

  /** Waits until the app answers `/counter` again. */
  async function servesAgain(served: RunningApp): Promise<void> {
    let status = 0;
    for (let i = 0; i < 300 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await fetch(`${served.baseUrl}/counter`).then((r) => r.status, () => 0);
    }
    expect(status).toBe(200);
    expect(await (await fetch(`${served.baseUrl}/counter`)).text()).toBe('1');
  }

  it('replaces a lost worker with a new one on the same socket, and it serves', async () => {
    const served = await runApp({ app: testApp([{ id: 'counter', path: await watComponent('counter') }]), cache, listen: '127.0.0.1:0', workers: 2, serveFromWorkers: true });
    try {
      expect((await fetch(`${served.baseUrl}/counter`)).status).toBe(200);
      // A crash stands for any death of the thread (a deadline never terminates one). The first
      // worker is the one that bound the address: its replacement listens through the other's descriptor.
      const threads = threadsOf(served);
      expect(threads.size).toBe(2);
      await [...threads][0]?.terminate();
      await servesAgain(served);
      await until(() => threads.size === 2);
      expect(threads.size).toBe(2);
      expect(events.some((e) => e.channel === RUNTIME_CHANNELS.guestError && e.message['code'] === 'RUNTIME_WORKER_FAILED')).toBe(true);
    } finally {
      await served.close();
    }
  }, 120_000);

  it('leaves the connections of the other workers open', async () => {
    const served = await runApp({
      app: testApp([
        { id: 'counter', path: await watComponent('counter') },
        { id: 'loop', path: await watComponent('loop') },
      ]),
      cache,
      listen: '127.0.0.1:0',
      workers: 2,
      serveFromWorkers: true,
      requestTimeoutMs: 1500,
    });
    const socket = connect(Number(new URL(served.baseUrl).port), '127.0.0.1');
    let closed = false;
    socket.on('close', () => (closed = true));
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const threads = [...threadsOf(served)];
      expect(threads).toHaveLength(2);
      // The endless guest keeps the worker holding this connection busy until its deadline: that
      // is how the test tells which worker holds it. The other one is lost meanwhile.
      const looping = exchange(socket, '/loop');
      const before = threads.map((t) => t.performance.eventLoopUtilization());
      await new Promise((r) => setTimeout(r, 500));
      const busy = threads.map((t, i) => t.performance.eventLoopUtilization(before[i]).utilization);
      const holder = (busy[0] ?? 0) > (busy[1] ?? 0) ? 0 : 1;
      expect(busy[holder]).toBeGreaterThan(0.5);
      await threads[1 - holder]?.terminate();
      expect(await looping).toMatch(/^HTTP\/1\.1 500/);
      // The same connection, on the worker that was not lost, answers on.
      expect(await exchange(socket, '/counter')).toMatch(/^HTTP\/1\.1 200[^]*\r\n\r\n1$/);
      expect(closed).toBe(false);
      await until(() => threadsOf(served).size === 2);
      expect(threadsOf(served).size).toBe(2);
      await servesAgain(served);
      expect(closed).toBe(false);
    } finally {
      socket.destroy();
      await served.close();
    }
  }, 120_000);

  it('binds the address again when no worker is left listening', async () => {
    const served = await runApp({ app: testApp([{ id: 'counter', path: await watComponent('counter') }]), cache, listen: '127.0.0.1:0', workers: 1, serveFromWorkers: true });
    try {
      const baseUrl = served.baseUrl;
      const threads = threadsOf(served);
      await [...threads][0]?.terminate();
      await servesAgain(served);
      expect(served.baseUrl).toBe(baseUrl);
      await until(() => threads.size === 1);
      expect(threads.size).toBe(1);
    } finally {
      await served.close();
    }
  }, 120_000);
});

/** Sends `GET path` on a keep-alive connection and resolves with the whole answer (head and a Content-Length body). */
function exchange(socket: ReturnType<typeof connect>, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (b: Buffer): void => {
      answer += b.toString('latin1');
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(answer.slice(0, end))?.[1] ?? 0);
      if (answer.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(answer);
    };
    const onClose = (): void => reject(new Error(`the connection closed before the answer to ${path} (had: ${JSON.stringify(answer)})`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
  });
}

describe('serveFromWorkers shutdown', () => {
  it('drains: a request in flight finishes, then the connection closes and nothing listens', async () => {
    const served = await runApp({ app: testApp([{ id: 'echo', path: await watComponent('echo') }]), cache, listen: '127.0.0.1:0', workers: 2, serveFromWorkers: true });
    const port = Number(new URL(served.baseUrl).port);
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (b: Buffer) => (answer += b.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\n\r\nabc');
    for (let i = 0; i < 100 && served.trigger?.inFlight !== 1; i++) await new Promise((r) => setTimeout(r, 20));
    const closing = served.close(10_000);
    await new Promise((r) => setTimeout(r, 200));
    socket.write('def');
    await closing;
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    expect(answer.endsWith('abcdef')).toBe(true);
    await expect(fetch(`${served.baseUrl}/echo`)).rejects.toThrow();
  }, 120_000);
});
