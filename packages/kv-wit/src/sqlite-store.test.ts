import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteKvDatabase, retryWhileSqliteBusy } from './sqlite-store.js';

// The table exactly as Spin's key-value-spin crate creates it.
const SPIN_DDL = `CREATE TABLE IF NOT EXISTS spin_key_value (
                           store TEXT NOT NULL,
                           key   TEXT NOT NULL,
                           value BLOB NOT NULL,

                           PRIMARY KEY (store, key)
                        )`;

describe('SQLite store and Spin databases', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spinel-kv-sqlite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a database written the way Spin writes it, label by label', () => {
    const path = join(dir, 'from-spin.db');
    const spin = new Database(path);
    spin.exec(SPIN_DDL);
    const upsert = spin.prepare('INSERT INTO spin_key_value (store, key, value) VALUES ($1, $2, $3) ON CONFLICT(store, key) DO UPDATE SET value=$3');
    upsert.run({ 1: 'default', 2: 'greeting', 3: Buffer.from('hello') });
    upsert.run({ 1: 'other', 2: 'greeting', 3: Buffer.from('from other') });
    // Spin's increment writes i64::to_le_bytes.
    const counter = Buffer.alloc(8);
    counter.writeBigInt64LE(41n);
    upsert.run({ 1: 'default', 2: 'hits', 3: counter });
    spin.close();

    const db = openSqliteKvDatabase(path);
    const store = db.store('default');
    expect(new TextDecoder().decode(store.get('greeting'))).toBe('hello');
    expect(new TextDecoder().decode(db.store('other').get('greeting'))).toBe('from other');
    expect(store.increment('hits', 1n)).toBe(42n);
    expect(store.getKeys().sort()).toEqual(['greeting', 'hits']);
    db.close();
  });

  it("writes what Spin's queries read: the same table, TEXT keys and BLOB values, partitioned by label", () => {
    const path = join(dir, 'to-spin.db');
    const db = openSqliteKvDatabase(path);
    db.store('default').set('k', Uint8Array.of(0, 1, 2));
    db.store('default').set('empty', new Uint8Array(0));
    db.store('cache').set('k', Uint8Array.of(9));
    db.close();

    const spin = new Database(path, { readonly: true });
    const sql = spin.prepare<[], string>("SELECT sql FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(sql).toHaveLength(1);
    expect(sql[0]?.replace(/\s+/g, ' ')).toBe('CREATE TABLE spin_key_value ( store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key) )');
    const rows = spin.prepare('SELECT store, key, typeof(key) AS kt, typeof(value) AS vt, hex(value) AS v FROM spin_key_value ORDER BY store, key').all();
    expect(rows).toEqual([
      { store: 'cache', key: 'k', kt: 'text', vt: 'blob', v: '09' },
      { store: 'default', key: 'empty', kt: 'text', vt: 'blob', v: '' },
      { store: 'default', key: 'k', kt: 'text', vt: 'blob', v: '000102' },
    ]);
    const value = spin.prepare('SELECT value FROM spin_key_value WHERE store=$1 AND key=$2').pluck().get({ 1: 'default', 2: 'k' });
    expect(Buffer.isBuffer(value) && [...value]).toEqual([0, 1, 2]);
    expect(spin.pragma('journal_mode', { simple: true })).toBe('wal');
    spin.close();
  });

  it('reads rows written by hand as TEXT values as their UTF-8 bytes', () => {
    const db = openSqliteKvDatabase(':memory:');
    const store = db.store('default');
    // What `spin up --sqlite "INSERT ... VALUES ('default', 'k', 'text')"` would leave behind.
    store.set('placeholder', new Uint8Array(0));
    db.close();
    const path = join(dir, 'text-values.db');
    const raw = new Database(path);
    raw.exec(SPIN_DDL);
    raw.exec("INSERT INTO spin_key_value VALUES ('default', 'k', 'typed by hand'), ('default', 'u', 'héllo ✓'), ('default', 'b', x'00ff00')");
    raw.close();
    const reopened = openSqliteKvDatabase(path);
    expect(new TextDecoder().decode(reopened.store('default').get('k'))).toBe('typed by hand');
    // get-many cuts one BLOB by byte lengths: multi-byte TEXT beside BLOBs must come out whole.
    const many = reopened.store('default').getMany(['u', 'missing', 'k', 'b', 'u']);
    expect(many.map(([k, v]) => [k, v === undefined ? null : Buffer.from(v).toString('hex')])).toEqual([
      ['u', Buffer.from('héllo ✓').toString('hex')],
      ['missing', null],
      ['k', Buffer.from('typed by hand').toString('hex')],
      ['b', '00ff00'],
      ['u', Buffer.from('héllo ✓').toString('hex')],
    ]);
    reopened.close();
  });

  it('creates parent directories, and fails with KV_STORE_CLOSED after close', () => {
    const db = openSqliteKvDatabase(join(dir, 'a', 'b', 'c', 'kv.db'));
    const store = db.store('default');
    store.set('k', Uint8Array.of(1));
    db.close();
    expect(() => store.get('k')).toThrow(expect.objectContaining({ code: 'KV_STORE_CLOSED' }));
  });

  it('fails to open an impossible location with KV_BACKEND', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    expect(() => openSqliteKvDatabase(join(file, 'sub', 'kv.db'))).toThrow(expect.objectContaining({ code: 'KV_BACKEND' }));
  });
});

describe('retryWhileSqliteBusy', () => {
  const busy = (code: string): Error => Object.assign(new Error('database is locked'), { code });

  it('runs the set-up again after SQLITE_BUSY and its extended codes, and returns once it succeeds', () => {
    const failures = ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED'];
    let calls = 0;
    retryWhileSqliteBusy(5_000, () => {
      calls += 1;
      const code = failures.shift();
      if (code !== undefined) throw busy(code);
    });
    expect(calls).toBe(4);
  });

  it('throws any other error at once', () => {
    let calls = 0;
    const readonly = busy('SQLITE_READONLY');
    expect(() => retryWhileSqliteBusy(5_000, () => {
      calls += 1;
      throw readonly;
    })).toThrow(readonly);
    expect(calls).toBe(1);
  });

  it('gives up with the last SQLITE_BUSY once the timeout has passed', () => {
    const started = Date.now();
    let calls = 0;
    expect(() => retryWhileSqliteBusy(60, () => {
      calls += 1;
      throw busy('SQLITE_BUSY');
    })).toThrow(/database is locked/);
    expect(calls).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });
});
