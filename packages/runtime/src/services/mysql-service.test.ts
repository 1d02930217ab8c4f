import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts } from '@spinel/manifest';
import { startMariaDb, type MariaDbServer } from '@spinel/test-utils';
import { createMysqlService, type MysqlService } from './mysql-service.js';

let server: MariaDbServer;
let service: MysqlService;

beforeAll(async () => {
  server = await startMariaDb();
  service = createMysqlService({ allowedHosts: new Map([['c', AllowedHosts.parse([`mysql://127.0.0.1:${server.port}`])]]) });
}, 90_000);
afterAll(async () => {
  await service?.close();
  await server?.stop();
});

async function open(): Promise<number> {
  const r = await service.open('w', 'c', server.url);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('mysql service', () => {
  it('round-trips every rdbms value type through a table on a real MariaDB', async () => {
    const h = await open();
    expect(
      await service.execute('w', h, `CREATE TABLE all_types (
        i8 TINYINT, i16 SMALLINT, i32 INT, i64 BIGINT, u8 TINYINT UNSIGNED, u16 SMALLINT UNSIGNED, u32 INT UNSIGNED, u64 BIGINT UNSIGNED,
        f32 FLOAT, f64 DOUBLE, s VARCHAR(100), t TEXT, b VARBINARY(16), bl BLOB, n INT, flag BOOLEAN)`, []),
    ).toEqual({ ok: true, value: undefined });
    const values = [
      { tag: 'int8', val: -128 }, { tag: 'int16', val: -32768 }, { tag: 'int32', val: -2147483648 }, { tag: 'int64', val: -9223372036854775808n },
      { tag: 'uint8', val: 255 }, { tag: 'uint16', val: 65535 }, { tag: 'uint32', val: 4294967295 }, { tag: 'uint64', val: 18446744073709551615n },
      { tag: 'floating32', val: Math.fround(1.5) }, { tag: 'floating64', val: -2.25e300 }, { tag: 'str', val: 'héllo' }, { tag: 'str', val: 'long text' },
      { tag: 'binary', val: new Uint8Array([0, 255, 10]) }, { tag: 'binary', val: new Uint8Array([1, 2]) }, { tag: 'db-null' }, { tag: 'boolean', val: true },
    ] as const;
    expect(await service.execute('w', h, `INSERT INTO all_types VALUES (${values.map(() => '?').join(',')})`, values)).toEqual({ ok: true, value: undefined });
    const r = await service.query('w', h, 'SELECT * FROM all_types', []);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.columns.map((c) => c.dataType)).toEqual(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'floating32', 'floating64', 'str', 'str', 'binary', 'binary', 'int32', 'int8']);
    expect(r.value.columns[3]?.name).toBe('i64');
    // BOOLEAN is TINYINT(1) in MySQL: it comes back as int8, as in Spin.
    expect(r.value.rows[0]).toEqual([...values.slice(0, 14), { tag: 'db-null' }, { tag: 'int8', val: 1 }]);
    const decimal = await service.query('w', h, 'SELECT CAST(1.5 AS DECIMAL(4,2)) AS d', []);
    expect(decimal).toMatchObject({ ok: false, error: { tag: 'value-conversion-failed' } });
    const bad = await service.query('w', h, 'SELECT * FROM nope', []);
    expect(bad.ok === false && bad.error.tag === 'query-failed' && bad.error.val).toMatch(/doesn't exist/);
    service.drop('w', h);
  });

  it('resets the session before the pool hands a connection to the next guest', async () => {
    const h = await open();
    await service.execute('w', h, "SET @leak = 'secret'", []);
    service.drop('w', h);
    const h2 = await open();
    expect(await service.query('w', h2, 'SELECT @leak AS v', [])).toMatchObject({ ok: true, value: { rows: [[{ tag: 'db-null' }]] } });
    service.releaseOwner('w');
    expect(service.stats().held).toBe(0);
  });

  it('refuses an unlisted host with no credentials in the error, and a wrong password is connection-failed', async () => {
    const denied = await service.open('w', 'c', `mysql://${server.user}:${server.password}@localhost:${server.port}/${server.database}`);
    expect(denied).toEqual({ ok: false, error: { tag: 'connection-failed', val: `address mysql://localhost:${server.port}/${server.database} is not permitted` } });
    const wrong = await service.open('w', 'c', `mysql://${server.user}:not-it@127.0.0.1:${server.port}/${server.database}`);
    expect(wrong.ok === false && wrong.error.tag).toBe('connection-failed');
    expect(JSON.stringify(wrong)).toMatch(/Access denied/);
    expect(JSON.stringify(wrong)).not.toContain('not-it');
  });
});
