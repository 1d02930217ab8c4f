/**
 * The top-level wiring of a composed component, read back from its binary: which nested
 * component each instance instantiates and with which arguments, where each argument and export
 * comes from. Tests use it to check a composition is wired as Spin wires it; the runtime never
 * needs it.
 */
import { WasmReader } from '../wasm-reader.js';
import { readAlias, readExternDesc, readExternName } from './component-parse.js';
import { Sort } from './component-types.js';

/** Where an instance of the composed component comes from. */
export type InstanceOrigin =
  | { readonly kind: 'import'; readonly name: string }
  | { readonly kind: 'instantiate'; readonly component: number; readonly args: ReadonlyMap<string, InstanceOrigin | { readonly kind: 'other'; readonly sort: number }> }
  | { readonly kind: 'alias'; readonly instance: InstanceOrigin; readonly name: string }
  | { readonly kind: 'other' };

/** The wiring of a composed component's top level. */
export interface CompositionStructure {
  /** The nested components' bytes, by component index. */
  readonly components: readonly Uint8Array[];
  /** Instance-sort exports, by name. */
  readonly exports: ReadonlyMap<string, InstanceOrigin>;
  /** Import names, in order. */
  readonly imports: readonly string[];
}

/** Reads the top-level wiring of a component binary. */
export function readCompositionStructure(bytes: Uint8Array): CompositionStructure {
  const components: Uint8Array[] = [];
  const instances: InstanceOrigin[] = [];
  const exports = new Map<string, InstanceOrigin>();
  const imports: string[] = [];
  const r = new WasmReader(bytes, 8);
  while (!r.done) {
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const s = new WasmReader(bytes, start, start + size);
    r.skip(size);
    if (id === 4) components.push(bytes.subarray(start, start + size));
    else if (id === 10) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const name = readExternName(s);
        const desc = readExternDesc(s);
        imports.push(name);
        if (desc.kind === 'instance') instances.push({ kind: 'import', name });
      }
    } else if (id === 5) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const form = s.u8();
        if (form === 0x00) {
          const component = s.u32();
          const count = s.u32();
          const args = new Map<string, InstanceOrigin | { kind: 'other'; sort: number }>();
          for (let a = 0; a < count; a++) {
            const name = s.name();
            let sort = s.u8();
            if (sort === 0x00) sort = 0x100 + s.u8();
            const index = s.u32();
            args.set(name, sort === Sort.instance ? (instances[index] ?? { kind: 'other' }) : { kind: 'other', sort });
          }
          instances.push({ kind: 'instantiate', component, args });
        } else {
          const items = s.u32();
          for (let a = 0; a < items; a++) {
            readExternName(s);
            if (s.u8() === 0x00) s.u8();
            s.u32();
          }
          instances.push({ kind: 'other' });
        }
      }
    } else if (id === 6) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const { sort, target } = readAlias(s);
        if (sort !== Sort.instance) continue;
        instances.push(target.kind === 'export' ? { kind: 'alias', instance: instances[target.instance] ?? { kind: 'other' }, name: target.name } : { kind: 'other' });
      }
    } else if (id === 11) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const name = readExternName(s);
        let sort = s.u8();
        if (sort === 0x00) sort = 0x100 + s.u8();
        const index = s.u32();
        if (s.u8() === 0x01) readExternDesc(s);
        if (sort === Sort.instance) {
          const origin = instances[index] ?? { kind: 'other' };
          exports.set(name, origin);
          instances.push(origin);
        }
      }
    }
  }
  return { components, exports, imports };
}
