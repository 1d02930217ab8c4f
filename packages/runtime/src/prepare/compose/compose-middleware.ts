/**
 * Chains HTTP middleware in front of a component, as Spin's HTTP trigger composes it
 * (`crates/trigger-http/src/middleware.rs`), statically — no middleware code runs:
 * - each middleware gets a deny adapter for the host interfaces it does not inherit
 *   (`inherit_configuration`; nothing by default), as `spin_capabilities::apply_deny_adapter`;
 * - the component (innermost) is instantiated first with nothing wired; then, outward, each
 *   middleware is instantiated with its `wasi:http/handler@0.3.0` import set to the previous
 *   instance's export of that name;
 * - every other import of the chain (and of the adapters) is an import of the result, merged by
 *   name; the result exports only the outermost `wasi:http/handler@0.3.0`.
 *
 * The bytes differ from what wac writes for Spin (index order, nesting), but the structure is
 * the same: the same components nested whole, wired the same way, with the same imports and export.
 */
import type { InheritConfiguration } from '@spinel/manifest';
import { DependencyError } from '../../errors.js';
import { WasmFormatError } from '../wasm-reader.js';
import type { ComponentImport } from './component-types.js';
import { Sort } from './component-types.js';
import { ComponentShapeError, decodeComponent, type DecodedComponent, type ResourceTable } from './decode-component.js';
import { MIDDLEWARE_INTERFACE } from './middleware.js';
import { NestedComposition } from './nested-composition.js';

/** One middleware of a chain. */
export interface ComposeMiddleware {
  readonly bytes: Uint8Array;
  /** Where it came from (a path, URL or digest), for messages. */
  readonly source: string;
  /** What it inherits from the component: `All`, `{ Some: [...] }`, or nothing (undefined). */
  readonly inherit?: InheritConfiguration | undefined;
}

/** Options of {@link composeMiddleware}. */
export interface ComposeMiddlewareRequest {
  readonly componentId: string;
  /** The component, already composed with its own `dependencies`. */
  readonly bytes: Uint8Array;
  /** Outermost (first to receive a request) first. */
  readonly middleware: readonly ComposeMiddleware[];
}

function invalid(componentId: string, message: string, extra: { source?: string; cause?: unknown } = {}): DependencyError {
  return new DependencyError('RUNTIME_MIDDLEWARE_INVALID', message, { componentId, dependency: 'middleware', importName: MIDDLEWARE_INTERFACE, ...extra });
}

function decode(bytes: Uint8Array, resources: ResourceTable, componentId: string, what: string, source?: string): DecodedComponent {
  try {
    return decodeComponent(bytes, resources, what);
  } catch (cause) {
    if (cause instanceof WasmFormatError || cause instanceof ComponentShapeError) {
      throw invalid(componentId, `Cannot compose ${what} of component '${componentId}'${source === undefined ? '' : ` (from ${source})`}: ${cause.message}. Middleware must be a WebAssembly component built against wasi:http 0.3.`, {
        cause,
        ...(source === undefined ? {} : { source }),
      });
    }
    throw cause;
  }
}

function exportsHandler(c: DecodedComponent): boolean {
  return c.exports.some((e) => e.name === MIDDLEWARE_INTERFACE && e.sort === Sort.instance);
}

function importsHandler(c: DecodedComponent): boolean {
  return c.imports.some((i) => i.name === MIDDLEWARE_INTERFACE && i.kind === 'instance');
}

/**
 * Composes `request.bytes` behind its middleware, outermost first; with no middleware, the bytes
 * unchanged (Spin returns the component as it is).
 * @throws DependencyError `RUNTIME_MIDDLEWARE_INVALID` (a middleware or the component is not a
 *   component, the component does not export `wasi:http/handler@0.3.0`, a middleware does not
 *   import and export it), `RUNTIME_DEPENDENCY_INVALID` (a shape composition cannot copy)
 */
export function composeMiddleware(request: ComposeMiddlewareRequest): Uint8Array {
  const { componentId } = request;
  if (request.middleware.length === 0) return request.bytes;
  const resources: ResourceTable = new Map();
  const primary = decode(request.bytes, resources, componentId, `component '${componentId}'`);
  if (!exportsHandler(primary)) {
    const exported = primary.exports.map((e) => e.name).join(', ') || 'nothing';
    throw invalid(
      componentId,
      `Component '${componentId}' has HTTP middleware but does not export ${MIDDLEWARE_INTERFACE} (it exports: ${exported}): Spin chains middleware in front of a wasi:http 0.3 handler only. Build the component against wasi:http 0.3, or remove \`dependencies.middleware\` from its trigger.`,
    );
  }
  const middleware = request.middleware.map((mw, i) => {
    const what = `middleware ${i + 1} of ${request.middleware.length}`;
    const decoded = decode(mw.bytes, resources, componentId, what, mw.source);
    if (!importsHandler(decoded) || !exportsHandler(decoded)) {
      throw invalid(
        componentId,
        `${what[0]?.toUpperCase() ?? ''}${what.slice(1)} of component '${componentId}' (${mw.source}) must import and export ${MIDDLEWARE_INTERFACE} to sit in a chain (it imports: ${decoded.imports.map((d) => d.name).join(', ') || 'nothing'}; exports: ${decoded.exports.map((e) => e.name).join(', ') || 'nothing'}). Build it for wasi:http 0.3's \`middleware\` world.`,
        { source: mw.source },
      );
    }
    return decoded;
  });
  try {
    return build(request, primary, middleware);
  } catch (cause) {
    if (cause instanceof ComponentShapeError) {
      throw new DependencyError('RUNTIME_DEPENDENCY_INVALID', `Cannot compose component '${componentId}' with its middleware: ${cause.message}.`, { cause, componentId, dependency: 'middleware' });
    }
    throw cause;
  }
}

function build(request: ComposeMiddlewareRequest, primary: DecodedComponent, middleware: readonly DecodedComponent[]): Uint8Array {
  const composition = new NestedComposition();
  const wired = new Set([MIDDLEWARE_INTERFACE]);
  const primaryPlan = composition.plan(request.bytes, primary.imports, new Set(), false);
  const plans = request.middleware.map((mw, i) => composition.plan(mw.bytes, middleware[i]?.imports ?? [], wired, { inherit: mw.inherit ?? undefined }));
  const nested = composition.write([...plans, primaryPlan]);
  const builder = composition.builder;
  const handlerOf = (instance: number): number => builder.aliasExport(Sort.instance, instance, MIDDLEWARE_INTERFACE);
  // Innermost first, as Spin's `chain`: the component, then each middleware outward.
  let next = handlerOf(composition.instantiate(primaryPlan, nested[plans.length] as (typeof nested)[number], () => undefined));
  for (let i = plans.length - 1; i >= 0; i--) {
    const upstream = next;
    const instance = composition.instantiate(plans[i] as (typeof plans)[number], nested[i] as (typeof nested)[number], (imp: ComponentImport) =>
      imp.name === MIDDLEWARE_INTERFACE ? { name: imp.name, sort: Sort.instance, index: upstream } : undefined,
    );
    next = handlerOf(instance);
  }
  builder.export(MIDDLEWARE_INTERFACE, Sort.instance, next);
  return builder.finish();
}
