/**
 * The types a component's imports are made of, resolved from the binary's index spaces into plain
 * objects (the component model's binary format: `design/mvp/Binary.md` in WebAssembly/component-model).
 * Composition copies these types from several components into one: resources keep their identity
 * by key (`<instance import name>#<export name>`), named types keep where they were named so the
 * copy names them from the same instance, everything else is structural.
 */

/** Where a type was named: the instance (an import name) that exports it, and its export name. */
export interface Origin {
  readonly instance: string;
  readonly name: string;
}

/** A primitive value type by its binary code (`0x7f` bool … `0x73` string, `0x64` error-context). */
export interface PrimType {
  readonly kind: 'prim';
  readonly code: number;
  origin?: Origin;
}

/** A resource type; two resources are the same when their keys are. */
export interface ResourceType {
  readonly kind: 'resource';
  readonly key: string;
  readonly origin: Origin;
}

/** A named field, parameter or case. */
export interface Labelled {
  readonly name: string;
  readonly type: ValType;
}

/** A value type defined by a type declaration (not a bare primitive). */
export type DefinedType =
  | { readonly kind: 'record'; readonly fields: readonly Labelled[]; origin?: Origin }
  | { readonly kind: 'variant'; readonly cases: ReadonlyArray<{ readonly name: string; readonly type: ValType | undefined }>; origin?: Origin }
  | { readonly kind: 'list'; readonly element: ValType; readonly length: number | undefined; origin?: Origin }
  | { readonly kind: 'tuple'; readonly types: readonly ValType[]; origin?: Origin }
  | { readonly kind: 'flags'; readonly names: readonly string[]; origin?: Origin }
  | { readonly kind: 'enum'; readonly names: readonly string[]; origin?: Origin }
  | { readonly kind: 'option'; readonly type: ValType; origin?: Origin }
  | { readonly kind: 'result'; readonly ok: ValType | undefined; readonly err: ValType | undefined; origin?: Origin }
  | { readonly kind: 'own'; readonly resource: ResourceType; origin?: Origin }
  | { readonly kind: 'borrow'; readonly resource: ResourceType; origin?: Origin }
  | { readonly kind: 'stream'; readonly type: ValType | undefined; origin?: Origin }
  | { readonly kind: 'future'; readonly type: ValType | undefined; origin?: Origin };

/** Any value type. */
export type ValType = PrimType | DefinedType;

/** A function type. */
export interface FuncType {
  readonly kind: 'func';
  readonly async: boolean;
  readonly params: readonly Labelled[];
  /** One unnamed result, or none. */
  readonly result: ValType | undefined;
}

/** One export of an instance type. */
export type InstanceExport =
  | { readonly name: string; readonly kind: 'func'; readonly type: FuncType }
  | { readonly name: string; readonly kind: 'type'; readonly type: ValType | ResourceType };

/** An instance type: its exports in declaration order. */
export interface InstanceType {
  readonly kind: 'instance';
  readonly exports: readonly InstanceExport[];
}

/** Any entry of a type index space. */
export type AnyType = ValType | ResourceType | FuncType | InstanceType;

/** What a component imports under one name. */
export type ComponentImport =
  | { readonly name: string; readonly kind: 'instance'; readonly type: InstanceType }
  | { readonly name: string; readonly kind: 'func'; readonly type: FuncType };

/** Sorts of the component index spaces, by their binary code. */
export const Sort = { func: 0x01, value: 0x02, type: 0x03, component: 0x04, instance: 0x05 } as const;

/** Primitive codes by WIT name. */
export const PRIM = {
  bool: 0x7f,
  s8: 0x7e,
  u8: 0x7d,
  s16: 0x7c,
  u16: 0x7b,
  s32: 0x7a,
  u32: 0x79,
  s64: 0x78,
  u64: 0x77,
  f32: 0x76,
  f64: 0x75,
  char: 0x74,
  string: 0x73,
  errorContext: 0x64,
} as const;

/** Whether `code` is a primitive value type's code. */
export function isPrimCode(code: number): boolean {
  return (code >= 0x73 && code <= 0x7f) || code === 0x64;
}

/** The key under which a type is shared across components: its origin when named, else the object. */
export function typeKey(t: AnyType): unknown {
  if (t.kind === 'resource') return `r:${t.key}`;
  if (t.kind !== 'func' && t.kind !== 'instance' && t.origin !== undefined) return `n:${t.origin.instance}#${t.origin.name}`;
  return t;
}
