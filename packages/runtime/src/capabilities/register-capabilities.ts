/**
 * Wiring into the engine's imports registry (packages/runtime/src/engine/host/registry.ts),
 * kept apart so the capabilities stay usable without it. See the package README for the
 * three calls the engine makes.
 */
import { HOST_INTERFACES, type HostInterfaceFactory, type InstanceContext } from '../engine/host/registry.js';
import type { WorkerCapabilitiesInit } from './app-capabilities.js';
import { CAPABILITY_INTERFACES, createWorkerCapabilities, type InstanceCapabilities, type WorkerCapabilities } from './worker-capabilities.js';

const registry = HOST_INTERFACES as Map<string, HostInterfaceFactory>;

/**
 * Main thread: declares the capability interfaces so the load-time check accepts components
 * that import them (the implementations are installed in each worker).
 */
export function declareCapabilityInterfaces(): void {
  for (const key of CAPABILITY_INTERFACES) {
    if (registry.has(key)) continue;
    registry.set(key, () => {
      throw new Error(`${key} is provided inside the engine's workers only (installWorkerCapabilities)`);
    });
  }
}

/**
 * Worker: installs this worker's capability implementations into the registry. Every
 * instance gets its own imports (variables of its component, its store labels, its
 * allow-list on the serving side); the interfaces of one instance share one bundle.
 */
export function installWorkerCapabilities(init: WorkerCapabilitiesInit): WorkerCapabilities {
  const capabilities = createWorkerCapabilities(init);
  // buildImports calls one factory per interface, synchronously, for one instance: the bundle
  // made by the first call is shared by the rest of that pass and forgotten after it.
  const current = new Map<InstanceContext, InstanceCapabilities>();
  const bundle = (ctx: InstanceContext): InstanceCapabilities => {
    let made = current.get(ctx);
    if (made === undefined) {
      const fresh = capabilities.instance(ctx.componentId);
      made = fresh;
      current.set(ctx, fresh);
      // The guest runs synchronously after its imports are built; once it has returned,
      // outbound requests it left unfinished are cancelled so nothing upstream is held open.
      queueMicrotask(() => {
        current.delete(ctx);
        setImmediate(() => fresh.endRequest());
      });
    }
    return made;
  };
  for (const key of CAPABILITY_INTERFACES) {
    registry.set(key, (ctx) => bundle(ctx).imports[key] ?? {});
  }
  return capabilities;
}
