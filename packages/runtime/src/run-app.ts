/**
 * `runApp()`: the one call that runs an app — its capabilities, the executor and its workers,
 * service chaining, the self origin, the HTTP trigger listening — and stops it again in order.
 * `spinel up` and the runner call it; they only add flags, signals and rendering.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cache } from '@spinel/cache';
import { lockManifestFile, type LockedApp, type LockManifestFileOptions } from '@spinel/manifest';
import type { Capability } from './capability.js';
import { createExecutor, type ExecutorOptions, type WorkerExecutor } from './pool/create-executor.js';
import { copyMountsForWriting } from './prepare/transient-mounts.js';
import type { Executor } from './pool/executor-types.js';
import { createAppCapabilities, type AppCapabilities, type AppCapabilitiesOptions } from './services/app-capabilities.js';
import { createChainDispatch } from './services/chain-dispatch.js';
import { createHttpTrigger, type HttpTrigger } from './trigger/http-server.js';
import { hasRedisTriggers, startRedisTrigger, type RedisTrigger } from './trigger/redis/redis-trigger.js';
import type { OutputFormat } from './trigger/startup-output.js';

/** Where the app comes from: exactly one of these. */
export type AppSource =
  | { app: LockedApp }
  /** A spin.toml, locked here (`lock` options: working directory, direct mounts). */
  | { manifestPath: string; lock?: LockManifestFileOptions }
  /** Anything else (a registry pull): called once, before anything starts. */
  | { loadApp: () => Promise<LockedApp> };

/** Options of {@link runApp}. */
export type RunAppOptions = AppSource & {
  /** Where transpiled components are kept. @default a cache under the OS temp directory */
  cache?: Cache;
  /** `host:port`. @default "127.0.0.1:3000" */
  listen?: string;
  /** On EADDRINUSE try the next ports. @default false */
  findFreePort?: boolean;
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
  /** Bytes each guest memory may grow to. @default no limit */
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
  /** Called with each chunk a guest writes to stdout or stderr (`spinel up --follow`). @default none */
  onGuestOutput?: ExecutorOptions['onGuestOutput'];
  /** Largest request header block (431 beyond). @default 16384 */
  maxHeaderBytes?: number;
  /** Largest request body (413 beyond). @default 64 MiB */
  maxBodyBytes?: number;
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
  /** How long start-up waits for each Redis server a Redis trigger names. @default 10000 */
  redisConnectTimeoutMs?: number;
};

/** An app being served by {@link runApp}. */
export interface RunningApp {
  readonly app: LockedApp;
  /** `http://127.0.0.1:3000` (the bound address; the real port when 0 was asked); `''` for an app without HTTP triggers. */
  readonly baseUrl: string;
  /** The HTTP trigger; undefined for an app without HTTP triggers (nothing listens, as in Spin). */
  readonly trigger: HttpTrigger | undefined;
  /** The Redis trigger, when the app has Redis triggers. */
  readonly redis: RedisTrigger | undefined;
  /** The executor, or undefined when no route runs a component (static responses only). */
  readonly executor: WorkerExecutor | undefined;
  readonly capabilities: AppCapabilities;
  /** Spin's start-up text (`Serving …`, `Available Routes:`, then `Active Channels on …` for Redis), or the HTTP trigger's JSON form. */
  startupText(format?: OutputFormat): string;
  /** What Spin logs as errors at start-up (duplicate routes, reserved routes). */
  warnings(): string[];
  /** Spin's note on where the default key-value store is, when a component uses it. */
  readonly keyValueNote: string | undefined;
  /** Spin's note on where the default SQLite database is, when a component uses it. */
  readonly sqliteNote: string | undefined;
  /** Stops accepting, drains in-flight requests (up to `timeoutMs`), then closes the workers and the capabilities. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Runs an app: loads it (locking a manifest or calling `loadApp` when asked), sets up its
 * capabilities, starts the executor (every component is loaded, a bad one fails the start),
 * connects service chaining, and listens; the self origin is the bound address. On failure
 * everything started so far is stopped before the error is thrown.
 * @throws ManifestError (from @spinel/manifest, when locking), the errors of `createAppCapabilities`, `createExecutor`, `createHttpTrigger` and listening (`RUNTIME_*` codes)
 */
export async function runApp(options: RunAppOptions): Promise<RunningApp> {
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
    // Spin runs one trigger per type it finds; an app of Redis triggers alone listens on no port.
    const trigger = hasRedisTriggers(app) && !app.triggers.some((t) => t.trigger_type === 'http')
      ? undefined
      : createHttpTrigger({
          app,
          executor: executor ?? NO_EXECUTOR,
          ...pick(options, ['env', 'requestTimeoutMs', 'maxHeaderBytes', 'maxBodyBytes', 'tls']),
        });
    const baseUrl = trigger === undefined ? '' : await trigger.listen({ ...pick(options, ['listen', 'findFreePort']) });
    let httpClosing: Promise<void> | undefined;
    const closeHttp = (timeoutMs?: number): Promise<void> => (httpClosing ??= trigger?.close(timeoutMs) ?? Promise.resolve());
    if (trigger !== undefined) {
      stops.push(() => closeHttp());
      // `self` requests go to the listener's own address, never to one taken from a Host header.
      capabilities.setSelfOrigin(baseUrl);
    }
    let redis: RedisTrigger | undefined;
    if (hasRedisTriggers(app)) {
      // A Redis trigger names a component, so the app has an executor.
      const handler = executor as WorkerExecutor;
      redis = await startRedisTrigger({
        app,
        variables: capabilities.variables.values,
        dispatch: (componentId, payload) => handler.handleRedisMessage(componentId, payload),
        ...(options.redisConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.redisConnectTimeoutMs }),
      });
      const started = redis;
      stops.push(() => started.close());
    }
    let closing: Promise<void> | undefined;
    return {
      app,
      baseUrl,
      trigger,
      redis,
      executor,
      capabilities,
      startupText: (format) => {
        const http = trigger?.startupText(format) ?? '';
        return format === 'json' ? http : http + (redis?.startupText() ?? '');
      },
      warnings: () => trigger?.warnings() ?? [],
      keyValueNote: capabilities.keyValue.defaultStoreNote,
      sqliteNote: capabilities.sqlite.defaultDatabaseNote,
      close(timeoutMs?: number): Promise<void> {
        closing ??= (async () => {
          try {
            // Stop taking work first (the listener drains its requests, the subscriptions end), then the rest.
            await redis?.close();
            await closeHttp(timeoutMs);
          } finally {
            await stopAll();
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
function pick<T extends object, K extends keyof T>(options: T, keys: readonly K[]): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const key of keys) {
    const value = options[key];
    if (value !== undefined) out[key] = value as Exclude<T[K], undefined>;
  }
  return out;
}
