/**
 * A small vocabulary for describing runtime-config sections: each spec reads (and checks) one
 * TOML value, records problems with the key path where they are, and describes itself as JSON
 * schema. The section table (`sections.ts`) is written in it, so the reader, its messages and
 * the shipped JSON schema cannot drift apart. Field names are read in snake_case (as in the
 * file) and handed out in camelCase.
 */
import { isAbsolute, resolve } from 'node:path';
import type { RuntimeConfigProblem } from '../../errors.js';

/** A key path: table keys and array indexes. */
export type KeyPath = readonly (string | number)[];

/** A JSON schema fragment (draft-07). */
export type JsonSchema = { [key: string]: unknown };

/** Where problems go while a file is read. */
export interface ProblemSink {
  /**
   * Records a problem. `at` chooses what the caret points at; `showValue` lets the excerpt
   * show the value as written (only for values that cannot be secrets).
   */
  add(code: RuntimeConfigProblem['code'], message: string, keyPath: KeyPath, at: 'key' | 'value', showValue?: boolean): void;
}

/** What specs need while reading. */
export interface ReadContext {
  readonly problems: ProblemSink;
  /** The runtime-config file's directory (Spin resolves key-value store and TLS paths against it). */
  readonly configDir: string;
  /** The directory Spin resolves `state_dir`, `log_dir` and SQLite paths against: the process's working directory. */
  readonly cwd: string;
}

/** Reads one TOML value. `read` returns undefined after recording a problem. */
export interface Spec<T> {
  /** How the expected value is described in messages, e.g. "a string". */
  readonly expected: string;
  /** Never shown in messages or excerpts (tokens, passwords, variable values). */
  readonly secret: boolean;
  read(value: unknown, path: KeyPath, ctx: ReadContext): T | undefined;
  schema(): JsonSchema;
}

/** The value type a spec reads. */
export type SpecValue<S> = S extends Spec<infer T> ? T : never;

/** `max_total_connections` → `maxTotalConnections`, at the type level. */
export type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** `max_total_connections` → `maxTotalConnections`. */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** A TOML table (as smol-toml parses it). */
export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Serde-like description of a value found where another was expected; strings are quoted unless secret. */
export function describeValue(value: unknown, secret: boolean): string {
  if (typeof value === 'string') return secret ? 'a string' : `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  if (typeof value === 'bigint') return secret ? 'an integer' : `integer ${value}`;
  if (typeof value === 'number') return secret ? 'a number' : `float ${value}`;
  if (typeof value === 'boolean') return secret ? 'a boolean' : `boolean ${value}`;
  if (value instanceof Date) return 'a date-time';
  if (Array.isArray(value)) return 'an array';
  if (isTable(value)) return 'a table';
  return 'a value';
}

/** Renders a key path for messages: `variables_provider[1].url`. */
export function showKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${/^[A-Za-z0-9_-]+$/.test(seg) ? seg : JSON.stringify(seg)}`;
  }
  return out;
}

function wrongType(spec: Spec<unknown>, value: unknown, path: KeyPath, ctx: ReadContext): undefined {
  ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath(path)}\` must be ${spec.expected}, not ${describeValue(value, spec.secret)}`, path, 'value', !spec.secret);
  return undefined;
}

interface ScalarOptions {
  description?: string;
  secret?: boolean;
}

/** A string; `check` returns a reason when the text is not acceptable. */
export function string(options: ScalarOptions & { nonEmpty?: boolean; check?: (text: string) => string | undefined; schema?: JsonSchema } = {}): Spec<string> {
  const spec: Spec<string> = {
    expected: options.nonEmpty === true ? 'a non-empty string' : 'a string',
    secret: options.secret ?? false,
    read(value, path, ctx) {
      if (typeof value !== 'string' || (options.nonEmpty === true && value === '')) return wrongType(spec, value, path, ctx);
      const reason = options.check?.(value);
      if (reason !== undefined) {
        ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath(path)}\`: ${reason}`, path, 'value', !spec.secret);
        return undefined;
      }
      return value;
    },
    schema: () => ({ type: 'string', ...(options.nonEmpty === true ? { minLength: 1 } : {}), ...describe(options), ...options.schema }),
  };
  return spec;
}

/**
 * A file or directory path, made absolute against the runtime-config file's directory or the
 * working directory (Spin uses each for different keys). An empty string is kept as is (for
 * `state_dir`/`log_dir` it means "none").
 */
export function path(options: ScalarOptions & { relativeTo: 'config' | 'cwd'; allowEmpty?: boolean }): Spec<string> {
  const spec: Spec<string> = {
    expected: options.allowEmpty === true ? 'a path (or "" for none)' : 'a non-empty path',
    secret: false,
    read(value, keyPath, ctx) {
      if (typeof value !== 'string' || (value === '' && options.allowEmpty !== true)) return wrongType(spec, value, keyPath, ctx);
      if (value === '') return '';
      if (value.includes('\0')) {
        ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath(keyPath)}\` must not contain a NUL character`, keyPath, 'value', false);
        return undefined;
      }
      return isAbsolute(value) ? value : resolve(options.relativeTo === 'config' ? ctx.configDir : ctx.cwd, value);
    },
    schema: () => ({ type: 'string', ...(options.allowEmpty === true ? {} : { minLength: 1 }), ...describe(options) }),
  };
  return spec;
}

/** `true` or `false`. */
export function boolean(options: ScalarOptions = {}): Spec<boolean> {
  const spec: Spec<boolean> = {
    expected: 'true or false',
    secret: false,
    read: (value, path, ctx) => (typeof value === 'boolean' ? value : wrongType(spec, value, path, ctx)),
    schema: () => ({ type: 'boolean', ...describe(options) }),
  };
  return spec;
}

/** A TOML integer within `min`..`max` (both inclusive; floats are refused as serde refuses them). */
export function integer(options: ScalarOptions & { min?: number; max?: number } = {}): Spec<number> {
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const spec: Spec<number> = {
    expected: min === 0 && max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer from ${min} to ${max}`,
    secret: false,
    read(value, path, ctx) {
      if (typeof value !== 'bigint' || value < BigInt(min) || value > BigInt(max)) return wrongType(spec, value, path, ctx);
      return Number(value);
    },
    schema: () => ({ type: 'integer', minimum: min, ...(max === Number.MAX_SAFE_INTEGER ? {} : { maximum: max }), ...describe(options) }),
  };
  return spec;
}

/** An array of strings, each checked by `item`. */
export function stringArray(options: ScalarOptions & { nonEmpty?: boolean; item?: Spec<string> } = {}): Spec<string[]> {
  const item = options.item ?? string();
  const spec: Spec<string[]> = {
    expected: options.nonEmpty === true ? 'a non-empty array of strings' : 'an array of strings',
    secret: false,
    read(value, path, ctx) {
      if (!Array.isArray(value) || (options.nonEmpty === true && value.length === 0)) return wrongType(spec, value, path, ctx);
      const out: string[] = [];
      let ok = true;
      value.forEach((entry, i) => {
        const read = item.read(entry, [...path, i], ctx);
        if (read === undefined) ok = false;
        else out.push(read);
      });
      return ok ? out : undefined;
    },
    schema: () => ({ type: 'array', items: item.schema(), ...(options.nonEmpty === true ? { minItems: 1 } : {}), ...describe(options) }),
  };
  return spec;
}

/** A table of string values (`values = { name = "…" }`); values may be secrets and are never shown. */
export function stringMap(options: ScalarOptions = {}): Spec<ReadonlyMap<string, string>> {
  const spec: Spec<ReadonlyMap<string, string>> = {
    expected: 'a table of string values',
    secret: options.secret ?? false,
    read(value, path, ctx) {
      if (!isTable(value)) return wrongType(spec, value, path, ctx);
      const out = new Map<string, string>();
      let ok = true;
      for (const [key, entry] of Object.entries(value)) {
        if (typeof entry !== 'string') {
          ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath([...path, key])}\` must be a string, not ${describeValue(entry, spec.secret)}`, [...path, key], 'value', !spec.secret);
          ok = false;
        } else out.set(key, entry);
      }
      return ok ? out : undefined;
    },
    schema: () => ({ type: 'object', additionalProperties: { type: 'string' }, ...describe(options) }),
  };
  return spec;
}

type Fields = Record<string, Spec<unknown>>;

/** The value of a table spec: its fields in camelCase, the required ones always present. */
export type TableValue<F extends Fields, R extends keyof F> = {
  [K in Exclude<keyof F, R> as Camel<K & string>]?: SpecValue<F[K]>;
} & {
  [K in R as Camel<K & string>]: SpecValue<F[K]>;
};

/** A table with known fields; any other key is refused, naming the allowed ones. */
export interface TableSpec<F extends Fields, R extends keyof F> extends Spec<TableValue<F, R>> {
  readonly fields: F;
  readonly required: readonly R[];
  /** Reads the fields of an already type-checked table, skipping `skip` (a tagged union's `type`). */
  readFields(value: Record<string, unknown>, path: KeyPath, ctx: ReadContext, skip?: string): TableValue<F, R> | undefined;
}

/**
 * A table of `fields` (`required` must be present). `check` sees the read value and returns
 * cross-field problems as `[field, reason]` (e.g. two keys that exclude each other).
 */
export function table<F extends Fields, R extends keyof F & string = never>(
  fields: F,
  options: { required?: readonly R[]; description?: string; check?: (value: TableValue<F, R>) => Array<[field: keyof F & string, reason: string]> } = {},
): TableSpec<F, R> {
  const required = options.required ?? [];
  const allowed = Object.keys(fields);
  const readFields = (value: Record<string, unknown>, path: KeyPath, ctx: ReadContext, skip?: string): TableValue<F, R> | undefined => {
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [key, entry] of Object.entries(value)) {
      if (key === skip) continue;
      const field = Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
      if (field === undefined) {
        const names = allowed.filter((k) => k !== skip);
        ctx.problems.add(
          'RUNTIME_CONFIG_UNKNOWN_KEY',
          `unknown key \`${key}\` in ${path.length === 0 ? 'the runtime config' : `\`${showKeyPath(path)}\``}; ${names.length === 0 ? 'it takes no keys' : `allowed keys: ${names.join(', ')}`}${nearest(key, names)}`,
          [...path, key],
          'key',
        );
        ok = false;
        continue;
      }
      const read = field.read(entry, [...path, key], ctx);
      if (read === undefined) ok = false;
      else out[camel(key)] = read;
    }
    for (const key of required) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) {
        ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath(path)}\` is missing \`${key}\` (${fields[key]?.expected ?? 'required'})`, path, 'key');
        ok = false;
      }
    }
    if (!ok) return undefined;
    const typed = out as TableValue<F, R>;
    for (const [field, reason] of options.check?.(typed) ?? []) {
      const at = Object.prototype.hasOwnProperty.call(value, field) ? [...path, field] : path;
      ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath(at)}\`: ${reason}`, at, 'key');
      ok = false;
    }
    return ok ? typed : undefined;
  };
  const spec: TableSpec<F, R> = {
    expected: 'a table',
    secret: false,
    fields,
    required,
    readFields,
    read(value, path, ctx) {
      if (!isTable(value)) return wrongType(spec, value, path, ctx);
      return readFields(value, path, ctx);
    },
    schema: () => tableSchema(fields, required, options.description),
  };
  return spec;
}

function tableSchema(fields: Fields, required: readonly string[], description: string | undefined, extra: Record<string, JsonSchema> = {}): JsonSchema {
  const properties: Record<string, JsonSchema> = { ...extra };
  for (const [key, field] of Object.entries(fields)) properties[key] = field.schema();
  const req = [...Object.keys(extra), ...required];
  return {
    type: 'object',
    additionalProperties: false,
    ...(req.length === 0 ? {} : { required: req }),
    properties,
    ...(description === undefined ? {} : { description }),
  };
}

/** A `type` Spin knows and Spinel does not provide: the message says so and what to use instead. */
export interface Unsupported {
  readonly unsupported: string;
}

/** Marks a variant (or a whole section) as not supported, with the message to show. */
export function unsupported(message: string): Unsupported {
  return { unsupported: message };
}

type Variants = Record<string, TableSpec<Fields, string> | Unsupported>;

/** The value of a tagged table: `{ type: 'spin', …fields }` for each supported variant. */
export type TaggedValue<V extends Variants> = {
  [K in keyof V]: V[K] extends TableSpec<infer F, infer R> ? { type: K } & TableValue<F, R> : never;
}[keyof V];

/**
 * A table whose `type` chooses its fields, as Spin's typed sections (`[key_value_store.x]
 * type = "redis"`). Unknown types are refused listing the known ones; unsupported ones get their
 * own message.
 */
export function tagged<V extends Variants>(variants: V, options: { description?: string } = {}): Spec<TaggedValue<V>> {
  const supported = Object.keys(variants).filter((k) => !('unsupported' in (variants[k] as object)));
  const spec: Spec<TaggedValue<V>> = {
    expected: `a table with \`type\` (${supported.map((t) => JSON.stringify(t)).join(' or ')})`,
    secret: false,
    read(value, path, ctx) {
      if (!isTable(value)) return wrongType(spec, value, path, ctx);
      const type = value['type'];
      if (type === undefined) {
        ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath(path)}\` is missing \`type\` (${supported.map((t) => JSON.stringify(t)).join(' or ')})`, path, 'key');
        return undefined;
      }
      if (typeof type !== 'string') {
        ctx.problems.add('RUNTIME_CONFIG_INVALID', `\`${showKeyPath([...path, 'type'])}\` must be a string, not ${describeValue(type, false)}`, [...path, 'type'], 'value', true);
        return undefined;
      }
      const variant = Object.prototype.hasOwnProperty.call(variants, type) ? variants[type] : undefined;
      if (variant === undefined) {
        ctx.problems.add(
          'RUNTIME_CONFIG_INVALID',
          `unknown \`type\` ${JSON.stringify(type)} in \`${showKeyPath(path)}\`; use ${supported.map((t) => JSON.stringify(t)).join(' or ')}${nearest(type, supported)}`,
          [...path, 'type'],
          'value',
          true,
        );
        return undefined;
      }
      if ('unsupported' in variant) {
        ctx.problems.add('RUNTIME_CONFIG_UNSUPPORTED', `\`${showKeyPath(path)}\`: ${variant.unsupported}`, [...path, 'type'], 'value', true);
        return undefined;
      }
      const fields = variant.readFields(value, path, ctx, 'type');
      return fields === undefined ? undefined : ({ type, ...fields } as TaggedValue<V>);
    },
    schema: () => ({
      oneOf: supported.map((t) => {
        const v = variants[t] as TableSpec<Fields, string>;
        return tableSchema(v.fields, v.required, undefined, { type: { const: t } });
      }),
      ...(options.description === undefined ? {} : { description: options.description }),
    }),
  };
  return spec;
}

/** A table of labelled entries (`[sqlite_database.<label>]`), each read by `entry`. */
export function labelled<T>(entry: Spec<T>, options: { description?: string } = {}): Spec<ReadonlyMap<string, T>> {
  const spec: Spec<ReadonlyMap<string, T>> = {
    expected: 'a table of labelled tables',
    secret: false,
    read(value, path, ctx) {
      if (!isTable(value)) return wrongType(spec, value, path, ctx);
      const out = new Map<string, T>();
      let ok = true;
      for (const [label, item] of Object.entries(value)) {
        const read = entry.read(item, [...path, label], ctx);
        if (read === undefined) ok = false;
        else out.set(label, read);
      }
      return ok ? out : undefined;
    },
    schema: () => ({ type: 'object', additionalProperties: entry.schema(), ...(options.description === undefined ? {} : { description: options.description }) }),
  };
  return spec;
}

/** An array of tables (`[[client_tls]]`), each read by `entry`. */
export function arrayOf<T>(entry: Spec<T>, options: { description?: string } = {}): Spec<T[]> {
  const spec: Spec<T[]> = {
    expected: 'an array of tables',
    secret: false,
    read(value, path, ctx) {
      if (!Array.isArray(value)) return wrongType(spec, value, path, ctx);
      const out: T[] = [];
      let ok = true;
      value.forEach((item, i) => {
        const read = entry.read(item, [...path, i], ctx);
        if (read === undefined) ok = false;
        else out.push(read);
      });
      return ok ? out : undefined;
    },
    schema: () => ({ type: 'array', items: entry.schema(), ...(options.description === undefined ? {} : { description: options.description }) }),
  };
  return spec;
}

/** A whole section Spinel does not provide: any value is refused with `message`. */
export function unsupportedSection(message: string): Spec<never> {
  return {
    expected: 'absent',
    secret: false,
    read(_value, path, ctx) {
      ctx.problems.add('RUNTIME_CONFIG_UNSUPPORTED', `\`${showKeyPath(path)}\`: ${message}`, path, 'key');
      return undefined;
    },
    // Editors flag it: a file with this section does not start.
    schema: () => ({ not: {}, description: message }),
  };
}

function describe(options: ScalarOptions): JsonSchema {
  return options.description === undefined ? {} : { description: options.description };
}

/** ` (did you mean \`x\`?)` when a known name is one or two edits away. */
export function nearest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best === undefined ? '' : ` (did you mean \`${best}\`?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
