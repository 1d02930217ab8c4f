/**
 * Worker side of the capability seam: loads each capability's guest module over the worker's one
 * blocking channel, giving the worker one {@link HostRegistry} built from exactly what its executor
 * was given.
 */
import type { CreateGuestCapability, GuestCapability } from '../capability.js';
import type { SyncBridge } from '../channel/sync-bridge.js';
import { HostRegistry } from './host-registry.js';
import { wasiHostInterfaces } from './wasi/host.js';
import type { Blocker } from './wasi/io.js';

/** Each capability's guest module (a file: URL) and the init data its service made for one worker. */
export type GuestCapabilitiesInit = Array<{ name: string; module: string; init: unknown }>;

/**
 * Builds a worker's host registry: the WASI interfaces, then each capability's imports over them.
 * Capabilities reach the main thread over `channel`; `blocker` sleeps until it has news.
 * @throws Error when a guest module cannot be loaded or has no `createGuestCapability` export
 */
export async function createHostRegistry(capabilities: GuestCapabilitiesInit, channel: SyncBridge, blocker: Blocker): Promise<HostRegistry> {
  const built: GuestCapability[] = [];
  try {
    for (const { name, module, init } of capabilities) {
      const loaded = (await import(module)) as { createGuestCapability?: CreateGuestCapability };
      if (typeof loaded.createGuestCapability !== 'function') throw new Error(`capability ${name}: ${module} exports no createGuestCapability`);
      built.push(loaded.createGuestCapability(init, { channel, blocker }));
    }
  } catch (err) {
    for (const capability of built) capability.close?.();
    throw err;
  }
  return new HostRegistry(wasiHostInterfaces(), built);
}

/** The base WASI host alone, with no capabilities and no channel (tests of a worker's instances). */
export function wasiOnlyHost(): { registry: HostRegistry } {
  return { registry: new HostRegistry(wasiHostInterfaces()) };
}
