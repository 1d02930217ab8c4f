/**
 * The older database interfaces adapted from the newest, as Spin does
 * (crates/world/src/conversions.rs): spin:postgres@4.x is the core model; spin:postgres@3.0.0,
 * `fermyon:spin/rdbms-types@2.0.0` and Spin 1's unversioned types are views of it. MySQL's core
 * model is rdbms-types@2.0.0, whose Spin 1 form differs only in its error variant.
 */
import type { PgError, PgRowSet } from '../../services/postgres-service.js';
import type { PgDbValue, PgParameterValue } from '../../services/pg-values.js';
import type { RdbmsDataType, RdbmsDbValue, RdbmsParameterValue } from '../../services/mysql-values.js';
import type { RdbmsError } from '../../services/mysql-service.js';

const V3_TYPES = new Set(['boolean', 'int8', 'int16', 'int32', 'int64', 'floating32', 'floating64', 'str', 'binary', 'date', 'time', 'datetime', 'timestamp']);
const V2_TYPES = new Set(['boolean', 'int8', 'int16', 'int32', 'int64', 'floating32', 'floating64', 'str', 'binary']);

/** spin:postgres@3.0.0 `row-set`: `db-data-type` is an enum and `unsupported` has no payload. */
export function pgRowSetV3(rowSet: PgRowSet): { columns: Array<{ name: string; dataType: string }>; rows: unknown[][] } {
  return {
    columns: rowSet.columns.map((c) => ({ name: c.name, dataType: V3_TYPES.has(c.dataType.tag) ? c.dataType.tag : 'other' })),
    rows: rowSet.rows.map((row) => row.map((v) => (V3_TYPES.has(v.tag) || v.tag === 'db-null' ? v : { tag: 'unsupported' }))),
  };
}

/** rdbms-types `row-set` (fermyon:spin/postgres@2.0.0 and Spin 1): basic types only. */
export function pgRowSetV2(rowSet: PgRowSet): { columns: Array<{ name: string; dataType: RdbmsDataType }>; rows: RdbmsDbValue[][] } {
  return {
    columns: rowSet.columns.map((c) => ({ name: c.name, dataType: (V2_TYPES.has(c.dataType.tag) ? c.dataType.tag : 'other') as RdbmsDataType })),
    rows: rowSet.rows.map((row) => row.map((v: PgDbValue) => (V2_TYPES.has(v.tag) || v.tag === 'db-null' ? (v as RdbmsDbValue) : { tag: 'unsupported' }))),
  };
}

/** A spin:postgres@4 error in the v3/v2 shape: a structured query error becomes its text. */
export function pgErrorV3(error: PgError): { tag: string; val: string } {
  if (error.tag === 'query-failed') return { tag: 'query-failed', val: error.val.tag === 'text' ? error.val.val : error.val.val.asText };
  return error;
}

/** Spin 1's `pg-error`: as v3, with `other` named `other-error`. */
export function pgErrorV1(error: PgError): { tag: string; val: string } {
  const e = pgErrorV3(error);
  return e.tag === 'other' ? { tag: 'other-error', val: e.val } : e;
}

/** Spin 1's `mysql-error` from the rdbms-types error. */
export function mysqlErrorV1(error: RdbmsError): { tag: string; val: string } {
  return error.tag === 'other' ? { tag: 'other-error', val: error.val } : error;
}

/**
 * rdbms-types parameters for PostgreSQL, which has no unsigned integers.
 * @returns the message Spin gives when one is passed
 */
export function pgParamsFromRdbms(params: readonly RdbmsParameterValue[]): PgParameterValue[] | string {
  const out: PgParameterValue[] = [];
  for (const p of params) {
    if (p.tag === 'uint8' || p.tag === 'uint16' || p.tag === 'uint32' || p.tag === 'uint64') return 'Postgres does not support unsigned integers';
    out.push(p as PgParameterValue);
  }
  return out;
}
