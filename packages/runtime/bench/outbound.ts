// Outbound services benchmark: round trips per second from a componentize-js guest (Redis GET and
// PostgreSQL `SELECT $1::int4` in a loop, through the worker's blocking channel and the main
// thread's pooled clients) against the Node library called directly (ioredis, pg) on the same
// servers, sequentially as the guest runs them. Prints ratios measured in this run, and each
// guest line again as it ran before connections were lent to the worker (each operation a call
// to the main thread, which writes the command or statement and parses the reply), alternated
// with the default in every round. CPU per operation (main thread, other threads) comes from /proc (Linux).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openCache } from '@spinel/cache';
import { startPostgres, startRedis } from '@spinel/test-utils';
import { createExecutor } from '../src/pool/create-executor.js';
import { createAppCapabilities } from '../src/services/app-capabilities.js';
import { buildOutboundGuest } from '@spinel/test-utils';
import { readAll, testApp } from '../test/test-app.js';
import { OUTBOUND_SERVICES_METHOD, type ServiceCallArgs } from '../src/services/services-bridge.js';
import { cpuNow, median } from './harness.js';

// Many short rounds, each side in turn and in a rotating order: on a shared machine the load
// changes within seconds, and a ratio is only as good as the two sides seeing the same load.
const ROUNDS = 15;
const REDIS_CALLS = 1000;
const PG_CALLS = 300;

async function main(): Promise<void> {
  const wasm = await buildOutboundGuest('bench');
  const dir = await mkdtemp(join(tmpdir(), 'spinel-outbound-bench-'));
  const [redisServer, pgServer] = await Promise.all([startRedis(), startPostgres()]);
  const app = testApp([{ id: 'bench', path: wasm, metadata: { allowed_outbound_hosts: [`redis://127.0.0.1:${redisServer.port}`, `postgres://127.0.0.1:${pgServer.port}`] } }]);
  const caps = await createAppCapabilities({ app, keyValue: { stateDir: join(dir, 'state'), seeds: [] } });
  // "Before": the service refuses to lend connections, so the guest's operations go as calls.
  let lending = true;
  const serve = caps.handlers[OUTBOUND_SERVICES_METHOD];
  if (serve === undefined) throw new Error('no outbound services handler');
  const handlers = {
    ...caps.handlers,
    [OUTBOUND_SERVICES_METHOD]: async (args: unknown, call: Parameters<typeof serve>[1]): Promise<unknown> => {
      const a = args as ServiceCallArgs;
      if (a.op !== 'open-lent' || lending) return serve(args, call);
      // Opened as before: the handle alone, no lending (the worker then sends each operation as a call).
      const opened = (await serve({ ...a, op: 'open' }, call)) as { ok: boolean; value?: unknown };
      if (!opened.ok) return opened;
      call.push({ handle: opened.value });
      return { ok: true, value: undefined };
    },
  };
  const executor = await createExecutor({ app, cache: openCache({ root: join(dir, 'cache') }), capabilities: { ...caps, handlers }, workers: 1, logDir: null });
  const redis = new Redis(redisServer.url);
  await redis.set('bench-key', 'x'.repeat(64));
  const client = new pg.Client({ connectionString: pgServer.url });
  await client.connect();

  const cpu = { redisGuest: [] as Array<{ main: number; other: number }>, redisCalls: [] as Array<{ main: number; other: number }>, pgGuest: [] as Array<{ main: number; other: number }>, pgCalls: [] as Array<{ main: number; other: number }> };
  const guest = async (route: string, address: string, calls: number, cpuInto?: Array<{ main: number; other: number }>): Promise<number> => {
    const before = cpuNow();
    const start = performance.now();
    const res = await executor.handle('bench', { method: 'GET', url: `http://127.0.0.1/${route}`, headers: [['x-address', address], ['x-count', String(calls)]], body: (async function* () {})() });
    const { text } = await readAll(res.body);
    if (res.status !== 200) throw new Error(`guest ${route}: ${res.status} ${text}`);
    const after = cpuNow();
    cpuInto?.push({ main: (after.main - before.main) / calls, other: (after.other - before.other) / calls });
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
  const rates = { redis: [] as number[], redisGuest: [] as number[], redisCalls: [] as number[], pg: [] as number[], pgGuest: [] as number[], pgCalls: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const redisSides = [
      async () => rates.redis.push(await plainRedis()),
      async () => rates.redisGuest.push(await guest('redis', redisServer.url, REDIS_CALLS, cpu.redisGuest)),
      async () => {
        lending = false;
        rates.redisCalls.push(await guest('redis', redisServer.url, REDIS_CALLS, cpu.redisCalls));
        lending = true;
      },
    ];
    for (let i = 0; i < redisSides.length; i++) await redisSides[(round + i) % redisSides.length]?.();
    const pgSides = [
      async () => rates.pg.push(await plainPg()),
      async () => rates.pgGuest.push(await guest('pg', pgServer.url, PG_CALLS, cpu.pgGuest)),
      async () => {
        lending = false;
        rates.pgCalls.push(await guest('pg', pgServer.url, PG_CALLS, cpu.pgCalls));
        lending = true;
      },
    ];
    for (let i = 0; i < pgSides.length; i++) await pgSides[(round + i) % pgSides.length]?.();
  }
  const line = (label: string, value: number, note: string): void => console.log(`  ${label.padEnd(46)} ${value.toFixed(0).padStart(7)} round trips/s ${note}`);
  const ratio = (g: number[], p: number[]): string => median(g.map((v, i) => v / (p[i] ?? 1))).toFixed(2);
  console.log(`outbound services, one sequential caller (${ROUNDS} rounds in rotating order, median of the per-round ratios; target ≥ 0.5; load average ${loadavg()[0]?.toFixed(1)}):`);
  line('Redis GET, ioredis from Node:', median(rates.redis), '(reference)');
  const cpuText = (samples: Array<{ main: number; other: number }>): string => `CPU/op main ${median(samples.map((c) => c.main)).toFixed(1)} µs, others ${median(samples.map((c) => c.other)).toFixed(1)} µs`;
  line('Redis GET, fermyon:spin/redis@2.0.0 guest:', median(rates.redisGuest), `ratio ${ratio(rates.redisGuest, rates.redis)}; ${cpuText(cpu.redisGuest)}`);
  line('  the same, each operation a call (before):', median(rates.redisCalls), `ratio ${ratio(rates.redisCalls, rates.redis)}; ${cpuText(cpu.redisCalls)}`);
  line('PostgreSQL SELECT $1, pg from Node:', median(rates.pg), '(reference)');
  line('PostgreSQL SELECT $1, spin:postgres@4.0.0 guest:', median(rates.pgGuest), `ratio ${ratio(rates.pgGuest, rates.pg)}; ${cpuText(cpu.pgGuest)}`);
  line('  the same, each statement a call (before):', median(rates.pgCalls), `ratio ${ratio(rates.pgCalls, rates.pg)}; ${cpuText(cpu.pgCalls)}`);

  redis.disconnect();
  await client.end();
  await executor.close();
  await caps.close();
  await Promise.all([redisServer.stop(), pgServer.stop()]);
  await rm(dir, { recursive: true, force: true });
}

await main();
