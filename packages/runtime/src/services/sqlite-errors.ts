/** Stable codes of the SQLite set-up errors (listed in the package README). */
export type SqliteConfigErrorCode =
  /** A component lists a `sqlite_databases` label that is neither `default` nor in the runtime config. */
  | 'RUNTIME_SQLITE_UNKNOWN_DATABASE'
  /** A `--sqlite` statement or file failed (or names an unknown database); the start stops. */
  | 'RUNTIME_SQLITE_STATEMENT'
  /** A statement run from outside a guest (`spinel sqlite`) failed. */
  | 'RUNTIME_SQLITE_QUERY';

/** The app's SQLite databases cannot be served as configured. */
export class SqliteConfigError extends Error {
  readonly code: SqliteConfigErrorCode;
  constructor(code: SqliteConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SqliteConfigError';
    this.code = code;
  }
}
