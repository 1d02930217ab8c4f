/**
 * Running the built `spinel` CLI as a user does: one command to completion, or `spinel up`
 * kept running until it is stopped.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Path of the CLI's `bin/run.js`. */
export function spinelBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@spinel/cli/package.json')), 'bin', 'run.js');
}

/** What a finished command printed. */
export interface CliRun {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `spinel <args>` to completion (killed after `timeoutMs`). */
export function spinel(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [spinelBin(), ...args], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ args, code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A running `spinel up`. */
export interface RunningUp {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` once it serves. */
  readonly baseUrl: string;
  output(): { stdout: string; stderr: string };
  /** Sends SIGINT (or `signal`) and waits for the exit; returns what it printed. */
  stop(signal?: NodeJS.Signals): Promise<CliRun>;
}

/** Starts `spinel up <args>` and waits until it prints `Serving http://…`. */
export async function startUp(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; readyTimeoutMs?: number }): Promise<RunningUp> {
  const full = ['up', ...args];
  const child = spawn(process.execPath, [spinelBin(), ...full], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 180_000);
  let baseUrl: string | undefined;
  while (baseUrl === undefined) {
    baseUrl = /Serving (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    if (baseUrl !== undefined) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await closed;
      const why = child.exitCode !== null ? `exited ${child.exitCode}` : `was not serving after ${Math.round((options.readyTimeoutMs ?? 180_000) / 1000)} s`;
      throw new Error(`spinel ${full.join(' ')} ${why}:\n${stdout}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    baseUrl,
    output: () => ({ stdout, stderr }),
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await closed;
      clearTimeout(timer);
      return { args: full, code, stdout, stderr };
    },
  };
}
