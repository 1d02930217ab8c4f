// End to end against a real redis-server: the runner serves an app with `[[trigger.redis]]`
// pulled from a registry as `spinel up` does. Its subscription starts before /readyz turns 200, a
// published message reaches the guest (a Spin 1 handler appending it to the default key-value
// store, read back over HTTP), a tag switch moves the subscription to the new version (the old
// one unsubscribes: each message is handled once), /metrics counts messages by outcome, and
// SIGTERM unsubscribes and exits 0.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spin1ModuleFile, spinWatComponent, startRedis, startRegistry, type RedisServer, type TestRegistry } from '@spinel/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, pushManifest, startRunner, type RunnerProcess } from './test-helpers.js';
import { parsePrometheusText } from './test-prometheus.js';

let registry: TestRegistry;
let redis: RedisServer;
let client: Redis;
let dir: string;
let runner: RunnerProcess | undefined;

beforeAll(async () => {
  [registry, redis] = await Promise.all([startRegistry(), startRedis()]);
  client = new Redis(redis.url);
  dir = await mkdtemp(join(tmpdir(), 'spinel-runner-redis-'));
}, 120_000);

afterAll(async () => {
  await runner?.stop();
  client?.disconnect();
  await registry?.stop();
  await redis?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Writes and pushes a version of the app (`name` tells versions apart: another digest). */
async function pushVersion(name: string, reference: string): Promise<void> {
  const appDir = join(dir, name);
  await mkdir(appDir, { recursive: true });
  await copyFile(await spinWatComponent('inbound-http'), join(appDir, 'reader.wasm'));
  await copyFile(await spin1ModuleFile('redis', dir), join(appDir, 'sub.wasm'));
  await writeFile(
    join(appDir, 'spin.toml'),
    `spin_manifest_version = 2
[application]
name = "${name}"
[application.trigger.redis]
address = "${redis.url}"
[[trigger.http]]
route = "/..."
component = "reader"
[[trigger.redis]]
channel = "events"
component = "sub"
[component.reader]
source = "reader.wasm"
key_value_stores = ["default"]
[component.sub]
source = "sub.wasm"
key_value_stores = ["default"]
`,
  );
  await pushManifest(join(appDir, 'spin.toml'), reference);
}

async function subscribers(channel: string): Promise<number> {
  const reply = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('spinel-runner with a Redis trigger', () => {
  it('subscribes before it is ready, runs each message in the serving version, moves the subscription on a switch, counts messages, and unsubscribes on SIGTERM', async () => {
    const reference = `${registry.host}/runner/redis:latest`;
    await pushVersion('redis-v1', reference);
    runner = startRunner(['--from', reference, '--cache-dir', join(dir, 'cache'), '--state-dir', join(dir, 'state'), '--workers', '2', '--shutdown-timeout', '10s'], {
      DOCKER_CONFIG: join(dir, 'none'),
      XDG_CONFIG_HOME: join(dir, 'config'),
    });
    const appUrl = await runner.appUrl();
    const admin = await runner.adminUrl();
    const serving = await runner.waitFor('app.serving');
    expect(serving['redis_channels']).toBe(`127.0.0.1:${redis.port}/events: [sub]`);
    // Ready means subscribed: the one subscriber is there already.
    expect((await get(`${admin}/readyz`)).status).toBe(200);
    expect(await subscribers('events')).toBe(1);

    const stored = async (): Promise<string> => (await get(`${appUrl}/kv`)).body;
    expect(await client.publish('events', 'one')).toBe(1);
    await client.publish('events', 'two');
    await until(stored, (s) => s === 'one\ntwo\n', 'both messages in the store');

    // A new digest of the tag: prepared and subscribed beside the serving version, then switched in.
    await pushVersion('redis-v2', reference);
    const before = runner.events.length;
    runner.child.kill('SIGHUP');
    const switched = await runner.waitFor('app.switched', { after: before, timeoutMs: 240_000 });
    expect(switched['redis_channels']).toBe(`127.0.0.1:${redis.port}/events: [sub]`);
    await runner.waitFor('app.drained', { after: before, timeoutMs: 60_000 });
    // The old version unsubscribed when it was drained: one subscriber, each message handled once.
    expect(await subscribers('events')).toBe(1);
    expect(await client.publish('events', 'three')).toBe(1);
    await client.publish('events', 'fail'); // the handler returns an error: logged, counted, the subscription goes on
    await client.publish('events', 'four');
    await until(stored, (s) => s === 'one\ntwo\nthree\nfour\n', 'the messages after the switch');
    const failed = await runner.waitFor('redis.message_failed');
    expect(failed).toMatchObject({ component: 'sub', channel: 'events', code: 'RUNTIME_HANDLER_ERROR', digest: switched['digest'] });
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored()).toBe('one\ntwo\nthree\nfour\n');

    const families = parsePrometheusText((await get(`${admin}/metrics`)).body);
    const messages = (outcome: string): number | undefined => families.get('spinel_redis_messages_total')?.samples.find((s) => s.labels['component'] === 'sub' && s.labels['outcome'] === outcome)?.value;
    // Counted across both versions.
    expect(messages('ok')).toBe(4);
    expect(messages('failed')).toBe(1);
    expect(families.get('spinel_instances_created_total')?.samples.find((s) => s.labels['component'] === 'sub')?.value).toBeGreaterThanOrEqual(5);

    runner.child.kill('SIGTERM');
    expect(await runner.exited).toBe(0);
    expect(await subscribers('events')).toBe(0);
    expect(runner.events.some((e) => e.event === 'runner.stopped')).toBe(true);
  }, 600_000);
});
