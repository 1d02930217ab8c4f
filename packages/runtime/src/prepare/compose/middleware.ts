/**
 * HTTP middleware (`dependencies.middleware` on a trigger, locked as `trigger_dependencies`):
 * Spin chains it by composing each middleware's `wasi:http/handler@0.3.0` export into the next
 * one's import, outermost first (`crates/trigger-http/src/middleware.rs`). That interface is
 * WASI 0.3's, whose functions use the component model's async ABI, which jco's synchronous glue
 * cannot run on Node 20 (no JSPI). Serving the component without its middleware would drop
 * whatever the middleware enforces, so an app that declares some is refused at load instead.
 */
import type { LockedApp, LockedComponentDependency } from '@spinel/manifest';
import { DependencyError } from '../../errors.js';

/** The interface Spin chains middleware through. */
export const MIDDLEWARE_INTERFACE = 'wasi:http/handler@0.3.0';

function describe(dependency: LockedComponentDependency): string {
  return dependency.source.source ?? dependency.source.digest ?? 'inline content';
}

function check(owner: string, componentId: string, table: Record<string, LockedComponentDependency[]> | undefined): void {
  for (const [role, list] of Object.entries(table ?? {})) {
    if (role !== 'middleware') {
      throw new DependencyError('RUNTIME_MIDDLEWARE_INVALID', `${owner} has trigger dependencies '${role}': the HTTP trigger's only allowed trigger dependency is \`middleware\`. Remove \`dependencies.${role}\` from the trigger.`, {
        componentId,
        dependency: role,
      });
    }
    const first = list[0];
    if (first === undefined) continue;
    throw new DependencyError(
      'RUNTIME_MIDDLEWARE_INVALID',
      `${owner} has HTTP middleware (${list.map(describe).join(', ')}): Spin chains middleware through ${MIDDLEWARE_INTERFACE}, a WASI 0.3 interface whose async calls spinel cannot run on Node 20 (jco's synchronous glue, no JSPI), and serving the component without its middleware would skip what the middleware enforces. Run this app with Spin, or remove \`dependencies.middleware\` from the trigger.`,
      { componentId, dependency: 'middleware', importName: MIDDLEWARE_INTERFACE, source: describe(first) },
    );
  }
}

/**
 * Refuses an app whose triggers or components declare trigger dependencies (middleware), or
 * whose components require the middleware host feature (a chain composed at push).
 * @throws DependencyError `RUNTIME_MIDDLEWARE_INVALID`
 */
export function refuseMiddleware(app: LockedApp): void {
  for (const trigger of app.triggers) {
    const config = trigger.trigger_config;
    const component = config !== null && typeof config === 'object' && !Array.isArray(config) ? config['component'] : undefined;
    const componentId = typeof component === 'string' ? component : trigger.id;
    check(`Trigger '${trigger.id}' (component '${componentId}')`, componentId, trigger.trigger_dependencies);
  }
  for (const component of app.components) {
    check(`Component '${component.id}'`, component.id, component.trigger_dependencies);
    // Pushed composed (Spin's default), the chain is the component's source and only the host
    // requirement Spin's lock adds says so: a host without middleware must refuse the app.
    if (component.host_requirements?.['middleware'] === 'required') {
      throw new DependencyError(
        'RUNTIME_MIDDLEWARE_INVALID',
        `Component '${component.id}' requires HTTP middleware (host requirement \`middleware\`; its chain was composed into its source when the app was pushed): the chain runs through ${MIDDLEWARE_INTERFACE}, a WASI 0.3 interface whose async calls spinel cannot run on Node 20 (jco's synchronous glue, no JSPI). Run this app with Spin, or push it from a spin.toml without \`dependencies.middleware\`.`,
        { componentId: component.id, dependency: 'middleware', importName: MIDDLEWARE_INTERFACE },
      );
    }
  }
}
