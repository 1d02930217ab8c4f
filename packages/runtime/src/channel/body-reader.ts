/**
 * Worker half of the request-body channel: body chunks the main thread posts on the body port
 * (then bumps a shared counter), read synchronously while the guest runs.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { BodyMessage } from '../pool/job-protocol.js';
import type { Blocker, ByteSource, PollSource } from '../guest/wasi/io.js';

/** The worker's end of the body port. */
export class BodyReader {
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  /** Body messages received but not yet taken by the current request's source. */
  private readonly inbox: BodyMessage[] = [];
  /** Sleeps until the main thread posts a body message or `ms` passes. */
  readonly blocker: Blocker;

  constructor(port: MessagePort, signal: SharedArrayBuffer) {
    this.port = port;
    this.signal = new Int32Array(signal);
    this.blocker = {
      wait: (ms: number): void => {
        const seen = Atomics.load(this.signal, 0);
        // The main thread posts before it bumps the signal, so anything that arrived between the
        // caller's check and `seen` is in the port now; only then is it safe to sleep.
        if (this.drain()) return;
        Atomics.wait(this.signal, 0, seen, ms === Infinity ? undefined : ms);
      },
    };
  }

  /** The body of job `job`, as the guest's input stream reads it. */
  source(job: number): ByteSource {
    return new BodySource(this, job);
  }

  /** Moves what arrived on the port into the inbox; true when anything did. */
  drain(): boolean {
    let got = false;
    for (;;) {
      const received = receiveMessageOnPort(this.port);
      if (received === undefined) return got;
      this.inbox.push(received.message as BodyMessage);
      got = true;
    }
  }

  /** Takes every message received so far. */
  take(): BodyMessage[] {
    this.drain();
    return this.inbox.splice(0);
  }
}

/** The request body of the job being run, fed by the main thread and read synchronously. */
class BodySource implements ByteSource {
  private readonly reader: BodyReader;
  private readonly job: number;
  private queue: Uint8Array[] = [];
  private ended = false;
  readonly poll: PollSource;
  constructor(reader: BodyReader, job: number) {
    this.reader = reader;
    this.job = job;
    this.poll = { ready: () => this.available(), external: true };
  }
  private pump(): void {
    for (const msg of this.reader.take()) {
      if (msg.job !== this.job) continue; // left over from an earlier request
      if ('end' in msg) this.ended = true;
      else this.queue.push(msg.chunk);
    }
  }
  private available(): boolean {
    this.pump();
    return this.queue.length > 0 || this.ended;
  }
  read(max: number): Uint8Array | undefined {
    this.pump();
    const head = this.queue[0];
    if (head === undefined) return this.ended ? undefined : new Uint8Array(0);
    if (head.length <= max) {
      this.queue.shift();
      return head;
    }
    this.queue[0] = head.subarray(max);
    return head.subarray(0, max);
  }
  waitReadable(): void {
    while (!this.available()) this.reader.blocker.wait(Infinity);
  }
}
