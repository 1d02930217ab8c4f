/**
 * The key-value capability: `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue/{store,batch,atomics}`
 * at Spin's draft version. The main thread resolves the app's stores (Spin's label rules, seeds,
 * runtime config); workers open SQLite stores themselves and reach Redis stores over the channel.
 */
import type { KvStoreDefinition } from '@spinel/kv-wit';
import type { Capability, CapabilityService } from '../capability.js';
import { UNVERSIONED, type InterfaceSpec } from '../prepare/interface-set.js';
import type { RuntimeConfig } from './runtime-config/read-runtime-config.js';
import { CounterTotals, createSharedCounters } from '../worker-counters.js';
import { KV_BRIDGE_METHOD, KV_OPERATIONS, kvBridgeHandler, prepareKeyValue, type KeyValueSetupOptions, type KvBridgeOp, type KvWorkerConfig, type PreparedKeyValue } from './key-value.js';

/** What each worker gets: the stores it opens or reaches, and each component's labels. */
export interface KeyValueGuestInit {
  stores: KvWorkerConfig;
  labels: Array<[componentId: string, labels: string[]]>;
  /** Operation counters, one per (label in `countedLabels`, operation in `KV_OPERATIONS`), shared by every worker. */
  counts: SharedArrayBuffer;
  countedLabels: string[];
}

/** Operations on one store since the app started. */
export interface KvOperationCount {
  /** The store's label. */
  store: string;
  /** The store operation (`get`, `set`, `increment`…; wasi:keyvalue and Spin's interface map onto these). */
  op: KvBridgeOp;
  count: number;
}

/** The key-value service once set up; `prepared` holds the stores (seeding, the start-up note). */
export interface KeyValueService extends CapabilityService {
  readonly prepared: PreparedKeyValue;
  /** Operations guests made since set-up, by store and operation (only those made at least once). */
  operations(): KvOperationCount[];
}

const KV_INTERFACES: readonly InterfaceSpec[] = [
  // Spin 1's unversioned functions (open/get/set over u32 handles) share the key with 2.0.0's resource.
  { name: 'fermyon:spin/key-value', versions: ['2.0.0', UNVERSIONED] },
  { name: 'wasi:keyvalue/store', versions: ['0.2.0-draft2'] },
  { name: 'wasi:keyvalue/batch', versions: ['0.2.0-draft2'] },
  { name: 'wasi:keyvalue/atomics', versions: ['0.2.0-draft2'] },
];

/**
 * The key-value capability. `[key_value_store.*]` tables of the runtime config define stores;
 * `options.definitions` wins over them.
 */
export function keyValueCapability(options: Omit<KeyValueSetupOptions, 'app'> = {}): Capability & { setUp: (...a: Parameters<Capability['setUp']>) => Promise<KeyValueService> } {
  return {
    name: 'key-value',
    interfaces: KV_INTERFACES,
    guestModule: new URL('../guest/spin/key-value-guest.js', import.meta.url).href,
    async setUp(context) {
      const fromConfig = kvDefinitions(context.runtimeConfig?.keyValueStore);
      const prepared = await prepareKeyValue({
        app: context.app,
        ...(fromConfig === undefined ? {} : { definitions: fromConfig }),
        ...(context.stateDir === undefined ? {} : { stateDir: context.stateDir }),
        ...options,
      });
      const labels: KeyValueGuestInit['labels'] = context.app.components.map((c) => [c.id, [...(prepared.componentLabels.get(c.id) ?? [])]]);
      // Workers count operations where they run them (SQLite stores never leave the worker).
      const countedLabels = [...prepared.workerConfig.sqlite.map(([label]) => label), ...prepared.workerConfig.bridged];
      const counts = createSharedCounters(countedLabels.length * KV_OPERATIONS.length);
      const totals = new CounterTotals(counts);
      return {
        prepared,
        operations() {
          const read = totals.read();
          const out: KvOperationCount[] = [];
          countedLabels.forEach((store, s) => {
            KV_OPERATIONS.forEach((op, o) => {
              const count = read[s * KV_OPERATIONS.length + o] ?? 0;
              if (count > 0) out.push({ store, op, count });
            });
          });
          return out;
        },
        handlers: { [KV_BRIDGE_METHOD]: kvBridgeHandler(prepared.manager, prepared.redisUrls) },
        independentMethods: [KV_BRIDGE_METHOD],
        workerInit: (): KeyValueGuestInit => ({ stores: prepared.workerConfig, labels, counts, countedLabels }),
        close: () => prepared.close(),
      };
    },
  };
}

/** `[key_value_store.<label>]` entries as kv-wit's store definitions (paths already absolute). */
function kvDefinitions(stores: RuntimeConfig['keyValueStore']): Map<string, KvStoreDefinition> | undefined {
  if (stores === undefined) return undefined;
  const out = new Map<string, KvStoreDefinition>();
  for (const [label, store] of stores) out.set(label, store.type === 'spin' ? { type: 'spin', path: store.path } : { type: 'redis', url: store.url });
  return out;
}
