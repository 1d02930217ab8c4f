// The sandbox's refusals, each from a guest's point of view (host bindings in a real worker,
// policy on the serving side), with loopback servers counting what reaches them.
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { parseBlockNetworks } from './block-networks.js';
import { createBridgeServer, type BridgeServer } from '../channel/bridge-server.js';
import type { KeyValueConfigError } from '../errors.js';
import { prepareKeyValue } from './key-value.js';
import { createOutboundHttp, type OutboundHttp, type OutboundHttpOptions } from './outbound-http.js';
import { outboundBridgeHandlers } from './outbound-service.js';
import { startCountingServer, type CountingServer } from '../../test/test-servers.js';
import { runOutboundSteps } from '../../test/test-start-worker.js';

let allowed: CountingServer;
let forbidden: CountingServer;
let listener: CountingServer;
let http: OutboundHttp;
let server: BridgeServer;
let chained = 0;

beforeAll(async () => {
  forbidden = await startCountingServer();
  listener = await startCountingServer((req, res) => res.end(`listener ${req.headers.host}`));
  allowed = await startCountingServer((req, res) => {
    if (req.url === '/to-forbidden') {
      res.writeHead(307, { location: `${forbidden.origin}/after-redirect` });
      res.end();
    } else res.end('fine');
  });
  // `internal.example` resolves to loopback, which block_networks forbids.
  const lookup = ((hostname: string, _options: unknown, callback: (err: Error | null, addresses: LookupAddress[]) => void) => {
    if (hostname === 'internal.example') callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
  }) as unknown as NonNullable<OutboundHttpOptions['lookup']>;
  http = createOutboundHttp({
    allowedHosts: new Map([
      ['guest', AllowedHosts.parse([`http://127.0.0.1:${allowed.port}`, 'http://self', `http://internal.example:${forbidden.port}`])],
      ['backend', AllowedHosts.parse([])],
    ]),
    selfOrigin: () => listener.origin,
    blockNetworks: parseBlockNetworks(['private']),
    lookup,
    dispatch: async () => {
      chained++;
      return { status: 200, headers: [], body: (async function* () {})() };
    },
  });
  // Loopback is in `private`, so this client reaches nothing outside but the listener (self
  // requests go to the bound address, which block_networks does not govern); the redirect test
  // uses its own client without blocked networks.
  server = createBridgeServer(outboundBridgeHandlers(http));
});
afterAll(async () => {
  server.close();
  await http.close();
  await Promise.all([allowed.close(), forbidden.close(), listener.close()]);
});

function guest(steps: unknown[], bridge: BridgeServer = server): Promise<unknown[]> {
  return runOutboundSteps(bridge, steps);
}

describe('refusals', () => {
  it('a host not in allowed_outbound_hosts, a blocked private address behind a name, and an unlisted chained component', async () => {
    const results = await guest([
      { api: 'wasi', url: `${forbidden.origin}/direct` },
      { api: 'spin', url: `${forbidden.origin}/direct` },
      { api: 'wasi', url: `http://internal.example:${forbidden.port}/resolved-to-loopback` },
      { api: 'wasi', url: 'http://backend.spin.internal/' },
    ]);
    expect(results).toEqual([
      { errorCode: { tag: 'HTTP-request-denied' } },
      { thrown: 'destination-not-allowed' },
      { errorCode: { tag: 'destination-IP-prohibited' } },
      { errorCode: { tag: 'HTTP-request-denied' } },
    ]);
    expect(forbidden.seen).toEqual([]);
    expect(chained).toBe(0);
  });

  it('a redirect from an allowed host to a denied one reaches the guest as a 3xx and is never followed', async () => {
    const open = createOutboundHttp({ allowedHosts: new Map([['guest', AllowedHosts.parse([`http://127.0.0.1:${allowed.port}`])]]) });
    const bridge = createBridgeServer(outboundBridgeHandlers(open));
    try {
      const [redirect] = await guest([{ api: 'wasi', url: `${allowed.origin}/to-forbidden` }], bridge);
      expect(redirect).toMatchObject({ status: 307, location: `${forbidden.origin}/after-redirect` });
      expect(forbidden.seen).toEqual([]);
    } finally {
      bridge.close();
      await open.close();
    }
  });

  it('a self request with a spoofed Host header goes to the listener, never to the header\'s host', async () => {
    const [self] = await guest([{ api: 'wasi', url: '/whoami', headers: [['host', `127.0.0.1:${forbidden.port}`]] }]);
    expect(self).toMatchObject({ status: 200, body: `listener 127.0.0.1:${listener.port}` });
    expect(forbidden.seen).toEqual([]);
  });

  it('a store label the manifest did not list', async () => {
    let err: KeyValueConfigError | undefined;
    try {
      await prepareKeyValue({ app: { components: [{ id: 'guest', source: { content: {} }, metadata: { key_value_stores: ['secrets'] } }] } as never });
    } catch (e) {
      err = e as KeyValueConfigError;
    }
    expect(err?.code).toBe('RUNTIME_KV_UNKNOWN_LABEL');
    expect(err?.message).toBe('unknown key_value_stores label "secrets" for component "guest"');
    // A defined label the component did not list is refused at open: key-value.test.ts (`access-denied`).
  });
});
