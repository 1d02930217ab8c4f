/** Main-thread half of request bodies over the channel (see body-protocol.ts). */
import type { RequestBody } from '../pool/executor-types.js';
import type { BridgeHandler } from './bridge-server.js';
import { BODY_WINDOW_BYTES, type BodyAck, type BodyCallArgs, type BodyPush, type BodyResult } from './body-protocol.js';

/**
 * The channel handler serving request bodies: `bodyOf(job)` gives the body of a running job
 * (undefined once the job is over). Chunks are read from the body only while the window has room.
 */
export function bodyPumpHandler(bodyOf: (job: number) => RequestBody | undefined): BridgeHandler {
  return async (rawArgs, call): Promise<BodyResult> => {
    const body = bodyOf((rawArgs as BodyCallArgs).job);
    if (body === undefined) return { ok: false, message: 'the request is over' };
    let unacked = 0;
    let wake: (() => void) | undefined;
    const wakeUp = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.signal.addEventListener('abort', wakeUp, { once: true });
    void (async () => {
      for await (const msg of call.incoming) {
        unacked -= (msg as BodyAck).ack;
        wakeUp();
      }
    })();
    const iterator = body[Symbol.asyncIterator]();
    try {
      for (;;) {
        while (unacked >= BODY_WINDOW_BYTES && !call.signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
        if (call.signal.aborted) return { ok: true };
        const next = await iterator.next();
        if (call.signal.aborted) return { ok: true };
        if (next.done === true) return { ok: true };
        // An own copy, moved to the worker (the socket's buffers are not ours to give away).
        const chunk = new Uint8Array(next.value);
        unacked += chunk.length;
        call.push({ chunk } satisfies BodyPush, [chunk.buffer]);
      }
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  };
}
