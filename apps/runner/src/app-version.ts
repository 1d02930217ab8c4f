/**
 * One version of the app, prepared and able to answer requests: its capabilities (variables,
 * key-value stores, outbound HTTP), its executor (components loaded and validated, workers
 * started) and its HTTP trigger. The runner's listener hands each request to the version
 * serving at that moment, so two versions can overlap during a switch: the new one takes new
 * requests while the old one finishes its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import type { HttpTrigger } from '@spinel/runtime';
import type { RuntimeConfig } from '@spinel/runtime';

/** Labels of a request for metrics: the component (empty for static responses and 404s) and the route pattern. */
export interface RouteLabels {
  component: string;
  route: string;
}

/** A prepared version of the app. */
export interface AppVersion {
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
  /** Waits until in-flight requests finish (at most `timeoutMs`), then closes the executor and the stores. */
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
}

const UNMATCHED: RouteLabels = { component: '', route: '' };
const WELL_KNOWN: RouteLabels = { component: '', route: '/.well-known/spin/...' };

/**
 * Prepares a version: resolves its variables and stores, loads and validates every component
 * on the workers, builds its routes. Nothing listens yet. On failure everything it opened is closed.
 * @throws the runtime's `RUNTIME_*` errors (unsupported imports, a required variable without a value, an unknown store label, invalid routes…)
 */
export async function prepareAppVersion(options: PrepareAppVersionOptions): Promise<AppVersion> {
  const runtime = await import('@spinel/runtime');
  const { parse } = await import('smol-toml');
  const { app } = options;
  const capabilities = await runtime.createAppCapabilities({
    app,
    variables: { flags: options.variables, env: options.env, cwd: options.cwd, parseToml: parse },
    keyValue: { stateDir: options.stateDir, seeds: [] },
    ...(options.runtimeConfig === undefined ? {} : { runtimeConfig: options.runtimeConfig }),
  });
  let executor: Awaited<ReturnType<typeof runtime.createExecutor>> | undefined;
  let trigger: HttpTrigger;
  try {
    executor = await runtime.createExecutor({
      app,
      cache: options.cache,
      capabilities,
      logDir: null,
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.maxInstanceMemory === undefined ? {} : { maxInstanceMemory: options.maxInstanceMemory }),
    });
    const exec = executor;
    capabilities.setChainDispatch(runtime.createChainDispatch((id, request, opts) => exec.handle(id, request, opts)));
    trigger = runtime.createHttpTrigger({
      app,
      executor,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
  } catch (err) {
    await executor?.close().catch(() => undefined);
    await capabilities.close().catch(() => undefined);
    throw err;
  }

  const router = runtime.Router.build(
    runtime.readHttpTriggers(app).map((entry) => ({
      id: entry.id,
      route: entry.route,
      value: { component: entry.handler.kind === 'static' ? '' : entry.handler.componentId, route: typeof entry.route === 'string' ? entry.route : '' },
    })),
  );
  const executorRef = executor;
  // The trigger's own server never listens: requests reach its handler from the runner's
  // listener, which is how one port serves two versions during a switch.
  const dispatch = trigger.server;
  let retiring: Promise<void> | undefined;
  return {
    app,
    digest: options.digest,
    get inFlight() {
      return trigger.inFlight;
    },
    routeList: () => trigger.routes().map((r) => ({ route: r.wildcard ? `${r.path === '/' ? '' : r.path}/...` : r.path, component: r.id })),
    warnings: () => trigger.warnings(),
    labelsFor(path) {
      if (path.startsWith(runtime.WELL_KNOWN_PREFIX)) return WELL_KNOWN;
      return router.route(path)?.value ?? UNMATCHED;
    },
    handle(req, res) {
      dispatch.emit('request', req, res);
    },
    setSelfOrigin(origin) {
      capabilities.setSelfOrigin(origin);
      (executorRef as { setSelfOrigin?: (o: string) => void }).setSelfOrigin?.(origin);
    },
    retire(timeoutMs) {
      retiring ??= (async () => {
        try {
          await trigger.close(timeoutMs);
        } finally {
          await executorRef.close().catch(() => undefined);
          await capabilities.close().catch(() => undefined);
        }
      })();
      return retiring;
    },
  };
}
