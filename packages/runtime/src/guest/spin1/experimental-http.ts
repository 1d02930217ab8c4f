/**
 * `wasi_experimental_http`, the outbound HTTP interface of Spin's earliest modules (deislabs's
 * wasi-experimental-http 0.10: `witx/wasi_experimental_http.witx` and its wasmtime host,
 * `crates/wasi-experimental-http-wasmtime/src/lib.rs`). Every function returns an error number
 * (0 on success); `req` writes the status (u16) and a response handle, whose headers and body the
 * guest then reads into its own buffers until `body_read` reports 0 bytes.
 *
 * Requests go through the same outbound host as `fermyon:spin/http`, so a module reaches only
 * what its `allowed_outbound_hosts` (Spin 1's `allowed_http_hosts`) grants; deislabs's own
 * host-name list is not used.
 */
import type { GuestMemory } from './guest-memory.js';
import type { Spin1Request, Spin1Response } from './http-types.js';

/** The error numbers of the witx `http_error` enum. */
export const EXPERIMENTAL_HTTP_ERRORS = {
  success: 0,
  invalidHandle: 1,
  memoryNotFound: 2,
  memoryAccessError: 3,
  bufferTooSmall: 4,
  headerNotFound: 5,
  utf8Error: 6,
  destinationNotAllowed: 7,
  invalidMethod: 8,
  invalidEncoding: 9,
  invalidUrl: 10,
  requestError: 11,
  runtimeError: 12,
  tooManySessions: 13,
} as const;

const E = EXPERIMENTAL_HTTP_ERRORS;

/** fermyon:spin/http's `http-error` names, as the outbound host throws them, to the witx numbers. */
const FROM_SPIN_ERROR: Record<string, number> = {
  'destination-not-allowed': E.destinationNotAllowed,
  'invalid-url': E.invalidUrl,
  'request-error': E.requestError,
  'runtime-error': E.runtimeError,
  'too-many-requests': E.tooManySessions,
};

/** Methods `fermyon:spin/http` can send; others are `invalid_method`. */
const METHODS = new Set(['get', 'post', 'put', 'delete', 'patch', 'head', 'options']);

/** Most responses one instance may hold open at once (the witx host's `max_concurrent_requests`). */
const MAX_OPEN_RESPONSES = 64;

/** What the interface runs over. */
export interface ExperimentalHttpContext {
  memory(): GuestMemory;
  /** `fermyon:spin/http`'s `sendRequest`, or undefined when the component may not reach the network. */
  sendRequest: ((request: Spin1Request) => Spin1Response) | undefined;
}

interface OpenResponse {
  headers: Array<[string, string]>;
  body: Uint8Array;
  pos: number;
}

const encoder = new TextEncoder();

/** Wraps a memory fault as the interface's error number instead of a trap, as the witx host does. */
function guarded(fn: (...args: number[]) => number): (...args: number[]) => number {
  return (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof RangeError || (err instanceof Error && err.name === 'GuestMemoryError')) {
        return /UTF-8/.test(err.message) ? E.utf8Error : E.memoryAccessError;
      }
      throw err;
    }
  };
}

/** `name:value` lines, as the witx host reads request headers (later versions; the earliest used JSON). */
function parseHeaders(text: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return undefined;
    out.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return out;
}

/**
 * The `wasi_experimental_http` import object of one instance; its open responses live as long as
 * the instance (a fresh instance per request, so nothing outlives the request).
 */
export function experimentalHttpImports(ctx: ExperimentalHttpContext): Record<string, (...args: number[]) => number> {
  const responses = new Map<number, OpenResponse>();
  let nextHandle = 1;

  const req = (urlPtr: number, urlLen: number, methodPtr: number, methodLen: number, headersPtr: number, headersLen: number, bodyPtr: number, bodyLen: number, statusPtr: number, handlePtr: number): number => {
    const m = ctx.memory();
    if (responses.size >= MAX_OPEN_RESPONSES) return E.tooManySessions;
    const url = m.string(urlPtr, urlLen);
    const method = m.string(methodPtr, methodLen).toLowerCase();
    const headers = parseHeaders(m.string(headersPtr, headersLen));
    const body = m.bytes(bodyPtr, bodyLen);
    if (headers === undefined) return E.invalidEncoding;
    if (ctx.sendRequest === undefined) return E.destinationNotAllowed;
    if (!METHODS.has(method)) return E.invalidMethod;
    let response: Spin1Response;
    try {
      response = ctx.sendRequest({ method, uri: url, headers, params: [], body: bodyLen === 0 && (method === 'get' || method === 'head') ? undefined : body });
    } catch (err) {
      if (err instanceof Error && !('payload' in err)) throw err;
      const payload = typeof err === 'object' && err !== null && 'payload' in err ? (err as { payload: unknown }).payload : err;
      return FROM_SPIN_ERROR[String(payload)] ?? E.runtimeError;
    }
    const handle = nextHandle++;
    responses.set(handle, { headers: response.headers ?? [], body: response.body ?? new Uint8Array(0), pos: 0 });
    m.setU16(statusPtr, response.status);
    m.setU32(handlePtr, handle);
    return E.success;
  };

  const close = (handle: number): number => {
    responses.delete(handle >>> 0);
    return E.success;
  };

  const headerGet = (handle: number, namePtr: number, nameLen: number, valuePtr: number, valueLen: number, writtenPtr: number): number => {
    const m = ctx.memory();
    const response = responses.get(handle >>> 0);
    if (response === undefined) return E.invalidHandle;
    const name = m.string(namePtr, nameLen).toLowerCase();
    const found = response.headers.find(([n]) => n.toLowerCase() === name);
    if (found === undefined) return E.headerNotFound;
    const value = encoder.encode(found[1]);
    if (value.length > valueLen) return E.bufferTooSmall;
    m.write(valuePtr, value);
    m.setU32(writtenPtr, value.length);
    return E.success;
  };

  const headersGetAll = (handle: number, bufPtr: number, bufLen: number, writtenPtr: number): number => {
    const m = ctx.memory();
    const response = responses.get(handle >>> 0);
    if (response === undefined) return E.invalidHandle;
    const text = encoder.encode(response.headers.map(([n, v]) => `${n.toLowerCase()}:${v}\n`).join(''));
    if (text.length > bufLen) return E.bufferTooSmall;
    m.write(bufPtr, text);
    m.setU32(writtenPtr, text.length);
    return E.success;
  };

  const bodyRead = (handle: number, bufPtr: number, bufLen: number, readPtr: number): number => {
    const m = ctx.memory();
    const response = responses.get(handle >>> 0);
    if (response === undefined) return E.invalidHandle;
    const available = Math.min(bufLen >>> 0, response.body.length - response.pos);
    m.write(bufPtr, response.body.subarray(response.pos, response.pos + available));
    response.pos += available;
    m.setU32(readPtr, available);
    return E.success;
  };

  return {
    req: guarded(req as (...args: number[]) => number),
    close: guarded(close as (...args: number[]) => number),
    header_get: guarded(headerGet as (...args: number[]) => number),
    headers_get_all: guarded(headersGetAll as (...args: number[]) => number),
    body_read: guarded(bodyRead as (...args: number[]) => number),
  };
}
