/**
 * PostgreSQL values as `spin:postgres/postgres@4.x` defines them (the newest sync version; the
 * older interfaces are adapted from it, as Spin does in crates/world/src/conversions.rs), and
 * their conversion to and from PostgreSQL's text format. Text, not binary: node-postgres reads
 * binary result fields as UTF-8 strings, which would corrupt them.
 */
import { civilFromDays, daysFromCivil, isValidDate } from './civil-time.js';

export type RangeBoundKind = 'inclusive' | 'exclusive';
/** `option<tuple<T, range-bound-kind>>` */
export type RangeBound<T> = [T, RangeBoundKind] | undefined;
/** `tuple<option<…>, option<…>>`: lower and upper bound. */
export type PgRange<T> = [RangeBound<T>, RangeBound<T>];
export type PgDate = [year: number, month: number, day: number];
export type PgTime = [hour: number, minute: number, second: number, nanosecond: number];
export type PgDatetime = [year: number, month: number, day: number, hour: number, minute: number, second: number, nanosecond: number];
export interface PgInterval {
  micros: bigint;
  days: number;
  months: number;
}

/** `parameter-value` of spin:postgres@4.x, in jco's shape. */
export type PgParameterValue =
  | { tag: 'boolean'; val: boolean }
  | { tag: 'int8' | 'int16' | 'int32'; val: number }
  | { tag: 'int64'; val: bigint }
  | { tag: 'floating32' | 'floating64'; val: number }
  | { tag: 'str'; val: string }
  | { tag: 'binary'; val: Uint8Array }
  | { tag: 'date'; val: PgDate }
  | { tag: 'time'; val: PgTime }
  | { tag: 'datetime'; val: PgDatetime }
  | { tag: 'timestamp'; val: bigint }
  | { tag: 'uuid'; val: string }
  | { tag: 'jsonb'; val: Uint8Array }
  | { tag: 'decimal'; val: string }
  | { tag: 'range-int32'; val: PgRange<number> }
  | { tag: 'range-int64'; val: PgRange<bigint> }
  | { tag: 'range-decimal'; val: PgRange<string> }
  | { tag: 'array-int32'; val: Array<number | undefined> }
  | { tag: 'array-int64'; val: Array<bigint | undefined> }
  | { tag: 'array-decimal'; val: Array<string | undefined> }
  | { tag: 'array-str'; val: Array<string | undefined> }
  | { tag: 'interval'; val: PgInterval }
  | { tag: 'db-null' };

/** `db-value` of spin:postgres@4.x. */
export type PgDbValue = Exclude<PgParameterValue, { tag: 'db-null' }> | { tag: 'db-null' } | { tag: 'unsupported'; val: Uint8Array };

/** The cases of `db-data-type` that carry no payload. */
export type PgSimpleDataType =
        | 'boolean' | 'int8' | 'int16' | 'int32' | 'int64' | 'floating32' | 'floating64' | 'str' | 'binary'
        | 'date' | 'time' | 'datetime' | 'timestamp' | 'uuid' | 'jsonb' | 'decimal'
        | 'range-int32' | 'range-int64' | 'range-decimal' | 'array-int32' | 'array-int64' | 'array-decimal' | 'array-str' | 'interval';

/** `db-data-type` of spin:postgres@4.x. */
export type PgDataType = { tag: PgSimpleDataType } | { tag: 'other'; val: string };

/** A conversion failed; the message says which value and why. */
export class PgValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgValueError';
  }
}

// Built-in type OIDs (pg_type.dat) that the interface has a case for.
const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, text: 25, float4: 700, float8: 701, bpchar: 1042, varchar: 1043,
  date: 1082, time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, numeric: 1700, uuid: 2950, jsonb: 3802,
  int4range: 3904, numrange: 3906, int8range: 3926, int4Array: 1007, int8Array: 1016, textArray: 1009, varcharArray: 1015,
  bpcharArray: 1014, numericArray: 1231,
} as const;

const DATA_TYPES = new Map<number, PgSimpleDataType>([
  [OID.bool, 'boolean'], [OID.bytea, 'binary'], [OID.float4, 'floating32'], [OID.float8, 'floating64'], [OID.int2, 'int16'],
  [OID.int4, 'int32'], [OID.int8, 'int64'], [OID.text, 'str'], [OID.varchar, 'str'], [OID.bpchar, 'str'],
  [OID.timestamp, 'datetime'], [OID.timestamptz, 'datetime'], [OID.date, 'date'], [OID.time, 'time'], [OID.uuid, 'uuid'],
  [OID.jsonb, 'jsonb'], [OID.numeric, 'decimal'], [OID.int4range, 'range-int32'], [OID.int8range, 'range-int64'],
  [OID.numrange, 'range-decimal'], [OID.int4Array, 'array-int32'], [OID.int8Array, 'array-int64'], [OID.numericArray, 'array-decimal'],
  [OID.textArray, 'array-str'], [OID.varcharArray, 'array-str'], [OID.bpcharArray, 'array-str'], [OID.interval, 'interval'],
]);

/** Names of other common built-in types, for `other(name)` without asking the server. */
export const BUILTIN_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [18, 'char'], [19, 'name'], [24, 'regproc'], [26, 'oid'], [27, 'tid'], [28, 'xid'], [29, 'cid'], [114, 'json'], [142, 'xml'],
  [600, 'point'], [601, 'lseg'], [602, 'path'], [603, 'box'], [604, 'polygon'], [628, 'line'], [650, 'cidr'], [718, 'circle'],
  [774, 'macaddr8'], [790, 'money'], [829, 'macaddr'], [869, 'inet'], [1000, '_bool'], [1001, '_bytea'], [1005, '_int2'],
  [1021, '_float4'], [1022, '_float8'], [1182, '_date'], [1115, '_timestamp'], [1185, '_timestamptz'], [1266, 'timetz'],
  [1560, 'bit'], [1562, 'varbit'], [2249, 'record'], [2278, 'void'], [2950, 'uuid'], [2951, '_uuid'], [3614, 'tsvector'],
  [3615, 'tsquery'], [3807, '_jsonb'], [199, '_json'], [3912, 'daterange'], [3908, 'tsrange'], [3910, 'tstzrange'], [705, 'unknown'],
]);

/** The interface's data type of a column type; `typeName` names the ones it has no case for. */
export function dataTypeOf(oid: number, typeName: string): PgDataType {
  const tag = DATA_TYPES.get(oid);
  return tag === undefined ? { tag: 'other', val: typeName } : { tag };
}

/** Whether values of this type are converted (others come back as `unsupported`). */
export function isSupportedType(oid: number): boolean {
  return DATA_TYPES.has(oid);
}

/**
 * One field of a result row, from PostgreSQL's text output (`DateStyle=ISO`,
 * `IntervalStyle=postgres`, `bytea_output=hex`, which the service sets at connection start).
 * @throws PgValueError when the text is not what the type's output function writes
 */
export function decodeText(oid: number, text: string | null): PgDbValue {
  if (text === null) return { tag: 'db-null' };
  switch (oid) {
    case OID.bool:
      return { tag: 'boolean', val: text === 't' };
    case OID.bytea:
      return { tag: 'binary', val: decodeBytea(text) };
    case OID.int2:
      return { tag: 'int16', val: Number(text) };
    case OID.int4:
      return { tag: 'int32', val: Number(text) };
    case OID.int8:
      return { tag: 'int64', val: BigInt(text) };
    case OID.float4:
      return { tag: 'floating32', val: Math.fround(Number(text)) };
    case OID.float8:
      return { tag: 'floating64', val: Number(text) };
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
      return { tag: 'str', val: text };
    case OID.timestamp:
      return { tag: 'datetime', val: parseTimestamp(text, false) };
    case OID.timestamptz:
      return { tag: 'datetime', val: parseTimestamp(text, true) };
    case OID.date:
      return { tag: 'date', val: parseDate(text) };
    case OID.time:
      return { tag: 'time', val: parseTime(text) };
    case OID.uuid:
      return { tag: 'uuid', val: text };
    case OID.jsonb:
      return { tag: 'jsonb', val: new TextEncoder().encode(compactJson(text)) };
    case OID.numeric:
      return { tag: 'decimal', val: text };
    case OID.int4range:
      return { tag: 'range-int32', val: parseRange(text, Number) };
    case OID.int8range:
      return { tag: 'range-int64', val: parseRange(text, BigInt) };
    case OID.numrange:
      return { tag: 'range-decimal', val: parseRange(text, (s) => s) };
    case OID.int4Array:
      return { tag: 'array-int32', val: parseArray(text).map((v) => (v === undefined ? undefined : Number(v))) };
    case OID.int8Array:
      return { tag: 'array-int64', val: parseArray(text).map((v) => (v === undefined ? undefined : BigInt(v))) };
    case OID.numericArray:
      return { tag: 'array-decimal', val: parseArray(text) };
    case OID.textArray:
    case OID.varcharArray:
    case OID.bpcharArray:
      return { tag: 'array-str', val: parseArray(text) };
    case OID.interval:
      return { tag: 'interval', val: parseInterval(text) };
    default:
      return { tag: 'unsupported', val: new TextEncoder().encode(text) };
  }
}

/**
 * A parameter as node-postgres sends it: text (the server parses it as the type it infers for
 * the placeholder), a Buffer (sent in binary, exactly these bytes), or null.
 * @throws PgValueError for a value the interface's type cannot hold (invalid date, UUID, JSON, decimal…)
 */
export function encodeParameter(value: PgParameterValue): string | Buffer | null {
  switch (value.tag) {
    case 'db-null':
      return null;
    case 'boolean':
      return value.val ? 't' : 'f';
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return String(value.val);
    case 'floating32':
    case 'floating64':
      return floatText(value.val);
    case 'str':
      return value.val;
    case 'binary':
      return Buffer.from(value.val.buffer, value.val.byteOffset, value.val.byteLength);
    case 'date':
      return dateText(value.val);
    case 'time':
      return timeText(value.val);
    case 'datetime': {
      const [y, mo, d, h, mi, s, ns] = value.val;
      // "+00": UTC for timestamptz; a timestamp (without time zone) ignores a written offset.
      return `${dateText([y, mo, d], false)} ${timeText([h, mi, s, ns])}+00${y <= 0 ? ' BC' : ''}`;
    }
    case 'timestamp': {
      const seconds = value.val;
      const days = Number(floorDiv(seconds, 86_400n));
      const rest = Number(seconds - BigInt(days) * 86_400n);
      const [y, mo, d] = civilFromDays(days);
      return `${dateText([y, mo, d], false)} ${timeText([Math.floor(rest / 3600), Math.floor(rest / 60) % 60, rest % 60, 0])}+00${y <= 0 ? ' BC' : ''}`;
    }
    case 'uuid':
      if (!/^(urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(value.val)) throw new PgValueError(`invalid UUID ${value.val}`);
      return value.val;
    case 'jsonb': {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(value.val);
      try {
        JSON.parse(text);
      } catch {
        throw new PgValueError(`invalid JSON ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`);
      }
      return text;
    }
    case 'decimal':
      return decimalText(value.val);
    case 'range-int32':
    case 'range-int64':
      return rangeText(value.val, String);
    case 'range-decimal':
      return rangeText(value.val, decimalText);
    case 'array-int32':
    case 'array-int64':
      return arrayText(value.val.map((v) => (v === undefined ? undefined : String(v))));
    case 'array-decimal':
      return arrayText(value.val.map((v) => (v === undefined ? undefined : decimalText(v))));
    case 'array-str':
      return arrayText(value.val);
    case 'interval':
      return `${value.val.months} mons ${value.val.days} days ${value.val.micros} microseconds`;
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function floatText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function dateText([y, mo, d]: PgDate, withEra = true): string {
  if (!isValidDate(y, mo, d)) throw new PgValueError(`invalid date y=${y}, m=${mo}, d=${d}`);
  // PostgreSQL writes years before 1 as "BC" with no year 0 (astronomical 0 is 1 BC).
  const year = y <= 0 ? 1 - y : y;
  return `${pad(year, 4)}-${pad(mo, 2)}-${pad(d, 2)}${withEra && y <= 0 ? ' BC' : ''}`;
}

function timeText([h, mi, s, ns]: PgTime): string {
  if (![h, mi, s, ns].every(Number.isInteger) || h > 23 || mi > 59 || s > 59 || ns < 0 || ns > 999_999_999) {
    throw new PgValueError(`invalid time ${h}:${mi}:${s}:${ns}`);
  }
  return `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ns, 9)}`;
}

function decimalText(s: string): string {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s.trim())) throw new PgValueError(`invalid decimal ${s}`);
  return s.trim();
}

function rangeText<T>([lower, upper]: PgRange<T>, text: (v: T) => string): string {
  const open = lower === undefined ? '(' : lower[1] === 'inclusive' ? '[' : '(';
  const close = upper === undefined ? ')' : upper[1] === 'inclusive' ? ']' : ')';
  return `${open}${lower === undefined ? '' : text(lower[0])},${upper === undefined ? '' : text(upper[0])}${close}`;
}

function arrayText(items: ReadonlyArray<string | undefined>): string {
  return `{${items.map((v) => (v === undefined ? 'NULL' : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)).join(',')}}`;
}

function decodeBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new PgValueError('bytea value is not in hex format (bytea_output must be hex)');
  return new Uint8Array(Buffer.from(text.slice(2), 'hex'));
}

function parseDate(text: string): PgDate {
  const m = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/.exec(text);
  if (m === null) throw new PgValueError(`cannot convert date ${text}`);
  const year = Number(m[1]);
  return [m[4] === undefined ? year : 1 - year, Number(m[2]), Number(m[3])];
}

function parseTime(text: string): PgTime {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(text);
  if (m === null) throw new PgValueError(`cannot convert time ${text}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number((m[4] ?? '').padEnd(9, '0'))];
}

function parseTimestamp(text: string, withZone: boolean): PgDatetime {
  const m = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?( BC)?$/.exec(text);
  if (m === null) throw new PgValueError(`cannot convert timestamp ${text}`);
  const year = m[12] === undefined ? Number(m[1]) : 1 - Number(m[1]);
  const [mo, d] = [Number(m[2]), Number(m[3])];
  let [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6])];
  const ns = Number((m[7] ?? '').padEnd(9, '0'));
  if (!withZone || m[8] === undefined) return [year, mo, d, h, mi, s, ns];
  // timestamptz is shown in the session's time zone: bring it back to UTC.
  const offset = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
  let seconds = daysFromCivil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const [y, month, day] = civilFromDays(days);
  [h, mi, s] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  return [y, month, day, h, mi, s, ns];
}

/** `1 year 2 mons -3 days +04:05:06.789` (IntervalStyle postgres). */
function parseInterval(text: string): PgInterval {
  let months = 0;
  let days = 0;
  let micros = 0n;
  const tokens = text.trim().split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const clock = /^([+-])?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(token);
    if (clock !== null) {
      const value = (BigInt(clock[2] ?? 0) * 3600n + BigInt(clock[3] ?? 0) * 60n + BigInt(clock[4] ?? 0)) * 1_000_000n + BigInt((clock[5] ?? '').padEnd(6, '0'));
      micros += clock[1] === '-' ? -value : value;
      continue;
    }
    const unit = tokens[i + 1] ?? '';
    if (!/^[+-]?\d+$/.test(token)) throw new PgValueError(`cannot convert interval ${text}`);
    const n = Number(token);
    i++;
    if (/^years?$/.test(unit)) months += n * 12;
    else if (/^mons?$/.test(unit)) months += n;
    else if (/^days?$/.test(unit)) days += n;
    else throw new PgValueError(`cannot convert interval ${text}`);
  }
  return { micros, days, months };
}

function parseRange<T>(text: string, convert: (s: string) => T): PgRange<T> {
  // Spin reads an empty range as one with no bounds, like postgres_range's lower()/upper().
  if (text === 'empty') return [undefined, undefined];
  const m = /^([[(])("(?:[^"\\]|\\.)*"|[^,]*),("(?:[^"\\]|\\.)*"|[^\])]*)([\])])$/.exec(text);
  if (m === null) throw new PgValueError(`cannot convert range ${text}`);
  const unquote = (s: string): string => (s.startsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s);
  const lower = m[2] ?? '';
  const upper = m[3] ?? '';
  return [
    lower === '' ? undefined : [convert(unquote(lower)), m[1] === '[' ? 'inclusive' : 'exclusive'],
    upper === '' ? undefined : [convert(unquote(upper)), m[4] === ']' ? 'inclusive' : 'exclusive'],
  ];
}

/** A one-dimensional array literal; NULL elements are undefined. */
function parseArray(text: string): Array<string | undefined> {
  let body = text;
  if (body.startsWith('[')) body = body.slice(body.indexOf('=') + 1); // explicit bounds "[0:1]={…}"
  if (!body.startsWith('{') || !body.endsWith('}')) throw new PgValueError(`cannot convert array ${text}`);
  const inner = body.slice(1, -1);
  if (inner === '') return [];
  if (inner.startsWith('{')) throw new PgValueError('cannot convert a multi-dimensional array: the interface has one-dimensional arrays only');
  const out: Array<string | undefined> = [];
  let i = 0;
  while (i <= inner.length) {
    if (inner[i] === '"') {
      let value = '';
      i++;
      while (i < inner.length && inner[i] !== '"') {
        if (inner[i] === '\\') i++;
        value += inner[i] ?? '';
        i++;
      }
      out.push(value);
      i += 2; // closing quote and comma
    } else {
      const comma = inner.indexOf(',', i);
      const raw = inner.slice(i, comma < 0 ? inner.length : comma);
      out.push(raw === 'NULL' ? undefined : raw);
      i = comma < 0 ? inner.length + 1 : comma + 1;
    }
  }
  return out;
}

/** jsonb's text with the whitespace outside strings removed (Spin re-serialises it compactly). */
function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\t' && ch !== '\r') out += ch;
  }
  return out;
}
