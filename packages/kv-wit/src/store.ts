/** One page of keys from {@link KvStore.listKeys}. */
export interface KeyPage {
  /** Keys of this page, at most the requested limit. */
  keys: string[];
  /** Opaque cursor for the next page; `undefined` on the last page. */
  cursor: string | undefined;
}

/** Options of {@link KvStore.listKeys}. */
export interface ListKeysOptions {
  /** Only keys that start with this string. @default '' */
  prefix?: string;
  /** The `cursor` of the previous page. */
  cursor?: string | undefined;
  /** Most keys in one page (1..10000). @default 1000 */
  limit?: number;
}

/** A key and its value (`undefined` when absent), as returned by `getMany`. */
export type KeyValueEntry = [key: string, value: Uint8Array | undefined];

/**
 * A key-value store bound to one label, synchronous. Memory and SQLite stores implement
 * it; the host bindings call it from inside a synchronous Wasm host call.
 *
 * Batch semantics (all backends): `getMany` answers every requested key in the order
 * asked, duplicates included, `undefined` for absent keys. `setMany` applies pairs in
 * order, so a later pair for the same key wins; it is all-or-nothing (every key and value
 * is checked against the limits before anything is written, and the write is one
 * transaction). `deleteMany` skips absent keys and tolerates duplicates.
 */
export interface KvStoreSync {
  /** The label this store answers to. */
  readonly label: string;
  /** The value of `key`, or `undefined` when absent. */
  get(key: string): Uint8Array | undefined;
  /** Stores `value` under `key`, replacing any previous value. */
  set(key: string, value: Uint8Array): void;
  /** Removes `key`; absent keys are not an error. */
  delete(key: string): void;
  /** Whether `key` has a value. */
  exists(key: string): boolean;
  /** Every key (use `listKeys` for large stores). */
  getKeys(): string[];
  /** One bounded page of keys, in a backend-defined order, resumable with its cursor. */
  listKeys(options?: ListKeysOptions): KeyPage;
  /** Values of several keys, see the batch semantics above. */
  getMany(keys: readonly string[]): KeyValueEntry[];
  /** Stores several pairs atomically, see the batch semantics above. */
  setMany(entries: ReadonlyArray<readonly [string, Uint8Array]>): void;
  /** Removes several keys. */
  deleteMany(keys: readonly string[]): void;
  /** Adds `delta` to the 8-byte little-endian counter at `key` (absent = 0); returns the new value. */
  increment(key: string, delta: bigint): bigint;
  /**
   * Writes `value` only if `key` still holds `expected` (`undefined`: only if absent).
   * @returns whether the write happened
   */
  compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): boolean;
}

/** The same store, asynchronous: every backend (memory, SQLite, Redis) offers this. */
export interface KvStore {
  readonly label: string;
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  getKeys(): Promise<string[]>;
  listKeys(options?: ListKeysOptions): Promise<KeyPage>;
  getMany(keys: readonly string[]): Promise<KeyValueEntry[]>;
  setMany(entries: ReadonlyArray<readonly [string, Uint8Array]>): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
  increment(key: string, delta: bigint): Promise<bigint>;
  compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): Promise<boolean>;
}

/** Wraps a synchronous store as a {@link KvStore} whose promises settle immediately. */
export function toAsyncStore(store: KvStoreSync): KvStore {
  const wrap = <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): Promise<R> => {
      try {
        return Promise.resolve(fn(...args));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  return {
    label: store.label,
    get: wrap((key: string) => store.get(key)),
    set: wrap((key: string, value: Uint8Array) => store.set(key, value)),
    delete: wrap((key: string) => store.delete(key)),
    exists: wrap((key: string) => store.exists(key)),
    getKeys: wrap(() => store.getKeys()),
    listKeys: wrap((options?: ListKeysOptions) => store.listKeys(options)),
    getMany: wrap((keys: readonly string[]) => store.getMany(keys)),
    setMany: wrap((entries: ReadonlyArray<readonly [string, Uint8Array]>) => store.setMany(entries)),
    deleteMany: wrap((keys: readonly string[]) => store.deleteMany(keys)),
    increment: wrap((key: string, delta: bigint) => store.increment(key, delta)),
    compareAndSwap: wrap((key: string, expected: Uint8Array | undefined, value: Uint8Array) =>
      store.compareAndSwap(key, expected, value)),
  };
}
