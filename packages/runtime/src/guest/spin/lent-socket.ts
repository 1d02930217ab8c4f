/**
 * The worker's half of a connection the main thread lends it (`channel/socket-lane.ts`): the
 * worker writes its requests on the socket's descriptor itself, under the lane's guard, and reads
 * the replies from the chunks the main thread forwards over the lending call. What is the same for
 * every protocol lives here; `redis-lane.ts` and `postgres-lane.ts` encode and parse.
 */
import type { BridgeCall } from '../../channel/sync-bridge.js';
import { laneClosed, laneWrite } from '../../channel/socket-lane.js';
import { messageOf, type Outcome } from '../../services/service-outcome.js';
import type { PgOpenedGrant } from '../../services/postgres-service.js';
import type { RedisOpenedGrant } from '../../services/redis-service.js';
import type { ServiceClient } from './service-client.js';

/** Bytes the socket did not take at once go to the main thread above this size without trying. */
const DIRECT_WRITE_MAX = 256 * 1024;

/** One lent connection, for as long as the lending call runs. */
export abstract class LentSocket {
  /** Why the connection can carry nothing more (set once). */
  protected failure: string | undefined;
  /** Bytes were written whose replies have not all been read (the connection must not be pooled). */
  protected inFlight = false;
  protected ended = false;
  private readonly call: BridgeCall;
  private readonly fd: number;
  private readonly guard: Int32Array;
  /** The failure of a write after the main thread closed the lane. */
  private readonly closedMessage: string;

  constructor(call: BridgeCall, fd: number, guard: SharedArrayBuffer, closedMessage: string) {
    this.call = call;
    this.fd = fd;
    this.guard = new Int32Array(guard);
    this.closedMessage = closedMessage;
  }

  /** Whether this lending still carries requests. */
  get usable(): boolean {
    return !this.ended && this.failure === undefined && !laneClosed(this.guard);
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

  /** The message that tells the main thread the connection may be pooled again, or undefined to have it closed. */
  protected abstract releaseClean(): object | undefined;

  /** Writes on the lent socket; what it does not take now, the main thread writes. False (and {@link failure} set) when the lending has ended. */
  protected write(bytes: Buffer): boolean {
    const written = bytes.length > DIRECT_WRITE_MAX ? 0 : laneWrite(this.guard, this.fd, bytes);
    if (written === undefined) {
      this.failure ??= this.closedMessage;
      return false;
    }
    if (written < bytes.length) this.call.send(bytes.subarray(written));
    return true;
  }

  /**
   * The next chunk of reply bytes (blocks until the main thread forwards one), or undefined when the
   * connection failed or the lending ended under us (released, the service closing): then
   * {@link failure} says why, `lostMessage` when the main thread did not.
   */
  protected nextChunk(lostMessage: string): Buffer | undefined {
    const event = this.call.next();
    if (event?.kind === 'push' && event.data instanceof Uint8Array) return Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength);
    this.failure = event?.kind === 'push' && isFailure(event.data) ? event.data.failed : lostMessage;
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
    if (grant.fd !== undefined && grant.guard !== undefined) lane = lend(started, grant.fd, grant.guard);
    else started.cancel(); // not lent: the call has ended on the main thread; forget it here too
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
