/**
 * A TCP socket a client library (node-postgres) owns, that the main thread can lend to a worker
 * (`channel/socket-lane.ts`) without the library knowing: while it is lent, the bytes read go to
 * the lending instead of the library's parser, and the worker writes on the descriptor itself.
 * Given back between two of the library's requests (nothing outstanding), the library's parser
 * takes up the stream where it left it.
 */
import { Socket } from 'node:net';
import { closeLane, createLaneGuard } from '../channel/socket-lane.js';

/** A lent socket: the descriptor the worker writes on and the guard it must hold. */
export interface SocketLending {
  readonly fd: number;
  readonly guard: Int32Array;
}

export class LendableSocket extends Socket {
  private guard: Int32Array | undefined;
  private onBytes: ((bytes: Uint8Array) => void) | undefined;

  /** Whether the socket is lent now. */
  get lent(): boolean {
    return this.onBytes !== undefined;
  }

  /**
   * Lends the socket: from now on what is read goes to `onBytes`, not to the 'data' listeners.
   * Undefined when it cannot be lent (no descriptor, being written, closed, lent already).
   */
  lend(onBytes: (bytes: Uint8Array) => void): SocketLending | undefined {
    const fd = (this as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0 || this.onBytes !== undefined || this.destroyed || !this.writable || this.writableLength > 0 || this.readableLength > 0) return undefined;
    this.guard = createLaneGuard();
    this.onBytes = onBytes;
    return { fd, guard: this.guard };
  }

  /** Ends the lending: the worker can no longer write (its guard is closed), and reads go to the library again. */
  reclaim(): void {
    if (this.guard !== undefined) closeLane(this.guard);
    this.guard = undefined;
    this.onBytes = undefined;
  }

  // Readable streams hand every chunk over through emit('data'): while lent, it goes to the worker.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data' && this.onBytes !== undefined) {
      // A copy of its own: a chunk can be a view on a larger buffer, which would be copied whole to the worker.
      this.onBytes(new Uint8Array(args[0] as Buffer));
      return true;
    }
    return super.emit(event, ...args);
  }

  // Every way a socket closes, errors included, passes here: the descriptor is not closed while a
  // worker may be writing on it, nor afterwards can a worker write on its reused number.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.guard !== undefined) closeLane(this.guard);
    super._destroy(error, callback);
  }
}
