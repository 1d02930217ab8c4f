/**
 * Main-thread set-up of an app's SQLite databases, as `spin up` does it (Spin's
 * `crates/factor-sqlite`, `crates/sqlite`, `crates/trigger/src/cli/sqlite_statements.rs`):
 * `default` is `<state_dir>/sqlite_db.db`, other labels come from `[sqlite_database.<label>]`,
 * every label a component lists must be defined, and `--sqlite` statements run before serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LockedApp } from '@spinel/manifest';
import type Database from 'better-sqlite3';
import { createSqliteFiles } from '../guest/spin/sqlite-core.js';
import { SqliteConfigError } from '../errors.js';

/** Spin's file name of the default database in the state directory. */
export const DEFAULT_SQLITE_FILE = 'sqlite_db.db';

/** A `[sqlite_database.<label>]` entry as the runtime config reader gives it. */
export interface SqliteDatabaseConfig {
  type: 'spin';
  /** Absolute; absent: in memory. */
  path?: string;
  allowAttachFile?: boolean;
}

/** Where a label's database is once resolved: a file, or in memory (no state dir, no `path`). */
export interface ResolvedSqliteDatabase {
  /** The file, or undefined for a database Spin keeps in memory. */
  path: string | undefined;
  allowAttachFile: boolean;
}

/**
 * The app's databases by label: `[sqlite_database.*]` entries, plus `default` at
 * `<stateDir>/sqlite_db.db` (in memory without a state dir) unless the runtime config defines it.
 */
export function resolveSqliteDatabases(options: { stateDir?: string | undefined; databases?: ReadonlyMap<string, SqliteDatabaseConfig> | undefined }): Map<string, ResolvedSqliteDatabase> {
  const out = new Map<string, ResolvedSqliteDatabase>();
  for (const [label, config] of options.databases ?? []) out.set(label, { path: config.path, allowAttachFile: config.allowAttachFile === true });
  if (!out.has('default')) {
    const stateDir = options.stateDir === undefined || options.stateDir === '' ? undefined : resolve(options.stateDir);
    out.set('default', { path: stateDir === undefined ? undefined : join(stateDir, DEFAULT_SQLITE_FILE), allowAttachFile: false });
  }
  return out;
}

/** What a worker needs to serve the app's SQLite interfaces (plain data, posted to each worker). */
export interface SqliteWorkerInit {
  /** Every defined label and its file (in-memory databases are temporary files here). */
  databases: Array<[label: string, target: { path: string; allowAttachFile: boolean }]>;
  /** Each component's `sqlite_databases`: the only labels it may open. */
  components: Array<[componentId: string, labels: string[]]>;
}

/** Options of {@link prepareSqlite}. */
export interface SqliteSetupOptions {
  app: Pick<LockedApp, 'components'>;
  /** The app's state directory; absent or empty: `default` is in memory. */
  stateDir?: string | undefined;
  /** `[sqlite_database.<label>]` from the runtime config. */
  databases?: ReadonlyMap<string, SqliteDatabaseConfig> | undefined;
  /** `--sqlite` values, run in order before serving: a statement (against `default`), `@file.sql`, `@file.sql:label` (Spin) or `label:@file.sql`. */
  statements?: readonly string[];
  /** Directory relative `@file` paths are read from. */
  cwd: string;
  /** Where temporary (in-memory) databases are kept. @default os.tmpdir() */
  tempDir?: string;
}

/** An app's SQLite databases, ready to serve. */
export interface PreparedSqlite {
  /** The labels and where each database is. */
  readonly databases: ReadonlyMap<string, ResolvedSqliteDatabase>;
  /** Each component's `sqlite_databases`. */
  readonly componentLabels: ReadonlyMap<string, readonly string[]>;
  /** For each worker. */
  readonly workerInit: SqliteWorkerInit;
  /** Spin's start-up note when a component uses `default` (`Storing default SQLite data to "<path>".`), else undefined. */
  readonly defaultDatabaseNote: string | undefined;
  /** Removes temporary databases. */
  close(): Promise<void>;
}

/**
 * Resolves the app's databases, checks that every label a component lists is defined (Spin's
 * message), and runs the `--sqlite` statements. Databases Spin keeps in memory are temporary
 * files here (removed by `close`), so every worker sees the same data for the app's lifetime.
 * @throws SqliteConfigError `RUNTIME_SQLITE_UNKNOWN_DATABASE`, `RUNTIME_SQLITE_STATEMENT`
 */
export async function prepareSqlite(options: SqliteSetupOptions): Promise<PreparedSqlite> {
  const resolved = resolveSqliteDatabases(options);
  const componentLabels = new Map<string, string[]>();
  const missing: string[] = [];
  for (const component of options.app.components) {
    const labels = component.metadata?.databases ?? [];
    for (const label of labels) if (!resolved.has(label)) missing.push(`- Component ${component.id} uses database '${label}'`);
    componentLabels.set(component.id, [...labels]);
  }
  if (missing.length > 0) {
    throw new SqliteConfigError(
      'RUNTIME_SQLITE_UNKNOWN_DATABASE',
      [
        'One or more components use SQLite databases which are not defined.',
        'Check the spelling, or pass a runtime configuration file that defines these stores.',
        'See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration',
        'Details:',
        ...missing,
      ].join('\n'),
    );
  }

  let tempDir: string | undefined;
  const workerInit: SqliteWorkerInit = { databases: [], components: [...componentLabels] };
  for (const [label, db] of resolved) {
    let path = db.path;
    if (path === undefined) {
      tempDir ??= mkdtempSync(join(options.tempDir ?? tmpdir(), 'spinel-sqlite-'));
      path = join(tempDir, `${encodeURIComponent(label)}.db`);
    }
    workerInit.databases.push([label, { path, allowAttachFile: db.allowAttachFile }]);
  }
  const close = async (): Promise<void> => {
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  };
  try {
    await runSqliteStatements(options.statements ?? [], new Map(workerInit.databases.map(([label, t]) => [label, t.path])), options.cwd);
  } catch (err) {
    await close();
    throw err;
  }
  const usesDefault = [...componentLabels.values()].some((labels) => labels.includes('default'));
  const defaultPath = resolved.get('default')?.path;
  return {
    databases: resolved,
    componentLabels,
    workerInit,
    defaultDatabaseNote: usesDefault ? `Storing default SQLite data to ${defaultPath === undefined ? 'a temporary in-memory database' : JSON.stringify(defaultPath)}.` : undefined,
    close,
  };
}

/** One `--sqlite` value, parsed. */
export type SqliteStatement = { kind: 'statement'; sql: string } | { kind: 'file'; file: string; label: string; given: string };

/**
 * Parses a `--sqlite` value: `@file.sql` (against `default`), Spin's `@file.sql:label`, the
 * `label:@file.sql` form, or else a statement against `default`.
 * @throws SqliteConfigError `RUNTIME_SQLITE_STATEMENT` for an empty file or label (Spin's messages)
 */
export function parseSqliteStatement(value: string): SqliteStatement {
  const labelled = /^([A-Za-z0-9_-]+):@(.*)$/s.exec(value);
  if (labelled !== null) {
    const file = (labelled[2] ?? '').trim();
    if (file === '') throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `file path is empty in the '${value}' sqlite statement`);
    return { kind: 'file', file, label: labelled[1] as string, given: value };
  }
  if (!value.startsWith('@')) return { kind: 'statement', sql: value };
  const config = value.slice(1).trim();
  if (config === '') throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `database configuration is empty in the '@${config}' sqlite statement`);
  const colon = config.indexOf(':');
  if (colon < 0) return { kind: 'file', file: config, label: 'default', given: value };
  const file = config.slice(0, colon).trim();
  const label = config.slice(colon + 1).trim();
  if (label === '') throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `database label is empty in the '@${config}' sqlite statement`);
  if (file === '') throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `file path is empty in the '@${config}' sqlite statement`);
  return { kind: 'file', file, label, given: value };
}

/**
 * Runs `--sqlite` values in order (Spin's `SqlStatementExecutorHook`): a statement against
 * `default` (one statement, as Spin prepares it), a file as a batch of statements against its label.
 * @throws SqliteConfigError `RUNTIME_SQLITE_STATEMENT` naming the statement or file and SQLite's error
 */
export async function runSqliteStatements(values: readonly string[], databases: ReadonlyMap<string, string>, cwd: string): Promise<void> {
  if (values.length === 0) return;
  const files = createSqliteFiles();
  const open = new Map<string, Database.Database>();
  const connect = (label: string, what: string): Database.Database => {
    const path = databases.get(label);
    if (path === undefined) throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `based on the '${what}' a registered database named '${label}' was expected but not found.`);
    let db = open.get(label);
    if (db === undefined) {
      db = files.connect(path);
      open.set(label, db);
    }
    return db;
  };
  try {
    for (const value of values) {
      const parsed = parseSqliteStatement(value);
      if (parsed.kind === 'statement') {
        const db = connect('default', value);
        try {
          const stmt = db.prepare(parsed.sql);
          if (stmt.reader) stmt.all();
          else stmt.run();
        } catch (err) {
          throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `failed to execute following sql statement against default database: '${parsed.sql}': ${(err as Error).message}`, { cause: err });
        }
        continue;
      }
      const db = connect(parsed.label, parsed.given);
      let sql: string;
      try {
        sql = await readFile(resolve(cwd, parsed.file), 'utf8');
      } catch (err) {
        throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `could not read file '${parsed.file}' containing sql statements: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
      try {
        db.exec(sql);
      } catch (err) {
        throw new SqliteConfigError('RUNTIME_SQLITE_STATEMENT', `failed to execute sql against database '${parsed.label}' from file '${parsed.file}': ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    for (const db of open.values()) db.close();
    files.close();
  }
}
