import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** A free loopback TCP port at the time of asking (a server started on it may still lose a race: retry). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

/** A child process started for a test, with its combined output kept for error messages. */
export interface ServiceChild {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  hasExited(): boolean;
  /** Sends `signal`, then SIGKILL after `graceMs`, and waits for the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Spawns a server program, collecting its output (bounded) and its exit. */
export function spawnService(command: string, args: readonly string[], options: SpawnOptions = {}): ServiceChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;
  return {
    child,
    output: () => (spawnError === undefined ? output : `${output}\n${spawnError.message}`),
    exited,
    hasExited,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!hasExited()) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `check` every 100 ms until it is true; fails when the process exits or the time is up. */
export async function waitUntil(what: string, check: () => Promise<boolean>, service: ServiceChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.hasExited()) throw new Error(`${what} exited before it was ready:\n${service.output().trim()}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${service.output().trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** uid/gid of a system account, when this process runs as root (servers that refuse root run as it). */
export function accountIds(name: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}
