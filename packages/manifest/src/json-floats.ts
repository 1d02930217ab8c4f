/**
 * Floats in the locked app as Spin writes them. serde_json keeps a TOML float an f64 and writes it
 * with ryu (`1.0`, `1e20`, `1.5e-7`), where a JavaScript number cannot tell `1.0` from `1`. A
 * float with an integral value is therefore marked on the object or array holding it (a hidden
 * property, so the value stays a plain number for every reader); locking sets the marks from the
 * TOML text, and {@link stringifyJson} writes marked and non-integral numbers as ryu does.
 *
 * JSON read back (`parseLockedApp`) carries no marks: Node's JSON.parse does not say whether it
 * read `1.0` or `1`.
 */
import { parse as parseToml } from 'smol-toml';
import type { JsonObject, JsonValue } from './locked-app.js';

const FLOAT_KEYS = Symbol('spinel.floatKeys');

type Marked = { [FLOAT_KEYS]?: Set<string> };

function marksOf(container: object): Set<string> | undefined {
  return (container as Marked)[FLOAT_KEYS];
}

function mark(container: object, key: string): void {
  let keys = marksOf(container);
  if (keys === undefined) {
    keys = new Set();
    Object.defineProperty(container, FLOAT_KEYS, { value: keys, enumerable: false });
  }
  keys.add(key);
}

/** Whether `container[key]` is a float with an integral value (`1.0`). */
export function isMarkedFloat(container: object, key: string | number): boolean {
  return marksOf(container)?.has(String(key)) === true;
}

/** Gives `to` the float marks of `from` (its own keys only: `to` holds the same keys). */
export function carryFloatMarks(from: object, to: object): void {
  const keys = marksOf(from);
  if (keys !== undefined) for (const key of keys) mark(to, key);
}

/** Gives `to` (a copy of `from`, the same shape) the float marks of `from`, at every depth. */
export function copyFloatMarks(from: unknown, to: unknown): void {
  if (from === null || typeof from !== 'object' || to === null || typeof to !== 'object' || ArrayBuffer.isView(from)) return;
  carryFloatMarks(from, to);
  for (const [key, value] of Object.entries(from)) copyFloatMarks(value, (to as Record<string, unknown>)[key]);
}

/**
 * A deep copy of `value` with the integral numbers that `twin` (the same place in the TOML read
 * with integers as BigInt, so that floats are the only numbers) holds as floats marked.
 */
export function markTomlFloats(value: JsonValue, twin: unknown): JsonValue {
  if (Array.isArray(value)) {
    const out = value.map((v, i) => markTomlFloats(v, Array.isArray(twin) ? twin[i] : undefined));
    value.forEach((v, i) => {
      if (typeof v === 'number' && Array.isArray(twin) && typeof twin[i] === 'number') mark(out, String(i));
    });
    return out;
  }
  if (value === null || typeof value !== 'object') return value;
  const table = twin !== null && typeof twin === 'object' && !Array.isArray(twin) ? (twin as Record<string, unknown>) : undefined;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const t = table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
    Object.defineProperty(out, key, { value: markTomlFloats(v, t), enumerable: true, writable: true, configurable: true });
    if (typeof v === 'number' && typeof t === 'number') mark(out, key);
  }
  return out;
}

/** Whether `value` holds an integral number anywhere (only those can need a mark). */
export function hasIntegralNumber(value: JsonValue | undefined): boolean {
  if (typeof value === 'number') return Number.isInteger(value);
  if (value === null || typeof value !== 'object') return false;
  return (Array.isArray(value) ? value : Object.values(value)).some(hasIntegralNumber);
}

/** The TOML text read again with integers as BigInt, once and only when asked. */
export function tomlTwin(text: string | undefined): (path: readonly (string | number)[]) => unknown {
  let root: unknown;
  return (path) => {
    if (text === undefined) return undefined;
    root ??= parseToml(text, { integersAsBigInt: true });
    let at: unknown = root;
    for (const key of path) {
      if (at === null || typeof at !== 'object') return undefined;
      at = Object.hasOwn(at, key) ? (at as Record<string | number, unknown>)[key] : undefined;
    }
    return at;
  };
}

/** An i64 or u64 prints as an integer in serde_json; a larger integral number can only be an f64. */
const INTEGER_LIMIT = 2 ** 64;

/**
 * The text serde_json writes for an f64: ryu's shortest digits, as `1.0`, `0.001`, `1e16`,
 * `1.5e-7` (plain decimals from 1e-5 up to 1e16); `null` when not finite.
 */
export function formatF64(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  // toExponential() gives the shortest digits that read back as v, as ryu does.
  const [mantissa = '', exponent = '0'] = Math.abs(v).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const length = digits.length;
  const kk = Number(exponent) + 1; // 10^(kk-1) <= |v| < 10^kk
  const k = kk - length; // |v| = digits × 10^k
  let text: string;
  if (k >= 0 && kk <= 16) text = `${digits}${'0'.repeat(k)}.0`;
  else if (kk > 0 && kk <= 16) text = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  else if (kk > -5 && kk <= 0) text = `0.${'0'.repeat(-kk)}${digits}`;
  else if (length === 1) text = `${digits}e${kk - 1}`;
  else text = `${digits[0] ?? ''}.${digits.slice(1)}e${kk - 1}`;
  return v < 0 ? `-${text}` : text;
}

function numberText(v: number, float: boolean): string {
  if (!float && Number.isInteger(v) && Math.abs(v) < INTEGER_LIMIT) return String(Object.is(v, -0) ? 0 : v);
  return formatF64(v);
}

/**
 * JSON text as serde_json writes it: `pretty` as `to_string_pretty` (two-space indent), otherwise
 * compact; integers as integers, floats (marked, or not integral) as {@link formatF64}.
 */
export function stringifyJson(value: JsonValue, pretty: boolean): string {
  const out: string[] = [];
  write(value, false, '');
  return out.join('');

  function write(v: JsonValue, float: boolean, indent: string): void {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') {
      out.push(JSON.stringify(v));
      return;
    }
    if (typeof v === 'number') {
      out.push(numberText(v, float));
      return;
    }
    const entries: Array<[string | undefined, JsonValue, boolean]> = Array.isArray(v)
      ? v.map((item, i) => [undefined, item, isMarkedFloat(v, i)])
      : Object.keys(v).map((key) => [key, v[key] as JsonValue, isMarkedFloat(v, key)]);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) {
      out.push(open, close);
      return;
    }
    const inner = pretty ? `${indent}  ` : '';
    out.push(open);
    entries.forEach(([key, item, itemFloat], i) => {
      if (i > 0) out.push(',');
      if (pretty) out.push('\n', inner);
      if (key !== undefined) out.push(JSON.stringify(key), pretty ? ': ' : ':');
      write(item, itemFloat, inner);
    });
    if (pretty) out.push('\n', indent);
    out.push(close);
  }
}
