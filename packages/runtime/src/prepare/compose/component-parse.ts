/**
 * The component binary format's type grammar, parsed as written (indices unresolved): type
 * definitions, instance and component type declarations, extern descriptors, import/export names
 * (`design/mvp/Binary.md` in WebAssembly/component-model, as wasm-tools 1.2xx encodes it).
 */
import { WasmFormatError, type WasmReader } from '../wasm-reader.js';
import { isPrimCode } from './component-types.js';

/** A value type as written: a primitive code or a type index. */
export type RawVal = { readonly prim: number } | { readonly index: number };

/** A type definition as written. */
export type RawDef =
  | { readonly kind: 'prim'; readonly code: number }
  | { readonly kind: 'record'; readonly fields: ReadonlyArray<readonly [string, RawVal]> }
  | { readonly kind: 'variant'; readonly cases: ReadonlyArray<readonly [string, RawVal | undefined]> }
  | { readonly kind: 'list'; readonly element: RawVal; readonly length: number | undefined }
  | { readonly kind: 'tuple'; readonly types: readonly RawVal[] }
  | { readonly kind: 'flags' | 'enum'; readonly names: readonly string[] }
  | { readonly kind: 'option'; readonly type: RawVal }
  | { readonly kind: 'result'; readonly ok: RawVal | undefined; readonly err: RawVal | undefined }
  | { readonly kind: 'own' | 'borrow'; readonly index: number }
  | { readonly kind: 'stream' | 'future'; readonly type: RawVal | undefined }
  | { readonly kind: 'func'; readonly async: boolean; readonly params: ReadonlyArray<readonly [string, RawVal]>; readonly result: RawVal | undefined }
  | { readonly kind: 'instance' | 'component'; readonly decls: readonly RawDecl[] }
  | { readonly kind: 'resource' };

/** An extern descriptor as written. */
export type RawDesc =
  | { readonly kind: 'module' | 'func' | 'instance' | 'component'; readonly index: number }
  | { readonly kind: 'value' }
  | { readonly kind: 'type-eq'; readonly index: number }
  | { readonly kind: 'type-sub-resource' };

/** An alias target as written. */
export type RawAliasTarget =
  | { readonly kind: 'export'; readonly instance: number; readonly name: string }
  | { readonly kind: 'core-export'; readonly instance: number; readonly name: string }
  | { readonly kind: 'outer'; readonly count: number; readonly index: number };

/** An alias: its sort (a component sort code, or `0x100 + core sort`) and target. */
export interface RawAlias {
  readonly sort: number;
  readonly target: RawAliasTarget;
}

/** A declaration inside an instance or component type. */
export type RawDecl =
  | { readonly kind: 'core-type' }
  | { readonly kind: 'type'; readonly def: RawDef }
  | { readonly kind: 'alias'; readonly alias: RawAlias }
  | { readonly kind: 'import' | 'export'; readonly name: string; readonly desc: RawDesc };

/** `importname'` / `exportname'`: a discriminant byte (0x00, or 0x01 of older encoders) and the name. */
export function readExternName(r: WasmReader): string {
  const at = r.pos;
  const tag = r.u8();
  if (tag !== 0x00 && tag !== 0x01) throw new WasmFormatError(`unknown extern name form 0x${tag.toString(16)}`, at);
  return r.name();
}

function readOptional<T>(r: WasmReader, read: () => T): T | undefined {
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0x00) return undefined;
  if (tag === 0x01) return read();
  throw new WasmFormatError(`bad optional marker 0x${tag.toString(16)}`, at);
}

function readVec<T>(r: WasmReader, read: () => T): T[] {
  const n = r.u32();
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(read());
  return out;
}

/** A value type: negative SLEB codes are primitives, non-negative ones type indices. */
export function readValType(r: WasmReader): RawVal {
  const at = r.pos;
  const v = r.s33();
  if (v >= 0) return { index: v };
  const code = v & 0x7f;
  if (!isPrimCode(code)) throw new WasmFormatError(`unknown value type 0x${code.toString(16)}`, at);
  return { prim: code };
}

/** One `deftype` (or a resource type). */
export function readDefType(r: WasmReader): RawDef {
  const at = r.pos;
  const tag = r.u8();
  if (isPrimCode(tag)) return { kind: 'prim', code: tag };
  switch (tag) {
    case 0x72:
      return { kind: 'record', fields: readVec(r, () => [r.name(), readValType(r)] as const) };
    case 0x71:
      return {
        kind: 'variant',
        cases: readVec(r, () => {
          const name = r.name();
          const type = readOptional(r, () => readValType(r));
          // Older encoders wrote a `refines` clause after each case.
          if (r.u8() === 0x01) r.u32();
          return [name, type] as const;
        }),
      };
    case 0x70:
      return { kind: 'list', element: readValType(r), length: undefined };
    case 0x67: {
      const element = readValType(r);
      return { kind: 'list', element, length: r.u32() };
    }
    case 0x6f:
      return { kind: 'tuple', types: readVec(r, () => readValType(r)) };
    case 0x6e:
      return { kind: 'flags', names: readVec(r, () => r.name()) };
    case 0x6d:
      return { kind: 'enum', names: readVec(r, () => r.name()) };
    case 0x6b:
      return { kind: 'option', type: readValType(r) };
    case 0x6a: {
      const ok = readOptional(r, () => readValType(r));
      return { kind: 'result', ok, err: readOptional(r, () => readValType(r)) };
    }
    case 0x69:
      return { kind: 'own', index: r.u32() };
    case 0x68:
      return { kind: 'borrow', index: r.u32() };
    case 0x66:
      return { kind: 'stream', type: readOptional(r, () => readValType(r)) };
    case 0x65:
      return { kind: 'future', type: readOptional(r, () => readValType(r)) };
    case 0x40:
    case 0x43: {
      const params = readVec(r, () => [r.name(), readValType(r)] as const);
      const resultsAt = r.pos;
      const form = r.u8();
      let result: RawVal | undefined;
      if (form === 0x00) result = readValType(r);
      else if (form === 0x01) {
        if (r.u32() !== 0) throw new WasmFormatError('named function results are not supported', resultsAt);
      } else throw new WasmFormatError(`bad result list 0x${form.toString(16)}`, resultsAt);
      return { kind: 'func', async: tag === 0x43, params, result };
    }
    case 0x41:
      return { kind: 'component', decls: readDecls(r) };
    case 0x42:
      return { kind: 'instance', decls: readDecls(r) };
    case 0x3f: {
      r.u8(); // rep: i32
      readOptional(r, () => r.u32());
      return { kind: 'resource' };
    }
    case 0x3e: {
      r.u8();
      r.u32();
      readOptional(r, () => r.u32());
      return { kind: 'resource' };
    }
    default:
      throw new WasmFormatError(`unknown type definition 0x${tag.toString(16)}`, at);
  }
}

/** An extern descriptor. */
export function readExternDesc(r: WasmReader): RawDesc {
  const at = r.pos;
  const tag = r.u8();
  switch (tag) {
    case 0x00:
      r.u8(); // 0x11: module
      return { kind: 'module', index: r.u32() };
    case 0x01:
      return { kind: 'func', index: r.u32() };
    case 0x02:
      if (r.u8() === 0x00) r.u32();
      else readValType(r);
      return { kind: 'value' };
    case 0x03:
      if (r.u8() === 0x00) return { kind: 'type-eq', index: r.u32() };
      return { kind: 'type-sub-resource' };
    case 0x04:
      return { kind: 'component', index: r.u32() };
    case 0x05:
      return { kind: 'instance', index: r.u32() };
    default:
      throw new WasmFormatError(`unknown extern descriptor 0x${tag.toString(16)}`, at);
  }
}

/** A sort: one byte, or `0x00` and a core sort (returned as `0x100 + core sort`). */
export function readSort(r: WasmReader): number {
  const sort = r.u8();
  return sort === 0x00 ? 0x100 + r.u8() : sort;
}

/** An alias: sort and target. */
export function readAlias(r: WasmReader): RawAlias {
  const sort = readSort(r);
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0x00) return { sort, target: { kind: 'export', instance: r.u32(), name: r.name() } };
  if (tag === 0x01) return { sort, target: { kind: 'core-export', instance: r.u32(), name: r.name() } };
  if (tag === 0x02) return { sort, target: { kind: 'outer', count: r.u32(), index: r.u32() } };
  throw new WasmFormatError(`unknown alias target 0x${tag.toString(16)}`, at);
}

function skipCoreValType(r: WasmReader): void {
  const b = r.u8();
  if (b === 0x63 || b === 0x64) r.s33();
}

function skipCoreImportDesc(r: WasmReader): void {
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0x00 || tag === 0x04) {
    if (tag === 0x04) r.u8();
    r.u32();
  } else if (tag === 0x01) {
    skipCoreValType(r);
    skipLimits(r);
  } else if (tag === 0x02) skipLimits(r);
  else if (tag === 0x03) {
    skipCoreValType(r);
    r.u8();
  } else throw new WasmFormatError(`unknown core import descriptor 0x${tag.toString(16)}`, at);
}

function skipLimits(r: WasmReader): void {
  const flags = r.u8();
  r.u32();
  if ((flags & 0x01) !== 0) r.u32();
}

/** A core type (a function type or a module type); GC types are not expected in component types. */
export function skipCoreType(r: WasmReader): void {
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0x60) {
    readVec(r, () => skipCoreValType(r));
    readVec(r, () => skipCoreValType(r));
    return;
  }
  if (tag === 0x50) {
    readVec(r, () => {
      const d = r.u8();
      if (d === 0x00) {
        r.name();
        r.name();
        skipCoreImportDesc(r);
      } else if (d === 0x01) skipCoreType(r);
      else if (d === 0x02) {
        r.u8();
        r.u8();
        r.u32();
        r.u32();
      } else if (d === 0x03) {
        r.name();
        skipCoreImportDesc(r);
      } else throw new WasmFormatError(`unknown module type declaration 0x${d.toString(16)}`, r.pos);
    });
    return;
  }
  throw new WasmFormatError(`unsupported core type 0x${tag.toString(16)}`, at);
}

/** The declarations of an instance or component type. */
export function readDecls(r: WasmReader): RawDecl[] {
  return readVec(r, (): RawDecl => {
    const at = r.pos;
    const tag = r.u8();
    switch (tag) {
      case 0x00:
        skipCoreType(r);
        return { kind: 'core-type' };
      case 0x01:
        return { kind: 'type', def: readDefType(r) };
      case 0x02:
        return { kind: 'alias', alias: readAlias(r) };
      case 0x03:
        return { kind: 'import', name: readExternName(r), desc: readExternDesc(r) };
      case 0x04:
        return { kind: 'export', name: readExternName(r), desc: readExternDesc(r) };
      default:
        throw new WasmFormatError(`unknown type declaration 0x${tag.toString(16)}`, at);
    }
  });
}
