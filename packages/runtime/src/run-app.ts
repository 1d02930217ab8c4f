/**
 * `runApp()`: the one call that runs an app — its capabilities, the executor and its workers,
 * service chaining, the self origin, the HTTP trigger listening — and stops it again in order.
 * It is `prepareApp()` (prepare-app.ts) plus the listener. `spinel up` calls it; spinel-runner,
 * which keeps its own listener, calls `prepareApp()`. They only add flags, signals and rendering.
 */
import { pick, prepareApp, type AppStats, type PrepareAppOptions } from './prepare-app.js';
import type { AppCapabilities } from './services/app-capabilities.js';
import type { WorkerExecutor } from './pool/create-executor.js';
import type { HttpTrigger } from './trigger/http-server.js';
import type { RedisTrigger } from './trigger/redis/redis-trigger.js';
import type { OutputFormat } from './trigger/startup-output.js';
import type { LockedApp } from '@spinel/manifest';

export type { AppSource } from './prepare-app.js';

/** Options of {@link runApp}: {@link prepareApp}'s and the listener's. */
export type RunAppOptions = PrepareAppOptions & {
  /** `host:port`. @default "127.0.0.1:3000" */
  listen?: string;
  /** On EADDRINUSE try the next ports. @default false */
  findFreePort?: boolean;
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
  /** Queue, workers, instances and key-value operations (see `PreparedApp.stats`). */
  stats(): AppStats;
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
  const prepared = await prepareApp(options);
  try {
    const { app } = prepared;
    // Spin runs one trigger per type it finds; an app of Redis triggers alone listens on no port.
    const listens = !prepared.hasRedisTriggers || app.triggers.some((t) => t.trigger_type === 'http');
    const trigger = listens ? prepared.trigger : undefined;
    const baseUrl = trigger === undefined ? '' : await trigger.listen({ ...pick(options, ['listen', 'findFreePort']) });
    // `self` requests go to the listener's own address, never to one taken from a Host header.
    if (trigger !== undefined) prepared.setSelfOrigin(baseUrl);
    const started = await prepared.startRedis(options.redisConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.redisConnectTimeoutMs });
    return {
      app,
      baseUrl,
      trigger,
      redis: started,
      executor: prepared.executor,
      capabilities: prepared.capabilities,
      startupText: (format) => {
        const http = trigger?.startupText(format) ?? '';
        return format === 'json' ? http : http + (started?.startupText() ?? '');
      },
      warnings: () => (trigger === undefined ? [] : prepared.warnings()),
      keyValueNote: prepared.keyValueNote,
      sqliteNote: prepared.sqliteNote,
      stats: () => prepared.stats(),
      // The subscriptions end first (waiting for the messages being handled), the listener drains, then the rest.
      close: (timeoutMs?: number) => prepared.close(timeoutMs),
    };
  } catch (err) {
    await prepared.close(0);
    throw err;
  }
}
