import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import type { LockedApp } from '@spinel/manifest';
import { cacheDirFlag, SpinelCommand } from '../../base-command.js';
import { cacheRoot, openTargetFromFlags } from '../registry/app-flags.js';
import { maxFileSizeFlag, maxSourceSizeFlag, sizeLimits } from '../../size-limit-flags.js';
import { sourceResolvers } from '../../source-resolvers.js';
import { parseDuration, parseEnvPair, resolveAppSource, wasmApp } from './app-source.js';
import { applyParityFlags, parityFlags } from './parity-flags.js';

/** What `spinel up` does once serving stops. */
export interface UpResult {
  baseUrl: string;
}

export class Up extends SpinelCommand {
  static override summary = 'Serve a Spin app\'s HTTP routes from its Wasm components.';
  static override description =
    'Runs a Spin app: a local spin.toml (or the directory holding it), a bare .wasm component (served on /...), or an app in a registry. Each request gets a fresh, sandboxed instance. Stop it with Ctrl-C: in-flight requests finish first.';
  static override enableJsonFlag = false;
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up -f examples/hello --listen 127.0.0.1:8080',
    '<%= config.bin %> up -f ghcr.io/me/app:1.0',
    '<%= config.bin %> up -f component.wasm --format json',
  ];

  static override flags = {
    from: Flags.string({ char: 'f', aliases: ['file', 'from-file', 'from-registry'], description: 'The app: a spin.toml, a directory containing one, a registry reference, or a .wasm file. Default: spin.toml in this directory or a parent.' }),
    listen: Flags.string({ description: 'Address to listen on.', default: '127.0.0.1:3000', env: 'SPIN_HTTP_LISTEN_ADDR' }),
    'find-free-port': Flags.boolean({ description: 'If the port is in use, try the next ones.', default: false }),
    env: Flags.string({ char: 'e', multiple: true, description: 'KEY=VALUE added to every component\'s environment (repeatable).' }),
    temp: Flags.directory({ aliases: ['tmp'], description: 'Working directory for spin.lock and copied assets. Default: a temporary directory removed on exit.' }),
    'state-dir': Flags.string({ description: 'State directory. Default: .spin next to spin.toml (none for registry apps); empty for none.' }),
    variable: Flags.string({ multiple: true, description: 'An app variable: NAME=VALUE, NAME=@FILE (the file\'s text), @FILE.json or @FILE.toml (repeatable). SPIN_VARIABLE_<NAME> and a .env file next to the app are read too.' }),
    'key-value': Flags.string({ multiple: true, description: 'KEY=VALUE written into the default key-value store before serving (repeatable).' }),
    'runtime-config-file': Flags.file({
      description: 'Runtime config (TOML, Spin\'s format): state_dir, log_dir, max_instance_memory, [key_value_store.*], [sqlite_database.*], [[variables_provider]], [outbound_http], [outbound_networking], [[client_tls]], [outbound_redis|pg|mysql|mqtt]. Unknown keys stop the start. Also read from RUNTIME_CONFIG_FILE (Spin\'s name).',
      env: 'RUNTIME_CONFIG_FILE',
    }),
    sqlite: Flags.string({ multiple: true, description: 'SQL run before serving (repeatable): a statement against the default database, @FILE.sql, @FILE.sql:LABEL or LABEL:@FILE.sql for another database.' }),
    'cache-dir': cacheDirFlag,
    insecure: Flags.boolean({ char: 'k', description: 'Use plain HTTP for the registry.', default: false }),
    build: Flags.boolean({ description: 'Run the components\' build commands first (local apps).', default: false, env: 'SPIN_ALWAYS_BUILD' }),
    'direct-mounts': Flags.boolean({ description: 'Mount files directories directly instead of copying them.', default: false }),
    'max-source-size': maxSourceSizeFlag,
    'max-file-size': maxFileSizeFlag,
    'log-dir': Flags.string({ char: 'L', description: 'Where <component>_stdout.txt/_stderr.txt go. Default: <state dir>/logs; empty to keep no logs.', env: 'SPIN_LOG_DIR' }),
    workers: Flags.integer({ description: 'Worker threads running guests. Default: one per core.', min: 1 }),
    'request-timeout': Flags.string({ description: 'Stop a request running longer than this (e.g. 30s, 500ms); its client gets an error. Time spent waiting for a worker does not count.' }),
    'shutdown-timeout': Flags.string({ description: 'On SIGINT/SIGTERM, how long in-flight requests may finish before the rest are stopped and spinel exits.', default: '10s' }),
    'max-instance-memory': Flags.integer({ description: 'Bytes a guest\'s memory may grow to; beyond it the growth fails inside the guest. Default: 268435456 (256 MiB).', env: 'SPIN_MAX_INSTANCE_MEMORY', min: 1 }),
    'serve-from-workers': Flags.boolean({ description: 'Worker threads accept and answer HTTP themselves on one shared socket, so no request crosses threads (faster for small requests; bodies are read and sent whole).', default: false }),
    'instance-reuse': Flags.integer({ description: 'Let one instance serve up to N requests (for components that tolerate it). Default: a fresh instance per request.', min: 1 }),
    format: Flags.string({ description: 'How the start-up routes are printed.', options: ['plain', 'json'], default: 'plain' }),
    'tls-cert': Flags.file({ description: 'PEM certificate: serve HTTPS (needs --tls-key).', env: 'SPIN_TLS_CERT', dependsOn: ['tls-key'] }),
    'tls-key': Flags.file({ description: 'PKCS#8 PEM private key for --tls-cert.', env: 'SPIN_TLS_KEY', dependsOn: ['tls-cert'] }),
    ...parityFlags,
  };

  async run(): Promise<UpResult> {
    const { flags } = await this.parse(Up);
    const cwd = process.cwd();
    const env = Object.fromEntries((flags.env ?? []).map(parseEnvPair));
    const requestTimeoutMs = flags['request-timeout'] === undefined ? undefined : parseDuration(flags['request-timeout']);
    const shutdownTimeoutMs = parseDuration(flags['shutdown-timeout']);
    const source = await resolveAppSource(flags.from, cwd);
    // The runtime (and the libraries locking shares with it) loads while the app is locked or pulled:
    // its files are read between the other steps' work instead of after it. Awaited where it is used.
    const runtimeLoading = import('@spinel/runtime');
    runtimeLoading.catch(() => undefined);

    const ownTemp = flags.temp === undefined;
    const workDir = flags.temp === undefined ? await mkdtemp(join(tmpdir(), 'spinup-')) : resolve(flags.temp);
    await mkdir(workDir, { recursive: true });
    const cleanups: Array<() => Promise<unknown>> = [];
    if (ownTemp) cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    try {
      const { openCache } = await import('@spinel/cache');
      const cache = openCache({ root: await cacheRoot(flags['cache-dir']) });

      let defaultStateDir: string | undefined;
      const loadApp = async (): Promise<LockedApp> => {
        if (source.kind === 'manifest') {
          const { lockManifestFile } = await import('@spinel/manifest');
          defaultStateDir = join(dirname(source.path), '.spin');
          return lockManifestFile(source.path, {
            workingDir: workDir,
            directMounts: flags['direct-mounts'],
            ...(flags.profile === undefined ? {} : { profile: flags.profile }),
            ...sourceResolvers(flags['cache-dir'], flags.insecure),
            ...(await sizeLimits(flags)),
          });
        }
        if (source.kind === 'wasm') {
          defaultStateDir = join(dirname(source.path), '.spin');
          return wasmApp(source.path);
        }
        return this.pull(source.reference, flags.insecure, cache, workDir);
      };
      if (source.kind === 'manifest' && flags.build) {
        const { runBuild } = await import('../../build/run-build.js');
        await runBuild({ manifestPath: source.path, profile: flags.profile, out: (line) => this.log(line), commandStdout: 'inherit', warn: (line) => process.stderr.write(`${line}\n`) });
      }
      if (source.kind === 'reference') {
        // Spin reads a -f that is neither a file nor a directory as a registry reference: say so
        // first, so a mistyped path is not reported only as a registry that cannot be reached.
        process.stderr.write(`'${source.reference}' is not a file or directory here: treating it as a registry reference.\n`);
      }
      let app = await loadApp();
      const runtime = await runtimeLoading;
      // The runtime config is checked strictly before anything starts.
      const runtimeConfigFile = flags['runtime-config-file'];
      const runtimeConfig = runtimeConfigFile === undefined ? undefined : await runtime.readRuntimeConfig(runtimeConfigFile, { cwd });
      // Flags win over the runtime config, which wins over the defaults; an empty value means none.
      const stateDirSetting = flags['state-dir'] ?? runtimeConfig?.stateDir;
      const stateDir = stateDirSetting === undefined ? defaultStateDir : stateDirSetting === '' ? undefined : resolve(stateDirSetting);
      const logDirSetting = flags['log-dir'] ?? runtimeConfig?.logDir;
      const logDir = logDirSetting !== undefined ? (logDirSetting === '' ? null : resolve(logDirSetting)) : stateDir === undefined ? null : join(stateDir, 'logs');
      const maxInstanceMemory = flags['max-instance-memory'] ?? runtimeConfig?.maxInstanceMemory;
      if (logDir !== null) {
        await mkdir(logDir, { recursive: true });
        if (flags.format === 'plain') this.log(`Logging component stdio to "${displayPath(logDir, cwd)}/"`);
      }
      const parity = await applyParityFlags(flags, app, logDir);
      app = parity.app;
      cleanups.push(async () => parity.flush());
      const { serializeLockedApp } = await import('@spinel/manifest');
      await writeFile(join(workDir, 'spin.lock'), serializeLockedApp(app));

      const tls =
        flags['tls-cert'] !== undefined && flags['tls-key'] !== undefined
          ? { cert: await readFile(flags['tls-cert']), key: await readFile(flags['tls-key']) }
          : undefined;

      const onRequestError = (message: unknown): void => {
        const { error } = message as { error: unknown };
        process.stderr.write(`Error processing request: ${error instanceof Error ? error.message : String(error)}\n`);
      };
      let warned404 = false;
      const onNotFound = (message: unknown): void => {
        if (warned404 || process.stderr.isTTY !== true) return;
        warned404 = true;
        const { path } = message as { path: string };
        process.stderr.write(`Warning: Request to ${path} matched no pattern, and received a generic 404 response. To serve a more informative 404 page, add a catch-all (/...) route.\n`);
      };
      // Spin's hint for a refused outbound request: which allowed_outbound_hosts entry to add.
      const onOutboundDenied = (message: unknown): void => {
        process.stderr.write(`${(message as { hint: string }).hint}\n`);
      };
      // The Redis trigger goes on after a failing handler or a lost server; say so, as Spin logs it.
      const onRedisHandlerError = (message: unknown): void => {
        const { componentId, error } = message as { componentId: string; error: unknown };
        process.stderr.write(`Component ${componentId} handler failed: ${error instanceof Error ? error.message : String(error)}\n`);
      };
      const onRedisConnection = (message: unknown): void => {
        const { server, state } = message as { server: string; state: 'lost' | 'restored' };
        process.stderr.write(state === 'lost' ? `Lost the connection to Redis at ${server}; reconnecting\n` : `Reconnected to Redis at ${server}\n`);
      };
      subscribe(runtime.outboundDeniedChannel.name, onOutboundDenied);
      subscribe(runtime.REQUEST_ERROR_CHANNEL, onRequestError);
      subscribe(runtime.NOT_FOUND_CHANNEL, onNotFound);
      subscribe(runtime.redisHandlerErrorChannel.name, onRedisHandlerError);
      subscribe(runtime.redisConnectionChannel.name, onRedisConnection);
      cleanups.push(async () => {
        unsubscribe(runtime.outboundDeniedChannel.name, onOutboundDenied);
        unsubscribe(runtime.REQUEST_ERROR_CHANNEL, onRequestError);
        unsubscribe(runtime.NOT_FOUND_CHANNEL, onNotFound);
        unsubscribe(runtime.redisHandlerErrorChannel.name, onRedisHandlerError);
        unsubscribe(runtime.redisConnectionChannel.name, onRedisConnection);
      });

      const { parse } = await import('smol-toml');
      const appDir = source.kind === 'reference' ? cwd : dirname(source.path);
      const sourceLimits = await sizeLimits(flags);
      const start = (locked: LockedApp): ReturnType<typeof runtime.runApp> =>
        runtime.runApp({
          app: locked,
          cache,
          env,
          logDir,
          onGuestOutput: parity.onGuestOutput,
          allowTransientWrite: flags['allow-transient-write'],
          stateDir,
          listen: flags.listen,
          findFreePort: flags['find-free-port'],
          variables: { flags: flags.variable ?? [], env: process.env, dotenvPath: join(appDir, '.env'), cwd, parseToml: parse },
          keyValue: { seeds: flags['key-value'] ?? [] },
          ...(runtimeConfig === undefined ? {} : { runtimeConfig }),
          sqlite: { statements: flags.sqlite ?? [], cwd },
          ...(sourceLimits.maxSourceBytes === undefined ? {} : { maxSourceBytes: sourceLimits.maxSourceBytes }),
          ...(flags.workers === undefined ? {} : { workers: flags.workers }),
          ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
          ...(maxInstanceMemory === undefined ? {} : { maxInstanceMemory }),
          ...(parity.instanceReuse !== undefined ? { instanceReuse: parity.instanceReuse } : flags['instance-reuse'] === undefined ? {} : { instanceReuse: flags['instance-reuse'] }),
          ...(tls === undefined ? {} : { tls }),
          ...(flags['serve-from-workers'] ? { serveFromWorkers: true } : {}),
        });
      let running: Awaited<ReturnType<typeof runtime.runApp>>;
      try {
        running = await start(app);
      } catch (err) {
        // A cached blob that no longer matches its digest was refused (and removed) before it ran:
        // fetch the app again once, from the registry or the source URL, and start from that.
        if ((err as { code?: unknown }).code !== 'RUNTIME_COMPONENT_INTEGRITY' || source.kind === 'wasm') throw err;
        process.stderr.write(`Warning: ${(err as Error).message.split('; it was not run')[0]}; fetching it again.\n`);
        const { removeCorruptBlobs } = await import('@spinel/cache');
        await removeCorruptBlobs(cache, app.components.map((c) => c.source.source));
        app = (await applyParityFlags(flags, await loadApp(), logDir)).app;
        await writeFile(join(workDir, 'spin.lock'), serializeLockedApp(app));
        running = await start(app);
      }
      cleanups.push(() => running.close());
      // Listen for the stop before saying "Serving": a signal sent as soon as a caller reads that
      // line must find the handler (writes to a pipe are synchronous, and a busy machine can
      // switch to the reader before the next line runs; without a handler SIGTERM kills at once).
      const stopped = new Promise<void>((resolveStop) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolveStop();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      if (running.keyValueNote !== undefined && flags.format === 'plain') this.log(running.keyValueNote);
      if (running.sqliteNote !== undefined && flags.format === 'plain') this.log(running.sqliteNote);
      for (const warning of running.warnings()) process.stderr.write(`${warning}\n`);
      process.stdout.write(running.startupText(flags.format as 'plain' | 'json'));
      await stopped;
      // In-flight requests get the grace; then connections are cut and workers stopped, whatever runs.
      await running.close(shutdownTimeoutMs);
      return { baseUrl: running.baseUrl };
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  }

  /** Pulls a registry app into the cache and its files into `workDir`. */
  private async pull(reference: string, insecure: boolean, cache: unknown, workDir: string): Promise<LockedApp> {
    const oci = (await import('@spinel/oci')) as unknown as {
      pullApp?: (o: Record<string, unknown>) => Promise<{ lockedApp: LockedApp }>;
    };
    if (oci.pullApp === undefined) {
      throw Object.assign(new Error(`Cannot run ${reference} from a registry: this build of spinel has no registry pull. Pull support comes with @spinel/oci's pullApp.`), {
        code: 'CLI_UNSUPPORTED',
      });
    }
    const opened = await openTargetFromFlags(reference, insecure);
    try {
      const pulled = await oci.pullApp({
        target: opened.target,
        reference: opened.reference,
        store: cache,
        origin: opened.display,
        workDir,
        ...(opened.spinCacheLocation === undefined ? {} : { spinCacheLocation: opened.spinCacheLocation }),
      });
      return pulled.lockedApp;
    } finally {
      await opened.close();
    }
  }
}

function displayPath(p: string, cwd: string): string {
  const rel = relative(cwd, p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
}
