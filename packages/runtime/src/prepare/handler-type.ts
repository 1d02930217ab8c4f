/**
 * Which handler a component or core module offers, decided from its names alone, in one place
 * for every trigger: Spin's `HandlerType::from_instance_pre` (crates/http/src/trigger.rs) for
 * HTTP, the Redis trigger's (crates/trigger-redis/src/lib.rs), and, for core modules, the
 * exports Spin 0.x/1.x SDKs produced with wit-bindgen 0.2 (crates/componentize/src/lib.rs
 * `EXPORT_INTERFACES`). Async exports (`wasi:http/handler@0.3.x`, `spin:redis/inbound-redis@3.x`)
 * are refused here; async imports in async-interfaces.ts, both before anything is transpiled.
 */

/** How a component's HTTP handler is called. */
export type HttpHandlerType =
  /** `wasi:http/incoming-handler` at 0.2.x or one of its two release candidates. */
  | { type: 'wasi-http'; flavour: WasiHttpFlavour; export: string }
  /** `fermyon:spin/inbound-http` (`handle-request(request) -> response`, Spin 1.x/2.x components). */
  | { type: 'spin-http'; export: string };

/** The wasi:http versions a component may export its handler at; their WIT differs. */
export type WasiHttpFlavour = '0.2' | 'rc-2023-10-18' | 'rc-2023-11-10';

/** How a component's Redis handler is called: `fermyon:spin/inbound-redis` `handle-message`. */
export interface RedisHandlerType {
  type: 'spin-redis';
  export: string;
}

/** What a core module is, from its exports and imports. */
export type CoreModuleShape =
  /** A Spin 0.x/1.x module with the old wit-bindgen ABI (`handle-http-request` and/or `handle-redis-message`). */
  | { type: 'spin1'; http: Spin1HttpEntry | undefined; redis: boolean; imports: string[] }
  /** A WASI preview1 command (`_start`), run as WAGI. */
  | { type: 'command'; imports: string[] }
  | { type: 'unknown'; imports: string[] };

/**
 * The entry point a Spin 1 module serves HTTP with: `handle-http-request` (every wit-bindgen 0.2
 * SDK), or only Go's own `spin_http_handle_http_request(request*, response*)`, which TinyGo
 * exports from the function the C bindings call.
 */
export type Spin1HttpEntry = 'handle-http-request' | 'spin_http_handle_http_request';

/** Why a handler could not be chosen; the loader wraps it in its coded error. */
export class HandlerSelectionError extends Error {
  readonly reason: 'none' | 'multiple' | 'async';
  constructor(reason: 'none' | 'multiple' | 'async', message: string) {
    super(message);
    this.name = 'HandlerSelectionError';
    this.reason = reason;
  }
}

const WASI_HTTP_2023_10_18 = 'wasi:http/incoming-handler@0.2.0-rc-2023-10-18';
const WASI_HTTP_2023_11_10 = 'wasi:http/incoming-handler@0.2.0-rc-2023-11-10';
const WASI_HTTP_0_2 = /^wasi:http\/incoming-handler@0\.2\.\d+$/;
const WASI_HTTP_0_3 = /^wasi:http\/handler@0\.3\./;
const SPIN_HTTP = 'fermyon:spin/inbound-http';
const SPIN_REDIS = 'fermyon:spin/inbound-redis';
const SPIN_REDIS_3 = /^spin:redis\/inbound-redis@3\./;

/** Spin's text for a component with no HTTP handler export (crates/http/src/trigger.rs), word for word. */
export const NO_HTTP_HANDLER_MESSAGE =
  'Expected component to export one of `wasi:http/incoming-handler@0.2.0-rc-2023-10-18`, ' +
  '`wasi:http/incoming-handler@0.2.0-rc-2023-11-10`, `wasi:http/incoming-handler@0.2.*`, ' +
  '`wasi:http/handler@0.3.0-rc-2026-03-15`, `wasi:http/handler@0.3.*`, or `fermyon:spin/inbound-http` ' +
  'but it exported none of those. This may mean the component handles a different trigger, or that ' +
  "its `wasi:http` export is newer then those supported by Spin. If you're sure this is an HTTP " +
  'module, check if a Spin upgrade is available: this may handle the newer version.';

/** Spin's text for a component exporting more than one HTTP handler. */
export const MULTIPLE_HTTP_HANDLERS_MESSAGE = "component exports multiple different handlers but it's expected to export only one";

const ASYNC_MESSAGE = 'component-model async is not supported yet';

/**
 * Chooses the HTTP handler a component exports, as Spin does: exactly one of the accepted
 * exports; none or several are refused with Spin's messages. `wasi:http/handler@0.3.x` is
 * recognised and refused: component-model async is not supported yet.
 * @throws HandlerSelectionError (`none`, `multiple`, `async`)
 */
export function selectHttpHandler(exports: readonly string[]): HttpHandlerType {
  const found: HttpHandlerType[] = [];
  const p3: string[] = [];
  let wasi02: string | undefined;
  for (const name of exports) {
    if (name === WASI_HTTP_2023_10_18) found.push({ type: 'wasi-http', flavour: 'rc-2023-10-18', export: name });
    else if (name === WASI_HTTP_2023_11_10) found.push({ type: 'wasi-http', flavour: 'rc-2023-11-10', export: name });
    else if (WASI_HTTP_0_2.test(name)) wasi02 ??= name;
    else if (name === SPIN_HTTP) found.push({ type: 'spin-http', export: name });
    else if (WASI_HTTP_0_3.test(name)) p3.push(name);
  }
  // Every 0.2.x export is one candidate, as wasmtime's semver-compatible lookup finds one.
  if (wasi02 !== undefined) found.push({ type: 'wasi-http', flavour: '0.2', export: wasi02 });
  const candidates = found.length + (p3.length > 0 ? 1 : 0);
  if (candidates > 1) throw new HandlerSelectionError('multiple', MULTIPLE_HTTP_HANDLERS_MESSAGE);
  if (p3.length > 0) {
    throw new HandlerSelectionError('async', `The component exports \`${p3[0]}\` (wasi:http 0.3): ${ASYNC_MESSAGE}. Build it for wasi:http 0.2 (\`wasi:http/incoming-handler@0.2.x\`).`);
  }
  const only = found[0];
  if (only === undefined) throw new HandlerSelectionError('none', NO_HTTP_HANDLER_MESSAGE);
  return only;
}

/**
 * Chooses the Redis handler a component exports: `fermyon:spin/inbound-redis`; Spin 3's async
 * `spin:redis/inbound-redis@3.x` is refused.
 * @throws HandlerSelectionError (`none`, `multiple`, `async`)
 */
export function selectRedisHandler(exports: readonly string[]): RedisHandlerType {
  const v1 = exports.includes(SPIN_REDIS);
  const v3 = exports.find((name) => SPIN_REDIS_3.test(name));
  if (v1 && v3 !== undefined) throw new HandlerSelectionError('multiple', 'component exports multiple Redis interfaces');
  if (v3 !== undefined) throw new HandlerSelectionError('async', `The component exports \`${v3}\`: ${ASYNC_MESSAGE}. Export \`fermyon:spin/inbound-redis\` instead.`);
  if (!v1) throw new HandlerSelectionError('none', 'component does not export a Redis interface (expected `fermyon:spin/inbound-redis`)');
  return { type: 'spin-redis', export: SPIN_REDIS };
}

/** Export names that mark a module built with wit-bindgen (its realloc), as Spin's componentize reads them. */
const REALLOC_EXPORTS = new Set(['canonical_abi_realloc', 'cabi_realloc']);

/**
 * Recognises a core module: a Spin 0.x/1.x module (the old wit-bindgen ABI: `handle-http-request`,
 * Go's `spin_http_handle_http_request`, `handle-redis-message`), or a WASI command for WAGI.
 * Spin's componentize treats a module that exports `_start` and shows no sign of wit-bindgen as a
 * command; a module with wit-bindgen's realloc and a Spin entry point is a Spin 1 module even when
 * it also exports `_start` (TinyGo always does).
 */
export function classifyCoreModule(exports: readonly string[], importModules: readonly string[]): CoreModuleShape {
  const imports = [...new Set(importModules)];
  const has = (name: string): boolean => exports.includes(name);
  const http: Spin1HttpEntry | undefined = has('handle-http-request') ? 'handle-http-request' : has('spin_http_handle_http_request') ? 'spin_http_handle_http_request' : undefined;
  const redis = has('handle-redis-message');
  const bindgen = exports.some((name) => REALLOC_EXPORTS.has(name));
  if ((http !== undefined || redis) && (bindgen || !has('_start'))) return { type: 'spin1', http, redis, imports };
  if (has('_start')) return { type: 'command', imports };
  return { type: 'unknown', imports };
}
