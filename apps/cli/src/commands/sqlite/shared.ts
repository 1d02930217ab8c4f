import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import type { SqliteValue } from '@spinel/runtime';

/** Flags every `spinel sqlite` command takes to find the database. */
export const sqliteDatabaseFlags = {
  database: Flags.string({ char: 'd', description: 'Database label (as listed in sqlite_databases).', default: 'default' }),
  from: Flags.string({
    char: 'f',
    aliases: ['file'],
    description: 'The app: its spin.toml or the directory containing it. Default: spin.toml in the current directory or a parent.',
  }),
  'runtime-config-file': Flags.file({ description: 'Runtime config (TOML) defining [sqlite_database.<label>] databases and state_dir.' }),
  'state-dir': Flags.string({ description: 'State directory holding sqlite_db.db. Default: .spin next to spin.toml.' }),
};

/** The SQL argument: text, or `@file.sql` to read it from a file. */
export const sqlArg = { sql: Args.string({ description: 'SQL text, or @FILE to read it from a file.', required: true }) };

/** A `spinel sqlite` failure that is not a library error, with a stable code for the error boundary. */
export class SqliteCommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SqliteCommandError';
    this.code = code;
  }
}

interface DatabaseFlagValues {
  database: string;
  from?: string | undefined;
  'runtime-config-file'?: string | undefined;
  'state-dir'?: string | undefined;
}

/**
 * The file of the database a `spinel sqlite` command works on: `--state-dir`, else the runtime
 * config's `state_dir`, else `.spin` next to spin.toml, as `spinel up` resolves it.
 */
export async function databasePath(flags: DatabaseFlagValues): Promise<string> {
  const cwd = process.cwd();
  const appDir = findAppDir(cwd, flags.from);
  if (appDir === undefined && flags['state-dir'] === undefined && flags['runtime-config-file'] === undefined) {
    throw new SqliteCommandError(
      'SQLITE_APP_NOT_FOUND',
      'no spin.toml in the current directory or its parents, so there is no app state dir; pass -f <app>, --state-dir <dir> or --runtime-config-file <file>',
    );
  }
  const runtime = await import('@spinel/runtime');
  const config = flags['runtime-config-file'] === undefined ? undefined : await runtime.readRuntimeConfig(flags['runtime-config-file'], { cwd });
  const stateDir =
    flags['state-dir'] !== undefined ? (flags['state-dir'] === '' ? undefined : resolve(flags['state-dir'])) : config?.stateDir !== undefined ? config.stateDir || undefined : appDir === undefined ? undefined : join(appDir, '.spin');
  const databases = runtime.resolveSqliteDatabases({ stateDir, databases: config?.sqliteDatabase });
  const target = databases.get(flags.database);
  if (target === undefined) {
    throw new SqliteCommandError(
      'SQLITE_UNKNOWN_DATABASE',
      `no database "${flags.database}": it is neither "default" nor defined as [sqlite_database.${flags.database}] in the runtime config${flags['runtime-config-file'] === undefined ? ' (pass it with --runtime-config-file)' : ''}`,
    );
  }
  if (target.path === undefined) {
    throw new SqliteCommandError(
      'SQLITE_IN_MEMORY',
      `database "${flags.database}" is kept in memory while an app runs (no state dir, no path), so there is no file to open; pass --state-dir or give it a path in the runtime config`,
    );
  }
  return target.path;
}

/** The SQL of the argument (`@file` reads the file). */
export async function sqlText(arg: string): Promise<string> {
  if (!arg.startsWith('@')) return arg;
  try {
    return await readFile(resolve(arg.slice(1)), 'utf8');
  } catch (err) {
    throw new SqliteCommandError('SQLITE_BAD_SQL_FILE', `cannot read ${JSON.stringify(arg.slice(1))}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A value as JSON: integers as numbers (strings beyond 2^53), blobs as `{ "base64": … }`. */
export function jsonValue(value: SqliteValue): unknown {
  switch (value.tag) {
    case 'integer':
      return value.val >= BigInt(Number.MIN_SAFE_INTEGER) && value.val <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value.val) : value.val.toString();
    case 'real':
      return value.val;
    case 'text':
      return value.val;
    case 'blob':
      return { base64: Buffer.from(value.val).toString('base64') };
    default:
      return null;
  }
}

/** A value as the sqlite3 shell shows it: NULL, x'…' for blobs, reals with a decimal point. */
export function textValue(value: SqliteValue): string {
  switch (value.tag) {
    case 'integer':
      return value.val.toString();
    case 'real':
      return Number.isInteger(value.val) ? value.val.toFixed(1) : String(value.val);
    case 'text':
      return value.val;
    case 'blob':
      return `x'${Buffer.from(value.val).toString('hex')}'`;
    default:
      return 'NULL';
  }
}

// `-f` is a manifest file or a directory holding spin.toml; without it, look upwards as Spin does.
function findAppDir(cwd: string, from: string | undefined): string | undefined {
  if (from !== undefined) {
    const target = resolve(cwd, from);
    if (!existsSync(target)) throw new SqliteCommandError('SQLITE_APP_NOT_FOUND', `${JSON.stringify(from)} does not exist; pass a spin.toml or the directory containing it`);
    if (!statSync(target).isDirectory()) return dirname(target);
    if (!existsSync(join(target, 'spin.toml'))) {
      throw new SqliteCommandError('SQLITE_APP_NOT_FOUND', `no spin.toml in ${JSON.stringify(from)}; pass a spin.toml or the directory containing it`);
    }
    return target;
  }
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'spin.toml'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
