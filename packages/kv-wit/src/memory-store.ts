import { addCounter, decodeCounter, encodeCounter } from './counter.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { checkKey, checkValue, listLimit, resolveLimits } from './limits.js';
import type { KvLimits } from './limits.js';
import type { KeyPage, KeyValueEntry, KvStoreSync, ListKeysOptions } from './store.js';

/** Options of {@link MemoryKvStore}. */
export interface MemoryKvStoreOptions {
  /** Key and value size limits. @default DEFAULT_KV_LIMITS */
  limits?: Partial<KvLimits>;
}

const isAfterKey = (s: unknown): s is string => typeof s === 'string';

/**
 * A store held in this process's memory (Spin's store when there is no state dir). Values
 * are copied in and out, so a caller's buffer can be reused. Keys list in UTF-16 order.
 */
export class MemoryKvStore implements KvStoreSync {
  readonly label: string;
  readonly #limits: KvLimits;
  readonly #data = new Map<string, Uint8Array>();
  #sorted: string[] | undefined;

  constructor(label = 'default', options: MemoryKvStoreOptions = {}) {
    this.label = label;
    this.#limits = resolveLimits(options.limits);
  }

  get(key: string): Uint8Array | undefined {
    checkKey(key, this.#limits);
    const value = this.#data.get(key);
    return value === undefined ? undefined : value.slice();
  }

  set(key: string, value: Uint8Array): void {
    checkKey(key, this.#limits);
    checkValue(value, this.#limits);
    this.#put(key, value.slice());
  }

  delete(key: string): void {
    checkKey(key, this.#limits);
    if (this.#data.delete(key)) this.#sorted = undefined;
  }

  exists(key: string): boolean {
    checkKey(key, this.#limits);
    return this.#data.has(key);
  }

  getKeys(): string[] {
    return [...this.#data.keys()];
  }

  listKeys(options: ListKeysOptions = {}): KeyPage {
    const prefix = options.prefix ?? '';
    const limit = listLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, 'memory', prefix, isAfterKey);
    const sorted = (this.#sorted ??= [...this.#data.keys()].sort(compareStrings));
    let index = after === undefined ? lowerBound(sorted, prefix) : upperBound(sorted, after);
    const keys: string[] = [];
    while (index < sorted.length && keys.length < limit) {
      const key = sorted[index] as string;
      if (!key.startsWith(prefix)) break;
      keys.push(key);
      index += 1;
    }
    const more = index < sorted.length && (sorted[index] as string).startsWith(prefix);
    const last = keys[keys.length - 1];
    return { keys, cursor: more && last !== undefined ? encodeCursor('memory', prefix, last) : undefined };
  }

  getMany(keys: readonly string[]): KeyValueEntry[] {
    for (const key of keys) checkKey(key, this.#limits);
    return keys.map((key) => {
      const value = this.#data.get(key);
      return [key, value === undefined ? undefined : value.slice()];
    });
  }

  setMany(entries: ReadonlyArray<readonly [string, Uint8Array]>): void {
    for (const [key, value] of entries) {
      checkKey(key, this.#limits);
      checkValue(value, this.#limits);
    }
    for (const [key, value] of entries) this.#put(key, value.slice());
  }

  deleteMany(keys: readonly string[]): void {
    for (const key of keys) checkKey(key, this.#limits);
    for (const key of keys) if (this.#data.delete(key)) this.#sorted = undefined;
  }

  increment(key: string, delta: bigint): bigint {
    checkKey(key, this.#limits);
    const next = addCounter(key, decodeCounter(key, this.#data.get(key)), delta);
    this.#put(key, encodeCounter(next));
    return next;
  }

  compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): boolean {
    checkKey(key, this.#limits);
    checkValue(value, this.#limits);
    const current = this.#data.get(key);
    if (!sameBytes(current, expected)) return false;
    this.#put(key, value.slice());
    return true;
  }

  #put(key: string, value: Uint8Array): void {
    if (!this.#data.has(key)) this.#sorted = undefined;
    this.#data.set(key, value);
  }
}

/** Byte-wise equality where `undefined` (absent) equals only `undefined`. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(sorted: readonly string[], target: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: readonly string[], target: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
