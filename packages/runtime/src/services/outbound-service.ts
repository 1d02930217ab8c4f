import { AsyncQueue } from '../async-queue.js';
import type { BridgeHandler } from '../channel/bridge-server.js';
import { OutboundHttpError, type SpinHttpError, type WasiHttpErrorCode } from '../errors.js';
import type { LendableHttpConnection, OutboundHttp, OutboundRequestHead } from './outbound-http.js';

/** Bridge method name of an outbound HTTP request. */
export const OUTBOUND_HTTP_METHOD = 'outbound.http';

/**
 * Arguments of an {@link OUTBOUND_HTTP_METHOD} call: the head's fields in a flat array, then
 * whether the guest will send a body (chunks, then `{ end: true }`, follow the call). The main
 * thread reads a clone of a flat array in about a third of the time it takes for the same
 * fields as an object (each property name is read and looked up again for every call).
 */
export type OutboundCallArgs = [
  componentId: string,
  method: string,
  scheme: string | undefined,
  authority: string | undefined,
  pathWithQuery: string | undefined,
  headers: Array<[string, string]>,
  connectTimeoutMs: number | undefined,
  firstByteTimeoutMs: number | undefined,
  betweenBytesTimeoutMs: number | undefined,
  hasBody: boolean,
];

/** The call arguments of a request (the worker's side). */
export function outboundCallArgs(head: OutboundRequestHead, hasBody: boolean): OutboundCallArgs {
  return [head.componentId, head.method, head.scheme, head.authority, head.pathWithQuery, head.headers, head.connectTimeoutMs, head.firstByteTimeoutMs, head.betweenBytesTimeoutMs, hasBody];
}

/** The request head of call arguments (the serving side's). */
function headOf(args: OutboundCallArgs): OutboundRequestHead {
  const [componentId, method, scheme, authority, pathWithQuery, headers, connectTimeoutMs, firstByteTimeoutMs, betweenBytesTimeoutMs] = args;
  return { componentId, method, scheme, authority, pathWithQuery, headers, connectTimeoutMs, firstByteTimeoutMs, betweenBytesTimeoutMs };
}

/** What the worker sends after starting a call. */
export type OutboundUpload = { chunk: Uint8Array } | { end: true } | { ack: number };

/** What the serving side pushes before the result. */
export type OutboundPush = { head: { status: number; headers: Array<[string, string]> } } | { chunk: Uint8Array };

/** The call's result: the body ended, or the request failed (before or after the head). */
export type OutboundResult = { ok: true } | { ok: false; errorCode: WasiHttpErrorCode; spinError: SpinHttpError; message: string };

/** Bytes pushed to a worker and not yet read by its guest; past this the upstream is not read further. */
export const OUTBOUND_WINDOW_BYTES = 1024 * 1024;

/**
 * The serving side of outbound HTTP for the blocking bridge: register the returned handler
 * under {@link OUTBOUND_HTTP_METHOD} in `createBridgeServer`.
 */
export function outboundBridgeHandler(http: OutboundHttp): BridgeHandler {
  return async (rawArgs, call): Promise<OutboundResult> => {
    const args = rawArgs as OutboundCallArgs;
    const body = args[9] ? new AsyncQueue<Uint8Array>() : undefined;
    let unacked = 0;
    let wakeSender: (() => void) | undefined;
    const wake = (): void => {
      const w = wakeSender;
      wakeSender = undefined;
      w?.();
    };
    // What the worker sends: request body chunks, and read acknowledgements.
    call.onInput((raw) => {
      const msg = raw as OutboundUpload;
      if ('chunk' in msg) body?.push(msg.chunk);
      else if ('end' in msg) body?.end();
      else {
        unacked -= msg.ack;
        wake();
      }
    });
    // A cancelled call sends no more: the body ends there (the request is aborted with it).
    if (body !== undefined) call.onCancel(() => body.end());
    try {
      const response = await http.send(headOf(args), body, call);
      call.push({ head: { status: response.status, headers: response.headers } } satisfies OutboundPush);
      for await (const chunk of response.body) {
        if (call.cancelled) break;
        const copy = new Uint8Array(chunk); // own buffer, so it can be moved
        unacked += copy.length;
        call.push({ chunk: copy } satisfies OutboundPush, [copy.buffer]);
        if (unacked > OUTBOUND_WINDOW_BYTES && !call.cancelled) {
          const stop = call.onCancel(wake);
          while (unacked > OUTBOUND_WINDOW_BYTES && !call.cancelled) await new Promise<void>((resolve) => (wakeSender = resolve));
          stop();
        }
      }
      return { ok: true };
    } catch (err) {
      return resultOf(err);
    }
  };
}

/** Bridge method name of a request for a lent connection (see {@link outboundLendHandler}). */
export const OUTBOUND_LEND_METHOD = 'outbound.http.lend';

/** Arguments of an {@link OUTBOUND_LEND_METHOD} call: whose connection, to which `http:` authority. */
export type OutboundLendArgs = [componentId: string, authority: string, connectTimeoutMs: number | undefined];

/** What a worker gets first on a lend call: the socket's descriptor, its guard, and the Host of its requests. */
export interface OutboundLendGrant {
  fd: number;
  guard: SharedArrayBuffer;
  host: string;
}

/**
 * The result of a lend call that lent nothing: `{ ok: true }` when the origin's requests must
 * go as {@link OUTBOUND_HTTP_METHOD} calls (lending off, self, TLS), or the failure the request
 * gets (refused by policy, the connection failed), as that call would have returned it.
 */
export type OutboundLendResult = OutboundResult;

/**
 * The serving side of lent outbound connections: connects (after the policy), lends the socket
 * to the worker and keeps it lent for as long as the worker keeps the call open; the connection
 * is closed when the call ends (the worker's `guest/spin/http-lane.ts` pools it meanwhile).
 * Bytes the worker's write left over arrive as input and are written here, in order.
 */
export function outboundLendHandler(http: OutboundHttp): BridgeHandler {
  return async (rawArgs, call): Promise<OutboundLendResult> => {
    const [componentId, authority, connectTimeoutMs] = rawArgs as OutboundLendArgs;
    let lendable: LendableHttpConnection | undefined;
    try {
      lendable = await http.lendable({ componentId, scheme: 'http', authority, pathWithQuery: '/', connectTimeoutMs }, call);
    } catch (err) {
      return resultOf(err);
    }
    if (lendable === undefined) return { ok: true };
    const { socket, host } = lendable;
    if (call.cancelled) {
      socket.destroy();
      return { ok: true };
    }
    const lending = socket.lend();
    if (lending === undefined) {
      socket.destroy();
      return { ok: true };
    }
    call.onInput((bytes) => {
      if (bytes instanceof Uint8Array && !socket.destroyed) socket.write(bytes);
    });
    // A failed write of the main thread's: the worker's next read says so.
    socket.on('error', (err) => call.push({ failed: `the connection to ${host} failed: ${err.message}` }));
    call.push({ fd: lending.fd, guard: lending.guard.buffer as SharedArrayBuffer, host } satisfies OutboundLendGrant);
    await new Promise<void>((resolve) => {
      if (call.cancelled) resolve();
      else call.onCancel(resolve);
    });
    socket.destroy();
    return { ok: true };
  };
}

/** Both outbound HTTP handlers, by bridge method name. */
export function outboundBridgeHandlers(http: OutboundHttp): Record<string, BridgeHandler> {
  return { [OUTBOUND_HTTP_METHOD]: outboundBridgeHandler(http), [OUTBOUND_LEND_METHOD]: outboundLendHandler(http) };
}

function resultOf(err: unknown): OutboundResult {
  if (err instanceof OutboundHttpError) return { ok: false, errorCode: err.errorCode, spinError: err.spinError, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, errorCode: { tag: 'internal-error', val: message }, spinError: 'runtime-error', message };
}
