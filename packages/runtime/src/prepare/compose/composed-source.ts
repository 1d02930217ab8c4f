/**
 * The Wasm a locked component runs as: its own source, or — when it has `dependencies` — that
 * source composed with them at load, as Spin composes at load (`crates/compose`). Each
 * dependency's bytes are checked against the locked digest when there is one.
 */
import { createHash } from 'node:crypto';
import type { LockedComponent, LockedComponentSource } from '@spinel/manifest';
import { ComponentLoadError, DependencyError } from '../../errors.js';
import { readSourceHashed, type ReadSourceOptions, type SourceBytes } from '../component-source.js';
import { composeDependencies, type ComposeDependency } from './compose-dependencies.js';

function describeSource(source: LockedComponentSource): string {
  return source.source ?? source.digest ?? 'inline content';
}

/**
 * Reads a dependency's Wasm (a `file:` URL or inline) as a component's own source is read
 * (`readSourceHashed`: a regular file within the size limit, checked against the locked digest
 * or the cache blob's), naming the dependency when it fails.
 * @throws DependencyError `RUNTIME_DEPENDENCY_SOURCE`
 */
export async function readDependencySource(componentId: string, name: string, source: LockedComponentSource, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  const where = describeSource(source);
  const context = { componentId, dependency: name, source: where };
  if (source.inline === undefined && source.source?.startsWith('file:') !== true) {
    throw new DependencyError('RUNTIME_DEPENDENCY_SOURCE', `Dependency '${name}' of component '${componentId}' has no local source (${where}). Lock or pull the app so its Wasm is on disk.`, context);
  }
  try {
    return (await readSourceHashed({ id: componentId, source }, options)).bytes;
  } catch (cause) {
    if (!(cause instanceof ComponentLoadError)) throw cause;
    const why =
      cause.code === 'RUNTIME_COMPONENT_INTEGRITY'
        ? `does not match its digest ${source.digest ?? ''}: the file changed after it was locked; pull or lock the app again`
        : 'cannot be read: check the file exists (build it, or lock the app again)';
    // The reader's own message names the file and what it found; it follows ours.
    throw new DependencyError('RUNTIME_DEPENDENCY_SOURCE', `Dependency '${name}' of component '${componentId}' from ${where} ${why}. (${cause.message})`, { ...context, cause });
  }
}

/** The component's dependencies as composition takes them. */
export async function lockedDependencies(component: LockedComponent, options: ReadSourceOptions = {}): Promise<ComposeDependency[]> {
  return Promise.all(
    Object.entries(component.dependencies ?? {}).map(async ([name, dep]) => ({
      name,
      bytes: await readDependencySource(component.id, name, dep.source, options),
      source: describeSource(dep.source),
      export: dep.export,
      inherit: dep.inherit,
    })),
  );
}

/**
 * The bytes to prepare for `component` with their sha256: `readSource(component)`, composed with
 * its dependencies (read with `options`) when it has any.
 * @throws DependencyError (see `composeDependencies` and {@link readDependencySource})
 */
export async function readComposedSource(component: LockedComponent, readSource: (component: LockedComponent) => Promise<SourceBytes>, options: ReadSourceOptions = {}): Promise<SourceBytes> {
  const own = await readSource(component);
  const dependencies = await lockedDependencies(component, options);
  if (dependencies.length === 0) return own;
  const bytes = composeDependencies({ componentId: component.id, bytes: own.bytes, dependencies });
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * A locked component's Wasm composed with its dependencies, as `spinel registry push` pushes it by
 * default (Spin's `--compose`); the component's own bytes when it has none.
 * @throws DependencyError (see `composeDependencies` and {@link readDependencySource})
 */
export async function composeLockedComponent(component: LockedComponent, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  return (await readComposedSource(component, (c) => readSourceHashed(c, options), options)).bytes;
}
