// Outbound services benchmark: round trips per second from a componentize-js guest (Redis GET and
// PostgreSQL `SELECT $1::int4` in a loop, through the worker's blocking channel and the main
// thread's pooled clients) against the Node library called directly (ioredis, pg) on the same
// servers, sequentially as the guest runs them. Prints ratios measured in this run, and the guest
// lines again with the worker polling for each reply before it sleeps (the channel's spinMicros;
// src/channel/reply-wait.ts), alternated with the default in every round.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openCache } from '@spinel/cache';
import { startPostgres, startRedis } from '@spinel/test-utils';
import { createExecutor } from '../src/pool/create-executor.js';
import { createAppCapabilities } from '../src/services/app-capabilities.js';
import { buildOutboundGuest } from '@spinel/test-utils';
import { readAll, testApp } from '../test/test-app.js';
import type { BridgeServer } from '../src/channel/bridge-server.js';
import { median } from './harness.js';

const ROUNDS = 5;
const REDIS_CALLS = 5000;
const PG_CALLS = 1000;
/** The polling budget of the "polls" lines (µs). */
const POLL_MICROS = 100;

async function main(): Promise<void> {
  const wasm = await buildOutboundGuest('bench');
  const dir = await mkdtemp(join(tmpdir(), 'spinel-outbound-bench-'));
  const [redisServer, pgServer] = await Promise.all([startRedis(), startPostgres()]);
  const app = testApp([{ id: 'bench', path: wasm, metadata: { allowed_outbound_hosts: [`redis://127.0.0.1:${redisServer.port}`, `postgres://127.0.0.1:${pgServer.port}`] } }]);
  const caps = await createAppCapabilities({ app, keyValue: { stateDir: join(dir, 'state'), seeds: [] } });
  const executor = await createExecutor({ app, cache: openCache({ root: join(dir, 'cache') }), capabilities: caps, workers: 1, logDir: null });
  // The pool's channel, reached past its API to alternate the polling lever within this run.
  const channel = (executor as unknown as { channel?: BridgeServer }).channel;
  const setPolling = (micros: number): void => {
    if (channel !== undefined) channel.spinMicros = micros;
  };
  const redis = new Redis(redisServer.url);
  await redis.set('bench-key', 'x'.repeat(64));
  const client = new pg.Client({ connectionString: pgServer.url });
  await client.connect();

  const guest = async (route: string, address: string, calls: number): Promise<number> => {
    const start = performance.now();
    const res = await executor.handle('bench', { method: 'GET', url: `http://127.0.0.1/${route}`, headers: [['x-address', address], ['x-count', String(calls)]], body: (async function* () {})() });
    const { text } = await readAll(res.body);
    if (res.status !== 200) throw new Error(`guest ${route}: ${res.status} ${text}`);
    return calls / ((performance.now() - start) / 1000);
  };
  const plainRedis = async (): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < REDIS_CALLS; i++) await redis.getBuffer('bench-key');
    return REDIS_CALLS / ((performance.now() - start) / 1000);
  };
  const plainPg = async (): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < PG_CALLS; i++) await client.query('SELECT $1::int4', [i]);
    return PG_CALLS / ((performance.now() - start) / 1000);
  };

  await guest('redis', redisServer.url, 100); // warm: transpile, compile, pools
  await guest('pg', pgServer.url, 100);
  const rates = { redis: [] as number[], redisGuest: [] as number[], redisPoll: [] as number[], pg: [] as number[], pgGuest: [] as number[], pgPoll: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    rates.redis.push(await plainRedis());
    rates.redisGuest.push(await guest('redis', redisServer.url, REDIS_CALLS));
    setPolling(POLL_MICROS);
    rates.redisPoll.push(await guest('redis', redisServer.url, REDIS_CALLS));
    setPolling(0);
    rates.pg.push(await plainPg());
    rates.pgGuest.push(await guest('pg', pgServer.url, PG_CALLS));
    setPolling(POLL_MICROS);
    rates.pgPoll.push(await guest('pg', pgServer.url, PG_CALLS));
    setPolling(0);
  }
  const line = (label: string, value: number, note: string): void => console.log(`  ${label.padEnd(46)} ${value.toFixed(0).padStart(7)} round trips/s ${note}`);
  const ratio = (g: number[], p: number[]): string => median(g.map((v, i) => v / (p[i] ?? 1))).toFixed(2);
  console.log(`outbound services, one sequential caller (${ROUNDS} rounds, median; target ≥ 0.5):`);
  line('Redis GET, ioredis from Node:', median(rates.redis), '(reference)');
  line('Redis GET, fermyon:spin/redis@2.0.0 guest:', median(rates.redisGuest), `ratio ${ratio(rates.redisGuest, rates.redis)}`);
  if (channel !== undefined) line(`  the same, the worker polls ${POLL_MICROS} µs first:`, median(rates.redisPoll), `ratio ${ratio(rates.redisPoll, rates.redis)}`);
  line('PostgreSQL SELECT $1, pg from Node:', median(rates.pg), '(reference)');
  line('PostgreSQL SELECT $1, spin:postgres@4.0.0 guest:', median(rates.pgGuest), `ratio ${ratio(rates.pgGuest, rates.pg)}`);
  if (channel !== undefined) line(`  the same, the worker polls ${POLL_MICROS} µs first:`, median(rates.pgPoll), `ratio ${ratio(rates.pgPoll, rates.pg)}`);

  redis.disconnect();
  await client.end();
  await executor.close();
  await caps.close();
  await Promise.all([redisServer.stop(), pgServer.stop()]);
  await rm(dir, { recursive: true, force: true });
}

await main();
