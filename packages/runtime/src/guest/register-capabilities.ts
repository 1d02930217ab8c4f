/**
 * Wiring into the engine's imports registry (packages/runtime/src/engine/host/registry.ts),
 * kept apart so the capabilities stay usable without it. See the package README for the
 * three calls the engine makes.
 */
import { HOST_INTERFACES, addRequestScope, type HostInterfaceFactory, type InstanceContext } from './host-registry.js';
import type { WorkerCapabilitiesInit } from '../services/app-capabilities.js';
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
 * Worker: installs this worker's capability implementations into the registry. Each component
 * gets one set of imports per worker (its variables, its store labels, its allow-list on the
 * serving side), request-independent so the engine keeps one glue build for many fresh
 * instances; the request scope it adds switches the per-request state (store handles,
 * unfinished outbound calls) when the worker begins and ends a request.
 */
export function installWorkerCapabilities(init: WorkerCapabilitiesInit): WorkerCapabilities {
  const capabilities = createWorkerCapabilities(init);
  const made = new WeakMap<InstanceContext, InstanceCapabilities>();
  const bundle = (ctx: InstanceContext): InstanceCapabilities => {
    let caps = made.get(ctx);
    if (caps === undefined) {
      caps = capabilities.instance(ctx.componentId);
      made.set(ctx, caps);
    }
    return caps;
  };
  for (const key of CAPABILITY_INTERFACES) {
    registry.set(key, (ctx) => bundle(ctx).imports[key] ?? {});
  }
  addRequestScope({
    begin: (ctx) => made.get(ctx)?.beginRequest(),
    end: (ctx) => made.get(ctx)?.endRequest(),
  });
  return capabilities;
}
