import type { Blocker } from '../engine/host/io.js';
import type { WorkerCapabilitiesInit } from './app-capabilities.js';
import { createInstanceKvHost, openWorkerKvStores } from './key-value-host.js';
import { createOutboundHost } from './outbound-host.js';
import { createSyncBridge } from './sync-bridge.js';
import { createVariablesHost } from './variables-host.js';

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

/** One instance's capability imports, and how to release them. */
export interface InstanceCapabilities {
  /** Import objects by interface key (see {@link CAPABILITY_INTERFACES}). */
  imports: Record<string, Record<string, unknown>>;
  /** Cancels the instance's unfinished outbound requests (call when a request is over; store handles stay). */
  endRequest(): void;
  /** {@link InstanceCapabilities.endRequest}, and closes the instance's store handles. */
  dispose(): void;
}

/** A worker's capabilities: one bridge, its SQLite connections, and per-instance imports. */
export interface WorkerCapabilities {
  /** A blocker that wakes on bridged results (for pollables over outbound responses). */
  readonly blocker: Blocker;
  /** Fresh imports for one instance of `componentId`. */
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
      const kv = createInstanceKvHost(stores, component?.kvLabels ?? []);
      const outbound = createOutboundHost({ bridge: { ...bridge, wait: (ms) => blocker.wait(ms) }, componentId });
      const kvImports = kv.imports as unknown as Record<string, Record<string, unknown>>;
      return {
        imports: {
          'wasi:http/types': outbound.wasiHttpTypes,
          'wasi:http/outgoing-handler': outbound.wasiOutgoingHandler as unknown as Record<string, unknown>,
          'fermyon:spin/http': outbound.spinHttp as unknown as Record<string, unknown>,
          'fermyon:spin/variables': variables.spinVariables as unknown as Record<string, unknown>,
          'fermyon:spin/config': variables.spinConfig as unknown as Record<string, unknown>,
          'wasi:config/store': variables.wasiConfigStore as unknown as Record<string, unknown>,
          'fermyon:spin/key-value': kvImports['fermyon:spin/key-value'] ?? {},
          'wasi:keyvalue/store': kvImports['wasi:keyvalue/store'] ?? {},
          'wasi:keyvalue/batch': kvImports['wasi:keyvalue/batch'] ?? {},
          'wasi:keyvalue/atomics': kvImports['wasi:keyvalue/atomics'] ?? {},
        },
        endRequest() {
          outbound.dispose();
        },
        dispose() {
          outbound.dispose();
          kv.dispose();
        },
      };
    },
    close() {
      stores.close();
      bridge.close();
    },
  };
}
