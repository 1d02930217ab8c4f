import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedApp, LockedComponent } from '@spinel/manifest';
import { startRedis, type RedisServer } from '@spinel/test-utils';
import { createBridgeServer } from '../channel/bridge-server.js';
import type { KeyValueConfigError } from '../errors.js';
import { KV_BRIDGE_METHOD, kvBridgeHandler, prepareKeyValue, type PreparedKeyValue } from './key-value.js';
import { firstMessage, startTsWorker } from '../../test/test-start-worker.js';

let dir: string;
let redis: RedisServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-kvw-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

function component(id: string, stores: string[]): LockedComponent {
  return { id, source: { content: {} }, metadata: { key_value_stores: stores } } as unknown as LockedComponent;
}
const app = (components: LockedComponent[]): Pick<LockedApp, 'components'> => ({ components });

async function rejection(p: Promise<unknown>): Promise<KeyValueConfigError> {
  try {
    await p;
  } catch (err) {
    return err as KeyValueConfigError;
  }
  throw new Error('expected a failure');
}

async function runWorker(kv: PreparedKeyValue, labels: string[]): Promise<Record<string, unknown>> {
  const server = createBridgeServer({ [KV_BRIDGE_METHOD]: kvBridgeHandler(kv.manager) });
  const endpoint = server.connect();
  const worker = startTsWorker('./test-kv-worker.ts', { endpoint, config: kv.workerConfig, labels }, [endpoint.port]);
  try {
    return await firstMessage<Record<string, unknown>>(worker);
  } finally {
    await worker.terminate();
    server.close();
  }
}

describe('key-value wiring', () => {
  it('stops the start on an unlisted store label, with Spin\'s message', async () => {
    const err = await rejection(prepareKeyValue({ app: app([component('web', ['default', 'cache'])]) }));
    expect(err.code).toBe('RUNTIME_KV_UNKNOWN_LABEL');
    expect(err.message).toBe('unknown key_value_stores label "cache" for component "web"');
    expect((await rejection(prepareKeyValue({ app: app([]), seeds: ['novalue'] }))).code).toBe('RUNTIME_KV_INVALID_SEED');
  });

  it('keeps default in <state_dir>/sqlite_key_value.db, seeded before serving, shared with the workers', async () => {
    const stateDir = join(dir, 'state');
    const kv = await prepareKeyValue({ app: app([component('web', ['default'])]), stateDir, seeds: ['seeded=hello=world'] });
    expect(kv.defaultStoreNote).toBe(`Storing default key-value data to ${JSON.stringify(join(stateDir, 'sqlite_key_value.db'))}.`);
    expect(kv.workerConfig.sqlite).toEqual([['default', join(stateDir, 'sqlite_key_value.db')]]);
    const result = await runWorker(kv, ['default']);
    expect(result['seeded']).toBe('hello=world');
    expect(result['denied']).toEqual({ err: { tag: 'access-denied' } });
    // What the worker wrote is in the same file the main thread reads.
    expect(new TextDecoder().decode(await kv.manager.store('default').get('from-worker'))).toBe('1');
    await kv.close();
    expect(existsSync(join(stateDir, 'sqlite_key_value.db'))).toBe(true);
  });

  it('uses a temporary store without a state dir, and Redis labels through the bridge', async () => {
    const definitions = new Map([['cache', { type: 'redis' as const, url: redis.url }]]);
    const kv = await prepareKeyValue({ app: app([component('web', ['default', 'cache'])]), definitions, seeds: ['seeded=x'], tempDir: dir });
    expect(kv.defaultStoreNote).toBe('Storing default key-value data to a temporary in-memory store.');
    expect(kv.workerConfig.bridged).toEqual(['cache']);
    const tempFile = kv.workerConfig.sqlite[0]?.[1];
    expect(tempFile).toBeDefined();
    const result = await runWorker(kv, ['default', 'cache']);
    expect(result).toMatchObject({ seeded: 'x', redis: 'redis value', counter: '5,7', denied: { err: { tag: 'access-denied' } } });
    expect(new TextDecoder().decode(await kv.manager.store('cache').get('r'))).toBe('redis value');
    await kv.close();
    expect(existsSync(dirname(tempFile ?? ''))).toBe(false);
  });
});
