import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '@spinel/test-utils';
import { createBridgeServer } from '../channel/bridge-server.js';
import { firstMessage, startTsWorker } from '../../test/test-start-worker.js';
import { createPostgresService } from './postgres-service.js';
import { createRedisService } from './redis-service.js';
import { OUTBOUND_SERVICES_METHOD, outboundServicesHandler, type OutboundServices } from './services-bridge.js';

let redis: RedisServer;
let postgres: PostgresServer;
beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

describe('outbound services over the channel', () => {
  it('takes back every connection a worker held when it exits, leased or not', async () => {
    const policy = { allowedHosts: new Map([['c', AllowedHosts.parse([`redis://127.0.0.1:${redis.port}`, `postgres://127.0.0.1:${postgres.port}`])]]) };
    const services = { redis: createRedisService(policy), pg: createPostgresService(policy), mysql: { releaseOwner: () => undefined }, mqtt: { releaseOwner: () => undefined } } as unknown as OutboundServices;
    const bridge = createBridgeServer({ [OUTBOUND_SERVICES_METHOD]: outboundServicesHandler(services) });
    try {
      const endpoint = bridge.connect();
      const worker = startTsWorker('./test-open-worker.ts', { endpoint, opens: [{ service: 'redis', args: [redis.url] }, { service: 'pg', args: [postgres.url] }] }, [endpoint.port]);
      const outcomes = await firstMessage<unknown[]>(worker);
      expect(outcomes).toMatchObject([{ ok: true }, { ok: true }]);
      // Alive, the worker keeps what it opened.
      await new Promise((r) => setTimeout(r, 100));
      expect(services.redis.stats().held).toBe(1);
      expect(services.pg.stats().held).toBe(1);
      await worker.terminate();
      for (const started = Date.now(); services.redis.stats().held + services.pg.stats().held > 0; ) {
        if (Date.now() - started > 20_000) throw new Error(`still held 20 s after the worker exited: ${JSON.stringify([services.redis.stats(), services.pg.stats()])}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Given back the ordinary way: Redis's pooled, PostgreSQL's reset and pooled.
      expect(services.redis.stats()).toEqual({ held: 0, idle: 1 });
    } finally {
      bridge.close();
      await Promise.all([services.redis.close(), services.pg.close()]);
    }
  });
});
