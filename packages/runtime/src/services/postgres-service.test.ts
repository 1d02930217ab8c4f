import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startPostgres, type PostgresServer } from '@spinel/test-utils';
import { createPostgresService, type PostgresService } from './postgres-service.js';
import type { PgParameterValue } from './pg-values.js';

let server: PostgresServer;
let service: PostgresService;
const te = new TextEncoder();

beforeAll(async () => {
  server = await startPostgres();
  service = createPostgresService({ allowedHosts: new Map([['c', AllowedHosts.parse([`postgres://127.0.0.1:${server.port}`])]]) });
}, 60_000);
afterAll(async () => {
  await service?.close();
  await server?.stop();
});

async function open(address = server.url): Promise<number> {
  const r = await service.open('w', 'c', address);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('postgres service', () => {
  it('round-trips every spin:postgres@4 value type through parameters and columns', async () => {
    const h = await open();
    const params: PgParameterValue[] = [
      { tag: 'boolean', val: true },
      { tag: 'int16', val: -32768 },
      { tag: 'int32', val: 2147483647 },
      { tag: 'int64', val: -9223372036854775808n },
      { tag: 'floating32', val: Math.fround(3.14) },
      { tag: 'floating64', val: -1.5e300 },
      { tag: 'str', val: 'héllo "world" \\ ' },
      { tag: 'binary', val: new Uint8Array([0, 1, 254, 255]) },
      { tag: 'date', val: [2024, 2, 29] },
      { tag: 'time', val: [23, 59, 58, 123456000] },
      { tag: 'datetime', val: [1999, 12, 31, 23, 59, 59, 999999000] },
      { tag: 'uuid', val: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
      { tag: 'jsonb', val: te.encode('{"a": [1, 2.5, "x y"], "b": null}') },
      { tag: 'decimal', val: '-12345678901234567890.0123456789' },
      { tag: 'range-int32', val: [[1, 'inclusive'], [10, 'exclusive']] },
      { tag: 'range-int64', val: [undefined, [9000000000n, 'exclusive']] },
      { tag: 'range-decimal', val: [[ '1.5', 'exclusive'], ['2.25', 'inclusive']] },
      { tag: 'array-int32', val: [1, undefined, -3] },
      { tag: 'array-int64', val: [12345678901234n, undefined] },
      { tag: 'array-decimal', val: ['1.10', undefined, '-0.5'] },
      { tag: 'array-str', val: ['a,b', undefined, 'q"uote', 'NULL', ''] },
      { tag: 'interval', val: { micros: -3723000004n, days: 5, months: 14 } },
      { tag: 'db-null' },
      { tag: 'date', val: [-43, 3, 15] },
    ];
    const casts = ['bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'text', 'bytea', 'date', 'time', 'timestamp', 'uuid', 'jsonb', 'numeric', 'int4range', 'int8range', 'numrange', 'int4[]', 'int8[]', 'numeric[]', 'text[]', 'interval', 'text', 'date'];
    const sql = `SELECT ${casts.map((t, i) => `$${i + 1}::${t} AS c${i}`).join(', ')}`;
    const r = await service.query('w', h, sql, params);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.columns.map((c) => c.dataType)).toEqual([
      'boolean', 'int16', 'int32', 'int64', 'floating32', 'floating64', 'str', 'binary', 'date', 'time', 'datetime', 'uuid', 'jsonb', 'decimal',
      'range-int32', 'range-int64', 'range-decimal', 'array-int32', 'array-int64', 'array-decimal', 'array-str', 'interval', 'str', 'date',
    ].map((tag) => ({ tag })));
    expect(r.value.columns[0]?.name).toBe('c0');
    const row = r.value.rows[0] ?? [];
    const expected = params.map((p) => (p.tag === 'jsonb' ? { tag: 'jsonb', val: te.encode('{"a":[1,2.5,"x y"],"b":null}') } : p));
    expect(row).toEqual(expected);
    service.drop('w', h);
  });

  it('converts timestamptz to UTC, timestamps (unix seconds) in, and unknown types to unsupported text', async () => {
    const h = await open();
    await service.execute('w', h, "SET TIME ZONE 'Asia/Kolkata'", []);
    const r = await service.query('w', h, "SELECT '2024-01-01 05:30:00+05:30'::timestamptz, $1::timestamptz, '10.1.2.3'::inet, 'empty'::int4range", [{ tag: 'timestamp', val: 86_400n * 365n + 61n }]);
    expect(r.ok && r.value.rows[0]).toEqual([
      { tag: 'datetime', val: [2024, 1, 1, 0, 0, 0, 0] },
      { tag: 'datetime', val: [1971, 1, 1, 0, 1, 1, 0] },
      { tag: 'unsupported', val: te.encode('10.1.2.3') },
      { tag: 'range-int32', val: [undefined, undefined] },
    ]);
    expect(r.ok && r.value.columns[2]?.dataType).toEqual({ tag: 'other', val: 'inet' });
    service.drop('w', h);
  });

  it('executes with a row count, gives server errors their fields, and refuses bad parameters', async () => {
    const h = await open();
    expect(await service.execute('w', h, 'CREATE TEMP TABLE t (id int PRIMARY KEY, v text)', [])).toEqual({ ok: true, value: 0n });
    expect(await service.execute('w', h, 'INSERT INTO t VALUES ($1, $2), ($3, $4)', [{ tag: 'int32', val: 1 }, { tag: 'str', val: 'a' }, { tag: 'int32', val: 2 }, { tag: 'db-null' }])).toEqual({ ok: true, value: 2n });
    const dup = await service.execute('w', h, 'INSERT INTO t VALUES (1, $1)', [{ tag: 'str', val: 'x' }]);
    expect(dup.ok).toBe(false);
    if (!dup.ok && dup.error.tag === 'query-failed' && dup.error.val.tag === 'db-error') {
      expect(dup.error.val.val).toMatchObject({ code: '23505', severity: 'ERROR', detail: 'Key (id)=(1) already exists.' });
      expect(dup.error.val.val.extras).toContainEqual(['constraint', 't_pkey']);
    } else throw new Error(`expected a db-error, got ${JSON.stringify(dup)}`);
    expect(await service.query('w', h, 'SELECT 1', [{ tag: 'uuid', val: 'nope' }])).toEqual({ ok: false, error: { tag: 'bad-parameter', val: 'invalid UUID nope' } });
    expect(await service.execute('w', h, 'SELECT $1::date', [{ tag: 'date', val: [2023, 2, 29] }])).toMatchObject({ ok: false, error: { tag: 'value-conversion-failed' } });
    // The extended protocol, as Spin's client uses: one statement per call.
    expect((await service.query('w', h, 'SELECT 1; SELECT 2', [])).ok).toBe(false);
    service.drop('w', h);
  });

  it('gives the next guest a clean session from the pool', async () => {
    // A service of its own: its pool holds only this test's connection, so the next open must get
    // that one back (the earlier tests leave idle connections in the shared service's pool).
    const own = createPostgresService({ allowedHosts: new Map([['c', AllowedHosts.parse([`postgres://127.0.0.1:${server.port}`])]]) });
    try {
      const openOwn = async (): Promise<number> => {
        const r = await own.open('w', 'c', server.url);
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        return r.value;
      };
      const h = await openOwn();
      await own.execute('w', h, "SET application_name = 'leaky'", []);
      await own.execute('w', h, 'BEGIN', []);
      const pid = await own.query('w', h, 'SELECT pg_backend_pid()', []);
      own.drop('w', h);
      // The reset (ROLLBACK, DISCARD ALL) runs after drop returns; wait for it, however slow the machine.
      for (const started = Date.now(); own.stats().resetting > 0; ) {
        if (Date.now() - started > 20_000) throw new Error('the dropped connection was not reset within 20 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      const h2 = await openOwn();
      const again = await own.query('w', h2, "SELECT pg_backend_pid(), current_setting('application_name')", []);
      expect(again.ok && again.value.rows[0]?.[0]).toEqual(pid.ok && pid.value.rows[0]?.[0]);
      expect(again.ok && again.value.rows[0]?.[1]).toEqual({ tag: 'str', val: '' });
      own.releaseOwner('w');
      expect(own.stats().held).toBe(0);
      expect(own.stats().resetting).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('refuses an unlisted host without connecting, takes a wrong password as connection-failed, and keeps passwords out', async () => {
    const denied = await service.open('w', 'c', `postgres://${server.user}:${server.password}@localhost:${server.port}/postgres`);
    expect(denied).toEqual({ ok: false, error: { tag: 'connection-failed', val: `address postgres://localhost:${server.port} is not permitted` } });
    const kv = await service.open('w', 'c', `host=127.0.0.1 port=${server.port} user=${server.user} password='not it' dbname=postgres sslmode=disable`);
    expect(kv.ok).toBe(false);
    expect(JSON.stringify(kv)).toMatch(/password authentication failed/);
    expect(JSON.stringify(kv)).not.toContain('not it');
    expect(await service.open('w', 'c', 'host=/var/run/postgresql')).toEqual({ ok: false, error: { tag: 'connection-failed', val: 'Unix sockets are not supported on WebAssembly' } });
    const good = await service.open('w', 'c', `host=127.0.0.1 port=${server.port} user=${server.user} password=${server.password} dbname=postgres`);
    expect(good.ok).toBe(true);
    service.releaseOwner('w');
  });
});
