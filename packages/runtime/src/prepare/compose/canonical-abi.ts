/**
 * The parts of the canonical ABI (`design/mvp/CanonicalABI.md` in WebAssembly/component-model)
 * a generated adapter needs: how a function's parameters and results flatten to core values,
 * and where a variant's payload lies in memory.
 */
import type { FuncType, ValType } from './component-types.js';
import { PRIM } from './component-types.js';

/** A core value type. */
export type CoreType = 'i32' | 'i64' | 'f32' | 'f64';

/** Most flat parameters passed directly; past it they go through memory. */
export const MAX_FLAT_PARAMS = 16;
/** Most flat results returned directly; past it the callee returns a pointer. */
export const MAX_FLAT_RESULTS = 1;

function join(a: CoreType, b: CoreType): CoreType {
  if (a === b) return a;
  if ((a === 'i32' && b === 'f32') || (a === 'f32' && b === 'i32')) return 'i32';
  return 'i64';
}

function flattenCases(cases: ReadonlyArray<ValType | undefined>): CoreType[] {
  const payload: CoreType[] = [];
  for (const c of cases) {
    if (c === undefined) continue;
    flatten(c).forEach((t, i) => {
      const prev = payload[i];
      payload[i] = prev === undefined ? t : join(prev, t);
    });
  }
  return ['i32', ...payload];
}

/** The core values a value of `t` flattens to. */
export function flatten(t: ValType): CoreType[] {
  switch (t.kind) {
    case 'prim':
      if (t.code === PRIM.s64 || t.code === PRIM.u64) return ['i64'];
      if (t.code === PRIM.f32) return ['f32'];
      if (t.code === PRIM.f64) return ['f64'];
      if (t.code === PRIM.string) return ['i32', 'i32'];
      return ['i32'];
    case 'list':
      if (t.length === undefined) return ['i32', 'i32'];
      return Array.from({ length: t.length }, () => flatten(t.element)).flat();
    case 'record':
      return t.fields.flatMap((f) => flatten(f.type));
    case 'tuple':
      return t.types.flatMap((x) => flatten(x));
    case 'flags':
      return Array.from({ length: Math.ceil(t.names.length / 32) }, () => 'i32' as const);
    case 'enum':
    case 'own':
    case 'borrow':
    case 'stream':
    case 'future':
      return ['i32'];
    case 'variant':
      return flattenCases(t.cases.map((c) => c.type));
    case 'option':
      return flattenCases([undefined, t.type]);
    case 'result':
      return flattenCases([t.ok, t.err]);
  }
}

/** The core signature of a lifted function: parameters and results as the core function sees them. */
export function liftedSignature(f: FuncType): { params: CoreType[]; results: CoreType[]; paramsInMemory: boolean } {
  const flatParams = f.params.flatMap((p) => flatten(p.type));
  const flatResults = f.result === undefined ? [] : flatten(f.result);
  const paramsInMemory = flatParams.length > MAX_FLAT_PARAMS;
  return {
    params: paramsInMemory ? ['i32'] : flatParams,
    results: flatResults.length > MAX_FLAT_RESULTS ? ['i32'] : flatResults,
    paramsInMemory,
  };
}

/** Bytes of a discriminant for `n` cases. */
export function discriminantSize(n: number): 1 | 2 | 4 {
  if (n <= 256) return 1;
  if (n <= 65_536) return 2;
  return 4;
}

/** Alignment of a value of `t` in memory. */
export function alignment(t: ValType): number {
  switch (t.kind) {
    case 'prim':
      if (t.code === PRIM.bool || t.code === PRIM.s8 || t.code === PRIM.u8) return 1;
      if (t.code === PRIM.s16 || t.code === PRIM.u16) return 2;
      if (t.code === PRIM.s64 || t.code === PRIM.u64 || t.code === PRIM.f64) return 8;
      return 4;
    case 'list':
      return t.length === undefined ? 4 : alignment(t.element);
    case 'record':
      return Math.max(1, ...t.fields.map((f) => alignment(f.type)));
    case 'tuple':
      return Math.max(1, ...t.types.map((x) => alignment(x)));
    case 'flags':
      return t.names.length <= 8 ? 1 : t.names.length <= 16 ? 2 : 4;
    case 'enum':
      return discriminantSize(t.names.length);
    case 'own':
    case 'borrow':
    case 'stream':
    case 'future':
      return 4;
    case 'variant':
      return casesAlignment(t.cases.map((c) => c.type));
    case 'option':
      return casesAlignment([undefined, t.type]);
    case 'result':
      return casesAlignment([t.ok, t.err]);
  }
}

function casesAlignment(cases: ReadonlyArray<ValType | undefined>): number {
  return Math.max(discriminantSize(cases.length), ...cases.map((c) => (c === undefined ? 1 : alignment(c))));
}

/** Offset of a variant's payload from its start: the discriminant, aligned up to the widest case. */
export function payloadOffset(cases: ReadonlyArray<ValType | undefined>): number {
  const disc = discriminantSize(cases.length);
  const align = Math.max(1, ...cases.map((c) => (c === undefined ? 1 : alignment(c))));
  return Math.ceil(disc / align) * align;
}
