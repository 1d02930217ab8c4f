/**
 * An operator's access to an app's SQLite database from outside a guest (`spinel sqlite`): the
 * same connection set-up as guests get (WAL, busy timeout), without the guest's restrictions.
 */
import { createSqliteConnections, createSqliteFiles, SqliteGuestError, type SqliteQueryResult } from '../guest/spin/sqlite-core.js';
import { SqliteConfigError } from '../errors.js';

/** What {@link execSqliteDatabase} reports. */
export interface SqliteExecResult {
  /** Rows changed by the last INSERT, UPDATE or DELETE. */
  changes: bigint;
  /** Rowid of the last INSERT on the connection, 0 if none. */
  lastInsertRowid: bigint;
}

/**
 * Runs one statement on the database file and returns its columns and typed rows.
 * @throws SqliteConfigError `RUNTIME_SQLITE_QUERY` with SQLite's message
 */
export function querySqliteDatabase(path: string, statement: string): SqliteQueryResult & SqliteExecResult {
  return withConnection(path, (sqlite, c) => {
    const result = sqlite.execute(c, statement, []);
    return { ...result, changes: sqlite.changes(c), lastInsertRowid: sqlite.lastInsertRowid(c) };
  });
}

/**
 * Runs one or more statements (a script) on the database file.
 * @throws SqliteConfigError `RUNTIME_SQLITE_QUERY` with SQLite's message
 */
export function execSqliteDatabase(path: string, script: string): SqliteExecResult {
  const files = createSqliteFiles();
  try {
    const db = files.connect(path);
    try {
      db.exec(script);
      const [changes, lastInsertRowid] = db.prepare('SELECT changes(), last_insert_rowid()').raw().safeIntegers(true).get() as [bigint, bigint];
      return { changes, lastInsertRowid };
    } catch (err) {
      throw new SqliteConfigError('RUNTIME_SQLITE_QUERY', (err as Error).message, { cause: err });
    } finally {
      db.close();
    }
  } finally {
    files.close();
  }
}

function withConnection<T>(path: string, run: (sqlite: ReturnType<typeof createSqliteConnections>, handle: number) => T): T {
  const files = createSqliteFiles();
  const sqlite = createSqliteConnections({ allowed: ['db'], databases: new Map([['db', { path, allowAttachFile: true }]]), files });
  try {
    return run(sqlite, sqlite.open('db'));
  } catch (err) {
    if (err instanceof SqliteGuestError) throw new SqliteConfigError('RUNTIME_SQLITE_QUERY', err.message, { cause: err });
    throw err;
  } finally {
    sqlite.closeAll();
    files.close();
  }
}
