import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';
import type Database from 'better-sqlite3';
import { addCounter, decodeCounter, encodeCounter } from './counter.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { KvBackendError, KvError, KvStoreClosedError } from './errors.js';
import { checkKey, checkValue, listLimit, resolveLimits } from './limits.js';
import type { KvLimits } from './limits.js';
import { sameBytes } from './memory-store.js';
import type { KeyPage, KeyValueEntry, KvStoreSync, ListKeysOptions } from './store.js';

const debug = debuglog('spinel:kv');

/** better-sqlite3, once a database was opened. */
let sqlite: typeof Database | undefined;

/** Options of {@link openSqliteKvDatabase}. */
export interface SqliteKvDatabaseOptions {
  /** Key and value size limits. @default DEFAULT_KV_LIMITS */
  limits?: Partial<KvLimits>;
  /**
   * How long a writer waits for another process's write lock before failing.
   * @default 10000
   */
  busyTimeoutMs?: number;
  /**
   * SQLite `synchronous` level. In WAL mode `normal` keeps every committed write across a
   * crash or kill of the process; `full` also keeps it across power loss, at an fsync per write.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
}

/** The label of Spin's SQLite-backed stores in the `store` column, and the file. */
export interface SqliteKvDatabase {
  /** The file, or `:memory:`. */
  readonly path: string;
  /** A store for `label`; all labels share the file, partitioned by the `store` column. */
  store(label: string): SqliteKvStore;
  /** Closes the connection; stores made from it fail with `KV_STORE_CLOSED` afterwards. */
  close(): void;
}

// Every valid UTF-8 string that starts with P sorts (bytewise) before P || F4 90 80 80,
// a byte sequence no valid UTF-8 string contains, so [P, P||F4908080) is exactly "starts with P"
// and the primary-key index serves it.
const PREFIX_END = "CAST(x'F4908080' AS TEXT)";

interface PageParams {
  store: string;
  prefix: string;
  limit: number;
}

interface Statements {
  get: Database.Statement<[string, string], Buffer | string | undefined>;
  exists: Database.Statement<[string, string], number | undefined>;
  upsert: Database.Statement<[string, string, Buffer]>;
  delete: Database.Statement<[string, string]>;
  keys: Database.Statement<[string], string>;
  firstPage: Database.Statement<[PageParams], string>;
  nextPage: Database.Statement<[PageParams & { after: string }], string>;
  getMany: Database.Statement<[{ store: string; keys: string }], [string, Buffer | null]>;
}

/**
 * Opens (creating if needed, with parent directories) a Spin-compatible key-value database:
 * table `spin_key_value(store, key, value)`, WAL journal, a busy timeout, prepared
 * statements. A file written by Spin is read as is, and Spin reads what this writes.
 * @param path a file path, or `:memory:` for a temporary database
 * @throws KvBackendError `KV_BACKEND` when the file cannot be opened or created
 */
export function openSqliteKvDatabase(path: string, options: SqliteKvDatabaseOptions = {}): SqliteKvDatabase {
  const limits = resolveLimits(options.limits);
  let db: Database.Database;
  let statements: Statements;
  let opened: Database.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // Loaded with the first store opened, not with the package: most apps use no key-value store.
    sqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000));
    db = opened = new sqlite(path, { timeout: busyTimeoutMs });
    // busy_timeout must hold before anything that takes a lock (journal_mode, CREATE TABLE).
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    retryWhileSqliteBusy(busyTimeoutMs, () => {
      if (path !== ':memory:') db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.exec(`CREATE TABLE IF NOT EXISTS spin_key_value (
        store TEXT NOT NULL,
        key   TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (store, key)
      )`);
    });
    statements = {
      get: db.prepare<[string, string], Buffer | string | undefined>('SELECT value FROM spin_key_value WHERE store = ? AND key = ?').pluck(),
      exists: db.prepare<[string, string], number | undefined>('SELECT 1 FROM spin_key_value WHERE store = ? AND key = ?').pluck(),
      upsert: db.prepare<[string, string, Buffer]>(
        'INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT(store, key) DO UPDATE SET value = excluded.value',
      ),
      delete: db.prepare<[string, string]>('DELETE FROM spin_key_value WHERE store = ? AND key = ?'),
      keys: db.prepare<[string], string>('SELECT key FROM spin_key_value WHERE store = ?').pluck(),
      firstPage: db.prepare<[PageParams], string>(
        `SELECT key FROM spin_key_value WHERE store = @store AND key >= @prefix AND key < (@prefix || ${PREFIX_END}) ORDER BY key LIMIT @limit`,
      ).pluck(),
      nextPage: db.prepare<[PageParams & { after: string }], string>(
        `SELECT key FROM spin_key_value WHERE store = @store AND key > @after AND key >= @prefix AND key < (@prefix || ${PREFIX_END}) ORDER BY key LIMIT @limit`,
      ).pluck(),
      // One row for the whole batch: value sizes as JSON (null = absent) and the values
      // concatenated in one BLOB, in request order (json_each drives the join, one index seek
      // per key). Turning each row into JS values (a Buffer per value) costs more than the
      // lookups, so this is what makes get-many cheaper than as many single gets.
      getMany: db.prepare<[{ store: string; keys: string }], [string, Buffer | null]>(
        `SELECT json_group_array(octet_length(s.value)), CAST(group_concat(s.value, '') AS BLOB)
         FROM json_each(@keys) AS j LEFT JOIN spin_key_value AS s ON s.store = @store AND s.key = j.value`,
      ).raw(),
    };
  } catch (err) {
    if (opened?.open) opened.close();
    throw new KvBackendError(`could not open key-value database ${JSON.stringify(path)}: ${(err as Error).message}; check that its directory is writable`, err);
  }
  debug('opened %s', path);
  return {
    path,
    store: (label: string) => new SqliteKvStore(label, db, statements, limits, path),
    close: () => {
      if (db.open) db.close();
    },
  };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs the idempotent set-up of a new connection again while SQLite answers SQLITE_BUSY, until
 * `timeoutMs` has passed. The busy timeout covers most waits, but SQLite returns SQLITE_BUSY at
 * once, without calling its busy handler, where waiting could deadlock: two connections both
 * upgrading a read to a write, and in WAL mode a read snapshot that another connection's commit
 * made stale (SQLITE_BUSY_SNAPSHOT). Processes that open one new file together meet both (the
 * switch to WAL, then CREATE TABLE IF NOT EXISTS after another process created it). Exported
 * for other SQLite files opened by many workers or processes (the runtime's guest databases).
 * @param setUp must be safe to run again after it failed part-way (pragmas, `IF NOT EXISTS`)
 * @throws whatever `setUp` throws when it is not SQLITE_BUSY/SQLITE_LOCKED or time is up
 */
export function retryWhileSqliteBusy(timeoutMs: number, setUp: () => void): void {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      setUp();
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const busy = typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
      if (!busy || Date.now() >= deadline) throw err;
      debug('set-up busy (%s), attempt %d', code, attempt + 1);
      // A short, growing pause: the other connection's set-up takes about a millisecond.
      Atomics.wait(sleeper, 0, 0, Math.min(1 + attempt * 2, 25));
    }
  }
}

/** A label's partition of a Spin SQLite key-value database. Make it with {@link openSqliteKvDatabase}. */
export class SqliteKvStore implements KvStoreSync {
  readonly label: string;
  readonly #db: Database.Database;
  readonly #st: Statements;
  readonly #limits: KvLimits;
  readonly #path: string;
  readonly #setMany: (entries: ReadonlyArray<readonly [string, Uint8Array]>) => void;
  readonly #deleteMany: (keys: readonly string[]) => void;
  readonly #increment: (key: string, delta: bigint) => bigint;
  readonly #cas: (key: string, expected: Uint8Array | undefined, value: Uint8Array) => boolean;

  /** @internal use {@link openSqliteKvDatabase} */
  constructor(label: string, db: Database.Database, statements: Statements, limits: KvLimits, path: string) {
    this.label = label;
    this.#db = db;
    this.#st = statements;
    this.#limits = limits;
    this.#path = path;
    this.#setMany = db.transaction((entries: ReadonlyArray<readonly [string, Uint8Array]>) => {
      for (const [key, value] of entries) statements.upsert.run(label, key, asBuffer(value));
    });
    this.#deleteMany = db.transaction((keys: readonly string[]) => {
      for (const key of keys) statements.delete.run(label, key);
    });
    // IMMEDIATE takes the write lock up front: a deferred read-then-write transaction in two
    // processes could deadlock on the upgrade and fail with SQLITE_BUSY ("database is locked").
    const increment = db.transaction((key: string, delta: bigint): bigint => {
      const next = addCounter(key, decodeCounter(key, toBytes(statements.get.get(label, key))), delta);
      statements.upsert.run(label, key, asBuffer(encodeCounter(next)));
      return next;
    });
    this.#increment = (key, delta) => increment.immediate(key, delta);
    const cas = db.transaction((key: string, expected: Uint8Array | undefined, value: Uint8Array): boolean => {
      if (!sameBytes(toBytes(statements.get.get(label, key)), expected)) return false;
      statements.upsert.run(label, key, asBuffer(value));
      return true;
    });
    this.#cas = (key, expected, value) => cas.immediate(key, expected, value);
  }

  get(key: string): Uint8Array | undefined {
    checkKey(key, this.#limits);
    return toBytes(this.#run(() => this.#st.get.get(this.label, key)));
  }

  set(key: string, value: Uint8Array): void {
    checkKey(key, this.#limits);
    checkValue(value, this.#limits);
    this.#run(() => this.#st.upsert.run(this.label, key, asBuffer(value)));
  }

  delete(key: string): void {
    checkKey(key, this.#limits);
    this.#run(() => this.#st.delete.run(this.label, key));
  }

  exists(key: string): boolean {
    checkKey(key, this.#limits);
    return this.#run(() => this.#st.exists.get(this.label, key)) !== undefined;
  }

  getKeys(): string[] {
    return this.#run(() => this.#st.keys.all(this.label));
  }

  listKeys(options: ListKeysOptions = {}): KeyPage {
    const prefix = options.prefix ?? '';
    const limit = listLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, 'sqlite', prefix, isString);
    // One row more than the page tells whether another page follows.
    const rows = this.#run(() =>
      after === undefined
        ? this.#st.firstPage.all({ store: this.label, prefix, limit: limit + 1 })
        : this.#st.nextPage.all({ store: this.label, prefix, after, limit: limit + 1 }));
    const more = rows.length > limit;
    const keys = more ? rows.slice(0, limit) : rows;
    const last = keys[keys.length - 1];
    return { keys, cursor: more && last !== undefined ? encodeCursor('sqlite', prefix, last) : undefined };
  }

  getMany(keys: readonly string[]): KeyValueEntry[] {
    for (const key of keys) checkKey(key, this.#limits);
    if (keys.length === 0) return [];
    const row = this.#run(() => this.#st.getMany.get({ store: this.label, keys: JSON.stringify(keys) }));
    const sizes = (row === undefined ? [] : JSON.parse(row[0])) as Array<number | null>;
    const blob = row?.[1] ?? Buffer.alloc(0);
    // Plain views over the one BLOB: cheaper to make than Buffer slices, and as good a list<u8>.
    const { buffer, byteOffset } = blob;
    const entries: KeyValueEntry[] = new Array<KeyValueEntry>(keys.length);
    let offset = byteOffset;
    for (let i = 0; i < keys.length; i += 1) {
      const size = sizes[i];
      if (size === null || size === undefined) {
        entries[i] = [keys[i] as string, undefined];
      } else {
        entries[i] = [keys[i] as string, new Uint8Array(buffer, offset, size)];
        offset += size;
      }
    }
    return entries;
  }

  setMany(entries: ReadonlyArray<readonly [string, Uint8Array]>): void {
    for (const [key, value] of entries) {
      checkKey(key, this.#limits);
      checkValue(value, this.#limits);
    }
    if (entries.length === 0) return;
    this.#run(() => this.#setMany(entries));
  }

  deleteMany(keys: readonly string[]): void {
    for (const key of keys) checkKey(key, this.#limits);
    if (keys.length === 0) return;
    this.#run(() => this.#deleteMany(keys));
  }

  increment(key: string, delta: bigint): bigint {
    checkKey(key, this.#limits);
    return this.#run(() => this.#increment(key, delta));
  }

  compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): boolean {
    checkKey(key, this.#limits);
    checkValue(value, this.#limits);
    return this.#run(() => this.#cas(key, expected, value));
  }

  #run<T>(op: () => T): T {
    try {
      return op();
    } catch (err) {
      if (err instanceof KvError) throw err;
      if (!this.#db.open) throw new KvStoreClosedError(`key-value database ${JSON.stringify(this.#path)}`);
      throw new KvBackendError(`key-value store "${this.label}" (${this.#path}) failed: ${(err as Error).message}`, err);
    }
  }
}

function isString(s: unknown): s is string {
  return typeof s === 'string';
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

// Spin writes BLOBs; a row written by hand (`spin up --sqlite`) may hold TEXT: give its UTF-8 bytes.
function toBytes(value: Buffer | string | undefined): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return value;
}
