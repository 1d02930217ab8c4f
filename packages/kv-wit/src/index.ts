export type { KvErrorCode } from './errors.js';
export {
  KvBackendError,
  KvConfigInvalidError,
  KvConfigUnknownTypeError,
  KvCounterOverflowError,
  KvError,
  KvInvalidArgumentError,
  KvInvalidCursorError,
  KvKeyTooLargeError,
  KvNotACounterError,
  KvStoreClosedError,
  KvUnknownLabelError,
  KvValueTooLargeError,
} from './errors.js';
export type { KeyPage, KeyValueEntry, KvStore, KvStoreSync, ListKeysOptions } from './store.js';
export { toAsyncStore } from './store.js';
export type { KvLimits } from './limits.js';
export { DEFAULT_KV_LIMITS, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, checkKey, checkValue } from './limits.js';
export type { MemoryKvStoreOptions } from './memory-store.js';
export { MemoryKvStore } from './memory-store.js';
export type { SqliteKvDatabase, SqliteKvDatabaseOptions } from './sqlite-store.js';
export { SqliteKvStore, openSqliteKvDatabase, retryWhileSqliteBusy } from './sqlite-store.js';
export type { RedisKvStoreOptions } from './redis-store.js';
export { RedisKvStore, openRedisKvStore } from './redis-store.js';
export type {
  KvHost,
  KvHostImports,
  KvHostOptions,
  LegacySpinKvImports,
  SpinStore,
  SpinStoreClass,
  WasiAtomicsImports,
  WasiBatchImports,
  WasiBucket,
  WasiBucketClass,
  WasiCas,
  WasiCasClass,
  WasiStoreImports,
} from './host/create-kv-host.js';
export { createKvHost } from './host/create-kv-host.js';
export type { LegacyKvError, SpinKvError, WasiKvError } from './host/guest-errors.js';
export type { KvStoreDefinition, ParseKvRuntimeConfigOptions } from './runtime-config.js';
export { parseKvRuntimeConfig, parseKvRuntimeConfigToml, readKvRuntimeConfig } from './runtime-config.js';
export type { KvStoreManager, KvStoreManagerOptions } from './store-manager.js';
export { DEFAULT_KV_FILE, createKvStoreManager } from './store-manager.js';
export type { AppKvStores, AppKvStoresOptions } from './app-stores.js';
export { openAppKvStores } from './app-stores.js';
export { KV_WIT_DIR, KV_WIT_PACKAGES } from './wit-dir.js';
