/**
 * Collects independent problems while reading a manifest, with typed value readers that
 * record a problem (instead of throwing) and return `undefined` on a wrong type.
 */
import type { JsonObject, JsonValue } from './locked-app.js';
import type { KeyPath } from './toml-location.js';

/** A problem found before locations are resolved. */
export interface Problem {
  readonly code: string;
  readonly message: string;
  readonly keyPath: KeyPath;
  /** Underline the key itself or its value. */
  readonly at: 'key' | 'value';
}

/** A warning found before locations are resolved. */
export interface PendingWarning {
  readonly code: string;
  readonly message: string;
  readonly keyPath: KeyPath;
}

/** The collector passed through the readers. */
export class Problems {
  readonly list: Problem[] = [];
  readonly warnings: PendingWarning[] = [];

  add(code: string, message: string, keyPath: KeyPath, at: 'key' | 'value' = 'value'): void {
    this.list.push({ code, message, keyPath, at });
  }

  warn(code: string, message: string, keyPath: KeyPath): void {
    this.warnings.push({ code, message, keyPath });
  }
}

/** A TOML table. */
export type Table = Record<string, unknown>;

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Serde-style description of a value, e.g. "integer `3`". */
export function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  if (typeof v === 'bigint') return `integer \`${v}\``;
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  if (v instanceof Date) return 'datetime';
  if (Array.isArray(v)) return 'sequence';
  if (isTable(v)) return 'map';
  return 'value';
}

/** `a.b[0].c` for messages. */
export function showPath(kp: KeyPath): string {
  let out = '';
  for (const seg of kp) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? quoteKey(seg) : `.${quoteKey(seg)}`;
  }
  return out;
}

function quoteKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

/** Typed readers bound to a collector. */
export class Reader {
  constructor(readonly problems: Problems) {}

  typeError(v: unknown, expected: string, kp: KeyPath): void {
    this.problems.add('MANIFEST_INVALID_TYPE', `invalid type at \`${showPath(kp)}\`: ${describe(v)}, expected ${expected}`, kp);
  }

  table(v: unknown, kp: KeyPath): Table | undefined {
    if (isTable(v)) return v;
    this.typeError(v, 'a table', kp);
    return undefined;
  }

  string(v: unknown, kp: KeyPath): string | undefined {
    if (typeof v === 'string') return v;
    this.typeError(v, 'a string', kp);
    return undefined;
  }

  bool(v: unknown, kp: KeyPath): boolean | undefined {
    if (typeof v === 'boolean') return v;
    this.typeError(v, 'a boolean', kp);
    return undefined;
  }

  array(v: unknown, kp: KeyPath): unknown[] | undefined {
    if (Array.isArray(v)) return v;
    this.typeError(v, 'an array', kp);
    return undefined;
  }

  stringArray(v: unknown, kp: KeyPath): string[] {
    if (v === undefined) return [];
    const a = this.array(v, kp);
    if (a === undefined) return [];
    const out: string[] = [];
    a.forEach((item, i) => {
      const s = this.string(item, [...kp, i]);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  stringMap(v: unknown, kp: KeyPath): Record<string, string> {
    const out: Record<string, string> = {};
    if (v === undefined) return out;
    const t = this.table(v, kp);
    if (t === undefined) return out;
    for (const [k, val] of Object.entries(t)) {
      const s = this.string(val, [...kp, k]);
      if (s !== undefined) setKey(out, k, s);
    }
    return out;
  }

  optString(t: Table, key: string, kp: KeyPath): string | undefined {
    return t[key] === undefined ? undefined : this.string(t[key], [...kp, key]);
  }

  /** Reports keys of `t` not in `allowed`, naming the allowed ones. */
  knownKeys(t: Table, allowed: readonly string[], kp: KeyPath): void {
    for (const k of Object.keys(t)) {
      if (!allowed.includes(k)) {
        const guess = closest(k, allowed);
        this.problems.add(
          'MANIFEST_UNKNOWN_FIELD',
          `unknown field \`${k}\`${kp.length > 0 ? ` in \`${showPath(kp)}\`` : ''}${guess === undefined ? '' : ` (did you mean \`${guess}\`?)`}, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`,
          [...kp, k],
          'key',
        );
      }
    }
  }

  required(t: Table, key: string, kp: KeyPath): boolean {
    if (t[key] !== undefined) return true;
    this.problems.add('MANIFEST_MISSING_FIELD', `missing field \`${key}\`${kp.length > 0 ? ` in \`${showPath(kp)}\`` : ''}`, kp, 'key');
    return false;
  }
}

/** The allowed name nearest to a misspelt one (edit distance ≤ 2), if any. */
export function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o);
    if (d < bestDistance) {
      bestDistance = d;
      best = o;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Sets a key without triggering `__proto__` semantics. */
export function setKey<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** TOML value → JSON (dates as RFC 3339 strings, big integers as numbers). */
export function tomlToJson(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(tomlToJson);
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v as Table)) setKey(out, k, tomlToJson(val));
  return out;
}
