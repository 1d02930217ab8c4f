import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running `redis-server` started for a test. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops the server and removes its temporary directory. */
  stop(): Promise<void>;
}

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** Program to run. @default 'redis-server' */
  binary?: string;
  /** How long to wait for the first PONG. @default 10000 */
  readyTimeoutMs?: number;
  /** Require this password (`requirepass`): clients must AUTH. @default none */
  password?: string;
}

/**
 * Starts a real `redis-server` on a free loopback port, in a fresh temporary directory,
 * with persistence switched off (no RDB snapshots, no AOF) so nothing is written outside
 * that directory, and waits until it answers PING.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? 'redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'spinel-redis-'));
  // A port can be taken between our probe and redis binding it; retry a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const child = spawn(
      binary,
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--save', '',
        '--appendonly', 'no',
        '--protected-mode', 'no',
        '--daemonize', 'no',
        '--loglevel', 'warning',
        '--logfile', '',
        ...(options.password === undefined ? [] : ['--requirepass', options.password]),
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let spawnError: Error | undefined;
    child.once('error', (err) => { spawnError = err; });
    try {
      // With a password the server answers PING with NOAUTH: being answered at all means it is up.
      await waitForPong(port, readyTimeoutMs, () => child.exitCode !== null || spawnError !== undefined, options.password !== undefined);
      const stop = async (): Promise<void> => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      };
      return { url: `redis://127.0.0.1:${port}`, port, stop };
    } catch (err) {
      lastError = spawnError ?? new Error(`redis-server did not start: ${output.trim() || String(err)}`, { cause: err });
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      if (spawnError !== undefined) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('redis-server did not start');
}

function freePort(): Promise<number> {
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

async function waitForPong(port: number, timeoutMs: number, hasExited: () => boolean, noAuthIsReady = false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited()) throw new Error('redis-server exited');
    if (await ping(port, noAuthIsReady)) return;
    if (Date.now() > deadline) throw new Error(`no PONG from port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function ping(port: number, noAuthIsReady: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || (noAuthIsReady && reply.startsWith('-NOAUTH')));
    });
  });
}
