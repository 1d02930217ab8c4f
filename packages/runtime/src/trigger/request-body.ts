/**
 * A request's body as the executor pulls it: read from the socket only as the guest asks for it
 * (flow control from the socket to the guest), bounded by `maxBodyBytes`, and discarded without
 * being kept when the guest will not read it (the connection stays usable).
 */
import type * as http from 'node:http';
import type { RequestBody } from '../pool/executor-types.js';

/** Raised to the reader when the body passes the limit (the trigger answers 413). */
export class BodyTooLarge extends Error {}

/** A pulled request body, with what the trigger needs to know about it afterwards. */
export interface PulledBody extends RequestBody {
  /** True once the body passed the limit. */
  tooLarge(): boolean;
  /** Drops what is left unread (idempotent); past the limit the connection is cut instead. */
  discard(): void;
}

/** A body with nothing in it (no `Content-Length`, no chunked encoding, or CONNECT). */
export const EMPTY_BODY: PulledBody = {
  async *[Symbol.asyncIterator]() {},
  empty: true,
  discard: () => undefined,
  tooLarge: () => false,
};

/** Whether a request announces a body (RFC 9112 §6.3: `Transfer-Encoding` or a non-zero `Content-Length`). */
export function hasBody(req: http.IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * The body of `req`, read chunk by chunk as it is iterated: the socket is paused between reads,
 * so a guest that reads slowly slows the client down instead of filling memory.
 */
export function pullBody(req: http.IncomingMessage, maxBytes: number): PulledBody {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let exceeded = false;
  let discarded = false;
  let total = 0;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    total += chunk.length;
    if (total > maxBytes) {
      exceeded = true;
      failure = new BodyTooLarge(`Request body exceeds ${maxBytes} bytes.`);
      req.off('data', onData);
      req.pause();
    } else {
      queue.push(chunk);
      // One chunk at a time: the next is read when this one is taken.
      req.pause();
    }
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (err: Error): void => {
    failure ??= err;
    notify();
  };
  req.pause();
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', onError);
  req.once('aborted', () => onError(new Error('the client aborted the request')));

  return {
    async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
      for (;;) {
        if (discarded) return;
        const chunk = queue.shift();
        if (chunk !== undefined) {
          yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          continue;
        }
        if (failure !== undefined) throw failure;
        if (ended) return;
        const waiting = new Promise<void>((resolve) => (wake = resolve));
        req.resume();
        await waiting;
      }
    },
    discard() {
      if (discarded) return;
      discarded = true;
      queue.length = 0;
      notify();
      if (ended || exceeded || req.destroyed) return;
      // The rest flows past unread, so the connection can carry the next request; past the limit
      // the connection is cut instead of reading on.
      req.off('data', onData);
      let rest = total;
      req.on('data', (chunk: Buffer) => {
        rest += chunk.length;
        if (rest > maxBytes) req.socket.destroy();
      });
      req.resume();
    },
    tooLarge: () => exceeded,
  };
}
