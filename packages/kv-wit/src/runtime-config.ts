import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { KvConfigInvalidError, KvConfigUnknownTypeError } from './errors.js';

/** How one store label is backed, after runtime config is resolved. */
export type KvStoreDefinition =
  /** Spin's SQLite store; `path` absolute, or `undefined` for a temporary in-memory store. */
  | { type: 'spin'; path: string | undefined }
  /** A Redis server. */
  | { type: 'redis'; url: string };

/** Options of {@link parseKvRuntimeConfig}. */
export interface ParseKvRuntimeConfigOptions {
  /** Directory relative `path`s are resolved against: the runtime-config file's directory. */
  baseDir: string;
}

const FIELDS: Record<KvStoreDefinition['type'], readonly string[]> = { spin: ['type', 'path'], redis: ['type', 'url'] };

/**
 * Reads the `[key_value_store.<label>]` tables of a parsed runtime-config document (other
 * top-level keys are left to their owners), as Spin does: `type = "spin"` with an optional
 * `path` (relative to `baseDir`; absent means in memory) or `type = "redis"` with `url`.
 * @throws KvConfigUnknownTypeError `KV_CONFIG_UNKNOWN_TYPE` for any other type, named
 * @throws KvConfigInvalidError `KV_CONFIG_INVALID` for a missing or mistyped field, or an unknown one
 */
export function parseKvRuntimeConfig(config: unknown, options: ParseKvRuntimeConfigOptions): Map<string, KvStoreDefinition> {
  const definitions = new Map<string, KvStoreDefinition>();
  if (!isTable(config)) throw new KvConfigInvalidError(undefined, 'the runtime config must be a TOML table');
  const section = config['key_value_store'];
  if (section === undefined) return definitions;
  if (!isTable(section)) throw new KvConfigInvalidError(undefined, '`key_value_store` must be a table of [key_value_store.<label>] tables');
  for (const [label, entry] of Object.entries(section)) {
    if (!isTable(entry)) throw new KvConfigInvalidError(label, `[key_value_store.${label}] must be a table with a \`type\``);
    const type = entry['type'];
    if (typeof type !== 'string') throw new KvConfigInvalidError(label, 'missing `type` (use "spin" or "redis")');
    if (type !== 'spin' && type !== 'redis') throw new KvConfigUnknownTypeError(label, type);
    const unknown = Object.keys(entry).filter((key) => !FIELDS[type].includes(key));
    if (unknown.length > 0) {
      throw new KvConfigInvalidError(label, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')} for type "${type}" (expected ${FIELDS[type].map((k) => `\`${k}\``).join(', ')})`);
    }
    if (type === 'spin') {
      const path = entry['path'];
      if (path !== undefined && (typeof path !== 'string' || path === '')) throw new KvConfigInvalidError(label, '`path` must be a non-empty string');
      definitions.set(label, { type, path: path === undefined ? undefined : isAbsolute(path) ? path : resolve(options.baseDir, path) });
    } else {
      const url = entry['url'];
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
        throw new KvConfigInvalidError(label, '`url` must be a redis:// or rediss:// URL');
      }
      definitions.set(label, { type, url });
    }
  }
  return definitions;
}

/**
 * Parses runtime-config TOML text, then {@link parseKvRuntimeConfig}.
 * @throws KvConfigInvalidError `KV_CONFIG_INVALID` when the text is not TOML
 */
export function parseKvRuntimeConfigToml(text: string, options: ParseKvRuntimeConfigOptions): Map<string, KvStoreDefinition> {
  let config: unknown;
  try {
    config = parseToml(text);
  } catch (err) {
    throw new KvConfigInvalidError(undefined, `not valid TOML: ${(err as Error).message.split('\n')[0] ?? ''}`, err);
  }
  return parseKvRuntimeConfig(config, options);
}

/** Reads a runtime-config file; relative store paths resolve against its directory. */
export async function readKvRuntimeConfig(file: string): Promise<Map<string, KvStoreDefinition>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KvConfigInvalidError(undefined, `cannot read runtime config file ${JSON.stringify(file)}: ${(err as Error).message}`, err);
  }
  return parseKvRuntimeConfigToml(text, { baseDir: dirname(resolve(file)) });
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
