// prepareApp's Redis trigger for a host that switches versions (spinel-runner), against a real
// redis-server: nothing is subscribed until startRedis(), a message arriving while `accept` says
// no is dropped, one accepted reaches the guest (a Spin 1 handler appending to the default
// key-value store) and is reported through onHandled, and close() unsubscribes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { spin1ModuleFile, startRedis, type RedisServer } from '@spinel/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareApp } from '../../prepare-app.js';

let dir: string;
let redis: RedisServer;
let client: Redis;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-prepare-redis-'));
  redis = await startRedis();
  client = new Redis(redis.url);
}, 120_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function subscribers(channel: string): Promise<number> {
  const reply = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('prepareApp with Redis triggers', () => {
  it('subscribes on startRedis(), drops what arrives while not accepted, reports what it handled, and unsubscribes on close()', async () => {
    const stores = { key_value_stores: ['default'] };
    const app: LockedApp = {
      metadata: { name: 'prepared-redis', triggers: { redis: { address: redis.url } } },
      triggers: [{ id: 'sub', trigger_type: 'redis', trigger_config: { component: 'sub', channel: 'prepared-events' } }],
      components: [{ id: 'sub', source: { content_type: 'application/wasm', source: pathToFileURL(await spin1ModuleFile('redis', dir)).href }, metadata: stores }],
    };
    const prepared = await prepareApp({ app, cache: openCache({ root: join(dir, 'cache') }), stateDir: join(dir, 'state'), logDir: null, workers: 1 });
    let accepting = false;
    const handled: Array<[string, string, unknown]> = [];
    const settled: Array<() => void> = [];
    try {
      expect(prepared.hasRedisTriggers).toBe(true);
      expect(await subscribers('prepared-events')).toBe(0);
      const trigger = await prepared.startRedis({
        accept: () => accepting,
        onHandled: (componentId, channel, error) => {
          handled.push([componentId, channel, error]);
          for (const wake of settled.splice(0)) wake();
        },
      });
      expect(trigger?.servers.map((s) => [...s.channels.keys()])).toEqual([['prepared-events']]);
      // The same subscription however often it is asked for.
      expect(await prepared.startRedis()).toBe(trigger);
      expect(await subscribers('prepared-events')).toBe(1);

      // Not accepted: dropped as it arrives, never run. A PING on the same server after it shows it arrived.
      expect(await client.publish('prepared-events', 'dropped')).toBe(1);
      await client.ping();
      await new Promise((r) => setTimeout(r, 200));
      expect(handled).toEqual([]);

      accepting = true;
      const done = new Promise<void>((resolve) => settled.push(resolve));
      await client.publish('prepared-events', 'kept');
      await done;
      expect(handled).toEqual([['sub', 'prepared-events', undefined]]);
      const failedDone = new Promise<void>((resolve) => settled.push(resolve));
      await client.publish('prepared-events', 'fail');
      await failedDone;
      expect(handled[1]?.[0]).toBe('sub');
      expect((handled[1]?.[2] as { code?: string } | undefined)?.code).toBe('RUNTIME_HANDLER_ERROR');
      expect(prepared.stats().instances.get('sub')).toBeGreaterThanOrEqual(2);
    } finally {
      await prepared.close(10_000);
    }
    expect(await subscribers('prepared-events')).toBe(0);
    await expect(prepared.startRedis()).rejects.toMatchObject({ code: 'RUNTIME_CLOSED' });
  }, 300_000);
});
