// `spinel up` on older app shapes, as a user runs them: Spin 1 modules on HTTP and Redis
// triggers of a v2 manifest, and a Spin 1 (v1) manifest with `trigger = { type = "redis" }`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spin1ModuleFile, startRedis, type RedisServer } from '@spinel/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, spawnUp, waitForOutput, type SpinelRun } from '../../test-spinel.js';

afterEach(killSpinels);

/** Starts `spinel up` and waits until its output matches `ready`. */
async function up(args: string[], cwd: string, ready: RegExp): Promise<SpinelRun & { match: RegExpExecArray }> {
  const run = spawnUp(args, cwd);
  return { ...run, match: await waitForOutput(run, ready, { timeoutMs: 120_000 }) };
}

describe('spinel up with Spin 1 modules and the Redis trigger', () => {
  let redis: RedisServer;
  let publisher: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    publisher = new Redis(redis.url);
  });
  afterAll(async () => {
    publisher?.disconnect();
    await redis?.stop();
  });

  it("runs HTTP and Redis triggers together, prints Spin's start-up text for both, and reports a failing handler while the subscription goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-up-redis-'));
    await spin1ModuleFile('http', dir);
    await spin1ModuleFile('redis', dir);
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "spin1-redis"
[application.trigger.redis]
address = "{{ redis_url }}"

[variables]
redis_url = { required = true }

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.redis]]
channel = "messages"
component = "listener"

[component.web]
source = "spin1-http.wasm"
key_value_stores = ["default"]

[component.listener]
source = "spin1-redis.wasm"
key_value_stores = ["default"]
`,
    );
    const s = await up(['-f', dir, '--variable', `redis_url=${redis.url}`], dir, /Serving (http:\/\/127\.0\.0\.1:\d+)\n[\s\S]*Active Channels on 127\.0\.0\.1:\d+:\n\t127\.0\.0\.1:\d+\/messages: \[listener\]\n/);
    const base = s.match[1] as string;
    expect(s.output()).not.toContain('redis://');
    await publisher.publish('messages', 'hello');
    await publisher.publish('messages', 'fail');
    await publisher.publish('messages', 'again');
    let stored = '';
    for (let i = 0; i < 300 && stored !== 'hello\nagain\n'; i++) {
      stored = await (await fetch(`${base}/kv`)).text();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stored).toBe('hello\nagain\n');
    expect(s.output()).toContain('Component listener handler failed:');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 300_000);

  it("subscribes a Spin 1 manifest's `trigger = { type = \"redis\", address }` app, listening on no HTTP port", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-up-redis-v1-'));
    await spin1ModuleFile('redis', dir);
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = "1"
name = "old-redis"
version = "1.0.0"
trigger = { type = "redis", address = "${redis.url}" }

[[component]]
id = "echo-message"
source = "spin1-redis.wasm"
key_value_stores = ["default"]
[component.trigger]
channel = "old-channel"
`,
    );
    const s = await up(['-f', dir], dir, /Active Channels on 127\.0\.0\.1:\d+:\n\t127\.0\.0\.1:\d+\/old-channel: \[echo-message\]\n/);
    expect(s.output()).not.toContain('Serving');
    expect(await publisher.publish('old-channel', 'x')).toBe(1);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 300_000);
});
