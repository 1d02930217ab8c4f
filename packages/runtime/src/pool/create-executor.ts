import { channel } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { openCache, type Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { AsyncQueue } from '../async-queue.js';
import { ExecutorError, GuestFaultError } from '../errors.js';
import type { ExecuteOptions, Executor, GuestRequest, GuestResponse, WagiRequest, WagiResult } from './executor-types.js';
import { LogSink } from './log-sink.js';
import { componentKinds, prepareComponent, type ComponentKind, type PreparedComponent } from '../prepare/prepare-component.js';
import type { BodyMessage, FromWorker, HttpJobMessage, InitMessage, WagiJobMessage } from './job-protocol.js';
import type { AppCapabilities } from '../services/app-capabilities.js';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { InterfaceSet } from '../prepare/interface-set.js';

const debug = debuglog('spinel:runtime');
/** How long an extra worker (see `maxWorkers`) waits for work before it is stopped. */
const EXTRA_WORKER_IDLE_MS = 2000;
/** Published for every guest fault: `{ componentId, code, message }`. The CLI prints these. */
export const guestErrorChannel = channel('spinel:runtime:guest-error');

/** Options of {@link createExecutor}. */
export interface ExecutorOptions {
  /** The locked app whose components are loaded (all of them, at start). */
  app: LockedApp;
  /** Where transpiled components are kept. @default a cache under the OS temp directory */
  cache?: Cache;
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /**
   * Most worker threads, counting temporary ones: when a request waits while every worker is
   * blocked on a bridged call (a guest's `self` or `*.spin.internal` request waits for another
   * guest), an extra worker is started for it, and stopped again once idle.
   * @default twice `workers`
   */
  maxWorkers?: number;
  /** A request running longer is stopped (its worker replaced). @default no limit */
  requestTimeoutMs?: number;
  /** Bytes each guest memory may grow to; growth past it fails inside the guest. @default no limit */
  maxInstanceMemory?: number;
  /** Largest component source read at start (checked before reading). @default 536870912 (512 MiB) */
  maxSourceBytes?: number;
  /** Requests one instance may serve before a fresh one is made. @default 1 (a fresh instance per request) */
  instanceReuse?: number;
  /** Environment added to every component's (the CLI's `--env`). */
  env?: Record<string, string>;
  /** Directory for `<component>_{stdout,stderr}.txt`; null discards guest output. @default null */
  logDir?: string | null;
  /**
   * Called with each chunk a guest writes to stdout or stderr, besides the log files (a terminal
   * shows guest output this way: `spinel up --follow`). Chunks come as written, not split in lines.
   */
  onGuestOutput?: (componentId: string, stream: 'stdout' | 'stderr', bytes: Uint8Array) => void;
  /**
   * Fresh instances made under one run of jco's glue (by resetting or replacing its core
   * instances), before the glue is run again; 1 runs the glue for every instance (slower; for
   * comparison). The glue's handle tables are emptied for every fresh instance, so nothing grows
   * with this number; it bounds the glue's resource numbering. @default 4096
   */
  glueGenerations?: number;
  /**
   * Outbound HTTP, key-value and variables (from `createAppCapabilities`); each worker gets its
   * own bridge to them. Without it components importing those interfaces are refused at load.
   */
  capabilities?: AppCapabilities;
}

/** An {@link Executor} with what it loaded. */
export interface WorkerExecutor extends Executor {
  /** Live worker threads (for tests and metrics). */
  readonly workerCount: number;
  /** Ids of the loaded components and how each runs. */
  readonly components: ReadonlyMap<string, ComponentKind>;
}

interface Job {
  id: number;
  componentId: string;
  message: HttpJobMessage | WagiJobMessage;
  body: AsyncIterable<Uint8Array> | undefined;
  slot: Slot | undefined;
  done: boolean;
  /** The caller went away: output is dropped, but the worker stays busy until the guest ends (or its deadline). */
  detached: boolean;
  timer: NodeJS.Timeout | undefined;
  cleanup: (() => void) | undefined;
  onHead(status: number, headers: Array<[string, Uint8Array]>): void;
  onChunk(bytes: Uint8Array): void;
  onEnd(): void;
  onWagi(result: WagiResult): void;
  onError(error: ExecutorError): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  bodyPort: MessagePort;
  signal: Int32Array;
  retired: boolean;
  /** Started because every worker was blocked on a bridged call; stopped when idle, never replaced. */
  extra: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

function startWorker(): Worker {
  // An empty environment: nothing of the host's leaks into the glue or the guest.
  const js = new URL('../guest/worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { env: {} });
  // Running from TypeScript sources (tests, benchmarks): let tsx load the worker too.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('../guest/worker-entry.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, env: {} });
}

const latin1 = new TextDecoder('latin1');

/**
 * Loads every component of `app` (a bad one fails the start) and starts a pool of worker threads
 * that run each request in a fresh, sandboxed instance.
 * @throws ComponentLoadError (RUNTIME_INVALID_WASM, RUNTIME_UNSUPPORTED_IMPORTS, RUNTIME_NOT_A_HANDLER, RUNTIME_COMPONENT_SOURCE, RUNTIME_COMPONENT_INTEGRITY, RUNTIME_MEMORY_LIMIT, RUNTIME_PREPARE_FAILED)
 */
export async function createExecutor(options: ExecutorOptions): Promise<WorkerExecutor> {
  const cache = options.cache ?? openCache({ root: join(tmpdir(), 'spinel-cache') });
  const kinds = componentKinds(options.app);
  // This executor's own registry: WASI's interfaces plus its capabilities', nothing of any other executor.
  const interfaces = new InterfaceSet([...WASI_INTERFACES, ...(options.capabilities?.interfaces ?? [])]);
  const prepared: PreparedComponent[] = [];
  for (const component of options.app.components) {
    prepared.push(
      await prepareComponent(component, {
        cache,
        kind: kinds.get(component.id) ?? 'http',
        env: options.env ?? {},
        maxInstanceMemory: options.maxInstanceMemory,
        maxSourceBytes: options.maxSourceBytes,
        interfaces,
      }),
    );
  }
  const pool = new WorkerPool(prepared, options);
  await pool.start(options.workers ?? availableParallelism());
  return pool;
}

class WorkerPool implements WorkerExecutor {
  private readonly prepared: PreparedComponent[];
  private readonly options: ExecutorOptions;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private readonly logs: LogSink;
  private nextJob = 1;
  private closed = false;
  private maxWorkers = 1;
  readonly components: ReadonlyMap<string, ComponentKind>;

  constructor(prepared: PreparedComponent[], options: ExecutorOptions) {
    this.prepared = prepared;
    this.options = options;
    this.logs = new LogSink(options.logDir ?? null);
    this.components = new Map(prepared.map((p) => [p.id, p.kind]));
  }

  get workerCount(): number {
    return this.slots.size;
  }

  async start(count: number): Promise<void> {
    const n = Math.max(1, Math.floor(count));
    this.maxWorkers = Math.max(n, Math.floor(this.options.maxWorkers ?? 2 * n));
    try {
      await Promise.all(Array.from({ length: n }, () => this.spawn()));
    } catch (cause) {
      await this.close();
      throw new ExecutorError('RUNTIME_WORKER_FAILED', `A worker thread could not start: ${(cause as Error).message}`, { cause });
    }
  }

  /** Workers that died before they were ready, in a row: past a few, stop replacing them. */
  private failedStarts = 0;

  private replace(): void {
    if (this.closed) return;
    if (this.failedStarts >= 3) {
      // Something is wrong with every new worker; fail what waits instead of spinning.
      for (const job of this.queue.splice(0)) {
        this.fail(job, new GuestFaultError('RUNTIME_WORKER_FAILED', 'Worker threads keep failing to start; the request cannot run.', { componentId: job.componentId }));
      }
      return;
    }
    void this.spawn().catch(() => undefined);
  }

  private spawn(extra = false): Promise<void> {
    const worker = startWorker();
    const { port1, port2 } = new MessageChannel();
    const shared = new SharedArrayBuffer(4);
    const slot: Slot = { worker, ready: false, job: undefined, bodyPort: port1, signal: new Int32Array(shared), retired: false, extra, idleTimer: undefined };
    this.slots.add(slot);
    const init: InitMessage = {
      type: 'init',
      components: this.prepared,
      instanceReuse: Math.max(1, this.options.instanceReuse ?? 1),
      templateGenerations: Math.max(1, this.options.glueGenerations ?? 4096),
      bodyPort: port2 as unknown as InitMessage['bodyPort'],
      signal: shared,
    };
    const capabilities = this.options.capabilities?.workerInit();
    if (capabilities !== undefined) init.capabilities = capabilities.init;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          slot.ready = true;
          this.failedStarts = 0;
          resolve();
          this.dispatch();
          this.idle(slot);
        } else this.onMessage(slot, msg);
      });
      worker.on('error', (err) => {
        reject(err);
        this.onWorkerLost(slot, err);
      });
      worker.on('exit', () => this.onWorkerLost(slot, undefined));
      worker.postMessage(init, [port2, ...(capabilities?.transfer ?? [])]);
    });
  }

  private onWorkerLost(slot: Slot, err: unknown): void {
    if (slot.retired) return;
    slot.retired = true;
    if (!slot.ready) this.failedStarts++;
    this.slots.delete(slot);
    slot.bodyPort.close();
    const job = slot.job;
    if (job !== undefined) {
      this.fail(job, new GuestFaultError('RUNTIME_WORKER_FAILED', `The worker running component "${job.componentId}" stopped${err instanceof Error ? `: ${err.message}` : ''}.`, { cause: err, componentId: job.componentId }));
    }
    if (!slot.extra) this.replace();
  }

  private retire(slot: Slot): void {
    if (slot.retired) return;
    slot.retired = true;
    this.slots.delete(slot);
    slot.bodyPort.close();
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    void slot.worker.terminate();
    if (!slot.extra) this.replace();
  }

  /** An extra worker left without work is stopped after a while (the pool goes back to its size). */
  private idle(slot: Slot): void {
    if (!slot.extra || slot.retired || slot.job !== undefined || slot.idleTimer !== undefined) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.job === undefined && !slot.retired) this.retire(slot);
    }, EXTRA_WORKER_IDLE_MS);
    slot.idleTimer.unref();
  }

  /**
   * A request waits and no worker is free: when every busy worker is blocked on a bridged call
   * (as many calls open as busy workers), the request may be the very one they wait for (a
   * `self` or service-chained request), so one more worker is started, up to `maxWorkers`.
   */
  private grow(): void {
    const bridge = this.options.capabilities?.bridge;
    if (bridge === undefined || this.closed || this.queue.length === 0) return;
    let starting = 0;
    let busy = 0;
    for (const slot of this.slots) {
      if (slot.retired) continue;
      if (!slot.ready) starting++;
      else if (slot.job !== undefined) busy++;
    }
    if (this.queue.length <= starting || busy === 0 || bridge.activeCalls < busy) return;
    if (this.slots.size >= this.maxWorkers) return;
    debug('every worker waits on a bridged call: starting an extra worker (%d of at most %d)', this.slots.size + 1, this.maxWorkers);
    void this.spawn(true).catch(() => undefined);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type === 'log') {
      this.logs.append(msg.componentId, msg.stream, msg.bytes);
      try {
        this.options.onGuestOutput?.(msg.componentId, msg.stream, msg.bytes);
      } catch {
        // Showing guest output must never take the server down.
      }
      return;
    }
    if (msg.type === 'ready') return;
    const job = slot.job;
    if (job === undefined || job.id !== msg.job || job.done) return;
    if (job.detached) {
      if (msg.type === 'end' || msg.type === 'error' || msg.type === 'wagi-result') this.finish(job);
      return;
    }
    switch (msg.type) {
      case 'head':
        job.onHead(msg.status, msg.headers);
        break;
      case 'chunk':
        job.onChunk(msg.bytes);
        break;
      case 'end':
        this.finish(job);
        job.onEnd();
        break;
      case 'wagi-result':
        this.finish(job);
        job.onWagi(msg.result);
        break;
      case 'error': {
        const code = msg.code;
        this.fail(job, new GuestFaultError(code, `Component "${job.componentId}" failed: ${msg.message}`, { componentId: job.componentId }));
        break;
      }
    }
  }

  /** Frees the job's worker for the next request. */
  private finish(job: Job): void {
    job.done = true;
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.cleanup?.();
    const slot = job.slot;
    if (slot !== undefined && slot.job === job) {
      slot.job = undefined;
      this.dispatch();
      this.idle(slot);
    }
  }

  private fail(job: Job, error: ExecutorError): void {
    if (job.done) return;
    const index = this.queue.indexOf(job);
    if (index !== -1) this.queue.splice(index, 1);
    this.finish(job);
    if (error.code === 'RUNTIME_GUEST_TRAP' || error.code === 'RUNTIME_TIMEOUT' || error.code === 'RUNTIME_NO_RESPONSE' || error.code === 'RUNTIME_WORKER_FAILED') {
      debug('%s: %s', job.componentId, error.message);
      if (guestErrorChannel.hasSubscribers) guestErrorChannel.publish({ componentId: job.componentId, code: error.code, message: error.message });
    }
    job.onError(error);
  }

  /** Stops a job that must not go on (deadline, client gone): a running guest can only be stopped with its worker. */
  private stop(job: Job, error: ExecutorError): void {
    if (job.done) return;
    const slot = job.slot;
    if (slot !== undefined && slot.job === job) {
      // Retire first, so the queue is never dispatched onto the worker being terminated.
      slot.job = undefined;
      this.retire(slot);
    }
    this.fail(job, error);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.job !== undefined || slot.retired) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      if (slot.idleTimer !== undefined) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = undefined;
      }
      slot.job = job;
      job.slot = slot;
      slot.worker.postMessage(job.message);
      if (job.body !== undefined) void this.feed(job, slot, job.body);
    }
  }

  private async feed(job: Job, slot: Slot, body: AsyncIterable<Uint8Array>): Promise<void> {
    const post = (msg: BodyMessage): void => {
      slot.bodyPort.postMessage(msg);
      Atomics.add(slot.signal, 0, 1);
      Atomics.notify(slot.signal, 0);
    };
    try {
      for await (const chunk of body) {
        if (job.done || slot.retired) return;
        post({ job: job.id, chunk: chunk.slice() });
      }
    } catch {
      // The client's body failed; the guest sees the stream end.
    }
    if (!job.done && !slot.retired) post({ job: job.id, end: true });
  }

  private enqueue(job: Job, options: ExecuteOptions | undefined): void {
    if (this.closed) {
      job.onError(new ExecutorError('RUNTIME_CLOSED', 'The executor is closed; start a new one.', { componentId: job.componentId }));
      return;
    }
    if (this.slots.size === 0 && this.failedStarts >= 3) {
      job.onError(new GuestFaultError('RUNTIME_WORKER_FAILED', 'Worker threads keep failing to start; the request cannot run.', { componentId: job.componentId }));
      return;
    }
    const kind = this.components.get(job.componentId);
    if (kind === undefined) {
      job.onError(new ExecutorError('RUNTIME_UNKNOWN_COMPONENT', `No component "${job.componentId}" was loaded; check the trigger's component id.`, { componentId: job.componentId }));
      return;
    }
    const wanted = job.message.type === 'wagi' ? 'wagi' : 'http';
    if (kind !== wanted) {
      job.onError(new ExecutorError('RUNTIME_NOT_A_HANDLER', `Component "${job.componentId}" was loaded as ${kind === 'wagi' ? 'a WAGI module' : 'a wasi:http component'}; call ${kind === 'wagi' ? 'runWagi' : 'handle'} for it.`, { componentId: job.componentId }));
      return;
    }
    const timeout = this.options.requestTimeoutMs;
    let deadline = options?.deadline;
    if (timeout !== undefined) deadline = Math.min(deadline ?? Infinity, Date.now() + timeout);
    if (deadline !== undefined) {
      const timedOut = (): GuestFaultError => new GuestFaultError('RUNTIME_TIMEOUT', `Component "${job.componentId}" did not finish before its deadline and was stopped.`, { componentId: job.componentId });
      if (deadline <= Date.now()) {
        job.onError(timedOut());
        return;
      }
      job.timer = setTimeout(() => this.stop(job, timedOut()), deadline - Date.now());
    }
    const signal = options?.signal;
    if (signal !== undefined) {
      const onAbort = (): void => {
        const aborted = new ExecutorError('RUNTIME_ABORTED', 'The client went away; the request was dropped.', { componentId: job.componentId });
        if (job.done || job.detached) return;
        if (job.slot === undefined) {
          this.fail(job, aborted);
          return;
        }
        // Killing the worker for every client that hangs up would let clients churn the pool;
        // the guest finishes (or meets its deadline) and its output is discarded.
        job.detached = true;
        job.onError(aborted);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      job.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    this.queue.push(job);
    this.dispatch();
    this.grow();
  }

  handle(componentId: string, request: GuestRequest, options?: ExecuteOptions): Promise<GuestResponse> {
    return new Promise<GuestResponse>((resolve, reject) => {
      const body = new AsyncQueue<Uint8Array>();
      let headed = false;
      const id = this.nextJob++;
      const job: Job = {
        id,
        componentId,
        message: { type: 'http', job: id, componentId, method: request.method, url: request.url, headers: request.headers },
        body: request.body,
        slot: undefined,
        done: false,
        detached: false,
        timer: undefined,
        cleanup: undefined,
        onHead: (status, headers) => {
          headed = true;
          resolve({ status, headers: headers.map(([n, v]) => [n, latin1.decode(v)]), body });
        },
        onChunk: (bytes) => body.push(bytes),
        onEnd: () => body.end(),
        onWagi: () => undefined,
        onError: (error) => {
          if (headed) body.fail(error);
          else reject(error);
        },
      };
      this.enqueue(job, options);
    });
  }

  runWagi(componentId: string, request: WagiRequest, options?: ExecuteOptions): Promise<WagiResult> {
    return new Promise<WagiResult>((resolve, reject) => {
      const id = this.nextJob++;
      const job: Job = {
        id,
        componentId,
        message: { type: 'wagi', job: id, componentId, request },
        body: undefined,
        slot: undefined,
        done: false,
        detached: false,
        timer: undefined,
        cleanup: undefined,
        onHead: () => undefined,
        onChunk: () => undefined,
        onEnd: () => undefined,
        onWagi: resolve,
        onError: reject,
      };
      this.enqueue(job, options);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      this.fail(job, new ExecutorError('RUNTIME_CLOSED', 'The executor was closed before this request ran.', { componentId: job.componentId }));
    }
    const slots = [...this.slots];
    for (const slot of slots) {
      slot.retired = true;
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      if (slot.job !== undefined) this.fail(slot.job, new ExecutorError('RUNTIME_CLOSED', 'The executor was closed while this request ran.', { componentId: slot.job.componentId }));
      slot.bodyPort.close();
    }
    this.slots.clear();
    await Promise.all(slots.map((s) => s.worker.terminate()));
    await this.logs.flush();
  }
}
