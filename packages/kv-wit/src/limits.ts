import { KvInvalidArgumentError, KvKeyTooLargeError, KvValueTooLargeError } from './errors.js';

/** Size limits every store enforces on writes and on key arguments. */
export interface KvLimits {
  /**
   * Longest key in UTF-8 bytes. Spin documents 256 bytes (its local SQLite store does not
   * enforce it); a longer key is refused with `KV_KEY_TOO_LARGE`.
   * @default 256
   */
  maxKeyBytes: number;
  /**
   * Largest value in bytes. Spin documents 1 MB; a larger value is refused with
   * `KV_VALUE_TOO_LARGE` instead of trapping the guest.
   * @default 1048576
   */
  maxValueBytes: number;
}

/** Spin's documented limits: keys 256 bytes, values 1 MiB. */
export const DEFAULT_KV_LIMITS: Readonly<KvLimits> = Object.freeze({ maxKeyBytes: 256, maxValueBytes: 1024 * 1024 });

/** Largest page `listKeys` returns, whatever limit is asked. */
export const MAX_LIST_LIMIT = 10_000;
/** Page size when none is asked. */
export const DEFAULT_LIST_LIMIT = 1000;

/** Fills in missing limits with the defaults and checks them. */
export function resolveLimits(limits: Partial<KvLimits> | undefined): KvLimits {
  const resolved = { ...DEFAULT_KV_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(value > 0)) throw new KvInvalidArgumentError(`${name} must be a positive number of bytes, got ${String(value)}`);
  }
  return resolved;
}

/** Throws unless `key` is a string within the key limit. */
export function checkKey(key: unknown, limits: KvLimits): asserts key is string {
  if (typeof key !== 'string') throw new KvInvalidArgumentError(`key must be a string, got ${typeof key}`);
  // Most keys are ASCII and short: only count UTF-8 bytes when the length could matter.
  if (key.length * 3 > limits.maxKeyBytes) {
    const size = Buffer.byteLength(key, 'utf8');
    if (size > limits.maxKeyBytes) throw new KvKeyTooLargeError(size, limits.maxKeyBytes);
  }
}

/** Throws unless `value` is a Uint8Array within the value limit. */
export function checkValue(value: unknown, limits: KvLimits): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KvInvalidArgumentError(`value must be a Uint8Array, got ${typeof value}`);
  if (value.byteLength > limits.maxValueBytes) throw new KvValueTooLargeError(value.byteLength, limits.maxValueBytes);
}

/** Resolves a page size: default, clamp to {@link MAX_LIST_LIMIT}, refuse nonsense. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new KvInvalidArgumentError(`list limit must be a positive integer, got ${String(limit)}`);
  return Math.min(limit, MAX_LIST_LIMIT);
}
