/**
 * The runner's configuration, twelve-factor style: every flag has a `SPINEL_*` variable; a
 * flag wins over its variable, a variable over the default. Pure: it reads only what it is given.
 */
import { invalidConfig, RunnerError } from './errors.js';

/** Everything the runner is configured with. */
export interface RunnerConfig {
  /** The app: a registry reference, an OCI layout (`oci:<dir>[:tag]`), or a spin.toml / its directory. */
  from: string;
  /** Address of the app's HTTP listener. @default "0.0.0.0:3000" */
  listen: string;
  /** Address of the admin listener (`/livez`, `/readyz`, `/metrics`). @default "0.0.0.0:9090" */
  adminListen: string;
  /** Spin runtime config (TOML): key-value stores, outbound networking. */
  runtimeConfigFile?: string;
  /** App variables, `NAME=VALUE` or `NAME=@FILE` (and `SPIN_VARIABLE_<NAME>` from the environment). */
  variables: string[];
  /** Where SQLite key-value stores live; none means the default store is not persisted. */
  stateDir?: string;
  /** The content-addressed cache for pulled apps and prepared components. @default ~/.cache/spinel */
  cacheDir?: string;
  /** Worker threads running guests. @default one per core */
  workers?: number;
  /** A request running longer is stopped. @default none */
  requestTimeoutMs?: number;
  /** Bytes a guest's memory may grow to. @default the runtime's, 256 MiB */
  maxInstanceMemory?: number;
  /** `json`: one JSON object per line; `text`: one readable line per event. @default "json" */
  logFormat: 'json' | 'text';
  /** One log line per request. @default false */
  logRequests: boolean;
  /** How often a registry tag is checked for a new digest; 0 never. @default 0 */
  watchIntervalMs: number;
  /** How long in-flight requests may take to finish on SIGTERM or after a switch. @default 20000 */
  shutdownTimeoutMs: number;
  /** Plain HTTP to the registry. @default false */
  insecure: boolean;
}

/** One flag: its name, value kind, variable, default and help line. */
interface FlagSpec {
  name: string;
  env: string;
  kind: 'string' | 'list' | 'boolean';
  help: string;
  default?: string;
}

const FLAGS: readonly FlagSpec[] = [
  { name: 'from', env: 'SPINEL_APP', kind: 'string', help: 'The app: a registry reference (ghcr.io/org/app:1.0), an OCI layout (oci:<dir>[:tag]), or a spin.toml or its directory.' },
  { name: 'listen', env: 'SPINEL_LISTEN', kind: 'string', default: '0.0.0.0:3000', help: 'Address of the app\'s HTTP listener.' },
  { name: 'admin-listen', env: 'SPINEL_ADMIN_LISTEN', kind: 'string', default: '0.0.0.0:9090', help: 'Address of the admin listener: /livez, /readyz, /metrics.' },
  { name: 'runtime-config-file', env: 'SPINEL_RUNTIME_CONFIG_FILE', kind: 'string', help: 'Spin runtime config (TOML): [key_value_store.<label>] (type = "redis" for stores shared by replicas), [outbound_networking].' },
  { name: 'variable', env: 'SPINEL_VARIABLE', kind: 'list', help: 'An app variable, NAME=VALUE or NAME=@FILE (repeatable; the variable holds one per line). SPIN_VARIABLE_<NAME> is read too.' },
  { name: 'state-dir', env: 'SPINEL_STATE_DIR', kind: 'string', help: 'Where SQLite key-value stores live (per replica). Default: none (the default store is not persisted).' },
  { name: 'cache-dir', env: 'SPINEL_CACHE_DIR', kind: 'string', help: 'Cache of pulled apps and prepared components. Default: ~/.cache/spinel.' },
  { name: 'workers', env: 'SPINEL_WORKERS', kind: 'string', help: 'Worker threads running guests. Default: one per core.' },
  { name: 'request-timeout', env: 'SPINEL_REQUEST_TIMEOUT', kind: 'string', help: 'Stop a request running longer than this (500ms, 30s, 2m). Default: none.' },
  { name: 'max-instance-memory', env: 'SPINEL_MAX_INSTANCE_MEMORY', kind: 'string', help: 'Bytes a guest\'s memory may grow to (e.g. 134217728, 128Mi, 256MB). Default: 256Mi.' },
  { name: 'log-format', env: 'SPINEL_LOG_FORMAT', kind: 'string', default: 'json', help: 'json (one object per line) or text.' },
  { name: 'log-requests', env: 'SPINEL_LOG_REQUESTS', kind: 'boolean', help: 'Log one line per request.' },
  { name: 'watch-interval', env: 'SPINEL_WATCH_INTERVAL', kind: 'string', default: '0', help: 'Check the tag for a new digest this often (30s, 5m) and switch to it without dropping requests; 0 never.' },
  { name: 'shutdown-timeout', env: 'SPINEL_SHUTDOWN_TIMEOUT', kind: 'string', default: '20s', help: 'On SIGTERM (and for the old version after a switch), how long in-flight requests may take to finish.' },
  { name: 'insecure', env: 'SPINEL_INSECURE', kind: 'boolean', help: 'Use plain HTTP for the registry.' },
];

/** What the command line asked for besides a configuration. */
export type ParsedCommandLine = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: RunnerConfig };

/**
 * Reads the configuration from the command line and the environment.
 * @throws {RunnerError} `RUNNER_INVALID_CONFIG` (an unknown flag, a missing or bad value), `RUNNER_NO_APP` (no `--from` nor `SPINEL_APP`)
 */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedCommandLine {
  const given = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-V') return { kind: 'version' };
    if (!arg.startsWith('--')) throw invalidConfig(arg, 'unexpected argument; name the app with --from <reference>.');
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = FLAGS.find((f) => f.name === name);
    if (spec === undefined) throw invalidConfig(`--${name}`, `unknown flag. Run spinel-runner --help for the flags.`);
    let value: string;
    if (spec.kind === 'boolean') {
      value = eq < 0 ? 'true' : arg.slice(eq + 1);
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw invalidConfig(`--${name}`, 'needs a value.');
      value = next;
      i++;
    }
    given.set(name, [...(given.get(name) ?? []), value]);
  }

  const raw = (name: string): { value: string; source: string } | undefined => {
    const spec = FLAGS.find((f) => f.name === name);
    if (spec === undefined) return undefined;
    const fromFlag = given.get(name);
    if (fromFlag !== undefined) return { value: fromFlag.at(-1) ?? '', source: `--${name}` };
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: spec.env };
    if (spec.default !== undefined) return { value: spec.default, source: `--${name}` };
    return undefined;
  };

  const from = raw('from');
  if (from === undefined) {
    throw new RunnerError('RUNNER_NO_APP', 'No app to serve: pass --from <reference> (or set SPINEL_APP) to a registry reference, an OCI layout (oci:<dir>) or a spin.toml.');
  }
  const variablesFromFlags = given.get('variable');
  const variables =
    variablesFromFlags ??
    (env['SPINEL_VARIABLE'] ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  const logFormat = raw('log-format');
  if (logFormat !== undefined && logFormat.value !== 'json' && logFormat.value !== 'text') {
    throw invalidConfig(logFormat.source, `'${logFormat.value}' is not a log format; use json or text.`);
  }
  const config: RunnerConfig = {
    from: from.value,
    listen: requireAddress(raw('listen')),
    adminListen: requireAddress(raw('admin-listen')),
    variables,
    logFormat: (logFormat?.value ?? 'json') as 'json' | 'text',
    logRequests: parseBoolean(raw('log-requests')),
    watchIntervalMs: parseDurationValue(raw('watch-interval')) ?? 0,
    shutdownTimeoutMs: parseDurationValue(raw('shutdown-timeout')) ?? 20_000,
    insecure: parseBoolean(raw('insecure')),
  };
  const runtimeConfigFile = raw('runtime-config-file');
  if (runtimeConfigFile !== undefined) config.runtimeConfigFile = runtimeConfigFile.value;
  const stateDir = raw('state-dir');
  if (stateDir !== undefined) config.stateDir = stateDir.value;
  const cacheDir = raw('cache-dir');
  if (cacheDir !== undefined) config.cacheDir = cacheDir.value;
  const workers = raw('workers');
  if (workers !== undefined) config.workers = parsePositiveInteger(workers);
  const requestTimeout = parseDurationValue(raw('request-timeout'));
  if (requestTimeout !== undefined && requestTimeout > 0) config.requestTimeoutMs = requestTimeout;
  const memory = raw('max-instance-memory');
  if (memory !== undefined) config.maxInstanceMemory = parseBytes(memory);
  return { kind: 'run', config };
}

/** The `--help` text: every flag with its variable and default. */
export function helpText(): string {
  const lines = [
    'spinel-runner: serve one Spin app from a registry (or an OCI layout, or a spin.toml) in production.',
    '',
    'Usage: spinel-runner --from <reference> [flags]',
    '',
    'Flags (each also read from the environment variable shown; a flag wins):',
  ];
  for (const f of FLAGS) {
    const value = f.kind === 'boolean' ? '' : f.kind === 'list' ? ' <NAME=VALUE>' : ' <value>';
    const def = f.default === undefined ? '' : ` (default: ${f.default})`;
    lines.push(`  --${f.name}${value}`, `      ${f.help}${def}`, `      env: ${f.env}`);
  }
  lines.push(
    '',
    'Admin endpoints: GET /livez (alive), /readyz (200 once the app serves, 503 before and while draining), /metrics (Prometheus text).',
    'Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP checks the tag (or re-reads a local spin.toml) now.',
  );
  return `${lines.join('\n')}\n`;
}

function requireAddress(value: { value: string; source: string } | undefined): string {
  if (value === undefined) throw new RunnerError('RUNNER_INVALID_CONFIG', 'missing listen address');
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+|\*):\d{1,5}$/.test(value.value) || Number(value.value.slice(value.value.lastIndexOf(':') + 1)) > 65535) {
    throw invalidConfig(value.source, `'${value.value}' is not an address; write HOST:PORT, e.g. 0.0.0.0:3000 or [::]:3000.`);
  }
  return value.value;
}

function parseBoolean(value: { value: string; source: string } | undefined): boolean {
  if (value === undefined) return false;
  const v = value.value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw invalidConfig(value.source, `'${value.value}' is not a boolean; use true or false.`);
}

function parsePositiveInteger(value: { value: string; source: string }): number {
  if (!/^\d+$/.test(value.value) || Number(value.value) < 1) throw invalidConfig(value.source, `'${value.value}' is not a whole number of at least 1.`);
  return Number(value.value);
}

/**
 * A duration in milliseconds: `500ms`, `10s`, `2m`, `1h`; a bare number is seconds;
 * `0` means none.
 */
export function parseDurationValue(value: { value: string; source: string } | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.value.trim());
  if (m === null) throw invalidConfig(value.source, `'${value.value}' is not a duration; write e.g. 500ms, 30s, 5m (0 for none).`);
  const unit = m[2] ?? 's';
  return Math.round(Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3 };

/** Bytes: a plain number, or with a unit as Kubernetes and humans write them (`128Mi`, `256MB`, `1G`). */
export function parseBytes(value: { value: string; source: string }): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.value.trim());
  const unit = BYTE_UNITS[(m?.[2] ?? 'x').toLowerCase()];
  if (m === null || unit === undefined || Number(m[1]) * unit < 1) {
    throw invalidConfig(value.source, `'${value.value}' is not a size in bytes; write e.g. 134217728, 128Mi or 256MB.`);
  }
  return Math.floor(Number(m[1]) * unit);
}
