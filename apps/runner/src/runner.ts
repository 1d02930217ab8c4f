/**
 * The runner: pulls the app, verifies and prepares it, serves it, follows its tag and
 * drains on the way out. `createRunner(deps)` only builds; `start()` does the I/O.
 *
 * States, as `/readyz` reports them: loading (503, retrying with backoff while the registry
 * is unreachable) → serving (200) → draining (503) → stopped. While serving, a new digest of
 * the tag is pulled and prepared beside the running version and switched in only once it is
 * ready; a version that fails is logged and never serves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Cache } from '@spinel/cache';
import { ADMIN_PATHS, createAdminServer, type Readiness } from './admin-server.js';
import { createAppListener, type AppListener } from './app-listener.js';
import { openAppSource, type AppSource, type LoadedApp } from './app-source.js';
import { prepareAppVersion, type AppVersion } from './app-version.js';
import type { RunnerConfig } from './config.js';
import { errorCode, RunnerError } from './errors.js';
import type { Logger } from './logger.js';
import { createRunnerMetrics, type RunnerMetrics } from './metrics.js';
import type { RuntimeConfig } from '@spinel/runtime';
import { reportRuntime, type RuntimeReporting } from './runtime-events.js';

/** What {@link createRunner} is built from. */
export interface RunnerDeps {
  config: RunnerConfig;
  logger: Logger;
  /** Credential locations (`DOCKER_CONFIG`, `HOME`, `XDG_CONFIG_HOME`) and `SPIN_VARIABLE_*`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Base of relative paths in the configuration. */
  cwd: string;
  /** @default fresh metrics with process metrics */
  metrics?: RunnerMetrics;
  /** Start-up retry backoff: first delay and cap. @default { initialMs: 1000, maxMs: 30000 } */
  retry?: { initialMs: number; maxMs: number };
}

/** A runner. */
export interface Runner {
  /**
   * Binds the admin listener and starts loading the app in the background (retrying while the
   * registry cannot be reached); resolves once the admin listener is up.
   * @throws {RunnerError} `RUNNER_RUNTIME_CONFIG`, `RUNNER_LISTEN`; the manifest's and oci's errors for a `--from` that cannot be opened
   */
  start(): Promise<void>;
  /** Resolves when the first version serves; rejects if the runner fails or stops first. */
  serving(): Promise<void>;
  /** Resolves with the error that stops the runner for good (a local app that cannot load, a port that cannot be bound). */
  readonly failure: Promise<Error>;
  readiness(): Readiness;
  /** `http://host:port` of the admin listener, once started. */
  readonly adminUrl: string | undefined;
  /** `http://host:port` of the app listener, once serving. */
  readonly appUrl: string | undefined;
  /** Checks the tag now (or re-reads a local spin.toml) and switches if it changed (SIGHUP). */
  checkNow(): Promise<void>;
  /** Fails readiness, drains in-flight requests (up to `--shutdown-timeout`), closes everything. */
  stop(): Promise<void>;
  readonly metrics: RunnerMetrics;
}

interface Served {
  version: AppVersion;
  workDir: string;
}

/** Builds a runner; no side effects until {@link Runner.start}. */
export function createRunner(deps: RunnerDeps): Runner {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? createRunnerMetrics();
  const retry = deps.retry ?? { initialMs: 1000, maxMs: 30_000 };
  let phase: 'idle' | 'loading' | 'serving' | 'draining' | 'stopped' = 'idle';
  let detail = 'not started';
  let adminServer: Server | undefined;
  let adminUrl: string | undefined;
  let appUrl: string | undefined;
  let listener: AppListener | undefined;
  let source: AppSource | undefined;
  let cache: Cache | undefined;
  let stateDir = '';
  let ownedStateDir: string | undefined;
  let runtimeConfig: RuntimeConfig | undefined;
  let served: Served | undefined;
  const retiring = new Set<Promise<void>>();
  const stopController = new AbortController();
  let watchTimer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;
  /** Digests that failed to prepare for a reason a retry will not fix. */
  const brokenDigests = new Map<string, string>();
  let reporting: RuntimeReporting | undefined;

  let fail!: (err: Error) => void;
  const failure = new Promise<Error>((resolveFailure) => (fail = resolveFailure));
  let servingResolve!: () => void;
  let servingReject!: (err: Error) => void;
  const servingPromise = new Promise<void>((res, rej) => {
    servingResolve = res;
    servingReject = rej;
  });
  servingPromise.catch(() => undefined);
  void failure.then((err) => servingReject(err));

  const setReady = (ready: boolean): void => {
    metrics.ready.set(ready ? 1 : 0);
  };

  async function prepare(digest: string | undefined): Promise<Served> {
    if (source === undefined || cache === undefined) throw new RunnerError('RUNNER_STOPPED', 'The runner was not started.');
    const workDir = await mkdtemp(join(tmpdir(), 'spinel-runner-app-'));
    try {
      let loaded = await load(digest, workDir);
      let version: AppVersion;
      try {
        version = await prepareVersion(loaded);
      } catch (err) {
        // A cached blob that no longer matches its digest was refused (and removed) before it
        // ran, as `spinel up` does: pull the version again once (the registry's copy is checked
        // against the digest on the way in) and prepare that; a second refusal fails the version.
        if (errorCode(err) !== 'RUNTIME_COMPONENT_INTEGRITY') throw err;
        metrics.cacheIntegrityFailures.inc();
        logger.warn('app.cache_corrupt', `${(err as Error).message.split('; it was not run')[0]}; pulling ${loaded.digest ?? source.display} again.`, { digest: loaded.digest, code: 'RUNTIME_COMPONENT_INTEGRITY' });
        const { removeCorruptBlobs } = await import('@spinel/cache');
        await removeCorruptBlobs(cache, loaded.app.components.map((c) => c.source.source));
        loaded = await load(loaded.digest ?? digest, workDir);
        version = await prepareVersion(loaded);
      }
      reporting?.add(version);
      for (const warning of version.warnings()) logger.warn('app.warning', warning, { digest: loaded.digest });
      return { version, workDir };
    } catch (err) {
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Pulls (or reads) a version into `workDir`, counting and logging the pull. */
  async function load(digest: string | undefined, workDir: string): Promise<LoadedApp> {
    if (source === undefined) throw new RunnerError('RUNNER_STOPPED', 'The runner was not started.');
    const loaded = await source.load(digest, workDir, stopController.signal);
    metrics.pulls.labels('ok').inc();
    metrics.pullBlobs.labels('cached').inc(loaded.blobs.cached);
    metrics.pullBlobs.labels('downloaded').inc(loaded.blobs.downloaded);
    if (source.kind !== 'manifest') {
      logger.info('app.pulled', `Pulled ${source.display} (${loaded.blobs.downloaded} blobs downloaded, ${loaded.blobs.cached} from the cache)`, {
        digest: loaded.digest,
        downloaded: loaded.blobs.downloaded,
        cached: loaded.blobs.cached,
      });
    }
    return loaded;
  }

  function prepareVersion(loaded: LoadedApp): Promise<AppVersion> {
    if (cache === undefined) throw new RunnerError('RUNNER_STOPPED', 'The runner was not started.');
    return prepareAppVersion({
      app: loaded.app,
      digest: loaded.digest,
      cache,
      stateDir,
      variables: config.variables,
      env: deps.env,
      cwd: deps.cwd,
      runtimeConfig,
      onGuestOutput: reporting?.guestOutput(loaded.digest) ?? (() => undefined),
      // The switch of the listener is the switch of Redis messages too.
      serving: (version) => listener?.current === version,
      onRedisHandled: reporting?.redisHandled(loaded.digest) ?? (() => undefined),
      ...(config.workers === undefined ? {} : { workers: config.workers }),
      ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
      ...(config.maxInstanceMemory === undefined ? {} : { maxInstanceMemory: config.maxInstanceMemory }),
    });
  }

  function describeVersion(s: Served): string {
    return s.version.digest ?? source?.display ?? 'the app';
  }

  async function loadFirst(): Promise<void> {
    let delay = retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      if (stopController.signal.aborted) return;
      detail = `loading ${source?.display ?? config.from} (attempt ${attempt})`;
      try {
        const digest = await source?.currentDigest(stopController.signal);
        served = await prepare(digest);
        break;
      } catch (err) {
        if (stopController.signal.aborted) return;
        metrics.pulls.labels('failed').inc();
        metrics.prepareFailures.inc();
        const code = errorCode(err);
        if (source?.kind === 'manifest') {
          // A local app will not change by waiting: say why and stop.
          throw err;
        }
        logger.error('app.load_failed', `Cannot load ${source?.display ?? config.from}: ${(err as Error).message} Retrying in ${Math.round(delay / 100) / 10}s; not ready until it loads.`, {
          code,
          attempt,
          retry_in_ms: delay,
        });
        detail = `cannot load ${source?.display ?? config.from} (${code}); retrying`;
        await abortableSleep(delay + Math.floor(Math.random() * (delay / 4)), stopController.signal);
        delay = Math.min(retry.maxMs, delay * 2);
      }
    }
    const first = served;
    if (first === undefined || listener === undefined) return;
    try {
      appUrl = await listener.listen(config.listen);
    } catch (err) {
      await retire(first, 0);
      throw err;
    }
    first.version.setSelfOrigin(appUrl);
    listener.switchTo(first.version);
    metrics.appInfo.labels(first.version.digest ?? '', source?.display ?? '').set(1);
    phase = 'serving';
    detail = `serving ${describeVersion(first)}`;
    setReady(true);
    logger.info('app.serving', `Serving ${source?.display ?? config.from} on ${appUrl}`, {
      digest: first.version.digest,
      url: appUrl,
      routes: first.version
        .routeList()
        .map((r) => `${r.route}${r.component === '' ? '' : ` -> ${r.component}`}`)
        .join(', '),
      redis_channels: redisChannels(first.version),
    });
    servingResolve();
    scheduleWatch();
  }

  function scheduleWatch(): void {
    if (config.watchIntervalMs <= 0 || source?.followsTag !== true || phase !== 'serving') return;
    watchTimer = setTimeout(() => {
      watchTimer = undefined;
      void check().finally(scheduleWatch);
    }, config.watchIntervalMs);
    watchTimer.unref();
  }

  function check(): Promise<void> {
    checking ??= (async () => {
      try {
        await checkOnce();
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  }

  async function checkOnce(): Promise<void> {
    if (phase !== 'serving' || source === undefined || served === undefined) return;
    let digest: string | undefined;
    if (source.kind !== 'manifest') {
      try {
        digest = await source.currentDigest(stopController.signal);
      } catch (err) {
        if (stopController.signal.aborted) return;
        metrics.registryChecks.labels('failed').inc();
        logger.warn('registry.unreachable', `Cannot check ${source.display} for a new version: ${(err as Error).message} Still serving ${describeVersion(served)}.`, {
          code: errorCode(err),
        });
        return;
      }
      if (digest === served.version.digest) {
        metrics.registryChecks.labels('unchanged').inc();
        return;
      }
      metrics.registryChecks.labels('changed').inc();
      const broken = brokenDigests.get(digest ?? '');
      if (broken !== undefined) return;
      logger.info('app.update_found', `${source.display} now points at ${digest}; preparing it beside the serving version.`, { digest, previous: served.version.digest });
    }
    let next: Served;
    try {
      next = await prepare(digest);
    } catch (err) {
      if (stopController.signal.aborted) return;
      metrics.pulls.labels('failed').inc();
      metrics.prepareFailures.inc();
      const code = errorCode(err);
      // A network failure may pass; content that does not verify or prepare will not.
      if (digest !== undefined && !TRANSIENT_CODES.has(code)) brokenDigests.set(digest, code);
      logger.error('app.update_failed', `The new version of ${source.display} was not put in service: ${(err as Error).message} Still serving ${describeVersion(served)}.`, {
        code,
        digest,
      });
      return;
    }
    if (phase !== 'serving' || listener === undefined || appUrl === undefined) {
      await retire(next, 0);
      return;
    }
    next.version.setSelfOrigin(appUrl);
    const old = served;
    listener.switchTo(next.version);
    served = next;
    metrics.switches.inc();
    metrics.appInfo.reset();
    metrics.appInfo.labels(next.version.digest ?? '', source.display).set(1);
    detail = `serving ${describeVersion(next)}`;
    logger.info('app.switched', `Switched to ${describeVersion(next)}; draining ${describeVersion(old)}.`, {
      digest: next.version.digest,
      previous: old.version.digest,
      old_in_flight: old.version.inFlight,
      redis_channels: redisChannels(next.version),
    });
    retireInBackground(old);
  }

  /** Drains a version (up to `timeoutMs`), closes it, takes its last counts and removes its files. */
  async function retire(old: Served, timeoutMs: number): Promise<void> {
    await old.version.retire(timeoutMs).catch(() => undefined);
    reporting?.remove(old.version);
    await rm(old.workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  function retireInBackground(old: Served): void {
    const started = Date.now();
    const done = (async () => {
      await retire(old, config.shutdownTimeoutMs);
      logger.info('app.drained', `Drained and closed ${old.version.digest ?? 'the previous version'}.`, { digest: old.version.digest, took_ms: Date.now() - started });
    })();
    retiring.add(done);
    void done.finally(() => retiring.delete(done));
  }

  const runner: Runner = {
    metrics,
    failure,
    get adminUrl() {
      return adminUrl;
    },
    get appUrl() {
      return appUrl;
    },
    readiness: () => ({ ready: phase === 'serving', detail }),
    serving: () => servingPromise,

    async start() {
      if (phase !== 'idle') throw new RunnerError('RUNNER_STOPPED', 'This runner was already started; create a new one.');
      phase = 'loading';
      detail = 'starting';
      setReady(false);
      const { openCache, defaultCacheRoot } = await import('@spinel/cache');
      const cacheRoot = config.cacheDir === undefined ? defaultCacheRoot() : resolve(deps.cwd, config.cacheDir);
      cache = openCache({ root: cacheRoot });
      if (config.stateDir !== undefined) {
        stateDir = resolve(deps.cwd, config.stateDir);
      } else {
        // One directory for the process, so the default store outlives a switch of versions.
        ownedStateDir = await mkdtemp(join(tmpdir(), 'spinel-runner-state-'));
        stateDir = ownedStateDir;
      }
      if (config.runtimeConfigFile !== undefined) runtimeConfig = await readRuntimeConfig(resolve(deps.cwd, config.runtimeConfigFile), deps.cwd);
      reporting = reportRuntime(await import('@spinel/runtime'), metrics, logger);
      source = await openAppSource(config.from, { cwd: deps.cwd, env: deps.env, insecure: config.insecure, cache });
      listener = createAppListener({ metrics, logger, logRequests: config.logRequests });

      adminServer = createAdminServer({ readiness: () => runner.readiness(), registry: metrics.registry });
      adminUrl = await listenAdmin(adminServer, config.adminListen);
      logger.info('runner.started', `Admin endpoints on ${adminUrl} (${Object.values(ADMIN_PATHS).join(', ')}); loading ${source.display}.`, {
        admin_url: adminUrl,
        app: source.display,
        cache_dir: cacheRoot,
        state_dir: config.stateDir === undefined ? undefined : stateDir,
        watch_interval_ms: config.watchIntervalMs,
      });
      if (config.stateDir === undefined) {
        logger.info('runner.state', 'No --state-dir: SQLite key-value stores live in a temporary directory for this process only. Use Redis stores in the runtime config for state that replicas share.');
      }
      loadFirst().catch((err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        logger.error('runner.failed', `Cannot serve ${source?.display ?? config.from}: ${error.message}`, { code: errorCode(err) });
        fail(error);
      });
    },

    checkNow() {
      if (phase !== 'serving') return Promise.resolve();
      return check();
    },

    async stop() {
      if (phase === 'stopped' || phase === 'draining') return;
      const wasServing = phase === 'serving';
      phase = 'draining';
      detail = 'draining';
      setReady(false);
      stopController.abort();
      if (watchTimer !== undefined) clearTimeout(watchTimer);
      servingReject(new RunnerError('RUNNER_STOPPED', 'The runner stopped before the app was served.'));
      const started = Date.now();
      logger.info('runner.draining', `Draining: no new connections; in-flight requests get up to ${config.shutdownTimeoutMs} ms.`, { in_flight: listener?.inFlight ?? 0 });
      // Stop taking Redis messages as the listener stops accepting; those being handled finish
      // (retiring the version below waits for them, within the timeout).
      void served?.version.stopMessages().catch(() => undefined);
      if (wasServing && listener !== undefined) await listener.drain(config.shutdownTimeoutMs);
      await checking?.catch(() => undefined);
      const remaining = Math.max(0, config.shutdownTimeoutMs - (Date.now() - started));
      if (served !== undefined) await retire(served, remaining);
      await Promise.all([...retiring]);
      if (listener?.server.listening === true) await new Promise<void>((r) => listener?.server.close(() => r()));
      await source?.close().catch(() => undefined);
      if (adminServer !== undefined) {
        adminServer.closeAllConnections();
        await new Promise<void>((r) => adminServer?.close(() => r()));
      }
      reporting?.close();
      if (ownedStateDir !== undefined) await rm(ownedStateDir, { recursive: true, force: true }).catch(() => undefined);
      phase = 'stopped';
      detail = 'stopped';
      logger.info('runner.stopped', `Stopped after draining for ${Date.now() - started} ms.`, { took_ms: Date.now() - started });
    },
  };
  return runner;
}

/** The Redis channels a version is subscribed to, for its log line; undefined without any. */
function redisChannels(version: AppVersion): string | undefined {
  const channels = version.redisChannels();
  return channels.length === 0 ? undefined : channels.join(', ');
}

/** Codes a later attempt may not see again: the registry or the network, not the content. */
const TRANSIENT_CODES = new Set(['OCI_NETWORK', 'OCI_REGISTRY_ERROR', 'OCI_UNAUTHORIZED', 'OCI_DENIED', 'OCI_AUTH_FAILED', 'OCI_MANIFEST_UNKNOWN', 'OCI_BLOB_UNKNOWN', 'CACHE_IO', 'UNKNOWN']);

/** The runtime config, checked as strictly as Spin does (unknown keys and wrong types refused with their line). */
async function readRuntimeConfig(file: string, cwd: string): Promise<RuntimeConfig> {
  const runtime = await import('@spinel/runtime');
  try {
    return await runtime.readRuntimeConfig(file, { cwd });
  } catch (err) {
    const reason = (err as Error).message;
    throw new RunnerError('RUNNER_RUNTIME_CONFIG', `${reason}${/start again/.test(reason) ? '' : '.'} Check --runtime-config-file (SPINEL_RUNTIME_CONFIG_FILE).`, { cause: err });
  }
}

async function listenAdmin(server: Server, address: string): Promise<string> {
  const { parseListenAddress, resolveListenHost } = await import('@spinel/runtime');
  const parsed = parseListenAddress(address);
  const host = await resolveListenHost(parsed.host);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err) => reject(new RunnerError('RUNNER_LISTEN', `Cannot listen on ${address} for the admin endpoints: ${err.message}. Choose another --admin-listen address.`, { cause: err })));
    server.listen({ host, port: parsed.port, exclusive: true }, () => resolveListen());
  });
  const bound = server.address() as AddressInfo;
  return `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal.aborted) return resolveSleep();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
