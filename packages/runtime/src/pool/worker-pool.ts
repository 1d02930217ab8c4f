/**
 * The executor's pool of worker threads (main thread): one job per worker at a time, fair queueing
 * across components, deadlines on the guest's execution, temporary extra workers, and each
 * worker's blocking channel (request bodies and capability calls).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import { Worker } from 'node:worker_threads';
import { AsyncQueue } from '../async-queue.js';
import { BODY_METHOD } from '../channel/body-protocol.js';
import { bodyPumpHandler } from '../channel/body-pump.js';
import { createBridgeServer, type BridgeServer } from '../channel/bridge-server.js';
import { CapabilityError, ExecutorError, GuestFaultError } from '../errors.js';
import { interfaceKey } from '../prepare/interface-set.js';
import { guestErrorChannel, type GuestErrorEvent } from '../events.js';
import { CounterTotals, createSharedCounters } from '../worker-counters.js';
import type { ComponentKind, PreparedComponent } from '../prepare/prepare-component.js';
import type { AppCapabilities } from '../services/app-capabilities.js';
import type { ExecutorStats } from './create-executor.js';
import type { ClientGone, ExecuteOptions, GuestRequest, GuestResponse, RequestBody, ServeHttpRequest, WagiRequest, WagiResult, WorkerServing } from './executor-types.js';
import { FairQueue } from './fair-queue.js';
import { workerComponent, type CloseMessage, type FromWorker, type HttpJobMessage, type InitMessage, type LogBatch, type RedisJobMessage, type WagiJobMessage, type WorkerComponent } from './job-protocol.js';
import { LogSink } from './log-sink.js';
import { ServingWorkers } from './serving-workers.js';

const debug = debuglog('spinel:runtime');
/** How long an extra worker waits for work before it is stopped. */
const EXTRA_WORKER_IDLE_MS = 2000;
/** How often queued requests are checked against the queue timeout. */
const QUEUE_SWEEP_MS = 100;

/** What the pool is built with (see `ExecutorOptions` for each). */
export interface PoolOptions {
  /** The app object, named in the pool's events (events.ts). */
  app: object;
  prepared: PreparedComponent[];
  workers: number;
  maxWorkers: number | undefined;
  requestTimeoutMs: number | undefined;
  queueTimeoutMs: number;
  instanceReuse: number;
  glueGenerations: number;
  logDir: string | null;
  onGuestOutput: ((componentId: string, stream: 'stdout' | 'stderr', bytes: Uint8Array) => void) | undefined;
  capabilities: AppCapabilities | undefined;
  /** Where the pool's threads come from (the executor hands over threads it started while preparing). @default a new thread each time */
  startWorker?: (() => Worker) | undefined;
}

interface Job {
  readonly id: number;
  readonly componentId: string;
  readonly queuedAt: number;
  readonly message: HttpJobMessage | WagiJobMessage | RedisJobMessage;
  readonly body: RequestBody | undefined;
  /** Longest the guest may run once started (ms), and an absolute deadline (epoch ms) from the caller. */
  readonly timeoutMs: number | undefined;
  readonly deadline: number | undefined;
  slot: Slot | undefined;
  done: boolean;
  /** The caller went away: output is dropped, but the worker stays busy until the guest ends (or its deadline). */
  detached: boolean;
  timer: NodeJS.Timeout | undefined;
  cleanup: (() => void) | undefined;
  onResponse(status: number, headers: string[], body: Uint8Array | undefined, end: boolean): void;
  onChunk(bytes: Uint8Array): void;
  onEnd(): void;
  onWagi(result: WagiResult): void;
  onError(error: ExecutorError): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  retired: boolean;
  /**
   * Started beyond the pool's size, for components holding no worker; stopped when idle (kept as
   * a standby while one component holds every regular worker), never replaced.
   */
  extra: boolean;
  /** A replacement still starting for a worker stopped by this component's deadline or fault: it counts as held by it. */
  chargedTo: string | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Capability calls the worker is blocked on now (through the main thread: `self`, chaining, undici's client). */
  calls(): number;
  /**
   * Outbound requests the worker waits on over connections lent to it. Such a wait may be on the
   * app itself reached by an address not known as its own, so it makes the pool grow like a call;
   * but it is usually on another service, so the worker stays held by its component (fairness).
   */
  waits(): number;
}

/** A new worker thread running the worker entry, with an empty environment. */
export function startWorker(): Worker {
  // An empty environment: nothing of the host's leaks into the glue or the guest.
  const js = new URL('../guest/worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { env: {} });
  // Running from TypeScript sources (tests, benchmarks): let tsx load the worker too.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('../guest/worker-entry.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, env: {} });
}

const EMPTY = new Uint8Array(0);
/** How long an idle worker asked to close may take before it is terminated. */
const WORKER_CLOSE_MS = 1000;

/** Ends a worker: asked to close when idle (bounded by {@link WORKER_CLOSE_MS}), else terminated. */
async function stopWorker(worker: Worker, idle: boolean): Promise<void> {
  if (idle) {
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<boolean>((resolve) => worker.once('exit', () => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), WORKER_CLOSE_MS);
    });
    worker.postMessage({ type: 'close' } satisfies CloseMessage);
    const closed = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (closed) return;
  }
  await worker.terminate();
}

/** An iterable over one chunk (a response the worker sent whole). */
function once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      if (bytes.length > 0) yield bytes;
    },
  };
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

/** The caller's "client went away" (`clientGone`, or `signal` adapted), if it gave one. */
function clientGoneOf(options: ExecuteOptions | undefined): ClientGone | undefined {
  if (options?.clientGone !== undefined) return options.clientGone;
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  return {
    get gone() {
      return signal.aborted;
    },
    onGone(listener) {
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}

/** Runs requests on worker threads. */
export class WorkerPool {
  private readonly options: PoolOptions;
  private readonly slots = new Set<Slot>();
  /** Threads serving HTTP themselves (`serveHttp`). */
  private readonly servingThreads = new Set<Worker>();
  private readonly queue = new FairQueue<Job>();
  /** Jobs on a worker now, by id (their bodies are served over the channel). */
  private readonly running = new Map<number, Job>();
  private readonly channel: BridgeServer;
  private readonly logs: LogSink;
  /** One counter per component (in `prepared` order): instances the workers made. */
  private readonly instanceCounts: SharedArrayBuffer;
  private readonly instanceTotals: CounterTotals;
  private readonly baseSize: number;
  private readonly maxWorkers: number;
  private sweep: NodeJS.Timeout | undefined;
  private nextJob = 1;
  private closed = false;
  /** Workers that died before they were ready, in a row: past a few, stop replacing them. */
  private failedStarts = 0;
  readonly components: ReadonlyMap<string, ComponentKind>;
  /** The interfaces the components import, unversioned: workers load only the capabilities serving them (undefined: all). */
  private readonly imported: ReadonlySet<string> | undefined;
  /** The components as every worker's init message carries them. */
  private readonly workerComponents: WorkerComponent[];

  constructor(options: PoolOptions) {
    this.options = options;
    this.baseSize = Math.max(1, Math.floor(options.workers));
    this.maxWorkers = Math.max(this.baseSize, Math.floor(options.maxWorkers ?? 2 * this.baseSize));
    this.logs = new LogSink(options.logDir);
    this.components = new Map(options.prepared.map((p) => [p.id, p.kind]));
    this.workerComponents = options.prepared.map(workerComponent);
    // A core module (WAGI, Spin 1) imports modules by their own names, not interfaces: with one of
    // those, every capability is loaded.
    const components = options.prepared.every((p) => p.kind === 'http');
    this.imported = components ? new Set(options.prepared.flatMap((p) => p.imports.map(interfaceKey))) : undefined;
    this.instanceCounts = createSharedCounters(options.prepared.length);
    this.instanceTotals = new CounterTotals(this.instanceCounts);
    const handlers = { ...(options.capabilities?.handlers ?? {}) };
    if (Object.prototype.hasOwnProperty.call(handlers, BODY_METHOD)) {
      throw new CapabilityError('RUNTIME_CAPABILITY_CONFLICT', `A capability serves channel method "${BODY_METHOD}", which carries request bodies; give it a name of its own.`);
    }
    handlers[BODY_METHOD] = bodyPumpHandler((id) => this.running.get(id)?.body);
    // A worker reading its request body, or blocked on a database, broker or store
    // (`CapabilityService.independentMethods`), is not waiting on another request of the app: such
    // calls leave the worker held by its component and never make the pool grow.
    this.channel = createBridgeServer(handlers, { uncounted: [BODY_METHOD, ...(options.capabilities?.independentMethods ?? [])] });
  }

  get workerCount(): number {
    return this.slots.size;
  }

  stats(): ExecutorStats {
    let busy = 0;
    for (const slot of this.slots) if (slot.job !== undefined) busy++;
    const totals = this.instanceTotals.read();
    return {
      queued: this.queue.size,
      busyWorkers: busy,
      workers: this.slots.size,
      instances: new Map(this.options.prepared.map((p, i) => [p.id, totals[i] ?? 0])),
    };
  }

  /**
   * Starts the pool's workers; resolves when one is ready (requests can run from then on, the
   * others finish booting meanwhile), rejects when every one failed to start.
   */
  async start(): Promise<void> {
    const starting = Array.from({ length: this.baseSize }, () => this.spawn(false));
    // One failing after another is ready is replaced as any lost worker is (onWorkerLost).
    for (const s of starting) s.catch(() => undefined);
    try {
      await Promise.any(starting);
    } catch (all) {
      const cause = (all as AggregateError).errors[0] as Error;
      await this.close();
      throw new ExecutorError('RUNTIME_WORKER_FAILED', `A worker thread could not start: ${cause.message}`, { cause });
    }
  }

  private replace(chargedTo?: string): void {
    if (this.closed) return;
    if (this.failedStarts >= 3) {
      // Something is wrong with every new worker; fail what waits instead of spinning.
      for (const job of this.queue.drain()) {
        this.fail(job, new GuestFaultError('RUNTIME_WORKER_FAILED', 'Worker threads keep failing to start; the request cannot run.', { componentId: job.componentId }));
      }
      return;
    }
    void this.spawn(false, chargedTo).catch(() => undefined);
  }

  /** The first message of a worker, with its end of a new channel. */
  private initMessage(endpoint: InitMessage['channel']): InitMessage {
    return {
      type: 'init',
      components: this.workerComponents,
      instanceReuse: this.options.instanceReuse,
      templateGenerations: this.options.glueGenerations,
      channel: endpoint,
      capabilities: this.options.capabilities?.workerInit(this.imported) ?? [],
      keepLogs: this.options.logDir !== null || this.options.onGuestOutput !== undefined,
      instanceCounts: this.instanceCounts,
    };
  }

  private spawn(extra: boolean, chargedTo?: string): Promise<void> {
    const worker = (this.options.startWorker ?? startWorker)();
    const { endpoint, activeCalls, waits } = this.channel.connectWorker();
    const slot: Slot = { worker, ready: false, job: undefined, retired: false, extra, idleTimer: undefined, chargedTo, calls: activeCalls, waits };
    this.slots.add(slot);
    const init = this.initMessage(endpoint);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          slot.ready = true;
          slot.chargedTo = undefined;
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
      worker.postMessage(init, [endpoint.port]);
    });
  }

  private onWorkerLost(slot: Slot, err: unknown): void {
    if (slot.retired) return;
    slot.retired = true;
    if (!slot.ready) this.failedStarts++;
    this.slots.delete(slot);
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    const job = slot.job;
    if (job !== undefined) {
      this.fail(job, new GuestFaultError('RUNTIME_WORKER_FAILED', `The worker running component "${job.componentId}" stopped${err instanceof Error ? `: ${err.message}` : ''}.`, { cause: err, componentId: job.componentId }));
    }
    if (!slot.extra) this.replace(job?.componentId);
    this.dispatch();
  }

  private retire(slot: Slot, chargedTo?: string): void {
    if (slot.retired) return;
    slot.retired = true;
    this.slots.delete(slot);
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    void slot.worker.terminate();
    if (!slot.extra) this.replace(chargedTo);
  }

  /** An extra worker left without work is stopped after a while (the pool goes back to its size). */
  private idle(slot: Slot): void {
    if (!slot.extra || slot.retired || slot.job !== undefined || slot.idleTimer !== undefined) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.job !== undefined || slot.retired) return;
      // Still needed as the standby for the other components: wait again.
      if (this.saturated() && this.freeExtras() <= 1) this.idle(slot);
      else this.retire(slot);
    }, EXTRA_WORKER_IDLE_MS);
    slot.idleTimer.unref();
  }

  /**
   * Workers `componentId` holds: running its jobs and not blocked on a capability call (a blocked
   * one waits for another guest, or a service reached through the main thread), plus replacements
   * still starting for workers its jobs had to stop (a component that keeps hitting its deadline
   * pays for the restarts itself). A worker waiting on a lent connection is held.
   */
  private activeOf(componentId: string): number {
    let n = 0;
    for (const slot of this.slots) {
      if (slot.ready ? slot.job?.componentId === componentId && slot.calls() === 0 : slot.chargedTo === componentId) n++;
    }
    return n;
  }

  /** Whether, in an app of several components, one holds every regular worker (the others would wait behind it). */
  private saturated(): boolean {
    if (this.components.size < 2) return false;
    const held = new Map<string, number>();
    for (const slot of this.slots) {
      const id = slot.ready ? (slot.calls() === 0 ? slot.job?.componentId : undefined) : slot.chargedTo;
      if (id === undefined) continue;
      const n = (held.get(id) ?? 0) + 1;
      if (n >= this.baseSize) return true;
      held.set(id, n);
    }
    return false;
  }

  /**
   * Whether an extra worker may take a job of `componentId` although the component holds workers:
   * every worker running its jobs waits on a lent connection or a call, which may be the app
   * itself reached by an address not known as its own (the job waiting could be the one they
   * wait for). In an app of several components only while another extra worker could still
   * start, so a component whose workers wait on a slow service cannot take the last one from
   * the others (their standby).
   */
  private stuck(componentId: string): boolean {
    if (this.components.size >= 2 && this.slots.size >= this.maxWorkers) return false;
    let running = 0;
    for (const slot of this.slots) {
      if (!slot.ready || slot.job?.componentId !== componentId) continue;
      if (slot.calls() === 0 && slot.waits() === 0) return false;
      running++;
    }
    return running > 0;
  }

  /** Extra workers ready and idle, or starting. */
  private freeExtras(): number {
    let n = 0;
    for (const slot of this.slots) if (slot.extra && !slot.retired && slot.job === undefined) n++;
    return n;
  }

  /**
   * Gives free workers the next waiting jobs, components in turn. A component holds at most as
   * many workers as the pool's size, and an extra worker only goes to a component holding none:
   * the extra workers are for the others.
   */
  private dispatch(): void {
    if (this.closed) return;
    const regular = (componentId: string): boolean => this.activeOf(componentId) < this.baseSize;
    const extra = (componentId: string): boolean => this.activeOf(componentId) === 0;
    for (let progress = true; progress && this.queue.size > 0; ) {
      progress = false;
      for (const slot of this.slots) {
        if (!slot.ready || slot.job !== undefined || slot.retired) continue;
        const job = slot.extra ? (this.queue.take(extra) ?? this.queue.take((id) => this.stuck(id))) : this.queue.take(regular);
        if (job === undefined) continue;
        this.run(slot, job);
        progress = true;
        break;
      }
    }
    this.grow();
  }

  private run(slot: Slot, job: Job): void {
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    // The deadline covers the guest's execution, not its time in the queue.
    let ms = job.timeoutMs;
    if (job.deadline !== undefined) ms = Math.min(ms ?? Infinity, job.deadline - Date.now());
    if (ms !== undefined && ms <= 0) {
      this.fail(job, this.timedOut(job));
      return;
    }
    slot.job = job;
    job.slot = slot;
    this.running.set(job.id, job);
    if (ms !== undefined) job.timer = setTimeout(() => this.stop(job, this.timedOut(job)), ms);
    slot.worker.postMessage(job.message);
  }

  private timedOut(job: Job): GuestFaultError {
    return new GuestFaultError('RUNTIME_TIMEOUT', `Component "${job.componentId}" did not finish before its deadline and was stopped.`, { componentId: job.componentId });
  }

  /**
   * Starts a temporary extra worker (up to `maxWorkers`, one at a time) when a waiting job cannot
   * get one: its component holds no worker while others hold them all (a flood of slow requests
   * to one component must not starve the rest), or every busy worker is blocked on a capability
   * call (a guest's `self` or `*.spin.internal` request may be the very job they wait for).
   */
  private grow(): void {
    if (this.closed || this.slots.size >= this.maxWorkers) return;
    let startingExtra = 0;
    let busy = 0;
    let blocked = 0;
    let free = 0;
    for (const slot of this.slots) {
      if (slot.retired) continue;
      if (!slot.ready) {
        if (slot.extra) startingExtra++;
      } else if (slot.job !== undefined) {
        busy++;
        if (slot.calls() > 0 || slot.waits() > 0) blocked++;
      } else free++;
    }
    if (startingExtra > 0) return;
    // A standby: one component holds every regular worker, so the next request to another would
    // wait for a worker to start; it is started now, before that request comes.
    const standby = this.freeExtras() === 0 && this.saturated();
    const waiting = this.queue.size > 0;
    const starved = waiting && this.queue.waiting().some((componentId) => this.activeOf(componentId) === 0);
    // Counted per worker: one guest with two requests out is one blocked worker, and the serving
    // workers' calls (serveFromWorkers shares the channel) are not the pool's.
    const allBlocked = waiting && busy > 0 && free === 0 && blocked === busy;
    if (!starved && !allBlocked && !standby) return;
    debug('starting an extra worker (%d of at most %d): %s', this.slots.size + 1, this.maxWorkers, starved ? 'a component waits without a worker' : allBlocked ? 'every worker waits on a capability call' : 'a standby while one component holds every worker');
    void this.spawn(true).catch(() => undefined);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if ('logs' in msg && msg.logs !== undefined) this.appendLogs(msg.logs);
    if (msg.type === 'log' || msg.type === 'ready' || !('job' in msg)) return;
    const job = slot.job;
    if (job === undefined || job.id !== msg.job || job.done) return;
    if (job.detached) {
      if (msg.type === 'end' || msg.type === 'error' || msg.type === 'wagi-result' || (msg.type === 'response' && msg.end)) this.finish(job);
      return;
    }
    switch (msg.type) {
      case 'response':
        if (msg.end) this.finish(job);
        job.onResponse(msg.status, msg.headers, msg.body, msg.end);
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
      case 'error':
        this.fail(job, new GuestFaultError(msg.code, `Component "${job.componentId}" failed: ${msg.message}`, { componentId: job.componentId }));
        break;
    }
  }

  /** Guest output a worker sent (a serving worker's too). */
  appendLogs(batch: LogBatch): void {
    for (const [componentId, stream, bytes] of batch) {
      this.logs.append(componentId, stream, bytes);
      try {
        this.options.onGuestOutput?.(componentId, stream, bytes);
      } catch {
        // Showing guest output must never take the server down.
      }
    }
  }

  /** Frees the job's worker for the next request; what the guest did not read of the body is dropped. */
  private finish(job: Job): void {
    job.done = true;
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.cleanup?.();
    this.running.delete(job.id);
    job.body?.discard?.();
    const slot = job.slot;
    if (slot !== undefined && slot.job === job) {
      slot.job = undefined;
      this.dispatch();
      this.idle(slot);
    }
  }

  private fail(job: Job, error: ExecutorError): void {
    if (job.done) return;
    if (job.slot === undefined) this.queue.remove(job);
    this.finish(job);
    if (error.code === 'RUNTIME_GUEST_TRAP' || error.code === 'RUNTIME_TIMEOUT' || error.code === 'RUNTIME_NO_RESPONSE' || error.code === 'RUNTIME_WORKER_FAILED') {
      debug('%s: %s', job.componentId, error.message);
      if (guestErrorChannel.hasSubscribers) guestErrorChannel.publish({ app: this.options.app, componentId: job.componentId, code: error.code, message: error.message } satisfies GuestErrorEvent);
    }
    job.onError(error);
  }

  /** Stops a job that must not go on (deadline): a running guest can only be stopped with its worker. */
  private stop(job: Job, error: ExecutorError): void {
    if (job.done) return;
    const slot = job.slot;
    if (slot !== undefined && slot.job === job) {
      // Retire first, so the queue is never dispatched onto the worker being terminated.
      slot.job = undefined;
      this.retire(slot, job.componentId);
    }
    this.fail(job, error);
  }

  /** Answers queued jobs that waited past the queue timeout (the trigger answers 503 with Retry-After). */
  private expire(): void {
    const limit = performance.now() - this.options.queueTimeoutMs;
    for (const job of this.queue.expire(limit)) {
      this.finish(job);
      job.onError(new ExecutorError('RUNTIME_QUEUE_TIMEOUT', `Component "${job.componentId}" had no free worker for ${this.options.queueTimeoutMs} ms; try again later.`, { componentId: job.componentId }));
    }
    if (this.queue.size === 0 && this.sweep !== undefined) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  private enqueue(job: Job, gone: ClientGone | undefined): void {
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
    const refusal = this.refusal(job.componentId, job.message.type);
    if (refusal !== undefined) {
      job.onError(new ExecutorError('RUNTIME_NOT_A_HANDLER', refusal, { componentId: job.componentId }));
      return;
    }
    if (job.deadline !== undefined && job.deadline <= Date.now()) {
      job.onError(this.timedOut(job));
      return;
    }
    if (gone !== undefined) {
      const onAbort = (): void => {
        if (job.done || job.detached) return;
        const aborted = new ExecutorError('RUNTIME_ABORTED', 'The client went away; the request was dropped.', { componentId: job.componentId });
        if (job.slot === undefined) {
          this.fail(job, aborted);
          return;
        }
        // Killing the worker for every client that hangs up would let clients churn the pool;
        // the guest finishes (or meets its deadline) and its output is discarded.
        job.detached = true;
        job.onError(aborted);
      };
      if (gone.gone) {
        onAbort();
        return;
      }
      job.cleanup = gone.onGone(onAbort);
    }
    this.queue.push(job);
    if (this.sweep === undefined) {
      this.sweep = setInterval(() => this.expire(), QUEUE_SWEEP_MS);
      this.sweep.unref();
    }
    this.dispatch();
  }

  /** Why a component cannot take a job of `type` (undefined when it can): each handles what its triggers use it for. */
  private refusal(componentId: string, type: 'http' | 'wagi' | 'redis'): string | undefined {
    const prepared = this.options.prepared.find((p) => p.id === componentId);
    if (prepared === undefined) return undefined;
    const what = prepared.kind === 'wagi' ? 'a WAGI module' : prepared.kind === 'spin1' ? 'a Spin 1 module' : 'a component';
    if (type === 'wagi') return prepared.kind === 'wagi' ? undefined : `Component "${componentId}" was loaded as ${what}, not for WAGI; call handle for it.`;
    if (prepared.kind === 'wagi') return `Component "${componentId}" was loaded as a WAGI module; call runWagi for it.`;
    if (type === 'redis') return prepared.redis === true ? undefined : `Component "${componentId}" was not loaded as a Redis handler (no Redis trigger names it).`;
    const answersHttp = prepared.kind === 'spin1' ? prepared.spin1Http !== undefined : prepared.http !== undefined;
    return answersHttp ? undefined : `Component "${componentId}" was loaded as ${what} that handles Redis messages only; it has no HTTP handler.`;
  }

  private timeoutOf(options: ExecuteOptions | undefined): number | undefined {
    const own = this.options.requestTimeoutMs;
    const asked = options?.timeoutMs;
    if (own === undefined) return asked;
    return asked === undefined ? own : Math.min(own, asked);
  }

  /**
   * Queues one job: the fields every kind shares, the kind's message (given the job's id) and its
   * callbacks (those a kind does not use do nothing).
   */
  private submit(
    componentId: string,
    message: (id: number) => Job['message'],
    body: RequestBody | undefined,
    options: ExecuteOptions | undefined,
    callbacks: Partial<Pick<Job, 'onResponse' | 'onChunk' | 'onEnd' | 'onWagi'>> & Pick<Job, 'onError'>,
  ): void {
    const id = this.nextJob++;
    const job: Job = {
      id,
      componentId,
      queuedAt: performance.now(),
      message: message(id),
      body,
      timeoutMs: this.timeoutOf(options),
      deadline: options?.deadline,
      slot: undefined,
      done: false,
      detached: false,
      timer: undefined,
      cleanup: undefined,
      onResponse: () => undefined,
      onChunk: () => undefined,
      onEnd: () => undefined,
      onWagi: () => undefined,
      ...callbacks,
    };
    this.enqueue(job, clientGoneOf(options));
  }

  handle(componentId: string, request: GuestRequest, options?: ExecuteOptions): Promise<GuestResponse> {
    return new Promise<GuestResponse>((resolve, reject) => {
      let stream: AsyncQueue<Uint8Array> | undefined;
      const headers: string[] = [];
      for (const [name, value] of request.headers) headers.push(name, value);
      const message = (id: number): HttpJobMessage => ({ type: 'http', job: id, componentId, method: request.method, url: request.url, headers, body: request.body.empty !== true });
      this.submit(componentId, message, request.body, options, {
        onResponse: (status, flat, bytes, end) => {
          if (end) {
            const complete = bytes ?? EMPTY;
            resolve({ status, headers: pairs(flat), body: once(complete), complete });
            return;
          }
          stream = new AsyncQueue<Uint8Array>();
          if (bytes !== undefined) stream.push(bytes);
          resolve({ status, headers: pairs(flat), body: stream });
        },
        onChunk: (bytes) => stream?.push(bytes),
        onEnd: () => stream?.end(),
        onError: (error) => {
          if (stream !== undefined) stream.fail(error);
          else reject(error);
        },
      });
    });
  }

  runWagi(componentId: string, request: WagiRequest, options?: ExecuteOptions): Promise<WagiResult> {
    return new Promise<WagiResult>((resolve, reject) => {
      this.submit(componentId, (id) => ({ type: 'wagi', job: id, componentId, request }), undefined, options, { onWagi: resolve, onError: reject });
    });
  }

  /**
   * Runs one Redis message in a fresh instance of a component that handles them, through the same
   * fair queue, deadlines and workers as HTTP requests.
   */
  handleRedisMessage(componentId: string, payload: Uint8Array, options?: ExecuteOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.submit(componentId, (id) => ({ type: 'redis', job: id, componentId, payload }), undefined, options, { onEnd: resolve, onError: reject });
    });
  }

  /**
   * Starts as many worker threads as the pool's size that serve HTTP themselves
   * (pool/serving-workers.ts); they take no pool jobs, so the pool's own workers stay free for
   * chained requests, Redis messages and a host's `handle()`.
   * @throws {ListenError} as the trigger's `listen`
   */
  async serveHttp(request: ServeHttpRequest): Promise<WorkerServing> {
    if (this.closed) throw new ExecutorError('RUNTIME_CLOSED', 'The executor is closed; start a new one.');
    const serving = new ServingWorkers(
      {
        app: this.options.app,
        startServingThread: () => {
          const worker = startWorker();
          const { endpoint } = this.channel.connectWorker();
          this.servingThreads.add(worker);
          worker.once('exit', () => this.servingThreads.delete(worker));
          worker.postMessage(this.initMessage(endpoint), [endpoint.port]);
          return worker;
        },
        stopThread: stopWorker,
        appendLogs: (batch) => this.appendLogs(batch),
      },
      this.baseSize,
      request,
    );
    await serving.start({ address: request.address, findFreePort: request.findFreePort });
    return serving;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Serving workers whose trigger was not closed first: stopped where they are.
    for (const worker of this.servingThreads) void worker.terminate();
    if (this.sweep !== undefined) clearInterval(this.sweep);
    for (const job of this.queue.drain()) {
      this.finish(job);
      job.onError(new ExecutorError('RUNTIME_CLOSED', 'The executor was closed before this request ran.', { componentId: job.componentId }));
    }
    const slots = [...this.slots];
    const stopping: Array<Promise<void>> = [];
    for (const slot of slots) {
      slot.retired = true;
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      // An idle worker closes its capabilities and ends itself; a busy one is stopped where it is.
      stopping.push(stopWorker(slot.worker, slot.ready && slot.job === undefined));
      if (slot.job !== undefined) this.fail(slot.job, new ExecutorError('RUNTIME_CLOSED', 'The executor was closed while this request ran.', { componentId: slot.job.componentId }));
    }
    this.slots.clear();
    await Promise.all(stopping);
    this.channel.close();
    await this.logs.flush();
  }
}
