/**
 * The HTTP triggers of a locked app, read from their opaque `trigger_config` (Spin's
 * `crates/http/src/config.rs`): route, component or static response, executor. Pure.
 */
import { RouteError } from '../errors.js';
import type { RouteConfig } from './router.js';

/** The parts of a locked app the HTTP trigger reads (structurally a `LockedApp` of @spinel/manifest). */
export interface HttpApp {
  metadata?: { name?: string; version?: string; oci_image_digest?: string; [key: string]: unknown };
  triggers: ReadonlyArray<{ id: string; trigger_type: string; trigger_config: unknown }>;
  components: ReadonlyArray<{ id: string; env?: Readonly<Record<string, string>>; metadata?: { description?: string; [key: string]: unknown }; files?: ReadonlyArray<{ path: string; source?: string }> }>;
}

/** A response served without a component (Spin ≥ 3.5 `static_response`). */
export interface StaticResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
}

/** How a routed request is answered. */
export type HttpHandler =
  | { kind: 'component'; componentId: string; executor: 'http' }
  | { kind: 'wagi'; componentId: string; argv: string }
  | { kind: 'static'; triggerId: string; response: StaticResponse };

/** One HTTP trigger, ready to route. */
export interface HttpTriggerEntry {
  /** The component id, or the trigger id for static responses (Spin's lookup key). */
  id: string;
  route: RouteConfig;
  handler: HttpHandler;
  description: string | undefined;
}

/**
 * Reads the app's `http` triggers in manifest order.
 * @throws {RouteError} `RUNTIME_HTTP_INVALID_TRIGGER` for a trigger Spin would refuse.
 */
export function readHttpTriggers(app: HttpApp): HttpTriggerEntry[] {
  const out: HttpTriggerEntry[] = [];
  for (const trigger of app.triggers) {
    if (trigger.trigger_type !== 'http') continue;
    const config = asObject(trigger.trigger_config, trigger.id);
    const route = readRoute(config['route'], trigger.id);
    const component = config['component'];
    const staticResponse = config['static_response'];
    if ((component === undefined || component === null) === (staticResponse === undefined || staticResponse === null)) {
      const which = component === undefined || component === null ? 'neither' : 'both';
      throw invalid(`Triggers must specify either component or static_response - ${trigger.id} has ${which}`);
    }
    if (staticResponse !== undefined && staticResponse !== null) {
      out.push({ id: trigger.id, route, handler: { kind: 'static', triggerId: trigger.id, response: readStatic(staticResponse, trigger.id) }, description: undefined });
      continue;
    }
    if (typeof component !== 'string') throw invalid(`HTTP trigger '${trigger.id}' has a component that is not an id; lock the app first.`);
    const found = app.components.find((c) => c.id === component);
    if (found === undefined) throw invalid(`HTTP trigger '${trigger.id}' names component '${component}', which the app does not contain.`);
    const description = typeof found.metadata?.description === 'string' ? found.metadata.description : undefined;
    out.push({ id: component, route, handler: readExecutor(config['executor'], component), description });
  }
  return out;
}

function readRoute(value: unknown, triggerId: string): RouteConfig {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { private?: unknown }).private === 'boolean') {
    return { private: (value as { private: boolean }).private };
  }
  throw invalid(`HTTP trigger '${triggerId}' needs a \`route\`: a string pattern or '{ private = true }'.`);
}

function readExecutor(value: unknown, componentId: string): HttpHandler {
  if (value === undefined || value === null) return { kind: 'component', componentId, executor: 'http' };
  const config = asObject(value, componentId);
  const type = config['type'];
  if (type === 'http' || type === 'spin') return { kind: 'component', componentId, executor: 'http' };
  if (type === 'wagi') {
    const entrypoint = config['entrypoint'];
    if (entrypoint !== undefined && entrypoint !== '_start') {
      throw invalid(`Wagi component '${componentId}' cannot use deprecated 'entrypoint' field`);
    }
    const argv = config['argv'];
    return { kind: 'wagi', componentId, argv: typeof argv === 'string' ? argv : '${SCRIPT_NAME} ${ARGS}' };
  }
  throw invalid(`Component '${componentId}' has executor type ${JSON.stringify(type)}; use "http" (the default) or "wagi".`);
}

function readStatic(value: unknown, triggerId: string): StaticResponse {
  const config = asObject(value, triggerId);
  const status = config['status_code'] ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    throw invalid(`Static response of trigger '${triggerId}' has an invalid status_code ${JSON.stringify(status)}.`);
  }
  const headers: Array<[string, string]> = [];
  const rawHeaders = config['headers'];
  if (rawHeaders !== undefined && rawHeaders !== null) {
    for (const [name, v] of Object.entries(asObject(rawHeaders, triggerId))) headers.push([name, String(v)]);
  }
  const body = config['body'];
  return { status, headers, body: typeof body === 'string' ? new TextEncoder().encode(body) : undefined };
}

function asObject(value: unknown, id: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`The configuration of HTTP trigger '${id}' is not a table.`);
  return value as Record<string, unknown>;
}

function invalid(message: string): RouteError {
  return new RouteError('RUNTIME_HTTP_INVALID_TRIGGER', message);
}
