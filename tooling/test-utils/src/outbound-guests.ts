// Componentize-js guests that use Spin's outbound Redis, PostgreSQL, MySQL and MQTT
// interfaces, one per set of interface versions whose import keys do not collide in jco's glue.
// Each answers JSON; addresses come in request headers so tests choose servers and refusals.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentizeJs, fixtureCacheDir, fixtureWitDir } from './wasm.js';
import { SPIN_POSTGRES_3_WIT, SPIN_V1_WIT, SPIN_V2_WIT, spinPostgres4Wit } from './outbound-wit.js';

/** BigInt → "123n", bytes → {bytes:[…]}: how the guests and the tests write values as JSON. */
export const JSON_HELPERS = `
const enc = new TextEncoder();
const show = (v) => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x.toString() + 'n' : x instanceof Uint8Array ? { bytes: [...x] } : x);
const attempt = (f) => { try { return { ok: f() }; } catch (e) { return { err: e && e.payload !== undefined ? e.payload : String(e) }; } };
const reply = (v) => new Response(show(v), { headers: { 'content-type': 'application/json' } });
`;

/**
 * A guest's JSON with byte lists made comparable: StarlingMonkey's typed arrays fail the guest's
 * `instanceof Uint8Array` and come out as {"0": …, "1": …}, which this turns into {bytes: […]}
 * (an empty one stays `{}`).
 */
export function guestJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const keys = Object.keys(v);
    if (keys.length > 0 && keys.every((k, i) => k === String(i))) return { bytes: Object.values(v) };
    return v;
  });
}

/** The same conversion on the test side, for expected values. */
export function jsonValue(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x.toString()}n` : x instanceof Uint8Array ? { bytes: [...x] } : x)));
}

const PG4_ROUTE = `
  if (path === '/pg4') {
    const c = Connection.open(h('x-pg'));
    const params = [
      { tag: 'boolean', val: true }, { tag: 'int8', val: -5 }, { tag: 'int16', val: -32768 }, { tag: 'int32', val: 2147483647 }, { tag: 'int64', val: -9223372036854775808n },
      { tag: 'floating32', val: 1.5 }, { tag: 'floating64', val: 2.5e-300 }, { tag: 'str', val: 'héllo' }, { tag: 'binary', val: new Uint8Array([0, 255]) },
      { tag: 'date', val: [2024, 2, 29] }, { tag: 'time', val: [1, 2, 3, 4000] }, { tag: 'datetime', val: [2000, 1, 2, 3, 4, 5, 6000] }, { tag: 'timestamp', val: 86400n },
      { tag: 'uuid', val: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' }, { tag: 'jsonb', val: enc.encode('{"k": [1, "v"]}') }, { tag: 'decimal', val: '123.4500' },
      { tag: 'range-int32', val: [[1, 'inclusive'], [5, 'exclusive']] }, { tag: 'range-int64', val: [undefined, [7n, 'exclusive']] }, { tag: 'range-decimal', val: [['0.5', 'exclusive'], ['1.5', 'inclusive']] },
      { tag: 'array-int32', val: [1, undefined] }, { tag: 'array-int64', val: [2n] }, { tag: 'array-decimal', val: ['9.99', undefined] }, { tag: 'array-str', val: ['a "q"', undefined] },
      { tag: 'interval', val: { micros: 1000001n, days: -2, months: 3 } }, { tag: 'db-null' },
    ];
    const casts = ['bool', 'int2', 'int2', 'int4', 'int8', 'float4', 'float8', 'text', 'bytea', 'date', 'time', 'timestamp', 'timestamptz', 'uuid', 'jsonb', 'numeric', 'int4range', 'int8range', 'numrange', 'int4[]', 'int8[]', 'numeric[]', 'text[]', 'interval', 'text'];
    const rs = c.query('SELECT ' + casts.map((t, i) => '$' + (i + 1) + '::' + t).join(', ') + ", '1.2.3.4'::inet", params);
    const exec = c.execute('CREATE TEMP TABLE t4 (n int)', []);
    const ins = c.execute('INSERT INTO t4 SELECT generate_series(1, 3)', []);
    const bad = attempt(() => c.query('SELECT * FROM missing_table', []));
    const badParam = attempt(() => c.query('SELECT $1::uuid', [{ tag: 'uuid', val: 'not-a-uuid' }]));
    let builder = null;
    if (typeof ConnectionBuilder !== 'undefined') {
      const b = new ConnectionBuilder(h('x-pg'));
      const badCa = attempt(() => b.setCaRoot('not a certificate'));
      const built = b.build().query('SELECT 41 + 1 AS answer', []);
      builder = { badCa, built };
    }
    return reply({ columns: rs.columns, row: rs.rows[0], exec, ins, bad, badParam, builder });
  }`;

const OPEN_ROUTE = (kinds: Record<string, string>): string => `
  if (path === '/open') {
    const kind = h('x-kind');
    const addr = h('x-address');
    ${Object.entries(kinds).map(([kind, code]) => `if (kind === '${kind}') return reply(attempt(() => { ${code}; return 'opened'; }));`).join('\n    ')}
  }`;

const GUEST_V2 = `import { Connection as Redis } from 'fermyon:spin/redis@2.0.0';
import { Connection as Pg2 } from 'fermyon:spin/postgres@2.0.0';
import { Connection as Mysql } from 'fermyon:spin/mysql@2.0.0';
import { Connection as Mqtt } from 'fermyon:spin/mqtt@2.0.0';
import { Connection, ConnectionBuilder } from 'spin:postgres/postgres@4.1.0';
${JSON_HELPERS}
async function handle(request) {
  const path = new URL(request.url).pathname;
  const h = (n) => request.headers.get(n);
  if (path === '/redis') {
    const c = Redis.open(h('x-redis'));
    const out = {};
    out.set = attempt(() => c.set('k', new Uint8Array([0, 1, 255])));
    out.get = attempt(() => c.get('k'));
    out.missing = attempt(() => c.get('missing'));
    out.incr = attempt(() => c.incr('n'));
    out.sadd = attempt(() => c.sadd('s', ['a', 'b', 'a']));
    out.smembers = attempt(() => c.smembers('s').sort());
    out.srem = attempt(() => c.srem('s', ['a']));
    out.typeError = attempt(() => c.incr('s'));
    out.del = attempt(() => c.del(['k', 'n', 'nothing']));
    out.publish = attempt(() => c.publish('chan', enc.encode('hi')));
    out.execute = attempt(() => c.execute('SET', [{ tag: 'binary', val: enc.encode('x') }, { tag: 'int64', val: -7n }]));
    out.executeGet = attempt(() => c.execute('MGET', [{ tag: 'binary', val: enc.encode('x') }, { tag: 'binary', val: enc.encode('nope') }]));
    out.executeInt = attempt(() => c.execute('INCRBY', [{ tag: 'binary', val: enc.encode('x') }, { tag: 'int64', val: 10n }]));
    return reply(out);
  }
  if (path === '/pg2') {
    const c = Pg2.open(h('x-pg'));
    const params = [{ tag: 'boolean', val: false }, { tag: 'int8', val: 7 }, { tag: 'int16', val: 300 }, { tag: 'int32', val: -70000 }, { tag: 'int64', val: 5000000000n },
      { tag: 'floating32', val: 0.25 }, { tag: 'floating64', val: 1e100 }, { tag: 'str', val: 'ok' }, { tag: 'binary', val: new Uint8Array([9]) }, { tag: 'db-null' }];
    const rs = c.query('SELECT $1::bool, $2::int2, $3::int2, $4::int4, $5::int8, $6::float4, $7::float8, $8::text, $9::bytea, $10::text, now()::date', params);
    const unsigned = attempt(() => c.query('SELECT $1::int4', [{ tag: 'uint8', val: 1 }]));
    const exec = c.execute('SELECT 1', []);
    return reply({ columns: rs.columns, row: rs.rows[0], unsigned, exec });
  }
  ${PG4_ROUTE}
  if (path === '/mysql') {
    const c = Mysql.open(h('x-mysql'));
    c.execute('CREATE TEMPORARY TABLE m (i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, u16 SMALLINT UNSIGNED, i32 INT, u32 INT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED, f32 FLOAT, f64 DOUBLE, s VARCHAR(20), b VARBINARY(8), n INT, flag BOOLEAN)', []);
    const params = [{ tag: 'int8', val: -1 }, { tag: 'uint8', val: 255 }, { tag: 'int16', val: -2 }, { tag: 'uint16', val: 65535 }, { tag: 'int32', val: -3 }, { tag: 'uint32', val: 4294967295 },
      { tag: 'int64', val: -4n }, { tag: 'uint64', val: 18446744073709551615n }, { tag: 'floating32', val: 0.5 }, { tag: 'floating64', val: 0.125 }, { tag: 'str', val: 'héllo' },
      { tag: 'binary', val: new Uint8Array([1, 2, 3]) }, { tag: 'db-null' }, { tag: 'boolean', val: true }];
    c.execute('INSERT INTO m VALUES (' + params.map(() => '?').join(',') + ')', params);
    const rs = c.query('SELECT * FROM m', []);
    const bad = attempt(() => c.query('SELECT * FROM missing_table', []));
    return reply({ columns: rs.columns, row: rs.rows[0], bad });
  }
  if (path === '/mqtt') {
    const c = Mqtt.open(h('x-mqtt'), h('x-user'), h('x-pass'), 30n);
    return reply(attempt(() => c.publish(h('x-topic'), enc.encode(h('x-payload')), h('x-qos'))));
  }
  ${OPEN_ROUTE({
    redis: 'Redis.open(addr)',
    pg2: 'Pg2.open(addr)',
    pg4: 'Connection.open(addr)',
    mysql: 'Mysql.open(addr)',
    mqtt: "Mqtt.open(addr, h('x-user') ?? '', h('x-pass') ?? '', 5n)",
  })}
  return new Response('unknown route', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

const GUEST_V1 = `import * as redis from 'fermyon:spin/redis';
import * as pg from 'fermyon:spin/postgres';
import * as mysql from 'fermyon:spin/mysql';
import { Connection } from 'spin:postgres/postgres@3.0.0';
${JSON_HELPERS}
async function handle(request) {
  const path = new URL(request.url).pathname;
  const h = (n) => request.headers.get(n);
  if (path === '/redis1') {
    const a = h('x-redis');
    const out = {};
    out.set = attempt(() => redis.set(a, 'k1', enc.encode('v1')));
    out.get = attempt(() => redis.get(a, 'k1'));
    out.missing = attempt(() => redis.get(a, 'missing'));
    out.incr = attempt(() => redis.incr(a, 'n1'));
    out.sadd = attempt(() => redis.sadd(a, 's1', ['x', 'y']));
    out.smembers = attempt(() => redis.smembers(a, 's1').sort());
    out.srem = attempt(() => redis.srem(a, 's1', ['x']));
    out.del = attempt(() => redis.del(a, ['k1', 'n1']));
    out.publish = attempt(() => redis.publish(a, 'c1', enc.encode('m')));
    out.execute = attempt(() => redis.execute(a, 'PING', []));
    out.typeError = attempt(() => redis.incr(a, 's1'));
    return reply(out);
  }
  if (path === '/pg1') {
    const a = h('x-pg');
    const rs = pg.query(a, 'SELECT $1::int4 AS n, $2::text AS s, now()::date AS d', [{ tag: 'int32', val: 42 }, { tag: 'str', val: 'spin1' }]);
    const exec = pg.execute(a, 'SELECT 1', []);
    const bad = attempt(() => pg.query(a, 'SELECT * FROM missing_table', []));
    const unsigned = attempt(() => pg.execute(a, 'SELECT 1', [{ tag: 'uint32', val: 1 }]));
    return reply({ columns: rs.columns, row: rs.rows[0], exec, bad, unsigned });
  }
  if (path === '/mysql1') {
    const a = h('x-mysql');
    mysql.execute(a, 'CREATE TABLE IF NOT EXISTS v1 (n INT, s TEXT)', []);
    mysql.execute(a, 'INSERT INTO v1 VALUES (?, ?)', [{ tag: 'int32', val: 7 }, { tag: 'str', val: 'seven' }]);
    const rs = mysql.query(a, 'SELECT n, s FROM v1 ORDER BY n LIMIT 1', []);
    const bad = attempt(() => mysql.query(a, 'SELECT * FROM missing_table', []));
    return reply({ columns: rs.columns, row: rs.rows[0], bad });
  }
  if (path === '/pg3') {
    const c = Connection.open(h('x-pg'));
    const params = [{ tag: 'boolean', val: true }, { tag: 'int16', val: 5 }, { tag: 'int32', val: 6 }, { tag: 'int64', val: 7n }, { tag: 'floating32', val: 0.5 }, { tag: 'floating64', val: 0.25 },
      { tag: 'str', val: 's' }, { tag: 'binary', val: new Uint8Array([1]) }, { tag: 'date', val: [1999, 12, 31] }, { tag: 'time', val: [23, 59, 59, 0] },
      { tag: 'datetime', val: [2001, 2, 3, 4, 5, 6, 7000] }, { tag: 'timestamp', val: 0n }, { tag: 'db-null' }];
    const rs = c.query("SELECT $1::bool, $2::int2, $3::int4, $4::int8, $5::float4, $6::float8, $7::text, $8::bytea, $9::date, $10::time, $11::timestamp, $12::timestamptz, $13::int4, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", params);
    const bad = attempt(() => c.query('SELECT * FROM missing_table', []));
    return reply({ columns: rs.columns, row: rs.rows[0], bad });
  }
  if (path === '/open') {
    const kind = h('x-kind');
    if (kind === 'redis') return reply(attempt(() => redis.get(h('x-address'), 'k')));
    if (kind === 'pg') return reply(attempt(() => pg.execute(h('x-address'), 'SELECT 1', [])));
    if (kind === 'mysql') return reply(attempt(() => mysql.execute(h('x-address'), 'SELECT 1', [])));
  }
  return new Response('unknown route', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

const GUEST_PG40 = `import { Connection } from 'spin:postgres/postgres@4.0.0';
${JSON_HELPERS}
async function handle(request) {
  const path = new URL(request.url).pathname;
  const h = (n) => request.headers.get(n);
  ${PG4_ROUTE}
  if (path === '/bench') {
    const c = Connection.open(h('x-pg'));
    const n = Number(h('x-count'));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += c.query('SELECT $1::int4', [{ tag: 'int32', val: i }]).rows[0][0].val;
    return reply({ sum });
  }
  return new Response('unknown route', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

const GUEST_BENCH = `import { Connection as Redis } from 'fermyon:spin/redis@2.0.0';
import { Connection as Pg } from 'spin:postgres/postgres@4.0.0';
${JSON_HELPERS}
async function handle(request) {
  const path = new URL(request.url).pathname;
  const h = (n) => request.headers.get(n);
  const n = Number(h('x-count'));
  if (path === '/redis') {
    const c = Redis.open(h('x-address'));
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += c.get('bench-key').length;
    return reply({ bytes });
  }
  if (path === '/pg') {
    const c = Pg.open(h('x-address'));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += c.query('SELECT $1::int4', [{ tag: 'int32', val: i }]).rows[0][0].val;
    return reply({ sum });
  }
  return new Response('unknown route', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

/** Which guest: every 2.0.0 interface with spin:postgres@4.1.0; Spin 1's with spin:postgres@3.0.0; spin:postgres@4.0.0 alone. */
export type OutboundGuest = 'v2' | 'v1' | 'pg40' | 'bench';

const GUESTS: Record<OutboundGuest, { source: string; imports: string[]; packages: Array<[dir: string, text: string]> }> = {
  v2: {
    source: GUEST_V2,
    imports: ['fermyon:spin/redis@2.0.0', 'fermyon:spin/postgres@2.0.0', 'fermyon:spin/mysql@2.0.0', 'fermyon:spin/mqtt@2.0.0', 'spin:postgres/postgres@4.1.0'],
    packages: [['fermyon-spin-2', SPIN_V2_WIT], ['spin-postgres-4', spinPostgres4Wit(1)]],
  },
  v1: {
    source: GUEST_V1,
    imports: ['fermyon:spin/redis', 'fermyon:spin/postgres', 'fermyon:spin/mysql', 'spin:postgres/postgres@3.0.0'],
    packages: [['fermyon-spin', SPIN_V1_WIT], ['spin-postgres-3', SPIN_POSTGRES_3_WIT]],
  },
  pg40: { source: GUEST_PG40, imports: ['spin:postgres/postgres@4.0.0'], packages: [['spin-postgres-4', spinPostgres4Wit(0)]] },
  bench: {
    source: GUEST_BENCH,
    imports: ['fermyon:spin/redis@2.0.0', 'spin:postgres/postgres@4.0.0'],
    packages: [['fermyon-spin-2', SPIN_V2_WIT], ['spin-postgres-4', spinPostgres4Wit(0)]],
  },
};

/** Builds (once, cached by source) an outbound guest with componentize-js. */
export async function buildOutboundGuest(which: OutboundGuest): Promise<string> {
  const guest = GUESTS[which];
  const key = createHash('sha256').update(JSON.stringify(guest)).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `outbound-guest-${which}-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-outguest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    for (const [dir, text] of guest.packages) {
      await mkdir(join(wit, 'deps', dir), { recursive: true });
      await writeFile(join(wit, 'deps', dir, 'package.wit'), text);
    }
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(join(wit, 'world.wit'), `${world}\nworld outbound {\n  include wasi:http/proxy@0.2.10;\n${guest.imports.map((i) => `  import ${i};\n`).join('')}}\n`);
    await writeFile(join(work, 'index.js'), guest.source);
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'outbound', out: `${out}.tmp` });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
