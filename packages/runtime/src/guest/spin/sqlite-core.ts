/**
 * The host side of Spin's SQLite interfaces over plain values, independent of any binding
 * shape: open a database by label (gated by the component's `sqlite_databases`), execute one
 * statement with typed parameters, typed rows back, Spin's error variants. The interface
 * versions (`fermyon:spin/sqlite@2.0.0`, Spin 1's unversioned `sqlite`, `spin:sqlite/sqlite@3.0.0`)
 * and Spin 1's module ABI are thin adapters over it.
 *
 * As in Spin (`crates/sqlite-inproc`), every guest `open` gets its own connection, made on
 * first use: `last-insert-rowid` and `changes` belong to that connection, and a guest's
 * transactions and pragmas stay with it. Connections run in the worker through better-sqlite3,
 * WAL mode with a busy timeout, so workers and processes share a file safely.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { retryWhileSqliteBusy } from '@spinel/kv-wit';
import type Database from 'better-sqlite3';
import { onFirstUse } from '../../load-on-first-use.js';
import { expandsColumns, opensOrCommits, refusedStatement } from './sqlite-statement-guard.js';

/** better-sqlite3, loaded with the first database opened (also by services/sqlite.ts on the main thread). */
const loadSqlite = onFirstUse<typeof Database>('better-sqlite3');

/** A value passed to or returned from SQLite (the WIT `value` variant). */
export type SqliteValue =
  | { tag: 'integer'; val: bigint }
  | { tag: 'real'; val: number }
  | { tag: 'text'; val: string }
  | { tag: 'blob'; val: Uint8Array }
  | { tag: 'null' };

/** Spin's SQLite `error` variant. */
export type SqliteErrorVariant =
  | { tag: 'no-such-database' }
  | { tag: 'access-denied' }
  | { tag: 'invalid-connection' }
  | { tag: 'database-full' }
  | { tag: 'io'; val: string };

/** One row: a value per column. */
export interface SqliteRow {
  values: SqliteValue[];
}

/** What `execute` returns: column names and rows (both empty for statements that return no data). */
export interface SqliteQueryResult {
  columns: string[];
  rows: SqliteRow[];
}

/** A guest-visible failure: the adapters hand `error` to the guest as the interface's `error`. */
export class SqliteGuestError extends Error {
  readonly error: SqliteErrorVariant;
  constructor(error: SqliteErrorVariant) {
    super(error.tag === 'io' ? error.val : error.tag);
    this.name = 'SqliteGuestError';
    this.error = error;
  }
}

/** Where one label's database is, for a worker. */
export interface SqliteDatabaseTarget {
  /** The database file (absolute). */
  path: string;
  /** Let guests `ATTACH` files (Spin's `allow_attach_file`). @default false */
  allowAttachFile?: boolean;
}

/** Spin's cap on a query result held in the host (`MAX_HOST_BUFFERED_BYTES`, 128 MiB). */
export const MAX_SQLITE_RESULT_BYTES = 128 * 1024 * 1024;

/** Options of {@link createSqliteConnections}. */
export interface SqliteConnectionsOptions {
  /** The labels the component lists in `sqlite_databases`: any other is `access-denied`. */
  allowed: Iterable<string>;
  /** The app's databases by label; a label without one is `no-such-database`. */
  databases: ReadonlyMap<string, SqliteDatabaseTarget>;
  /** The worker's files (see {@link createSqliteFiles}). */
  files: SqliteFiles;
  /** Largest result a query may return (bytes, approximate). @default {@link MAX_SQLITE_RESULT_BYTES} */
  maxResultBytes?: number;
  /** Most connections open at once (Spin's resource table: 256). */
  maxConnections?: number;
  /** Prepared statements kept per connection. @default 32 */
  statementCacheSize?: number;
}

/** One component's SQLite connections (in one worker): the operations every interface version needs. */
export interface SqliteConnections {
  /**
   * Opens `label`; the connection is made on first use.
   * @throws SqliteGuestError `access-denied`, `no-such-database`, `io("too many connections opened")`
   */
  open(label: string): number;
  /**
   * Runs one statement with its parameters.
   * @throws SqliteGuestError `invalid-connection`, `database-full`, `io(message)` (SQL errors, locks, limits)
   */
  execute(handle: number, statement: string, parameters: readonly SqliteValue[]): SqliteQueryResult;
  /** Rowid of the connection's most recent successful INSERT, 0 if none. @throws SqliteGuestError `invalid-connection` */
  lastInsertRowid(handle: number): bigint;
  /** Rows changed by the connection's most recent INSERT, UPDATE or DELETE. @throws SqliteGuestError `invalid-connection` */
  changes(handle: number): bigint;
  /** Closes a connection (unknown handles are ignored, as a resource drop). */
  close(handle: number): void;
  /** Closes every connection: the end of a request. Handles made before stay invalid. */
  closeAll(): void;
  /** Connections currently open. */
  openCount(): number;
}

/** A prepared statement and, for one that returns rows, the column names it was last compiled with. */
interface Prepared {
  stmt: Database.Statement;
  /** BEGIN, COMMIT, SAVEPOINT or RELEASE: runs without bumping the connection's generation. */
  keepsSchema: boolean;
  /** Columns the statement had when last named (0 before its first run). */
  width: number;
  /** Whether the SQL has no `*` (its result's width is then fixed by its text); computed when first needed. */
  fixedWidth: boolean | undefined;
  /** Running with rows as objects, to take the columns' names from them (see `runNamedQuery`). */
  named: boolean;
  /** Column names known to be those of the compiled statement while `cookie` and `generation` hold; undefined until confirmed. */
  names: string[] | undefined;
  /** `PRAGMA schema_version` of the main database that `names` were compiled under. */
  cookie: number;
  /** The connection's {@link Connection.generation} when `names` were read. */
  generation: number;
}

interface Connection {
  label: string;
  target: SqliteDatabaseTarget;
  db: Database.Database | undefined;
  statements: Map<string, Prepared>;
  /** The most recently used statement and its SQL: a guest repeating one query skips the cache's reordering. */
  lastSql: string | undefined;
  lastPrepared: Prepared | undefined;
  /** `SELECT last_insert_rowid()` and `SELECT changes()`, prepared on first use (a guest may ask after every insert). */
  counters: { rowid: Database.Statement; changes: Database.Statement } | undefined;
  /** `PRAGMA schema_version`, prepared on first use; null once it failed to prepare (names are then always read; a failed read only costs that run its kept names). */
  schemaVersion: Database.Statement | null | undefined;
  /**
   * Bumped when this connection runs anything but a read-only query or a transaction's start or
   * commit, and when a statement fails: what could change how its statements compile without
   * moving the main database's schema cookie forward (a TEMP table that shadows a main one, an
   * ATTACH, `PRAGMA full_column_names`, a ROLLBACK that takes back its own ALTER TABLE, which
   * moves the cookie back to a value another process's change may take again).
   */
  generation: number;
}

/** Most rows of a result read as objects: past it, an object per row costs more than reading the names. */
const NAMED_MAX_ROWS = 8;

/** The one `null` value: rows share it (the glue only reads it). */
const NULL_VALUE: SqliteValue = Object.freeze({ tag: 'null' });

const failure = (error: SqliteErrorVariant): SqliteGuestError => new SqliteGuestError(error);

/**
 * A component's SQLite connections. Handles are never reused (a handle from a closed
 * connection or an earlier request is `invalid-connection`, not someone else's connection).
 */
export function createSqliteConnections(options: SqliteConnectionsOptions): SqliteConnections {
  const allowed = new Set(options.allowed);
  const maxResultBytes = options.maxResultBytes ?? MAX_SQLITE_RESULT_BYTES;
  const maxConnections = options.maxConnections ?? 256;
  const cacheSize = options.statementCacheSize ?? 32;
  const open = new Map<number, Connection>();
  let nextHandle = 1;

  const live = (handle: number): Connection => {
    const conn = open.get(handle);
    if (conn === undefined) throw failure({ tag: 'invalid-connection' });
    return conn;
  };

  const database = (conn: Connection): Database.Database => {
    if (conn.db !== undefined) return conn.db;
    try {
      conn.db = options.files.connect(conn.target.path);
    } catch (err) {
      throw failure({ tag: 'io', val: `cannot open database "${conn.label}": ${(err as Error).message}` });
    }
    return conn.db;
  };

  const prepare = (conn: Connection, sql: string): Prepared => {
    if (sql === conn.lastSql) return conn.lastPrepared as Prepared;
    let prepared = conn.statements.get(sql);
    if (prepared !== undefined) {
      // Most recently used last: the first entry is the one to evict.
      conn.statements.delete(sql);
      conn.statements.set(sql, prepared);
    } else {
      const refused = refusedStatement(sql, conn.target.allowAttachFile === true);
      if (refused !== undefined) throw failure({ tag: 'io', val: refused });
      const stmt = database(conn).prepare(sql);
      stmt.safeIntegers(true);
      if (stmt.reader) stmt.raw(true);
      prepared = { stmt, keepsSchema: !stmt.reader && opensOrCommits(sql), width: 0, fixedWidth: undefined, named: false, names: undefined, cookie: 0, generation: 0 };
      conn.statements.set(sql, prepared);
      if (conn.statements.size > cacheSize) conn.statements.delete(conn.statements.keys().next().value as string);
    }
    conn.lastSql = sql;
    conn.lastPrepared = prepared;
    return prepared;
  };

  /** The main database's schema cookie as this connection reads it now; undefined when it cannot be read. */
  const schemaCookie = (conn: Connection, db: Database.Database): number | undefined => {
    try {
      conn.schemaVersion ??= db.prepare('PRAGMA schema_version').pluck();
    } catch {
      conn.schemaVersion = null;
      return undefined;
    }
    try {
      return conn.schemaVersion.get() as number;
    } catch {
      // SQLITE_BUSY and the like, for this read only: the names are read from SQLite this run.
      return undefined;
    }
  };

  // Reading them runs a SELECT, which changes neither.
  const counters = (conn: Connection, db: Database.Database): { rowid: Database.Statement; changes: Database.Statement } =>
    (conn.counters ??= {
      rowid: db.prepare('SELECT last_insert_rowid()').pluck().safeIntegers(true),
      changes: db.prepare('SELECT changes()').pluck().safeIntegers(true),
    });

  const closeConnection = (conn: Connection): void => {
    conn.counters = undefined;
    conn.statements.clear();
    conn.lastSql = undefined;
    conn.lastPrepared = undefined;
    conn.schemaVersion = undefined;
    if (conn.db?.open === true) {
      // A transaction the guest left open ends with it, as when Spin drops the connection.
      conn.db.close();
    }
    conn.db = undefined;
  };

  /**
   * Runs a read-only query and names its columns. A schema change (by this connection or another process)
   * makes SQLite recompile a statement when it next runs, and its column names may change with it
   * (`SELECT *` after ADD COLUMN, a RENAME COLUMN, a TEMP table shadowing a main one). Reading the
   * names from SQLite after each run is exact but costs about as much as a point query per column
   * (better-sqlite3's `columns()` makes five strings and an object for each), so they are kept
   * with the main database's schema cookie (`PRAGMA schema_version`, one read whatever the width)
   * and the connection's generation, and reused while both are unchanged:
   * - Other connections' changes only move the cookie forward, a statement is only recompiled
   *   against the current cookie, and the cookie is read after the run, so an unchanged cookie
   *   means the statement ran as compiled when the names were kept.
   * - Names are kept only when the cookie read before the run equals the one read after it: the
   *   names read in between are then those of that cookie (a change by another process between the
   *   run and the read after it would otherwise pair old names with the new cookie).
   * - What changes compilation without the main cookie happens on this connection and bumps its
   *   generation; with `allow_attach_file`, an attached file's own schema is not covered, so the
   *   names are read on every run.
   * - Accepted limit: a process outside the host that writes the cookie back (`PRAGMA
   *   schema_version = N` after a schema change, which SQLite documents as corrupting the
   *   database; better-sqlite3 opens the host's connections in defensive mode, where that write
   *   does nothing) can make kept names stale.
   * One name costs about what the cookie's read does (a read transaction of its own), so a
   * statement that had one column (or has not run yet) has its name read after every run; a small
   * result's names are taken from its rows where they can be (see {@link runNamedQuery}).
   */
  const runQuery = (conn: Connection, prepared: Prepared, parameters: readonly SqliteValue[]): SqliteQueryResult => {
    const db = conn.db as Database.Database;
    const { stmt } = prepared;
    if (prepared.named) {
      const result = runNamedQuery(prepared, parameters);
      if (result !== undefined) return result;
    }
    const cacheable = prepared.width > 1 && conn.target.allowAttachFile !== true && conn.schemaVersion !== null;
    const candidate = cacheable && prepared.names !== undefined && prepared.generation === conn.generation;
    const before = cacheable && !candidate ? schemaCookie(conn, db) : undefined;
    const rows = toRows(allWith(stmt, parameters), maxResultBytes);
    if (!cacheable) {
      const columns = columnNames(stmt);
      prepared.width = columns.length;
      if (rows.length <= NAMED_MAX_ROWS && objectKeysKeep(columns) && (prepared.fixedWidth ??= !expandsColumns(stmt.source))) {
        stmt.raw(false);
        prepared.named = true;
      }
      return { columns, rows };
    }
    const after = schemaCookie(conn, db);
    if (candidate && after === prepared.cookie) return { columns: (prepared.names as string[]).slice(), rows };
    const columns = columnNames(stmt);
    prepared.width = columns.length;
    if (before !== undefined && before === after) {
      prepared.names = columns.slice();
      prepared.cookie = after;
      prepared.generation = conn.generation;
    } else {
      // Confirmed on the next run, which reads the cookie before it too.
      prepared.names = undefined;
    }
    return { columns, rows };
  };

  /**
   * A query whose SQL cannot expand to more columns (no `*`), run with better-sqlite3 returning
   * rows as objects: a row's keys are the columns' names as SQLite compiled the statement for this
   * run, in order, for about 0.06 µs a row where `columns()` (per column) or the cookie's read
   * costs 0.7 µs. Only while results are small (an object per row costs more than an array), and
   * only for names an object keeps as they are, in order (see {@link objectKeysKeep}). A
   * recompiled statement's names can change even without `*` (a renamed column; `rowid` is named
   * after the table's INTEGER PRIMARY KEY, which a rename can make numeric), so every run checks
   * its keys: as many as the columns (names that became equal, or `__proto__`, leave fewer), and no
   * array index among them (V8 lists those first, so only the first key can be one). An empty
   * result is named by `columns()`. Undefined: run it again the usual way.
   */
  const runNamedQuery = (prepared: Prepared, parameters: readonly SqliteValue[]): SqliteQueryResult | undefined => {
    const { stmt } = prepared;
    const objects = allWith(stmt, parameters) as unknown as Array<Record<string, unknown>>;
    const first = objects[0];
    if (first === undefined) return { columns: columnNames(stmt), rows: [] };
    const names = Object.keys(first);
    const kept = names.length === prepared.width && !DIGITS.test(names[0] as string);
    if (!kept || objects.length > NAMED_MAX_ROWS) {
      stmt.raw(true);
      prepared.named = false;
      // A read-only query run again: the same as the guest running it a moment later.
      if (!kept) return undefined;
    }
    const width = names.length;
    const values = new Array<unknown[]>(objects.length);
    for (let i = 0; i < objects.length; i++) {
      const object = objects[i] as Record<string, unknown>;
      const row = new Array<unknown>(width);
      for (let c = 0; c < width; c++) row[c] = object[names[c] as string];
      values[i] = row;
    }
    return { columns: names, rows: toRows(values, maxResultBytes) };
  };

  return {
    open(label) {
      if (!allowed.has(label)) throw failure({ tag: 'access-denied' });
      const target = options.databases.get(label);
      if (target === undefined) throw failure({ tag: 'no-such-database' });
      if (open.size >= maxConnections) throw failure({ tag: 'io', val: 'too many connections opened' });
      const handle = nextHandle;
      nextHandle = nextHandle >= 0xffff_fffe ? 1 : nextHandle + 1;
      open.set(handle, { label, target, db: undefined, statements: new Map(), lastSql: undefined, lastPrepared: undefined, counters: undefined, schemaVersion: undefined, generation: 0 });
      return handle;
    },

    execute(handle, statement, parameters) {
      const conn = live(handle);
      try {
        const prepared = prepare(conn, statement);
        const stmt = prepared.stmt;
        if (!stmt.reader) {
          if (!prepared.keepsSchema) conn.generation += 1;
          runWith(stmt, parameters);
          return { columns: [], rows: [] };
        }
        if (!stmt.readonly) {
          // INSERT … RETURNING and the like: a write, so nothing kept from it either.
          conn.generation += 1;
          return { rows: toRows(allWith(stmt, parameters), maxResultBytes), columns: columnNames(stmt) };
        }
        return runQuery(conn, prepared, parameters);
      } catch (err) {
        // A failed statement may have rolled back a transaction that held this connection's own schema changes.
        conn.generation += 1;
        throw guestError(err);
      }
    },

    lastInsertRowid(handle) {
      const conn = live(handle);
      if (conn.db === undefined) return 0n;
      return BigInt(counters(conn, conn.db).rowid.get() as bigint);
    },

    changes(handle) {
      const conn = live(handle);
      if (conn.db === undefined) return 0n;
      return BigInt(counters(conn, conn.db).changes.get() as bigint);
    },

    close(handle) {
      const conn = open.get(handle);
      if (conn === undefined) return;
      open.delete(handle);
      closeConnection(conn);
    },

    closeAll() {
      for (const conn of open.values()) closeConnection(conn);
      open.clear();
    },

    openCount: () => open.size,
  };
}

/** The database files a worker's connections open (one per worker, shared by its components). */
export interface SqliteFiles {
  /**
   * A new connection to `path`: parent directories made, WAL mode, a busy timeout,
   * `synchronous = NORMAL` (a committed transaction survives the process being killed).
   */
  connect(path: string): Database.Database;
  /** Closes the files' anchor connections (call when the worker stops). */
  close(): void;
}

/**
 * The files of one worker. The first connection to a file switches it to WAL and stays open
 * as an anchor until {@link SqliteFiles.close}: a guest's connection closing is then never the
 * last one, so it does not checkpoint and remove the WAL on every request.
 */
export function createSqliteFiles(options: { busyTimeoutMs?: number } = {}): SqliteFiles {
  const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
  const anchors = new Map<string, Database.Database>();
  const connect = (path: string): Database.Database => {
    mkdirSync(dirname(path), { recursive: true });
    const db = new (loadSqlite())(path, { timeout: busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('synchronous = NORMAL');
    } catch (err) {
      db.close();
      throw err;
    }
    return db;
  };
  return {
    connect(path) {
      if (!anchors.has(path)) {
        const anchor = connect(path);
        try {
          // Workers (and replicas) opening one new file together can get SQLITE_BUSY here without
          // the busy timeout ever waiting; see retryWhileSqliteBusy.
          retryWhileSqliteBusy(busyTimeoutMs, () => anchor.pragma('journal_mode = WAL'));
        } catch (err) {
          anchor.close();
          throw err;
        }
        anchors.set(path, anchor);
      }
      return connect(path);
    },
    close() {
      for (const db of anchors.values()) if (db.open) db.close();
      anchors.clear();
    },
  };
}

// Up to three parameters are bound without building an argument array (most queries have few).
function allWith(stmt: Database.Statement, p: readonly SqliteValue[]): unknown[][] {
  switch (p.length) {
    case 0:
      return stmt.all() as unknown[][];
    case 1:
      return stmt.all(toBindable(p[0] as SqliteValue)) as unknown[][];
    case 2:
      return stmt.all(toBindable(p[0] as SqliteValue), toBindable(p[1] as SqliteValue)) as unknown[][];
    case 3:
      return stmt.all(toBindable(p[0] as SqliteValue), toBindable(p[1] as SqliteValue), toBindable(p[2] as SqliteValue)) as unknown[][];
    default:
      return stmt.all(...p.map(toBindable)) as unknown[][];
  }
}

function runWith(stmt: Database.Statement, p: readonly SqliteValue[]): void {
  switch (p.length) {
    case 0:
      stmt.run();
      return;
    case 1:
      stmt.run(toBindable(p[0] as SqliteValue));
      return;
    case 2:
      stmt.run(toBindable(p[0] as SqliteValue), toBindable(p[1] as SqliteValue));
      return;
    default:
      stmt.run(...p.map(toBindable));
  }
}

function toBindable(value: SqliteValue): bigint | number | string | Buffer | null {
  switch (value.tag) {
    case 'integer':
      return value.val;
    case 'real':
      return value.val;
    case 'text':
      return value.val;
    case 'blob':
      return Buffer.from(value.val.buffer, value.val.byteOffset, value.val.byteLength);
    case 'null':
      return null;
    default:
      throw failure({ tag: 'io', val: `unknown parameter type ${JSON.stringify((value as { tag?: unknown }).tag)}` });
  }
}

function toRows(raw: unknown[][], maxBytes: number): SqliteRow[] {
  const rows = new Array<SqliteRow>(raw.length);
  let bytes = 0;
  for (let r = 0; r < raw.length; r++) {
    const src = raw[r] as unknown[];
    const values = new Array<SqliteValue>(src.length);
    for (let c = 0; c < src.length; c++) {
      const v = src[c];
      if (typeof v === 'bigint') {
        values[c] = { tag: 'integer', val: v };
        bytes += 8;
      } else if (typeof v === 'number') {
        values[c] = { tag: 'real', val: v };
        bytes += 8;
      } else if (typeof v === 'string') {
        values[c] = { tag: 'text', val: v };
        bytes += v.length;
      } else if (v === null || v === undefined) {
        values[c] = NULL_VALUE;
      } else {
        const b = v as Buffer;
        values[c] = { tag: 'blob', val: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
        bytes += b.byteLength;
      }
    }
    if (bytes > maxBytes) throw failure({ tag: 'io', val: `query result exceeds limit of ${maxBytes} bytes` });
    rows[r] = { values };
  }
  return rows;
}

/** The guest's error for a failed statement: `database-full` for SQLITE_FULL, else `io` with SQLite's message. */
function guestError(err: unknown): SqliteGuestError {
  if (err instanceof SqliteGuestError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_FULL') return failure({ tag: 'database-full' });
  return failure({ tag: 'io', val: err instanceof Error ? err.message : String(err) });
}

/**
 * Whether an object keeps these names as its own keys, distinct and in order: no two equal, none
 * an array index (V8 lists those first) and none `__proto__` in any case (setting that key sets the
 * prototype).
 */
const DIGITS = /^[0-9]+$/;

function objectKeysKeep(names: readonly string[]): boolean {
  if (names.length === 0) return false;
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name) || DIGITS.test(name) || name.toLowerCase() === '__proto__') return false;
    seen.add(name);
  }
  return true;
}

/** The column names of a statement as SQLite last compiled it. */
function columnNames(stmt: Database.Statement): string[] {
  const described = stmt.columns();
  const names = new Array<string>(described.length);
  for (let i = 0; i < described.length; i++) names[i] = (described[i] as Database.ColumnDefinition).name;
  return names;
}
