/**
 * Writes a component binary section by section, counting its index spaces; consecutive items of
 * one kind share a section, as wasm-tools writes them (`design/mvp/Binary.md`).
 */
import { encodeName, encodeSection, encodeU32 } from '../wasm-reader.js';
import { Sort } from './component-types.js';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/** Signed LEB128 (value types' indices are written as non-negative s33). */
export function encodeS33(value: number): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v = Math.floor(v / 128);
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** `vec(x)`: a count and the items. */
export function vec(items: readonly number[][]): number[] {
  return [...encodeU32(items.length), ...items.flat()];
}

/** An extern name as written in import/export sections and declarations (`0x00` form). */
export function externName(name: string): number[] {
  return [0x00, ...encodeName(name)];
}

/** One argument or inline export: a name, a sort and an index. */
export interface SortIndex {
  readonly name: string;
  readonly sort: number;
  readonly index: number;
}

/** Builds one component binary. */
export class ComponentBuilder {
  private readonly sections: Uint8Array[] = [];
  private group: { id: number; items: number[][] } | undefined;
  /** Sizes of the component-level index spaces. */
  readonly count = { type: 0, func: 0, instance: 0, component: 0, coreModule: 0, coreInstance: 0, coreFunc: 0, coreMemory: 0 };

  private item(id: number, bytes: number[]): void {
    if (this.group?.id !== id) this.flush();
    this.group ??= { id, items: [] };
    this.group.items.push(bytes);
  }

  private flush(): void {
    if (this.group === undefined) return;
    this.sections.push(encodeSection(this.group.id, vec(this.group.items)));
    this.group = undefined;
  }

  private bump(sort: number): number {
    switch (sort) {
      case Sort.type:
        return this.count.type++;
      case Sort.func:
        return this.count.func++;
      case Sort.instance:
        return this.count.instance++;
      case Sort.component:
        return this.count.component++;
      default:
        return -1;
    }
  }

  /** A type definition (its `deftype` bytes); returns its index. */
  type(def: number[]): number {
    this.item(7, def);
    return this.count.type++;
  }

  /** Imports an instance of type `typeIndex`. */
  importInstance(name: string, typeIndex: number): number {
    this.item(10, [...externName(name), 0x05, ...encodeU32(typeIndex)]);
    return this.count.instance++;
  }

  /** Imports a function of type `typeIndex`. */
  importFunc(name: string, typeIndex: number): number {
    this.item(10, [...externName(name), 0x01, ...encodeU32(typeIndex)]);
    return this.count.func++;
  }

  /** `alias export instance name (sort)`. */
  aliasExport(sort: number, instance: number, name: string): number {
    this.item(6, [sort, 0x00, ...encodeU32(instance), ...encodeName(name)]);
    return this.bump(sort);
  }

  /** `alias core export core-instance name (core func|memory)`. */
  aliasCoreExport(coreSort: 'func' | 'memory', coreInstance: number, name: string): number {
    this.item(6, [0x00, coreSort === 'func' ? 0x00 : 0x02, 0x01, ...encodeU32(coreInstance), ...encodeName(name)]);
    return coreSort === 'func' ? this.count.coreFunc++ : this.count.coreMemory++;
  }

  /** A nested component, embedded whole. */
  component(bytes: Uint8Array): number {
    this.flush();
    this.sections.push(encodeSection(4, bytes));
    return this.count.component++;
  }

  /** A core module, embedded whole. */
  coreModule(bytes: Uint8Array): number {
    this.flush();
    this.sections.push(encodeSection(1, bytes));
    return this.count.coreModule++;
  }

  /** Instantiates a core module that imports nothing. */
  coreInstantiate(module: number): number {
    this.item(2, [0x00, ...encodeU32(module), 0x00]);
    return this.count.coreInstance++;
  }

  /** Instantiates a nested component with the given arguments. */
  instantiate(component: number, args: readonly SortIndex[]): number {
    this.item(5, [0x00, ...encodeU32(component), ...vec(args.map((a) => [...encodeName(a.name), a.sort, ...encodeU32(a.index)]))]);
    return this.count.instance++;
  }

  /** An instance made of the given items. */
  instanceFromExports(items: readonly SortIndex[]): number {
    this.item(5, [0x01, ...vec(items.map((a) => [...externName(a.name), a.sort, ...encodeU32(a.index)]))]);
    return this.count.instance++;
  }

  /** `canon lift` of a core function with UTF-8 strings, memory 0 and a realloc. */
  canonLift(coreFunc: number, typeIndex: number, memory: number, realloc: number): number {
    this.item(8, [0x00, 0x00, ...encodeU32(coreFunc), ...vec([[0x00], [0x03, ...encodeU32(memory)], [0x04, ...encodeU32(realloc)]]), ...encodeU32(typeIndex)]);
    return this.count.func++;
  }

  /** Exports an item (no type ascription). */
  export(name: string, sort: number, index: number): number {
    this.item(11, [...externName(name), sort, ...encodeU32(index), 0x00]);
    return this.bump(sort);
  }

  /** The component's bytes. */
  finish(): Uint8Array {
    this.flush();
    const size = this.sections.reduce((n, s) => n + s.length, HEADER.length);
    const out = new Uint8Array(size);
    out.set(HEADER, 0);
    let at = HEADER.length;
    for (const s of this.sections) {
      out.set(s, at);
      at += s.length;
    }
    return out;
  }
}
