// Benchmark: spinel-runner's throughput against `spinel up` serving the same app (a small WAT
// component pulled from a local docker-registry), same worker count, measured side by side with
// wrk (HTTP/1.1 keep-alive) in alternating rounds so drift in the machine's load hits both.
// Prints each round and the ratio runner ÷ up (target ≥ 0.95: metrics and logs cost almost nothing).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRegistry } from '@spinel/test-utils';
import { get, pushManifest, RUNNER_BIN, waitForStatus, writeWatApp } from '../src/test-helpers.js';

const exec = promisify(execFile);
const CLI_BIN = join(dirname(createRequire(import.meta.url).resolve('@spinel/cli/package.json')), 'bin', 'run.js');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = 10;
const WORKERS = 2;

async function wrk(url: string, seconds: number): Promise<number> {
  const { stdout } = await exec('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, url]);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1];
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(stdout);
  if (errors !== null) throw new Error(`wrk saw failures against ${url}:\n${stdout}`);
  if (rps === undefined) throw new Error(`no rate in wrk output:\n${stdout}`);
  return Number(rps);
}

async function startServer(kind: 'up' | 'runner', reference: string, dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const common = ['--workers', String(WORKERS), '--cache-dir', join(dir, `cache-${kind}`)];
  const args =
    kind === 'up'
      ? [CLI_BIN, 'up', '-f', reference, '--listen', `127.0.0.1:${port}`, ...common]
      : [RUNNER_BIN, '--from', reference, '--listen', `127.0.0.1:${port}`, '--admin-listen', '127.0.0.1:0', ...common];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DOCKER_CONFIG: join(dir, 'none'), XDG_CONFIG_HOME: join(dir, 'config') } });
  // wrk ends with requests in flight, which `spinel up` reports on stderr: shown only if the start fails.
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}/bench`;
  await waitForStatus(url, 200, 120_000).catch((err: Error) => {
    throw new Error(`${kind} did not start: ${err.message}\n${stderr}`);
  });
  if ((await get(url)).body !== 'hello from wat\n') throw new Error(`${kind} does not serve the bench app`);
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function measure(kind: 'up' | 'runner', reference: string, dir: string): Promise<number> {
  const { url, child } = await startServer(kind, reference, dir);
  try {
    await wrk(url, 1); // warm: workers started, instances cached
    return await wrk(url, SECONDS);
  } finally {
    await stop(child);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const registry = await startRegistry();
const dir = await mkdtemp(join(tmpdir(), 'spinel-runner-bench-'));
try {
  const reference = `${registry.host}/bench/hello:v1`;
  await pushManifest(await writeWatApp(join(dir, 'app'), 'hello', 'bench-app'), reference);
  const rates: Record<'up' | 'runner', number[]> = { up: [], runner: [] };
  process.stdout.write(`runner vs spinel up: WAT hello, ${WORKERS} workers, wrk -c${CONNECTIONS} ${SECONDS}s, ${ROUNDS} alternating rounds\n`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of round % 2 === 1 ? (['up', 'runner'] as const) : (['runner', 'up'] as const)) {
      const rps = await measure(kind, reference, dir);
      rates[kind].push(rps);
      process.stdout.write(`  round ${round} ${kind.padEnd(6)} ${rps.toFixed(0)} req/s\n`);
    }
  }
  const up = median(rates.up);
  const runner = median(rates.runner);
  process.stdout.write(`spinel up  median ${up.toFixed(0)} req/s\nrunner     median ${runner.toFixed(0)} req/s\nratio runner / up = ${(runner / up).toFixed(2)} (target >= 0.95)\n`);
} finally {
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
}
