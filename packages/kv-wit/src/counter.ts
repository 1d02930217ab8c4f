import { KvCounterOverflowError, KvNotACounterError } from './errors.js';

const MIN_S64 = -(1n << 63n);
const MAX_S64 = (1n << 63n) - 1n;

/** Decodes Spin's counter layout (8-byte little-endian i64); absent counts as 0. */
export function decodeCounter(key: string, value: Uint8Array | undefined): bigint {
  if (value === undefined) return 0n;
  if (value.byteLength !== 8) throw new KvNotACounterError(key, value.byteLength);
  return new DataView(value.buffer, value.byteOffset, 8).getBigInt64(0, true);
}

/** Encodes a counter as 8-byte little-endian i64. */
export function encodeCounter(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, value, true);
  return bytes;
}

/** `current + delta`, refusing to leave the s64 range (Spin's SQLite store would wrap or panic). */
export function addCounter(key: string, current: bigint, delta: bigint): bigint {
  const next = current + delta;
  if (next < MIN_S64 || next > MAX_S64) throw new KvCounterOverflowError(key);
  return next;
}

/** Throws unless `delta` is a bigint in the s64 range. */
export function isS64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= MIN_S64 && value <= MAX_S64;
}
