/**
 * Runtime-config variable providers (`[[variables_provider]]`, Spin's `crates/variables-{static,
 * env,vault}`): asked in file order after `--variable` and before Spin's default environment
 * provider. A provider answers a value or "not mine" (the next one is asked); a failure stops the
 * start. Values never appear in messages; nor do tokens.
 */
import { readFile } from 'node:fs/promises';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { onFirstUse } from '../load-on-first-use.js';
import { parseDotenv } from './variables.js';
import { VariablesProviderError } from '../errors.js';

/** undici, loaded with a Vault provider's first request. */
const undici = onFirstUse<typeof Undici>('undici');

/** A `[[variables_provider]]` entry as the runtime-config reader gives it. */
export type VariablesProviderConfig =
  | { type: 'static'; values: ReadonlyMap<string, string> }
  | { type: 'env'; prefix?: string; dotenvPath?: string }
  | { type: 'vault'; url: string; token: string; mount: string; prefix?: string };

/** One source of variable values. */
export interface VariablesProvider {
  /** What it is, for messages (never a secret). */
  readonly description: string;
  /**
   * The value of variable `name`, or undefined to let the next provider answer.
   * @throws VariablesProviderError `RUNTIME_VARIABLE_PROVIDER` when the source cannot be asked
   */
  get(name: string): Promise<string | undefined>;
}

/** Options of {@link createVariablesProviders}. */
export interface VariablesProvidersOptions {
  /** The environment `env` providers read (the CLI passes process.env). @default {} */
  env?: Readonly<Record<string, string | undefined>>;
  /** Reads a dotenv file. @default fs.readFile as UTF-8 */
  readText?: (path: string) => Promise<string>;
  /** HTTP client for Vault (tests and proxies). @default undici's global dispatcher */
  dispatcher?: Dispatcher;
  /** How long one Vault request may take. @default 30000 */
  vaultTimeoutMs?: number;
}

const DEFAULT_ENV_PREFIX = 'SPIN_VARIABLE';

/** Builds the providers of a runtime config, in its order. */
export function createVariablesProviders(configs: readonly VariablesProviderConfig[], options: VariablesProvidersOptions = {}): VariablesProvider[] {
  return configs.map((config) => {
    switch (config.type) {
      case 'static':
        return staticProvider(config.values);
      case 'env':
        return envProvider({ ...options, ...(config.prefix === undefined ? {} : { prefix: config.prefix }), ...(config.dotenvPath === undefined ? {} : { dotenvPath: config.dotenvPath }) });
      case 'vault':
        return vaultProvider(config, options);
      default:
        throw new Error(`unknown variables provider ${JSON.stringify((config as { type?: unknown }).type)}`);
    }
  });
}

/** Values given in the runtime config (`type = "static"`). */
export function staticProvider(values: ReadonlyMap<string, string>): VariablesProvider {
  return { description: 'static variables provider', get: async (name) => values.get(name) };
}

/**
 * Environment variables `<PREFIX>_<NAME>` (name upper-cased; prefix `SPIN_VARIABLE` unless given,
 * no underscore when it is empty), then the same names in a dotenv file if one is given.
 */
export function envProvider(options: VariablesProvidersOptions & { prefix?: string; dotenvPath?: string }): VariablesProvider {
  const env = options.env ?? {};
  const prefix = options.prefix ?? DEFAULT_ENV_PREFIX;
  const readText = options.readText ?? ((path: string) => readFile(path, 'utf8'));
  let dotenv: Promise<Record<string, string>> | undefined;
  const loadDotenv = (path: string): Promise<Record<string, string>> =>
    (dotenv ??= readText(path).then(parseDotenv, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return {};
      throw new VariablesProviderError(`cannot read the dotenv file ${JSON.stringify(path)} of an env variables provider: ${err.code ?? err.message}`, { cause: err });
    }));
  return {
    description: `env variables provider (${prefix === '' ? 'no prefix' : `prefix ${prefix}`})`,
    async get(name) {
      const key = prefix === '' ? name.toUpperCase() : `${prefix}_${name.toUpperCase()}`;
      if (Object.prototype.hasOwnProperty.call(env, key) && env[key] !== undefined) return env[key];
      if (options.dotenvPath === undefined) return undefined;
      const values = await loadDotenv(options.dotenvPath);
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : undefined;
    },
  };
}

/**
 * HashiCorp Vault's KV version 2 secrets engine (`type = "vault"`): the variable `name` is the
 * secret at `<mount>/data/<prefix>/<name>` and its value the secret's `value` field, as Spin's
 * provider reads it. A secret that does not exist (404) lets the next provider answer; any other
 * failure stops the start.
 */
export function vaultProvider(config: { url: string; token: string; mount: string; prefix?: string | undefined }, options: VariablesProvidersOptions = {}): VariablesProvider {
  const base = config.url.replace(/\/+$/, '');
  const mount = config.mount.replace(/^\/+|\/+$/g, '');
  const description = `vault variables provider at ${safeOrigin(base)} (mount ${JSON.stringify(mount)})`;
  const timeout = options.vaultTimeoutMs ?? 30_000;
  return {
    description,
    async get(name) {
      const secretPath = config.prefix === undefined || config.prefix === '' ? name : `${config.prefix.replace(/\/+$/, '')}/${name}`;
      const path = `/v1/${encodePath(mount)}/data/${encodePath(secretPath)}`;
      let status: number;
      let body: string;
      try {
        const response = await undici().request(`${base}${path}`, {
          method: 'GET',
          headers: { 'x-vault-token': config.token, accept: 'application/json' },
          headersTimeout: timeout,
          bodyTimeout: timeout,
          ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
        });
        status = response.statusCode;
        body = await response.body.text();
      } catch (err) {
        throw new VariablesProviderError(`${description} could not be reached for variable "${name}": ${(err as { code?: string }).code ?? (err as Error).message}`, { cause: err });
      }
      if (status === 404) return undefined;
      if (status !== 200) {
        throw new VariablesProviderError(`${description} refused variable "${name}": HTTP ${status}${vaultErrors(body)}; check the token and the policy for ${mount}/data/${secretPath}`);
      }
      let value: unknown;
      try {
        value = (JSON.parse(body) as { data?: { data?: { value?: unknown } } }).data?.data?.value;
      } catch {
        value = undefined;
      }
      if (typeof value !== 'string') {
        throw new VariablesProviderError(`${description}: the secret for variable "${name}" has no string field "value" (Spin reads the KV v2 secret's "value")`);
      }
      return value;
    },
  };
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

// Vault's error bodies are `{"errors": ["permission denied"]}`: messages, not secrets.
function vaultErrors(body: string): string {
  try {
    const errors = (JSON.parse(body) as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) return ` (${errors.filter((e) => typeof e === 'string').map((e: string) => e.slice(0, 200)).join('; ')})`;
  } catch {
    // Not Vault's JSON: say nothing of the body.
  }
  return '';
}

function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'an invalid URL';
  }
}
