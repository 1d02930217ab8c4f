import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { errors as undiciErrors } from 'undici';
import { parseBlockNetworks } from './block-networks.js';
import type { OutboundHttpError } from '../errors.js';
import { createOutboundHttp, outboundDeniedChannel, outboundErrorCode, type Cancellation, type OutboundHttpOptions, type OutboundRequestHead } from './outbound-http.js';
import { startCountingServer, type CountingServer } from '../../test/test-servers.js';

let upstream: CountingServer;
let denied: CountingServer;
let listener: CountingServer;

beforeAll(async () => {
  denied = await startCountingServer();
  listener = await startCountingServer((req, res) => res.end(`listener saw ${req.url}`));
  upstream = await startCountingServer((req, res, body) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `${denied.origin}/stolen` });
      res.end();
    } else if (req.url === '/slow-head') {
      setTimeout(() => res.end('late'), 3000).unref();
    } else if (req.url === '/slow-body') {
      res.writeHead(200);
      res.write('first');
      setTimeout(() => res.end('rest'), 3000).unref();
    } else if (req.url === '/big') {
      res.end(Buffer.alloc(1024 * 1024, 'b'));
    } else if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('abc');
      setTimeout(() => res.destroy(), 20).unref();
    } else if (req.url === '/echo') {
      res.end(`${req.method} ${body}`);
    } else res.end('hello');
  });
});
afterAll(async () => {
  await Promise.all([upstream.close(), denied.close(), listener.close()]);
});

function head(url: string | undefined, extra: Partial<OutboundRequestHead> = {}): OutboundRequestHead {
  if (url === undefined) return { componentId: 'app', method: 'GET', headers: [], scheme: undefined, authority: undefined, pathWithQuery: '/', ...extra };
  const u = new URL(url);
  return { componentId: 'app', method: 'GET', headers: [], scheme: u.protocol.slice(0, -1), authority: u.host, pathWithQuery: u.pathname + u.search, ...extra };
}

function client(allowed: string[], more: Partial<OutboundHttpOptions> = {}) {
  return createOutboundHttp({
    allowedHosts: new Map([
      ['app', AllowedHosts.parse(allowed, { componentIds: ['app', 'backend'] })],
      ['backend', AllowedHosts.parse([])],
    ]),
    selfOrigin: () => listener.origin,
    ...more,
  });
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  let out = '';
  for await (const chunk of body) out += Buffer.from(chunk).toString();
  return out;
}

async function refusal(promise: Promise<unknown>): Promise<OutboundHttpError> {
  try {
    await promise;
  } catch (err) {
    return err as OutboundHttpError;
  }
  throw new Error('expected the request to be refused');
}

/** A cancellation the test triggers, as a bridge call's is by the worker. */
function cancellation(): Cancellation & { cancel(): void } {
  let listeners: Array<() => void> = [];
  const c = {
    cancelled: false,
    onCancel(listener: () => void) {
      listeners.push(listener);
      return () => (listeners = listeners.filter((l) => l !== listener));
    },
    cancel() {
      c.cancelled = true;
      for (const l of listeners) l();
    },
  };
  return c;
}

describe('outbound HTTP policy and client', () => {
  it('sends an allowed request and streams the response', async () => {
    const http = client([`http://127.0.0.1:${upstream.port}`]);
    const res = await http.send(head(`${upstream.origin}/hello`));
    expect(res.status).toBe(200);
    expect(await text(res.body)).toBe('hello');
    const post = await http.send(head(`${upstream.origin}/echo`, { method: 'POST' }), (async function* () {
      yield new TextEncoder().encode('up');
      yield new TextEncoder().encode('load');
    })());
    expect(await text(post.body)).toBe('POST upload');
    await http.close();
  });

  it('refuses a host not in the list before connecting, with Spin\'s hint', async () => {
    const hints: unknown[] = [];
    const onDenied = (m: unknown): void => void hints.push(m);
    subscribe(outboundDeniedChannel.name, onDenied);
    const http = client([`http://127.0.0.1:${upstream.port}`]);
    const before = denied.seen.length;
    const err = await refusal(http.send(head(`${denied.origin}/x?token=secret`)));
    unsubscribe(outboundDeniedChannel.name, onDenied);
    expect(err.code).toBe('RUNTIME_OUTBOUND_DENIED');
    expect(err.errorCode).toEqual({ tag: 'HTTP-request-denied' });
    expect(err.spinError).toBe('destination-not-allowed');
    expect(err.message).toContain(`To allow this request, add 'allowed_outbound_hosts = ["http://127.0.0.1:${denied.port}"]' to the manifest component section.`);
    expect(err.message).not.toContain('secret');
    expect(hints).toEqual([{ componentId: 'app', destination: `http://127.0.0.1:${denied.port}`, hint: expect.stringContaining('disallowed destination') }]);
    expect(denied.seen.length).toBe(before);
    await http.close();
  });

  it('returns a redirect to the guest and never follows it to a denied host', async () => {
    const http = client([`http://127.0.0.1:${upstream.port}`]);
    const before = denied.seen.length;
    const res = await http.send(head(`${upstream.origin}/redirect`));
    expect(res.status).toBe(302);
    expect(res.headers).toContainEqual(['location', `${denied.origin}/stolen`]);
    await text(res.body);
    expect(denied.seen.length).toBe(before);
    await http.close();
  });

  it('sends a self request to the listener, never to a spoofed Host header', async () => {
    const http = client(['http://self']);
    const before = denied.seen.length;
    const res = await http.send(head(undefined, { pathWithQuery: '/api/x', headers: [['host', `127.0.0.1:${denied.port}`]] }));
    expect(await text(res.body)).toBe('listener saw /api/x');
    expect(listener.seen.at(-1)?.host).toBe(`127.0.0.1:${listener.port}`);
    expect(denied.seen.length).toBe(before);
    const alt = await http.send(head('http://self.alt/y'));
    expect(await text(alt.body)).toBe('listener saw /y');
    await http.close();
  });

  it('refuses self requests without permission, and without a known listener', async () => {
    const noSelf = client([`http://127.0.0.1:${upstream.port}`]);
    const err = await refusal(noSelf.send(head(undefined, { pathWithQuery: '/api' })));
    expect(err.errorCode).toEqual({ tag: 'HTTP-request-denied' });
    expect(err.message).toContain('A component tried to make an HTTP request to its own app but it does not have permission.');
    const noOrigin = client(['http://self'], { selfOrigin: () => undefined });
    expect((await refusal(noOrigin.send(head(undefined)))).errorCode).toEqual({ tag: 'HTTP-request-URI-invalid' });
    await noSelf.close();
    await noOrigin.close();
  });

  it('dispatches service-chained requests in process only after the allow-list check', async () => {
    const calls: Array<[string, string]> = [];
    const dispatch: OutboundHttpOptions['dispatch'] = async (id, request) => {
      calls.push([id, request.url]);
      return { status: 201, headers: [['x-from', id]], body: (async function* () { yield new TextEncoder().encode('chained'); })() };
    };
    const allowed = client(['http://backend.spin.internal'], { dispatch });
    const res = await allowed.send(head('http://backend.spin.internal/path?q=1'));
    expect(res.status).toBe(201);
    expect(await text(res.body)).toBe('chained');
    expect(calls).toEqual([['backend', 'http://backend.spin.internal/path?q=1']]);

    const notAllowed = client([`http://127.0.0.1:${upstream.port}`], { dispatch });
    const err = await refusal(notAllowed.send(head('http://backend.spin.internal/')));
    expect(err.errorCode).toEqual({ tag: 'HTTP-request-denied' });
    expect(calls).toHaveLength(1);
    const wildcard = client(['http://*.spin.internal'], { dispatch });
    await text((await wildcard.send(head('http://backend.spin.internal/w'))).body);
    expect(calls).toHaveLength(2);
    await Promise.all([allowed.close(), notAllowed.close(), wildcard.close()]);
  });

  it('refuses a name that resolves to a blocked network, checked on the resolved address', async () => {
    const toLoopback = ((hostname: string, options: unknown, callback: (err: Error | null, addresses: LookupAddress[]) => void) => {
      if (hostname === 'upstream.test') callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
    }) as unknown as NonNullable<OutboundHttpOptions['lookup']>;
    const allowedHost = `http://upstream.test:${upstream.port}`;
    const open = client([allowedHost], { lookup: toLoopback });
    const res = await open.send(head(`${allowedHost}/hello`));
    expect(await text(res.body)).toBe('hello');

    for (const networks of [['127.0.0.0/8'], ['private']]) {
      const before = upstream.seen.length;
      const blocked = client([allowedHost, `http://127.0.0.1:${upstream.port}`], { lookup: toLoopback, blockNetworks: parseBlockNetworks(networks) });
      const err = await refusal(blocked.send(head(`${allowedHost}/hello`)));
      expect(err.code).toBe('RUNTIME_OUTBOUND_FAILED');
      expect(err.errorCode).toEqual({ tag: 'destination-IP-prohibited' });
      // An IP literal is checked without any lookup.
      expect((await refusal(blocked.send(head(`${upstream.origin}/hello`)))).errorCode).toEqual({ tag: 'destination-IP-prohibited' });
      expect(upstream.seen.length).toBe(before);
      await blocked.close();
    }
    expect((await refusal(open.send(head(`http://nowhere.test:${upstream.port}/`)))).errorCode.tag).toBe('HTTP-request-denied');
    await open.close();
  });

  it('maps timeouts and refused connections to wasi:http error codes', async () => {
    const http = client([`http://127.0.0.1:*`]);
    const slowHead = await refusal(http.send(head(`${upstream.origin}/slow-head`, { firstByteTimeoutMs: 100 })));
    expect(slowHead.errorCode).toEqual({ tag: 'connection-read-timeout' });
    const slowBody = await http.send(head(`${upstream.origin}/slow-body`, { betweenBytesTimeoutMs: 100 }));
    expect(slowBody.status).toBe(200);
    const err = await refusal(text(slowBody.body));
    expect(err.errorCode).toEqual({ tag: 'connection-read-timeout' });
    const closed = await startCountingServer();
    await closed.close();
    expect((await refusal(http.send(head(`${closed.origin}/`)))).errorCode).toEqual({ tag: 'connection-refused' });
    expect(outboundErrorCode(new undiciErrors.ConnectTimeoutError())).toEqual({ tag: 'connection-timeout' });
    await http.close();
  });

  it('caps the requests in flight for the app with connection-limit-reached, released when a body is read', async () => {
    const http = client([`http://127.0.0.1:${upstream.port}`], { maxConcurrentRequests: 1 });
    const first = await http.send(head(`${upstream.origin}/hello`));
    const err = await refusal(http.send(head(`${upstream.origin}/hello`)));
    expect(err.errorCode).toEqual({ tag: 'connection-limit-reached' });
    expect(err.spinError).toBe('too-many-requests');
    expect(await text(first.body)).toBe('hello');
    expect(await text((await http.send(head(`${upstream.origin}/hello`))).body)).toBe('hello');
    await http.close();
  });

  it('stops a cancelled request before or after its head, and sends nothing once cancelled', async () => {
    const http = client([`http://127.0.0.1:${upstream.port}`]);
    const early = cancellation();
    early.cancel();
    const before = upstream.seen.length;
    expect((await refusal(http.send(head(`${upstream.origin}/hello`), undefined, early))).errorCode).toEqual({ tag: 'internal-error', val: 'request aborted' });
    expect(upstream.seen.length).toBe(before);
    const waiting = cancellation();
    const pending = refusal(http.send(head(`${upstream.origin}/slow-head`), undefined, waiting));
    setTimeout(() => waiting.cancel(), 50);
    expect((await pending).errorCode).toEqual({ tag: 'internal-error', val: 'request aborted' });
    const reading = cancellation();
    const res = await http.send(head(`${upstream.origin}/slow-body`), undefined, reading);
    const iterator = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await iterator.next()).value as Uint8Array).toString()).toBe('first');
    reading.cancel();
    expect((await refusal(iterator.next())).errorCode).toEqual({ tag: 'internal-error', val: 'request aborted' });
    await http.close();
  });

  it('reads a large body whole though the reader is slow, and frees the request when the reader stops early', async () => {
    const http = client([`http://127.0.0.1:${upstream.port}`], { maxConcurrentRequests: 1 });
    const big = await http.send(head(`${upstream.origin}/big`));
    let bytes = 0;
    let onlyB = true;
    for await (const chunk of big.body) {
      bytes += chunk.length;
      onlyB &&= chunk.every((b) => b === 0x62);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect([bytes, onlyB]).toEqual([1024 * 1024, true]);
    const slow = await http.send(head(`${upstream.origin}/slow-body`));
    for await (const chunk of slow.body) {
      expect(Buffer.from(chunk).toString()).toBe('first');
      break;
    }
    // Its body abandoned, the request no longer counts against the limit of one.
    expect(await text((await http.send(head(`${upstream.origin}/hello`))).body)).toBe('hello');
    await http.close();
  });

  it('maps a connection cut in the middle of a body to connection-terminated', async () => {
    const http = client([`http://127.0.0.1:${upstream.port}`]);
    const res = await http.send(head(`${upstream.origin}/cut`));
    expect(res.status).toBe(200);
    const err = await refusal(text(res.body));
    expect(err.errorCode).toEqual({ tag: 'connection-terminated' });
    expect(err.code).toBe('RUNTIME_OUTBOUND_FAILED');
    await http.close();
  });
});
