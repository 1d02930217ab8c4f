import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache, type Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { InterfaceSet } from '../prepare/interface-set.js';
import { refuseMiddleware } from '../prepare/compose/middleware.js';
import { componentUses, prepareComponent, type ComponentKind, type PreparedComponent } from '../prepare/prepare-component.js';
import type { AppCapabilities } from '../services/app-capabilities.js';
import type { ExecuteOptions, Executor } from './executor-types.js';
import { EarlyWorkers } from './early-workers.js';
import { startWorker, WorkerPool } from './worker-pool.js';

/** Published for every guest fault: `{ app, componentId, code, message }` (events.ts). */
export { guestErrorChannel } from '../events.js';

/**
 * Memory a guest may grow to unless told otherwise (Spin's `max_instance_memory`; Spin itself has
 * no default below Wasm's 4 GiB). V8 cannot stop a thread while a guest's `memory.grow` keeps
 * succeeding: an uncapped memory bomb held `worker.terminate()` for 36-60 s, until its memory
 * reached 4 GiB, so neither a request deadline nor shutdown could end it. Growth also slows as
 * memory grows (a worker took about 0.1 s to grow to 128 MiB and 1.4-3.2 s to 512 MiB under shared
 * load); at this cap a bomb fails in about a second, well inside a shutdown grace.
 */
export const DEFAULT_MAX_INSTANCE_MEMORY = 256 * 1024 * 1024;

/** Options of {@link createExecutor}. */
export interface ExecutorOptions {
  /** The locked app whose components are loaded (all of them, at start). */
  app: LockedApp;
  /** Where transpiled components are kept. @default a cache under the OS temp directory */
  cache?: Cache;
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /**
   * Most worker threads, counting temporary ones: when a request waits while its component holds
   * no worker and others hold them all, or while every worker is blocked on a capability call (a
   * guest's `self` or `*.spin.internal` request waits for another guest), an extra worker is
   * started for it, and stopped again once idle.
   * @default twice `workers`
   */
  maxWorkers?: number;
  /** A guest running longer than this is stopped (its worker replaced); time spent queued does not count. @default no limit */
  requestTimeoutMs?: number;
  /** A request that waited this long for a worker is answered `RUNTIME_QUEUE_TIMEOUT` (the trigger's 503). @default 10000 */
  queueTimeoutMs?: number;
  /**
   * Bytes each guest memory may grow to; growth past it fails inside the guest (`memory.grow`
   * returns -1, and most guests then trap: the request gets 500).
   * @default {@link DEFAULT_MAX_INSTANCE_MEMORY} (256 MiB)
   */
  maxInstanceMemory?: number;
  /** Largest component source read at start (checked before reading). @default 536870912 (512 MiB) */
  maxSourceBytes?: number;
  /** Requests one instance may serve before a fresh one is made. @default 1 (a fresh instance per request) */
  instanceReuse?: number;
  /** Environment added to every component's (the CLI's `--env`). */
  env?: Record<string, string>;
  /**
   * Guests may write to their `files` mounts. Their directories must be copies made for this run
   * (`runApp`'s `allowTransientWrite` makes them): writes land in them as they are. @default false
   */
  writableMounts?: boolean;
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
   * Outbound HTTP, key-value, variables and further capabilities (from `createAppCapabilities`),
   * served to each worker over its channel. Without it components importing those interfaces are
   * refused at load.
   */
  capabilities?: AppCapabilities;
}

/** An {@link Executor} with what it loaded. */
export interface WorkerExecutor extends Executor {
  /** Live worker threads (for tests and metrics). */
  readonly workerCount: number;
  /** Ids of the loaded components and how each runs. */
  readonly components: ReadonlyMap<string, ComponentKind>;
  /**
   * Runs one Redis message in a fresh instance of a component a Redis trigger names
   * (`fermyon:spin/inbound-redis`, or a Spin 1 module's `handle-redis-message`), queued with the
   * app's HTTP requests.
   * @throws GuestFaultError `RUNTIME_HANDLER_ERROR` when the handler returns an error, `RUNTIME_GUEST_TRAP`, `RUNTIME_TIMEOUT`…
   */
  handleRedisMessage(componentId: string, payload: Uint8Array, options?: ExecuteOptions): Promise<void>;
  /** The pool now, and the instances made since it started (for metrics; cheap to call). */
  stats(): ExecutorStats;
}

/** What {@link WorkerExecutor.stats} reports. */
export interface ExecutorStats {
  /** Requests waiting for a free worker. */
  queued: number;
  /** Workers running a request now. */
  busyWorkers: number;
  /** Live workers, temporary ones included. */
  workers: number;
  /** Instances made since the executor started, by component id (a fresh instance per request is made ahead, so about one per request; a WAGI run is one). */
  instances: ReadonlyMap<string, number>;
}

/**
 * Loads every component of `app` (a bad one fails the start) and starts a pool of worker threads
 * that run each request in a fresh, sandboxed instance.
 * @throws ComponentLoadError (RUNTIME_INVALID_WASM, RUNTIME_UNSUPPORTED_IMPORTS, RUNTIME_NOT_A_HANDLER, RUNTIME_COMPONENT_SOURCE, RUNTIME_COMPONENT_INTEGRITY, RUNTIME_MEMORY_LIMIT, RUNTIME_PREPARE_FAILED), DependencyError (RUNTIME_DEPENDENCY_*, RUNTIME_MIDDLEWARE_INVALID), ExecutorError RUNTIME_WORKER_FAILED
 */
export async function createExecutor(options: ExecutorOptions): Promise<WorkerExecutor> {
  const cache = options.cache ?? openCache({ root: join(tmpdir(), 'spinel-cache') });
  refuseMiddleware(options.app);
  const uses = componentUses(options.app);
  // This executor's own registry: WASI's interfaces plus its capabilities', nothing of any other executor.
  const interfaces = new InterfaceSet([...WASI_INTERFACES, ...(options.capabilities?.interfaces ?? [])]);
  const workers = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  // The threads boot and load the worker's modules while the components are prepared.
  const early = new EarlyWorkers(workers, startWorker);
  let pool: WorkerPool;
  try {
    const prepared: PreparedComponent[] = [];
    for (const component of options.app.components) {
      // As Spin runs a trigger with only the components its triggers use: a component no trigger
      // names (one used as another's `{ component = "<id>" }` dependency) is never served.
      const use = uses.get(component.id);
      if (use === undefined) continue;
      prepared.push(
        await prepareComponent(component, {
          cache,
          use,
          env: options.env ?? {},
          maxInstanceMemory: options.maxInstanceMemory ?? DEFAULT_MAX_INSTANCE_MEMORY,
          maxSourceBytes: options.maxSourceBytes,
          writableMounts: options.writableMounts,
          interfaces,
        }),
      );
    }
    pool = new WorkerPool({
      app: options.app,
      prepared,
      workers,
      maxWorkers: options.maxWorkers,
      requestTimeoutMs: options.requestTimeoutMs,
      queueTimeoutMs: options.queueTimeoutMs ?? 10_000,
      instanceReuse: Math.max(1, options.instanceReuse ?? 1),
      glueGenerations: Math.max(1, options.glueGenerations ?? 4096),
      logDir: options.logDir ?? null,
      onGuestOutput: options.onGuestOutput,
      capabilities: options.capabilities,
      startWorker: () => early.take(),
    });
  } catch (err) {
    await early.discard();
    throw err;
  }
  await pool.start();
  return pool;
}
