/**
 * Trigger dependencies (HTTP middleware, Spin 4.1): moves each trigger's
 * `trigger_dependencies` onto its component. A component used by several triggers, some
 * with dependencies, is copied per such trigger (`<component>-for-<trigger id>`) so each
 * trigger gets its own middleware chain.
 */
import type { LockedApp, LockedComponentDependency, LockedTrigger } from './locked-app.js';

function componentOf(t: LockedTrigger): string | undefined {
  const c = t.trigger_config;
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return undefined;
  const id = c['component'];
  return typeof id === 'string' ? id : undefined;
}

function hasDeps(t: LockedTrigger): boolean {
  return Object.values(t.trigger_dependencies ?? {}).some((list) => list.length > 0);
}

/** Rewrites `app` in place and returns it. */
export function reassignTriggerDependencies(app: LockedApp): LockedApp {
  const byComponent = new Map<string, LockedTrigger[]>();
  for (const t of app.triggers) {
    const id = componentOf(t);
    if (id === undefined) continue;
    byComponent.set(id, [...(byComponent.get(id) ?? []), t]);
  }
  const seen = new Set<string>();
  let disambiguator = 0;
  for (const [componentId, triggers] of byComponent) {
    if (triggers.length < 2 || !triggers.some(hasDeps)) continue;
    const original = app.components.find((c) => c.id === componentId);
    if (original === undefined) continue;
    for (const t of triggers) {
      if (!hasDeps(t)) continue;
      let id = `${componentId}-for-${t.id}`;
      if (seen.has(id)) id = `${id}-d${++disambiguator}`;
      seen.add(id);
      app.components.push({ ...structuredClone(original), id });
      (t.trigger_config as Record<string, unknown>)['component'] = id;
    }
  }
  for (const t of app.triggers) {
    if (!hasDeps(t)) {
      delete t.trigger_dependencies;
      continue;
    }
    const id = componentOf(t);
    const component = id === undefined ? undefined : app.components.find((c) => c.id === id);
    if (component === undefined) continue;
    component.trigger_dependencies = t.trigger_dependencies as Record<string, LockedComponentDependency[]>;
    component.metadata = { ...(component.metadata ?? {}), 'resolve-trigger-dependencies-using': t.trigger_type };
    if (Object.hasOwn(component.trigger_dependencies, 'middleware')) {
      component.host_requirements = { ...(component.host_requirements ?? {}), middleware: 'required' };
    }
    delete t.trigger_dependencies;
  }
  return app;
}
