// `spinel up` serving componentize-js guests that use each SQLite interface version
// (fermyon:spin/sqlite@2.0.0, Spin 1's unversioned sqlite, spin:sqlite/sqlite@3.0.0), plus
// --sqlite and the database checks that stop a start.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildSqliteGuest, guestJson, type SqliteGuestVersion } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, startUp, stopSpinel, type SpinelRun } from '../../test-spinel.js';

const dirs: string[] = [];
afterEach(killSpinels);
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function stop(s: SpinelRun): Promise<void> {
  expect(await stopSpinel(s)).toBe(0);
}

function app(guest: string, databases: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-up-sqlite-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'spin.toml'),
    `spin_manifest_version = 2
[application]
name = "sqlite-app"

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = ${JSON.stringify(guest)}
sqlite_databases = ${JSON.stringify(databases)}
`,
  );
  return dir;
}

async function get(base: string, path: string): Promise<unknown> {
  const res = await fetch(`${base}${path}`);
  expect(res.status, path).toBe(200);
  return guestJson(await res.text());
}

const int = (v: string): unknown => ({ tag: 'integer', val: `${v}n` });
const ROW = (id: string): unknown => ({
  values: [int(id), int('-9223372036854775808'), { tag: 'real', val: 2.5 }, { tag: 'text', val: 'héllo ✓' }, { tag: 'blob', val: { bytes: [0, 1, 255] } }, { tag: 'null' }, int('7'), { tag: 'real', val: 0.5 }],
});

const VERSIONS: Array<[SqliteGuestVersion, string]> = [
  ['v3', 'spin:sqlite/sqlite@3.0.0'],
  ['v2', 'fermyon:spin/sqlite@2.0.0'],
  ['v1', "Spin 1's unversioned fermyon:spin/sqlite"],
];

describe('spinel up with SQLite guests', () => {
  const guests = new Map<SqliteGuestVersion, string>();
  beforeAll(async () => {
    // componentize-js builds are serialised by test-utils; cached after the first run.
    for (const [version] of VERSIONS) guests.set(version, await buildSqliteGuest(version));
  }, 900_000);

  for (const [version, name] of VERSIONS) {
    it(`${name}: creates, inserts every parameter type, selects typed rows, reports errors, and keeps the data across restarts in <state_dir>`, async () => {
      const dir = app(guests.get(version) as string, ['default']);
      const first = await startUp([], dir);
      expect(first.base, first.output()).toBeDefined();
      const base = first.base as string;
      expect(first.output()).toContain(`Storing default SQLite data to ${JSON.stringify(join(dir, '.spin', 'sqlite_db.db'))}.`);
      expect(await get(base, '/setup')).toEqual({ ok: { columns: [], rows: [] } });
      const inserted = await get(base, '/insert');
      const second = await get(base, '/insert');
      if (version === 'v3') {
        expect(inserted).toEqual({ result: { ok: { columns: [], rows: [] } }, rowid: '1n', changes: '1n' });
        expect(second).toMatchObject({ rowid: '2n', changes: '1n' });
      } else {
        expect(inserted).toEqual({ result: { ok: { columns: [], rows: [] } }, rowid: null, changes: null });
      }
      expect(await get(base, '/select')).toEqual({ ok: { columns: ['id', 'i', 'r', 't', 'b', 'n', 'seven', 'half'], rows: [ROW('1'), ROW('2')] } });
      const escape = join(tmpdir(), 'spinel-guest-escape.db');
      expect(await get(base, '/errors')).toEqual({
        badSql: { err: { tag: 'io', val: 'near "SELEC": syntax error' } },
        missingTable: { err: { tag: 'io', val: 'no such table: nowhere' } },
        parameters: { err: { tag: 'io', val: 'Too few parameter values were provided' } },
        attach: { err: { tag: 'io', val: expect.stringMatching(/^not authorized: attaching a database file is not allowed/) } },
        unlisted: { err: { tag: 'access-denied' } },
        undefinedLabel: { err: { tag: 'access-denied' } },
      });
      expect(existsSync(escape)).toBe(false);
      await stop(first);

      const again = await startUp([], dir);
      expect(again.base, again.output()).toBeDefined();
      expect(await get(again.base as string, '/count')).toEqual({ ok: int('2') });
      await stop(again);
      const db = new Database(join(dir, '.spin', 'sqlite_db.db'), { readonly: true });
      expect(db.prepare('SELECT t FROM items WHERE id = 1').pluck().get()).toBe('héllo ✓');
      db.close();
    }, 300_000);
  }

  it('runs --sqlite statements and files before serving; a failing one stops the start naming it and the SQLite error', async () => {
    const dir = app(guests.get('v3') as string, ['default', 'orders']);
    writeFileSync(join(dir, 'schema.sql'), 'CREATE TABLE items (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n);\n');
    writeFileSync(join(dir, 'orders.sql'), 'CREATE TABLE orders (n);\nINSERT INTO orders VALUES (1), (2);\n');
    writeFileSync(join(dir, 'runtime-config.toml'), '[sqlite_database.orders]\ntype = "spin"\npath = "data/orders.db"\n');
    const rc = ['--runtime-config-file', 'runtime-config.toml'];

    const undefinedLabel = await startUp([], dir);
    expect(undefinedLabel.base).toBeUndefined();
    expect(await undefinedLabel.exited).not.toBe(0);
    expect(undefinedLabel.output()).toContain("One or more components use SQLite databases which are not defined.");
    expect(undefinedLabel.output()).toContain("- Component web uses database 'orders'");
    expect(undefinedLabel.output()).toContain('Code: RUNTIME_SQLITE_UNKNOWN_DATABASE');

    const failing = await startUp([...rc, '--sqlite', '@schema.sql', '--sqlite', "INSERT INTO nowhere VALUES (1)"], dir);
    expect(failing.base).toBeUndefined();
    expect(await failing.exited).not.toBe(0);
    expect(failing.output()).toContain("failed to execute following sql statement against default database: 'INSERT INTO nowhere VALUES (1)': no such table: nowhere");
    expect(failing.output()).toContain('Code: RUNTIME_SQLITE_STATEMENT');

    const seeded = await startUp([...rc, '--sqlite', "INSERT INTO items (t) VALUES ('from --sqlite')", '--sqlite', 'orders:@orders.sql'], dir);
    expect(seeded.base, seeded.output()).toBeDefined();
    expect(await get(seeded.base as string, '/count')).toEqual({ ok: int('1') });
    await stop(seeded);
    const orders = new Database(join(dir, 'data', 'orders.db'), { readonly: true });
    expect(orders.prepare('SELECT sum(n) FROM orders').pluck().get()).toBe(3);
    orders.close();
  }, 300_000);
});
