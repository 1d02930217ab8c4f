import { failure } from './result.js';
import { DISPOSE } from '../spin/resource-dispose.js';

/** wasi:io/error `error`: an opaque error with a debug string. */
export class IoError {
  readonly message: string;
  /** filesystem error code when the error came from a descriptor operation */
  readonly fsCode: string | undefined;
  constructor(message: string, fsCode?: string) {
    this.message = message;
    this.fsCode = fsCode;
  }
  toDebugString(): string {
    return this.message;
  }
}

/** Something a pollable waits on. */
export interface PollSource {
  ready(): boolean;
  /** Monotonic time (ns) at which it becomes ready by itself, for timers. */
  readonly readyAt?: bigint;
  /** True when readiness depends on data from another thread (the request body). */
  readonly external?: boolean;
}

/** How an instance blocks its thread until something may have changed. */
export interface Blocker {
  /** Block for at most `ms` (Infinity: until woken). */
  wait(ms: number): void;
}

const ALWAYS: PollSource = { ready: () => true };

/** wasi:io/poll `pollable`. */
export class Pollable {
  readonly source: PollSource;
  readonly blocker: Blocker | undefined;
  constructor(source: PollSource = ALWAYS, blocker?: Blocker) {
    this.source = source;
    this.blocker = blocker;
  }
  ready(): boolean {
    return this.source.ready();
  }
  block(): void {
    pollOne([this]);
  }
}

function pollOne(list: Pollable[]): number[] {
  for (;;) {
    const ready: number[] = [];
    let nextAt: bigint | undefined;
    let external: Blocker | undefined;
    list.forEach((p, i) => {
      if (p.source.ready()) ready.push(i);
      const at = p.source.readyAt;
      if (at !== undefined && (nextAt === undefined || at < nextAt)) nextAt = at;
      if (p.source.external === true && p.blocker !== undefined) external = p.blocker;
    });
    if (ready.length > 0) return ready;
    const blocker = external ?? list.find((p) => p.blocker !== undefined)?.blocker;
    if (nextAt === undefined && external === undefined) {
      // Nothing can ever become ready: blocking would hang the worker until its deadline.
      throw new Error('wasi:io/poll: blocking on pollables that can never become ready');
    }
    const ms = nextAt === undefined ? Infinity : Math.max(0, Number(nextAt - process.hrtime.bigint()) / 1e6);
    if (blocker === undefined) sleepMs(ms);
    else blocker.wait(ms);
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/** wasi:io/poll `poll`: indices of the ready pollables, blocking until at least one is. */
export function poll(list: Pollable[]): Uint32Array {
  if (list.length === 0) throw new Error('wasi:io/poll: poll called with an empty list');
  return Uint32Array.from(pollOne(list));
}

/** Where an input stream's bytes come from. */
export interface ByteSource {
  /** Up to `max` bytes; an empty array when none are available yet; undefined at end of stream. */
  read(max: number): Uint8Array | undefined;
  /** Blocks until data or end of stream is available. */
  waitReadable(): void;
  readonly poll: PollSource;
  /** The guest dropped the stream: what is left unread is not wanted. */
  drop?(): void;
}

/** A source over bytes already in memory (files, empty stdin). */
export class MemorySource implements ByteSource {
  private data: Uint8Array;
  private offset = 0;
  readonly poll: PollSource = ALWAYS;
  constructor(data: Uint8Array) {
    this.data = data;
  }
  read(max: number): Uint8Array | undefined {
    if (this.offset >= this.data.length) return undefined;
    const chunk = this.data.subarray(this.offset, Math.min(this.data.length, this.offset + max));
    this.offset += chunk.length;
    return chunk.slice();
  }
  waitReadable(): void {}
}

const CLOSED = failure({ tag: 'closed' as const });

/** wasi:io/streams `input-stream`. */
export class InputStream {
  private readonly src: ByteSource;
  private readonly blocker: Blocker | undefined;
  constructor(source: ByteSource, blocker?: Blocker) {
    this.src = source;
    this.blocker = blocker;
  }
  read(len: bigint): Uint8Array {
    const chunk = this.src.read(clampLen(len));
    if (chunk === undefined) throw CLOSED;
    return chunk;
  }
  blockingRead(len: bigint): Uint8Array {
    const max = clampLen(len);
    for (;;) {
      const chunk = this.src.read(max);
      if (chunk === undefined) throw CLOSED;
      if (chunk.length > 0 || max === 0) return chunk;
      this.src.waitReadable();
    }
  }
  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }
  blockingSkip(len: bigint): bigint {
    return BigInt(this.blockingRead(len).length);
  }
  subscribe(): Pollable {
    return new Pollable(this.src.poll, this.blocker);
  }
  [DISPOSE](): void {
    this.src.drop?.();
  }
}

function clampLen(len: bigint): number {
  return len > 1_048_576n ? 1_048_576 : Number(len);
}

/** Where an output stream's bytes go. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  /** Called when the stream is finished (not on plain drops). */
  close?(): void;
}

/** wasi:io/streams `output-stream`. */
export class OutputStream {
  private readonly sink: ByteSink;
  private closed = false;
  constructor(sink: ByteSink) {
    this.sink = sink;
  }
  checkWrite(): bigint {
    if (this.closed) throw CLOSED;
    return 1_048_576n;
  }
  write(contents: Uint8Array): void {
    if (this.closed) throw CLOSED;
    // The glue may reuse the buffer it lent us, so keep a copy.
    if (contents.length > 0) this.sink.write(contents.slice());
  }
  blockingWriteAndFlush(contents: Uint8Array): void {
    this.write(contents);
  }
  flush(): void {
    if (this.closed) throw CLOSED;
  }
  blockingFlush(): void {
    this.flush();
  }
  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(clampLen(len)));
  }
  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }
  splice(src: InputStream, len: bigint): bigint {
    const chunk = src.read(len);
    this.write(chunk);
    return BigInt(chunk.length);
  }
  blockingSplice(src: InputStream, len: bigint): bigint {
    const chunk = src.blockingRead(len);
    this.write(chunk);
    return BigInt(chunk.length);
  }
  subscribe(): Pollable {
    return new Pollable();
  }
  /** Marks the stream finished; later writes fail with `closed`. */
  markClosed(): void {
    if (!this.closed) {
      this.closed = true;
      this.sink.close?.();
    }
  }
}
