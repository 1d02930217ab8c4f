import type { LockedApp } from '@spinel/manifest';
import { CliError } from '../../errors.js';

/**
 * `spinel up -c ID...`: the app with only these components and the triggers that run them, as
 * Spin's `retain_components` makes it (Spin's crates/app/src/lib.rs), after Spin's checks: every
 * id exists, and no retained component chains (`http://<id>.spin.internal`) to one that is left
 * out, or to any with a wildcard (crates/factor-outbound-networking/src/allowed_hosts.rs).
 * Triggers without a component (static responses) are left out too, as Spin does.
 *
 * @throws {CliError} `CLI_UNKNOWN_COMPONENT`
 */
export function retainComponents(app: LockedApp, ids: readonly string[]): LockedApp {
  const known = new Set(app.components.map((c) => c.id));
  for (const id of ids) {
    if (!known.has(id)) {
      throw new CliError('CLI_UNKNOWN_COMPONENT', `Specified component "${id}" not found in application`, { hint: `The app's components are: ${[...known].join(', ')}.` });
    }
  }
  const retained = new Set(ids);
  for (const component of app.components) {
    if (!retained.has(component.id)) continue;
    for (const host of component.metadata?.allowed_outbound_hosts ?? []) {
      const target = chainingTarget(host);
      if (target === undefined || retained.has(target)) continue;
      throw new CliError(
        'CLI_UNKNOWN_COMPONENT',
        target === '*'
          ? `Selected component '${component.id}' cannot use wildcard service chaining: allowed_outbound_hosts = ["http://*.spin.internal"]`
          : `Selected component '${component.id}' cannot use service chaining to unselected component: allowed_outbound_hosts = ["http://${target}.spin.internal"]`,
        { hint: target === '*' ? 'Run it with every component.' : `Add -c ${target}.` },
      );
    }
  }
  const triggers = app.triggers.filter((t) => {
    const config = t.trigger_config as { component?: unknown } | null | undefined;
    return typeof config?.component === 'string' && retained.has(config.component);
  });
  return { ...app, triggers, components: app.components.filter((c) => retained.has(c.id)) };
}

/** The component an allowed-hosts entry chains to (`*` for the wildcard); templated entries are ignored, as in Spin. */
function chainingTarget(entry: string): string | undefined {
  if (entry.includes('{{')) return undefined;
  const authority = entry.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  const host = authority.replace(/:[^:]*$/, '');
  const suffix = '.spin.internal';
  return host.endsWith(suffix) ? host.slice(0, -suffix.length) : undefined;
}
