/**
 * A socket the main thread lends to one worker, so the worker writes its requests on it itself
 * (`fs.writeSync` on the socket's descriptor) while the main thread keeps reading it and hands
 * the replies over the worker's channel. A sequential call then wakes one thread fewer: the
 * worker's write goes straight to the server, with no message waking the main thread first.
 *
 * Both halves. Descriptors are numbers shared by the whole process: once closed, the number can
 * name another file or another app's connection. So a worker writes only while it holds the
 * lane's one guard cell (free → writing, back to free after the write), and the main thread
 * moves the cell to closed — waiting out a write in progress — before the socket can be closed
 * or handed to anyone else. A worker that finds it closed writes nothing.
 */
import { writeSync } from 'node:fs';

const FREE = 0;
const WRITING = 1;
const CLOSED = 2;
/** The longest the main thread waits for a write in progress (a worker stopped mid-write never finishes it). */
const CLOSE_WAIT_MS = 1000;

/** A new guard for one lending (free). */
export function createLaneGuard(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/**
 * Main thread: ends the lending; afterwards the worker cannot write. Returns once no write is in
 * progress (a worker's write is one system call; one stopped half-way is waited for at most a second).
 */
export function closeLane(guard: Int32Array): void {
  const until = Date.now() + CLOSE_WAIT_MS;
  for (;;) {
    if (Atomics.compareExchange(guard, 0, FREE, CLOSED) !== WRITING) {
      Atomics.store(guard, 0, CLOSED);
      return;
    }
    const left = until - Date.now();
    if (left <= 0) {
      Atomics.store(guard, 0, CLOSED);
      return;
    }
    Atomics.wait(guard, 0, WRITING, Math.min(left, 10));
  }
}

/** Whether the lending has ended. */
export function laneClosed(guard: Int32Array): boolean {
  return Atomics.load(guard, 0) === CLOSED;
}

/**
 * Worker: writes as much of `bytes` as the socket takes without blocking.
 * @returns the bytes written (fewer than asked when the socket's buffer is full), or `undefined`
 *   when the lending has ended (nothing written)
 * @throws the system error of a failed write (the connection reset or closed by the server)
 */
export function laneWrite(guard: Int32Array, fd: number, bytes: Uint8Array): number | undefined {
  if (Atomics.compareExchange(guard, 0, FREE, WRITING) !== FREE) return undefined;
  let written = 0;
  try {
    while (written < bytes.length) {
      try {
        const n = writeSync(fd, bytes, written, bytes.length - written);
        if (n <= 0) break;
        written += n;
      } catch (err) {
        if ((err as { code?: unknown }).code === 'EAGAIN') break;
        throw err;
      }
    }
  } finally {
    Atomics.compareExchange(guard, 0, WRITING, FREE);
    Atomics.notify(guard, 0);
  }
  return written;
}
