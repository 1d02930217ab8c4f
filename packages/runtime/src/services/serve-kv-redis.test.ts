// End to end through runApp, as `spinel up --runtime-config-file` runs an app whose `default`
// store is on Redis: the componentize-js guest of serve-capabilities.test.ts counts its visits in
// the store from two workers, which serve it over connections the main thread lends them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { startRedis, type RedisServer } from '@spinel/test-utils';
import { testApp } from '../../test/test-app.js';
import { buildGuest } from '../../test/test-guest-build.js';
import { runApp, type RunningApp } from '../run-app.js';
import { RespConnection } from './resp-connection.js';

let dir: string;
let redis: RedisServer;
let serving: RunningApp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-kv-redis-'));
  redis = await startRedis();
  const wasm = await buildGuest();
  const app = testApp([{ id: 'guest', path: wasm, config: { greeting: 'hi' }, metadata: { key_value_stores: ['default'] } }]);
  const trigger = app.triggers[0];
  if (trigger === undefined) throw new Error('no trigger');
  trigger.trigger_config = { component: 'guest', route: '/...' };
  serving = await runApp({
    app,
    cache: openCache({ root: join(dir, 'cache') }),
    keyValue: { definitions: new Map([['default', { type: 'redis', url: redis.url }]]) },
    workers: 2,
    logDir: null,
    listen: '127.0.0.1:0',
  });
}, 900_000);

afterAll(async () => {
  await serving?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a key-value store on Redis served by the workers', () => {
  it('reads what Node wrote, writes what Node reads, from every worker, each on its own lent connection', async () => {
    const store = serving.capabilities.keyValue.manager.store('default');
    await store.set('seeded', new TextEncoder().encode('from node'));
    await store.set('visits', new TextEncoder().encode('40'));
    // Concurrent requests, so both workers serve some.
    const bodies = await Promise.all(Array.from({ length: 8 }, async () => (await fetch(`${serving.baseUrl}/kv`)).text()));
    for (const body of bodies) expect(body).toMatch(/^visits=\d+ seeded=from node other=refused/);
    const visits = Number(new TextDecoder().decode((await store.get('visits')) ?? new Uint8Array()));
    expect(visits).toBeGreaterThan(40);
    expect(visits).toBeLessThanOrEqual(48);
    const admin = await RespConnection.connect({ address: '127.0.0.1', port: redis.port });
    try {
      const list = await admin.command(['CLIENT', 'LIST']);
      const clients = list.kind === 'bulk' && list.value !== null ? new TextDecoder().decode(list.value).trim().split('\n').length : 0;
      // This one, Node's store, and one lent connection for each worker that served a request.
      expect(clients).toBeGreaterThanOrEqual(3);
      expect(clients).toBeLessThanOrEqual(4);
    } finally {
      admin.close();
    }
    expect(serving.stats().keyValueOperations).toContainEqual({ store: 'default', op: 'set', count: 8 });
  });
});
