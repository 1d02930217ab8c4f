// End to end: two runners (two replicas) on different ports sharing one real redis-server
// through a Redis key-value store named in the runtime config; a counter incremented through
// both, concurrently, reaches the exact total.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startRegistry, type RedisServer, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterComponent, get, pushManifest, startRunner, type RunnerProcess } from './test-helpers.js';

let registry: TestRegistry;
let redis: RedisServer;
let dir: string;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  [registry, redis] = await Promise.all([startRegistry(), startRedis()]);
  dir = await mkdtemp(join(tmpdir(), 'spinel-runner-shared-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await registry?.stop();
  await redis?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('replicas sharing state through Redis', () => {
  it('two runners incrementing one counter concurrently reach the exact total, each value handed out once', async () => {
    const appDir = join(dir, 'app');
    await mkdir(appDir, { recursive: true });
    await copyFile(await counterComponent(), join(appDir, 'counter.wasm'));
    await writeFile(
      join(appDir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "shared-counter"
[[trigger.http]]
route = "/..."
component = "counter"
[component.counter]
source = "counter.wasm"
key_value_stores = ["shared"]
`,
    );
    await pushManifest(join(appDir, 'spin.toml'), `${registry.host}/runner/counter:v1`);
    const runtimeConfig = join(dir, 'runtime-config.toml');
    await writeFile(runtimeConfig, `[key_value_store.shared]\ntype = "redis"\nurl = "${redis.url}"\n`);

    const replicas = [0, 1].map((i) =>
      startRunner(
        ['--from', `${registry.host}/runner/counter:v1`, '--runtime-config-file', runtimeConfig, '--cache-dir', join(dir, 'cache'), '--state-dir', join(dir, `state-${i}`), '--workers', '2'],
        { DOCKER_CONFIG: join(dir, 'none'), XDG_CONFIG_HOME: join(dir, 'config') },
      ),
    );
    runners.push(...replicas);
    const urls = await Promise.all(replicas.map((r) => r.appUrl()));
    expect(urls[0]).not.toBe(urls[1]);

    const perLoop = 10;
    const loopsPerReplica = 4;
    const values: number[] = [];
    const failures: string[] = [];
    await Promise.all(
      urls.flatMap((url) =>
        Array.from({ length: loopsPerReplica }, async () => {
          for (let i = 0; i < perLoop; i++) {
            const res = await get(`${url}/increment`).catch((e: Error) => ({ status: 0, body: e.message }));
            if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
            else values.push(Number(res.body));
          }
        }),
      ),
    );
    const total = urls.length * loopsPerReplica * perLoop;
    expect(failures).toEqual([]);
    expect(values).toHaveLength(total);
    // Atomic increments: every value from 1 to the total handed out exactly once, across both replicas.
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const url of urls) expect((await get(`${url}/read`)).body).toBe(String(total));
  }, 300_000); // the first run builds the JS component (componentize-js)
});
