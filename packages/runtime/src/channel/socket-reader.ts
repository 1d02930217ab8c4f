/**
 * Worker: reads the replies on a socket the main thread lent it (`socket-lane.ts`) itself, so a
 * round trip wakes the server and this worker only, not the main thread in between (a third
 * thread to schedule per reply cost most on a busy machine: see `bench/outbound.ts`).
 *
 * Node has no synchronous wait on a descriptor, but its WASI host (uvwasi, behind `node:wasi`)
 * has one: `poll_oneoff` on a WASI descriptor, here the socket given as the WASI instance's
 * stdin (uvwasi's `poll_oneoff.c` waits on it with a `uv_poll_t` in a loop of its own). Its
 * `fd_read` reports a socket with nothing to read as an errno (`EAGAIN`) rather than an exception
 * as `fs.readSync` does. The instance's memory is only a buffer for those two calls: no guest
 * code runs in it.
 */
import { createRequire } from 'node:module';
import type { WASI as WasiHost } from 'node:wasi';
import { laneClosed, laneEnter, laneLeave } from './socket-lane.js';

/** WASI preview1 errno values (`wasi_snapshot_preview1.witx`). */
const ERRNO_AGAIN = 6;
const ERRNO_CONNRESET = 15;

// Layout of the WASI memory: two subscriptions (the descriptor, a clock), their events, the
// `fd_read` iovec and results, then the read buffer.
const SUBS = 0;
const SUB_SIZE = 48;
const EVENTS = 128; // two events of 32 bytes
const NEVENTS = 256;
const IOVEC = 264;
const NREAD = 272;
const BUFFER = 1024;
const BUFFER_SIZE = 64 * 1024 - BUFFER;
/**
 * The module: it imports a memory (`env.memory`, at least one page) and exports it as `memory`,
 * all `WASI.initialize` needs. Every reader of a thread shares that one memory (its calls are
 * synchronous, so no two use it at once): each Wasm memory reserves gigabytes of address space,
 * and a process can make only some thousands of them, guests' included.
 */
const MEMORY_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // import section: "env" "memory" (memory, limits min 1)
  0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01,
  // export section: "memory" = memory 0
  0x07, 0x0a, 0x01, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00,
]);

type WasiImports = {
  fd_read(fd: number, iovs: number, iovsLen: number, nread: number): number;
  poll_oneoff(subs: number, events: number, nsubs: number, nevents: number): number;
};

/** What one {@link SocketReader.read} found. */
export type SocketRead = { bytes: Buffer } | { ended: 'eof' | 'timeout' | 'lane-closed' } | { failed: string };

const LANE_CLOSED: SocketRead = Object.freeze({ ended: 'lane-closed' as const });
const EOF: SocketRead = Object.freeze({ ended: 'eof' as const });
const TIMEOUT: SocketRead = Object.freeze({ ended: 'timeout' as const });

/** Reads one lent socket; one per descriptor number (see {@link socketReader}). */
export class SocketReader {
  private readonly wasi: WasiImports;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  /** @throws when `node:wasi` cannot be loaded or refuses the descriptor */
  constructor(fd: number) {
    const Wasi = loadWasi();
    const wasi = new Wasi({ version: 'preview1', stdin: fd, returnOnExit: true });
    const memory = (sharedMemory ??= new WebAssembly.Memory({ initial: 1 }));
    const instance = new WebAssembly.Instance((memoryModule ??= new WebAssembly.Module(MEMORY_MODULE)), { env: { memory } });
    wasi.initialize(instance);
    this.wasi = wasi.wasiImport as unknown as WasiImports;
    this.view = new DataView(memory.buffer);
    this.bytes = new Uint8Array(memory.buffer);
    // The WASI descriptor of the socket is stdin, 0; the clock subscription's timeout is set per
    // wait. Every reader writes the same values here.
    this.view.setBigUint64(SUBS, 1n, true);
    this.bytes[SUBS + 8] = 1; // fd_read
    this.view.setUint32(SUBS + 16, 0, true);
    this.view.setBigUint64(SUBS + SUB_SIZE, 2n, true);
    this.bytes[SUBS + SUB_SIZE + 8] = 0; // clock
    this.view.setUint32(SUBS + SUB_SIZE + 16, 1, true); // monotonic
    this.view.setUint32(IOVEC, BUFFER, true);
    this.view.setUint32(IOVEC + 4, BUFFER_SIZE, true);
  }

  /**
   * What the socket holds now, or, when it holds nothing yet, what it holds once it becomes
   * readable within `waitMs` (0: no wait). Reads only while it holds the lane's guard, so never from a
   * descriptor the main thread has closed (its number may name another connection by then).
   */
  read(guard: Int32Array, waitMs: number): SocketRead {
    let waited = false;
    for (;;) {
      if (!laneEnter(guard)) return LANE_CLOSED;
      let errno: number;
      try {
        errno = this.wasi.fd_read(0, IOVEC, 1, NREAD);
      } finally {
        laneLeave(guard);
      }
      if (errno === 0) {
        const n = this.view.getUint32(NREAD, true);
        return n === 0 ? EOF : { bytes: Buffer.from(this.bytes.subarray(BUFFER, BUFFER + n)) };
      }
      if (errno !== ERRNO_AGAIN) return { failed: errno === ERRNO_CONNRESET ? 'connection reset by peer' : `read failed (WASI errno ${errno})` };
      if (waited || waitMs <= 0) return laneClosed(guard) ? LANE_CLOSED : TIMEOUT;
      // The wait is not under the guard (the main thread would block for it): a lending that has
      // ended by now is not waited on, though one may still end during the wait.
      if (laneClosed(guard)) return LANE_CLOSED;
      this.wait(waitMs);
      waited = true;
    }
  }

  /** Blocks until the socket is readable (or closed), or `ms` passes. */
  private wait(ms: number): void {
    this.view.setBigUint64(SUBS + SUB_SIZE + 24, BigInt(Math.max(0, Math.round(ms * 1e6))), true);
    // An error here (the descriptor closed under the wait) shows in the read that follows.
    this.wasi.poll_oneoff(SUBS, EVENTS, 2, NEVENTS);
  }
}

let memoryModule: WebAssembly.Module | undefined;
/** The one memory of this thread's readers (see {@link MEMORY_MODULE}). */
let sharedMemory: WebAssembly.Memory | undefined;
let wasiClass: typeof WasiHost | undefined;
/** Readers by descriptor number: the WASI host is bound to a number, and a worker sees few. */
const readers = new Map<number, SocketReader>();

/** The reader of descriptor `fd` (made on first use). @throws when `node:wasi` cannot be loaded or refuses the descriptor */
export function socketReader(fd: number): SocketReader {
  let reader = readers.get(fd);
  if (reader === undefined) {
    reader = new SocketReader(fd);
    readers.set(fd, reader);
  }
  return reader;
}

/**
 * `node:wasi`, loaded on first use without its one-time "experimental" warning: it is used here
 * only for the two calls above, whose behaviour the lane tests check.
 */
function loadWasi(): typeof WasiHost {
  if (wasiClass !== undefined) return wasiClass;
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (rest[0] === 'ExperimentalWarning' && text.startsWith('WASI')) return;
    (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    wasiClass = (createRequire(import.meta.url)('node:wasi') as { WASI: typeof WasiHost }).WASI;
  } finally {
    process.emitWarning = emitWarning;
  }
  return wasiClass;
}
