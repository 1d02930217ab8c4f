import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { LockedApp } from '@spinel/manifest';
import { freeLoopbackPort, startRedis, type RedisServer } from '@spinel/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayRedisAddress, redisStartupText, redisSubscriptions } from './redis-subscriptions.js';
import { startRedisTrigger } from './redis-trigger.js';

function app(triggers: Array<{ id: string; config: Record<string, string> }>, address?: string): LockedApp {
  return {
    metadata: { name: 'r', ...(address === undefined ? {} : { triggers: { redis: { address } } }) },
    variables: { host: { default: '127.0.0.1' } },
    triggers: triggers.map((t) => ({ id: t.id, trigger_type: 'redis', trigger_config: t.config })),
    components: ['a', 'b', 'c'].map((id) => ({ id, source: { content_type: 'application/wasm', source: `file:///${id}.wasm` } })),
  } as LockedApp;
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('redisSubscriptions', () => {
  it('groups by address and channel, falls back to the app address, renders variables, prints as Spin', () => {
    const servers = redisSubscriptions(
      app(
        [
          { id: 't1', config: { component: 'a', channel: 'orders' } },
          { id: 't2', config: { component: 'b', channel: 'orders' } },
          { id: 't3', config: { component: 'c', channel: 'audit-{{ env }}', address: 'redis://:secret@{{ host }}:6380' } },
        ],
        'redis://localhost',
      ),
      new Map([
        ['host', '127.0.0.1'],
        ['env', 'prod'],
      ]),
    );
    expect(servers.map((s) => [s.address, s.display, [...s.channels]])).toEqual([
      ['redis://localhost', 'localhost:6379', [['orders', ['a', 'b']]]],
      ['redis://:secret@127.0.0.1:6380', '127.0.0.1:6380', [['audit-prod', ['c']]]],
    ]);
    const text = redisStartupText(servers);
    expect(text).toBe('Active Channels on localhost:6379:\n\tlocalhost:6379/orders: [a,b]\nActive Channels on 127.0.0.1:6380:\n\t127.0.0.1:6380/audit-prod: [c]\n');
    expect(text).not.toContain('secret');
  });

  it("reads a Spin 1 lock's `trigger = { type = \"redis\", address }`", () => {
    const locked = app([{ id: 't', config: { component: 'a', channel: 'x' } }]);
    locked.metadata = { name: 'old', trigger: { type: 'redis', address: 'redis://old-host:7000' } };
    expect(redisSubscriptions(locked, new Map())[0]?.display).toBe('old-host:7000');
  });

  it('refuses triggers it cannot serve, without printing a password', () => {
    const vars = new Map<string, string>();
    expect(codeOf(() => redisSubscriptions(app([{ id: 't', config: { component: 'a', channel: 'x' } }]), vars))).toBe('RUNTIME_REDIS_INVALID_TRIGGER');
    expect(codeOf(() => redisSubscriptions(app([{ id: 't', config: { component: 'zz', channel: 'x' } }], 'redis://h'), vars))).toBe('RUNTIME_REDIS_INVALID_TRIGGER');
    expect(codeOf(() => redisSubscriptions(app([{ id: 't', config: { component: 'a' } }], 'redis://h'), vars))).toBe('RUNTIME_REDIS_INVALID_TRIGGER');
    expect(codeOf(() => redisSubscriptions(app([{ id: 't', config: { component: 'a', channel: '{{ nope }}' } }], 'redis://h'), vars))).toBe('RUNTIME_REDIS_INVALID_TRIGGER');
    try {
      redisSubscriptions(app([{ id: 't', config: { component: 'a', channel: 'x', address: 'http://u:hunter2@h' } }]), vars);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(displayRedisAddress('redis://[::1]:7001/0')).toBe('::1:7001');
  });
});

describe('startRedisTrigger against redis-server', () => {
  let redis: RedisServer;
  let publisher: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    publisher = new Redis(redis.url);
  });
  afterAll(async () => {
    publisher.disconnect();
    await redis.stop();
  });

  async function waitFor(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('runs every component on the channel once per message, in order; a failing handler is reported and the next message still runs', async () => {
    const runs: string[] = [];
    const failures: Array<{ componentId: string; channel: string }> = [];
    const onFailure = (message: unknown): void => void failures.push(message as { componentId: string; channel: string });
    subscribe('spinel:runtime:redis:handler-error', onFailure);
    const trigger = await startRedisTrigger({
      app: app(
        [
          { id: 't1', config: { component: 'a', channel: 'jobs' } },
          { id: 't2', config: { component: 'b', channel: 'jobs' } },
          { id: 't3', config: { component: 'c', channel: 'other' } },
        ],
        redis.url,
      ),
      variables: new Map(),
      dispatch: async (id, payload, ch) => {
        const text = new TextDecoder().decode(payload);
        if (id === 'b' && text === 'boom') throw new Error('handler failed');
        runs.push(`${id}:${ch}:${text}`);
      },
    });
    try {
      expect(trigger.startupText()).toBe(`Active Channels on 127.0.0.1:${redis.port}:\n\t127.0.0.1:${redis.port}/jobs: [a,b]\n\t127.0.0.1:${redis.port}/other: [c]\n`);
      await publisher.publish('jobs', 'one');
      await publisher.publish('jobs', 'boom');
      await publisher.publish('other', 'two');
      await publisher.publish('jobs', 'three');
      await waitFor(() => runs.length === 6, 'six runs');
      expect(runs.sort()).toEqual(['a:jobs:boom', 'a:jobs:one', 'a:jobs:three', 'b:jobs:one', 'b:jobs:three', 'c:other:two']);
      expect(failures).toEqual([expect.objectContaining({ componentId: 'b', channel: 'jobs' })]);
    } finally {
      unsubscribe('spinel:runtime:redis:handler-error', onFailure);
      await trigger.close();
    }
  });

  it('reconnects and subscribes again when the server drops the connection', async () => {
    const runs: string[] = [];
    const states: string[] = [];
    const onState = (message: unknown): void => void states.push((message as { state: string }).state);
    subscribe('spinel:runtime:redis:connection', onState);
    const trigger = await startRedisTrigger({
      app: app([{ id: 't', config: { component: 'a', channel: 'again' } }], redis.url),
      variables: new Map(),
      dispatch: async (_id, payload) => void runs.push(new TextDecoder().decode(payload)),
      reconnect: { initialMs: 50, maxMs: 200 },
    });
    try {
      await publisher.publish('again', 'before');
      await waitFor(() => runs.length === 1, 'the first message');
      await publisher.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await waitFor(() => states.includes('restored'), 'the connection to come back');
      // Subscribed again: publish until a message arrives (the resubscribe may trail the reconnect).
      await waitFor(() => {
        void publisher.publish('again', 'after');
        return runs.includes('after');
      }, 'a message after reconnecting');
      expect(states.slice(0, 2)).toEqual(['lost', 'restored']);
    } finally {
      unsubscribe('spinel:runtime:redis:connection', onState);
      await trigger.close();
    }
  });

  it('fails the start, naming host and port, when the server cannot be reached', async () => {
    const port = await freeLoopbackPort();
    const started = startRedisTrigger({
      app: app([{ id: 't', config: { component: 'a', channel: 'x' } }], `redis://user:pw@127.0.0.1:${port}`),
      variables: new Map(),
      dispatch: async () => undefined,
      connectTimeoutMs: 500,
    });
    await expect(started).rejects.toMatchObject({ code: 'RUNTIME_REDIS_CONNECT', message: expect.stringContaining(`127.0.0.1:${port}`) });
    await expect(started).rejects.not.toMatchObject({ message: expect.stringContaining('pw') });
  });
});
