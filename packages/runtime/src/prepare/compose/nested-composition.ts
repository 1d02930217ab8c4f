/**
 * The common frame of a composition, as both `[component.<id>.dependencies]` and HTTP middleware
 * build it: components are nested whole and instantiated inside one outer component, which
 * imports whatever the nested instances leave to the host (imports of the same name merged), and
 * a nested component that does not inherit a configuration gets a deny adapter instantiated in
 * front of it for those host interfaces (Spin's `apply_deny_adapter`, `crates/capabilities`).
 *
 * Use: `plan()` every nested component first (this fixes the outer imports), then `write()`,
 * then `instantiate()` them in dependency order and export from the last.
 */
import type { InheritConfiguration } from '@spinel/manifest';
import { inherits } from './capability-sets.js';
import { ComponentBuilder, type SortIndex } from './component-builder.js';
import type { ComponentImport, InstanceType } from './component-types.js';
import { Sort } from './component-types.js';
import { ComponentShapeError, decodeComponent } from './decode-component.js';
import { buildDenyAdapter } from './deny-adapter.js';
import { orderImports } from './import-order.js';
import { TypeEncoder } from './type-encoder.js';

/** One component to nest, as planned: which of its imports are wired, denied or left to the host. */
export interface NestedPlan {
  readonly bytes: Uint8Array;
  readonly imports: readonly ComponentImport[];
  /** The deny adapter and the import names it satisfies, when something is denied. */
  readonly adapter: { readonly bytes: Uint8Array; readonly denied: ReadonlySet<string> } | undefined;
}

/** The sort code of an import. */
export function sortOf(imp: ComponentImport): number {
  return imp.kind === 'instance' ? Sort.instance : Sort.func;
}

function mergeInstance(a: InstanceType, b: InstanceType): InstanceType {
  const names = new Set(a.exports.map((e) => e.name));
  const extra = b.exports.filter((e) => !names.has(e.name));
  return extra.length === 0 ? a : { kind: 'instance', exports: [...a.exports, ...extra] };
}

/** Builds one composed component out of nested ones. */
export class NestedComposition {
  readonly #outer = new Map<string, ComponentImport>();
  #builder: ComponentBuilder | undefined;
  #types: TypeEncoder | undefined;
  readonly #funcs = new Map<string, number>();

  /** Adds an import of the outer component (merged with one of the same name). */
  addImport(imp: ComponentImport): void {
    const known = this.#outer.get(imp.name);
    if (known === undefined) this.#outer.set(imp.name, imp);
    else if (known.kind === 'instance' && imp.kind === 'instance') this.#outer.set(imp.name, { ...known, type: mergeInstance(known.type, imp.type) });
    else if (known.kind !== imp.kind) throw new ComponentShapeError(`${imp.name} is imported both as an instance and as a function`);
  }

  /**
   * Plans a nested component: its imports named in `wired` are satisfied inside the composition;
   * with `deny` given, its host interfaces not inherited by that configuration come from a deny
   * adapter; the rest become imports of the outer component.
   * @param deny what the component inherits (`undefined` inside means nothing), or `false` for no adapter at all
   */
  plan(bytes: Uint8Array, imports: readonly ComponentImport[], wired: ReadonlySet<string>, deny: { readonly inherit: InheritConfiguration | undefined } | false): NestedPlan {
    const open = imports.filter((imp) => !wired.has(imp.name));
    const denied = deny === false ? [] : open.filter((imp) => imp.kind === 'instance' && !inherits(deny.inherit, imp.name));
    for (const imp of open) if (!denied.includes(imp)) this.addImport(imp);
    if (denied.length === 0) return { bytes, imports, adapter: undefined };
    const adapterBytes = buildDenyAdapter(denied, new Map(imports.map((imp) => [imp.name, imp])));
    // The adapter imports only interfaces its types come from, which the component imports
    // itself and keeps (a denied interface's types are written into the adapter).
    return { bytes, imports, adapter: { bytes: adapterBytes, denied: new Set(denied.map((d) => d.name)) } };
  }

  /** Writes the outer imports and nests every planned component (adapters first); returns their component indexes in order. */
  write(plans: readonly NestedPlan[]): Array<{ component: number; adapter: number | undefined }> {
    const builder = new ComponentBuilder();
    const types = new TypeEncoder(builder);
    this.#builder = builder;
    this.#types = types;
    const ordered = orderImports([...this.#outer.values()].filter((i) => i.kind === 'instance'), this.#outer);
    for (const imp of ordered) if (imp.kind === 'instance') types.importInstance(imp.name, imp.type);
    for (const imp of this.#outer.values()) if (imp.kind === 'func') this.#funcs.set(imp.name, types.importFunc(imp.name, imp.type));
    const adapters = plans.map((p) => (p.adapter === undefined ? undefined : builder.component(p.adapter.bytes)));
    return plans.map((p, i) => ({ component: builder.component(p.bytes), adapter: adapters[i] }));
  }

  /** The builder, once written. */
  get builder(): ComponentBuilder {
    if (this.#builder === undefined) throw new Error('NestedComposition.write() must come first');
    return this.#builder;
  }

  /** The outer import satisfying `imp`. */
  fromOuter(imp: ComponentImport): SortIndex {
    const index = imp.kind === 'instance' ? this.#types?.instances.get(imp.name) : this.#funcs.get(imp.name);
    if (index === undefined) throw new ComponentShapeError(`${imp.name} is not imported`);
    return { name: imp.name, sort: sortOf(imp), index };
  }

  /**
   * Instantiates a nested component (after its deny adapter, if any): its wired imports from
   * `wired(name)`, denied ones from the adapter, the rest from the outer imports.
   */
  instantiate(plan: NestedPlan, nested: { component: number; adapter: number | undefined }, wired: (imp: ComponentImport) => SortIndex | undefined): number {
    const builder = this.builder;
    let adapterInstance: number | undefined;
    if (plan.adapter !== undefined && nested.adapter !== undefined) {
      const needs = decodeComponent(plan.adapter.bytes, new Map(), 'deny adapter').imports;
      adapterInstance = builder.instantiate(nested.adapter, needs.map((imp) => this.fromOuter(imp)));
    }
    const args = plan.imports.map((imp): SortIndex => {
      const inner = wired(imp);
      if (inner !== undefined) return inner;
      if (adapterInstance !== undefined && plan.adapter?.denied.has(imp.name) === true) {
        return { name: imp.name, sort: Sort.instance, index: builder.aliasExport(Sort.instance, adapterInstance, imp.name) };
      }
      return this.fromOuter(imp);
    });
    return builder.instantiate(nested.component, args);
  }
}
