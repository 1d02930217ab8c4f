import { DEFAULT_KV_LIMITS, KvBackendError, createKvHost, openSqliteKvDatabase, type KvHost, type KvStoreSync, type SqliteKvDatabase } from '@spinel/kv-wit';
import { KV_BRIDGE_METHOD, KV_OPERATIONS, type KvBridgeArgs, type KvBridgeOp, type KvWorkerConfig } from '../../services/key-value.js';
import type { SyncBridge } from '../../channel/sync-bridge.js';
import { counterAdder, type CounterAdd } from '../../worker-counters.js';
import { lentKvStore, type LentKvStore } from './key-value-lane.js';

/** Where a worker counts store operations: one counter per (label, operation in `KV_OPERATIONS`). */
export interface KvOperationCounting {
  labels: readonly string[];
  counts: SharedArrayBuffer;
}

/** A worker's view of the app's stores: SQLite opened in the worker, Redis over a lent connection or through the bridge. */
export interface WorkerKvStores {
  /** The store of a defined label, or undefined. */
  lookup(label: string): KvStoreSync | undefined;
  /** Closes the worker's SQLite connections. */
  close(): void;
}

/**
 * Opens the stores a worker serves: every SQLite file once per worker (WAL mode lets the
 * workers share it), a store over a connection lent to the worker for each Redis label that
 * can be lent, and a blocking proxy for the other bridged labels (and what a lent one does not serve).
 */
export function openWorkerKvStores(config: KvWorkerConfig, bridge: SyncBridge | undefined, counting?: KvOperationCounting): WorkerKvStores {
  const add = counterAdder(counting?.counts);
  const countIndex = new Map((counting?.labels ?? []).map((label, i) => [label, i * KV_OPERATIONS.length]));
  const databases = new Map<string, SqliteKvDatabase>();
  const stores = new Map<string, KvStoreSync>();
  const paths = new Map(config.sqlite);
  const bridged = new Set(config.bridged);
  const lendable = new Map(config.lent ?? []);
  const lent: LentKvStore[] = [];
  const limits = config.limits ?? DEFAULT_KV_LIMITS;
  return {
    lookup(label) {
      const cached = stores.get(label);
      if (cached !== undefined) return cached;
      let store: KvStoreSync | undefined;
      const path = paths.get(label);
      if (path !== undefined) {
        let db = databases.get(path);
        if (db === undefined) {
          db = openSqliteKvDatabase(path, { limits });
          databases.set(path, db);
        }
        store = db.store(label);
      } else if (bridged.has(label) && bridge !== undefined) {
        const where = lendable.get(label);
        store = bridgedStore(bridge, label);
        if (where !== undefined) {
          const own = lentKvStore(bridge, label, where, store, limits);
          lent.push(own);
          store = own;
        }
      }
      const base = countIndex.get(label);
      if (store !== undefined && base !== undefined) store = countedStore(store, add, base);
      if (store !== undefined) stores.set(label, store);
      return store;
    },
    close() {
      for (const own of lent.splice(0)) own.end();
      for (const db of databases.values()) db.close();
      databases.clear();
      stores.clear();
    },
  };
}

/** The same store, adding one to its operation's counter before each call (failed calls count too). */
function countedStore(store: KvStoreSync, add: CounterAdd, base: number): KvStoreSync {
  const counted: Record<string, unknown> = { label: store.label };
  KV_OPERATIONS.forEach((op, i) => {
    const method = (store[op] as (...args: unknown[]) => unknown).bind(store);
    counted[op] = (...args: unknown[]): unknown => {
      add(base + i);
      return method(...args);
    };
  });
  return counted as unknown as KvStoreSync;
}

/** A synchronous store whose every operation blocks on the bridge while the main thread runs it. */
function bridgedStore(bridge: SyncBridge, label: string): KvStoreSync {
  const call = <T>(op: KvBridgeOp, ...args: unknown[]): T => {
    try {
      return bridge.call<T>(KV_BRIDGE_METHOD, { label, op, args } satisfies KvBridgeArgs);
    } catch (err) {
      // A backend failure is the guest's `other(...)` error, not a trap (as kv-wit's own stores do).
      throw new KvBackendError((err as Error).message, err);
    }
  };
  return {
    label,
    get: (key) => call('get', key),
    set: (key, value) => call('set', key, value),
    delete: (key) => call('delete', key),
    exists: (key) => call('exists', key),
    getKeys: () => call('getKeys'),
    listKeys: (options) => call('listKeys', options),
    getMany: (keys) => call('getMany', keys),
    setMany: (entries) => call('setMany', entries),
    deleteMany: (keys) => call('deleteMany', keys),
    increment: (key, delta) => call('increment', key, delta),
    compareAndSwap: (key, expected, value) => call('compareAndSwap', key, expected, value),
  };
}

/**
 * The key-value imports of one instance (`fermyon:spin/key-value`, `wasi:keyvalue/*`): only
 * the component's own `key_value_stores` labels open; others are `access-denied`.
 */
export function createInstanceKvHost(stores: WorkerKvStores, allowedLabels: readonly string[]): KvHost {
  return createKvHost({ allowedLabels, stores: (label) => stores.lookup(label) });
}
