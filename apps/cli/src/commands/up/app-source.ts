import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LockedApp } from '@spinel/manifest';

/** What `-f` names, decided as Spin does: an existing file or directory is local, anything else a registry reference. */
export type AppSource =
  | { kind: 'manifest'; path: string }
  | { kind: 'wasm'; path: string }
  | { kind: 'reference'; reference: string };

/** Classifies `-f` (or finds `spin.toml` upwards from `cwd` when it is absent). */
export async function resolveAppSource(from: string | undefined, cwd: string): Promise<AppSource> {
  const { findManifest } = await import('@spinel/manifest');
  if (from === undefined) return { kind: 'manifest', path: await findManifest({ cwd }) };
  const full = resolve(cwd, from);
  const st = await stat(full).catch(() => undefined);
  if (st?.isFile() === true && /\.(wasm|wat)$/i.test(full)) return { kind: 'wasm', path: full };
  if (st !== undefined) return { kind: 'manifest', path: await findManifest({ cwd, fileOrDir: from }) };
  if (/\.(toml|wasm|wat)$/i.test(from) || from.startsWith('.') || from.startsWith('/')) {
    // Looks like a path, but there is nothing there: let the manifest reader say so.
    return { kind: 'manifest', path: await findManifest({ cwd, fileOrDir: from }) };
  }
  return { kind: 'reference', reference: from };
}

/** A one-component app for a bare `.wasm`: the component answers every path (`/...`). */
export function wasmApp(path: string): LockedApp {
  const stem = basename(path).replace(/\.(wasm|wat)$/i, '');
  const id = stem.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'component';
  return {
    spin_lock_version: 0,
    metadata: { name: id, origin: pathToFileURL(path).href, trigger: { type: 'http' }, triggers: { http: {} } },
    triggers: [{ id: `trigger-${id}`, trigger_type: 'http', trigger_config: { component: id, route: '/...' } }],
    components: [{ id, source: { content_type: 'application/wasm', source: pathToFileURL(path).href } }],
  };
}

/** Parses `K=V` (Spin's message otherwise). */
export function parseEnvPair(pair: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw Object.assign(new Error('Environment variable must be of the form `key=value`'), { code: 'CLI_INVALID_FLAG' });
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

/** Parses a duration: `500ms`, `10s`, `2m`, `1h`; a bare number is seconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (m === null) throw Object.assign(new Error(`Invalid duration '${value}': write e.g. 500ms, 10s, 2m.`), { code: 'CLI_INVALID_FLAG' });
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}
