import type { LockedComponent, LockedComponentDependency, LockedTrigger } from '@spinel/manifest';

/** Every `trigger_dependencies` entry (middleware) of a component or trigger, with its role, in role order. */
export function triggerDependencies(owner: LockedComponent | LockedTrigger): [string, LockedComponentDependency][] {
  const out: [string, LockedComponentDependency][] = [];
  const table = owner.trigger_dependencies ?? {};
  for (const role of Object.keys(table).sort()) {
    for (const dependency of table[role] ?? []) out.push([role, dependency]);
  }
  return out;
}
