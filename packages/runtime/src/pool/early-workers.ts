/**
 * Worker threads started before their pool exists (main thread). A thread takes a while to boot
 * Node and load the worker's modules; started when the executor begins preparing its components,
 * that happens while the components are read, verified and compiled instead of after. The pool
 * then takes them as its first workers; they receive their components with the pool's init.
 *
 * For an app of one component, the threads after the first get the pool's init only once the
 * first has answered its first job (or has been ready for {@link HELD_AFTER_READY_MS}, or is
 * lost): taking their components (the capabilities' modules, the glue, a first instance made
 * ahead) costs each about as much CPU as the first thread spends on its own, and on a machine of
 * few cores that work took the cores the first request needed. An app of several components gets
 * every thread ready at once: a request to a second component while the first thread runs one
 * would find no thread ready, and the pool would start an extra one for it (worker-pool.ts, `grow`).
 */
import { EventEmitter } from 'node:events';
import type { TransferListItem, Worker } from 'node:worker_threads';
import type { FromWorker, InitMessage } from './job-protocol.js';

/** How long the threads after the first wait for their init once the first is ready, when no job has ended by then. */
export const HELD_AFTER_READY_MS = 500;

/** How long they wait at most when the first never gets ready (a thread that hangs must not leave the pool without any). */
export const HELD_UNLESS_READY_MS = 10_000;

interface Waiting {
  worker: Worker;
  /** It failed or exited before the pool took it. */
  lost: boolean;
  /** Removes this holder's listeners. */
  release(): void;
}

/**
 * A started thread whose messages are held: a Worker's events, `postMessage` and `terminate`
 * (what the pool uses) in front of it, keeping what is posted, transfer lists and all, until
 * {@link HeldWorker.release}.
 */
class HeldWorker extends EventEmitter {
  private readonly thread: Worker;
  private held: Array<[unknown, readonly TransferListItem[] | undefined]> | undefined = [];
  /** Sees each message posted while held (after it is kept). */
  private readonly onHeld: (value: unknown) => void;

  constructor(thread: Worker, onHeld: (value: unknown) => void) {
    super();
    this.thread = thread;
    this.onHeld = onHeld;
    for (const name of ['online', 'message', 'messageerror', 'error', 'exit'] as const) thread.on(name, (...args: unknown[]) => this.emit(name, ...args));
  }

  /** Hands the thread what was posted so far, in order; from now on messages go to it as posted. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    for (const [value, transfer] of held ?? []) this.thread.postMessage(value, transfer);
  }

  postMessage(value: unknown, transfer?: readonly TransferListItem[]): void {
    if (this.held === undefined) this.thread.postMessage(value, transfer);
    else {
      this.held.push([value, transfer]);
      this.onHeld(value);
    }
  }

  terminate(): Promise<number> {
    return this.thread.terminate();
  }
}

/** Threads started ahead of a pool; {@link EarlyWorkers.take} hands them over one by one. */
export class EarlyWorkers {
  private readonly waiting: Waiting[] = [];
  private readonly held: HeldWorker[] = [];
  private readonly start: () => Worker;
  private timer: NodeJS.Timeout | undefined;
  /** Removes the listeners on the first thread that decide when the others get their messages. */
  private stopWatching: () => void = () => undefined;

  /** Starts `count` threads with `start` now (the messages of all but the first held: see the file's comment). */
  constructor(count: number, start: () => Worker) {
    this.start = start;
    for (let i = 0; i < count; i++) {
      const worker = i === 0 ? start() : this.heldWorker(start());
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
    const first = this.waiting[0]?.worker;
    if (first !== undefined && this.held.length > 0) this.releaseAfter(first);
  }

  /** A thread started earlier and still alive, now the caller's; a new one when none is left. */
  take(): Worker {
    for (let entry = this.waiting.shift(); entry !== undefined; entry = this.waiting.shift()) {
      entry.release();
      if (!entry.lost) return entry.worker;
      // One that died before its pool took it is replaced by a fresh thread, not handed over dead.
      void entry.worker.terminate();
    }
    // The pool wants more threads than it started with: none waits for its messages any longer.
    this.releaseAll();
    return this.start();
  }

  /** Stops the threads nobody took (the executor failed before its pool started). */
  async discard(): Promise<void> {
    const left = this.waiting.splice(0);
    for (const entry of left) entry.release();
    this.releaseAll();
    await Promise.all(left.map((entry) => entry.worker.terminate().catch(() => undefined)));
  }

  private heldWorker(thread: Worker): Worker {
    const worker = new HeldWorker(thread, (value) => {
      if (isInit(value) && value.components.length !== 1) this.releaseAll();
    });
    this.held.push(worker);
    // The pool uses a Worker's events, postMessage and terminate, which the stand-in has.
    return worker as unknown as Worker;
  }

  /** Releases the held threads once `first` has ended its first job or is lost, or after the waits above. */
  private releaseAfter(first: Worker): void {
    const onMessage = (msg: FromWorker): void => {
      if (msg.type === 'ready') this.wait(HELD_AFTER_READY_MS);
      // A job's end, its whole response, or its failure: the first request has been answered.
      else if (msg.type === 'end' || msg.type === 'error' || msg.type === 'wagi-result' || (msg.type === 'response' && msg.end)) this.releaseAll();
    };
    const onLost = (): void => this.releaseAll();
    first.on('message', onMessage).on('error', onLost).on('exit', onLost);
    this.stopWatching = () => {
      first.off('message', onMessage).off('error', onLost).off('exit', onLost);
    };
    this.wait(HELD_UNLESS_READY_MS);
  }

  /** (Re)arms the timer that releases the held threads; unref'd, so it never holds the process. */
  private wait(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.releaseAll(), ms);
    this.timer.unref();
  }

  private releaseAll(): void {
    clearTimeout(this.timer);
    this.stopWatching();
    for (const worker of this.held.splice(0)) worker.release();
  }
}

function isInit(value: unknown): value is InitMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'init' && Array.isArray((value as { components?: unknown }).components);
}
