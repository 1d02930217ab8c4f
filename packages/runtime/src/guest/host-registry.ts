/**
 * A worker's registry of host interfaces: the base WASI host's factories with each capability's
 * imports over them, and the request scopes around each guest call. One per worker, built from
 * what its executor was given; nothing here is module-level state.
 */
import type { GuestCapability } from '../capability.js';
import { interfaceKey } from '../prepare/interface-set.js';
import type { ResolvedMount } from './wasi/filesystem.js';
import type { Blocker, ByteSink } from './wasi/io.js';

/** Per-component state the host interfaces are built over (one per component per worker). */
export interface InstanceContext {
  componentId: string;
  env: Array<[string, string]>;
  mounts: ResolvedMount[];
  stdout: ByteSink;
  stderr: ByteSink;
  blocker: Blocker;
}

/** Builds one interface's import object for one component. */
export type HostInterfaceFactory = (ctx: InstanceContext) => Record<string, unknown>;

/** Thrown by wasi:cli/exit: the guest ended itself. */
export class GuestExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`guest exited with status ${status}`);
    this.status = status;
  }
}

/**
 * The host interfaces of one worker. Import objects hold no per-request state: jco's glue is run
 * once and its imports kept for many fresh instances (see glue-template.ts), so what belongs to a
 * request lives behind the capabilities' `beginRequest`/`endRequest`, which the worker calls
 * around every guest call.
 */
export class HostRegistry {
  private readonly factories: Map<string, HostInterfaceFactory>;
  private readonly capabilities: readonly GuestCapability[];
  private readonly built = new WeakMap<InstanceContext, Array<Record<string, Record<string, unknown>>>>();

  /** `base` is the WASI host's factories (a map this registry then owns); capability imports replace entries of the same name. */
  constructor(base: Map<string, HostInterfaceFactory>, capabilities: readonly GuestCapability[] = []) {
    this.factories = base;
    this.capabilities = capabilities;
  }

  /** The import object jco's glue takes (keys without versions) for the interfaces a component imports. */
  buildImports(imports: readonly string[], ctx: InstanceContext): Record<string, Record<string, unknown>> {
    const fromCapabilities = this.capabilityImports(ctx, imports);
    const out: Record<string, Record<string, unknown>> = {};
    for (const name of imports) {
      const key = interfaceKey(name);
      let value: Record<string, unknown> | undefined;
      for (const set of fromCapabilities) value ??= set[key];
      value ??= this.factories.get(key)?.(ctx);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  /** Begins a request of the component whose context `ctx` is, in every capability. */
  beginRequest(ctx: InstanceContext): void {
    for (const capability of this.capabilities) capability.beginRequest?.(ctx);
  }

  /** Ends the request of `ctx` in every capability (each is ended even if another throws). */
  endRequest(ctx: InstanceContext): void {
    let failure: unknown;
    for (const capability of this.capabilities) {
      try {
        capability.endRequest?.(ctx);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Closes every capability's worker half. */
  close(): void {
    for (const capability of this.capabilities) capability.close?.();
  }

  /** Each capability's imports for `ctx`, built once per component: later capabilities first, so they win. */
  private capabilityImports(ctx: InstanceContext, imports: readonly string[]): Array<Record<string, Record<string, unknown>>> {
    let sets = this.built.get(ctx);
    if (sets === undefined) {
      sets = this.capabilities.map((c) => c.imports(ctx, imports)).reverse();
      this.built.set(ctx, sets);
    }
    return sets;
  }
}
