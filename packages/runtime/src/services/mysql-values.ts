/**
 * MySQL values as `fermyon:spin/rdbms-types@2.0.0` defines them, mapped the way Spin's
 * factor-outbound-mysql does (crates/factor-outbound-mysql/src/client.rs): column types from
 * the protocol's type code and flags, parameters typed as mysql_async sends them.
 */
import type Mysql from 'mysql2';
import { onFirstUse } from '../load-on-first-use.js';

/** mysql2, loaded with the first MySQL statement. */
const mysql = onFirstUse<typeof Mysql>('mysql2');

/** `parameter-value` (rdbms-types) */
export type RdbmsParameterValue =
  | { tag: 'boolean'; val: boolean }
  | { tag: 'int8' | 'int16' | 'int32' | 'uint8' | 'uint16' | 'uint32' | 'floating32' | 'floating64'; val: number }
  | { tag: 'int64' | 'uint64'; val: bigint }
  | { tag: 'str'; val: string }
  | { tag: 'binary'; val: Uint8Array }
  | { tag: 'db-null' };

/** `db-value` (rdbms-types) */
export type RdbmsDbValue = RdbmsParameterValue | { tag: 'unsupported' };

/** `db-data-type` (rdbms-types): an enum, so jco gives its case names as strings. */
export type RdbmsDataType =
  | 'boolean' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'floating32' | 'floating64' | 'str' | 'binary' | 'other';

/** A value that does not fit its column's interface type. */
export class MysqlValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MysqlValueError';
  }
}

// Protocol type codes (include/mysql_com.h enum_field_types) and column flags.
const T = { DECIMAL: 0, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, LONGLONG: 8, INT24: 9, YEAR: 13, NEWDECIMAL: 246, MEDIUM_BLOB: 250, LONG_BLOB: 251, BLOB: 252, VAR_STRING: 253, STRING: 254 };
const UNSIGNED_FLAG = 32;
const BINARY_FLAG = 128;
const NUMERIC = new Set([T.DECIMAL, T.TINY, T.SHORT, T.LONG, T.FLOAT, T.DOUBLE, T.NULL, T.LONGLONG, T.INT24, T.YEAR, T.NEWDECIMAL]);

/** The interface type of a result column, as Spin derives it. */
export function mysqlDataType(columnType: number, flags: number): RdbmsDataType {
  if (NUMERIC.has(columnType)) {
    const signed = (flags & UNSIGNED_FLAG) === 0;
    switch (columnType) {
      case T.DOUBLE:
        return 'floating64';
      case T.FLOAT:
        return 'floating32';
      case T.INT24:
      case T.LONG:
        return signed ? 'int32' : 'uint32';
      case T.LONGLONG:
        return signed ? 'int64' : 'uint64';
      case T.SHORT:
        return signed ? 'int16' : 'uint16';
      case T.TINY:
        return signed ? 'int8' : 'uint8';
      default:
        return 'other';
    }
  }
  const binary = (flags & BINARY_FLAG) !== 0;
  switch (columnType) {
    case T.BLOB:
      return binary ? 'binary' : 'str';
    case T.LONG_BLOB:
    case T.MEDIUM_BLOB:
      return 'binary';
    case T.STRING:
    case T.VAR_STRING:
      return binary ? 'binary' : 'str';
    default:
      return 'other';
  }
}

const RANGES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n], int16: [-32768n, 32767n], int32: [-2147483648n, 2147483647n], int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 255n], uint16: [0n, 65535n], uint32: [0n, 4294967295n], uint64: [0n, 2n ** 64n - 1n],
};

/**
 * One field as mysql2 gives it (numbers, big numbers as strings, Buffers, strings) in the
 * column's interface type.
 * @throws MysqlValueError for an `other` column or a value out of the type's range
 */
export function mysqlValue(raw: unknown, dataType: RdbmsDataType, column: string): RdbmsDbValue {
  if (raw === null || raw === undefined) return { tag: 'db-null' };
  switch (dataType) {
    case 'binary':
      return { tag: 'binary', val: raw instanceof Uint8Array ? new Uint8Array(raw) : new TextEncoder().encode(String(raw)) };
    case 'str':
      return { tag: 'str', val: raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : String(raw) };
    case 'floating32':
      return { tag: 'floating32', val: Math.fround(Number(raw)) };
    case 'floating64':
      return { tag: 'floating64', val: Number(raw) };
    case 'boolean':
      return { tag: 'boolean', val: Boolean(Number(raw)) };
    case 'other':
      throw new MysqlValueError(`Cannot convert value ${describe(raw)} in column ${column} data type Other`);
    default: {
      const range = RANGES[dataType] as [bigint, bigint];
      let n: bigint;
      try {
        n = BigInt(raw instanceof Uint8Array ? Buffer.from(raw).toString() : (raw as string | number | bigint));
      } catch {
        throw new MysqlValueError(`Cannot convert value ${describe(raw)} in column ${column} to ${dataType}`);
      }
      if (n < range[0] || n > range[1]) throw new MysqlValueError(`Cannot convert value ${describe(raw)} in column ${column} to ${dataType}`);
      return dataType === 'int64' || dataType === 'uint64' ? { tag: dataType, val: n } : { tag: dataType, val: Number(n) };
    }
  }
}

function describe(raw: unknown): string {
  const text = raw instanceof Uint8Array ? `bytes(${raw.length})` : String(raw);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** A parameter typed as Spin's client sends it: integers as (UNSIGNED) BIGINT, floats as FLOAT/DOUBLE. */
export function mysqlParameter(value: RdbmsParameterValue): unknown {
  const typed = mysql().TypedParameter;
  switch (value.tag) {
    case 'db-null':
      return null;
    case 'boolean':
      return typed.LONGLONG(value.val ? 1n : 0n);
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return typed.LONGLONG(BigInt(value.val));
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
      return typed.LONGLONG.unsigned(BigInt(value.val));
    case 'floating32':
      return typed.FLOAT(value.val);
    case 'floating64':
      return typed.DOUBLE(value.val);
    case 'str':
      return value.val;
    case 'binary':
      return Buffer.from(value.val.buffer, value.val.byteOffset, value.val.byteLength);
  }
}
