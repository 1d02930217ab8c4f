// An app with HTTP and Redis triggers run by runApp against a real redis-server: a Spin 1 module
// (handle-redis-message) and a componentize-js fermyon:spin/inbound-redis component append each
// message to the default key-value store, and an HTTP component shows the store.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { legacyJsComponent, spinWatComponent, startRedis, type RedisServer } from '@spinel/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spin1ModuleFile } from '@spinel/test-utils';
import { runApp, type RunningApp } from '../../run-app.js';

let dir: string;
let redis: RedisServer;
let publisher: Redis;
let running: RunningApp;
const failures: Array<{ componentId: string; error: { code?: string } }> = [];
const onFailure = (message: unknown): void => void failures.push(message as (typeof failures)[number]);

const source = (path: string): LockedApp['components'][number]['source'] => ({ content_type: 'application/wasm', source: pathToFileURL(path).href });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-redis-app-'));
  redis = await startRedis();
  publisher = new Redis(redis.url);
  const stores = { key_value_stores: ['default'] };
  const app: LockedApp = {
    metadata: { name: 'redis-app', triggers: { redis: { address: '{{ redis_url }}' } } },
    variables: { redis_url: {} },
    triggers: [
      { id: 'show', trigger_type: 'http', trigger_config: { component: 'reader', route: '/...' } },
      { id: 'spin1-sub', trigger_type: 'redis', trigger_config: { component: 'spin1-redis', channel: 'spin1-events' } },
      { id: 'js-sub', trigger_type: 'redis', trigger_config: { component: 'js-redis', channel: 'js-{{ suffix }}' } },
    ],
    components: [
      { id: 'reader', source: source(await spinWatComponent('inbound-http')), metadata: stores },
      { id: 'spin1-redis', source: source(await spin1ModuleFile('redis', dir)), metadata: stores },
      { id: 'js-redis', source: source(await legacyJsComponent('spin-inbound-redis')), metadata: stores },
    ],
  };
  app.variables = { redis_url: {}, suffix: { default: 'events' } };
  subscribe('spinel:runtime:redis:handler-error', onFailure);
  running = await runApp({
    app,
    cache: openCache({ root: join(dir, 'cache') }),
    variables: { flags: [`redis_url=${redis.url}`], env: {}, cwd: dir },
    stateDir: join(dir, 'state'),
    logDir: null,
    workers: 2,
    listen: '127.0.0.1:0',
  });
}, 1_800_000);

afterAll(async () => {
  unsubscribe('spinel:runtime:redis:handler-error', onFailure);
  await running?.close();
  publisher?.disconnect();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function stored(app: RunningApp = running): Promise<string> {
  const res = await fetch(`${app.baseUrl}/kv`);
  return res.status === 200 ? res.text() : '';
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis trigger under runApp', () => {
  it("prints Spin's start-up text for HTTP and for each Redis subscription, without the address's credentials", () => {
    const text = running.startupText();
    expect(text).toContain(`Serving ${running.baseUrl}`);
    expect(text).toContain(`Active Channels on 127.0.0.1:${redis.port}:\n`);
    expect(text).toContain(`\t127.0.0.1:${redis.port}/spin1-events: [spin1-redis]\n`);
    expect(text).toContain(`\t127.0.0.1:${redis.port}/js-events: [js-redis]\n`);
  });

  it('runs each published message once in a fresh instance; the side effect is visible over HTTP; failures are reported and the subscription goes on', async () => {
    for (const message of ['one', 'two']) expect(await publisher.publish('spin1-events', message)).toBe(1);
    await publisher.publish('js-events', 'three');
    await publisher.publish('js-events', 'fail'); // inbound-redis returns err(error)
    await publisher.publish('spin1-events', 'trap'); // the Spin 1 module traps
    await publisher.publish('spin1-events', 'fail'); // handle-redis-message returns err(error)
    await publisher.publish('js-events', 'four');
    await publisher.publish('spin1-events', 'five');
    const expected = 'one\ntwo\njs:three\njs:four\nfive\n';
    await until(async () => (await stored()) === expected, 'every message in the store');
    // Nothing more arrives later: each message ran once.
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored()).toBe(expected);
    expect(failures.map((f) => [f.componentId, f.error.code])).toEqual([
      ['js-redis', 'RUNTIME_HANDLER_ERROR'],
      ['spin1-redis', 'RUNTIME_GUEST_TRAP'],
      ['spin1-redis', 'RUNTIME_HANDLER_ERROR'],
    ]);
  });
});

describe('a Redis handler past its deadline', () => {
  it('is stopped with its worker and reported with the component id; the next message runs on the replacement worker', async () => {
    const stores = { key_value_stores: ['default'] };
    const app: LockedApp = {
      metadata: { name: 'redis-deadline', triggers: { redis: { address: redis.url } } },
      triggers: [
        { id: 'show', trigger_type: 'http', trigger_config: { component: 'reader', route: '/...' } },
        { id: 'slow-sub', trigger_type: 'redis', trigger_config: { component: 'spin1-redis', channel: 'slow-events' } },
      ],
      components: [
        { id: 'reader', source: source(await spinWatComponent('inbound-http')), metadata: stores },
        { id: 'spin1-redis', source: source(await spin1ModuleFile('redis', dir)), metadata: stores },
      ],
    };
    const seen = failures.length;
    const slow = await runApp({
      app,
      cache: openCache({ root: join(dir, 'cache') }),
      stateDir: join(dir, 'state-deadline'),
      logDir: null,
      workers: 1,
      // The guest's run counts, not its wait for the replacement worker (generous for a loaded machine).
      requestTimeoutMs: 1500,
      queueTimeoutMs: 120_000,
      listen: '127.0.0.1:0',
    });
    try {
      await publisher.publish('slow-events', 'spin'); // never returns
      await publisher.publish('slow-events', 'after');
      await until(async () => (await stored(slow)) === 'after\n', 'the message after the endless one');
      expect(failures.slice(seen).map((f) => [f.componentId, f.error.code])).toEqual([['spin1-redis', 'RUNTIME_TIMEOUT']]);
    } finally {
      await slow.close();
    }
  }, 180_000);
});
