/**
 * Orders instance imports so each comes after the instances its types refer to (a resource or a
 * named type of another interface is aliased from that interface's import, which must exist first).
 */
import type { ComponentImport, InstanceType, ValType, FuncType, ResourceType } from './component-types.js';
import { ComponentShapeError } from './decode-component.js';

/** Names of the other instances whose resources or named types `type` (imported as `name`) uses. */
export function referencedInstances(name: string, type: InstanceType | FuncType): Set<string> {
  const out = new Set<string>();
  const seen = new Set<unknown>();
  const visit = (t: ValType | ResourceType | FuncType): void => {
    if (seen.has(t)) return;
    seen.add(t);
    if (t.kind === 'resource') {
      if (t.origin.instance !== name) out.add(t.origin.instance);
      return;
    }
    if (t.kind === 'func') {
      for (const p of t.params) visit(p.type);
      if (t.result !== undefined) visit(t.result);
      return;
    }
    if (t.origin !== undefined && t.origin.instance !== name) {
      out.add(t.origin.instance);
      return;
    }
    switch (t.kind) {
      case 'prim':
      case 'flags':
      case 'enum':
        return;
      case 'record':
        for (const f of t.fields) visit(f.type);
        return;
      case 'variant':
        for (const c of t.cases) if (c.type !== undefined) visit(c.type);
        return;
      case 'list':
      case 'option':
        visit(t.kind === 'list' ? t.element : t.type);
        return;
      case 'tuple':
        for (const x of t.types) visit(x);
        return;
      case 'result':
        if (t.ok !== undefined) visit(t.ok);
        if (t.err !== undefined) visit(t.err);
        return;
      case 'own':
      case 'borrow':
        visit(t.resource);
        return;
      case 'stream':
      case 'future':
        if (t.type !== undefined) visit(t.type);
        return;
    }
  };
  if (type.kind === 'func') visit(type);
  else for (const e of type.exports) visit(e.type);
  return out;
}

/**
 * `roots` and every import they need from `available`, each after what it refers to.
 * @throws ComponentShapeError when a referenced instance is not among `available`
 */
export function orderImports(roots: readonly ComponentImport[], available: ReadonlyMap<string, ComponentImport>): ComponentImport[] {
  const order: ComponentImport[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (imp: ComponentImport): void => {
    const s = state.get(imp.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new ComponentShapeError(`the types of ${imp.name} refer to themselves through other imports`);
    state.set(imp.name, 'visiting');
    for (const other of referencedInstances(imp.name, imp.type)) {
      const dep = available.get(other);
      if (dep === undefined) throw new ComponentShapeError(`${imp.name} uses types of ${other}, which is not imported`);
      visit(dep);
    }
    state.set(imp.name, 'done');
    order.push(imp);
  };
  for (const r of roots) visit(r);
  return order;
}
