import type { LockedAppJson, LockedComponentJson } from './types.js';

// Spin serialises the locked app with serde in struct field order; writing ours in the
// same order keeps our locked-app layers byte-comparable with Spin's.
const APP_ORDER = ['spin_lock_version', 'must_understand', 'metadata', 'host_requirements', 'variables', 'triggers', 'components'];
const COMPONENT_ORDER = ['id', 'metadata', 'source', 'env', 'files', 'config', 'dependencies', 'trigger_dependencies', 'host_requirements'];
const CONTENT_ORDER = ['content_type', 'source', 'inline', 'digest', 'path'];

/** Compact JSON of a locked app, fields in Spin's order. */
export function serializeLockedAppCompact(app: LockedAppJson): string {
  const ordered = ordered_(app as Record<string, unknown>, APP_ORDER);
  ordered['components'] = app.components.map((component) => orderComponent(component));
  return JSON.stringify(ordered);
}

function orderComponent(component: LockedComponentJson): Record<string, unknown> {
  const out = ordered_(component as Record<string, unknown>, COMPONENT_ORDER);
  out['source'] = ordered_(component.source as unknown as Record<string, unknown>, CONTENT_ORDER);
  if (component.files !== undefined) {
    out['files'] = component.files.map((file) => ordered_(file as unknown as Record<string, unknown>, CONTENT_ORDER));
  }
  if (component.dependencies !== undefined) {
    const deps: Record<string, unknown> = {};
    for (const name of Object.keys(component.dependencies).sort()) {
      const dep = component.dependencies[name];
      if (dep === undefined) continue;
      deps[name] = { ...dep, source: ordered_(dep.source as unknown as Record<string, unknown>, CONTENT_ORDER) };
    }
    out['dependencies'] = deps;
  }
  return out;
}

function ordered_(value: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of order) if (value[key] !== undefined) out[key] = value[key];
  for (const key of Object.keys(value)) if (!(key in out) && value[key] !== undefined) out[key] = value[key];
  return out;
}

/** Parses locked-app JSON just enough to check its shape. */
export function parseLockedAppJson(text: string): LockedAppJson {
  const value = JSON.parse(text) as unknown;
  if (!isLockedApp(value)) throw new TypeError('not a locked app (needs spin_lock_version, triggers and components)');
  return value;
}

/** Whether a parsed JSON value looks like a locked app. */
export function isLockedApp(value: unknown): value is LockedAppJson {
  if (value === null || typeof value !== 'object') return false;
  const app = value as Record<string, unknown>;
  return typeof app['spin_lock_version'] === 'number' && Array.isArray(app['components']) && Array.isArray(app['triggers']);
}
