import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { createBridgeServer, type BridgeServer } from '../../channel/bridge-server.js';
import { createOutboundHttp, type OutboundHttp } from '../../services/outbound-http.js';
import { outboundBridgeHandlers } from '../../services/outbound-service.js';
import { startCountingServer, type CountingServer } from '../../../test/test-servers.js';
import { runOutboundSteps } from '../../../test/test-start-worker.js';

let upstream: CountingServer;
let listener: CountingServer;
let denied: CountingServer;
let http: OutboundHttp;
let server: BridgeServer;
const BIG = 3 * 1024 * 1024 + 17;

beforeAll(async () => {
  denied = await startCountingServer();
  const answer: Parameters<typeof startCountingServer>[0] = (req, res, body) => {
    if (req.url === '/redirect') {
      res.writeHead(301, { location: `${denied.origin}/x` });
      res.end();
    } else if (req.url === '/big') res.end(Buffer.alloc(BIG, 97));
    else if (req.url === '/slow') setTimeout(() => res.end('late'), 3000).unref();
    else if (req.url === '/mixed') setTimeout(() => res.end('after a while'), 200).unref();
    else res.end(`${req.method} ${req.url} ${req.headers['x-test']} ${body}`);
  };
  upstream = await startCountingServer(answer);
  // The app's listener is another server: requests to the upstream go on lent connections (never lent to the listener itself).
  listener = await startCountingServer(answer);
  http = createOutboundHttp({
    allowedHosts: new Map([['guest', AllowedHosts.parse([`http://127.0.0.1:${upstream.port}`, 'http://self'])]]),
    selfOrigin: () => listener.origin,
  });
  server = createBridgeServer(outboundBridgeHandlers(http));
});
afterAll(async () => {
  server.close();
  await http.close();
  await Promise.all([upstream.close(), denied.close(), listener.close()]);
});

function runSteps(steps: unknown[]): Promise<unknown[]> {
  return runOutboundSteps(server, steps);
}

describe('outbound HTTP host shapes in a worker, over the blocking bridge', () => {
  it('serves wasi:http outgoing-handler and fermyon:spin/http send-request with the policy applied', async () => {
    const before = denied.seen.length;
    const results = await runSteps([
      { api: 'wasi', url: `${upstream.origin}/a?b=1` },
      { api: 'wasi', url: `${upstream.origin}/post`, method: 'POST', body: 'streamed body' },
      { api: 'wasi', url: `${denied.origin}/nope` },
      { api: 'wasi', url: `${upstream.origin}/redirect` },
      { api: 'wasi', url: '/self-path' },
      { api: 'wasi', url: `${upstream.origin}/big` },
      { api: 'wasi', url: `${upstream.origin}/slow`, firstByteTimeoutMs: 100 },
      { api: 'spin', url: `${upstream.origin}/s`, method: 'put', body: 'spin body' },
      { api: 'spin', url: `${denied.origin}/s` },
      { api: 'spin', url: 'not a uri' },
      { api: 'mixed-poll', url: `${upstream.origin}/mixed` },
    ]);
    expect(results).toEqual([
      { status: 200, location: undefined, length: 13, body: 'GET /a?b=1 1 ' },
      { status: 200, location: undefined, length: 26, body: 'POST /post 1 streamed body' },
      { errorCode: { tag: 'HTTP-request-denied' } },
      { status: 301, location: `${denied.origin}/x`, length: 0, body: '' },
      { status: 200, location: undefined, length: 17, body: 'GET /self-path 1 ' },
      { status: 200, location: undefined, length: BIG, body: undefined },
      { errorCode: { tag: 'connection-read-timeout' } },
      { status: 200, body: 'PUT /s 1 spin body' },
      { thrown: 'destination-not-allowed' },
      { thrown: 'invalid-url' },
      { ready: [0], status: 200 },
    ]);
    expect(denied.seen.length).toBe(before);
    // The lent connections' calls end when the worker's channel closes, just after it exits.
    await vi.waitFor(() => expect(server.activeCalls).toBe(0), { timeout: 2000 });
  });
});
