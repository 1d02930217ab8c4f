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
import { composeMiddleware, type ComposeMiddleware } from './compose-middleware.js';

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
 * The component's middleware as composition takes them, outermost first: none when it has no
 * `trigger_dependencies`. Only the HTTP trigger takes trigger dependencies, and only `middleware`
 * (Spin's `HttpMiddlewareComposer`; any other trigger's composer refuses them).
 * @throws DependencyError `RUNTIME_MIDDLEWARE_INVALID`, `RUNTIME_DEPENDENCY_SOURCE`
 */
export async function lockedMiddleware(component: LockedComponent, options: ReadSourceOptions = {}): Promise<ComposeMiddleware[]> {
  const table = component.trigger_dependencies ?? {};
  if (Object.values(table).every((list) => list.length === 0)) return [];
  const using = component.metadata?.['resolve-trigger-dependencies-using'] ?? 'http';
  if (using !== 'http') {
    throw new DependencyError('RUNTIME_MIDDLEWARE_INVALID', `Component '${component.id}' has trigger dependencies for a '${String(using)}' trigger, which takes none (only the HTTP trigger has middleware). Remove \`dependencies\` from that trigger.`, {
      componentId: component.id,
    });
  }
  for (const role of Object.keys(table)) {
    if (role !== 'middleware') {
      throw new DependencyError('RUNTIME_MIDDLEWARE_INVALID', `Component '${component.id}' has trigger dependencies '${role}': the HTTP trigger's only allowed trigger dependency is \`middleware\`. Remove \`dependencies.${role}\` from the trigger.`, {
        componentId: component.id,
        dependency: role,
      });
    }
  }
  return Promise.all(
    (table['middleware'] ?? []).map(async (dep, i) => ({
      bytes: await readDependencySource(component.id, `middleware ${i + 1}`, dep.source, options),
      source: describeSource(dep.source),
      inherit: dep.inherit,
    })),
  );
}

/**
 * A locked component's Wasm as `spinel registry push` pushes it by default (Spin's `--compose`):
 * composed with its dependencies, then chained behind its HTTP middleware (Spin's
 * `--precompose-only` through the HTTP trigger); the component's own bytes when it has neither.
 * @throws DependencyError (see `composeDependencies`, `composeMiddleware`, {@link readDependencySource}, {@link lockedMiddleware})
 */
export async function composeLockedComponent(component: LockedComponent, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  const middleware = await lockedMiddleware(component, options);
  const bytes = (await readComposedSource(component, (c) => readSourceHashed(c, options), options)).bytes;
  return composeMiddleware({ componentId: component.id, bytes, middleware });
}
