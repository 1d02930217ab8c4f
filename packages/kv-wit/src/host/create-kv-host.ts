import { KvInvalidArgumentError, KvUnknownLabelError } from '../errors.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../limits.js';
import type { KeyValueEntry, KvStoreSync } from '../store.js';
import { otherError } from './guest-errors.js';
import type { LegacyKvError, SpinKvError, WasiKvError } from './guest-errors.js';

/** Options of {@link createKvHost}. */
export interface KvHostOptions {
  /** Labels this component lists in `key_value_stores`; any other label is `access-denied`. */
  allowedLabels: Iterable<string>;
  /** The app's stores by label, or a lookup; a label without a store is `no-such-store`. */
  stores: ReadonlyMap<string, KvStoreSync> | ((label: string) => KvStoreSync | undefined);
  /**
   * Most stores one instance may hold open at once (Spin's CLI: effectively unlimited;
   * its library default: 256). Beyond it `open` fails with `store-table-full`.
   * @default 1024
   */
  maxOpenStores?: number;
  /** Most compare-and-swap handles open at once. @default 1024 */
  maxOpenCas?: number;
  /** Keys per `wasi:keyvalue` `list-keys` page (1..10000). @default 1000 */
  listPageSize?: number;
}

/** The import objects for one instance, keyed as jco's generated glue reads them. */
export interface KvHostImports {
  /** jco drops versions from import names, so Spin 2 (`Store`) and Spin 1 (functions) share this object. */
  'fermyon:spin/key-value': LegacySpinKvImports & { Store: SpinStoreClass };
  'fermyon:spin/key-value@2.0.0': { Store: SpinStoreClass };
  'wasi:keyvalue/store': WasiStoreImports;
  'wasi:keyvalue/batch': WasiBatchImports;
  'wasi:keyvalue/atomics': WasiAtomicsImports;
  'wasi:keyvalue/store@0.2.0-draft2': WasiStoreImports;
  'wasi:keyvalue/batch@0.2.0-draft2': WasiBatchImports;
  'wasi:keyvalue/atomics@0.2.0-draft2': WasiAtomicsImports;
}

/** The host side of the key-value interfaces for one component instance. */
export interface KvHost {
  imports: KvHostImports;
  /** How many stores and compare-and-swap handles the instance holds open (for tests and metrics). */
  openHandles(): { stores: number; cas: number };
  /** Releases every handle of the instance; later calls through them fail with `no-such-store`. Idempotent. */
  dispose(): void;
}

/** `fermyon:spin/key-value@2.0.0` `store` resource, as jco expects an imported resource class. */
export interface SpinStore {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  exists(key: string): boolean;
  getKeys(): string[];
}
/** The class object: `Store.open(label)`. */
export interface SpinStoreClass {
  new (): never;
  open(label: string): SpinStore;
  readonly prototype: SpinStore;
}

/** `fermyon:spin/key-value` (Spin 1.x) functions over `u32` handles. */
export interface LegacySpinKvImports {
  open(name: string): number;
  get(store: number, key: string): Uint8Array;
  set(store: number, key: string, value: Uint8Array): void;
  delete(store: number, key: string): void;
  exists(store: number, key: string): boolean;
  getKeys(store: number): string[];
  close(store: number): void;
}

/** `wasi:keyvalue/store` `bucket` resource. */
export interface WasiBucket {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  exists(key: string): boolean;
  listKeys(cursor: string | undefined): { keys: string[]; cursor: string | undefined };
}
export interface WasiBucketClass {
  new (): never;
  readonly prototype: WasiBucket;
}
export interface WasiStoreImports {
  open(identifier: string): WasiBucket;
  Bucket: WasiBucketClass;
}
export interface WasiBatchImports {
  getMany(bucket: WasiBucket, keys: string[]): KeyValueEntry[];
  setMany(bucket: WasiBucket, keyValues: Array<[string, Uint8Array]>): void;
  deleteMany(bucket: WasiBucket, keys: string[]): void;
}
/** `wasi:keyvalue/atomics` `cas` resource. */
export interface WasiCas {
  current(): Uint8Array | undefined;
}
export interface WasiCasClass {
  new (): never;
  /** `cas.new`: a static function named `new`, not a constructor. */
  readonly new: (bucket: WasiBucket, key: string) => WasiCas;
  readonly prototype: WasiCas;
}
export interface WasiAtomicsImports {
  increment(bucket: WasiBucket, key: string, delta: bigint): bigint;
  swap(cas: WasiCas, value: Uint8Array): void;
  Cas: WasiCasClass;
}

/** Host state behind a store handle of any of the interfaces. */
interface OpenStore {
  store: KvStoreSync;
  open: boolean;
}

interface OpenCas {
  handle: OpenStore;
  key: string;
  snapshot: Uint8Array | undefined;
  open: boolean;
}

const STATE = Symbol('spinel.kv.state');
const DISPOSE = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
const DISPOSE_COMPAT = Symbol.for('dispose');

interface Stateful<S> {
  [STATE]?: S;
}

/**
 * Builds the key-value host for one component instance: `fermyon:spin/key-value@2.0.0`,
 * the Spin 1.x unversioned interface and `wasi:keyvalue@0.2.0-draft2` store/batch/atomics,
 * sharing one table of open stores. Resource classes are made per instance, so handles of
 * one instance are never valid in another. Call `dispose()` when the instance ends.
 *
 * Errors reach the guest as Spin's variants: `access-denied` for a label not in
 * `allowedLabels` (defined or not), `no-such-store` for an allowed label without a store or
 * a handle used after close/dispose, `store-table-full` past `maxOpenStores`, and
 * `other(message)` for any store failure (the message carries the `KV_*` reason).
 * `wasi:keyvalue` has no `store-table-full`: it is `other("store table full")` there.
 */
export function createKvHost(options: KvHostOptions): KvHost {
  const allowed = new Set(options.allowedLabels);
  const lookup = typeof options.stores === 'function'
    ? options.stores
    : ((map) => (label: string) => map.get(label))(options.stores);
  const maxOpenStores = options.maxOpenStores ?? 1024;
  const maxOpenCas = options.maxOpenCas ?? 1024;
  const pageSize = options.listPageSize ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_LIST_LIMIT) {
    throw new KvInvalidArgumentError(`listPageSize must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${String(pageSize)}`);
  }
  const openStores = new Set<OpenStore>();
  const openCas = new Set<OpenCas>();
  let disposed = false;

  type OpenFailure = 'access-denied' | 'no-such-store' | 'store-table-full' | { message: string };
  const openLabel = (label: string): OpenStore | OpenFailure => {
    if (disposed) return 'no-such-store';
    if (!allowed.has(label)) return 'access-denied';
    let store: KvStoreSync | undefined;
    try {
      store = lookup(label);
    } catch (err) {
      // A lookup such as `manager.syncStore` throws for an undefined label rather than answering undefined.
      if (err instanceof KvUnknownLabelError) return 'no-such-store';
      return { message: otherError(err).val };
    }
    if (store === undefined) return 'no-such-store';
    if (openStores.size >= maxOpenStores) return 'store-table-full';
    const handle: OpenStore = { store, open: true };
    openStores.add(handle);
    return handle;
  };
  const release = (handle: OpenStore | undefined): void => {
    if (handle === undefined) return;
    handle.open = false;
    openStores.delete(handle);
  };

  // ---- fermyon:spin/key-value@2.0.0 ----
  const spinLive = (self: SpinStoreImpl): KvStoreSync => {
    const handle = (self as Stateful<OpenStore>)[STATE];
    if (handle === undefined || !handle.open) throw { tag: 'no-such-store' } satisfies SpinKvError;
    return handle.store;
  };
  const spinCall = <T>(self: SpinStoreImpl, op: (store: KvStoreSync) => T): T => {
    const store = spinLive(self);
    try {
      return op(store);
    } catch (err) {
      throw otherError(err) satisfies SpinKvError;
    }
  };
  class SpinStoreImpl implements SpinStore {
    declare [STATE]?: OpenStore;
    constructor() {
      throw new TypeError('use Store.open(label)');
    }
    static open(label: string): SpinStoreImpl {
      const handle = openLabel(label);
      if (typeof handle === 'string') throw { tag: handle } satisfies SpinKvError;
      if ('message' in handle) throw { tag: 'other', val: handle.message } satisfies SpinKvError;
      const self = Object.create(SpinStoreImpl.prototype) as SpinStoreImpl;
      self[STATE] = handle;
      return self;
    }
    get(key: string): Uint8Array | undefined {
      return spinCall(this, (s) => s.get(key));
    }
    set(key: string, value: Uint8Array): void {
      spinCall(this, (s) => s.set(key, value));
    }
    delete(key: string): void {
      spinCall(this, (s) => s.delete(key));
    }
    exists(key: string): boolean {
      return spinCall(this, (s) => s.exists(key));
    }
    getKeys(): string[] {
      return spinCall(this, (s) => s.getKeys());
    }
    [DISPOSE](): void {
      release(this[STATE]);
    }
  }
  addCompatDispose(SpinStoreImpl.prototype);

  // ---- fermyon:spin/key-value (Spin 1.x) ----
  const legacyHandles = new Map<number, OpenStore>();
  let nextLegacyHandle = 0;
  const legacyLive = (handle: number): KvStoreSync => {
    const open = legacyHandles.get(handle);
    if (open === undefined || !open.open) throw { tag: 'invalid-store' } satisfies LegacyKvError;
    return open.store;
  };
  const legacyCall = <T>(handle: number, op: (store: KvStoreSync) => T): T => {
    const store = legacyLive(handle);
    try {
      return op(store);
    } catch (err) {
      throw { tag: 'io', val: otherError(err).val } satisfies LegacyKvError;
    }
  };
  const legacy: LegacySpinKvImports = {
    open(name) {
      const handle = openLabel(name);
      if (typeof handle === 'string') throw { tag: handle } satisfies LegacyKvError;
      if ('message' in handle) throw { tag: 'io', val: handle.message } satisfies LegacyKvError;
      const id = nextLegacyHandle;
      nextLegacyHandle = (nextLegacyHandle + 1) >>> 0;
      legacyHandles.set(id, handle);
      return id;
    },
    get(handle, key) {
      const value = legacyCall(handle, (s) => s.get(key));
      if (value === undefined) throw { tag: 'no-such-key' } satisfies LegacyKvError;
      return value;
    },
    set: (handle, key, value) => legacyCall(handle, (s) => s.set(key, value)),
    delete: (handle, key) => legacyCall(handle, (s) => s.delete(key)),
    exists: (handle, key) => legacyCall(handle, (s) => s.exists(key)),
    getKeys: (handle) => legacyCall(handle, (s) => s.getKeys()),
    close(handle) {
      release(legacyHandles.get(handle));
      legacyHandles.delete(handle);
    },
  };

  // ---- wasi:keyvalue@0.2.0-draft2 ----
  const bucketState = (bucket: WasiBucket): OpenStore => {
    const handle = (bucket as Stateful<OpenStore>)[STATE];
    if (handle === undefined || !handle.open) throw { tag: 'no-such-store' } satisfies WasiKvError;
    return handle;
  };
  const wasiCall = <T>(bucket: WasiBucket, op: (store: KvStoreSync) => T): T => {
    const { store } = bucketState(bucket);
    try {
      return op(store);
    } catch (err) {
      throw otherError(err) satisfies WasiKvError;
    }
  };
  class BucketImpl implements WasiBucket {
    declare [STATE]?: OpenStore;
    constructor() {
      throw new TypeError('use open(identifier)');
    }
    get(key: string): Uint8Array | undefined {
      return wasiCall(this, (s) => s.get(key));
    }
    set(key: string, value: Uint8Array): void {
      wasiCall(this, (s) => s.set(key, value));
    }
    delete(key: string): void {
      wasiCall(this, (s) => s.delete(key));
    }
    exists(key: string): boolean {
      return wasiCall(this, (s) => s.exists(key));
    }
    listKeys(cursor: string | undefined): { keys: string[]; cursor: string | undefined } {
      return wasiCall(this, (s) => s.listKeys({ cursor, limit: pageSize }));
    }
    [DISPOSE](): void {
      release(this[STATE]);
    }
  }
  addCompatDispose(BucketImpl.prototype);

  const store: WasiStoreImports = {
    open(identifier) {
      const handle = openLabel(identifier);
      if (handle === 'store-table-full') throw { tag: 'other', val: 'store table full' } satisfies WasiKvError;
      if (typeof handle === 'string') throw { tag: handle } satisfies WasiKvError;
      if ('message' in handle) throw { tag: 'other', val: handle.message } satisfies WasiKvError;
      const bucket = Object.create(BucketImpl.prototype) as BucketImpl;
      bucket[STATE] = handle;
      return bucket;
    },
    Bucket: BucketImpl as unknown as WasiBucketClass,
  };

  const batch: WasiBatchImports = {
    getMany: (bucket, keys) => wasiCall(bucket, (s) => (keys.length === 0 ? [] : s.getMany(keys))),
    setMany: (bucket, keyValues) => wasiCall(bucket, (s) => (keyValues.length === 0 ? undefined : s.setMany(keyValues))),
    deleteMany: (bucket, keys) => wasiCall(bucket, (s) => (keys.length === 0 ? undefined : s.deleteMany(keys))),
  };

  const casState = (cas: WasiCas): OpenCas => {
    const state = (cas as Stateful<OpenCas>)[STATE];
    if (state === undefined || !state.open || !state.handle.open) throw { tag: 'no-such-store' } satisfies WasiKvError;
    return state;
  };
  const makeCas = (handle: OpenStore, key: string): CasImpl => {
    if (openCas.size >= maxOpenCas) throw { tag: 'other', val: 'too many compare_and_swaps opened' } satisfies WasiKvError;
    let snapshot: Uint8Array | undefined;
    try {
      snapshot = handle.store.get(key);
    } catch (err) {
      throw otherError(err) satisfies WasiKvError;
    }
    const state: OpenCas = { handle, key, snapshot, open: true };
    openCas.add(state);
    const cas = Object.create(CasImpl.prototype) as CasImpl;
    cas[STATE] = state;
    return cas;
  };
  const releaseCas = (state: OpenCas | undefined): void => {
    if (state === undefined) return;
    state.open = false;
    openCas.delete(state);
  };
  class CasImpl implements WasiCas {
    declare [STATE]?: OpenCas;
    constructor() {
      throw new TypeError('use Cas.new(bucket, key)');
    }
    static new(bucket: WasiBucket, key: string): CasImpl {
      return makeCas(bucketState(bucket), key);
    }
    current(): Uint8Array | undefined {
      const { snapshot } = casState(this);
      return snapshot === undefined ? undefined : snapshot.slice();
    }
    [DISPOSE](): void {
      releaseCas(this[STATE]);
    }
  }
  addCompatDispose(CasImpl.prototype);

  const atomics: WasiAtomicsImports = {
    increment: (bucket, key, delta) => wasiCall(bucket, (s) => s.increment(key, delta)),
    swap(cas, value) {
      let state: OpenCas;
      try {
        state = casState(cas);
      } catch (err) {
        throw { tag: 'store-error', val: err as WasiKvError };
      }
      // `cas` is owned: the swap consumes it whatever the outcome.
      releaseCas(state);
      let swapped: boolean;
      try {
        swapped = state.handle.store.compareAndSwap(state.key, state.snapshot, value);
      } catch (err) {
        throw { tag: 'store-error', val: otherError(err) };
      }
      if (swapped) return;
      let fresh: CasImpl;
      try {
        fresh = makeCas(state.handle, state.key);
      } catch (err) {
        throw { tag: 'store-error', val: err as WasiKvError };
      }
      throw { tag: 'cas-failed', val: fresh };
    },
    Cas: CasImpl as unknown as WasiCasClass,
  };

  const Store = SpinStoreImpl as unknown as SpinStoreClass;
  return {
    imports: {
      'fermyon:spin/key-value': { ...legacy, Store },
      'fermyon:spin/key-value@2.0.0': { Store },
      'wasi:keyvalue/store': store,
      'wasi:keyvalue/batch': batch,
      'wasi:keyvalue/atomics': atomics,
      'wasi:keyvalue/store@0.2.0-draft2': store,
      'wasi:keyvalue/batch@0.2.0-draft2': batch,
      'wasi:keyvalue/atomics@0.2.0-draft2': atomics,
    },
    openHandles: () => ({ stores: openStores.size, cas: openCas.size }),
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const handle of openStores) handle.open = false;
      for (const cas of openCas) cas.open = false;
      openStores.clear();
      openCas.clear();
      legacyHandles.clear();
    },
  };
}

// jco looks up `Symbol.dispose || Symbol.for('dispose')`; where Node has Symbol.dispose, also
// answer to the registered symbol so either lookup releases the handle.
function addCompatDispose(prototype: object): void {
  if (DISPOSE === DISPOSE_COMPAT) return;
  Object.defineProperty(prototype, DISPOSE_COMPAT, {
    value(this: Record<symbol, () => void>) {
      this[DISPOSE]?.();
    },
  });
}
