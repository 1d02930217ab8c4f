/**
 * `prepareApp()`: everything `runApp()` does except listening — capabilities, the executor and
 * its workers, service chaining, the HTTP trigger — for a host that keeps its own listener and
 * hands requests over (spinel-runner serves two versions of an app on one port during a
 * switch). The Redis trigger's subscriptions start when the host calls `startRedis()` (once the
 * version is to serve). `runApp()` is this plus `trigger.listen()` and `startRedis()`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cache } from '@spinel/cache';
import { lockManifestFile, type LockedApp, type LockManifestFileOptions } from '@spinel/manifest';
import type { Capability } from './capability.js';
import { RuntimeError } from './errors.js';
import { createExecutor, type ExecutorOptions, type WorkerExecutor } from './pool/create-executor.js';
import type { Executor } from './pool/executor-types.js';
import { copyMountsForWriting } from './prepare/transient-mounts.js';
import { createAppCapabilities, type AppCapabilities, type AppCapabilitiesOptions } from './services/app-capabilities.js';
import { createChainDispatch } from './services/chain-dispatch.js';
import type { KeyValueService, KvOperationCount } from './services/key-value-capability.js';
import { createHttpTrigger, type HttpTrigger, type RouteLabels } from './trigger/http-server.js';
import { hasRedisTriggers, startRedisTrigger, type RedisTrigger, type RedisTriggerOptions } from './trigger/redis/redis-trigger.js';
import type { AvailableRoute } from './trigger/startup-output.js';

/** Where the app comes from: exactly one of these. */
export type AppSource =
  | { app: LockedApp }
  /** A spin.toml, locked here (`lock` options: working directory, direct mounts). */
  | { manifestPath: string; lock?: LockManifestFileOptions }
  /** Anything else (a registry pull): called once, before anything starts. */
  | { loadApp: () => Promise<LockedApp> };

/** Options of {@link prepareApp} (and, with the listener's, of `runApp`). */
export type PrepareAppOptions = AppSource & {
  /** Where transpiled components are kept. @default a cache under the OS temp directory */
  cache?: Cache;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  /** Environment added to every component's (`--env`). */
  env?: Record<string, string>;
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /** Most worker threads, counting temporary ones for chained requests. @default twice `workers` */
  maxWorkers?: number;
  /** A guest running longer is stopped (the client gets 500); time spent queued does not count. @default no limit */
  requestTimeoutMs?: number;
  /** A request that waited this long for a free worker gets 503 with `Retry-After`. @default 10000 */
  queueTimeoutMs?: number;
  /** Bytes each guest memory may grow to (`max_instance_memory`). @default 268435456 (256 MiB: `DEFAULT_MAX_INSTANCE_MEMORY`) */
  maxInstanceMemory?: number;
  /**
   * Guests may write to their `files` mounts (Spin's `--allow-transient-write`): each mount is
   * copied for this run into a temporary directory, shared by every instance and removed on
   * close, so writes never reach the app's files and do not outlive the run. WAGI modules'
   * mounts stay read-only. @default false
   */
  allowTransientWrite?: boolean;
  /** Largest component source read at start (the CLI's `--max-source-size`). @default 536870912 (512 MiB) */
  maxSourceBytes?: number;
  /** Requests one instance may serve. @default 1 (a fresh instance per request) */
  instanceReuse?: number;
  /** Directory for `<component>_{stdout,stderr}.txt`; null keeps no logs. @default null */
  logDir?: string | null;
  /** Called with each chunk a guest writes to stdout or stderr (`spinel up --follow`, the runner's log). @default none */
  onGuestOutput?: ExecutorOptions['onGuestOutput'];
  /** Largest request header block (431 beyond). @default 16384 */
  maxHeaderBytes?: number;
  /** Largest request body (413 beyond). @default 64 MiB */
  maxBodyBytes?: number;
  /**
   * Serve HTTP from the worker threads themselves, not the main thread (the HTTP trigger's
   * `serveFromWorkers`: faster for small requests; bodies are read and sent whole). A host that
   * keeps its own listener and calls `handle()` is served from the main thread as before.
   * @default false
   */
  serveFromWorkers?: boolean;
  /** The app's state directory (`default` key-value store). @default none: temporary stores */
  stateDir?: string | undefined;
  /** Variable providers (`--variable`, `SPIN_VARIABLE_*`, `.env`). */
  variables?: AppCapabilitiesOptions['variables'];
  /** Key-value options besides the state directory (`--key-value` seeds, store definitions). */
  keyValue?: AppCapabilitiesOptions['keyValue'];
  /** The runtime config, read and checked (`readRuntimeConfig`). */
  runtimeConfig?: AppCapabilitiesOptions['runtimeConfig'];
  /** SQLite options: `--sqlite` statements run before serving, and where their `@file`s are read from. */
  sqlite?: AppCapabilitiesOptions['sqlite'];
  /** Capabilities besides the built-in ones (see the README, "Adding a host interface"). */
  capabilities?: readonly Capability[];
};

/** Counts of a prepared app, for metrics: cheap to read, monotonic totals since it started. */
export interface AppStats {
  /** Requests waiting for a free worker. */
  queued: number;
  /** Workers running a request now. */
  busyWorkers: number;
  /** Live workers, temporary ones included. */
  workers: number;
  /** Instances made, by component id (about one per request: each request gets a fresh one, made ahead). */
  instances: ReadonlyMap<string, number>;
  /** Key-value operations guests made, by store label and operation (only those made at least once). */
  keyValueOperations: KvOperationCount[];
}

/** An app ready to answer requests that a host's own listener hands over. */
export interface PreparedApp {
  readonly app: LockedApp;
  readonly trigger: HttpTrigger;
  /** The executor, or undefined when no route runs a component (static responses only). */
  readonly executor: WorkerExecutor | undefined;
  readonly capabilities: AppCapabilities;
  /** Answers a request received by the host's listener (see {@link HttpTrigger.handle}). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** How a path is routed, for metrics labels (see {@link HttpTrigger.routeOf}). */
  routeOf(path: string): RouteLabels | undefined;
  /** The listener's own origin (`http://127.0.0.1:3000`): the only target of `self` requests. Set it once the host listens. */
  setSelfOrigin(origin: string): void;
  /** The routes Spin lists at start-up. */
  routes(): AvailableRoute[];
  /** What Spin logs as errors at start-up (duplicate routes, reserved routes). */
  warnings(): string[];
  /** Spin's note on where the default key-value store is, when a component uses it. */
  readonly keyValueNote: string | undefined;
  /** Spin's note on where the default SQLite database is, when a component uses it. */
  readonly sqliteNote: string | undefined;
  /** Queue, workers, instances and key-value operations. */
  stats(): AppStats;
  /** Whether the app has Redis triggers (`[[trigger.redis]]`). */
  readonly hasRedisTriggers: boolean;
  /**
   * Subscribes the app's Redis triggers (one connection per server) and runs each message in a
   * fresh instance; resolves once every server is subscribed, with undefined for an app without
   * Redis triggers. Called once; `close()` unsubscribes first and waits for the messages being
   * handled.
   * @throws RedisTriggerError `RUNTIME_REDIS_INVALID_TRIGGER`, `RUNTIME_REDIS_CONNECT`; RuntimeError `RUNTIME_CLOSED` once closed
   */
  startRedis(options?: StartRedisOptions): Promise<RedisTrigger | undefined>;
  /** Stops the Redis subscriptions (if started), waits for requests being answered and messages being handled (up to `timeoutMs`, then cuts them), then closes the workers and the capabilities. */
  close(timeoutMs?: number): Promise<void>;
}

/** Options of {@link PreparedApp.startRedis}. */
export interface StartRedisOptions {
  /** How long start-up waits for each Redis server. @default 10000 */
  connectTimeoutMs?: number;
  /** Asked as each message arrives: false drops it (see `RedisTriggerOptions.accept`). @default every message is handled */
  accept?: RedisTriggerOptions['accept'];
  /** Called when a component is done with a message (`error` undefined on success). @default none */
  onHandled?: RedisTriggerOptions['onHandled'];
}

/**
 * Prepares an app: loads it (locking a manifest or calling `loadApp` when asked), sets up its
 * capabilities, starts the executor (every component is loaded, a bad one fails here), connects
 * service chaining and builds the trigger. Nothing listens. On failure everything started so
 * far is stopped before the error is thrown.
 * @throws ManifestError (from @spinel/manifest, when locking), the errors of `createAppCapabilities`, `createExecutor` and `createHttpTrigger` (`RUNTIME_*` codes)
 */
export async function prepareApp(options: PrepareAppOptions): Promise<PreparedApp> {
  const app = await loadApp(options);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const capabilities = await createAppCapabilities({
      app,
      ...(options.variables === undefined ? {} : { variables: options.variables }),
      stateDir: options.stateDir,
      keyValue: { stateDir: options.stateDir, ...options.keyValue },
      ...(options.runtimeConfig === undefined ? {} : { runtimeConfig: options.runtimeConfig }),
      ...(options.sqlite === undefined ? {} : { sqlite: options.sqlite }),
      ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
    });
    stops.push(() => capabilities.close());
    let served = app;
    if (options.allowTransientWrite === true && usesComponents(app)) {
      const copies = await mkdtemp(join(tmpdir(), 'spinel-transient-'));
      stops.push(() => rm(copies, { recursive: true, force: true }));
      served = await copyMountsForWriting(app, copies);
    }
    const executor = usesComponents(app)
      ? await createExecutor({
          app: served,
          capabilities,
          ...(options.allowTransientWrite === true ? { writableMounts: true } : {}),
          ...pick(options, ['cache', 'env', 'workers', 'maxWorkers', 'requestTimeoutMs', 'queueTimeoutMs', 'maxInstanceMemory', 'maxSourceBytes', 'instanceReuse', 'logDir', 'onGuestOutput']),
        })
      : undefined;
    if (executor !== undefined) {
      stops.push(() => executor.close());
      capabilities.setChainDispatch(createChainDispatch((id, request, opts) => executor.handle(id, request, opts)));
    }
    const trigger = createHttpTrigger({
      app,
      executor: executor ?? NO_EXECUTOR,
      ...pick(options, ['env', 'requestTimeoutMs', 'maxHeaderBytes', 'maxBodyBytes', 'tls', 'serveFromWorkers']),
    });
    const keyValue = capabilities.services.get('key-value') as KeyValueService | undefined;
    let closing: Promise<void> | undefined;
    let redis: Promise<RedisTrigger | undefined> | undefined;
    return {
      app,
      trigger,
      executor,
      capabilities,
      handle: (req, res) => trigger.handle(req, res),
      get inFlight() {
        return trigger.inFlight;
      },
      routeOf: (path) => trigger.routeOf(path),
      setSelfOrigin: (origin) => capabilities.setSelfOrigin(origin),
      routes: () => trigger.routes(),
      warnings: () => trigger.warnings(),
      keyValueNote: capabilities.keyValue.defaultStoreNote,
      sqliteNote: capabilities.sqlite.defaultDatabaseNote,
      stats(): AppStats {
        const pool = executor?.stats();
        return {
          queued: pool?.queued ?? 0,
          busyWorkers: pool?.busyWorkers ?? 0,
          workers: pool?.workers ?? 0,
          instances: pool?.instances ?? new Map(),
          keyValueOperations: keyValue?.operations() ?? [],
        };
      },
      hasRedisTriggers: hasRedisTriggers(app),
      startRedis(redisOptions: StartRedisOptions = {}): Promise<RedisTrigger | undefined> {
        if (closing !== undefined) return Promise.reject(new RuntimeError('RUNTIME_CLOSED', 'This app was closed; its Redis triggers cannot start.'));
        redis ??= !hasRedisTriggers(app)
          ? Promise.resolve(undefined)
          : startRedisTrigger({
              app,
              variables: capabilities.variables.values,
              // A Redis trigger names a component, so the app has an executor.
              dispatch: (componentId, payload) => (executor as WorkerExecutor).handleRedisMessage(componentId, payload),
              ...pick(redisOptions, ['connectTimeoutMs', 'accept', 'onHandled']),
            });
        return redis;
      },
      close(timeoutMs?: number): Promise<void> {
        closing ??= (async () => {
          const begun = Date.now();
          const left = (): number | undefined => (timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (Date.now() - begun)));
          try {
            // Stop taking work first (the subscriptions end, waiting for the messages being handled,
            // within the timeout: closing the workers below stops a handler still running), then drain the requests.
            const started = await redis?.catch(() => undefined);
            if (started !== undefined) await withinMs(started.close(), left());
          } finally {
            try {
              await trigger.close(left());
            } finally {
              await stopAll();
            }
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Waits for `work`, at most `ms` (no bound when undefined). */
async function withinMs(work: Promise<void>, ms: number | undefined): Promise<void> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function loadApp(source: AppSource): Promise<LockedApp> {
  if ('app' in source) return source.app;
  if ('manifestPath' in source) return lockManifestFile(source.manifestPath, source.lock);
  return source.loadApp();
}

/** Whether any trigger runs a component (an app of static responses needs no workers). */
function usesComponents(app: LockedApp): boolean {
  return app.triggers.some((t) => {
    const config = t.trigger_config;
    return config !== null && typeof config === 'object' && !Array.isArray(config) && typeof config['component'] === 'string';
  });
}

const noComponent = async (): Promise<never> => {
  throw new Error('This app has no components.');
};
const NO_EXECUTOR: Executor = { handle: noComponent, runWagi: noComponent, close: async () => undefined };

/** The options in `keys` that are set (exactOptionalPropertyTypes: absent, never `undefined`). */
export function pick<T extends object, K extends keyof T>(options: T, keys: readonly K[]): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const key of keys) {
    const value = options[key];
    if (value !== undefined) out[key] = value as Exclude<T[K], undefined>;
  }
  return out;
}
