import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteConnections, createSqliteFiles, SqliteGuestError, type SqliteConnections, type SqliteErrorVariant, type SqliteFiles, type SqliteValue } from './sqlite-core.js';

let dir: string;
let files: SqliteFiles;
let sqlite: SqliteConnections;
let dbPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-sqlite-core-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function connections(extra: { allowAttachFile?: boolean; maxResultBytes?: number; allowed?: string[] } = {}): SqliteConnections {
  dbPath = join(dir, `db-${Math.random().toString(36).slice(2)}`, 'sqlite_db.db');
  files = createSqliteFiles();
  sqlite = createSqliteConnections({
    allowed: extra.allowed ?? ['default', 'other', 'undefined-label'],
    databases: new Map([
      ['default', { path: dbPath, ...(extra.allowAttachFile === undefined ? {} : { allowAttachFile: extra.allowAttachFile }) }],
      ['other', { path: join(dir, 'other.db') }],
      ['unlisted', { path: join(dir, 'unlisted.db') }],
    ]),
    files,
    ...(extra.maxResultBytes === undefined ? {} : { maxResultBytes: extra.maxResultBytes }),
  });
  return sqlite;
}
afterEach(() => {
  sqlite?.closeAll();
  files?.close();
});

function guestError(fn: () => unknown): SqliteErrorVariant {
  try {
    fn();
  } catch (err) {
    if (err instanceof SqliteGuestError) return err.error;
    throw err;
  }
  throw new Error('expected a guest error');
}

const int = (v: bigint): SqliteValue => ({ tag: 'integer', val: v });
const text = (v: string): SqliteValue => ({ tag: 'text', val: v });

describe('SQLite host core', () => {
  it('creates, inserts every parameter type and selects typed rows with column names', () => {
    const db = connections();
    const c = db.open('default');
    expect(db.execute(c, 'CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)', [])).toEqual({ columns: [], rows: [] });
    const params: SqliteValue[] = [
      { tag: 'integer', val: -9_223_372_036_854_775_808n },
      { tag: 'real', val: 2 },
      { tag: 'text', val: 'héllo ✓ 🐘' },
      { tag: 'blob', val: new Uint8Array([0, 1, 254, 255, 0]) },
      { tag: 'null' },
    ];
    db.execute(c, 'INSERT INTO t VALUES (?, ?, ?, ?, ?)', params);
    db.execute(c, 'INSERT INTO t VALUES (?, ?, ?, ?, ?)', [int(9_007_199_254_740_993n), { tag: 'real', val: -0.5 }, text(''), { tag: 'blob', val: new Uint8Array(0) }, int(7n)]);
    const result = db.execute(c, 'SELECT i, r, s, b, n, typeof(r) AS rt, 1.0 AS one FROM t ORDER BY rowid', []);
    expect(result.columns).toEqual(['i', 'r', 's', 'b', 'n', 'rt', 'one']);
    expect(result.rows).toEqual([
      { values: [...params, text('real'), { tag: 'real', val: 1 }] },
      { values: [int(9_007_199_254_740_993n), { tag: 'real', val: -0.5 }, text(''), { tag: 'blob', val: new Uint8Array(0) }, int(7n), text('real'), { tag: 'real', val: 1 }] },
    ]);
    expect(db.execute(c, 'SELECT * FROM t WHERE i = ?', [int(42n)])).toEqual({ columns: ['i', 'r', 's', 'b', 'n'], rows: [] });
    // The data is in the file, as any SQLite client reads it.
    const raw = new Database(dbPath, { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2);
    raw.close();
  });

  it('answers with Spin\'s error variants', () => {
    const db = connections({ allowed: ['default', 'undefined-label'] });
    expect(guestError(() => db.open('unlisted'))).toEqual({ tag: 'access-denied' });
    expect(guestError(() => db.open('nope'))).toEqual({ tag: 'access-denied' });
    expect(guestError(() => db.open('undefined-label'))).toEqual({ tag: 'no-such-database' });
    const c = db.open('default');
    const bad = guestError(() => db.execute(c, 'SELEC 1', []));
    expect(bad).toEqual({ tag: 'io', val: 'near "SELEC": syntax error' });
    expect(guestError(() => db.execute(c, 'SELECT * FROM missing', []))).toEqual({ tag: 'io', val: 'no such table: missing' });
    expect(guestError(() => db.execute(c, 'SELECT ?', []))).toMatchObject({ tag: 'io', val: expect.stringMatching(/Too few parameter/) });
    expect(guestError(() => db.execute(c, 'SELECT 1; SELECT 2', []))).toMatchObject({ tag: 'io', val: expect.stringMatching(/more than one statement/) });
    expect(guestError(() => db.execute(999, 'SELECT 1', []))).toEqual({ tag: 'invalid-connection' });
    db.close(c);
    expect(guestError(() => db.execute(c, 'SELECT 1', []))).toEqual({ tag: 'invalid-connection' });
    const d = db.open('default');
    db.closeAll();
    expect(guestError(() => db.execute(d, 'SELECT 1', []))).toEqual({ tag: 'invalid-connection' });
    expect(guestError(() => db.lastInsertRowid(d))).toEqual({ tag: 'invalid-connection' });
    // Handles are never reused: a stale one never reaches a newer connection.
    expect(db.open('default')).not.toBe(d);
  });

  it('reports database-full when the database reaches its size limit', () => {
    const db = connections();
    const c = db.open('default');
    db.execute(c, 'CREATE TABLE big (b BLOB)', []);
    db.execute(c, 'PRAGMA max_page_count = 8', []);
    expect(guestError(() => db.execute(c, 'INSERT INTO big VALUES (zeroblob(100000))', []))).toEqual({ tag: 'database-full' });
  });

  it('keeps last-insert-rowid and changes per connection, 0 before any insert', () => {
    const db = connections();
    const a = db.open('default');
    const b = db.open('default');
    expect(db.lastInsertRowid(a)).toBe(0n);
    expect(db.changes(a)).toBe(0n);
    db.execute(a, 'CREATE TABLE t (v TEXT)', []);
    db.execute(a, 'INSERT INTO t VALUES (?), (?), (?)', [text('x'), text('y'), text('z')]);
    expect(db.lastInsertRowid(a)).toBe(3n);
    expect(db.changes(a)).toBe(3n);
    expect(db.lastInsertRowid(b)).toBe(0n);
    db.execute(b, 'INSERT INTO t VALUES (?)', [text('w')]);
    expect(db.lastInsertRowid(b)).toBe(4n);
    expect(db.lastInsertRowid(a)).toBe(3n);
    db.execute(a, 'UPDATE t SET v = ? WHERE rowid <= 2', [text('u')]);
    expect(db.changes(a)).toBe(2n);
    expect(db.lastInsertRowid(a)).toBe(3n);
  });

  it('keeps a transaction on its connection and rolls back one left open when the connection closes', () => {
    const db = connections();
    const a = db.open('default');
    db.execute(a, 'CREATE TABLE t (v INTEGER)', []);
    db.execute(a, 'BEGIN', []);
    db.execute(a, 'INSERT INTO t VALUES (1)', []);
    db.execute(a, 'COMMIT', []);
    db.execute(a, 'BEGIN', []);
    db.execute(a, 'INSERT INTO t VALUES (2)', []);
    db.closeAll();
    const b = db.open('default');
    expect(db.execute(b, 'SELECT v FROM t', []).rows).toEqual([{ values: [int(1n)] }]);
  });

  it('refuses statements that reach outside the database: ATTACH of a file, VACUUM INTO, process-wide pragmas', () => {
    const db = connections();
    const c = db.open('default');
    db.execute(c, 'CREATE TABLE t (v)', []);
    const outside = join(dir, 'outside.db');
    for (const sql of [
      `ATTACH '${outside}' AS x`,
      `attach database '${outside}' as x`,
      `; -- leading empty statement\n ATTACH '${outside}' AS x`,
      `/* c */ ATTACH '${outside}' || '' AS x`,
      `ATTACH 'file:${outside}' AS x`,
      `VACUUM INTO '${outside}'`,
      `VACUUM main INTO '${outside}'`,
      `EXPLAIN ATTACH '${outside}' AS x`,
    ]) {
      expect(guestError(() => db.execute(c, sql, [])), sql).toMatchObject({ tag: 'io', val: expect.stringMatching(/^not authorized/) });
    }
    expect(existsSync(outside)).toBe(false);
    for (const sql of ["PRAGMA temp_store_directory = '/tmp'", 'PRAGMA hard_heap_limit = 1', 'pragma main.soft_heap_limit=1']) {
      expect(guestError(() => db.execute(c, sql, [])), sql).toMatchObject({ tag: 'io', val: expect.stringMatching(/^not authorized: PRAGMA/) });
    }
    // What Spin allows without allow_attach_file: temporary and in-memory databases.
    db.execute(c, "ATTACH ':memory:' AS scratch", []);
    db.execute(c, 'CREATE TABLE scratch.s (v)', []);
    db.execute(c, "ATTACH '' AS tmp2", []);
    expect(db.execute(c, 'PRAGMA journal_mode', []).rows).toEqual([{ values: [text('wal')] }]);
    db.closeAll();
    files.close();

    const permissive = connections({ allowAttachFile: true });
    const p = permissive.open('default');
    permissive.execute(p, `ATTACH '${outside}' AS x`, []);
    permissive.execute(p, 'CREATE TABLE x.t (v)', []);
    expect(existsSync(outside)).toBe(true);
  });

  it('caps the result a query may return', () => {
    const db = connections({ maxResultBytes: 1000 });
    const c = db.open('default');
    expect(guestError(() => db.execute(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i, 'text' FROM n", []))).toEqual({
      tag: 'io',
      val: 'query result exceeds limit of 1000 bytes',
    });
    expect(db.execute(c, 'SELECT 1', []).rows).toHaveLength(1);
  });

  it('reuses prepared statements on a connection and evicts the least recently used', () => {
    const db = connections();
    const c = db.open('default');
    db.execute(c, 'CREATE TABLE t (v)', []);
    for (let i = 0; i < 100; i++) db.execute(c, `INSERT INTO t VALUES (${i % 40})`, []);
    expect(db.execute(c, 'SELECT count(*) FROM t', []).rows).toEqual([{ values: [int(100n)] }]);
    // A schema change under a cached statement is picked up (SQLite re-prepares it).
    db.execute(c, 'ALTER TABLE t ADD COLUMN w DEFAULT 5', []);
    expect(db.execute(c, 'SELECT * FROM t LIMIT 1', []).columns).toEqual(['v', 'w']);
  });

  it('a statement repeated on a connection reads its column names anew: another connection\'s rename shows at once', () => {
    const db = connections();
    const a = db.open('default');
    const b = db.open('default');
    db.execute(a, 'CREATE TABLE t (v INTEGER)', []);
    db.execute(a, 'INSERT INTO t VALUES (?)', [int(1n)]);
    const query = 'SELECT * FROM t WHERE rowid = ?';
    expect(db.execute(a, query, [int(1n)])).toEqual({ columns: ['v'], rows: [{ values: [int(1n)] }] });
    db.execute(b, 'ALTER TABLE t RENAME COLUMN v TO renamed', []);
    expect(db.execute(a, query, [int(1n)])).toEqual({ columns: ['renamed'], rows: [{ values: [int(1n)] }] });
    // Many parameters (past the unrolled binding) and a repeated write take the same paths.
    const insert = 'INSERT INTO t SELECT ? + ? + ? + ? + ?';
    for (let i = 0; i < 3; i++) db.execute(a, insert, [int(1n), int(2n), int(3n), int(4n), int(BigInt(i))]);
    expect(db.execute(a, 'SELECT renamed FROM t WHERE renamed >= 10 ORDER BY 1', []).rows).toEqual([{ values: [int(10n)] }, { values: [int(11n)] }, { values: [int(12n)] }]);
  });

  it('keeps a query\'s column names only while they cannot have changed: another connection\'s ALTER, a TEMP table, a ROLLBACK', () => {
    const db = connections();
    const a = db.open('default');
    db.execute(a, 'CREATE TABLE t (v INTEGER)', []);
    db.execute(a, 'INSERT INTO t VALUES (1)', []);
    const query = 'SELECT * FROM t';
    const names = (): string[] => db.execute(a, query, []).columns;
    // Another process's connection, outside the host.
    const other = new Database(dbPath);
    const cookie = (): number => other.pragma('schema_version', { simple: true }) as number;
    try {
      // One column is named after every run; two or more are kept with the cookie.
      for (let i = 0; i < 3; i++) expect(names()).toEqual(['v']);
      other.exec('ALTER TABLE t ADD COLUMN w DEFAULT 2');
      for (let i = 0; i < 3; i++) expect(db.execute(a, query, [])).toEqual({ columns: ['v', 'w'], rows: [{ values: [int(1n), int(2n)] }] });
      other.exec('ALTER TABLE t RENAME COLUMN w TO w2');
      for (let i = 0; i < 3; i++) expect(names()).toEqual(['v', 'w2']);
      other.exec('ALTER TABLE t RENAME COLUMN w2 TO w');
      // A TEMP table of this connection shadows the main one without moving the main schema cookie.
      const before = cookie();
      db.execute(a, 'CREATE TEMP TABLE t (x, y)', []);
      expect(cookie()).toBe(before);
      for (let i = 0; i < 3; i++) expect(names()).toEqual(['x', 'y']);
      db.execute(a, 'DROP TABLE temp.t', []);
      for (let i = 0; i < 3; i++) expect(names()).toEqual(['v', 'w']);
      // This connection's own ALTER, taken back by ROLLBACK, moves the cookie back: another
      // connection's next change then takes the same cookie with other columns.
      const base = cookie();
      db.execute(a, 'BEGIN', []);
      db.execute(a, 'ALTER TABLE t ADD COLUMN mine', []);
      for (let i = 0; i < 3; i++) expect(names()).toEqual(['v', 'w', 'mine']);
      const mineCookie = db.execute(a, 'PRAGMA schema_version', []).rows[0]?.values[0];
      db.execute(a, 'ROLLBACK', []);
      other.exec('ALTER TABLE t ADD COLUMN theirs');
      expect(cookie()).toBe(base + 1);
      expect(mineCookie).toEqual(int(BigInt(base + 1)));
      for (let i = 0; i < 3; i++) expect(names()).toEqual(['v', 'w', 'theirs']);
      // Names kept inside a transaction (BEGIN and COMMIT change no schema) stay right after it.
      db.execute(a, 'BEGIN', []);
      expect(names()).toEqual(['v', 'w', 'theirs']);
      db.execute(a, 'COMMIT', []);
      other.exec('ALTER TABLE t RENAME COLUMN theirs TO renamed');
      expect(names()).toEqual(['v', 'w', 'renamed']);
    } finally {
      other.close();
    }
  });

  it('names a one-column query from its rows: every type, a rename by another connection, odd names, empty and long results', () => {
    const db = connections();
    const a = db.open('default');
    db.execute(a, 'CREATE TABLE t (v)', []);
    const values: SqliteValue[] = [int(-(2n ** 63n)), { tag: 'real', val: 0.5 }, text('héllo'), { tag: 'blob', val: new Uint8Array([0, 255]) }, { tag: 'null' }];
    for (const value of values) db.execute(a, 'INSERT INTO t VALUES (?)', [value]);
    const point = 'SELECT v FROM t WHERE rowid = ?';
    for (let round = 0; round < 3; round++) {
      values.forEach((value, i) => expect(db.execute(a, point, [int(BigInt(i + 1))])).toEqual({ columns: ['v'], rows: [{ values: [value] }] }));
    }
    // An empty result still names its column.
    expect(db.execute(a, point, [int(99n)])).toEqual({ columns: ['v'], rows: [] });
    // SQLite names a column by its declaration: another connection's rename shows at once.
    const other = new Database(dbPath);
    try {
      other.exec('ALTER TABLE t RENAME COLUMN v TO V');
      expect(db.execute(a, point, [int(1n)])).toEqual({ columns: ['V'], rows: [{ values: [values[0]] }] });
    } finally {
      other.close();
    }
    // Names an object does not keep as they are: a number, __proto__.
    for (let i = 0; i < 3; i++) {
      expect(db.execute(a, 'SELECT 7', [])).toEqual({ columns: ['7'], rows: [{ values: [int(7n)] }] });
      expect(db.execute(a, 'SELECT ? AS __proto__', [int(5n)])).toEqual({ columns: ['__proto__'], rows: [{ values: [int(5n)] }] });
      expect(db.execute(a, 'SELECT ? AS __PROTO__', [text('x')])).toEqual({ columns: ['__PROTO__'], rows: [{ values: [text('x')] }] });
    }
    // A long result, then a short one, then a long one again, from one statement.
    for (let i = 0; i < 20; i++) db.execute(a, 'INSERT INTO t VALUES (?)', [int(BigInt(i))]);
    const upTo = 'SELECT V FROM t WHERE rowid <= ? ORDER BY rowid';
    for (const n of [25, 2, 2, 25, 25, 1]) {
      const result = db.execute(a, upTo, [int(BigInt(n))]);
      expect(result.columns).toEqual(['V']);
      expect(result.rows).toEqual([...values, ...Array.from({ length: 20 }, (_, i) => int(BigInt(i)))].slice(0, n).map((value) => ({ values: [value] })));
    }
  });

  it('names a small result of several columns from its rows: every type, case renames, names that become equal, numeric and __proto__ names', () => {
    const db = connections();
    const a = db.open('default');
    db.execute(a, 'CREATE TABLE t (i, r, s, b, n)', []);
    const row: SqliteValue[] = [int(2n ** 62n), { tag: 'real', val: -1.5 }, text('✓'), { tag: 'blob', val: new Uint8Array([1, 2, 3]) }, { tag: 'null' }];
    db.execute(a, 'INSERT INTO t VALUES (?, ?, ?, ?, ?)', row);
    const query = 'SELECT i, r, s, b, n, typeof(s) AS ts FROM t WHERE rowid = ?';
    for (let i = 0; i < 3; i++) expect(db.execute(a, query, [int(1n)])).toEqual({ columns: ['i', 'r', 's', 'b', 'n', 'ts'], rows: [{ values: [...row, text('text')] }] });
    expect(db.execute(a, query, [int(2n)])).toEqual({ columns: ['i', 'r', 's', 'b', 'n', 'ts'], rows: [] });
    const other = new Database(dbPath);
    try {
      other.exec('ALTER TABLE t RENAME COLUMN i TO I');
      for (let i = 0; i < 2; i++) expect(db.execute(a, query, [int(1n)]).columns).toEqual(['I', 'r', 's', 'b', 'n', 'ts']);
      // Two names that differ in case, then, after another connection's rename, not at all.
      other.exec('CREATE TABLE u (i)');
      other.exec('INSERT INTO u VALUES (9)');
      const both = 'SELECT t.i, u.i FROM t, u';
      for (let i = 0; i < 3; i++) expect(db.execute(a, both, [])).toEqual({ columns: ['I', 'i'], rows: [{ values: [row[0], int(9n)] }] });
      other.exec('ALTER TABLE u RENAME COLUMN i TO I');
      for (let i = 0; i < 3; i++) expect(db.execute(a, both, [])).toEqual({ columns: ['I', 'I'], rows: [{ values: [row[0], int(9n)] }] });
    } finally {
      other.close();
    }
    for (let i = 0; i < 3; i++) {
      expect(db.execute(a, 'SELECT 2, 1', [])).toEqual({ columns: ['2', '1'], rows: [{ values: [int(2n), int(1n)] }] });
      expect(db.execute(a, 'SELECT ? AS x, ? AS __proto__', [int(1n), int(2n)])).toEqual({ columns: ['x', '__proto__'], rows: [{ values: [int(1n), int(2n)] }] });
      expect(db.execute(a, 'SELECT ? AS x, ? AS x', [int(1n), int(2n)])).toEqual({ columns: ['x', 'x'], rows: [{ values: [int(1n), int(2n)] }] });
    }
  });

  it('names rows right when a rename makes a name numeric without `*`: rowid takes the name of an INTEGER PRIMARY KEY', () => {
    const db = connections();
    const a = db.open('default');
    db.execute(a, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)', []);
    db.execute(a, "INSERT INTO t VALUES (5, 'x')", []);
    const query = 'SELECT v, rowid FROM t';
    for (let i = 0; i < 3; i++) expect(db.execute(a, query, [])).toEqual({ columns: ['v', 'id'], rows: [{ values: [text('x'), int(5n)] }] });
    // By the guest itself, then by another connection.
    db.execute(a, 'ALTER TABLE t RENAME COLUMN id TO "7"', []);
    for (let i = 0; i < 3; i++) expect(db.execute(a, query, [])).toEqual({ columns: ['v', '7'], rows: [{ values: [text('x'), int(5n)] }] });
    const other = new Database(dbPath);
    try {
      other.exec('ALTER TABLE t RENAME COLUMN "7" TO id');
      for (let i = 0; i < 3; i++) expect(db.execute(a, query, []).columns).toEqual(['v', 'id']);
      other.exec('ALTER TABLE t RENAME COLUMN id TO "12"');
      for (let i = 0; i < 3; i++) expect(db.execute(a, query, [])).toEqual({ columns: ['v', '12'], rows: [{ values: [text('x'), int(5n)] }] });
    } finally {
      other.close();
    }
  });

  it('reads column names on every run where attached files are allowed (their schemas have cookies of their own)', () => {
    const db = connections({ allowAttachFile: true });
    const a = db.open('default');
    const aux = join(dir, `aux-${Math.random().toString(36).slice(2)}.db`);
    const other = new Database(aux);
    try {
      other.exec('CREATE TABLE u (p, q)');
      db.execute(a, 'ATTACH ? AS aux', [text(aux)]);
      const query = 'SELECT * FROM aux.u';
      for (let i = 0; i < 3; i++) expect(db.execute(a, query, []).columns).toEqual(['p', 'q']);
      other.exec('ALTER TABLE u ADD COLUMN r');
      expect(db.execute(a, query, []).columns).toEqual(['p', 'q', 'r']);
    } finally {
      other.close();
    }
  });

  it('two processes writing the same database lose nothing', async () => {
    const path = join(dir, 'shared', 'sqlite_db.db');
    const child = fileURLToPath(new URL('./test-sqlite-writer.ts', import.meta.url));
    const run = (tag: string): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, path, '500', tag], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (out += d.toString()));
        p.once('error', reject);
        p.once('close', (code) => resolve({ code, out }));
      });
    const results = await Promise.all([run('a'), run('b')]);
    for (const r of results) expect(r, r.out).toMatchObject({ code: 0, out: 'done\n' });
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT tag, count(*), count(DISTINCT i) FROM writes GROUP BY tag ORDER BY tag').raw().all()).toEqual([
      ['a', 500, 500],
      ['b', 500, 500],
    ]);
    raw.close();
  }, 120_000);
});
