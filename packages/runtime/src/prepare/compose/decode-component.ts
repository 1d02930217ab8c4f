/**
 * Reads what composition needs from a component binary's top level: its imports with their types
 * resolved (resources interned by key so several components share them), and its export names.
 * Nested components, core modules and canonical functions are not looked into: a composed
 * component embeds each input whole.
 */
import { WasmFormatError, WasmReader } from '../wasm-reader.js';
import { readAlias, readDefType, readExternDesc, readExternName, type RawDecl, type RawDef, type RawVal } from './component-parse.js';
import type { AnyType, ComponentImport, InstanceExport, InstanceType, Labelled, ResourceType, ValType } from './component-types.js';
import { Sort } from './component-types.js';

/** Resources by key, shared by every component decoded for one composition. */
export type ResourceTable = Map<string, ResourceType>;

/** An export of a component's top level. */
export interface ComponentExportName {
  readonly name: string;
  /** A component sort code (`Sort`), or `0x100 + core sort`. */
  readonly sort: number;
}

/** What composition reads from one component. */
export interface DecodedComponent {
  readonly imports: readonly ComponentImport[];
  readonly exports: readonly ComponentExportName[];
}

/** A component construct composition cannot copy (named in the message). */
export class ComponentShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComponentShapeError';
  }
}

type Entry = AnyType | { readonly kind: 'deferred'; readonly def: RawDef; readonly scope: number } | { readonly kind: 'opaque' };
type InstanceEntry = { readonly type: InstanceType } | undefined;

const COMPONENT_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/** Interns a resource by key. */
function resource(table: ResourceTable, instance: string, name: string): ResourceType {
  const key = `${instance}#${name}`;
  let r = table.get(key);
  if (r === undefined) {
    r = { kind: 'resource', key, origin: { instance, name } };
    table.set(key, r);
  }
  return r;
}

class Resolver {
  constructor(
    private readonly resources: ResourceTable,
    private readonly lookup: (index: number) => Entry,
    private readonly where: string,
  ) {}

  private entry(index: number): AnyType {
    const e = this.lookup(index);
    if (e.kind === 'deferred' || e.kind === 'opaque') throw new ComponentShapeError(`${this.where} refers to type ${index}, which composition cannot use here`);
    return e;
  }

  val(v: RawVal): ValType {
    if ('prim' in v) return { kind: 'prim', code: v.prim };
    const t = this.entry(v.index);
    if (t.kind === 'resource' || t.kind === 'func' || t.kind === 'instance') throw new ComponentShapeError(`${this.where}: type ${v.index} is not a value type`);
    return t;
  }

  private res(index: number): ResourceType {
    const t = this.entry(index);
    if (t.kind !== 'resource') throw new ComponentShapeError(`${this.where}: own/borrow of type ${index}, which is not a resource`);
    return t;
  }

  private opt(v: RawVal | undefined): ValType | undefined {
    return v === undefined ? undefined : this.val(v);
  }

  /** A definition that is not an instance or component type. */
  def(d: RawDef): AnyType {
    switch (d.kind) {
      case 'prim':
        return { kind: 'prim', code: d.code };
      case 'record':
        return { kind: 'record', fields: d.fields.map(([name, t]): Labelled => ({ name, type: this.val(t) })) };
      case 'variant':
        return { kind: 'variant', cases: d.cases.map(([name, t]) => ({ name, type: this.opt(t) })) };
      case 'list':
        return { kind: 'list', element: this.val(d.element), length: d.length };
      case 'tuple':
        return { kind: 'tuple', types: d.types.map((t) => this.val(t)) };
      case 'flags':
      case 'enum':
        return { kind: d.kind, names: [...d.names] };
      case 'option':
        return { kind: 'option', type: this.val(d.type) };
      case 'result':
        return { kind: 'result', ok: this.opt(d.ok), err: this.opt(d.err) };
      case 'own':
      case 'borrow':
        return { kind: d.kind, resource: this.res(d.index) };
      case 'stream':
      case 'future':
        return { kind: d.kind, type: this.opt(d.type) };
      case 'func':
        return { kind: 'func', async: d.async, params: d.params.map(([name, t]) => ({ name, type: this.val(t) })), result: this.opt(d.result) };
      case 'resource':
        throw new ComponentShapeError(`${this.where} defines a resource type where composition expects an imported one`);
      case 'instance':
      case 'component':
        throw new ComponentShapeError(`${this.where} nests a ${d.kind} type, which composition does not support`);
    }
  }

  /** An instance type imported as `importName`: its resources are `<importName>#<name>`. */
  instance(decls: readonly RawDecl[], importName: string): InstanceType {
    const local: AnyType[] = [];
    const exports: InstanceExport[] = [];
    const inner = new Resolver(
      this.resources,
      (i) => {
        const t = local[i];
        if (t === undefined) throw new ComponentShapeError(`${this.where}: instance type of ${importName} refers to undefined type ${i}`);
        return t;
      },
      `${this.where} (${importName})`,
    );
    for (const decl of decls) {
      switch (decl.kind) {
        case 'core-type':
          break;
        case 'type':
          local.push(inner.def(decl.def));
          break;
        case 'alias': {
          const { sort, target } = decl.alias;
          if (sort !== Sort.type || target.kind !== 'outer' || target.count !== 1) {
            if (sort === Sort.type) throw new ComponentShapeError(`${this.where}: instance type of ${importName} has an alias composition does not support`);
            break;
          }
          local.push(this.entry(target.index));
          break;
        }
        case 'import':
          throw new ComponentShapeError(`${this.where}: instance type of ${importName} has an import`);
        case 'export': {
          const { name, desc } = decl;
          if (desc.kind === 'func') {
            const t = local[desc.index];
            if (t?.kind !== 'func') throw new ComponentShapeError(`${this.where}: ${importName} exports ${name} with a non-function type`);
            exports.push({ name, kind: 'func', type: t });
          } else if (desc.kind === 'type-sub-resource') {
            const r = resource(this.resources, importName, name);
            local.push(r);
            exports.push({ name, kind: 'type', type: r });
          } else if (desc.kind === 'type-eq') {
            const t = local[desc.index];
            if (t === undefined || t.kind === 'func' || t.kind === 'instance') throw new ComponentShapeError(`${this.where}: ${importName} exports type ${name} that is not a value or resource type`);
            if (t.kind !== 'resource' && t.origin === undefined) t.origin = { instance: importName, name };
            local.push(t);
            exports.push({ name, kind: 'type', type: t });
          } else {
            throw new ComponentShapeError(`${this.where}: ${importName} exports ${name} as a ${desc.kind}, which composition does not support`);
          }
          break;
        }
      }
    }
    return { kind: 'instance', exports };
  }
}

/**
 * Decodes a component's imports (types resolved) and top-level export names.
 * @throws WasmFormatError when the bytes are not a well-formed component
 * @throws ComponentShapeError when an import uses something composition cannot copy
 */
export function decodeComponent(bytes: Uint8Array, resources: ResourceTable, where = 'component'): DecodedComponent {
  if (bytes.length < 8 || COMPONENT_HEADER.some((b, i) => bytes[i] !== b)) throw new WasmFormatError('not a WebAssembly component (bad header)', 0);
  const types: Entry[] = [];
  const instances: InstanceEntry[] = [];
  const imports: ComponentImport[] = [];
  const exports: ComponentExportName[] = [];
  const top = new Resolver(
    resources,
    (i) => {
      const e = types[i];
      if (e === undefined) throw new ComponentShapeError(`${where} refers to undefined type ${i}`);
      return e;
    },
    where,
  );
  const r = new WasmReader(bytes, 8);
  while (!r.done) {
    const id = r.u8();
    const size = r.u32();
    const end = r.pos + size;
    const s = new WasmReader(bytes, r.pos, end);
    r.skip(size);
    switch (id) {
      case 5: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const form = s.u8();
          if (form === 0x00) {
            s.u32();
            const args = s.u32();
            for (let a = 0; a < args; a++) {
              s.name();
              if (s.u8() === 0x00) s.u8();
              s.u32();
            }
          } else {
            const items = s.u32();
            for (let a = 0; a < items; a++) {
              readExternName(s);
              if (s.u8() === 0x00) s.u8();
              s.u32();
            }
          }
          instances.push(undefined);
        }
        break;
      }
      case 6: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const { sort, target } = readAlias(s);
          if (sort === Sort.type) {
            if (target.kind === 'export') {
              const inst = instances[target.instance];
              const found = inst?.type.exports.find((e) => e.name === target.name);
              types.push(found?.kind === 'type' ? found.type : { kind: 'opaque' });
            } else types.push({ kind: 'opaque' });
          } else if (sort === Sort.instance) instances.push(undefined);
        }
        break;
      }
      case 7: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const def = readDefType(s);
          if (def.kind === 'instance' || def.kind === 'component') types.push({ kind: 'deferred', def, scope: types.length });
          else if (def.kind === 'resource') types.push(resource(resources, `<defined by ${where}>`, String(types.length)));
          else types.push(top.def(def));
        }
        break;
      }
      case 10: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = readExternName(s);
          const desc = readExternDesc(s);
          if (desc.kind === 'instance') {
            const e = types[desc.index];
            if (e?.kind !== 'deferred' || e.def.kind !== 'instance') throw new ComponentShapeError(`${where} imports ${name} with a type that is not an instance type`);
            const type = top.instance(e.def.decls, name);
            imports.push({ name, kind: 'instance', type });
            instances.push({ type });
          } else if (desc.kind === 'func') {
            const t = types[desc.index];
            if (t?.kind !== 'func') throw new ComponentShapeError(`${where} imports function ${name} with a type that is not a function type`);
            imports.push({ name, kind: 'func', type: t });
          } else {
            throw new ComponentShapeError(`${where} imports ${name} as a ${desc.kind}; composition supports imported instances and functions`);
          }
        }
        break;
      }
      case 11: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = readExternName(s);
          const sortAt = s.u8();
          const sort = sortAt === 0x00 ? 0x100 + s.u8() : sortAt;
          const index = s.u32();
          if (s.u8() === 0x01) readExternDesc(s);
          exports.push({ name, sort });
          if (sort === Sort.type) types.push(types[index] ?? { kind: 'opaque' });
          else if (sort === Sort.instance) instances.push(instances[index]);
        }
        break;
      }
      default:
        // Custom, core module/instance/type, nested component, canon, start and value sections
        // add nothing to the type or instance index spaces.
        break;
    }
  }
  return { imports, exports };
}
