// Benchmark: spinel-runner's throughput against `spinel up` serving the same app (a small WAT
// component pulled from a local docker-registry; it writes a line to stdout per request, which the
// runner turns into a guest.output log line), same worker count. Both servers run side by side,
// started and warmed once; wrk (HTTP/1.1 keep-alive) loads one, then the other, in short slices
// whose order alternates. The ratio is the median of the per-pair ratios: a pair is measured
// within seconds, so drift in a shared machine's load hits both sides of it alike. The CPU time
// each server spends per request (read from /proc) is printed too: on a machine others load it
// varies far less than the rates. Both write their stdout into a pipe this process drains (as a
// container runtime collects logs).
// Prints each pair and the ratio runner ÷ up (target ≥ 0.95: metrics and logs cost almost nothing).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRegistry } from '@spinel/test-utils';
import { get, pushManifest, RUNNER_BIN, waitForStatus, writeWatApp } from '../src/test-helpers.js';

const exec = promisify(execFile);
const CLI_BIN = join(dirname(createRequire(import.meta.url).resolve('@spinel/cli/package.json')), 'bin', 'run.js');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const CONNECTIONS = 10;
/** `hello` writes a stdout line per request (the runner logs it); `echo` writes none. */
const COMPONENT = process.env['BENCH_COMPONENT'] === 'echo' ? 'echo' : 'hello';
const EXPECTED = COMPONENT === 'hello' ? { status: 200, body: 'hello from wat\n' } : { status: 201, body: '' };
const WORKERS = 2;

interface Slice {
  /** Requests per second wrk saw. */
  rps: number;
  /** CPU time the server process (every thread) spent per request, in microseconds. */
  cpuPerRequestUs: number;
}

/** Loads `url` for `seconds` with wrk; the server's CPU time is read from /proc around it. */
async function wrk(url: string, seconds: number, pid: number | undefined): Promise<Slice> {
  const before = pid === undefined ? 0 : await cpuSeconds(pid);
  const { stdout } = await exec('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, url]);
  const after = pid === undefined ? 0 : await cpuSeconds(pid);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1];
  const requests = /(\d+) requests in/.exec(stdout)?.[1];
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(stdout);
  if (errors !== null) throw new Error(`wrk saw failures against ${url}:\n${stdout}`);
  if (rps === undefined || requests === undefined) throw new Error(`no rate in wrk output:\n${stdout}`);
  return { rps: Number(rps), cpuPerRequestUs: ((after - before) * 1e6) / Math.max(1, Number(requests)) };
}

/** User + system CPU seconds of a process, all its threads (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startServer(kind: 'up' | 'runner', reference: string, dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const common = ['--workers', String(WORKERS), '--cache-dir', join(dir, `cache-${kind}`)];
  const args =
    kind === 'up'
      ? [CLI_BIN, 'up', '-f', reference, '--listen', `127.0.0.1:${port}`, ...common]
      : [RUNNER_BIN, '--from', reference, '--listen', `127.0.0.1:${port}`, '--admin-listen', '127.0.0.1:0', ...common];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_CONFIG: join(dir, 'none'), XDG_CONFIG_HOME: join(dir, 'config') } });
  child.stdout?.resume(); // drained, as a container runtime collects logs
  // wrk ends with requests in flight, which `spinel up` reports on stderr: shown only if the start fails.
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  const url = `http://127.0.0.1:${port}/bench`;
  await waitForStatus(url, EXPECTED.status, 120_000).catch((err: Error) => {
    throw new Error(`${kind} did not start: ${err.message}\n${stderr}`);
  });
  if ((await get(url)).body !== EXPECTED.body) throw new Error(`${kind} does not serve the bench app`);
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
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
  await pushManifest(await writeWatApp(join(dir, 'app'), COMPONENT, 'bench-app'), reference);
  const servers = { up: await startServer('up', reference, dir), runner: await startServer('runner', reference, dir) };
  try {
    // Warm both: workers started, instances made ahead, code optimised.
    for (const kind of ['up', 'runner'] as const) await wrk(servers[kind].url, 2, undefined);
    const slices: Record<'up' | 'runner', Slice[]> = { up: [], runner: [] };
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    process.stdout.write(`runner vs spinel up: WAT ${COMPONENT}, ${WORKERS} workers each, wrk -c${CONNECTIONS} ${SECONDS}s slices, ${ROUNDS} alternating pairs\n`);
    for (let round = 1; round <= ROUNDS; round++) {
      const pair: Partial<Record<'up' | 'runner', Slice>> = {};
      for (const kind of round % 2 === 1 ? (['up', 'runner'] as const) : (['runner', 'up'] as const)) {
        const slice = await wrk(servers[kind].url, SECONDS, servers[kind].child.pid);
        pair[kind] = slice;
        slices[kind].push(slice);
      }
      const up = pair.up ?? { rps: 0, cpuPerRequestUs: 0 };
      const runner = pair.runner ?? { rps: 0, cpuPerRequestUs: 0 };
      ratios.push(runner.rps / up.rps);
      cpuRatios.push(up.cpuPerRequestUs / runner.cpuPerRequestUs);
      process.stdout.write(
        `  pair ${round}: up ${up.rps.toFixed(0)} req/s ${up.cpuPerRequestUs.toFixed(0)} µs CPU/req, runner ${runner.rps.toFixed(0)} req/s ${runner.cpuPerRequestUs.toFixed(0)} µs CPU/req\n`,
      );
    }
    const med = (kind: 'up' | 'runner', key: keyof Slice): number => median(slices[kind].map((x) => x[key]));
    process.stdout.write(
      `spinel up  median ${med('up', 'rps').toFixed(0)} req/s, ${med('up', 'cpuPerRequestUs').toFixed(0)} µs CPU per request\n` +
        `runner     median ${med('runner', 'rps').toFixed(0)} req/s, ${med('runner', 'cpuPerRequestUs').toFixed(0)} µs CPU per request\n` +
        `ratio runner / up = ${median(ratios).toFixed(2)} (throughput, median of pairs; target >= 0.95)\n` +
        `ratio by CPU per request, up / runner = ${median(cpuRatios).toFixed(2)} (the throughput ratio when CPU-bound; steadier on a shared machine)\n`,
    );
  } finally {
    await Promise.all([stop(servers.up.child), stop(servers.runner.child)]);
  }
} finally {
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
}
