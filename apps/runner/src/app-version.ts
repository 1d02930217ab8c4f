/**
 * One version of the app, prepared by the runtime's `prepareApp()` (its capabilities, its
 * executor with every component loaded and validated, its HTTP trigger, its Redis
 * subscriptions) and able to answer requests and messages. The runner's listener hands each
 * request to the version serving at that moment, so two versions can overlap during a switch:
 * the new one takes new requests while the old one finishes its own. Redis messages follow the
 * same switch: both versions are subscribed for a moment, and a message is handled by the one
 * serving when it arrives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import type { AppStats, PrepareAppOptions, PreparedApp, RedisTrigger, RuntimeConfig } from '@spinel/runtime';

/** Labels of a request for metrics: the component (empty for static responses and 404s) and the route pattern. */
export interface RouteLabels {
  component: string;
  route: string;
}

/** A prepared version of the app. */
export interface AppVersion {
  /** The app object the runtime was given: the runtime's events name it (`app`), so events tell versions apart. */
  readonly app: LockedApp;
  /** The digest it was pulled by; undefined for a local spin.toml. */
  readonly digest: string | undefined;
  /** Requests this version is handling now. */
  readonly inFlight: number;
  /** Spin's start-up route list and warnings (duplicate routes, reserved paths). */
  routeList(): Array<{ route: string; component: string }>;
  warnings(): string[];
  /** The metric labels of a request path (routing as the trigger does). */
  labelsFor(path: string): RouteLabels;
  /** Answers a request the runner's listener received. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The listener's own origin: the only target of `self` requests. */
  setSelfOrigin(origin: string): void;
  /** Queue, workers, instances made and key-value operations (the runtime's counts). */
  stats(): AppStats;
  /** The Redis channels subscribed, as Spin lists them (`host:port/channel: [ids]`); empty without Redis triggers. */
  redisChannels(): string[];
  /** Unsubscribes from Redis (no message is taken from now on) and waits for the messages being handled. */
  stopMessages(): Promise<void>;
  /** Unsubscribes from Redis and waits for the messages being handled, waits until in-flight requests finish (at most `timeoutMs`), then closes the executor and the stores. */
  retire(timeoutMs: number): Promise<void>;
}

/** Options of {@link prepareAppVersion}. */
export interface PrepareAppVersionOptions {
  app: LockedApp;
  digest: string | undefined;
  cache: Cache;
  /** Where SQLite stores live (kept across versions). */
  stateDir: string;
  /** `--variable` values. */
  variables: readonly string[];
  /** Searched for `SPIN_VARIABLE_<NAME>`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Base of `NAME=@FILE` variable paths. */
  cwd: string;
  /** The runtime config, read and checked. */
  runtimeConfig: RuntimeConfig | undefined;
  workers?: number;
  requestTimeoutMs?: number;
  maxInstanceMemory?: number;
  /** Called with each chunk a guest writes to stdout or stderr (the runner's log; no file is opened). */
  onGuestOutput: NonNullable<PrepareAppOptions['onGuestOutput']>;
  /** Whether this version serves now: a Redis message is handled only by the version serving when it arrives. */
  serving: (version: AppVersion) => boolean;
  /** Called when a component is done with a Redis message (`error` undefined on success). */
  onRedisHandled: (componentId: string, channel: string, error: unknown) => void;
}

const UNMATCHED: RouteLabels = { component: '', route: '' };
/** Request paths whose labels are kept (a bound: paths come from clients). */
const MAX_CACHED_PATHS = 512;

/**
 * Prepares a version with the runtime's `prepareApp()`: resolves its variables and stores,
 * loads and validates every component on the workers, builds its routes and subscribes its
 * Redis triggers (messages are dropped until `serving` says this version serves: the one
 * serving handles them). Nothing listens: the runner's listener hands requests over. Guest
 * stdout/stderr goes to the runner's log (no files). On failure everything it opened is closed.
 * @throws the runtime's `RUNTIME_*` errors (unsupported imports, a required variable without a value, an unknown store label, invalid routes, `RUNTIME_REDIS_CONNECT` for a Redis server that cannot be reached…)
 */
export async function prepareAppVersion(options: PrepareAppVersionOptions): Promise<AppVersion> {
  const runtime = await import('@spinel/runtime');
  const { parse } = await import('smol-toml');
  const prepared: PreparedApp = await runtime.prepareApp({
    app: options.app,
    cache: options.cache,
    stateDir: options.stateDir,
    variables: { flags: options.variables, env: options.env, cwd: options.cwd, parseToml: parse },
    keyValue: { seeds: [] },
    ...(options.runtimeConfig === undefined ? {} : { runtimeConfig: options.runtimeConfig }),
    logDir: null,
    onGuestOutput: options.onGuestOutput,
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.maxInstanceMemory === undefined ? {} : { maxInstanceMemory: options.maxInstanceMemory }),
  });
  // The runtime returns one object per route; ours is made from it once (read per request).
  const labels = new WeakMap<object, RouteLabels>();
  const byPath = new Map<string, RouteLabels>();
  let channels: string[] = [];
  let redis: RedisTrigger | undefined;
  const version: AppVersion = {
    app: prepared.app,
    digest: options.digest,
    get inFlight() {
      return prepared.inFlight;
    },
    routeList: () => prepared.routes().map((r) => ({ route: r.wildcard ? `${r.path === '/' ? '' : r.path}/...` : r.path, component: r.id })),
    warnings: () => prepared.warnings(),
    labelsFor(path) {
      // The trigger routed this path a moment ago: paths seen recently skip routing it again.
      const seen = byPath.get(path);
      if (seen !== undefined) return seen;
      const route = prepared.routeOf(path);
      let found = UNMATCHED;
      if (route !== undefined) {
        found = labels.get(route) ?? { component: route.componentId ?? '', route: route.route };
        labels.set(route, found);
      }
      // Paths come from clients: the cache is bounded (count and length), emptied when full.
      if (path.length > 256) return found;
      if (byPath.size >= MAX_CACHED_PATHS) byPath.clear();
      byPath.set(path, found);
      return found;
    },
    handle: (req, res) => prepared.handle(req, res),
    setSelfOrigin: (origin) => prepared.setSelfOrigin(origin),
    stats: () => prepared.stats(),
    redisChannels: () => channels,
    stopMessages: async () => redis?.close(),
    retire: (timeoutMs) => prepared.close(timeoutMs),
  };
  try {
    redis = await prepared.startRedis({ accept: () => options.serving(version), onHandled: options.onRedisHandled });
    // `display` is host:port, never the address's credentials.
    if (redis !== undefined) channels = redis.servers.flatMap((server) => [...server.channels].map(([channel, ids]) => `${server.display}/${channel}: [${ids.join(',')}]`));
  } catch (err) {
    await prepared.close(0).catch(() => undefined);
    throw err;
  }
  return version;
}
