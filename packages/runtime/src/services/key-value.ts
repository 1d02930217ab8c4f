import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_KV_FILE, DEFAULT_KV_LIMITS, createKvStoreManager, type KvLimits, type KvStoreDefinition, type KvStoreManager } from '@spinel/kv-wit';
import type { LockedApp } from '@spinel/manifest';
import type { BridgeHandler } from '../channel/bridge-server.js';
import { KeyValueConfigError } from '../errors.js';
import { lendKvConnection, lendableRedisUrl } from './key-value-lending.js';

/** What a worker needs to open an app's stores itself (plain data, posted to the worker). */
export interface KvWorkerConfig {
  /** SQLite-backed labels and their files; the worker opens them directly. */
  sqlite: Array<[label: string, path: string]>;
  /** Labels served by the main thread over the blocking bridge (Redis). */
  bridged: string[];
  /**
   * Those of `bridged` a worker serves over a connection the main thread lends it
   * (`guest/spin/key-value-lane.ts`), with their redacted URLs for messages: Redis without TLS.
   */
  lent?: Array<[label: string, where: string]>;
  /** The key and value size limits the main thread's stores check, for the worker's own checks. @default DEFAULT_KV_LIMITS */
  limits?: KvLimits;
}

/** Options of {@link prepareKeyValue}. */
export interface KeyValueSetupOptions {
  app: Pick<LockedApp, 'components'>;
  /** The app's state dir; `default` is `<stateDir>/sqlite_key_value.db`. Absent or empty: a temporary store. */
  stateDir?: string | undefined;
  /** `[key_value_store.<label>]` from the runtime config (see @spinel/kv-wit `readKvRuntimeConfig`). */
  definitions?: ReadonlyMap<string, KvStoreDefinition>;
  /** `--key-value key=value` pairs, written into `default` before serving. */
  seeds?: readonly string[];
  /** Directory for temporary stores. @default os.tmpdir() */
  tempDir?: string;
  /** Key and value size limits of every store, checked alike on the main thread and in the workers. @default DEFAULT_KV_LIMITS */
  limits?: Partial<KvLimits>;
}

/** An app's key-value stores, ready to serve. */
export interface PreparedKeyValue {
  /** The stores, for the main thread (bridged labels, seeding, tools). */
  readonly manager: KvStoreManager;
  /** Each component's `key_value_stores`: the only labels it may open. */
  readonly componentLabels: ReadonlyMap<string, readonly string[]>;
  /** For the workers' {@link KvWorkerConfig}. */
  readonly workerConfig: KvWorkerConfig;
  /** The URL of each Redis label, for {@link kvBridgeHandler} to lend connections. */
  readonly redisUrls: ReadonlyMap<string, string>;
  /** Spin's start-up note when a component uses `default` (`Storing default key-value data to "<path>".`), else undefined. */
  readonly defaultStoreNote: string | undefined;
  /** Closes the stores and removes a temporary default store. */
  close(): Promise<void>;
}

/** Bridge method name of a key-value operation on a bridged (Redis) store. */
export const KV_BRIDGE_METHOD = 'kv';

/** A key-value operation sent over the bridge. */
export interface KvBridgeArgs {
  label: string;
  /** A store operation, or `lend`: a connection of a Redis label lent to the worker (`key-value-lending.ts`). */
  op: KvBridgeOp | 'lend';
  args: unknown[];
}
export type KvBridgeOp = 'get' | 'set' | 'delete' | 'exists' | 'getKeys' | 'listKeys' | 'getMany' | 'setMany' | 'deleteMany' | 'increment' | 'compareAndSwap';
/** Every store operation, in a fixed order (the workers' operation counters are laid out by it). */
export const KV_OPERATIONS: readonly KvBridgeOp[] = ['get', 'set', 'delete', 'exists', 'getKeys', 'listKeys', 'getMany', 'setMany', 'deleteMany', 'increment', 'compareAndSwap'];
const OPS = new Set<string>(KV_OPERATIONS);

/**
 * Resolves the app's stores as `spin up` does: every label a component lists must be defined
 * (`default` always is), `--key-value` pairs are written into `default`, and a store that
 * Spin keeps in memory is a temporary SQLite file here, so every worker sees the same data.
 * @throws KeyValueConfigError `RUNTIME_KV_UNKNOWN_LABEL` (Spin's message), `RUNTIME_KV_INVALID_SEED`
 */
export async function prepareKeyValue(options: KeyValueSetupOptions): Promise<PreparedKeyValue> {
  const definitions = new Map(options.definitions ?? []);
  const stateDir = options.stateDir === undefined || options.stateDir === '' ? undefined : resolve(options.stateDir);
  if (!definitions.has('default')) definitions.set('default', { type: 'spin', path: stateDir === undefined ? undefined : join(stateDir, DEFAULT_KV_FILE) });

  const componentLabels = new Map<string, string[]>();
  for (const component of options.app.components) {
    const labels = component.metadata?.key_value_stores ?? [];
    for (const label of labels) {
      if (!definitions.has(label)) {
        throw new KeyValueConfigError('RUNTIME_KV_UNKNOWN_LABEL', `unknown key_value_stores label "${label}" for component "${component.id}"`);
      }
    }
    componentLabels.set(component.id, [...labels]);
  }
  const seeds = (options.seeds ?? []).map((seed) => {
    const eq = seed.indexOf('=');
    if (eq < 0) throw new KeyValueConfigError('RUNTIME_KV_INVALID_SEED', 'Key/Values must be of the form `key=value`');
    return [seed.slice(0, eq), seed.slice(eq + 1)] as const;
  });

  // Stores Spin keeps in process memory become one temporary file shared by the workers.
  let tempDir: string | undefined;
  const inMemory = new Set<string>();
  for (const [label, def] of definitions) {
    if (def.type === 'spin' && def.path === undefined) {
      tempDir ??= mkdtempSync(join(options.tempDir ?? tmpdir(), 'spinel-kv-'));
      definitions.set(label, { type: 'spin', path: join(tempDir, DEFAULT_KV_FILE) });
      inMemory.add(label);
    }
  }
  const limits: KvLimits = { ...DEFAULT_KV_LIMITS, ...options.limits };
  const manager = createKvStoreManager({ definitions, limits });
  const close = async (): Promise<void> => {
    await manager.close();
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  };
  try {
    for (const [key, value] of seeds) await manager.store('default').set(key, new TextEncoder().encode(value));
  } catch (err) {
    await close();
    throw err;
  }
  const usesDefault = [...componentLabels.values()].some((labels) => labels.includes('default'));
  const describe = (label: string): string => (inMemory.has(label) ? 'a temporary in-memory store' : manager.describe(label));
  const workerConfig: KvWorkerConfig = { sqlite: [], bridged: [], lent: [], limits };
  const redisUrls = new Map<string, string>();
  for (const [label, def] of definitions) {
    if (def.type === 'spin' && def.path !== undefined) workerConfig.sqlite.push([label, def.path]);
    else workerConfig.bridged.push(label);
    if (def.type === 'redis') {
      redisUrls.set(label, def.url);
      if (lendableRedisUrl(def.url)) workerConfig.lent?.push([label, manager.describe(label)]);
    }
  }
  return {
    manager,
    componentLabels,
    workerConfig,
    redisUrls,
    defaultStoreNote: usesDefault ? `Storing default key-value data to ${describe('default')}.` : undefined,
    close,
  };
}

/**
 * The serving side of bridged stores: register under {@link KV_BRIDGE_METHOD} in `createBridgeServer`.
 * `redisUrls` ({@link PreparedKeyValue.redisUrls}) are the Redis labels whose connections it lends.
 */
export function kvBridgeHandler(manager: KvStoreManager, redisUrls: ReadonlyMap<string, string> = new Map()): BridgeHandler {
  return async (raw, call) => {
    const { label, op, args } = raw as KvBridgeArgs;
    if (op === 'lend') return lendKvConnection(redisUrls.get(label), call);
    if (!OPS.has(op)) throw new Error(`unknown key-value operation ${JSON.stringify(op)}`);
    const store = manager.store(label) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const fn = store[op];
    if (fn === undefined) throw new Error(`unknown key-value operation ${JSON.stringify(op)}`);
    return await fn.apply(store, args);
  };
}
