import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '@spinel/test-utils';
import type { KvLimits } from '@spinel/kv-wit';
import { createBridgeServer, type BridgeServer } from '../../channel/bridge-server.js';
import { KV_BRIDGE_METHOD, kvBridgeHandler, prepareKeyValue, type KvBridgeArgs, type PreparedKeyValue } from '../../services/key-value.js';
import { RespConnection } from '../../services/resp-connection.js';
import { runLaneWorker, type Cleanups } from '../../../test/test-lane-harness.js';
import type { KvLaneStep } from '../../../test/test-kv-lane-worker.js';

const te = new TextEncoder();
const td = new TextDecoder();
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** The app's stores with `cache` on Redis at `url`, served on a channel; `ops` records every store operation that reached the main thread. */
async function serveKv(url: string, onStep: (what: unknown) => unknown = () => null, limits?: Partial<KvLimits>): Promise<{ prepared: PreparedKeyValue; bridge: BridgeServer; ops: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-kv-lane-'));
  const prepared = await prepareKeyValue({ app: { components: [] }, stateDir: dir, definitions: new Map([['cache', { type: 'redis', url }]]), ...(limits === undefined ? {} : { limits }) });
  const serve = kvBridgeHandler(prepared.manager, prepared.redisUrls);
  const ops: string[] = [];
  const bridge = createBridgeServer(
    {
      [KV_BRIDGE_METHOD]: (args, call) => {
        ops.push((args as KvBridgeArgs).op);
        return serve(args, call);
      },
      'test.step': onStep,
    },
    { uncounted: [KV_BRIDGE_METHOD] },
  );
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => prepared.close(), () => bridge.close());
  return { prepared, bridge, ops };
}

function runWorker(bridge: BridgeServer, prepared: PreparedKeyValue, steps: KvLaneStep[]): ReturnType<typeof runLaneWorker> {
  return runLaneWorker('./test-kv-lane-worker.ts', bridge, { config: prepared.workerConfig, label: 'cache', steps }, cleanups);
}

/** Clients connected to the server now (CLIENT LIST), the asking one included. */
async function clientCount(port: number): Promise<number> {
  const admin = await RespConnection.connect({ address: '127.0.0.1', port });
  try {
    const reply = await admin.command(['CLIENT', 'LIST']);
    return reply.kind === 'bulk' && reply.value !== null ? td.decode(reply.value).trim().split('\n').length : 0;
  } finally {
    admin.close();
  }
}

async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  for (const started = Date.now(); !(await done()); ) {
    if (Date.now() - started > 20_000) throw new Error(`not within 20 s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const bytes = (outcome: unknown): string | undefined => {
  const value = (outcome as { ok?: Uint8Array }).ok;
  return value === undefined ? undefined : td.decode(value);
};

describe('key-value stores on Redis over a lent connection', () => {
  it('serve get, set, delete, exists and the batches from the worker; list-keys pages through the main thread; the data is the same either way', async () => {
    const { prepared, bridge, ops } = await serveKv(redis.url);
    const fromNode = prepared.manager.store('cache');
    await fromNode.set('lane-node', te.encode('written by Node'));
    const outcomes = await runWorker(bridge, prepared, [
      ['get', 'lane-node'],
      ['set', 'lane-a', te.encode('A')],
      ['get', 'lane-a'],
      ['exists', 'lane-a'],
      ['exists', 'lane-none'],
      ['get', 'lane-none'],
      ['setMany', [['lane-b', te.encode('B')], ['lane-c', te.encode('C0')], ['lane-c', te.encode('C')]]],
      ['getMany', ['lane-b', 'lane-none', 'lane-c', 'lane-b']],
      ['listKeys', { prefix: 'lane-', limit: 2 }],
      ['delete', 'lane-a'],
      ['exists', 'lane-a'],
      ['deleteMany', ['lane-b', 'lane-none', 'lane-b']],
      ['getMany', []],
      ['set', 'lane-big', new Uint8Array(1024 * 1024 + 1)],
      ['get', 'x'.repeat(300)],
      ['set', 'lane-bin', new Uint8Array([0, 13, 10, 255, 36])],
    ]).outcomes;
    expect(bytes(outcomes[0])).toBe('written by Node');
    expect(bytes(outcomes[2])).toBe('A');
    expect(outcomes[3]).toEqual({ ok: true });
    expect(outcomes[4]).toEqual({ ok: false });
    expect(outcomes[5]).toEqual({ ok: undefined });
    const many = (outcomes[7] as { ok: Array<[string, Uint8Array | undefined]> }).ok.map(([k, v]) => [k, v === undefined ? undefined : td.decode(v)]);
    expect(many).toEqual([['lane-b', 'B'], ['lane-none', undefined], ['lane-c', 'C'], ['lane-b', 'B']]);
    const page = (outcomes[8] as { ok: { keys: string[]; cursor: string | undefined } }).ok;
    expect(page.keys).toHaveLength(2);
    expect(page.cursor).toBeTypeOf('string');
    expect(outcomes[10]).toEqual({ ok: false });
    expect(outcomes[12]).toEqual({ ok: [] });
    expect(outcomes[13]).toMatchObject({ error: { code: 'KV_VALUE_TOO_LARGE' } });
    expect(outcomes[14]).toMatchObject({ error: { code: 'KV_KEY_TOO_LARGE' } });
    // What the worker wrote, Node's store reads, and the rest of the listing the worker began.
    expect(td.decode((await fromNode.get('lane-c')) ?? new Uint8Array())).toBe('C');
    expect([...((await fromNode.get('lane-bin')) ?? [])]).toEqual([0, 13, 10, 255, 36]);
    expect(await fromNode.exists('lane-a')).toBe(false);
    expect(await fromNode.exists('lane-b')).toBe(false);
    expect(await fromNode.exists('lane-big')).toBe(false);
    const rest = await fromNode.listKeys({ prefix: 'lane-', limit: 10, cursor: page.cursor });
    expect(new Set([...page.keys, ...rest.keys])).toEqual(new Set(['lane-node', 'lane-a', 'lane-b', 'lane-c']));
    // Only the lending and the listing reached the main thread.
    expect(ops).toEqual(['lend', 'listKeys']);
  });

  it('checks keys and values against the limits the main thread\'s stores were given, not kv-wit\'s defaults', async () => {
    const { prepared, bridge, ops } = await serveKv(redis.url, undefined, { maxKeyBytes: 8, maxValueBytes: 4 });
    const outcomes = await runWorker(bridge, prepared, [
      ['set', 'lane-lim', te.encode('four')],
      ['get', 'lane-lim'],
      ['set', 'lane-limit', te.encode('x')],
      ['set', 'lane-lim', te.encode('fives')],
      ['getMany', ['lane-lim', 'lane-too-long']],
    ]).outcomes;
    expect(bytes(outcomes[1])).toBe('four');
    expect(outcomes[2]).toMatchObject({ error: { code: 'KV_KEY_TOO_LARGE' } });
    expect(outcomes[3]).toMatchObject({ error: { code: 'KV_VALUE_TOO_LARGE' } });
    expect(outcomes[4]).toMatchObject({ error: { code: 'KV_KEY_TOO_LARGE' } });
    // The main thread's store refuses the same key, and the refused writes reached nothing.
    await expect(prepared.manager.store('cache').get('lane-limit')).rejects.toMatchObject({ code: 'KV_KEY_TOO_LARGE' });
    expect(td.decode((await prepared.manager.store('cache').get('lane-lim')) ?? new Uint8Array())).toBe('four');
    expect(ops).toEqual(['lend']);
  });

  it('a label whose connection is not lent (no URL to lend, as with TLS) is served by calls to the main thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-kv-lane-'));
    const prepared = await prepareKeyValue({ app: { components: [] }, stateDir: dir, definitions: new Map([['cache', { type: 'redis', url: redis.url }]]) });
    const serve = kvBridgeHandler(prepared.manager);
    const ops: string[] = [];
    const bridge = createBridgeServer({
      [KV_BRIDGE_METHOD]: (args, call) => {
        ops.push((args as KvBridgeArgs).op);
        return serve(args, call);
      },
    });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => prepared.close(), () => bridge.close());
    const outcomes = await runWorker(bridge, prepared, [['set', 'lane5', te.encode('five')], ['get', 'lane5']]).outcomes;
    expect(bytes(outcomes[1])).toBe('five');
    expect(ops).toEqual(['lend', 'set', 'get']);
  });

  it('a store whose URL has a query string (?db=3, read by kv-wit\'s store) is served by calls: what the worker writes is in database 3', async () => {
    const { prepared, bridge, ops } = await serveKv(`${redis.url}?db=3`);
    const outcomes = await runWorker(bridge, prepared, [['set', 'lane7', te.encode('seven')], ['get', 'lane7']]).outcomes;
    expect(bytes(outcomes[1])).toBe('seven');
    expect(td.decode((await prepared.manager.store('cache').get('lane7')) ?? new Uint8Array())).toBe('seven');
    const admin = await RespConnection.connect({ address: '127.0.0.1', port: redis.port, db: 3 });
    cleanups.push(() => admin.close());
    expect(await admin.command(['GET', 'lane7'])).toEqual({ kind: 'bulk', value: te.encode('seven') });
    expect(ops).toEqual(['set', 'get']);
    expect(prepared.workerConfig.lent).toEqual([]);
  });

  it('two workers at once each have their own connection and read their own replies; each connection closes with its worker', async () => {
    const { prepared, bridge } = await serveKv(redis.url);
    const before = await clientCount(redis.port);
    const steps = (who: string): KvLaneStep[] => Array.from({ length: 100 }, (_, i): KvLaneStep[] => [['set', `lane2-${who}-${i}`, te.encode(`${who}${i}`)], ['get', `lane2-${who}-${i}`]]).flat();
    const [a, b] = await Promise.all([runWorker(bridge, prepared, steps('a')).outcomes, runWorker(bridge, prepared, steps('b')).outcomes]);
    for (const [who, outcomes] of [['a', a], ['b', b]] as const) for (let i = 0; i < 100; i++) expect(bytes(outcomes[2 * i + 1])).toBe(`${who}${i}`);
    await until('both lent connections closed', async () => (await clientCount(redis.port)) === before);
  });

  it('a get stopped at its deadline while its reply is outstanding: the next get on that worker reads its own value, on a new connection', async () => {
    const admin = await RespConnection.connect({ address: '127.0.0.1', port: redis.port });
    cleanups.push(() => admin.close());
    // Redis holds every client's commands for 300 ms: the first get's reply comes after its deadline.
    const { prepared, bridge, ops } = await serveKv(redis.url, async () => (await admin.command(['CLIENT', 'PAUSE', '300', 'ALL'])).kind);
    const fromNode = prepared.manager.store('cache');
    await fromNode.set('lane6-a', te.encode('A'));
    await fromNode.set('lane6-b', te.encode('B'));
    const outcomes = await runWorker(bridge, prepared, [
      ['get', 'lane6-b'],
      ['post', 'pause'],
      ['deadline', 50, 'get', 'lane6-a'],
      ['get', 'lane6-b'],
      ['get', 'lane6-a'],
    ]).outcomes;
    expect(bytes(outcomes[0])).toBe('B');
    expect(outcomes[2]).toEqual({ error: { code: 'ERR_SCRIPT_EXECUTION_TIMEOUT' } });
    expect(bytes(outcomes[3])).toBe('B');
    expect(bytes(outcomes[4])).toBe('A');
    expect(ops).toEqual(['lend', 'lend']);
  });

  it('a worker terminated while it holds the connection leaves no connection open', async () => {
    const { prepared, bridge } = await serveKv(redis.url, () => new Promise(() => undefined));
    const before = await clientCount(redis.port);
    const { worker } = runWorker(bridge, prepared, [['set', 'lane3', te.encode('v')], ['post', 'hold']]);
    await until('the worker holds a lent connection', async () => (await clientCount(redis.port)) === before + 1);
    expect(await worker.terminate()).toBeTypeOf('number');
    await until('its connection closed', async () => (await clientCount(redis.port)) === before);
  });

  it('Redis restarting under a lent connection: an operation while it is down fails as a backend error, the next ones after it is back go through on a new connection', async () => {
    const own = await startRedis();
    const port = own.port;
    let restarted: ChildProcess | undefined;
    cleanups.push(async () => {
      restarted?.kill('SIGKILL');
      await own.stop();
    });
    const { prepared, bridge, ops } = await serveKv(own.url, async (what) => {
      if (what === 'stop') {
        if (restarted === undefined) await own.stop();
        else {
          const exited = new Promise((r) => restarted?.once('exit', r));
          restarted.kill('SIGTERM');
          await exited;
        }
      }
      if (what === 'start') {
        restarted = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
        await until('the restarted server answers', async () => {
          try {
            (await RespConnection.connect({ address: '127.0.0.1', port })).close();
            return true;
          } catch {
            return false;
          }
        });
      }
      return what;
    });
    const outcomes = await runWorker(bridge, prepared, [
      ['set', 'lane4', te.encode('before')],
      ['post', 'stop'],
      ['get', 'lane4'],
      ['post', 'start'],
      ['set', 'lane4', te.encode('after')],
      ['get', 'lane4'],
      ['post', 'stop'],
      ['post', 'start'],
      ['get', 'lane4'],
    ]).outcomes;
    expect(outcomes[0]).toEqual({ ok: undefined });
    expect(outcomes[2]).toMatchObject({ error: { code: 'KV_BACKEND' } });
    expect(outcomes[4]).toEqual({ ok: undefined });
    expect(bytes(outcomes[5])).toBe('after');
    // Restarted between two operations: the next one notices on its connection and goes through on a new one.
    expect(outcomes[8]).toEqual({ ok: undefined });
    expect(ops.filter((op) => op === 'lend').length).toBeGreaterThanOrEqual(3);
    expect(ops.filter((op) => op !== 'lend')).toEqual([]);
  });
});
