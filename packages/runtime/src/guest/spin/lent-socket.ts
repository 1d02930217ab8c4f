/**
 * The worker's half of a connection the main thread lends it (`channel/socket-lane.ts`): the
 * worker writes its requests on the socket's descriptor and reads the replies from it itself
 * (`channel/socket-reader.ts`), under the lane's guard. What is the same for every protocol
 * lives here; `redis-lane.ts` and `postgres-lane.ts` encode and parse.
 */
import type { BridgeCall } from '../../channel/sync-bridge.js';
import { laneClosed, laneHeld, laneWrite } from '../../channel/socket-lane.js';
import { socketReader, type SocketReader } from '../../channel/socket-reader.js';
import { messageOf, type Outcome } from '../../services/service-outcome.js';
import type { PgOpenedGrant } from '../../services/postgres-service.js';
import type { RedisOpenedGrant } from '../../services/redis-service.js';
import type { ServiceClient } from './service-client.js';

/** Bytes the socket did not take at once go to the main thread above this size without trying. */
const DIRECT_WRITE_MAX = 256 * 1024;
/**
 * How long one wait for a reply lasts before the worker looks whether the lending ended under it
 * (the service closing) or it is being stopped (a worker is terminated only between two waits).
 */
const READ_WAIT_MS = 25;

/** One lent connection, for as long as the lending call runs. */
export abstract class LentSocket {
  /** Why the connection can carry nothing more (set once). */
  protected failure: string | undefined;
  /** Bytes were written whose replies have not all been read (the connection must not be pooled). */
  protected inFlight = false;
  protected ended = false;
  /** A write was left to the main thread: later ones go the same way (see {@link write}). */
  protected handedOver = false;
  /** The server closed the connection (its end of stream was read). */
  protected closedByPeer = false;
  private readonly call: BridgeCall;
  private readonly fd: number;
  private readonly guard: Int32Array;
  private readonly reader: SocketReader | undefined;
  /** The failure of a write after the main thread closed the lane. */
  private readonly closedMessage: string;

  constructor(call: BridgeCall, fd: number, guard: SharedArrayBuffer, closedMessage: string) {
    this.call = call;
    this.fd = fd;
    this.guard = new Int32Array(guard);
    this.closedMessage = closedMessage;
    try {
      // Under the guard: the WASI host looks at what the number names once, when the reader is
      // made (and keeps the reader for the number), so never at what reuses it after the lending.
      this.reader = laneHeld(this.guard, () => socketReader(fd));
    } catch {
      // Not readable here (or the lending already ended): openLent gives the connection back before any request went on it.
      this.reader = undefined;
    }
  }

  /**
   * Whether this lending still carries requests. Not when a reply is still outstanding: a guest
   * stopped at its deadline while it waited (`guest/serve-http.ts`, a vm timeout) left it unread,
   * and the next request would read it as its own.
   */
  get usable(): boolean {
    return this.reader !== undefined && !this.ended && !this.inFlight && this.failure === undefined && !laneClosed(this.guard);
  }

  /** Gives the connection back: to the pool when {@link releaseClean} says so, else it is closed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      const clean = this.failure === undefined && !this.inFlight ? this.releaseClean() : undefined;
      if (clean !== undefined) this.call.send(clean);
    } finally {
      this.call.cancel();
    }
  }

  /**
   * Starts a request: undefined when it may be written (the lane is then in flight until its
   * reply is read), else why not: the lane was released, or it failed. A reply left unread by a
   * request stopped at its deadline (`guest/serve-http.ts`, a vm timeout) is a failure, named by
   * `interrupted`: it would be taken for this request's.
   */
  protected begin(interrupted: string): { released: true } | { failed: string } | undefined {
    if (this.ended) return { released: true };
    if (this.failure === undefined && this.inFlight) this.failure = interrupted;
    if (this.failure !== undefined) return { failed: this.failure };
    this.inFlight = true;
    // The reply to what the main thread wrote has been read, so it has written it all.
    this.handedOver = false;
    return undefined;
  }

  /** The message that tells the main thread the connection may be pooled again, or undefined to have it closed. */
  protected abstract releaseClean(): object | undefined;

  /**
   * Writes the first `length` bytes of `bytes` on the lent socket; what it does not take now, the
   * main thread writes (a copy: `bytes` may be reused), and so every later write until the next
   * request begins (bytes written here meanwhile would overtake the main thread's). False (and
   * {@link failure} set) when the lending has ended.
   */
  protected write(bytes: Uint8Array, length = bytes.length): boolean {
    const written = length > DIRECT_WRITE_MAX || this.handedOver ? 0 : laneWrite(this.guard, this.fd, bytes, length);
    if (written === undefined) {
      this.failure ??= this.closedMessage;
      return false;
    }
    if (written < length) {
      this.handedOver = true;
      this.call.send(new Uint8Array(bytes.subarray(written, length)));
    }
    return true;
  }

  /**
   * The next bytes the server sent (blocks until some arrive), or undefined when the connection
   * failed or the lending ended under us (released, the service closing): then {@link failure}
   * says why, `lostMessage` when the server closed the connection.
   */
  protected nextChunk(lostMessage: string): Buffer | undefined {
    for (;;) {
      const chunk = this.readOnce(lostMessage, READ_WAIT_MS);
      if (chunk !== undefined || this.failure !== undefined) return chunk;
    }
  }

  /**
   * What the server sent, waiting at most `waitMs` (0: not at all) for it: undefined when nothing
   * came (and {@link failure} unset), or when the connection failed or the lending ended (then
   * {@link failure} says why, `lostMessage` when the server closed the connection, and
   * {@link closedByPeer} is set for that case).
   */
  protected readOnce(lostMessage: string, waitMs: number): Buffer | undefined {
    if (this.failure !== undefined) return undefined;
    if (this.reader === undefined) {
      this.failure = this.closedMessage;
      return undefined;
    }
    const read = this.reader.read(this.guard, waitMs);
    if ('bytes' in read) return read.bytes;
    if ('failed' in read) {
      this.failure = `${lostMessage}: ${read.failed}`;
      return undefined;
    }
    if (read.ended === 'eof') {
      this.failure = lostMessage;
      this.closedByPeer = true;
      return undefined;
    }
    // Nothing within the wait (a slow command), or the lending ended: a response the worker
    // holds back goes out now rather than after the reply, and the main thread may have said why.
    if (waitMs > 0) this.call.idle();
    const event = this.call.take();
    if (event !== undefined) {
      this.failure = event.kind === 'push' && isFailure(event.data) ? event.data.failed : lostMessage;
      return undefined;
    }
    if (read.ended === 'lane-closed') this.failure = this.closedMessage;
    return undefined;
  }
}

/** An open connection: its handle, and its lane when the main thread lent it to this worker. */
export interface LentOpened<L> {
  handle: number;
  lane: L | undefined;
}

/**
 * Opens a connection of `service` with one call that also lends it to this worker when the main
 * thread can (then `lend` makes the lane its requests go through; otherwise each goes as a call).
 * The lane is ended with the request. An open the service refuses is its error outcome.
 */
export function openLent<L extends LentSocket, E>(
  client: ServiceClient,
  service: 'redis' | 'pg',
  args: unknown[],
  lend: (call: BridgeCall, fd: number, guard: SharedArrayBuffer) => L,
): Outcome<LentOpened<L>, E | { tag: 'other'; val: string }> {
  let lane: L | undefined;
  let started: BridgeCall;
  try {
    // `onEnd` runs at the end of the request, after `lane` is set.
    started = client.startLong(service, 'open-lent', args, () => lane?.end());
  } catch (e) {
    return { ok: false, error: { tag: 'other', val: messageOf(e) } };
  }
  const first = started.next();
  if (first?.kind === 'push') {
    const grant = first.data as PgOpenedGrant | RedisOpenedGrant;
    client.opened();
    if (grant.fd !== undefined && grant.guard !== undefined) {
      const lent = lend(started, grant.fd, grant.guard);
      // A lane this worker cannot read is given back at once, clean: each operation then goes as a call.
      if (lent.usable) lane = lent;
      else lent.end();
    } else started.cancel(); // not lent: the call has ended on the main thread; forget it here too
    return { ok: true, value: { handle: grant.handle, lane } };
  }
  if (first?.kind === 'done') {
    const outcome = first.value as Outcome<never, E>;
    if (!outcome.ok) return outcome;
  }
  const name = service === 'pg' ? 'PostgreSQL' : 'Redis';
  return { ok: false, error: { tag: 'other', val: first?.kind === 'error' ? first.error.message : `the ${name} service did not answer` } };
}

function isFailure(data: unknown): data is { failed: string } {
  return typeof data === 'object' && data !== null && typeof (data as { failed?: unknown }).failed === 'string';
}
