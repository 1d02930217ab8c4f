import { AsyncQueue } from '../async-queue.js';
import type { BridgeHandler } from '../channel/bridge-server.js';
import { OutboundHttpError, type SpinHttpError, type WasiHttpErrorCode } from '../errors.js';
import type { OutboundHttp, OutboundRequestHead } from './outbound-http.js';

/** Bridge method name of an outbound HTTP request. */
export const OUTBOUND_HTTP_METHOD = 'outbound.http';

/** Arguments of an {@link OUTBOUND_HTTP_METHOD} call. */
export interface OutboundCallArgs {
  head: OutboundRequestHead;
  /** Whether the guest will send a body (chunks, then `{ end: true }`, follow the call). */
  hasBody: boolean;
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
    const body = args.hasBody ? new AsyncQueue<Uint8Array>() : undefined;
    let unacked = 0;
    let wakeSender: (() => void) | undefined;
    // Demultiplex what the worker sends: request body chunks, and read acknowledgements.
    void (async () => {
      for await (const raw of call.incoming) {
        const msg = raw as OutboundUpload;
        if ('chunk' in msg) body?.push(msg.chunk);
        else if ('end' in msg) body?.end();
        else {
          unacked -= msg.ack;
          const wake = wakeSender;
          wakeSender = undefined;
          wake?.();
        }
      }
      body?.end();
      wakeSender?.();
    })();
    try {
      const response = await http.send(args.head, body, call.signal);
      call.push({ head: { status: response.status, headers: response.headers } } satisfies OutboundPush);
      for await (const chunk of response.body) {
        if (call.signal.aborted) break;
        const copy = new Uint8Array(chunk); // own buffer, so it can be moved
        unacked += copy.length;
        call.push({ chunk: copy } satisfies OutboundPush, [copy.buffer]);
        while (unacked > OUTBOUND_WINDOW_BYTES && !call.signal.aborted) {
          await new Promise<void>((resolve) => {
            wakeSender = resolve;
            call.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
      }
      return { ok: true };
    } catch (err) {
      if (err instanceof OutboundHttpError) return { ok: false, errorCode: err.errorCode, spinError: err.spinError, message: err.message };
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, errorCode: { tag: 'internal-error', val: message }, spinError: 'runtime-error', message };
    }
  };
}
