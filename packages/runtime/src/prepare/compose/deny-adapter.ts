/**
 * A deny adapter for one dependency: a component exporting, under the dependency's own import
 * names, the host interfaces it does not inherit, answering as Spin's deny adapter does
 * (`crates/capabilities/deny-adapter`): empty lists, `none`, or the error case that says "not
 * permitted" (`access-denied`, `undefined(name)`, `other("\"<interface>\" is not permitted")` …);
 * anything else (methods of resources it never hands out) traps. It is generated from the
 * dependency's import types, so it matches whatever versions the dependency was built against.
 */
import { discriminantSize, flatten, liftedSignature, payloadOffset } from './canonical-abi.js';
import { ComponentBuilder, type SortIndex } from './component-builder.js';
import type { ComponentImport, FuncType, InstanceType, ValType } from './component-types.js';
import { PRIM, Sort } from './component-types.js';
import { coreModule, op, type CoreFunction } from './core-module.js';
import { ComponentShapeError } from './decode-component.js';
import { orderImports } from './import-order.js';
import { TypeEncoder } from './type-encoder.js';

const RETURN_AREA = 16;
const DATA_START = 256;

// Error cases that carry no payload, in the order Spin's adapter prefers them.
const BARE_CASES = ['access-denied', 'destination-not-allowed', 'model-not-supported', 'error'];
// Error cases carrying a message.
const MESSAGE_CASES = ['other', 'other-error', 'io', 'internal-error'];

interface Ctx {
  readonly data: number[];
  readonly strings: Map<string, number>;
}

function message(ctx: Ctx, text: string): { ptr: number; len: number } {
  const bytes = new TextEncoder().encode(text);
  let ptr = ctx.strings.get(text);
  if (ptr === undefined) {
    ptr = DATA_START + ctx.data.length;
    ctx.data.push(...bytes);
    ctx.strings.set(text, ptr);
  }
  return { ptr, len: bytes.length };
}

/** The flat index of the first `string` parameter, when parameters are passed flat. */
function stringParam(f: FuncType): number | undefined {
  if (liftedSignature(f).paramsInMemory) return undefined;
  let at = 0;
  for (const p of f.params) {
    if (p.type.kind === 'prim' && p.type.code === PRIM.string) return at;
    at += flatten(p.type).length;
  }
  return undefined;
}

/** Stores for an error value of type `err` at `base`, or undefined when no case says "denied". */
function errorStores(err: ValType, base: number, f: FuncType, iface: string, ctx: Ctx): number[] | undefined {
  const store = (bytes: 1 | 2 | 4, offset: number, value: number[]): number[] => [...op.i32Const(RETURN_AREA), ...value, ...op.store(bytes, offset)];
  if (err.kind === 'enum') {
    const i = BARE_CASES.map((n) => err.names.indexOf(n)).find((x) => x >= 0);
    return i === undefined ? undefined : store(discriminantSize(err.names.length), base, op.i32Const(i));
  }
  if (err.kind !== 'variant') return undefined;
  const disc = discriminantSize(err.cases.length);
  const payload = base + payloadOffset(err.cases.map((c) => c.type));
  const caseAt = (name: string): number => err.cases.findIndex((c) => c.name === name);
  for (const name of BARE_CASES) {
    const i = caseAt(name);
    if (i >= 0 && err.cases[i]?.type === undefined) return store(disc, base, op.i32Const(i));
  }
  const undef = caseAt('undefined');
  const param = stringParam(f);
  const undefType = err.cases[undef]?.type;
  if (undef >= 0 && param !== undefined && undefType?.kind === 'prim' && undefType.code === PRIM.string) {
    return [...store(disc, base, op.i32Const(undef)), ...store(4, payload, op.localGet(param)), ...store(4, payload + 4, op.localGet(param + 1))];
  }
  const text = message(ctx, `${JSON.stringify(iface.replace(/@.*$/, ''))} is not permitted`);
  for (const name of MESSAGE_CASES) {
    const i = caseAt(name);
    const t = err.cases[i]?.type;
    if (i < 0 || t === undefined) continue;
    if (t.kind === 'prim' && t.code === PRIM.string) {
      return [...store(disc, base, op.i32Const(i)), ...store(4, payload, op.i32Const(text.ptr)), ...store(4, payload + 4, op.i32Const(text.len))];
    }
    if (t.kind === 'option' && t.type.kind === 'prim' && t.type.code === PRIM.string) {
      const inner = payload + payloadOffset([undefined, t.type]);
      return [
        ...store(disc, base, op.i32Const(i)),
        ...store(1, payload, op.i32Const(1)),
        ...store(4, inner, op.i32Const(text.ptr)),
        ...store(4, inner + 4, op.i32Const(text.len)),
      ];
    }
  }
  return undefined;
}

/** The body of one denied function. */
function denyBody(f: FuncType, iface: string, ctx: Ctx): number[] {
  const r = f.result;
  if (r === undefined) return [];
  // Values with a payload are returned through memory (more than one flat result).
  if (flatten(r).length === 1) return r.kind === 'option' ? op.i32Const(0) : op.unreachable;
  let stores: number[] | undefined;
  if (r.kind === 'list' && r.length === undefined) {
    stores = [...op.i32Const(RETURN_AREA), ...op.i32Const(0), ...op.store(4, 0), ...op.i32Const(RETURN_AREA), ...op.i32Const(0), ...op.store(4, 4)];
  } else if (r.kind === 'option') {
    stores = [...op.i32Const(RETURN_AREA), ...op.i32Const(0), ...op.store(1, 0)];
  } else if (r.kind === 'result' && r.err !== undefined) {
    const errStores = errorStores(r.err, payloadOffset([r.ok, r.err]), f, iface, ctx);
    if (errStores !== undefined) stores = [...op.i32Const(RETURN_AREA), ...op.i32Const(1), ...op.store(1, 0), ...errStores];
  }
  return stores === undefined ? op.unreachable : [...stores, ...op.i32Const(RETURN_AREA)];
}

/**
 * Builds the deny adapter for the denied instance imports of one dependency.
 * @param denied the dependency's imports to deny (instance imports)
 * @param available every import of the dependency, by name (the adapter imports the ones whose
 *   types the denied interfaces use)
 * @throws ComponentShapeError when a denied interface cannot be written
 */
export function buildDenyAdapter(denied: readonly ComponentImport[], available: ReadonlyMap<string, ComponentImport>): Uint8Array {
  const own = new Set(denied.map((d) => d.name));
  const builder = new ComponentBuilder();
  const types = new TypeEncoder(builder, own);
  // Import what the denied interfaces' types come from (and what those come from), in order.
  const needed = orderImports(
    denied.filter((d): d is Extract<ComponentImport, { kind: 'instance' }> => d.kind === 'instance'),
    available,
  ).filter((i) => !own.has(i.name));
  for (const imp of needed) {
    if (imp.kind === 'instance') types.importInstance(imp.name, imp.type);
  }
  const ctx: Ctx = { data: [], strings: new Map() };
  const functions: CoreFunction[] = [];
  const plan: Array<{ name: string; type: InstanceType; funcs: number[] }> = [];
  for (const d of denied) {
    if (d.kind !== 'instance') throw new ComponentShapeError(`cannot deny ${d.name}: only interfaces can be denied`);
    const funcs: number[] = [];
    for (const e of d.type.exports) {
      if (e.kind !== 'func') continue;
      const sig = liftedSignature(e.type);
      funcs.push(functions.length);
      functions.push({ params: sig.params, results: sig.results, body: denyBody(e.type, d.name, ctx) });
    }
    plan.push({ name: d.name, type: d.type, funcs });
  }
  const heap = Math.max(1024, Math.ceil((DATA_START + ctx.data.length) / 8) * 8);
  const module = builder.coreModule(coreModule(functions, ctx.data.length > 0 ? [{ offset: DATA_START, bytes: new Uint8Array(ctx.data) }] : [], heap));
  const instance = builder.coreInstantiate(module);
  const memory = builder.aliasCoreExport('memory', instance, 'memory');
  const realloc = builder.aliasCoreExport('func', instance, 'cabi_realloc');
  const core = functions.map((_, i) => builder.aliasCoreExport('func', instance, `f${i}`));
  for (const p of plan) {
    const items: SortIndex[] = [];
    let next = 0;
    for (const e of p.type.exports) {
      if (e.kind === 'type') {
        items.push({ name: e.name, sort: Sort.type, index: types.topType(e.type) });
        continue;
      }
      const coreFunc = core[p.funcs[next++] as number] as number;
      items.push({ name: e.name, sort: Sort.func, index: builder.canonLift(coreFunc, types.topType(e.type), memory, realloc) });
    }
    builder.export(p.name, Sort.instance, builder.instanceFromExports(items));
  }
  return builder.finish();
}
