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
 */

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

/** The glue's exports over core instances that can be replaced. */
export class GlueTemplate {
  readonly exports: Record<string, unknown>;
  private readonly records: Recorded[] = [];
  private readonly current: WebAssembly.Instance[] = [];
  private readonly forwarders = new Map<unknown, Slot>();

  constructor(instantiate: GlueInstantiate, getCoreModule: (name: string) => WebAssembly.Module, imports: Record<string, Record<string, unknown>>) {
    this.exports = instantiate(getCoreModule, imports, (module, coreImports) => this.record(module, coreImports));
  }

  /** Replaces every core instance with a new one (a fresh guest), keeping the glue. */
  refresh(): void {
    for (let i = 0; i < this.records.length; i++) {
      const rec = this.records[i];
      if (rec === undefined) continue;
      this.current[i] = new WebAssembly.Instance(rec.module, this.resolve(rec.imports) as WebAssembly.Imports);
    }
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
    const live = (): any => (current[index] as WebAssembly.Instance).exports[name]; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (typeof value === 'function') {
      return function forward(...args: unknown[]): unknown {
        return (live() as (...a: unknown[]) => unknown)(...args);
      };
    }
    if (value instanceof WebAssembly.Memory) {
      return {
        get buffer(): ArrayBuffer {
          return (live() as WebAssembly.Memory).buffer;
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
