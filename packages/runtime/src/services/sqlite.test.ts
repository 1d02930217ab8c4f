import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedApp } from '@spinel/manifest';
import { parseSqliteStatement, prepareSqlite, resolveSqliteDatabases } from './sqlite.js';
import { execSqliteDatabase, querySqliteDatabase } from './sqlite-tool.js';
import type { SqliteConfigError } from '../errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-sqlite-setup-'));
  await writeFile(join(dir, 'schema.sql'), 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\nINSERT INTO notes (body) VALUES (\'first\'), (\'second\');\n');
  await writeFile(join(dir, 'orders.sql'), 'CREATE TABLE IF NOT EXISTS orders (n INTEGER);\nINSERT INTO orders VALUES (7);\n');
  await writeFile(join(dir, 'broken.sql'), 'CREATE TABLE ok (x);\nINSERT INTO nope VALUES (1);\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const app = (databases: Record<string, string[]>): Pick<LockedApp, 'components'> => ({
  components: Object.entries(databases).map(([id, labels]) => ({ id, source: { content_type: 'application/wasm', source: 'file:///x.wasm' }, metadata: { databases: labels } })) as LockedApp['components'],
});

async function failure(p: Promise<unknown>): Promise<SqliteConfigError> {
  try {
    await p;
  } catch (err) {
    return err as SqliteConfigError;
  }
  throw new Error('expected a failure');
}

const rows = (path: string, sql: string): unknown[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).raw().all();
  } finally {
    db.close();
  }
};

describe('SQLite set-up', () => {
  it('puts default at <state_dir>/sqlite_db.db and other labels where the runtime config says', () => {
    const resolved = resolveSqliteDatabases({ stateDir: join(dir, '.spin'), databases: new Map([['orders', { type: 'spin', path: '/data/orders.db', allowAttachFile: true }]]) });
    expect(Object.fromEntries(resolved)).toEqual({
      orders: { path: '/data/orders.db', allowAttachFile: true },
      default: { path: join(dir, '.spin', 'sqlite_db.db'), allowAttachFile: false },
    });
    expect(resolveSqliteDatabases({ stateDir: '' }).get('default')).toEqual({ path: undefined, allowAttachFile: false });
    expect(resolveSqliteDatabases({ databases: new Map([['default', { type: 'spin', path: '/x.db' }]]) }).get('default')?.path).toBe('/x.db');
  });

  it('stops the start when a component lists a database that is not defined, with Spin\'s message', async () => {
    const err = await failure(prepareSqlite({ app: app({ web: ['default', 'orders'], api: ['cache'] }), stateDir: join(dir, 'st'), cwd: dir }));
    expect(err.code).toBe('RUNTIME_SQLITE_UNKNOWN_DATABASE');
    expect(err.message).toBe(
      [
        'One or more components use SQLite databases which are not defined.',
        'Check the spelling, or pass a runtime configuration file that defines these stores.',
        'See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration',
        'Details:',
        "- Component web uses database 'orders'",
        "- Component api uses database 'cache'",
      ].join('\n'),
    );
  });

  it('runs --sqlite statements and files against their databases before serving, and notes where default data goes', async () => {
    const stateDir = join(dir, 'app1', '.spin');
    const ordersPath = join(dir, 'app1', 'orders.db');
    const prepared = await prepareSqlite({
      app: app({ web: ['default', 'orders'] }),
      stateDir,
      databases: new Map([['orders', { type: 'spin', path: ordersPath }]]),
      statements: ['@schema.sql', "INSERT INTO notes (body) VALUES ('third')", '@orders.sql:orders', 'orders:@orders.sql'],
      cwd: dir,
    });
    const defaultPath = join(stateDir, 'sqlite_db.db');
    expect(prepared.defaultDatabaseNote).toBe(`Storing default SQLite data to ${JSON.stringify(defaultPath)}.`);
    expect(rows(defaultPath, 'SELECT body FROM notes ORDER BY id')).toEqual([['first'], ['second'], ['third']]);
    expect(rows(ordersPath, 'SELECT n FROM orders')).toEqual([[7], [7]]);
    expect(prepared.workerInit).toEqual({
      databases: [
        ['orders', { path: ordersPath, allowAttachFile: false }],
        ['default', { path: defaultPath, allowAttachFile: false }],
      ],
      components: [['web', ['default', 'orders']]],
    });
    await prepared.close();
  });

  it('a failing --sqlite value stops the start naming it and the SQLite error', async () => {
    const base = { app: app({ web: ['default'] }), stateDir: join(dir, 'app2'), cwd: dir };
    const bad = await failure(prepareSqlite({ ...base, statements: ['CREATE TABLE t (x)', 'INSERT INTO missing VALUES (1)'] }));
    expect(bad.code).toBe('RUNTIME_SQLITE_STATEMENT');
    expect(bad.message).toBe("failed to execute following sql statement against default database: 'INSERT INTO missing VALUES (1)': no such table: missing");
    expect((await failure(prepareSqlite({ ...base, statements: ['@broken.sql'] }))).message).toBe("failed to execute sql against database 'default' from file 'broken.sql': no such table: nope");
    expect((await failure(prepareSqlite({ ...base, statements: ['@absent.sql'] }))).message).toMatch(/^could not read file 'absent.sql' containing sql statements: ENOENT/);
    expect((await failure(prepareSqlite({ ...base, statements: ['@schema.sql:nowhere'] }))).message).toBe("based on the '@schema.sql:nowhere' a registered database named 'nowhere' was expected but not found.");
    expect((await failure(prepareSqlite({ ...base, statements: ['SELEC'] }))).message).toMatch(/'SELEC': (near "SELEC": )?syntax error|incomplete input/);
  });

  it('keeps in-memory databases (no state dir) in a temporary file every worker shares, removed on close', async () => {
    const prepared = await prepareSqlite({ app: app({ web: ['default'] }), cwd: dir, tempDir: dir, statements: ['CREATE TABLE t (x)'] });
    expect(prepared.defaultDatabaseNote).toBe('Storing default SQLite data to a temporary in-memory database.');
    const [, target] = prepared.workerInit.databases[0] ?? [];
    expect(target?.path.startsWith(dir)).toBe(true);
    expect(rows(target?.path as string, "SELECT name FROM sqlite_master WHERE type = 'table'")).toEqual([['t']]);
    await prepared.close();
    expect(existsSync(target?.path as string)).toBe(false);
  });

  it('parses --sqlite values as Spin does, plus label:@file', () => {
    expect(parseSqliteStatement('SELECT 1')).toEqual({ kind: 'statement', sql: 'SELECT 1' });
    expect(parseSqliteStatement('@a.sql')).toEqual({ kind: 'file', file: 'a.sql', label: 'default', given: '@a.sql' });
    expect(parseSqliteStatement('@a.sql:orders')).toEqual({ kind: 'file', file: 'a.sql', label: 'orders', given: '@a.sql:orders' });
    expect(parseSqliteStatement('orders:@a.sql')).toEqual({ kind: 'file', file: 'a.sql', label: 'orders', given: 'orders:@a.sql' });
    for (const [value, message] of [
      ['@', "database configuration is empty in the '@' sqlite statement"],
      ['@a.sql:', "database label is empty in the '@a.sql:' sqlite statement"],
      ['@:orders', "file path is empty in the '@:orders' sqlite statement"],
    ] as const) {
      expect(() => parseSqliteStatement(value)).toThrow(message);
    }
  });

  it('lets an operator run scripts and queries on a database file (spinel sqlite)', () => {
    const path = join(dir, 'tool', 'sqlite_db.db');
    expect(execSqliteDatabase(path, 'CREATE TABLE t (i INTEGER, s TEXT, b BLOB); INSERT INTO t VALUES (1, \'a\', x\'00ff\'), (2, NULL, NULL);')).toEqual({ changes: 2n, lastInsertRowid: 2n });
    expect(querySqliteDatabase(path, 'SELECT i, s, b, 0.5 AS r FROM t ORDER BY i')).toEqual({
      columns: ['i', 's', 'b', 'r'],
      rows: [
        { values: [{ tag: 'integer', val: 1n }, { tag: 'text', val: 'a' }, { tag: 'blob', val: new Uint8Array([0, 255]) }, { tag: 'real', val: 0.5 }] },
        { values: [{ tag: 'integer', val: 2n }, { tag: 'null' }, { tag: 'null' }, { tag: 'real', val: 0.5 }] },
      ],
      changes: 0n,
      lastInsertRowid: 0n,
    });
    expect(querySqliteDatabase(path, 'DELETE FROM t WHERE i = 2')).toMatchObject({ columns: [], rows: [], changes: 1n });
    expect(() => querySqliteDatabase(path, 'SELECT * FROM nope')).toThrow(expect.objectContaining({ code: 'RUNTIME_SQLITE_QUERY', message: 'no such table: nope' }));
    expect(() => execSqliteDatabase(path, 'INSERT INTO nope VALUES (1)')).toThrow(expect.objectContaining({ code: 'RUNTIME_SQLITE_QUERY', message: 'no such table: nope' }));
  });
});
