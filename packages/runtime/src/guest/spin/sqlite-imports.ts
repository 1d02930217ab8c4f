/**
 * jco import objects for Spin's SQLite interfaces over one component's
 * {@link SqliteConnections}. jco drops versions from import names, so `fermyon:spin/sqlite@2.0.0`
 * (a `connection` resource) and Spin 1's unversioned `fermyon:spin/sqlite` (functions over `u32`
 * handles) share one object; `spin:sqlite/sqlite@3.0.0` adds `last-insert-rowid` and `changes`.
 * The objects hold no per-request state (the connections do), so one set serves every fresh
 * instance of the component in a worker.
 */
import { SqliteGuestError, type SqliteConnections, type SqliteQueryResult, type SqliteValue } from './sqlite-core.js';

const HANDLE = Symbol('spinel.sqlite.connection');
const DISPOSE = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
const DISPOSE_COMPAT = Symbol.for('dispose');

/** A `connection` resource as jco's glue sees it: static `open`, methods, a dispose for drops. */
export interface SqliteConnectionClass {
  new (): never;
  open(database: string): object;
  readonly prototype: object;
}

/** The SQLite import objects, keyed as jco's glue reads them. */
export interface SqliteImports {
  /** `fermyon:spin/sqlite@2.0.0` (`Connection`) and Spin 1's unversioned interface (`open`, `execute`, `close`). */
  'fermyon:spin/sqlite': {
    Connection: SqliteConnectionClass;
    open(database: string): number;
    execute(connection: number, statement: string, parameters: SqliteValue[]): SqliteQueryResult;
    close(connection: number): void;
  };
  /** `spin:sqlite/sqlite@3.0.0`: `Connection` with `lastInsertRowid` and `changes`. */
  'spin:sqlite/sqlite': { Connection: SqliteConnectionClass };
}

/** What to throw for jco's glue: a guest-visible failure becomes a WIT `result` error (an object whose `payload` is the variant); anything else traps. */
function resultError(err: unknown): unknown {
  return err instanceof SqliteGuestError ? { payload: err.error } : err;
}

/** Runs `fn`, turning a guest-visible failure into the WIT `result` error (open and close are rare: a closure is fine there). */
function guestCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw resultError(err);
  }
}

/** Builds the SQLite imports of one component over its connections. */
export function createSqliteImports(sqlite: SqliteConnections): SqliteImports {
  const handleOf = (self: unknown): number => {
    const handle = (self as { [HANDLE]?: number })[HANDLE];
    // Not a connection the host made: the guest gets invalid-connection (a closed handle never reaches a live one).
    return handle ?? 0;
  };
  const make = <C extends { prototype: object }>(cls: C, handle: number): object => {
    const self = Object.create(cls.prototype) as { [HANDLE]?: number };
    self[HANDLE] = handle;
    return self;
  };

  class ConnectionV2 {
    constructor() {
      throw new TypeError('use Connection.open(database)');
    }
    static open(database: string): object {
      return guestCall(() => make(ConnectionV2, sqlite.open(database)));
    }
    execute(statement: string, parameters: SqliteValue[]): SqliteQueryResult {
      // Called per query: no closure.
      try {
        return sqlite.execute(handleOf(this), statement, parameters);
      } catch (err) {
        throw resultError(err);
      }
    }
    [DISPOSE](): void {
      sqlite.close(handleOf(this));
    }
  }

  class ConnectionV3 {
    constructor() {
      throw new TypeError('use Connection.open(database)');
    }
    static open(database: string): object {
      return guestCall(() => make(ConnectionV3, sqlite.open(database)));
    }
    execute(statement: string, parameters: SqliteValue[]): SqliteQueryResult {
      // Called per query: no closure.
      try {
        return sqlite.execute(handleOf(this), statement, parameters);
      } catch (err) {
        throw resultError(err);
      }
    }
    // No error case in the WIT: Spin traps on a bad handle, and so does this (a thrown Error).
    lastInsertRowid(): bigint {
      return sqlite.lastInsertRowid(handleOf(this));
    }
    changes(): bigint {
      return sqlite.changes(handleOf(this));
    }
    [DISPOSE](): void {
      sqlite.close(handleOf(this));
    }
  }
  for (const cls of [ConnectionV2, ConnectionV3]) {
    if (DISPOSE !== DISPOSE_COMPAT) {
      // jco looks up `Symbol.dispose || Symbol.for('dispose')`: answer to both.
      Object.defineProperty(cls.prototype, DISPOSE_COMPAT, {
        value(this: { [k: symbol]: () => void }) {
          this[DISPOSE]?.();
        },
      });
    }
  }

  return {
    'fermyon:spin/sqlite': {
      Connection: ConnectionV2 as unknown as SqliteConnectionClass,
      open: (database) => guestCall(() => sqlite.open(database)),
      execute: (connection, statement, parameters) => {
        try {
          return sqlite.execute(connection, statement, parameters);
        } catch (err) {
          throw resultError(err);
        }
      },
      close: (connection) => sqlite.close(connection),
    },
    'spin:sqlite/sqlite': { Connection: ConnectionV3 as unknown as SqliteConnectionClass },
  };
}
