import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { acceptsConnections, freeLoopbackPort, spawnService, waitUntil } from './service-process.js';

const run = promisify(execFile);

/** A running mosquitto broker started for a test. */
export interface MosquittoServer {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The accounts of the password file (empty when anonymous clients are allowed). */
  users: Readonly<Record<string, string>>;
  /** Stops the broker and removes its directory. */
  stop(): Promise<void>;
}

/** Options of {@link startMosquitto}. */
export interface StartMosquittoOptions {
  /** Accounts for a password file; anonymous clients are then refused. @default anonymous clients allowed */
  users?: Record<string, string>;
  /** How long to wait for the listener. @default 10000 */
  readyTimeoutMs?: number;
}

/**
 * Starts a real `mosquitto` on a free loopback port with its configuration (and, with `users`,
 * a password file made by `mosquitto_passwd`) in a fresh temporary directory, persistence off.
 */
export async function startMosquitto(options: StartMosquittoOptions = {}): Promise<MosquittoServer> {
  const users = options.users ?? {};
  const auth = Object.keys(users).length > 0;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'spinel-mosquitto-'));
  const passwordFile = join(dir, 'passwd');
  try {
    if (auth) {
      await writeFile(passwordFile, '', { mode: 0o600 });
      for (const [name, password] of Object.entries(users)) {
        await run('mosquitto_passwd', ['-b', passwordFile, name, password]);
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freeLoopbackPort();
    const config = join(dir, 'mosquitto.conf');
    const lines = [
      `listener ${port} 127.0.0.1`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      ...(auth ? ['allow_anonymous false', `password_file ${passwordFile}`] : ['allow_anonymous true']),
    ];
    await writeFile(config, `${lines.join('\n')}\n`);
    const service = spawnService('mosquitto', ['-c', config], { cwd: dir });
    try {
      await waitUntil('mosquitto', () => acceptsConnections(port), service, readyTimeoutMs);
      return {
        url: `mqtt://127.0.0.1:${port}`,
        port,
        users,
        async stop() {
          await service.stop('SIGTERM');
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await service.stop('SIGKILL');
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('mosquitto did not start');
}
