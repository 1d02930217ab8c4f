import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionLimit, LimitedSemaphore } from './connection-limit.js';
import { limitedConnector, outboundHttpConnectionLimit } from './limited-connector.js';

describe('an undici connector under a connection limit', () => {
  let server: Server;
  let origins: string[];
  let open = 0;
  let maxOpen = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), 100));
    server.on('connection', (socket: Socket) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      socket.once('close', () => open--);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // Two origins for one server, so undici's per-origin pool cannot be what limits.
    origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('keeps at most max_connections sockets open across origins and serves every request', async () => {
    const global = new LimitedSemaphore(10);
    const agent = new Agent({ connect: limitedConnector(new ConnectionLimit(2, global), { timeout: 10_000 }), keepAliveTimeout: 50 });
    try {
      const bodies = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const res = await request(`${origins[i % 2]}/`, { dispatcher: agent, reset: true });
          return res.body.text();
        }),
      );
      expect(bodies).toEqual(Array(8).fill('ok'));
      expect(maxOpen).toBe(2);
      await new Promise((r) => setTimeout(r, 200));
      expect(global.inUse).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('a permit not freed within the connect timeout is a connect timeout; the total cap counts too', async () => {
    const global = new LimitedSemaphore(1);
    const held = await new ConnectionLimit(undefined, global).acquire();
    const agent = new Agent({ connect: limitedConnector(new ConnectionLimit(5, global), { timeout: 200 }) });
    await expect(request(`${origins[0]}/`, { dispatcher: agent })).rejects.toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT' });
    held.release();
    const res = await request(`${origins[0]}/`, { dispatcher: agent });
    expect(await res.body.text()).toBe('ok');
    await agent.close();
  });

  it('[outbound_http] max_concurrent_requests counts one more, as Spin', () => {
    expect(outboundHttpConnectionLimit({ maxConnections: 4 })).toBe(4);
    expect(outboundHttpConnectionLimit({ maxConcurrentRequests: 0 })).toBe(1);
    expect(outboundHttpConnectionLimit(undefined)).toBeUndefined();
  });
});
