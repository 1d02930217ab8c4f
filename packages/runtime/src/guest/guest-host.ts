/**
 * Worker side of the capability seam: connects the worker's blocking channel and loads each
 * capability's guest module, giving the worker one {@link HostRegistry} built from exactly what its
 * executor was given.
 */
import type { CreateGuestCapability, GuestCapability } from '../capability.js';
import type { BridgeEndpoint } from '../channel/bridge-protocol.js';
import { createSyncBridge, type SyncBridge } from '../channel/sync-bridge.js';
import { HostRegistry } from './host-registry.js';
import { wasiHostInterfaces } from './wasi/host.js';
import type { Blocker } from './wasi/io.js';

/** What a worker receives to build its host (posted with `endpoint.port` in the transfer list). */
export interface GuestHostInit {
  /** The worker's blocking channel to the capabilities' main-thread services. */
  endpoint: BridgeEndpoint;
  /** Each capability's guest module (a file: URL) and the init data its service made for this worker. */
  capabilities: Array<{ name: string; module: string; init: unknown }>;
}

/** A worker's host: its registry and, with capabilities, its channel. */
export interface GuestHost {
  readonly registry: HostRegistry;
  /** Wakes on channel results (capability pollables); undefined without capabilities. */
  readonly blocker: Blocker | undefined;
  close(): void;
}

/** The longest a capability wait sleeps before re-polling, so a poll over mixed sources cannot hang. */
const WAIT_SLICE_MS = 10;

/** The base WASI host alone (an executor without capabilities). */
export function wasiOnlyHost(): GuestHost {
  const registry = new HostRegistry(wasiHostInterfaces());
  return { registry, blocker: undefined, close: () => undefined };
}

/**
 * Builds a worker's host: the WASI interfaces, then each capability's imports over them.
 * @throws Error when a guest module cannot be loaded or has no `createGuestCapability` export
 */
export async function createGuestHost(init: GuestHostInit): Promise<GuestHost> {
  const bridge = createSyncBridge(init.endpoint);
  const blocker: Blocker = { wait: (ms) => bridge.wait(Math.min(ms, WAIT_SLICE_MS)) };
  const channel: SyncBridge = { ...bridge, wait: (ms) => blocker.wait(ms) };
  const capabilities: GuestCapability[] = [];
  try {
    for (const { name, module, init: data } of init.capabilities) {
      const loaded = (await import(module)) as { createGuestCapability?: CreateGuestCapability };
      if (typeof loaded.createGuestCapability !== 'function') throw new Error(`capability ${name}: ${module} exports no createGuestCapability`);
      capabilities.push(loaded.createGuestCapability(data, { channel, blocker }));
    }
  } catch (err) {
    for (const capability of capabilities) capability.close?.();
    bridge.close();
    throw err;
  }
  const registry = new HostRegistry(wasiHostInterfaces(), capabilities);
  return {
    registry,
    blocker,
    close() {
      registry.close();
      bridge.close();
    },
  };
}
