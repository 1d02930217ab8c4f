/**
 * Worker threads started before their pool exists (main thread). A thread takes a while to boot
 * Node and load the worker's modules; started when the executor begins preparing its components,
 * that happens while the components are read, verified and compiled instead of after. The pool
 * then takes them as its first workers; they receive their components with the pool's init.
 */
import type { Worker } from 'node:worker_threads';

interface Waiting {
  worker: Worker;
  /** It failed or exited before the pool took it. */
  lost: boolean;
  /** Removes this holder's listeners. */
  release(): void;
}

/** Threads started ahead of a pool; {@link EarlyWorkers.take} hands them over one by one. */
export class EarlyWorkers {
  private readonly waiting: Waiting[] = [];
  private readonly start: () => Worker;

  /** Starts `count` threads with `start` now. */
  constructor(count: number, start: () => Worker) {
    this.start = start;
    for (let i = 0; i < count; i++) {
      const worker = start();
      const entry: Waiting = { worker, lost: false, release: () => undefined };
      // A thread failing while nobody listens would be an uncaught 'error': held here until taken.
      const lost = (): void => {
        entry.lost = true;
      };
      worker.on('error', lost).on('exit', lost);
      entry.release = () => {
        worker.off('error', lost).off('exit', lost);
      };
      this.waiting.push(entry);
    }
  }

  /** A thread started earlier and still alive, now the caller's; a new one when none is left. */
  take(): Worker {
    for (let entry = this.waiting.shift(); entry !== undefined; entry = this.waiting.shift()) {
      entry.release();
      if (!entry.lost) return entry.worker;
      // One that died before its pool took it is replaced by a fresh thread, not handed over dead.
      void entry.worker.terminate();
    }
    return this.start();
  }

  /** Stops the threads nobody took (the executor failed before its pool started). */
  async discard(): Promise<void> {
    const left = this.waiting.splice(0);
    for (const entry of left) entry.release();
    await Promise.all(left.map((entry) => entry.worker.terminate().catch(() => undefined)));
  }
}
