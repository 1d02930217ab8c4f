import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { isLiteralTemplate, parseTemplate, renderTemplate, type LockedApp, type LockedComponent } from '@spinel/manifest';
import { VariableError } from '../errors.js';
import type { VariablesProvider } from './variables-providers.js';

/** Where variable values come from, highest precedence first (Spin §1.4). */
export interface VariableSources {
  /** `--variable` flags, as typed: `K=V`, `K=@FILE` (value is the file's text), `@FILE.json`, `@FILE.toml`. */
  flags?: readonly string[];
  /** The environment searched for `SPIN_VARIABLE_<UPPERCASE_NAME>` (the CLI passes process.env). @default {} */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Runtime config `[[variables_provider]]`s (see `createVariablesProviders`), asked in order after
   * `--variable` and before the environment, as Spin orders them.
   */
  providers?: readonly VariablesProvider[];
  /** Path of a `.env` file read like the environment, below it in precedence (missing file: ignored). */
  dotenvPath?: string;
  /** Directory relative `@FILE` paths are resolved against. @default the current directory of the caller, passed in */
  cwd?: string;
  /** TOML parser for `@FILE.toml` (the CLI passes smol-toml's `parse`). */
  parseToml?: (text: string) => unknown;
  /** File reader (tests). @default fs.readFile as UTF-8 */
  readText?: (path: string) => Promise<string>;
}

/** The app's variables after every provider was asked. Values of secret variables must not be logged. */
export interface ResolvedVariables {
  /** Name → value, for every variable that has one. */
  readonly values: ReadonlyMap<string, string>;
  /** Names declared `secret = true`. */
  readonly secrets: ReadonlySet<string>;
}

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Asks the providers in Spin's order (`--variable`, then the runtime config's
 * `[[variables_provider]]`s in file order, then `SPIN_VARIABLE_*` in the environment, then the
 * `.env` file, then the declared default) for every variable the app declares.
 * @throws VariableError `RUNTIME_VARIABLE_REQUIRED` naming the first required variable without a value; `RUNTIME_VARIABLE_INVALID` for a malformed `--variable` or unreadable file (values are never quoted)
 * @throws VariablesProviderError `RUNTIME_VARIABLE_PROVIDER` when a runtime-config provider cannot be asked
 */
export async function resolveVariables(app: Pick<LockedApp, 'variables'>, sources: VariableSources = {}): Promise<ResolvedVariables> {
  const readText = sources.readText ?? ((path: string) => readFile(path, 'utf8'));
  const cli = await parseVariableFlags(sources.flags ?? [], { ...sources, readText });
  const env = sources.env ?? {};
  let dotenv: Record<string, string> = {};
  if (sources.dotenvPath !== undefined) {
    const text = await readText(sources.dotenvPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new VariableError('RUNTIME_VARIABLE_INVALID', `cannot read ${sources.dotenvPath}: ${err.code ?? err.message}`, { cause: err });
    });
    if (text !== undefined) dotenv = parseDotenv(text);
  }
  const values = new Map<string, string>();
  const secrets = new Set<string>();
  for (const [name, decl] of Object.entries(app.variables ?? {})) {
    if (decl.secret === true) secrets.add(name);
    const envName = `SPIN_VARIABLE_${name.toUpperCase()}`;
    let value = own(cli, name);
    for (const provider of sources.providers ?? []) {
      if (value !== undefined) break;
      value = await provider.get(name);
    }
    value ??= own(env, envName) ?? own(dotenv, envName) ?? decl.default;
    if (value === undefined) {
      throw new VariableError(
        'RUNTIME_VARIABLE_REQUIRED',
        `variable "${name}" is required but has no value; set it with --variable ${name}=<value> or the ${envName} environment variable`,
        { variable: name },
      );
    }
    values.set(name, value);
  }
  return { values, secrets };
}

function own(record: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/**
 * Parses `--variable` flags into name → value. Later flags win over earlier ones.
 * @throws VariableError `RUNTIME_VARIABLE_INVALID`
 */
export async function parseVariableFlags(
  flags: readonly string[],
  options: Pick<VariableSources, 'cwd' | 'parseToml'> & { readText: (path: string) => Promise<string> },
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const path = (p: string): string => resolve(options.cwd ?? '.', p);
  const read = async (file: string): Promise<string> => {
    try {
      return await options.readText(path(file));
    } catch (err) {
      throw new VariableError('RUNTIME_VARIABLE_INVALID', `cannot read variable file ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  for (const flag of flags) {
    if (flag.startsWith('@')) {
      const file = flag.slice(1);
      const text = await read(file);
      const ext = extname(file).toLowerCase();
      let parsed: unknown;
      try {
        if (ext === '.json') parsed = JSON.parse(text);
        else if (ext === '.toml') {
          if (options.parseToml === undefined) throw new Error('TOML variable files are not supported by this caller');
          parsed = options.parseToml(text);
        } else throw new Error('the file must end in .json or .toml');
      } catch (err) {
        throw new VariableError('RUNTIME_VARIABLE_INVALID', `invalid variable file ${JSON.stringify(file)}: ${(err as Error).message.split('\n')[0] ?? ''}`, { cause: err });
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new VariableError('RUNTIME_VARIABLE_INVALID', `variable file ${JSON.stringify(file)} must hold a table of name = "value" pairs`);
      }
      for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
        if (typeof value !== 'string') {
          throw new VariableError('RUNTIME_VARIABLE_INVALID', `variable "${name}" in ${JSON.stringify(file)} must be a string`, { variable: name });
        }
        out[checkName(name)] = value;
      }
      continue;
    }
    const eq = flag.indexOf('=');
    if (eq <= 0) {
      // The flag may hold a secret: name only what is wrong, never the text.
      throw new VariableError('RUNTIME_VARIABLE_INVALID', 'Variables must be of the form `key=value`, `key=@file` or `@file.json`/`@file.toml`');
    }
    const name = checkName(flag.slice(0, eq));
    const value = flag.slice(eq + 1);
    out[name] = value.startsWith('@') ? await read(value.slice(1)) : value;
  }
  return out;
}

function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new VariableError('RUNTIME_VARIABLE_INVALID', `invalid variable name ${JSON.stringify(name)}: use lower_snake_case starting with a letter`, { variable: name });
  }
  return name;
}

/** Parses a `.env` file: `KEY=value` lines, `#` comments, optional `export `, single or double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    if (eq <= 0) continue;
    const key = body.slice(0, eq).trim();
    let value = body.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      const hash = value.indexOf(' #');
      if (hash >= 0) value = value.slice(0, hash).trimEnd();
    }
    out[key] = value;
  }
  return out;
}

/**
 * A component's `config` (its `[component.x.variables]`) with `{{ var }}` templates rendered
 * against the app's resolved variables.
 * @throws VariableError `RUNTIME_VARIABLE_UNDEFINED` when a template names a variable with no value (the key and variable are named; no value is)
 */
export function resolveComponentConfig(component: Pick<LockedComponent, 'id' | 'config'>, variables: ResolvedVariables): Record<string, string> {
  const values = Object.fromEntries(variables.values);
  const out: Record<string, string> = {};
  for (const [key, template] of Object.entries(component.config ?? {})) {
    let parts;
    try {
      parts = parseTemplate(template);
    } catch (err) {
      throw new VariableError('RUNTIME_VARIABLE_INVALID', `component "${component.id}" variable "${key}": ${(err as Error).message}`, { cause: err, variable: key });
    }
    if (isLiteralTemplate(parts)) {
      out[key] = template;
      continue;
    }
    const rendered = renderTemplate(parts, values);
    if (rendered === undefined) {
      const missing = parts.find((p) => p.kind === 'variable' && !variables.values.has(p.name));
      const name = missing?.kind === 'variable' ? missing.name : '?';
      throw new VariableError(
        'RUNTIME_VARIABLE_UNDEFINED',
        `component "${component.id}" variable "${key}" refers to application variable "${name}", which is not declared in [variables]`,
        { variable: name },
      );
    }
    out[key] = rendered;
  }
  return out;
}
