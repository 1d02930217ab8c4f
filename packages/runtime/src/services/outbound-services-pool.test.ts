// The pool and the outbound services: a worker blocked on a database call is not waiting for a
// request of its own app, so a request queued behind it starts no extra worker (an extra worker
// is for `self` and chained requests, which may be the very request a blocked worker waits for).
// A real redis-server, made to hold its answer with CLIENT PAUSE.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { buildOutboundGuest, startRedis, type RedisServer } from '@spinel/test-utils';
import { prepareApp } from '../prepare-app.js';
import { readAll, testApp } from '../../test/test-app.js';

let dir: string;
let cache: Cache;
let redis: RedisServer;
let wasm: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-services-pool-'));
  cache = openCache({ root: join(dir, 'cache') });
  [redis, wasm] = await Promise.all([startRedis(), buildOutboundGuest('bench')]);
}, 600_000);
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('outbound service calls and the worker pool', () => {
  it('starts no extra worker for a request queued behind a worker blocked on Redis', async () => {
    const app = testApp([{ id: 'bench', path: wasm, metadata: { allowed_outbound_hosts: [`redis://127.0.0.1:${redis.port}`] } }]);
    const prepared = await prepareApp({ app, cache, workers: 1, maxWorkers: 2 });
    const admin = new Redis(redis.url);
    try {
      await admin.set('bench-key', 'x');
      const ask = (): Promise<{ status: number; text: string }> =>
        (prepared.executor as NonNullable<typeof prepared.executor>)
          .handle('bench', { method: 'GET', url: 'http://127.0.0.1/redis', headers: [['x-address', redis.url], ['x-count', '1']], body: (async function* () {})() })
          .then(async (res) => ({ status: res.status, text: (await readAll(res.body)).text }));
      expect(await ask()).toEqual({ status: 200, text: '{"bytes":1}' });

      // Redis holds every command for 3 s: the one worker blocks in its call to it.
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      const first = ask();
      for (let i = 0; i < 200 && prepared.stats().busyWorkers === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // Time for the guest to reach its Redis call (its instance was made ahead, in idle time).
      await new Promise((r) => setTimeout(r, 500));
      const second = ask();
      first.catch(() => undefined);
      second.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      expect(prepared.stats()).toMatchObject({ workers: 1, busyWorkers: 1, queued: 1 });
      expect(await first).toEqual({ status: 200, text: '{"bytes":1}' });
      expect(await second).toEqual({ status: 200, text: '{"bytes":1}' });
      expect(prepared.stats().workers).toBe(1);
    } finally {
      admin.disconnect();
      await prepared.close();
    }
  }, 120_000);
});
