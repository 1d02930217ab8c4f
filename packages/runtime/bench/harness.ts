// What the runtime's HTTP benches share: a free loopback port, a server process waited on
// until it answers 200 and stopped after, wrk runs, medians and the printed ratio line.
// Benches only; nothing in src/ imports this.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

/** The median of `xs` (the upper one of an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Prints one result as `label  ours vs ref  ratio r (higher|lower is better for spinel)`. */
export function ratioLine(label: string, ours: string, ref: string, ratio: number, better: 'higher' | 'lower'): void {
  console.log(`${label.padEnd(62)} ${ours.padStart(14)} vs ${ref.padStart(14)}  ratio ${ratio.toFixed(2)} (${better} is better for spinel)`);
}

/** A loopback port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `url` until it answers 200: milliseconds it took. Throws when `child` exits first or after `timeoutMs`. */
export async function waitFor200(url: string, child: ChildProcess, timeoutMs = 180_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no 200 from ${url}`);
}

/** Stops `child` with SIGTERM (SIGKILL after 5 s) and resolves when it has exited. */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/** What one wrk run measured: requests per second, requests answered, and non-2xx answers or socket errors if any. */
export interface WrkResult {
  rps: number;
  requests: number;
  bad: string | undefined;
}

/** One wrk run against `url` (one thread, HTTP/1.1 keep-alive, `connections` connections, `seconds` long). */
export function wrk(url: string, seconds: number, connections = 10): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const requests = /(\d+) requests in/.exec(out);
      if (code !== 0 || rps === null || requests === null) return reject(new Error(`wrk failed: ${out}`));
      resolve({ rps: Number(rps[1]), requests: Number(requests[1]), bad: /(Non-2xx or 3xx responses: \d+|Socket errors:.*)/.exec(out)?.[0] });
    });
  });
}

/**
 * CPU time (µs) so far of the main thread and of all other threads of this process, from /proc:
 * `schedstat` (nanoseconds on the CPU) where the kernel has it, else `stat` (clock ticks of 10 ms,
 * too coarse for a per-operation figure of a few µs over a thousand operations).
 */
export function cpuNow(): { main: number; other: number } {
  let main = 0;
  let other = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const us = threadCpuUs(tid);
      if (tid === String(process.pid)) main += us;
      else other += us;
    }
  } catch {
    // Not Linux: no CPU figures.
  }
  return { main, other };
}

function threadCpuUs(tid: string): number {
  try {
    const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1000;
  } catch {
    // No schedstat: the coarser figure below.
  }
  const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}
