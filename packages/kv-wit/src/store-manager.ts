import { join, resolve } from 'node:path';
import { KvInvalidArgumentError, KvUnknownLabelError, redactUrl } from './errors.js';
import type { KvLimits } from './limits.js';
import { MemoryKvStore } from './memory-store.js';
import { openRedisKvStore } from './redis-store.js';
import type { RedisKvStore } from './redis-store.js';
import type { KvStoreDefinition } from './runtime-config.js';
import { openSqliteKvDatabase } from './sqlite-store.js';
import type { SqliteKvDatabase, SqliteKvDatabaseOptions } from './sqlite-store.js';
import { toAsyncStore } from './store.js';
import type { KvStore, KvStoreSync } from './store.js';

/** File name of the default store inside the state dir, as Spin names it. */
export const DEFAULT_KV_FILE = 'sqlite_key_value.db';

/** Options of {@link createKvStoreManager}. */
export interface KvStoreManagerOptions {
  /** Stores from runtime config (see `readKvRuntimeConfig`); a `default` entry replaces the built-in one. */
  definitions?: ReadonlyMap<string, KvStoreDefinition>;
  /**
   * The app's state dir (Spin: `<app dir>/.spin`). The built-in `default` store is
   * `<stateDir>/sqlite_key_value.db`; without a state dir it is in memory.
   */
  stateDir?: string | undefined;
  /** Key and value size limits for every store. @default DEFAULT_KV_LIMITS */
  limits?: Partial<KvLimits>;
  /** SQLite tuning (busy timeout, synchronous). */
  sqlite?: Omit<SqliteKvDatabaseOptions, 'limits'>;
  /** Redis connect timeout. @default 10000 */
  redisConnectTimeoutMs?: number;
}

/** The stores of one app, by label, opened on first use (no file is created for an unused store). */
export interface KvStoreManager {
  /** Every defined label, `default` included. */
  readonly labels: readonly string[];
  /** How a label is backed, as Spin summarises it (`"<path>"`, `a temporary in-memory store`, a redacted Redis URL). */
  describe(label: string): string;
  /** Whether {@link KvStoreManager.syncStore} works for the label (memory and SQLite; Redis is async). */
  isSync(label: string): boolean;
  /** The synchronous store of a memory or SQLite label. @throws KvUnknownLabelError @throws KvInvalidArgumentError for Redis */
  syncStore(label: string): KvStoreSync;
  /** The asynchronous store of any label. @throws KvUnknownLabelError */
  store(label: string): KvStore;
  /**
   * Checks at app start that every label a component lists is defined, as Spin does.
   * @throws KvUnknownLabelError `KV_UNKNOWN_LABEL` with Spin's message
   *   `unknown key_value_stores label "<l>" for component "<id>"`
   */
  checkComponentLabels(componentId: string, labels: Iterable<string>): void;
  /** Closes every opened database and connection. */
  close(): Promise<void>;
}

/**
 * Resolves the app's store labels to backends. SQLite files are opened once and shared
 * by every label configured with the same path (partitioned by the `store` column).
 */
export function createKvStoreManager(options: KvStoreManagerOptions = {}): KvStoreManager {
  const definitions = new Map(options.definitions ?? []);
  if (!definitions.has('default')) {
    definitions.set('default', {
      type: 'spin',
      path: options.stateDir === undefined || options.stateDir === '' ? undefined : join(resolve(options.stateDir), DEFAULT_KV_FILE),
    });
  }
  const limits = options.limits;
  const databases = new Map<string, SqliteKvDatabase>();
  const syncStores = new Map<string, KvStoreSync>();
  const asyncStores = new Map<string, KvStore>();
  const redisStores: RedisKvStore[] = [];

  const definition = (label: string): KvStoreDefinition => {
    const found = definitions.get(label);
    if (found === undefined) throw new KvUnknownLabelError(label, [...definitions.keys()]);
    return found;
  };

  const syncStore = (label: string): KvStoreSync => {
    const cached = syncStores.get(label);
    if (cached !== undefined) return cached;
    const def = definition(label);
    if (def.type === 'redis') {
      throw new KvInvalidArgumentError(`key-value store "${label}" is in Redis, which is asynchronous; use store() (or bridge it to a synchronous call)`);
    }
    let made: KvStoreSync;
    if (def.path === undefined) {
      made = new MemoryKvStore(label, limits === undefined ? {} : { limits });
    } else {
      let db = databases.get(def.path);
      if (db === undefined) {
        db = openSqliteKvDatabase(def.path, { ...options.sqlite, ...(limits === undefined ? {} : { limits }) });
        databases.set(def.path, db);
      }
      made = db.store(label);
    }
    syncStores.set(label, made);
    return made;
  };

  return {
    labels: [...definitions.keys()],
    describe(label) {
      const def = definition(label);
      if (def.type === 'redis') return `Redis at ${redactUrl(def.url)}`;
      return def.path === undefined ? 'a temporary in-memory store' : JSON.stringify(def.path);
    },
    isSync: (label) => definition(label).type !== 'redis',
    checkComponentLabels(componentId, labels) {
      for (const label of labels) {
        if (!definitions.has(label)) throw new KvUnknownLabelError(label, [...definitions.keys()], componentId);
      }
    },
    syncStore,
    store(label) {
      const cached = asyncStores.get(label);
      if (cached !== undefined) return cached;
      const def = definition(label);
      let made: KvStore;
      if (def.type === 'redis') {
        const redis = openRedisKvStore(def.url, {
          label,
          ...(limits === undefined ? {} : { limits }),
          ...(options.redisConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.redisConnectTimeoutMs }),
        });
        redisStores.push(redis);
        made = redis;
      } else {
        made = toAsyncStore(syncStore(label));
      }
      asyncStores.set(label, made);
      return made;
    },
    async close() {
      for (const db of databases.values()) db.close();
      databases.clear();
      await Promise.all(redisStores.map((store) => store.close()));
      redisStores.length = 0;
      syncStores.clear();
      asyncStores.clear();
    },
  };
}
