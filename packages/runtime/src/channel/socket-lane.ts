/**
 * A socket the main thread lends to one worker, so the worker writes its requests on it
 * (`fs.writeSync` on the socket's descriptor) and reads the replies (`socket-reader.ts`) itself,
 * while the main thread stops reading it. A sequential round trip then wakes only the server
 * and the worker: no message wakes the main thread before the write, nor after the reply.
 *
 * Both halves. Descriptors are numbers shared by the whole process: once closed, the number can
 * name another file or another app's connection. So a worker writes or reads only while it
 * holds the lane's one guard cell (free → busy, back to free after the system call), and the
 * main thread moves the cell to closed — waiting out a call in progress — before the socket can
 * be closed or handed to anyone else. A worker that finds it closed neither writes nor reads.
 */
import { writeSync } from 'node:fs';

const FREE = 0;
const BUSY = 1;
const CLOSED = 2;
/** Busy, and the main thread waits for the call to finish (only then does the worker notify it). */
const BUSY_WAITED = 3;
/** The longest the main thread waits for a system call in progress (a worker stopped in the middle never finishes it). */
const CLOSE_WAIT_MS = 1000;

/** A new guard for one lending (free). */
export function createLaneGuard(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/**
 * Main thread: ends the lending; afterwards the worker can neither write nor read. Returns once
 * no system call of the worker's is in progress (one stopped half-way is waited for at most a second).
 */
export function closeLane(guard: Int32Array): void {
  const until = Date.now() + CLOSE_WAIT_MS;
  for (;;) {
    const was = Atomics.compareExchange(guard, 0, FREE, CLOSED);
    if (was !== BUSY && was !== BUSY_WAITED) {
      Atomics.store(guard, 0, CLOSED);
      return;
    }
    const left = until - Date.now();
    if (left <= 0) {
      Atomics.store(guard, 0, CLOSED);
      return;
    }
    // Marked as waited for, so the worker notifies when its call ends (it does not otherwise:
    // a notify costs a process-wide lock on every system call).
    if (was === BUSY) Atomics.compareExchange(guard, 0, BUSY, BUSY_WAITED);
    Atomics.wait(guard, 0, BUSY_WAITED, Math.min(left, 10));
  }
}

/** Whether the lending has ended. */
export function laneClosed(guard: Int32Array): boolean {
  return Atomics.load(guard, 0) === CLOSED;
}

/** The guards this thread holds now, between {@link laneEnter} and {@link laneLeave}. */
const heldNow: Int32Array[] = [];

/**
 * Worker: takes the lane's guard before one non-blocking system call on the lent descriptor, so
 * the main thread cannot close the descriptor meanwhile; {@link laneLeave} gives it back right
 * after the call (in a `finally`). The pair is {@link laneHeld} without a closure per call.
 * @returns false when the lending has ended (the call must not be made; nothing to give back)
 */
export function laneEnter(guard: Int32Array): boolean {
  if (Atomics.compareExchange(guard, 0, FREE, BUSY) !== FREE) return false;
  heldNow.push(guard);
  return true;
}

/** Worker: gives back a guard {@link laneEnter} took. */
export function laneLeave(guard: Int32Array): void {
  if (heldNow[heldNow.length - 1] === guard) heldNow.pop();
  else {
    const at = heldNow.lastIndexOf(guard);
    if (at >= 0) heldNow.splice(at, 1);
  }
  free(guard);
}

function free(guard: Int32Array): void {
  if (Atomics.compareExchange(guard, 0, BUSY, FREE) === BUSY) return;
  // The main thread waits on it (BUSY_WAITED): free it and wake it.
  if (Atomics.compareExchange(guard, 0, BUSY_WAITED, FREE) === BUSY_WAITED) Atomics.notify(guard, 0);
}

/**
 * Worker: runs `io` (one non-blocking system call on the lent descriptor) while holding the
 * lane's guard, so the main thread cannot close the descriptor meanwhile.
 * @returns what `io` returned, or `undefined` when the lending has ended (`io` not run)
 */
export function laneHeld<T>(guard: Int32Array, io: () => T): T | undefined {
  if (!laneEnter(guard)) return undefined;
  try {
    return io();
  } finally {
    laneLeave(guard);
  }
}

/**
 * Worker: frees the guards a guest stopped at its deadline left held. A `node:vm` timeout stops
 * the guest without running its `finally` blocks, so a guest stopped inside {@link laneHeld} keeps
 * the guard busy, and the main thread's {@link closeLane} would then block its event loop for
 * `CLOSE_WAIT_MS`. Call only once the stopped guest's code is off the stack (no call is in progress).
 */
export function releaseAbandonedLanes(): void {
  for (const guard of heldNow.splice(0)) free(guard);
}

/**
 * Worker: writes as much of `bytes` (its first `length` bytes) as the socket takes without blocking.
 * @returns the bytes written (fewer than asked when the socket's buffer is full), or `undefined`
 *   when the lending has ended (nothing written)
 * @throws the system error of a failed write (the connection reset or closed by the server)
 */
export function laneWrite(guard: Int32Array, fd: number, bytes: Uint8Array, length = bytes.length): number | undefined {
  if (!laneEnter(guard)) return undefined;
  let written = 0;
  try {
    while (written < length) {
      const n = writeSync(fd, bytes, written, length - written);
      if (n <= 0) break;
      written += n;
    }
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
  } finally {
    laneLeave(guard);
  }
  return written;
}
