/**
 * The SQLite capability: `fermyon:spin/sqlite@2.0.0`, Spin 1's unversioned `fermyon:spin/sqlite`
 * and `spin:sqlite/sqlite@3.0.0`. The main thread resolves the app's databases (`default`,
 * `[sqlite_database.*]`, Spin's check that every listed label is defined) and runs `--sqlite`
 * statements before serving; workers open the database files themselves (WAL lets them share).
 */
import type { Capability, CapabilityService } from '../capability.js';
import { UNVERSIONED, type InterfaceSpec } from '../prepare/interface-set.js';
import { prepareSqlite, type PreparedSqlite, type SqliteWorkerInit } from './sqlite.js';

/** Options of {@link sqliteCapability}. */
export interface SqliteCapabilityOptions {
  /** `--sqlite` values, run in order before serving (see `prepareSqlite`). */
  statements?: readonly string[];
  /** Directory relative `@file.sql` paths are read from. @default the state directory's parent, else the OS temp directory */
  cwd?: string;
  /** Where databases Spin keeps in memory are kept (temporary files). @default os.tmpdir() */
  tempDir?: string;
}

/** The SQLite service once set up. */
export interface SqliteService extends CapabilityService {
  readonly prepared: PreparedSqlite;
}

const SQLITE_INTERFACES: readonly InterfaceSpec[] = [
  { name: 'fermyon:spin/sqlite', versions: ['2.0.0', UNVERSIONED] },
  { name: 'spin:sqlite/sqlite', versions: ['3.0.0'] },
];

/**
 * The SQLite capability.
 * @throws SqliteConfigError `RUNTIME_SQLITE_UNKNOWN_DATABASE`, `RUNTIME_SQLITE_STATEMENT` at set-up
 */
export function sqliteCapability(options: SqliteCapabilityOptions = {}): Capability & { setUp: (...a: Parameters<Capability['setUp']>) => Promise<SqliteService> } {
  return {
    name: 'sqlite',
    interfaces: SQLITE_INTERFACES,
    guestModule: new URL('../guest/spin/sqlite-guest.js', import.meta.url).href,
    async setUp(context) {
      const prepared = await prepareSqlite({
        app: context.app,
        stateDir: context.stateDir,
        databases: context.runtimeConfig?.sqliteDatabase,
        statements: options.statements ?? [],
        cwd: options.cwd ?? context.stateDir ?? '.',
        ...(options.tempDir === undefined ? {} : { tempDir: options.tempDir }),
      });
      return {
        prepared,
        workerInit: (): SqliteWorkerInit => prepared.workerInit,
        close: () => prepared.close(),
      };
    },
  };
}
