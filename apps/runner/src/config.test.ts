import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { helpText, parseCommandLine, type RunnerConfig } from './config.js';
import { RunnerError, type RunnerErrorCode } from './errors.js';

function config(argv: string[], env: Record<string, string> = {}): RunnerConfig {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.config;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RunnerError);
    return (err as RunnerError).code;
  }
  return undefined;
}

describe('runner configuration', () => {
  it('has production defaults: all interfaces, admin on 9090, JSON logs, no watching, a 20 s drain', () => {
    expect(config(['--from', 'ghcr.io/acme/app:1'])).toEqual({
      from: 'ghcr.io/acme/app:1',
      listen: '0.0.0.0:3000',
      adminListen: '0.0.0.0:9090',
      variables: [],
      logFormat: 'json',
      logRequests: false,
      watchIntervalMs: 0,
      shutdownTimeoutMs: 20_000,
      insecure: false,
    });
  });

  it('reads every flag from its SPINEL_* variable', () => {
    const env = {
      SPINEL_APP: 'registry.local/app:2',
      SPINEL_LISTEN: '127.0.0.1:8080',
      SPINEL_ADMIN_LISTEN: '[::1]:9999',
      SPINEL_RUNTIME_CONFIG_FILE: '/etc/spinel/runtime-config.toml',
      SPINEL_VARIABLE: 'greeting=hello\n\ntoken=@/run/secrets/token\n',
      SPINEL_STATE_DIR: '/var/lib/spinel',
      SPINEL_CACHE_DIR: '/var/cache/spinel',
      SPINEL_WORKERS: '3',
      SPINEL_REQUEST_TIMEOUT: '30s',
      SPINEL_MAX_INSTANCE_MEMORY: '128Mi',
      SPINEL_LOG_FORMAT: 'text',
      SPINEL_LOG_REQUESTS: 'true',
      SPINEL_WATCH_INTERVAL: '2m',
      SPINEL_SHUTDOWN_TIMEOUT: '1500ms',
      SPINEL_INSECURE: '1',
    };
    expect(config([], env)).toEqual({
      from: 'registry.local/app:2',
      listen: '127.0.0.1:8080',
      adminListen: '[::1]:9999',
      runtimeConfigFile: '/etc/spinel/runtime-config.toml',
      variables: ['greeting=hello', 'token=@/run/secrets/token'],
      stateDir: '/var/lib/spinel',
      cacheDir: '/var/cache/spinel',
      workers: 3,
      requestTimeoutMs: 30_000,
      maxInstanceMemory: 128 * 1024 * 1024,
      logFormat: 'text',
      logRequests: true,
      watchIntervalMs: 120_000,
      shutdownTimeoutMs: 1500,
      insecure: true,
    });
  });

  it('lets a flag win over its variable, in both --flag value and --flag=value forms; --variable repeats', () => {
    const c = config(['--from=a/b:1', '--listen', '127.0.0.1:1', '--variable', 'x=1', '--variable=y=2', '--insecure=false', '--max-instance-memory', '1000'], {
      SPINEL_APP: 'c/d:2',
      SPINEL_LISTEN: '127.0.0.1:2',
      SPINEL_VARIABLE: 'z=3',
      SPINEL_INSECURE: 'true',
    });
    expect(c.from).toBe('a/b:1');
    expect(c.listen).toBe('127.0.0.1:1');
    expect(c.variables).toEqual(['x=1', 'y=2']);
    expect(c.insecure).toBe(false);
    expect(c.maxInstanceMemory).toBe(1000);
  });

  it('refuses bad input with a coded error naming the flag or variable and what to write', () => {
    const cases: Array<[string[], Record<string, string>, RunnerErrorCode, RegExp]> = [
      [[], {}, 'RUNNER_NO_APP', /--from <reference>.*SPINEL_APP/],
      [['--from', 'a:1', '--bogus'], {}, 'RUNNER_INVALID_CONFIG', /--bogus: unknown flag/],
      [['--from'], {}, 'RUNNER_INVALID_CONFIG', /--from: needs a value/],
      [['a:1'], {}, 'RUNNER_INVALID_CONFIG', /unexpected argument/],
      [['--from', 'a:1', '--listen', '3000'], {}, 'RUNNER_INVALID_CONFIG', /--listen: '3000' is not an address; write HOST:PORT/],
      [['--from', 'a:1'], { SPINEL_ADMIN_LISTEN: 'localhost:99999' }, 'RUNNER_INVALID_CONFIG', /SPINEL_ADMIN_LISTEN/],
      [['--from', 'a:1', '--workers', '0'], {}, 'RUNNER_INVALID_CONFIG', /--workers: '0' is not a whole number/],
      [['--from', 'a:1'], { SPINEL_WORKERS: 'many' }, 'RUNNER_INVALID_CONFIG', /SPINEL_WORKERS/],
      [['--from', 'a:1', '--request-timeout', 'soon'], {}, 'RUNNER_INVALID_CONFIG', /not a duration; write e\.g\. 500ms/],
      [['--from', 'a:1', '--max-instance-memory', '12 parsecs'], {}, 'RUNNER_INVALID_CONFIG', /not a size in bytes/],
      [['--from', 'a:1', '--log-format', 'xml'], {}, 'RUNNER_INVALID_CONFIG', /use json or text/],
      [['--from', 'a:1'], { SPINEL_INSECURE: 'maybe' }, 'RUNNER_INVALID_CONFIG', /SPINEL_INSECURE: 'maybe' is not a boolean/],
    ];
    for (const [argv, env, code, message] of cases) {
      let error: unknown;
      try {
        parseCommandLine(argv, env);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(argv)).toBeInstanceOf(RunnerError);
      expect((error as RunnerError).code).toBe(code);
      expect((error as RunnerError).message).toMatch(message);
    }
    expect(codeOf(() => parseCommandLine(['--help', '--bogus'], {}))).toBeUndefined();
  });

  it('answers --help and --version before anything else; the help names every flag with its variable', () => {
    expect(parseCommandLine(['--help'], {}).kind).toBe('help');
    expect(parseCommandLine(['--version'], {}).kind).toBe('version');
    const help = helpText();
    for (const flag of ['from', 'listen', 'admin-listen', 'runtime-config-file', 'variable', 'state-dir', 'cache-dir', 'workers', 'request-timeout', 'max-instance-memory', 'log-format', 'watch-interval', 'shutdown-timeout', 'insecure']) {
      expect(help).toContain(`--${flag}`);
    }
    for (const env of ['SPINEL_APP', 'SPINEL_LISTEN', 'SPINEL_ADMIN_LISTEN', 'SPINEL_WATCH_INTERVAL', 'SPINEL_SHUTDOWN_TIMEOUT']) expect(help).toContain(`env: ${env}`);
  });

  it('lists every error code in the README, and nothing else', async () => {
    const source = await readFile(new URL('./errors.ts', import.meta.url), 'utf8');
    const union = /export type RunnerErrorCode =([^;]+);/.exec(source)?.[1] ?? '';
    const codes = [...union.matchAll(/'(RUNNER_[A-Z_]+)'/g)].map((m) => m[1]).sort();
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const listed = [...readme.matchAll(/^\| `(RUNNER_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(codes.length).toBeGreaterThan(0);
    expect(listed).toEqual(codes);
  });
});
