import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accountIds, freeLoopbackPort, spawnService, waitUntil } from './service-process.js';

const run = promisify(execFile);

/** A running PostgreSQL server started for a test. */
export interface PostgresServer {
  /** `postgres://<user>:<password>@127.0.0.1:<port>/<database>` */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Stops the server (fast shutdown) and removes its data directory. */
  stop(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Superuser created by initdb. @default 'spinel' */
  user?: string;
  /** Its password (TCP logins use SCRAM-SHA-256). @default 'spinel-test-password' */
  password?: string;
  /** Directory holding `initdb` and `postgres`. @default the newest /usr/lib/postgresql/N/bin, else PATH */
  binDir?: string;
  /** How long to wait for the server to accept connections. @default 30000 */
  readyTimeoutMs?: number;
}

/** Finds Debian's PostgreSQL programs (they are not on PATH there). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'postgres'))) return join(root, v, 'bin');
  return undefined;
}

/**
 * Starts a real PostgreSQL on a free loopback port: `initdb` into a fresh temporary directory and
 * `postgres` on it, both as the `postgres` account when this process is root (PostgreSQL refuses
 * to run as root), password logins over TCP, fsync off. Waits until it accepts connections.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const user = options.user ?? 'spinel';
  const password = options.password ?? 'spinel-test-password';
  const binDir = options.binDir ?? postgresBinDir();
  const bin = (name: string): string => (binDir === undefined ? name : join(binDir, name));
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const ids = accountIds('postgres');
  const dir = await mkdtemp(join(tmpdir(), 'spinel-postgres-'));
  const dataDir = join(dir, 'data');
  try {
    if (ids !== undefined) await chown(dir, ids.uid, ids.gid);
    await chmod(dir, 0o700);
    const pwfile = join(dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids !== undefined) await chown(pwfile, ids.uid, ids.gid);
    await run(
      bin('initdb'),
      ['-D', dataDir, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { cwd: dir, ...(ids ?? {}), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } },
    ).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${err.stderr ?? err.message}`);
    });
    await rm(pwfile, { force: true });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freeLoopbackPort();
    const service = spawnService(
      bin('postgres'),
      ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'],
      { cwd: dir, ...(ids ?? {}), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } },
    );
    try {
      // postgres writes "ready" into postmaster.pid once it accepts connections.
      await waitUntil(
        'postgres',
        async () => {
          const pid = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
          return /^ready\s*$/m.test(pid);
        },
        service,
        readyTimeoutMs,
      );
      return {
        url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
        host: '127.0.0.1',
        port,
        user,
        password,
        database: 'postgres',
        async stop() {
          await service.stop('SIGINT'); // fast shutdown
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await service.stop('SIGKILL');
      await rm(join(dataDir, 'postmaster.pid'), { force: true });
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('postgres did not start');
}
