// Spin's SQLite interfaces as WIT packages, written from Spin's wit/deps/spin@2.0.0/sqlite.wit,
// spin@unversioned/sqlite.wit and spin-sqlite@3.0.0/sqlite.wit, for the guests tests and
// benchmarks build.

const TYPES = `
  variant error {
    no-such-database,
    access-denied,
    invalid-connection,
    database-full,
    io(string)
  }
  record query-result {
    columns: list<string>,
    rows: list<row-result>,
  }
  record row-result {
    values: list<value>
  }
  variant value {
    integer(s64),
    real(f64),
    text(string),
    blob(list<u8>),
    null
  }`;

/** `fermyon:spin/sqlite@2.0.0`. */
export const SQLITE_V2_WIT = `package fermyon:spin@2.0.0;
interface sqlite {
  resource connection {
    open: static func(database: string) -> result<connection, error>;
    execute: func(statement: string, parameters: list<value>) -> result<query-result, error>;
  }
${TYPES}
}
`;

/** Spin 1's unversioned `fermyon:spin/sqlite`. */
export const SQLITE_UNVERSIONED_WIT = `package fermyon:spin;
interface sqlite {
  type connection = u32;
${TYPES}
  open: func(database: string) -> result<connection, error>;
  execute: func(conn: connection, statement: string, parameters: list<value>) -> result<query-result, error>;
  close: func(conn: connection);
}
`;

/** `spin:sqlite/sqlite@3.0.0`. */
export const SQLITE_V3_WIT = `package spin:sqlite@3.0.0;
interface sqlite {
  resource connection {
    open: static func(database: string) -> result<connection, error>;
    execute: func(statement: string, parameters: list<value>) -> result<query-result, error>;
    last-insert-rowid: func() -> s64;
    changes: func() -> u64;
  }
${TYPES}
}
`;

/** The three as nested packages of one WIT document, after a `package` line and a world of the caller's. */
export function nestedSqlitePackages(): string {
  const nest = (wit: string): string => {
    const [head, ...rest] = wit.split('\n');
    return `${(head ?? '').replace(/;$/, ' {')}\n${rest.join('\n')}}\n`;
  };
  return [SQLITE_V2_WIT, SQLITE_UNVERSIONED_WIT, SQLITE_V3_WIT].map(nest).join('\n');
}
