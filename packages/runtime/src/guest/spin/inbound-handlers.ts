/**
 * Spin's own handler exports, called the way Spin calls them: `fermyon:spin/inbound-http`
 * `handle-request(request) -> response` (Spin's executor, crates/trigger-http/src/spin.rs at
 * v1.5.1: the whole body buffered, `uri` the path and query, methods outside the seven of
 * `http-types` answered 405 without calling the guest, a status outside 100..=600 a failure) and
 * `fermyon:spin/inbound-redis` `handle-message(payload) -> result<_, error>` (an `err(success)`
 * counts as success, as Spin 1 treated it). Spin 1 modules (spin1-module.ts) take the same values.
 */

/** A request as Spin's inbound-http handlers receive it. */
export interface SpinInboundRequest {
  method: string;
  /** Absolute URL of the request; the guest sees its path and query. */
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/** What a Spin handler answered. */
export interface SpinInboundResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/** The seven methods `http-types` has; others are answered 405. */
export const SPIN_METHODS: ReadonlySet<string> = new Set(['get', 'post', 'put', 'delete', 'patch', 'head', 'options']);

/** The guest answered something Spin would not send (a status outside 100..=600). */
export class SpinHandlerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpinHandlerError';
  }
}

/** Path and query of an absolute URL, as Spin passes `uri`. */
export function pathAndQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

interface GuestResponse {
  status: number;
  headers?: Array<[string, string]> | undefined;
  body?: Uint8Array | undefined;
}

/** Checks and normalises a guest's response record. */
export function checkSpinResponse(response: GuestResponse): SpinInboundResponse {
  if (!Number.isInteger(response.status) || response.status < 100 || response.status > 600) {
    throw new SpinHandlerError(`the guest answered HTTP status ${response.status}, outside 100..=600`);
  }
  return { status: response.status, headers: response.headers ?? [], body: response.body ?? new Uint8Array(0) };
}

/**
 * Calls a component's `inbound-http` export (`exports.inboundHttp.handleRequest`).
 * @returns undefined for a method Spin cannot pass (the caller answers 405)
 * @throws SpinHandlerError for a bad status; whatever the guest throws (a trap)
 */
export function callInboundHttp(exports: Record<string, unknown>, request: SpinInboundRequest): SpinInboundResponse | undefined {
  const method = request.method.toLowerCase();
  if (!SPIN_METHODS.has(method)) return undefined;
  const handler = exports['inboundHttp'] as { handleRequest(req: unknown): GuestResponse } | undefined;
  if (handler === undefined) throw new SpinHandlerError('the component exports no fermyon:spin/inbound-http');
  const response = handler.handleRequest({ method, uri: pathAndQuery(request.url), headers: request.headers, params: [], body: request.body });
  return checkSpinResponse(response);
}

/**
 * Calls a component's `inbound-redis` export (`exports.inboundRedis.handleMessage`).
 * @throws SpinHandlerError when the handler returns an error; whatever the guest throws (a trap)
 */
export function callInboundRedis(exports: Record<string, unknown>, payload: Uint8Array): void {
  const handler = exports['inboundRedis'] as { handleMessage(payload: Uint8Array): void } | undefined;
  if (handler === undefined) throw new SpinHandlerError('the component exports no fermyon:spin/inbound-redis');
  try {
    handler.handleMessage(payload);
  } catch (err) {
    // jco's glue throws an `err` result as an error carrying `payload` (here the `error` enum).
    const payloadOf = typeof err === 'object' && err !== null && 'payload' in err ? (err as { payload: unknown }).payload : undefined;
    if (payloadOf === 'success') return;
    if (payloadOf !== undefined) throw new SpinHandlerError(`handle-message returned an error (${String(payloadOf)})`);
    throw err;
  }
}
