/**
 * Re-instantiating only the core modules of a jco-transpiled component.
 *
 * jco's sync glue builds, on every `instantiate`, a large amount of JS state (trampolines, handle
 * tables, task bookkeeping) before it creates the core instances; for a JS component that setup
 * costs more than the instances themselves. The guest's state lives entirely in the core
 * instances, so a fresh instance per request only needs fresh core instances. A template runs the
 * glue once, recording each core instantiation (module and import object); the glue is handed
 * forwarding exports that always reach the newest core instances. `refresh()` replays the
 * recorded instantiations in order, mapping any import that is an earlier instance's export onto
 * the new instance, so memories, tables and globals are all new while the glue is kept.
 *
 * Cheaper still, `reset()` puts the current core instances back into the state they had right
 * after instantiation, from a snapshot taken then (instance-snapshot.ts argues why that is a fresh
 * guest), when prepare made every core module resettable (prepare/resettable-module.ts).
 *
 * Either way the glue's resource handle tables are emptied and its bookkeeping put back too, when
 * the glue exposes them (prepare/glue-state-patch.ts): otherwise a handle one request's guest left
 * undropped would reach that request's host object from the next. Glue that does not expose them
 * must not be kept across requests ({@link GlueTemplate.keepsHandlesApart} is false).
 */
import { debuglog } from 'node:util';
import { GLUE_STATE_IMPORT } from '../prepare/glue-state-patch.js';
import type { ResetLayout } from '../prepare/resettable-module.js';
import { ComponentSnapshot, GlueHandleState, SnapshotLayoutError, type GlueStateTables } from './instance-snapshot.js';

const debug = debuglog('spinel:runtime');

type Imports = Record<string, Record<string, unknown>> | undefined;
type InstantiateCore = (module: WebAssembly.Module, imports?: Imports) => { exports: Record<string, unknown> };

/** jco's sync `instantiate(getCoreModule, imports, instantiateCore)`. */
export type GlueInstantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore?: InstantiateCore,
) => Record<string, unknown>;

interface Slot {
  index: number;
  name: string;
}

interface Recorded {
  module: WebAssembly.Module;
  imports: Imports;
}

/** What prepare learnt about resetting a component (see prepare/resettable-cache.ts). */
export interface GlueTemplateOptions {
  /** A layout for each core module by the name the glue asks for; resets are used only when every module has one. */
  resetLayouts?: Record<string, ResetLayout> | undefined;
  /** How many capture tables the patched glue registers; undefined when the glue was not patched. */
  glueCaptureTables?: number | undefined;
  /** The bookkeeping the patched glue registers, by name (prepare/glue-state-patch.ts). @default none */
  glueBookkeeping?: readonly string[] | undefined;
}

/** The glue's exports over core instances that can be replaced or reset. */
export class GlueTemplate {
  readonly exports: Record<string, unknown>;
  /** Whether the glue's handle tables are emptied between guests, so the glue may be kept across requests. */
  readonly keepsHandlesApart: boolean;
  private readonly records: Recorded[] = [];
  private readonly current: WebAssembly.Instance[] = [];
  private readonly forwarders = new Map<unknown, Slot>();
  private readonly handles: GlueHandleState | undefined;
  /** The layout of each recorded core instance, when all of them are resettable. */
  private readonly layouts: ResetLayout[] | undefined;
  private snapshot: ComponentSnapshot | undefined;

  constructor(instantiate: GlueInstantiate, getCoreModule: (name: string) => WebAssembly.Module, imports: Record<string, Record<string, unknown>>, options: GlueTemplateOptions = {}) {
    const names = new Map<WebAssembly.Module, string>();
    const named = (name: string): WebAssembly.Module => {
      const module = getCoreModule(name);
      names.set(module, name);
      return module;
    };
    let state: GlueStateTables | undefined;
    const hook = (handleTables: unknown[], captureTables: Array<Map<unknown, unknown>>, bookkeeping?: Record<string, unknown>): void => {
      state = { handleTables, captureTables, bookkeeping };
    };
    const withHook = options.glueCaptureTables === undefined ? imports : { ...imports, [GLUE_STATE_IMPORT]: hook as unknown as Record<string, unknown> };
    this.exports = instantiate(named, withHook, (module, coreImports) => this.record(module, coreImports));
    // Patched glue registers its capture tables while it instantiates; a different count, or other
    // bookkeeping than prepare found, means the patch did not see the glue's shape right, and its
    // state is not trusted to be complete.
    const expected = [...(options.glueBookkeeping ?? [])].sort();
    const complete =
      state !== undefined &&
      state.captureTables.length === options.glueCaptureTables &&
      JSON.stringify(Object.keys(state.bookkeeping ?? {}).sort()) === JSON.stringify(expected) &&
      Object.values(state.bookkeeping ?? {}).every((v) => typeof v === 'object' && v !== null);
    this.handles = complete && state !== undefined ? new GlueHandleState(state) : undefined;
    this.keepsHandlesApart = this.handles !== undefined;
    const layouts = this.records.map((rec) => {
      const name = names.get(rec.module);
      return name === undefined ? undefined : options.resetLayouts?.[name];
    });
    this.layouts = layouts.every((l): l is ResetLayout => l !== undefined) && layouts.length > 0 ? layouts : undefined;
    this.snapshot = this.takeSnapshot();
  }

  /** Whether {@link reset} can be used (every core module was made resettable). */
  get resettable(): boolean {
    return this.snapshot !== undefined;
  }

  /** Replaces every core instance with a new one (a fresh guest), keeping the glue. */
  refresh(): void {
    this.snapshot = undefined;
    for (let i = 0; i < this.records.length; i++) {
      const rec = this.records[i];
      if (rec === undefined) continue;
      this.current[i] = new WebAssembly.Instance(rec.module, this.resolve(rec.imports) as WebAssembly.Imports);
    }
    this.handles?.reset();
    this.snapshot = this.takeSnapshot();
  }

  /**
   * Puts the current core instances back into their state right after instantiation (a fresh
   * guest), keeping the glue. False when that cannot be done (the component is not resettable, or
   * a memory or table grew): then {@link refresh} must be used before the next guest runs.
   */
  reset(): boolean {
    const snapshot = this.snapshot;
    if (snapshot === undefined) return false;
    if (!snapshot.restore()) {
      this.snapshot = undefined;
      return false;
    }
    this.handles?.reset();
    return true;
  }

  private takeSnapshot(): ComponentSnapshot | undefined {
    const layouts = this.layouts;
    if (layouts === undefined) return undefined;
    try {
      return new ComponentSnapshot(this.current.map((instance, i) => ({ instance, layout: layouts[i] as ResetLayout })));
    } catch (err) {
      // Modules that do not match their layout (a cache entry from elsewhere): new instances instead.
      if (!(err instanceof SnapshotLayoutError)) throw err;
      debug('no resets: %s', err.message);
      return undefined;
    }
  }

  /** Bytes of the largest memory the current core instances export (0 when none does). */
  memoryBytes(): number {
    let most = 0;
    for (const instance of this.current) {
      for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) most = Math.max(most, value.buffer.byteLength);
    }
    return most;
  }

  /** Each core module with the import object its current instance was made with (benchmarks time `new WebAssembly.Instance` from these). */
  coreInstantiations(): Array<{ module: WebAssembly.Module; imports: WebAssembly.Imports | undefined }> {
    return this.records.map((rec) => ({ module: rec.module, imports: this.resolve(rec.imports) as WebAssembly.Imports | undefined }));
  }

  private exportOf(slot: Slot): unknown {
    return this.current[slot.index]?.exports[slot.name];
  }

  private resolve(imports: Imports): Imports {
    if (imports === undefined) return undefined;
    const out: Record<string, Record<string, unknown>> = {};
    for (const ns of Object.keys(imports)) {
      const src = imports[ns] ?? {};
      const dst: Record<string, unknown> = {};
      for (const key of Object.keys(src)) {
        const value = src[key];
        const slot = this.forwarders.get(value);
        dst[key] = slot === undefined ? value : this.exportOf(slot);
      }
      out[ns] = dst;
    }
    return out;
  }

  private record(module: WebAssembly.Module, imports: Imports): { exports: Record<string, unknown> } {
    const index = this.records.length;
    this.records.push({ module, imports });
    const instance = new WebAssembly.Instance(module, this.resolve(imports) as WebAssembly.Imports);
    this.current[index] = instance;
    const forwarding: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      const proxy = this.forwarder(index, name, value);
      this.forwarders.set(proxy, { index, name });
      forwarding[name] = proxy;
    }
    return { exports: forwarding };
  }

  private forwarder(index: number, name: string, value: unknown): unknown {
    const current = this.current;
    // The export of the instance current now, looked up again only when the instance changed:
    // the glue reaches a memory's buffer several times per host call, and `instance.exports` is
    // an accessor into the engine.
    let liveInstance: WebAssembly.Instance | undefined;
    let liveExport: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const live = (): any => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const instance = current[index] as WebAssembly.Instance;
      if (instance !== liveInstance) {
        liveInstance = instance;
        liveExport = instance.exports[name];
      }
      return liveExport;
    };
    if (typeof value === 'function') {
      return function forward(...args: unknown[]): unknown {
        return (live() as (...a: unknown[]) => unknown)(...args);
      };
    }
    if (value instanceof WebAssembly.Memory) {
      // A memory's buffer is the same object until the memory grows, which detaches it (its
      // length then reads 0): kept until then.
      let bufferOf: WebAssembly.Memory | undefined;
      let buffer: ArrayBuffer | undefined;
      return {
        get buffer(): ArrayBuffer {
          const memory = live() as WebAssembly.Memory;
          if (memory !== bufferOf || buffer === undefined || buffer.byteLength === 0) {
            bufferOf = memory;
            buffer = memory.buffer;
          }
          return buffer;
        },
        grow: (delta: number): number => (live() as WebAssembly.Memory).grow(delta),
      };
    }
    if (value instanceof WebAssembly.Table) {
      return {
        get length(): number {
          return (live() as WebAssembly.Table).length;
        },
        get: (i: number): unknown => (live() as WebAssembly.Table).get(i),
        set: (i: number, v: unknown): void => (live() as WebAssembly.Table).set(i, v),
        grow: (delta: number): number => (live() as WebAssembly.Table).grow(delta),
      };
    }
    if (value instanceof WebAssembly.Global) {
      return {
        get value(): unknown {
          return (live() as WebAssembly.Global).value;
        },
        set value(v: unknown) {
          (live() as WebAssembly.Global).value = v;
        },
        valueOf: (): unknown => (live() as WebAssembly.Global).value,
      };
    }
    return value;
  }
}
