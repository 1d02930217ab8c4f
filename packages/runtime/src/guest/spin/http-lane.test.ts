// Outbound HTTP on connections lent to a worker (`http-lane.ts`), against a raw node:net
// upstream on loopback that sends what a real server would, and what a hostile one might.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { createBridgeServer, type BridgeServer } from '../../channel/bridge-server.js';
import { createOutboundHttp, type OutboundHttp } from '../../services/outbound-http.js';
import { ConnectionLimit } from '../../services/connection-limit.js';
import { outboundBridgeHandlers } from '../../services/outbound-service.js';
import { runOutboundSteps } from '../../../test/test-start-worker.js';

/** What the upstream saw: each request's raw head and body, by connection number. */
interface Seen {
  connection: number;
  head: string;
  body: string;
}

let upstream: Server;
/** A port nothing listens on. */
let deadPort: number;
let origin: string;
let http: OutboundHttp;
let server: BridgeServer;
const seen: Seen[] = [];
let connections = 0;
/** In order: `request <path>` as each request arrives, `closed <connection>` as each connection closes. */
const events: string[] = [];

/** The answer to a request for `path` (raw bytes, or a function that drives the socket). */
function answer(path: string, socket: Socket): void {
  const send = (text: string): boolean => socket.write(Buffer.from(text, 'latin1'));
  switch (path) {
    case '/ok':
      send('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Upstream: yes\r\n\r\nok');
      return;
    case '/close':
      send('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye');
      socket.end();
      return;
    case '/cl-te':
      send('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
      return;
    case '/two-lengths':
      send('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc');
      return;
    case '/bad-status':
      send('HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n');
      return;
    case '/bare-lf':
      send('HTTP/1.1 200 OK\nContent-Length: 0\n\n');
      return;
    case '/folded':
      send('HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n');
      return;
    case '/space-before-colon':
      send('HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n');
      return;
    case '/huge-head':
      send(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`);
      return;
    case '/cut':
      send('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b');
      setTimeout(() => socket.destroy(), 30);
      return;
    case '/early-close':
      socket.destroy();
      return;
    case '/informational':
      send('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal');
      return;
    case '/drip': {
      const bytes = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n', 'latin1');
      let at = 0;
      const drip = (): void => {
        if (socket.destroyed || at >= bytes.length) return;
        socket.write(bytes.subarray(at, at + 7));
        at += 7;
        setTimeout(drip, 5);
      };
      drip();
      return;
    }
    case '/to-close':
      send('HTTP/1.1 200 OK\r\n\r\nread until the end');
      socket.end();
      return;
    case '/bad-chunk':
      send('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n');
      return;
    case '/silent':
      return;
    case '/quiet-close':
      send('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => socket.end(), 50);
      return;
    case '/late':
      setTimeout(() => send('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate'), 300).unref();
      return;
    case '/stall-body':
      send('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf ');
      return;
    case '/no-content':
      send('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n');
      return;
    case '/big': {
      const body = Buffer.alloc(3 * 1024 * 1024 + 5, 98);
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
      return;
    }
    default:
      send(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
  }
}

beforeAll(async () => {
  upstream = createServer((socket) => {
    const connection = ++connections;
    let buffer = Buffer.alloc(0);
    let pendingBody: { head: string; length: number; chunked: boolean } | undefined;
    socket.on('error', () => {});
    socket.on('close', () => events.push(`closed ${connection}`));
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (pendingBody === undefined) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.toString('latin1', 0, end);
          buffer = buffer.subarray(end + 4);
          const length = /\r\ncontent-length: (\d+)/i.exec(head);
          pendingBody = { head, length: length === null ? 0 : Number(length[1]), chunked: /\r\ntransfer-encoding: chunked/i.test(head) };
        }
        let body: string;
        if (pendingBody.chunked) {
          const last = buffer.indexOf('0\r\n\r\n');
          if (last < 0) return;
          body = buffer.toString('latin1', 0, last + 5);
          buffer = buffer.subarray(last + 5);
        } else {
          if (buffer.length < pendingBody.length) return;
          body = buffer.toString('latin1', 0, pendingBody.length);
          buffer = buffer.subarray(pendingBody.length);
        }
        const { head } = pendingBody;
        pendingBody = undefined;
        seen.push({ connection, head, body });
        events.push(`request ${head.split(' ')[1] ?? ''}`);
        const method = head.slice(0, head.indexOf(' '));
        const path = head.split(' ')[1] ?? '/';
        if (method === 'HEAD') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
        else answer(path, socket);
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  deadPort = (dead.address() as AddressInfo).port;
  await new Promise((resolve) => dead.close(resolve));
  http = createOutboundHttp({ allowedHosts: new Map([['guest', AllowedHosts.parse([origin, `http://127.0.0.1:${deadPort}`])]]), lendHttpConnections: true });
  server = createBridgeServer(outboundBridgeHandlers(http));
});
afterAll(async () => {
  server.close();
  await http.close();
  await new Promise((resolve) => upstream.close(resolve));
});

function runSteps(steps: unknown[]): Promise<unknown[]> {
  return runOutboundSteps(server, steps);
}

const get = (path: string, extra: object = {}): object => ({ api: 'wasi', url: `${origin}${path}`, ...extra });

describe('outbound HTTP on a connection lent to the worker', () => {
  it('keeps one connection for sequential requests, and writes the head itself without the guest\'s framing headers', async () => {
    const before = connections;
    const from = seen.length;
    const results = await runSteps([
      get('/ok', { headers: [['transfer-encoding', 'chunked'], ['host', 'evil.example'], ['connection', 'close'], ['x-mine', 'v']] }),
      get('/ok'),
      { api: 'spin', url: `${origin}/spin`, method: 'post', body: 'spin body' },
      get('/post', { method: 'POST', body: 'streamed body' }),
      get('/length', { method: 'PUT', chunks: ['abc', 'de'], headers: [['content-length', '5']] }),
      get('/ok', { method: 'HEAD' }),
      get('/no-content'),
      get('/ok'),
    ]);
    expect(results).toEqual([
      { status: 200, location: undefined, length: 2, body: 'ok' },
      { status: 200, location: undefined, length: 2, body: 'ok' },
      { status: 200, body: '/spin' },
      { status: 200, location: undefined, length: 5, body: '/post' },
      { status: 200, location: undefined, length: 7, body: '/length' },
      { status: 200, location: undefined, length: 0, body: '' },
      { status: 204, location: undefined, length: 0, body: '' },
      { status: 200, location: undefined, length: 2, body: 'ok' },
    ]);
    expect(connections - before).toBe(1);
    const mine = seen.slice(from);
    const host = origin.slice('http://'.length);
    expect(mine[0]?.head).toBe(`GET /ok HTTP/1.1\r\nhost: ${host}\r\nx-test: 1\r\nx-mine: v`);
    expect(mine[2]).toMatchObject({ head: `POST /spin HTTP/1.1\r\nhost: ${host}\r\nx-test: 1\r\ncontent-length: 9`, body: 'spin body' });
    expect(mine[3]).toMatchObject({ head: `POST /post HTTP/1.1\r\nhost: ${host}\r\nx-test: 1\r\ntransfer-encoding: chunked`, body: '2\r\nst\r\nb\r\nreamed body\r\n0\r\n\r\n' });
    expect(mine[4]).toMatchObject({ head: `PUT /length HTTP/1.1\r\nhost: ${host}\r\nx-test: 1\r\ncontent-length: 5`, body: 'abcde' });
  });

  it('fails a streamed body that goes past its content-length, as the undici path does, even after the length was reached', async () => {
    const results = await runSteps([
      get('/length', { method: 'PUT', chunks: ['abcde', 'xyz'], headers: [['content-length', '5']] }),
      get('/length', { method: 'PUT', chunks: ['abcdefgh'], headers: [['content-length', '5']] }),
      get('/ok'),
    ]);
    const tooLong = { errorCode: { tag: 'internal-error', val: 'Request body length does not match content-length header' } };
    expect(results).toEqual([tooLong, tooLong, { status: 200, location: undefined, length: 2, body: 'ok' }]);
  });

  it('refuses malformed or ambiguous responses with HTTP-protocol-error, and an oversized head', async () => {
    const results = await runSteps(['/cl-te', '/two-lengths', '/bad-status', '/bare-lf', '/folded', '/space-before-colon', '/huge-head'].map((p) => get(p)));
    expect(results).toEqual([...Array(6).fill({ errorCode: { tag: 'HTTP-protocol-error' } }), { errorCode: { tag: 'HTTP-response-header-section-size', val: 16 * 1024 } }]);
  });

  it('skips 1xx heads, reads a dripped chunked body and a body delimited by the close, and fails a malformed chunk', async () => {
    const before = connections;
    const results = await runSteps([get('/informational'), get('/drip'), get('/to-close'), get('/ok'), get('/bad-chunk')]);
    expect(results).toEqual([
      { status: 200, location: undefined, length: 5, body: 'final' },
      { status: 200, location: undefined, length: 11, body: 'hello world' },
      { status: 200, location: undefined, length: 18, body: 'read until the end' },
      { status: 200, location: undefined, length: 2, body: 'ok' },
      { status: 200, bodyError: { tag: 'HTTP-protocol-error' } },
    ]);
    // The close-delimited body ended its connection: the next request needed a new one.
    expect(connections - before).toBe(2);
  });

  it('maps a cut body, an early close and timeouts as the undici path does', async () => {
    const results = await runSteps([
      get('/cut'),
      get('/early-close'),
      get('/silent', { firstByteTimeoutMs: 100 }),
      get('/stall-body', { betweenBytesTimeoutMs: 100 }),
      get('/ok'),
    ]);
    expect(results).toEqual([
      { status: 200, bodyError: { tag: 'connection-terminated' } },
      { errorCode: { tag: 'connection-terminated' } },
      { errorCode: { tag: 'connection-read-timeout' } },
      { status: 200, bodyError: { tag: 'connection-read-timeout' } },
      { status: 200, location: undefined, length: 2, body: 'ok' },
    ]);
  });

  it('reuses no connection the upstream closed, and closes one whose body the guest dropped', async () => {
    const before = connections;
    const results = await runSteps([get('/close'), get('/ok'), { api: 'drop', url: `${origin}/big` }, { api: 'sleep', url: '', ms: 200 }, get('/after-drop'), get('/big')]);
    expect(results).toEqual([
      { status: 200, location: undefined, length: 3, body: 'bye' },
      { status: 200, location: undefined, length: 2, body: 'ok' },
      { status: 200, first: 'bbbbbbbbbbbbbbbb' },
      null,
      { status: 200, location: undefined, length: 11, body: '/after-drop' },
      { status: 200, location: undefined, length: 3 * 1024 * 1024 + 5, body: undefined },
    ]);
    // /close, then /ok and the dropped /big on a second, then a third for what follows the drop.
    expect(connections - before).toBe(3);
    // The dropped body's connection was closed when the guest dropped it, not when the worker ended.
    const closed = events.indexOf(`closed ${before + 2}`);
    expect(closed).toBeGreaterThanOrEqual(0);
    expect(closed).toBeLessThan(events.lastIndexOf('request /after-drop'));
  });

  it('takes a new connection when the upstream closed the idle one, and maps a refused connection and a denied host', async () => {
    const before = connections;
    const results = await runSteps([
      get('/quiet-close'),
      { api: 'sleep', url: '', ms: 200 },
      get('/again'),
      { api: 'wasi', url: `http://127.0.0.1:${deadPort}/x` },
      { api: 'spin', url: `http://127.0.0.1:${deadPort}/x` },
      { api: 'wasi', url: 'http://127.0.0.2:1/x' },
      { api: 'spin', url: 'http://127.0.0.2:1/x' },
    ]);
    expect(results).toEqual([
      { status: 200, location: undefined, length: 2, body: 'ok' },
      null,
      { status: 200, location: undefined, length: 6, body: '/again' },
      { errorCode: { tag: 'connection-refused' } },
      { thrown: 'request-error' },
      { errorCode: { tag: 'HTTP-request-denied' } },
      { thrown: 'destination-not-allowed' },
    ]);
    expect(connections - before).toBe(2);
  });

  it('closes the connection of a guest stopped at its deadline while it waited, so no later request reads its response', async () => {
    const before = connections;
    const results = await runSteps([get('/ok'), { ...get('/late'), api: 'stopped', ms: 100 }, { api: 'sleep', url: '', ms: 400 }, get('/next')]);
    expect(results).toEqual([
      { status: 200, location: undefined, length: 2, body: 'ok' },
      { stopped: 'ERR_SCRIPT_EXECUTION_TIMEOUT' },
      null,
      { status: 200, location: undefined, length: 5, body: '/next' },
    ]);
    expect(connections - before).toBe(2);
    expect(events.indexOf(`closed ${before + 1}`)).toBeLessThan(events.lastIndexOf('request /next'));
  });

  it('lends no connection while a connection limit is configured (an idle lent connection would hold its permit)', async () => {
    const never = { cancelled: false, onCancel: () => () => {} };
    const target = { componentId: 'guest', scheme: 'http', authority: origin.slice('http://'.length), pathWithQuery: '/' };
    const limited = createOutboundHttp({ allowedHosts: new Map([['guest', AllowedHosts.parse([origin])]]), connectionLimit: new ConnectionLimit(1, undefined) });
    try {
      expect(await limited.lendable(target, never)).toBeUndefined();
    } finally {
      await limited.close();
    }
  });

  it('lends a connection to the app\'s own listener reached by its address, as to any origin (the waiting worker counts as blocked: services/lent-self-call.test.ts)', async () => {
    const never = { cancelled: false, onCancel: () => () => {} };
    const target = { componentId: 'guest', scheme: 'http', authority: origin.slice('http://'.length), pathWithQuery: '/' };
    const asListener = createOutboundHttp({ allowedHosts: new Map([['guest', AllowedHosts.parse([origin])]]), selfOrigin: () => origin });
    try {
      const lent = await asListener.lendable(target, never);
      expect(lent?.host).toBe(target.authority);
      lent?.socket.destroy();
    } finally {
      await asListener.close();
    }
  });

  it('holds only the requests still open: finished ones leave the instance\'s set when they end, not when the instance does', async () => {
    const many = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? { api: 'spin', url: `${origin}/spin` } : get('/ok')));
    const results = await runSteps([
      ...many,
      { api: 'drop', url: `${origin}/big` },
      // A content-length without a body goes through the main thread's client (a bridge call).
      get('/bridged', { headers: [['content-length', '0']] }),
      { api: 'open', url: '' },
      { api: 'unread', url: `${origin}/big` },
      { api: 'open', url: '' },
    ]);
    expect(results.slice(0, many.length)).toEqual(many.map((step) => ('api' in step && step.api === 'spin' ? { status: 200, body: '/spin' } : { status: 200, location: undefined, length: 2, body: 'ok' })));
    expect(results.slice(many.length)).toEqual([
      { status: 200, first: 'b'.repeat(16) },
      { status: 200, location: undefined, length: 8, body: '/bridged' },
      { open: 0 },
      { status: 200 },
      { open: 1 },
    ]);
  });

  it('fails a response future kept past its request scope at once, lent or bridged, instead of leaving its poll to wait for the deadline', async () => {
    const results = await runSteps([
      { api: 'kept', url: `${origin}/silent` },
      // A content-length without a body goes through the main thread's client (a bridge call).
      { api: 'kept', url: `${origin}/silent`, headers: [['content-length', '0']] },
    ]);
    const aborted = { outcome: { tag: 'internal-error', val: 'request aborted' }, waitedLong: false };
    expect(results).toEqual([aborted, aborted]);
  });

  it('goes to undici for a header it would refuse, with the same error', async () => {
    const results = await runSteps([get('/ok', { headers: [['x-bad', 'a\u0001b']] })]);
    expect(results).toEqual([{ errorCode: { tag: 'internal-error', val: expect.any(String) } }]);
  });
});
