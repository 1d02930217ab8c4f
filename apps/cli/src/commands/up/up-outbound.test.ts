// `spinel up` serving componentize-js guests of Spin's outbound Redis, PostgreSQL, MySQL and MQTT
// interfaces against real servers started here: what a user runs, end to end. (Every value type of
// every version is checked in @spinel/runtime's outbound-services-guest test; this checks that the
// CLI serves them, holds them to allowed_outbound_hosts, and applies the runtime-config limits.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, startUp } from '../../test-spinel.js';
import { buildOutboundGuest, guestJson, startMariaDb, startMosquitto, startPostgres, startRedis, type MariaDbServer, type MosquittoServer, type PostgresServer, type RedisServer } from '@spinel/test-utils';

afterEach(killSpinels);

let v2: string;
let redis: RedisServer;
let pg: PostgresServer;
let db: MariaDbServer;
let broker: MosquittoServer;

beforeAll(async () => {
  v2 = await buildOutboundGuest('v2');
  [redis, pg, db, broker] = await Promise.all([startRedis(), startPostgres(), startMariaDb(), startMosquitto({ users: { alice: 'secret', watcher: 'w' } })]);
}, 900_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), pg?.stop(), db?.stop(), broker?.stop()]);
});

function appDir(allowed: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-up-outbound-'));
  writeFileSync(
    join(dir, 'spin.toml'),
    `spin_manifest_version = 2
[application]
name = "outbound"

[variables]
redis_port = { default = "${redis.port}" }

[[trigger.http]]
route = "/..."
component = "guest"

[component.guest]
source = ${JSON.stringify(v2)}
allowed_outbound_hosts = ${JSON.stringify(allowed)}
`,
  );
  return dir;
}

async function get(base: string, path: string, headers: Record<string, string>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${base}${path}`, { headers });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return guestJson(text);
}

describe('spinel up with outbound Redis, PostgreSQL, MySQL and MQTT', () => {
  it('serves guests that use each service, within allowed_outbound_hosts (templates resolved), and prints the hint for a refused one', async () => {
    const dir = appDir(['redis://127.0.0.1:{{ redis_port }}', `postgres://127.0.0.1:${pg.port}`, `mysql://127.0.0.1:${db.port}`, `mqtt://127.0.0.1:${broker.port}`]);
    const s = await startUp([], dir);
    expect(s.base, s.output()).toBeDefined();
    const base = s.base as string;
    const r = await get(base, '/redis', { 'x-redis': redis.url });
    expect(r.incr).toEqual({ ok: '1n' });
    expect(r.execute).toEqual({ ok: [{ tag: 'status', val: 'OK' }] });
    const p = await get(base, '/pg4', { 'x-pg': pg.url });
    expect(p.builder.built.rows).toEqual([[{ tag: 'int32', val: 42 }]]);
    const m = await get(base, '/mysql', { 'x-mysql': db.url });
    expect(m.row[7]).toEqual({ tag: 'uint64', val: '18446744073709551615n' });
    const subscriber = await mqtt.connectAsync(broker.url, { username: 'watcher', password: 'w', clientId: 'up-watcher' });
    const got: number[] = [];
    subscriber.on('message', (_t, _p, packet) => got.push(packet.qos));
    await subscriber.subscribeAsync('up/#', { qos: 2 });
    expect(await get(base, '/mqtt', { 'x-mqtt': broker.url, 'x-user': 'alice', 'x-pass': 'secret', 'x-topic': 'up/1', 'x-payload': 'p', 'x-qos': 'at-least-once' })).toEqual({});
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(got).toEqual([1]);
    await subscriber.endAsync();
    const denied = await get(base, '/open', { 'x-kind': 'redis', 'x-address': 'redis://127.0.0.1:1' });
    expect(denied).toEqual({ err: { tag: 'invalid-address' } });
    expect(s.output()).toContain(`allowed_outbound_hosts = ["redis://127.0.0.1:1"]`);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 300_000);

  it('refuses an unknown key in [outbound_pg] of the runtime config', async () => {
    const dir = appDir([]);
    writeFileSync(join(dir, 'runtime.toml'), '[outbound_pg]\nmax_conections = 2\n');
    const s = await startUp(['--runtime-config-file', 'runtime.toml'], dir);
    expect(s.base).toBeUndefined();
    expect(await s.exited).not.toBe(0);
    expect(s.output()).toContain('max_conections');
  }, 120_000);
});
