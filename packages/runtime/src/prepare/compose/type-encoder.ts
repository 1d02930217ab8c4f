/**
 * Writes resolved types into a component being built: imports of instances and functions with
 * their types, top-level types for `canon lift`. A resource or named type whose instance is
 * imported here is aliased from that import (so it stays the same type); one whose instance this
 * component defines (`ownInstances`) is defined here; everything else is written structurally.
 */
import { encodeName, encodeU32 } from '../wasm-reader.js';
import type { AnyType, FuncType, InstanceType, ValType } from './component-types.js';
import { Sort, typeKey } from './component-types.js';
import { ComponentShapeError } from './decode-component.js';
import { encodeS33, externName, vec, type ComponentBuilder } from './component-builder.js';

interface Scope {
  /** The instance this scope declares (instance types), or undefined at the top level. */
  readonly instance: string | undefined;
  readonly memo: Map<unknown, number>;
  define(def: number[]): number;
}

class InstanceScope implements Scope {
  readonly memo = new Map<unknown, number>();
  readonly decls: number[][] = [];
  private local = 0;
  constructor(readonly instance: string) {}

  define(def: number[]): number {
    this.decls.push([0x01, ...def]);
    return this.local++;
  }

  aliasOuter(topIndex: number): number {
    this.decls.push([0x02, Sort.type, 0x02, 0x01, ...encodeU32(topIndex)]);
    return this.local++;
  }

  exportType(name: string, bound: number[]): number {
    this.decls.push([0x04, ...externName(name), 0x03, ...bound]);
    return this.local++;
  }

  exportFunc(name: string, typeIndex: number): void {
    this.decls.push([0x04, ...externName(name), 0x01, ...encodeU32(typeIndex)]);
  }
}

/** Writes types into one component. */
export class TypeEncoder {
  private readonly top: Scope;
  /** Imported instances by name, with their index in this component. */
  readonly instances = new Map<string, number>();

  /**
   * @param ownInstances instances whose resources and named types this component defines
   *   (a deny adapter's exports) instead of importing
   */
  constructor(
    private readonly builder: ComponentBuilder,
    private readonly ownInstances: ReadonlySet<string> = new Set(),
  ) {
    this.top = { instance: undefined, memo: new Map(), define: (def) => builder.type(def) };
  }

  /** The top-level index of a type, defining or aliasing it on first use. */
  topType(t: AnyType): number {
    return this.ref(t, this.top);
  }

  /** Imports an instance of `type` as `name`. */
  importInstance(name: string, type: InstanceType): number {
    const scope = new InstanceScope(name);
    for (const e of type.exports) {
      if (e.kind === 'func') {
        scope.exportFunc(e.name, this.ref(e.type, scope));
        continue;
      }
      const t = e.type;
      const own = t.kind === 'resource' ? t.origin.instance === name && t.origin.name === e.name : t.origin?.instance === name && t.origin.name === e.name;
      if (own && t.kind === 'resource') {
        scope.memo.set(typeKey(t), scope.exportType(e.name, [0x01]));
      } else if (own) {
        const defined = scope.define(this.def(t as ValType, scope));
        scope.memo.set(typeKey(t), scope.exportType(e.name, [0x00, ...encodeU32(defined)]));
      } else {
        scope.exportType(e.name, [0x00, ...encodeU32(this.ref(t, scope))]);
      }
    }
    const typeIndex = this.builder.type([0x42, ...vec(scope.decls)]);
    const index = this.builder.importInstance(name, typeIndex);
    this.instances.set(name, index);
    return index;
  }

  /** Imports a function of `type` as `name`. */
  importFunc(name: string, type: FuncType): number {
    return this.builder.importFunc(name, this.topType(type));
  }

  private ref(t: AnyType, scope: Scope): number {
    const key = typeKey(t);
    const known = scope.memo.get(key);
    if (known !== undefined) return known;
    const origin = t.kind === 'resource' ? t.origin : t.kind === 'func' || t.kind === 'instance' ? undefined : t.origin;
    let index: number;
    if (origin !== undefined && origin.instance !== scope.instance) {
      if (scope instanceof InstanceScope) index = scope.aliasOuter(this.topType(t));
      else index = this.topNamed(t, origin.instance, origin.name);
    } else if (t.kind === 'resource') {
      throw new ComponentShapeError(`resource ${t.origin.name} of ${t.origin.instance} is used before it is declared`);
    } else if (t.kind === 'instance') {
      throw new ComponentShapeError('an instance type cannot be written as a value type');
    } else {
      index = scope.define(t.kind === 'func' ? this.func(t, scope) : this.def(t, scope));
    }
    scope.memo.set(key, index);
    return index;
  }

  /** A resource or named type at the top level: aliased from its imported instance, or defined here. */
  private topNamed(t: AnyType, instance: string, name: string): number {
    const imported = this.instances.get(instance);
    if (imported !== undefined) return this.builder.aliasExport(Sort.type, imported, name);
    if (t.kind === 'resource') {
      if (!this.ownInstances.has(instance)) throw new ComponentShapeError(`resource ${name} of ${instance} is needed but ${instance} is not imported`);
      return this.builder.type([0x3f, 0x7f, 0x00]);
    }
    return this.builder.type(t.kind === 'func' ? this.func(t, this.top) : this.def(t as ValType, this.top));
  }

  private val(t: ValType, scope: Scope): number[] {
    if (t.kind === 'prim' && t.origin === undefined) return [t.code];
    if (t.kind === 'prim') return [t.code];
    return encodeS33(this.ref(t, scope));
  }

  private opt(t: ValType | undefined, scope: Scope): number[] {
    return t === undefined ? [0x00] : [0x01, ...this.val(t, scope)];
  }

  private func(t: FuncType, scope: Scope): number[] {
    const params = vec(t.params.map((p) => [...encodeName(p.name), ...this.val(p.type, scope)]));
    const result = t.result === undefined ? [0x01, 0x00] : [0x00, ...this.val(t.result, scope)];
    return [t.async ? 0x43 : 0x40, ...params, ...result];
  }

  private def(t: ValType, scope: Scope): number[] {
    switch (t.kind) {
      case 'prim':
        return [t.code];
      case 'record':
        return [0x72, ...vec(t.fields.map((f) => [...encodeName(f.name), ...this.val(f.type, scope)]))];
      case 'variant':
        return [0x71, ...vec(t.cases.map((c) => [...encodeName(c.name), ...this.opt(c.type, scope), 0x00]))];
      case 'list':
        return t.length === undefined ? [0x70, ...this.val(t.element, scope)] : [0x67, ...this.val(t.element, scope), ...encodeU32(t.length)];
      case 'tuple':
        return [0x6f, ...vec(t.types.map((x) => this.val(x, scope)))];
      case 'flags':
        return [0x6e, ...vec(t.names.map((n) => encodeName(n)))];
      case 'enum':
        return [0x6d, ...vec(t.names.map((n) => encodeName(n)))];
      case 'option':
        return [0x6b, ...this.val(t.type, scope)];
      case 'result':
        return [0x6a, ...this.opt(t.ok, scope), ...this.opt(t.err, scope)];
      case 'own':
        return [0x69, ...encodeU32(this.ref(t.resource, scope))];
      case 'borrow':
        return [0x68, ...encodeU32(this.ref(t.resource, scope))];
      case 'stream':
        return [0x66, ...this.opt(t.type, scope)];
      case 'future':
        return [0x65, ...this.opt(t.type, scope)];
    }
  }
}
