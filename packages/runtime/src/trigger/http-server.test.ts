import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecuteOptions, Executor, GuestRequest, GuestResponse, WagiInvocation, WagiResult } from '../pool/executor-types.js';
import { runWagi } from '../guest/wagi/run-wagi.js';
import { createHttpTrigger, type HttpTrigger, type HttpTriggerOptions } from './http-server.js';
import type { HttpApp } from './trigger-config.js';

const enc = new TextEncoder();

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? enc.encode(p) : p;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

/** An executor whose "components" are JS functions: real code paths, no Wasm needed. */
class JsExecutor implements Executor {
  readonly seen: Array<{ componentId: string; request: GuestRequest; options: ExecuteOptions | undefined }> = [];
  readonly wagiModules = new Map<string, WebAssembly.Module>();
  lastInvocation: WagiInvocation | undefined;
  readonly aborted: string[] = [];
  closed = false;
  async handle(componentId: string, request: GuestRequest, options?: ExecuteOptions): Promise<GuestResponse> {
    this.seen.push({ componentId, request, options });
    switch (componentId) {
      case 'echo': {
        const body = await readAll(request.body);
        return {
          status: 200,
          headers: [['content-type', 'application/json'], ['x-multi', 'a'], ['x-multi', 'b']],
          body: chunks(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body: body.toString() })),
        };
      }
      case 'count': {
        let n = 0;
        for await (const c of request.body) n += c.length;
        return { status: 201, headers: [], body: chunks(String(n)) };
      }
      case 'stream': {
        const piece = new Uint8Array(64 * 1024).fill(97);
        return {
          status: 200,
          headers: [],
          body: (async function* () {
            for (let i = 0; i < 128; i++) yield piece;
          })(),
        };
      }
      case 'hang':
        return await new Promise<GuestResponse>((_resolve, reject) => {
          options?.signal?.addEventListener('abort', () => {
            this.aborted.push(componentId);
            reject(new Error('client went away'));
          });
        });
      case 'fail':
        throw new Error('guest trapped: unreachable');
      case 'bad-status':
        return { status: 700, headers: [], body: chunks() };
      case 'slow':
        return await new Promise<GuestResponse>((resolve, reject) => {
          const deadline = options?.timeoutMs === undefined ? options?.deadline : Date.now() + options.timeoutMs;
          const t = setTimeout(() => resolve({ status: 200, headers: [], body: chunks('slow done') }), 800);
          if (deadline !== undefined) {
            setTimeout(() => {
              clearTimeout(t);
              reject(Object.assign(new Error('deadline passed'), { code: 'RUNTIME_TIMEOUT' }));
            }, Math.max(0, deadline - Date.now()));
          }
        });
      default:
        throw new Error(`unknown component ${componentId}`);
    }
  }
  async runWagi(componentId: string, invocation: WagiInvocation): Promise<WagiResult> {
    this.lastInvocation = invocation;
    const module = this.wagiModules.get(componentId);
    if (module === undefined) throw new Error(`no module for ${componentId}`);
    return runWagi(module, invocation);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const APP: HttpApp = {
  metadata: { name: 'test-app', version: '1.2.3' },
  triggers: [
    { id: 't-echo', trigger_type: 'http', trigger_config: { component: 'echo', route: '/echo/:name/...' } },
    { id: 't-count', trigger_type: 'http', trigger_config: { component: 'count', route: '/count' } },
    { id: 't-stream', trigger_type: 'http', trigger_config: { component: 'stream', route: '/stream' } },
    { id: 't-fail', trigger_type: 'http', trigger_config: { component: 'fail', route: '/fail' } },
    { id: 't-bad', trigger_type: 'http', trigger_config: { component: 'bad-status', route: '/bad' } },
    { id: 't-slow', trigger_type: 'http', trigger_config: { component: 'slow', route: '/slow' } },
    { id: 't-hang', trigger_type: 'http', trigger_config: { component: 'hang', route: '/hang' } },
    { id: 't-private', trigger_type: 'http', trigger_config: { component: 'echo', route: { private: true } } },
    { id: 'teapot', trigger_type: 'http', trigger_config: { route: '/static', static_response: { status_code: 418, headers: { 'x-static': 'yes' }, body: 'short and stout' } } },
    { id: 't-cgi', trigger_type: 'http', trigger_config: { component: 'cgi', route: '/cgi/...', executor: { type: 'wagi' } } },
    { id: 't-redis', trigger_type: 'redis', trigger_config: { component: 'echo', channel: 'x' } },
  ],
  components: [
    { id: 'echo', metadata: { description: 'Echoes the request' } },
    { id: 'count' },
    { id: 'stream' },
    { id: 'fail' },
    { id: 'bad-status' },
    { id: 'slow' },
    { id: 'hang' },
    { id: 'cgi', env: { FROM_COMPONENT: 'c', SHARED: 'component' } },
  ],
};

// A WAGI module that prints a CGI response with Status and the request's PATH_INFO.
const CGI_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Status: 202 Accepted\\nContent-Type: text/plain\\nX-Cgi: 1\\n\\ncgi body")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 64))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

let cgiModule: WebAssembly.Module;
beforeAll(async () => {
  cgiModule = new WebAssembly.Module((await parse(CGI_WAT)) as Uint8Array<ArrayBuffer>);
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error('condition not reached');
}

const open: HttpTrigger[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(1000)));
});

async function start(extra: Partial<HttpTriggerOptions> = {}): Promise<{ trigger: HttpTrigger; base: string; executor: JsExecutor }> {
  const executor = new JsExecutor();
  executor.wagiModules.set('cgi', cgiModule);
  const trigger = createHttpTrigger({ app: APP, executor, ...extra });
  open.push(trigger);
  const base = await trigger.listen({ listen: '127.0.0.1:0' });
  return { trigger, base, executor };
}

function raw(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: AsyncIterable<Uint8Array> | Uint8Array; agent?: http.Agent } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: init.method ?? 'GET', headers: init.headers, agent: init.agent ?? false }, (res) => {
      const out: Buffer[] = [];
      res.on('data', (c: Buffer) => out.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(out), socket: req.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body === undefined) req.end();
    else if (init.body instanceof Uint8Array) req.end(init.body);
    else {
      (async () => {
        for await (const c of init.body as AsyncIterable<Uint8Array>) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch(reject);
    }
  });
}

describe('HTTP trigger', () => {
  it('answers health and info itself, 404 for other well-known paths', async () => {
    const { base, executor } = await start();
    const health = await raw(base, '/.well-known/spin/health');
    expect([health.status, health.body.toString()]).toEqual([200, 'OK']);
    const info = await raw(base, '/.well-known/spin/info');
    expect(info.status).toBe(200);
    expect(info.headers['content-type']).toBe('application/json');
    expect(JSON.parse(info.body.toString())).toEqual({ name: 'test-app', version: '1.2.3' });
    const other = await raw(base, '/.well-known/spin/other');
    expect([other.status, other.body.length]).toEqual([404, 0]);
    expect(executor.seen).toHaveLength(0);
  });

  it('answers 404 with an empty body when nothing matches, private routes included', async () => {
    const { base } = await start();
    for (const p of ['/nope', '/count/extra', '/echo']) {
      const r = await raw(base, p);
      expect([p, r.status, r.body.length]).toEqual([p, 404, 0]);
    }
  });

  it('gives the component the request, its spin-* headers and an absolute URL', async () => {
    const { base } = await start();
    const port = new URL(base).port;
    const r = await raw(base, '/echo/bob/x/y?q=1', { method: 'POST', headers: { 'x-test': 'v', 'spin-client-addr': 'forged' }, body: enc.encode('hello') });
    expect(r.status).toBe(200);
    expect(r.headers['x-multi']).toBe('a, b');
    const seen = JSON.parse(r.body.toString()) as { method: string; url: string; headers: Array<[string, string]>; body: string };
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe(`http://127.0.0.1:${port}/echo/bob/x/y?q=1`);
    expect(seen.body).toBe('hello');
    const h = Object.fromEntries(seen.headers);
    expect(h).toMatchObject({
      'x-test': 'v',
      'spin-full-url': `http://127.0.0.1:${port}/echo/bob/x/y?q=1`,
      'spin-path-info': '/x/y',
      'spin-matched-route': '/echo/:name/...',
      'spin-raw-component-route': '/echo/:name/...',
      'spin-component-route': '/echo/:name',
      'spin-base-path': '/',
      'spin-path-match-name': 'bob',
    });
    expect(h['spin-client-addr']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen.headers.filter(([n]) => n === 'spin-client-addr')).toHaveLength(1);
    expect(h['connection']).toBeUndefined();
  });

  it('serves static responses without a component', async () => {
    const { base, executor } = await start();
    const r = await raw(base, '/static');
    expect([r.status, r.headers['x-static'], r.body.toString()]).toEqual([418, 'yes', 'short and stout']);
    expect(executor.seen).toHaveLength(0);
  });

  it('answers 500 with an empty body when the component fails, and keeps serving', async () => {
    const { base } = await start();
    for (const p of ['/fail', '/bad']) {
      const r = await raw(base, p);
      expect([p, r.status, r.body.length]).toEqual([p, 500, 0]);
    }
    expect((await raw(base, '/count', { method: 'POST', body: enc.encode('abc') })).body.toString()).toBe('3');
  });

  it('passes the request timeout (counted from when the guest starts) and answers 500 when it passes', async () => {
    const { base, executor } = await start({ requestTimeoutMs: 50 });
    const r = await raw(base, '/slow');
    expect(r.status).toBe(500);
    expect(executor.seen[0]?.options?.timeoutMs).toBe(50);
    expect(executor.seen[0]?.options?.deadline).toBeUndefined();
    expect((await raw(base, '/static')).status).toBe(418);
  });

  it('streams request and response bodies', async () => {
    const { base } = await start();
    const piece = new Uint8Array(256 * 1024).fill(1);
    const up = await raw(base, '/count', { method: 'POST', body: (async function* () { for (let i = 0; i < 16; i++) yield piece; })() });
    expect([up.status, up.body.toString()]).toEqual([201, String(16 * piece.length)]);
    const down = await raw(base, '/stream');
    expect(down.body.length).toBe(128 * 64 * 1024);
    expect(down.body.every((b) => b === 97)).toBe(true);
  });

  it('answers 413 for bodies over the limit, declared or streamed', async () => {
    const { base } = await start({ maxBodyBytes: 1000 });
    const declared = await raw(base, '/count', { method: 'POST', body: new Uint8Array(2000) });
    expect(declared.status).toBe(413);
    const streamed = await raw(base, '/count', { method: 'POST', body: chunks(new Uint8Array(600), new Uint8Array(600)) });
    expect(streamed.status).toBe(413);
    expect((await raw(base, '/count', { method: 'POST', body: new Uint8Array(999) })).body.toString()).toBe('999');
  });

  it('answers 431 for oversized headers', async () => {
    const { base } = await start({ maxHeaderBytes: 2048 });
    const r = await raw(base, '/count', { headers: { 'x-big': 'a'.repeat(4096) } });
    expect(r.status).toBe(431);
  });

  it('answers 503 with Retry-After when too many requests are in flight', async () => {
    const { trigger, base } = await start({ maxConcurrentRequests: 1 });
    const slow = raw(base, '/slow');
    await until(() => trigger.inFlight === 1);
    const busy = await raw(base, '/count');
    expect([busy.status, busy.headers['retry-after']]).toEqual([503, '1']);
    expect((await slow).status).toBe(200);
    expect((await raw(base, '/static')).status).toBe(418);
  });

  it('aborts the guest’s request when the client goes away', async () => {
    const { trigger, base, executor } = await start();
    const req = http.get(`${base}/hang`, { agent: false });
    req.on('error', () => undefined);
    await until(() => trigger.inFlight === 1);
    req.destroy();
    await until(() => executor.aborted.length === 1 && trigger.inFlight === 0);
    expect(executor.aborted).toEqual(['hang']);
    expect((await raw(base, '/static')).status).toBe(418);
  });

  it('keeps connections alive between requests', async () => {
    const { base } = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await raw(base, '/static', { agent });
    const b = await raw(base, '/static', { agent });
    expect(a.socket).toBe(b.socket);
    agent.destroy();
  });

  it('runs WAGI components over CGI', async () => {
    const { base, executor } = await start({ env: { FROM_CLI: 'cli', SHARED: 'cli' } });
    const r = await raw(base, '/cgi/a%20b?x=1&y=2', { method: 'POST', body: enc.encode('stdin!') });
    expect([r.status, r.headers['x-cgi'], r.headers['content-type'], r.body.toString()]).toEqual([202, '1', 'text/plain', 'cgi body']);
    const inv = executor.lastInvocation;
    expect(inv?.argv).toEqual(['/cgi/a%20b', 'x=1', 'y=2']);
    expect(new TextDecoder().decode(inv?.stdin)).toBe('stdin!');
    const env = new Map(inv?.env);
    expect(env.get('PATH_INFO')).toBe('/a%20b');
    expect(env.get('PATH_TRANSLATED')).toBe('/a b');
    expect(env.get('SCRIPT_NAME')).toBe('/cgi');
    expect(env.get('CONTENT_LENGTH')).toBe('6');
    expect(env.get('QUERY_STRING')).toBe('x=1&y=2');
    expect([env.get('FROM_COMPONENT'), env.get('FROM_CLI'), env.get('SHARED')]).toEqual(['c', 'cli', 'cli']);
  });

  it('drains in-flight requests on close and refuses new ones', async () => {
    const { trigger, base } = await start();
    const slow = raw(base, '/slow');
    await until(() => trigger.inFlight === 1);
    const closing = trigger.close(5000);
    const r = await slow;
    expect([r.status, r.body.toString()]).toEqual([200, 'slow done']);
    await closing;
    await expect(raw(base, '/static')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('lists routes and prints Spin’s start-up text', async () => {
    const { trigger, base } = await start();
    const text = trigger.startupText();
    expect(text.startsWith(`\nServing ${base}\nAvailable Routes:\n`)).toBe(true);
    expect(text).toContain(`  echo: ${base}/echo/:name (wildcard)\n    Echoes the request\n`);
    expect(text).toContain(`  teapot: ${base}/static\n`);
    expect(text).not.toContain('t-private');
    const json = JSON.parse(trigger.startupText('json')) as { base_url: string; routes: unknown[] };
    expect(json.base_url).toBe(base);
    expect(json.routes[0]).toEqual({ id: 'echo', route: '/echo/:name', wildcard: true, description: 'Echoes the request' });
    expect(json.routes).toHaveLength(9);
  });

  it('says the address is in use, or finds a free port', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const trigger = createHttpTrigger({ app: APP, executor: new JsExecutor() });
    open.push(trigger);
    await expect(trigger.listen({ listen: `127.0.0.1:${port}` })).rejects.toMatchObject({
      code: 'RUNTIME_HTTP_ADDRESS_IN_USE',
      message: `127.0.0.1:${port} is already in use. To have Spinel search for a free port, use the --find-free-port option.`,
    });
    const base = await trigger.listen({ listen: `127.0.0.1:${port}`, findFreePort: true });
    expect(Number(new URL(base).port)).toBeGreaterThan(port);
    blocker.close();
  });

  it('warns about duplicated and reserved routes as Spin does', () => {
    const trigger = createHttpTrigger({
      app: {
        triggers: [
          { id: 'a', trigger_type: 'http', trigger_config: { component: 'one', route: '/dup' } },
          { id: 'b', trigger_type: 'http', trigger_config: { component: 'two', route: '/dup' } },
          { id: 'c', trigger_type: 'http', trigger_config: { component: 'one', route: '/.well-known/spin/mine' } },
        ],
        components: [{ id: 'one' }, { id: 'two' }],
      },
      executor: new JsExecutor(),
    });
    expect(trigger.warnings()).toEqual([
      'The following component routes are duplicates and will never be used:',
      '  one: /dup (duplicate of two)',
      'Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached',
    ]);
    expect(createHttpTrigger({ app: APP, executor: new JsExecutor() }).warnings()).toEqual([]);
  });

  it('refuses triggers Spin refuses', () => {
    const bad = (trigger_config: unknown) => () =>
      createHttpTrigger({ app: { triggers: [{ id: 'x', trigger_type: 'http', trigger_config }], components: [{ id: 'c' }] }, executor: new JsExecutor() });
    expect(bad({ route: '/' })).toThrow('Triggers must specify either component or static_response - x has neither');
    expect(bad({ route: '/', component: 'c', static_response: {} })).toThrow('x has both');
    expect(bad({ route: '/', component: 'c', executor: { type: 'wagi', entrypoint: 'main' } })).toThrow("Wagi component 'c' cannot use deprecated 'entrypoint' field");
    expect(bad({ route: { private: false }, component: 'c' })).toThrow(expect.objectContaining({ code: 'RUNTIME_HTTP_INVALID_ROUTE' }));
  });

  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const { base } = await start({ tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } });
    expect(base.startsWith('https://127.0.0.1:')).toBe(true);
    const body = await new Promise<string>((resolve, reject) => {
      https.get(`${base}/.well-known/spin/health`, { rejectUnauthorized: false }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
      }).on('error', reject);
    });
    expect(body).toBe('OK');
  });

  it('answers 400 to a request with two Host fields, and closes the connection (RFC 9112 §3.2)', async () => {
    const { base, executor } = await start();
    const answer = await exchange(base, 'GET /echo/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(executor.seen).toHaveLength(0);
    // One Host field is fine.
    expect(await exchange(base, 'GET /static HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 418 /);
  });

  it('answers CONNECT instead of closing the socket: routed like /, and the connection closed after it', async () => {
    const { base } = await start();
    // No route matches an empty path in this app: 404, as Spin's router answers.
    const notFound = await exchange(base, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(notFound).toMatch(/^HTTP\/1\.1 404 /);
    // With a catch-all route the request reaches it (here a static response).
    const catchAll = createHttpTrigger({ app: { triggers: [{ id: 'all', trigger_type: 'http', trigger_config: { route: '/...', static_response: { status_code: 200, body: 'caught' } } }], components: [] }, executor: new JsExecutor() });
    open.push(catchAll);
    const answer = await exchange(await catchAll.listen({ listen: '127.0.0.1:0' }), 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.endsWith('caught')).toBe(true);
  });
});

/** Sends `text` on a new connection and returns everything received until the server closes it. */
function exchange(base: string, text: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    setTimeout(() => socket.destroy(new Error(`no close after: ${JSON.stringify(out)}`)), 5000).unref();
  });
}
