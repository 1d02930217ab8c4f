// Componentize-js guests of every outbound interface version, run through createAppCapabilities →
// createExecutor with the outbound services capability, against real redis-server, PostgreSQL,
// MariaDB and mosquitto started here.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { startMariaDb, startMosquitto, startPostgres, startRedis, type MariaDbServer, type MosquittoServer, type PostgresServer, type RedisServer } from '@spinel/test-utils';
import { createExecutor, type WorkerExecutor } from '../pool/create-executor.js';
import { testApp, readAll } from '../../test/test-app.js';
import { createAppCapabilities, type AppCapabilities } from './app-capabilities.js';
import type { OutboundServicesService } from './outbound-services-capability.js';
import { RespConnection } from './resp-connection.js';
import { buildOutboundGuest, guestJson, jsonValue } from '@spinel/test-utils';

let dir: string;
let redis: RedisServer;
let securedRedis: RedisServer;
let pg: PostgresServer;
let db: MariaDbServer;
let broker: MosquittoServer;
let caps: AppCapabilities;
let executor: WorkerExecutor;
/** A TCP listener standing in for an unlisted server: it counts the connections it gets. */
let unlisted: { server: Server; port: number; connections: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-outbound-e2e-'));
  const v2 = await buildOutboundGuest('v2');
  const v1 = await buildOutboundGuest('v1');
  const pg40 = await buildOutboundGuest('pg40');
  [redis, securedRedis, pg, db, broker] = await Promise.all([startRedis(), startRedis(), startPostgres(), startMariaDb(), startMosquitto({ users: { alice: 'secret', watcher: 'w' } })]);
  const admin = await RespConnection.connect({ address: '127.0.0.1', port: securedRedis.port });
  await admin.command(['CONFIG', 'SET', 'requirepass', 'right-pw']);
  admin.close();
  const counter = createServer((socket) => {
    unlisted.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
  unlisted = { server: counter, port: (counter.address() as { port: number }).port, connections: 0 };
  const allowed = [`redis://127.0.0.1:${redis.port}`, `redis://127.0.0.1:${securedRedis.port}`, `postgres://127.0.0.1:${pg.port}`, `mysql://127.0.0.1:${db.port}`, `mqtt://127.0.0.1:${broker.port}`];
  const app = testApp([
    { id: 'v2', path: v2, metadata: { allowed_outbound_hosts: allowed } },
    { id: 'v1', path: v1, metadata: { allowed_outbound_hosts: allowed } },
    { id: 'pg40', path: pg40, metadata: { allowed_outbound_hosts: allowed } },
  ]);
  caps = await createAppCapabilities({ app, keyValue: { stateDir: join(dir, 'state'), seeds: [] } });
  executor = await createExecutor({ app, cache: openCache({ root: join(dir, 'cache') }), capabilities: caps, workers: 1, logDir: null });
}, 1_200_000);

afterAll(async () => {
  await executor?.close();
  await caps?.close();
  await Promise.all([redis?.stop(), securedRedis?.stop(), pg?.stop(), db?.stop(), broker?.stop()]);
  unlisted?.server.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(component: string, path: string, headers: Record<string, string>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await executor.handle(component, { method: 'GET', url: `http://127.0.0.1:3000${path}`, headers: Object.entries(headers), body: (async function* () {})() });
  const { text } = await readAll(res.body);
  if (res.status !== 200) throw new Error(`${component}${path}: ${res.status} ${text}`);
  return guestJson(text);
}

describe('outbound services from componentize-js guests', () => {
  it('fermyon:spin/redis@2.0.0 round-trips every operation and result type', async () => {
    const out = await call('v2', '/redis', { 'x-redis': redis.url });
    expect(out).toEqual(jsonValue({
      set: { ok: undefined }, get: { ok: new Uint8Array([0, 1, 255]) }, missing: {}, incr: { ok: 1n }, sadd: { ok: 2 }, smembers: { ok: ['a', 'b'] }, srem: { ok: 1 },
      typeError: { err: { tag: 'type-error' } }, del: { ok: 2 }, publish: { ok: undefined },
      execute: { ok: [{ tag: 'status', val: 'OK' }] },
      executeGet: { ok: [{ tag: 'binary', val: new TextEncoder().encode('-7') }, { tag: 'nil' }] },
      executeInt: { ok: [{ tag: 'int64', val: 3n }] },
    }));
  });

  it('spin:postgres@4.1.0 round-trips every value type, gives structured errors, and builds connections', async () => {
    const out = await call('v2', '/pg4', { 'x-pg': pg.url });
    expect(out.columns.map((c: { dataType: { tag: string } }) => c.dataType.tag)).toEqual([
      'boolean', 'int16', 'int16', 'int32', 'int64', 'floating32', 'floating64', 'str', 'binary', 'date', 'time', 'datetime', 'datetime', 'uuid', 'jsonb', 'decimal',
      'range-int32', 'range-int64', 'range-decimal', 'array-int32', 'array-int64', 'array-decimal', 'array-str', 'interval', 'str', 'other',
    ]);
    expect(out.columns[25].dataType).toEqual({ tag: 'other', val: 'inet' });
    expect(out.row).toEqual(jsonValue([
      { tag: 'boolean', val: true }, { tag: 'int16', val: -5 }, { tag: 'int16', val: -32768 }, { tag: 'int32', val: 2147483647 }, { tag: 'int64', val: -9223372036854775808n },
      { tag: 'floating32', val: 1.5 }, { tag: 'floating64', val: 2.5e-300 }, { tag: 'str', val: 'héllo' }, { tag: 'binary', val: new Uint8Array([0, 255]) },
      { tag: 'date', val: [2024, 2, 29] }, { tag: 'time', val: [1, 2, 3, 4000] }, { tag: 'datetime', val: [2000, 1, 2, 3, 4, 5, 6000] }, { tag: 'datetime', val: [1970, 1, 2, 0, 0, 0, 0] },
      { tag: 'uuid', val: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' }, { tag: 'jsonb', val: new TextEncoder().encode('{"k":[1,"v"]}') }, { tag: 'decimal', val: '123.4500' },
      { tag: 'range-int32', val: [[1, 'inclusive'], [5, 'exclusive']] }, { tag: 'range-int64', val: [null, [7n, 'exclusive']] }, { tag: 'range-decimal', val: [['0.5', 'exclusive'], ['1.5', 'inclusive']] },
      { tag: 'array-int32', val: [1, null] }, { tag: 'array-int64', val: [2n] }, { tag: 'array-decimal', val: ['9.99', null] }, { tag: 'array-str', val: ['a "q"', null] },
      { tag: 'interval', val: { micros: 1000001n, days: -2, months: 3 } }, { tag: 'db-null' }, { tag: 'unsupported', val: new TextEncoder().encode('1.2.3.4') },
    ]));
    expect(out.exec).toBe('0n');
    expect(out.ins).toBe('3n');
    expect(out.bad.err).toMatchObject({ tag: 'query-failed', val: { tag: 'db-error', val: { code: '42P01', severity: 'ERROR', message: 'relation "missing_table" does not exist' } } });
    expect(out.badParam.err).toEqual({ tag: 'bad-parameter', val: 'invalid UUID not-a-uuid' });
    expect(out.builder.badCa.err.tag).toBe('other');
    expect(out.builder.built).toEqual({ columns: [{ name: 'answer', dataType: { tag: 'int32' } }], rows: [[{ tag: 'int32', val: 42 }]] });
  });

  it('spin:postgres@4.0.0 gets the same values (no connection-builder)', async () => {
    const out = await call('pg40', '/pg4', { 'x-pg': pg.url });
    expect(out.row.length).toBe(26);
    expect(out.row[14]).toEqual(jsonValue({ tag: 'jsonb', val: new TextEncoder().encode('{"k":[1,"v"]}') }));
    expect(out.builder).toBeNull();
  });

  it('spin:postgres@3.0.0 and fermyon:spin/postgres@2.0.0 see their own subsets', async () => {
    const v3 = await call('v1', '/pg3', { 'x-pg': pg.url });
    expect(v3.columns.map((c: { dataType: string }) => c.dataType)).toEqual(['boolean', 'int16', 'int32', 'int64', 'floating32', 'floating64', 'str', 'binary', 'date', 'time', 'datetime', 'datetime', 'int32', 'other']);
    expect(v3.row).toEqual(jsonValue([
      { tag: 'boolean', val: true }, { tag: 'int16', val: 5 }, { tag: 'int32', val: 6 }, { tag: 'int64', val: 7n }, { tag: 'floating32', val: 0.5 }, { tag: 'floating64', val: 0.25 },
      { tag: 'str', val: 's' }, { tag: 'binary', val: new Uint8Array([1]) }, { tag: 'date', val: [1999, 12, 31] }, { tag: 'time', val: [23, 59, 59, 0] },
      { tag: 'datetime', val: [2001, 2, 3, 4, 5, 6, 7000] }, { tag: 'datetime', val: [1970, 1, 1, 0, 0, 0, 0] }, { tag: 'db-null' }, { tag: 'unsupported' },
    ]));
    expect(v3.bad.err).toMatchObject({ tag: 'query-failed' });
    expect(typeof v3.bad.err.val).toBe('string');
    const v2 = await call('v2', '/pg2', { 'x-pg': pg.url });
    expect(v2.columns.map((c: { dataType: string }) => c.dataType)).toEqual(['boolean', 'int16', 'int16', 'int32', 'int64', 'floating32', 'floating64', 'str', 'binary', 'str', 'other']);
    expect(v2.row.slice(0, 10)).toEqual(jsonValue([
      { tag: 'boolean', val: false }, { tag: 'int16', val: 7 }, { tag: 'int16', val: 300 }, { tag: 'int32', val: -70000 }, { tag: 'int64', val: 5000000000n },
      { tag: 'floating32', val: 0.25 }, { tag: 'floating64', val: 1e100 }, { tag: 'str', val: 'ok' }, { tag: 'binary', val: new Uint8Array([9]) }, { tag: 'db-null' },
    ]));
    expect(v2.row[10]).toEqual({ tag: 'unsupported' });
    expect(v2.unsigned.err).toEqual({ tag: 'value-conversion-failed', val: 'Postgres does not support unsigned integers' });
    expect(v2.exec).toBe('1n');
  });

  it("Spin 1's unversioned redis, postgres and mysql take the address on each call", async () => {
    const r = await call('v1', '/redis1', { 'x-redis': redis.url });
    expect(r).toEqual(jsonValue({
      set: { ok: undefined }, get: { ok: new TextEncoder().encode('v1') }, missing: { ok: {} }, incr: { ok: 1n }, sadd: { ok: 2n }, smembers: { ok: ['x', 'y'] },
      srem: { ok: 1n }, del: { ok: 2n }, publish: { ok: undefined }, execute: { ok: [{ tag: 'status', val: 'PONG' }] }, typeError: { err: 'error' },
    }));
    const p = await call('v1', '/pg1', { 'x-pg': pg.url });
    expect(p.columns).toEqual([{ name: 'n', dataType: 'int32' }, { name: 's', dataType: 'str' }, { name: 'd', dataType: 'other' }]);
    expect(p.row).toEqual([{ tag: 'int32', val: 42 }, { tag: 'str', val: 'spin1' }, { tag: 'unsupported' }]);
    expect(p.exec).toBe('1n');
    expect(p.bad.err.tag).toBe('query-failed');
    expect(p.unsigned.err).toEqual({ tag: 'value-conversion-failed', val: 'Postgres does not support unsigned integers' });
    const m = await call('v1', '/mysql1', { 'x-mysql': db.url });
    expect(m.columns).toEqual([{ name: 'n', dataType: 'int32' }, { name: 's', dataType: 'str' }]);
    expect(m.row).toEqual([{ tag: 'int32', val: 7 }, { tag: 'str', val: 'seven' }]);
    expect(m.bad.err.tag).toBe('query-failed');
  });

  it('fermyon:spin/mysql@2.0.0 round-trips every rdbms value type', async () => {
    const out = await call('v2', '/mysql', { 'x-mysql': db.url });
    expect(out.columns.map((c: { dataType: string }) => c.dataType)).toEqual(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'floating32', 'floating64', 'str', 'binary', 'int32', 'int8']);
    expect(out.row).toEqual(jsonValue([
      { tag: 'int8', val: -1 }, { tag: 'uint8', val: 255 }, { tag: 'int16', val: -2 }, { tag: 'uint16', val: 65535 }, { tag: 'int32', val: -3 }, { tag: 'uint32', val: 4294967295 },
      { tag: 'int64', val: -4n }, { tag: 'uint64', val: 18446744073709551615n }, { tag: 'floating32', val: 0.5 }, { tag: 'floating64', val: 0.125 }, { tag: 'str', val: 'héllo' },
      { tag: 'binary', val: new Uint8Array([1, 2, 3]) }, { tag: 'db-null' }, { tag: 'int8', val: 1 },
    ]));
    expect(out.bad.err.tag).toBe('query-failed');
  });

  it('fermyon:spin/mqtt@2.0.0: a subscriber receives each message with the QoS asked', async () => {
    const subscriber = await mqtt.connectAsync(broker.url, { username: 'watcher', password: 'w', clientId: 'e2e-watcher' });
    const received: Array<{ topic: string; payload: string; qos: number }> = [];
    subscriber.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos }));
    await subscriber.subscribeAsync('guest/#', { qos: 2 });
    try {
      for (const [qos, n] of [['at-most-once', 0], ['at-least-once', 1], ['exactly-once', 2]] as const) {
        const out = await call('v2', '/mqtt', { 'x-mqtt': `${broker.url}?client_id=guest-e2e`, 'x-user': 'alice', 'x-pass': 'secret', 'x-topic': `guest/${n}`, 'x-payload': `hello ${n}`, 'x-qos': qos });
        expect(out).toEqual({});
      }
      for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(received.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
        { topic: 'guest/0', payload: 'hello 0', qos: 0 },
        { topic: 'guest/1', payload: 'hello 1', qos: 1 },
        { topic: 'guest/2', payload: 'hello 2', qos: 2 },
      ]);
    } finally {
      await subscriber.endAsync();
    }
  });

  it('refuses an unlisted host for each scheme before connecting: the server sees no connection', async () => {
    const before = unlisted.connections;
    const at = `127.0.0.1:${unlisted.port}`;
    expect(await call('v2', '/open', { 'x-kind': 'redis', 'x-address': `redis://${at}` })).toEqual({ err: { tag: 'invalid-address' } });
    expect(await call('v2', '/open', { 'x-kind': 'pg4', 'x-address': `postgres://u:pw@${at}/db` })).toEqual({ err: { tag: 'connection-failed', val: `address postgres://${at} is not permitted` } });
    expect(await call('v2', '/open', { 'x-kind': 'pg2', 'x-address': `host=127.0.0.1 port=${unlisted.port} user=u password=pw` })).toEqual({ err: { tag: 'connection-failed', val: `address postgres://${at} is not permitted` } });
    expect(await call('v2', '/open', { 'x-kind': 'mysql', 'x-address': `mysql://root:pw@${at}/db` })).toEqual({ err: { tag: 'connection-failed', val: `address mysql://${at}/db is not permitted` } });
    expect(await call('v2', '/open', { 'x-kind': 'mqtt', 'x-address': `mqtt://${at}` })).toEqual({ err: { tag: 'connection-failed', val: `address mqtt://${at} is not permitted` } });
    expect(await call('v1', '/open', { 'x-kind': 'redis', 'x-address': `redis://${at}` })).toEqual({ err: 'error' });
    expect(await call('v1', '/open', { 'x-kind': 'pg', 'x-address': `postgres://${at}/db` })).toEqual({ err: { tag: 'connection-failed', val: `address postgres://${at} is not permitted` } });
    expect(await call('v1', '/open', { 'x-kind': 'mysql', 'x-address': `mysql://${at}/db` })).toEqual({ err: { tag: 'connection-failed', val: `address mysql://${at}/db is not permitted` } });
    await new Promise((r) => setTimeout(r, 100));
    expect(unlisted.connections).toBe(before);
  });

  it('a wrong password is the interface error, not a trap, and never shows the password', async () => {
    const pgWrong = await call('v2', '/open', { 'x-kind': 'pg4', 'x-address': `postgres://${pg.user}:wrong-pw-1@127.0.0.1:${pg.port}/postgres` });
    expect(pgWrong.err.tag).toBe('connection-failed');
    expect(pgWrong.err.val).toMatch(/password authentication failed/);
    const myWrong = await call('v2', '/open', { 'x-kind': 'mysql', 'x-address': `mysql://${db.user}:wrong-pw-2@127.0.0.1:${db.port}/${db.database}` });
    expect(myWrong.err.tag).toBe('connection-failed');
    expect(myWrong.err.val).toMatch(/Access denied/);
    const mqWrong = await call('v2', '/open', { 'x-kind': 'mqtt', 'x-address': broker.url, 'x-user': 'alice', 'x-pass': 'wrong-pw-3' });
    expect(mqWrong.err.tag).toBe('connection-failed');
    const redisWrong = await call('v2', '/open', { 'x-kind': 'redis', 'x-address': `redis://default:wrong-pw-4@127.0.0.1:${securedRedis.port}` });
    expect(redisWrong.err.tag).toBe('other');
    expect(redisWrong.err.val).toMatch(/WRONGPASS/);
    expect(await call('v2', '/open', { 'x-kind': 'redis', 'x-address': `redis://default:right-pw@127.0.0.1:${securedRedis.port}` })).toEqual({ ok: 'opened' });
    expect(JSON.stringify([pgWrong, myWrong, mqWrong, redisWrong])).not.toMatch(/wrong-pw/);
  });

  it('releases what a request left open', async () => {
    const services = caps.services.get('outbound-services') as OutboundServicesService;
    await call('v2', '/redis', { 'x-redis': redis.url });
    await call('v2', '/pg2', { 'x-pg': pg.url });
    await new Promise((r) => setTimeout(r, 100));
    expect(services.services.redis.stats().held).toBe(0);
    expect(services.services.pg.stats().held).toBe(0);
  });
});
