import { openSync, closeSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startRedis, type RedisServer } from '@spinel/test-utils';
import type { BridgeServer } from '../channel/bridge-server.js';
import { closeLane, createLaneGuard, laneClosed, laneWrite } from '../channel/socket-lane.js';
import { runLaneWorker, serveOnChannel, type Cleanups } from '../../test/test-lane-harness.js';
import type { LaneStep } from '../../test/test-redis-lane-worker.js';
import { createRedisService, type RedisService } from './redis-service.js';
import { RespConnection } from './resp-connection.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const te = new TextEncoder();
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A Redis service served on a channel; `ops` records every operation that reached the main thread. */
function serveRedis(onStep?: (what: unknown) => unknown): { service: RedisService; bridge: BridgeServer; ops: string[] } {
  const service = createRedisService({ allowedHosts: new Map([['c', AllowedHosts.parse([`redis://127.0.0.1:${redis.port}`])]]) });
  return { service, ...serveOnChannel('redis', service, cleanups, onStep) };
}

function runWorker(bridge: BridgeServer, steps: LaneStep[], endRequest = false): { worker: Worker; outcomes: Promise<unknown[]> } {
  return runLaneWorker('./test-redis-lane-worker.ts', bridge, { address: redis.url, steps, endRequest }, cleanups);
}

describe('Redis connections lent to a worker', () => {
  it('serve every operation from the worker: replies and commands larger than any socket buffer, error replies as interface errors', async () => {
    const { service, bridge, ops } = serveRedis();
    const big = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => i % 251);
    const outcomes = await runWorker(bridge, [
      ['set', 'lane-big', big],
      ['get', 'lane-big'],
      ['get', 'lane-absent'],
      ['set', 'lane-k', te.encode('v')],
      ['incr', 'lane-k'],
      ['sadd', 'lane-s', ['a', 'b', 'a']],
      ['incr', 'lane-s'],
      ['smembers', 'lane-s'],
      ['execute', 'NOSUCHCOMMAND', []],
      ['execute', 'MGET', [{ tag: 'binary', val: te.encode('lane-k') }, { tag: 'binary', val: te.encode('lane-none') }]],
      ['del', ['lane-big', 'lane-k', 'lane-s']],
      ['drop'],
    ]).outcomes;
    expect(outcomes[0]).toEqual({ ok: undefined });
    // Compared as bytes: a deep equality walks 3 MB element by element.
    const got = (outcomes[1] as { ok: Uint8Array }).ok;
    expect(got.length).toBe(big.length);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(big))).toBe(0);
    expect(outcomes[2]).toEqual({ ok: undefined });
    expect(outcomes[4]).toEqual({ error: { tag: 'other', val: 'ERR value is not an integer or out of range' } });
    expect(outcomes[5]).toEqual({ ok: 2 });
    expect(outcomes[6]).toEqual({ error: { tag: 'type-error' } });
    expect((outcomes[7] as { ok: string[] }).ok.sort()).toEqual(['a', 'b']);
    expect((outcomes[8] as { error: { tag: string; val: string } }).error.val).toMatch(/unknown command/);
    expect(outcomes[9]).toEqual({ ok: [{ tag: 'binary', val: te.encode('v') }, { tag: 'nil' }] });
    expect(outcomes[10]).toEqual({ ok: 3 });
    // Only the connection's open (which lent it) and drop reached the main thread as calls.
    expect(ops).toEqual(['open-lent', 'lease', 'drop']);
    // Given back clean, it is pooled and serves the main thread's parser again.
    expect(service.stats()).toEqual({ held: 0, idle: 1 });
    const again = await service.open('o2', 'c', redis.url);
    expect(again.ok && (await service.get('o2', again.value, 'lane-absent'))).toEqual({ ok: true, value: undefined });
  });

  it('a connection lost mid-call gives the interface error, later calls fail too, and it is not pooled', async () => {
    const admin = await RespConnection.connect({ address: '127.0.0.1', port: redis.port });
    cleanups.push(() => admin.close());
    const { service, bridge } = serveRedis(async () => {
      // The worker is about to block on BLPOP: kill every other client while it waits.
      setTimeout(() => void admin.command(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']), 300);
      return 'go';
    });
    const outcomes = await runWorker(bridge, [['get', 'x'], ['post', 'blocking'], ['execute', 'BLPOP', [{ tag: 'binary', val: te.encode('lane-list') }, { tag: 'binary', val: te.encode('10') }]], ['get', 'x'], ['drop']]).outcomes;
    expect(outcomes[0]).toEqual({ ok: undefined });
    expect(outcomes[2]).toMatchObject({ error: { tag: 'other' } });
    expect(outcomes[3]).toMatchObject({ error: { tag: 'other' } });
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
  });

  it('a session a command changed is closed, not pooled; a request that ends without dropping gives a clean connection back', async () => {
    const { service, bridge } = serveRedis();
    await runWorker(bridge, [['execute', 'SELECT', [{ tag: 'binary', val: te.encode('1') }]], ['drop']]).outcomes;
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
    await runWorker(bridge, [['get', 'x']], true).outcomes;
    // The end of the request released it on the main thread, after the worker gave the lending back clean.
    for (let i = 0; i < 100 && service.stats().idle === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(service.stats()).toEqual({ held: 0, idle: 1 });
  });

  it('a connection on which the server sent more than the last reply is closed, not pooled', async () => {
    // A stand-in server that answers a GET with its reply and one more (as a push or a message read with it would be).
    const server = createServer((socket) => socket.on('data', () => socket.write('$1\r\nv\r\n:7\r\n')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `redis://127.0.0.1:${(server.address() as { port: number }).port}`;
    const service = createRedisService({ allowedHosts: new Map([['c', AllowedHosts.parse([url])]]) });
    const { bridge, ops } = serveOnChannel('redis', service, cleanups);
    const outcomes = await runLaneWorker('./test-redis-lane-worker.ts', bridge, { address: url, steps: [['get', 'x'], ['drop']] }, cleanups).outcomes;
    expect(outcomes[0]).toEqual({ ok: te.encode('v') });
    expect(ops).toEqual(['open-lent', 'lease', 'drop']);
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
  });

  it('a reply that is not RESP fails the connection: the next command does not read its leftovers, and it is not pooled', async () => {
    // A stand-in server whose first answer has a length that is not a number, then sends the rest of it later.
    let answers = 0;
    const server = createServer((socket) =>
      socket.on('error', () => {}).on('data', () => {
        answers++;
        if (answers === 1) {
          socket.write('$x\r\n');
          setTimeout(() => socket.write('$1\r\nL\r\n'), 20);
        } else socket.write('$1\r\nv\r\n');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `redis://127.0.0.1:${(server.address() as { port: number }).port}`;
    const service = createRedisService({ allowedHosts: new Map([['c', AllowedHosts.parse([url])]]) });
    const { bridge } = serveOnChannel('redis', service, cleanups);
    const outcomes = await runLaneWorker('./test-redis-lane-worker.ts', bridge, { address: url, steps: [['get', 'x'], ['sleep', 60], ['get', 'y'], ['drop']] }, cleanups).outcomes;
    expect(outcomes[0]).toMatchObject({ error: { tag: 'other' } });
    expect(outcomes[2]).not.toEqual({ ok: te.encode('L') });
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
  });

  it('a worker waiting on a slow command is idle (it flushes a response it holds back) while it waits', async () => {
    const { bridge } = serveRedis();
    const outcomes = await runWorker(bridge, [['get', 'x'], ['idle'], ['execute', 'BLPOP', [{ tag: 'binary', val: te.encode('lane-empty') }, { tag: 'binary', val: te.encode('0.5') }]], ['idle'], ['drop']]).outcomes;
    expect(outcomes[2]).toEqual({ ok: [{ tag: 'nil' }] });
    expect(outcomes[3] as number).toBeGreaterThan(outcomes[1] as number);
  });

  it('two workers on their own connections at once each read their own replies', async () => {
    const { bridge } = serveRedis();
    const steps = (who: string): LaneStep[] => Array.from({ length: 100 }, (_, i): LaneStep[] => [['set', `lane-${who}-${i}`, te.encode(`${who}${i}`)], ['get', `lane-${who}-${i}`]]).flat();
    const [a, b] = await Promise.all([runWorker(bridge, steps('a')).outcomes, runWorker(bridge, steps('b')).outcomes]);
    for (const [who, outcomes] of [['a', a], ['b', b]] as const) {
      for (let i = 0; i < 100; i++) expect(outcomes[2 * i + 1]).toEqual({ ok: te.encode(`${who}${i}`) });
    }
  });

  it('a worker stopped while it waits for a reply is stopped, and its connection closed', async () => {
    const { service, bridge } = serveRedis(() => 'go');
    const { worker } = runWorker(bridge, [['post', 'blocking'], ['execute', 'BLPOP', [{ tag: 'binary', val: te.encode('lane-never') }, { tag: 'binary', val: te.encode('0') }]]]);
    for (let i = 0; i < 200 && service.stats().held === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(await worker.terminate()).toBeTypeOf('number');
    for (let i = 0; i < 200 && service.stats().held > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(service.stats()).toEqual({ held: 0, idle: 0 });
  });
});

describe('socket lane guard', () => {
  it('writes nothing once the lending ended: a descriptor number the worker kept cannot reach what reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-lane-'));
    try {
      const fd = openSync(join(dir, 'f'), 'w');
      const guard = createLaneGuard();
      expect(laneWrite(guard, fd, te.encode('before'))).toBe(6);
      closeLane(guard);
      expect(laneClosed(guard)).toBe(true);
      expect(laneWrite(guard, fd, te.encode('after'))).toBeUndefined();
      closeSync(fd);
      expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('before');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
