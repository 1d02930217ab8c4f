/**
 * Sends a guest's response to the main thread in as few messages as it can: the head and the
 * body are held back until the guest finishes, and then go out as one message (the trigger can
 * send it with `Content-Length`). The worker flushes what it holds earlier when the guest is about
 * to block (reading the request body, waiting on a capability, sleeping), when the held body
 * passes {@link INLINE_BYTES}, or when the guest returns with its body still open; from then on the
 * body streams.
 */
import type { FromWorker, LogBatch } from '../pool/job-protocol.js';
import type { HttpErrorCode, ResponseSink } from './wasi/http.js';

/** The most body bytes held back for a one-message response. */
export const INLINE_BYTES = 64 * 1024;

const latin1 = new TextDecoder('latin1');

/** The response of one job. */
export class ResponseWriter implements ResponseSink {
  private readonly job: number;
  private readonly post: (message: FromWorker, transfer?: ArrayBuffer[]) => void;
  private readonly logs: () => LogBatch | undefined;
  private status = 0;
  private headers: string[] | undefined;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private flushed = false;
  private ended = false;
  /** The guest's own error, when it reported one instead of a response. */
  failed: HttpErrorCode | undefined;

  constructor(job: number, post: (message: FromWorker, transfer?: ArrayBuffer[]) => void, logs: () => LogBatch | undefined) {
    this.job = job;
    this.post = post;
    this.logs = logs;
  }

  /** Whether the guest set a response. */
  get started(): boolean {
    return this.headers !== undefined;
  }

  /** Whether the body ended (sent or held). */
  get done(): boolean {
    return this.ended;
  }

  head(status: number, headers: Array<[string, Uint8Array]>): void {
    this.status = status;
    const flat: string[] = [];
    for (const [name, value] of headers) flat.push(name, latin1.decode(value));
    this.headers = flat;
  }

  chunk(bytes: Uint8Array): void {
    if (this.ended || bytes.length === 0) return;
    if (!this.flushed) {
      this.held.push(bytes);
      this.heldBytes += bytes.length;
      if (this.heldBytes > INLINE_BYTES) this.flush();
      return;
    }
    this.post({ type: 'chunk', job: this.job, bytes }, [bytes.buffer as ArrayBuffer]);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.headers === undefined) return;
    if (!this.flushed) {
      const body = this.takeHeld();
      const logs = this.logs();
      this.post({ type: 'response', job: this.job, status: this.status, headers: this.headers, body, end: true, ...(logs === undefined ? {} : { logs }) }, body === undefined ? [] : [body.buffer as ArrayBuffer]);
      this.flushed = true;
      return;
    }
    const logs = this.logs();
    this.post({ type: 'end', job: this.job, ...(logs === undefined ? {} : { logs }) });
  }

  fail(error: HttpErrorCode): void {
    this.failed = error;
  }

  /** Sends the head and what is held, if not yet sent (the guest is about to block, or returned with its body open). */
  flush(): void {
    if (this.flushed || this.headers === undefined || this.ended) return;
    this.flushed = true;
    const body = this.takeHeld();
    this.post({ type: 'response', job: this.job, status: this.status, headers: this.headers, body, end: false }, body === undefined ? [] : [body.buffer as ArrayBuffer]);
  }

  private takeHeld(): Uint8Array | undefined {
    const parts = this.held;
    this.held = [];
    const size = this.heldBytes;
    this.heldBytes = 0;
    if (size === 0) return undefined;
    const first = parts[0];
    if (parts.length === 1 && first !== undefined && first.byteOffset === 0 && first.byteLength === first.buffer.byteLength) return first;
    const out = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
