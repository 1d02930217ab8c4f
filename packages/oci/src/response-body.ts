import { errors, type Dispatcher } from 'undici';

// One registry request through undici's `dispatch` with a handler of our own, in place of
// `request`: no Readable, async resource or abort-signal wrapper per call. A pull or push of
// a Spin app is hundreds of small requests, and on the bench (bench/push-pull.ts) those
// objects were a large share of our CPU time, which on a small machine is taken from the
// registry answering us.

/** Response bytes queued for the reader past which undici stops reading the connection. */
const HIGH_WATER_BYTES = 64 * 1024;

/** Bytes a dumped body may still bring before its connection is closed rather than drained. */
const DUMP_LIMIT_BYTES = 128 * 1024;

/** A response head, with the body still to read. */
export interface ResponseHead {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
}

/**
 * Sends one request; resolves with the head once it arrives, rejects when the request fails
 * before it (or `signal` aborts it). Errors are undici's own, as `request` gives them.
 */
export function exchange(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal | undefined): Promise<ResponseHead> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason ?? new errors.RequestAbortedError());
      return;
    }
    const body = new ResponseBody(resolve, reject, signal);
    try {
      dispatcher.dispatch(options, body);
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * A response body as an async iterable of chunks, with `dump()` (drain so the connection is
 * reused) and `destroy()` (stop and close it). It is also the undici handler that receives it.
 */
export class ResponseBody implements Dispatcher.DispatchHandler, AsyncIterable<Buffer>, AsyncIterator<Buffer> {
  #resolveHead: ((head: ResponseHead) => void) | undefined;
  #rejectHead: ((err: unknown) => void) | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #signal: AbortSignal | undefined;
  readonly #chunks: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  /** Bytes still arriving after `dump()`, dropped as they come; undefined when not dumping. */
  #dumped: number | undefined;
  #wake: (() => void) | undefined;
  #settled: (() => void) | undefined;

  /** @internal made by {@link exchange} */
  constructor(resolve: (head: ResponseHead) => void, reject: (err: unknown) => void, signal: AbortSignal | undefined) {
    this.#resolveHead = resolve;
    this.#rejectHead = reject;
    if (signal !== undefined) {
      this.#signal = signal;
      signal.addEventListener('abort', this.#onAbort);
    }
  }

  /** True once the whole body arrived and nothing of it is left unread. */
  get readableEnded(): boolean {
    return this.#ended && this.#chunks.length === 0;
  }

  readonly #onAbort = (): void => {
    this.#abort(this.#signal?.reason instanceof Error ? this.#signal.reason : new errors.RequestAbortedError());
  };

  #abort(reason: Error): void {
    if (this.#ended || this.#error !== undefined) return;
    if (this.#controller !== undefined) this.#controller.abort(reason);
    else this.onResponseError(undefined, reason);
  }

  #finish(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    const wake = this.#wake;
    const settled = this.#settled;
    this.#wake = undefined;
    this.#settled = undefined;
    wake?.();
    settled?.();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#error !== undefined) controller.abort(this.#error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx informational heads are not the response.
    if (statusCode < 200 || this.#resolveHead === undefined) return;
    const resolve = this.#resolveHead;
    this.#resolveHead = undefined;
    this.#rejectHead = undefined;
    resolve({ status: statusCode, headers, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dumped !== undefined) {
      this.#dumped += chunk.length;
      if (this.#dumped > DUMP_LIMIT_BYTES) controller.abort(new errors.RequestAbortedError());
      return;
    }
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= HIGH_WATER_BYTES) controller.pause();
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#error !== undefined || this.#ended) return;
    this.#error = err;
    const reject = this.#rejectHead;
    this.#resolveHead = undefined;
    this.#rejectHead = undefined;
    reject?.(err);
    this.#finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.length;
      if (this.#controller?.paused === true && this.#queued < HIGH_WATER_BYTES) this.#controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise<void>((resolve) => (this.#wake = resolve)).then(() => this.next());
  }

  /** The reader stopped early (`break`, or a throw in its loop): the rest is not wanted. */
  return(): Promise<IteratorResult<Buffer>> {
    this.destroy();
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * Drops the rest of the body: drained when little is left, so the connection is reused,
   * otherwise the connection is closed. Never rejects.
   */
  dump(): Promise<void> {
    this.#chunks.length = 0;
    this.#queued = 0;
    if (this.#ended || this.#error !== undefined) return Promise.resolve();
    this.#dumped = 0;
    if (this.#controller?.paused === true) this.#controller.resume();
    return new Promise((resolve) => (this.#settled = resolve));
  }

  /** Stops reading and closes the connection unless the body already ended; a pending read rejects. */
  destroy(): void {
    this.#chunks.length = 0;
    this.#queued = 0;
    this.#abort(new errors.RequestAbortedError());
  }
}
