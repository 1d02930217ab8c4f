import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { KvConfigInvalidError } from './errors.js';
import type { KvLimits } from './limits.js';
import { parseKvRuntimeConfig } from './runtime-config.js';
import type { KvStoreDefinition } from './runtime-config.js';
import { createKvStoreManager } from './store-manager.js';
import type { KvStoreManager, KvStoreManagerOptions } from './store-manager.js';

/** Options of {@link openAppKvStores}. */
export interface AppKvStoresOptions {
  /** Directory the relative paths of `stateDir` and the runtime config's `state_dir` are resolved against. */
  cwd: string;
  /** The local app's directory (where spin.toml is); its state dir defaults to `<appDir>/.spin`. */
  appDir?: string | undefined;
  /** `--state-dir`: overrides everything; an empty string means none (the default store is in memory). */
  stateDir?: string | undefined;
  /** `--runtime-config-file`: `[key_value_store.*]` and `state_dir` are read from it. */
  runtimeConfigFile?: string | undefined;
  /** Key and value size limits. @default DEFAULT_KV_LIMITS */
  limits?: Partial<KvLimits>;
  /** SQLite tuning. */
  sqlite?: KvStoreManagerOptions['sqlite'];
}

/** What {@link openAppKvStores} resolved, with the manager. */
export interface AppKvStores {
  manager: KvStoreManager;
  /** The resolved state dir, or `undefined` when there is none. */
  stateDir: string | undefined;
}

/**
 * Opens the key-value stores of a local app the way `spin up` resolves them: the state dir
 * is `--state-dir`, else the runtime config's `state_dir` (empty = none), else
 * `<appDir>/.spin`; `default` lives in `<state dir>/sqlite_key_value.db` unless the runtime
 * config replaces it; other labels come from `[key_value_store.<label>]`.
 * @throws KvConfigInvalidError `KV_CONFIG_INVALID`, KvConfigUnknownTypeError `KV_CONFIG_UNKNOWN_TYPE`
 */
export async function openAppKvStores(options: AppKvStoresOptions): Promise<AppKvStores> {
  let definitions = new Map<string, KvStoreDefinition>();
  let configStateDir: string | undefined | null = null;
  if (options.runtimeConfigFile !== undefined) {
    const file = resolve(options.cwd, options.runtimeConfigFile);
    let config: unknown;
    try {
      config = parseToml(await readFile(file, 'utf8'));
    } catch (err) {
      throw new KvConfigInvalidError(undefined, `cannot read runtime config file ${JSON.stringify(file)}: ${(err as Error).message.split('\n')[0] ?? ''}`, err);
    }
    definitions = parseKvRuntimeConfig(config, { baseDir: dirname(file) });
    const value = (config as Record<string, unknown>)['state_dir'];
    if (value !== undefined) {
      if (typeof value !== 'string') throw new KvConfigInvalidError(undefined, '`state_dir` must be a string');
      configStateDir = value === '' ? undefined : resolve(options.cwd, value);
    }
  }
  let stateDir: string | undefined;
  if (options.stateDir !== undefined) stateDir = options.stateDir === '' ? undefined : resolve(options.cwd, options.stateDir);
  else if (configStateDir !== null) stateDir = configStateDir;
  else if (options.appDir !== undefined) stateDir = join(resolve(options.cwd, options.appDir), '.spin');
  const manager = createKvStoreManager({
    definitions,
    stateDir,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.sqlite === undefined ? {} : { sqlite: options.sqlite }),
  });
  return { manager, stateDir };
}
