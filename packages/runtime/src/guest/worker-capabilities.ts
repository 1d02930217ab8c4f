import type { Blocker } from './wasi/io.js';
import type { WorkerCapabilitiesInit } from '../services/app-capabilities.js';
import { createInstanceKvHost, openWorkerKvStores } from './spin/key-value.js';
import { createOutboundHost } from './spin/outbound-http.js';
import { createRequestScopedKv } from './spin/request-scoped-kv.js';
import { createSyncBridge } from '../channel/sync-bridge.js';
import { createVariablesHost } from './spin/variables.js';

/**
 * Interfaces (keys without versions, as the engine's registry uses them) that the
 * capabilities provide or replace.
 */
export const CAPABILITY_INTERFACES: readonly string[] = [
  'wasi:http/types',
  'wasi:http/outgoing-handler',
  'fermyon:spin/http',
  'fermyon:spin/variables',
  'fermyon:spin/config',
  'wasi:config/store',
  'fermyon:spin/key-value',
  'wasi:keyvalue/store',
  'wasi:keyvalue/batch',
  'wasi:keyvalue/atomics',
];

/**
 * One component's capability imports in one worker. The import objects are request-independent
 * (built once, shared by every fresh instance the engine makes from one glue build); what belongs
 * to a request (open store handles, unfinished outbound calls) is switched by
 * {@link InstanceCapabilities.beginRequest} and {@link InstanceCapabilities.endRequest}.
 */
export interface InstanceCapabilities {
  /** Import objects by interface key (see {@link CAPABILITY_INTERFACES}). */
  imports: Record<string, Record<string, unknown>>;
  /** Call before the guest handles a request: nothing of an earlier request stays usable. */
  beginRequest(): void;
  /** Call when a request is over: cancels its unfinished outbound calls and releases its store handles. */
  endRequest(): void;
  /** Store handles the current request holds open (0 between requests). */
  openHandles(): { stores: number; cas: number };
  /** {@link InstanceCapabilities.endRequest}; the imports are not to be used after it. */
  dispose(): void;
}

/** A worker's capabilities: one bridge, its SQLite connections, and per-component imports. */
export interface WorkerCapabilities {
  /** A blocker that wakes on bridged results (for pollables over outbound responses). */
  readonly blocker: Blocker;
  /** Imports for `componentId` (make them once per component and reuse them across requests). */
  instance(componentId: string): InstanceCapabilities;
  close(): void;
}

/** The longest a capability wait sleeps before re-polling, so a poll over mixed sources cannot hang. */
const WAIT_SLICE_MS = 10;

/** Sets up the capabilities inside a worker from the data {@link AppCapabilities.workerInit} made. */
export function createWorkerCapabilities(init: WorkerCapabilitiesInit): WorkerCapabilities {
  const bridge = createSyncBridge(init.endpoint);
  const stores = openWorkerKvStores(init.kv, bridge);
  const components = new Map(init.components);
  const blocker: Blocker = { wait: (ms) => bridge.wait(Math.min(ms, WAIT_SLICE_MS)) };
  return {
    blocker,
    instance(componentId) {
      const component = components.get(componentId);
      const variables = createVariablesHost(component?.config ?? {});
      const labels = component?.kvLabels ?? [];
      const kv = createRequestScopedKv(() => createInstanceKvHost(stores, labels));
      const outbound = createOutboundHost({ bridge: { ...bridge, wait: (ms) => blocker.wait(ms) }, componentId });
      const endRequest = (): void => {
        outbound.dispose();
        kv.end();
      };
      return {
        imports: {
          'wasi:http/types': outbound.wasiHttpTypes,
          'wasi:http/outgoing-handler': outbound.wasiOutgoingHandler as unknown as Record<string, unknown>,
          'fermyon:spin/http': outbound.spinHttp as unknown as Record<string, unknown>,
          'fermyon:spin/variables': variables.spinVariables as unknown as Record<string, unknown>,
          'fermyon:spin/config': variables.spinConfig as unknown as Record<string, unknown>,
          'wasi:config/store': variables.wasiConfigStore as unknown as Record<string, unknown>,
          'fermyon:spin/key-value': kv.imports['fermyon:spin/key-value'] ?? {},
          'wasi:keyvalue/store': kv.imports['wasi:keyvalue/store'] ?? {},
          'wasi:keyvalue/batch': kv.imports['wasi:keyvalue/batch'] ?? {},
          'wasi:keyvalue/atomics': kv.imports['wasi:keyvalue/atomics'] ?? {},
        },
        beginRequest() {
          outbound.dispose();
          kv.begin();
        },
        endRequest,
        openHandles: () => kv.openHandles(),
        dispose: endRequest,
      };
    },
    close() {
      stores.close();
      bridge.close();
    },
  };
}
