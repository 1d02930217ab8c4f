/**
 * Composes a component with its dependencies into one component, as Spin does
 * (`crates/compose/src/lib.rs`): each dependency name is matched against the component's imports
 * (a plain name equals an import; `ns:pkg[/iface][@version]` matches the imports of that package,
 * narrowed by interface and version), each matched import is satisfied by the dependency's export
 * of the same name (or its `export`), a dependency that does not inherit a configuration gets a
 * deny adapter for those host interfaces, and the result exports what the component exports.
 *
 * The output nests the inputs whole and wires their instances; its imports are the union of what
 * the component (for imports no dependency satisfies), the dependencies and the adapters need.
 */
import type { InheritConfiguration } from '@spinel/manifest';
import { DependencyError } from '../../errors.js';
import { WasmFormatError } from '../wasm-reader.js';
import type { ComponentImport } from './component-types.js';
import { Sort } from './component-types.js';
import { ComponentShapeError, decodeComponent, type DecodedComponent, type ResourceTable } from './decode-component.js';
import { NestedComposition, sortOf } from './nested-composition.js';

/** One dependency to compose. */
export interface ComposeDependency {
  /** The name in `[component.<id>.dependencies]`: a plain name or `ns:pkg[/iface][@version]`. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Where it came from (a path, URL or digest), for messages. */
  readonly source: string;
  /** The dependency's export that satisfies the import, when not the import's own name. */
  readonly export?: string | null | undefined;
  /** What it inherits from the component: `All`, `{ Some: [...] }`, or nothing (undefined). */
  readonly inherit?: InheritConfiguration | undefined;
}

/** Options of {@link composeDependencies}. */
export interface ComposeRequest {
  readonly componentId: string;
  readonly bytes: Uint8Array;
  readonly dependencies: readonly ComposeDependency[];
}

type DependencyName = { readonly kind: 'plain'; readonly name: string } | { readonly kind: 'package'; readonly package: string; readonly iface: string | undefined; readonly version: string | undefined };

function parseDependencyName(name: string): DependencyName {
  if (!name.includes(':')) return { kind: 'plain', name };
  let rest = name;
  let version: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    version = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  return slash === -1 ? { kind: 'package', package: rest, iface: undefined, version } : { kind: 'package', package: rest.slice(0, slash), iface: rest.slice(slash + 1), version };
}

/** Spin's `matches_import`. */
export function matchesImport(dependencyName: string, importName: string): boolean {
  const d = parseDependencyName(dependencyName);
  const isPackage = importName.includes(':') || importName.includes('/');
  if (d.kind === 'plain') return !isPackage && d.name === importName;
  if (!isPackage) return false;
  const slash = importName.indexOf('/');
  if (slash === -1) return false;
  const pkg = importName.slice(0, slash);
  const rest = importName.slice(slash + 1);
  const at = rest.indexOf('@');
  const iface = at === -1 ? rest : rest.slice(0, at);
  const version = at === -1 ? undefined : rest.slice(at + 1);
  if (pkg !== d.package) return false;
  if (d.iface !== undefined && d.iface !== iface) return false;
  if (d.version !== undefined && d.version !== version) return false;
  return true;
}

function decode(bytes: Uint8Array, resources: ResourceTable, componentId: string, what: string, extra: { dependency?: string; source?: string }): DecodedComponent {
  try {
    return decodeComponent(bytes, resources, what);
  } catch (cause) {
    if (cause instanceof WasmFormatError || cause instanceof ComponentShapeError) {
      throw new DependencyError('RUNTIME_DEPENDENCY_INVALID', `Cannot compose ${what} of component "${componentId}"${extra.source === undefined ? '' : ` (from ${extra.source})`}: ${cause.message}. Dependencies must be WebAssembly components.`, {
        cause,
        componentId,
        ...extra,
      });
    }
    throw cause;
  }
}

/**
 * Composes `request.bytes` with its dependencies into one component.
 * @throws DependencyError `RUNTIME_DEPENDENCY_UNMATCHED` (a name matches no import),
 *   `RUNTIME_DEPENDENCY_CONFLICT` (an import matched by several dependencies),
 *   `RUNTIME_DEPENDENCY_MISSING_EXPORT` (the dependency does not export what the import needs),
 *   `RUNTIME_DEPENDENCY_CYCLE` (a dependency imports what the component itself exports),
 *   `RUNTIME_DEPENDENCY_INVALID` (not a component, or a shape composition cannot copy)
 */
export function composeDependencies(request: ComposeRequest): Uint8Array {
  const { componentId } = request;
  const resources: ResourceTable = new Map();
  const root = decode(request.bytes, resources, componentId, `component "${componentId}"`, {});
  if (request.dependencies.length === 0) return request.bytes;

  // Which dependency satisfies which import.
  const byImport = new Map<string, ComposeDependency[]>();
  for (const dep of request.dependencies) {
    const matched = root.imports.filter((i) => matchesImport(dep.name, i.name));
    if (matched.length === 0) {
      const imports = root.imports.map((i) => i.name).join(', ') || 'nothing';
      throw new DependencyError(
        'RUNTIME_DEPENDENCY_UNMATCHED',
        `dependency '${dep.name}' doesn't match any imports of component '${componentId}' (it imports: ${imports}). Rename the dependency after the interface it satisfies, or remove it.`,
        { componentId, dependency: dep.name, source: dep.source },
      );
    }
    for (const m of matched) byImport.set(m.name, [...(byImport.get(m.name) ?? []), dep]);
  }
  for (const [importName, deps] of byImport) {
    if (deps.length > 1) {
      throw new DependencyError(
        'RUNTIME_DEPENDENCY_CONFLICT',
        `component '${componentId}' has dependency conflicts: import '${importName}' satisfied by dependencies: '${deps.map((d) => d.name).join(', ')}'. Keep one dependency per import.`,
        { componentId, importName, dependency: deps.map((d) => d.name).join(', ') },
      );
    }
  }

  // Decode each dependency; check it exports what it is used for, and does not need the component.
  const rootExports = new Set(root.exports.map((e) => e.name));
  const decoded = request.dependencies.map((dep) => decode(dep.bytes, resources, componentId, `dependency '${dep.name}'`, { dependency: dep.name, source: dep.source }));
  const satisfiedBy = new Map<string, { index: number; exportName: string }>();
  for (const [importName, [dep]] of byImport) {
    if (dep === undefined) continue;
    const index = request.dependencies.indexOf(dep);
    const imp = root.imports.find((i) => i.name === importName) as ComponentImport;
    const exportName = dep.export ?? importName;
    const provided = decoded[index]?.exports.find((e) => e.name === exportName);
    if (provided === undefined || provided.sort !== sortOf(imp)) {
      const exported = decoded[index]?.exports.map((e) => e.name).join(', ') || 'nothing';
      throw new DependencyError(
        'RUNTIME_DEPENDENCY_MISSING_EXPORT',
        `dependency '${dep.name}' (${dep.source}) doesn't export '${exportName}' to satisfy import '${importName}' of component '${componentId}' (it exports: ${exported}). Use a dependency that exports it, or name its export with \`export\`.`,
        { componentId, dependency: dep.name, importName, source: dep.source },
      );
    }
    satisfiedBy.set(importName, { index, exportName });
  }
  request.dependencies.forEach((dep, i) => {
    const back = decoded[i]?.imports.find((imp) => rootExports.has(imp.name));
    if (back !== undefined) {
      throw new DependencyError(
        'RUNTIME_DEPENDENCY_CYCLE',
        `dependency '${dep.name}' (${dep.source}) of component '${componentId}' imports '${back.name}', which component '${componentId}' itself exports: a dependency cannot use the component that depends on it (a cycle). Move the shared interface into a third component.`,
        { componentId, dependency: dep.name, importName: back.name, source: dep.source },
      );
    }
  });

  try {
    return build(request, root, decoded, satisfiedBy);
  } catch (cause) {
    if (cause instanceof ComponentShapeError) {
      throw new DependencyError('RUNTIME_DEPENDENCY_INVALID', `Cannot compose component '${componentId}' with its dependencies: ${cause.message}.`, { cause, componentId });
    }
    throw cause;
  }
}

function build(request: ComposeRequest, root: DecodedComponent, decoded: readonly DecodedComponent[], satisfiedBy: ReadonlyMap<string, { index: number; exportName: string }>): Uint8Array {
  const composition = new NestedComposition();
  for (const imp of root.imports) if (!satisfiedBy.has(imp.name)) composition.addImport(imp);
  const depPlans = request.dependencies.map((dep, i) => composition.plan(dep.bytes, decoded[i]?.imports ?? [], new Set(), { inherit: dep.inherit ?? undefined }));
  const rootPlan = { bytes: request.bytes, imports: root.imports, adapter: undefined };
  const nested = composition.write([...depPlans, rootPlan]);
  const builder = composition.builder;
  const depInstances = depPlans.map((plan, i) => composition.instantiate(plan, nested[i] as (typeof nested)[number], () => undefined));
  const rootInstance = composition.instantiate(rootPlan, nested[depPlans.length] as (typeof nested)[number], (imp) => {
    const by = satisfiedBy.get(imp.name);
    if (by === undefined) return undefined;
    return { name: imp.name, sort: sortOf(imp), index: builder.aliasExport(sortOf(imp), depInstances[by.index] as number, by.exportName) };
  });
  for (const e of root.exports) {
    if (e.sort !== Sort.instance && e.sort !== Sort.func) continue;
    builder.export(e.name, e.sort, builder.aliasExport(e.sort, rootInstance, e.name));
  }
  return builder.finish();
}
