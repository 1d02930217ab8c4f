/**
 * A TCP socket a client library (node-postgres, `resp-connection.ts`) owns, that the main thread
 * can lend to a worker (`channel/socket-lane.ts`) without the library knowing: while it is lent,
 * the main thread does not read it, and the worker writes and reads on the descriptor itself.
 * Given back between two of the library's requests (nothing outstanding), the library's parser
 * takes up the stream where the worker left it.
 */
import { Socket } from 'node:net';
import { closeLane, createLaneGuard } from '../channel/socket-lane.js';

/** A lent socket: the descriptor the worker writes on and the guard it must hold. */
export interface SocketLending {
  readonly fd: number;
  readonly guard: Int32Array;
}

/** The parts of net.Socket's handle (a libuv stream) that lending uses; net.js keeps `reading` in step with readStart/readStop. */
interface StreamHandle {
  fd?: unknown;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}

export class LendableSocket extends Socket {
  private guard: Int32Array | undefined;

  /** Whether the socket is lent now. */
  get lent(): boolean {
    return this.guard !== undefined;
  }

  private get streamHandle(): StreamHandle | undefined {
    return (this as unknown as { _handle?: StreamHandle | null })._handle ?? undefined;
  }

  /**
   * Lends the socket: from now on the main thread does not read it (libuv stops watching it), so
   * what the server sends waits in the kernel for the worker. Undefined when it cannot be lent
   * (no descriptor, being written, bytes read and not yet taken, closed, lent already).
   */
  lend(): SocketLending | undefined {
    const handle = this.streamHandle;
    const fd = handle?.fd;
    if (handle === undefined || typeof fd !== 'number' || fd < 0 || this.guard !== undefined || this.destroyed || !this.writable || this.writableLength > 0 || this.readableLength > 0) return undefined;
    if (handle.readStop() !== 0) return undefined;
    handle.reading = false;
    this.guard = createLaneGuard();
    return { fd, guard: this.guard };
  }

  /** Ends the lending: the worker can no longer write or read (its guard is closed), and reads go to the library again. */
  reclaim(): void {
    if (this.guard === undefined) return;
    closeLane(this.guard);
    this.guard = undefined;
    const handle = this.streamHandle;
    if (handle === undefined || this.destroyed || handle.reading === true) return;
    handle.reading = true;
    const status = handle.readStart();
    if (status !== 0) this.destroy(new Error(`cannot read the socket again (libuv status ${status})`));
  }

  // Every way a socket closes, errors included, passes here: the descriptor is not closed while a
  // worker may be writing or reading on it, nor afterwards can a worker use its reused number.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.guard !== undefined) closeLane(this.guard);
    super._destroy(error, callback);
  }
}
