// The tests' one way to run the built `spinel` as a user would and wait for what it prints: start
// it, collect its output, wait for `Serving <url>` (or its exit), stop it. Each test file calls
// `killSpinels` after each test so no process outlives it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI's entry point. */
export const SPINEL_BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));

/** A `spinel` process started by a test. */
export interface SpinelRun {
  readonly child: ChildProcess;
  /** What it wrote to stdout so far. */
  stdout(): string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** stdout and stderr together, in the order they arrived. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Whether it has exited. */
  hasExited(): boolean;
}

/** A `spinel up` (or another serving command) once it serves: `base` is the URL it printed. */
export interface ServingRun extends SpinelRun {
  readonly base: string;
}

const started = new Set<ChildProcess>();

/** Starts `spinel ARGS` in `cwd`. @default env the test's own environment */
export function spawnSpinel(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpinelRun {
  const child = spawn(process.execPath, [SPINEL_BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  let all = '';
  let done = false;
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    all += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
    all += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      started.delete(child);
      resolve(code);
    }),
  );
  return { child, stdout: () => out, stderr: () => err, output: () => all, exited, hasExited: () => done };
}

/** Kills (SIGKILL) every spinel the tests started that still runs: call it in `afterEach`. */
export function killSpinels(): void {
  for (const child of started) child.kill('SIGKILL');
  started.clear();
}

const SERVING = /Serving (http:\/\/127\.0\.0\.1:\d+)\n/g;

/** Every `Serving <url>` URL `run` printed so far (a restarting `spinel watch` prints several). */
export function servingUrls(run: SpinelRun): string[] {
  return [...run.stdout().matchAll(SERVING)].map((m) => m[1] as string);
}

/**
 * The URL of the `nth` `Serving <url>` line `run` prints, or undefined once it exits without one.
 * Polls: a loaded machine may take minutes to start (componentize-js guests are large).
 * @default nth 1, timeoutMs 180000
 */
export async function servingUrl(run: SpinelRun, options: { nth?: number; timeoutMs?: number } = {}): Promise<string | undefined> {
  const nth = options.nth ?? 1;
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  for (;;) {
    const urls = servingUrls(run);
    if (urls.length >= nth) return urls[nth - 1];
    if (run.hasExited()) return undefined;
    if (Date.now() > deadline) throw new Error(`spinel neither served nor stopped:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until what `run` printed (stdout and stderr) matches `pattern`, for a start that prints no
 * `Serving` line (an app of Redis triggers alone) or more after it; throws with the output once
 * it exits without a match. @default timeoutMs 180000
 */
export async function waitForOutput(run: SpinelRun, pattern: RegExp, options: { timeoutMs?: number } = {}): Promise<RegExpExecArray> {
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  for (;;) {
    const match = pattern.exec(run.output());
    if (match !== null) return match;
    if (run.hasExited() || Date.now() > deadline) throw new Error(`spinel printed nothing matching ${pattern}${run.hasExited() ? ' before it stopped' : ''}:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `spinel up --listen 127.0.0.1:0 ARGS` without waiting (for starts that should fail). */
export function spawnUp(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): SpinelRun {
  return spawnSpinel(['up', '--listen', '127.0.0.1:0', ...args], cwd, env);
}

/** Starts `spinel up --listen 127.0.0.1:0 ARGS`; resolves once it serves (`base` set) or has exited (`base` undefined). */
export async function startUp(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<SpinelRun & { base: string | undefined }> {
  const run = spawnUp(args, cwd, env);
  return { ...run, base: await servingUrl(run) };
}

/** Starts `spinel ARGS` (a command that serves) and waits until it serves; throws with its output if it stops first. */
export async function serve(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<ServingRun> {
  const run = spawnSpinel(args, cwd, env);
  const base = await servingUrl(run);
  if (base === undefined) throw new Error(`spinel ${args.join(' ')} did not start:\n${run.output()}`);
  return { ...run, base };
}

/** `spinel up --listen 127.0.0.1:0 ARGS`, waited for until it serves; throws with its output if it stops first. */
export function up(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<ServingRun> {
  return serve(['up', '--listen', '127.0.0.1:0', ...args], cwd, env);
}

/** Sends `signal` and resolves with the exit code. @default signal SIGTERM */
export async function stopSpinel(run: SpinelRun, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  run.child.kill(signal);
  return run.exited;
}
