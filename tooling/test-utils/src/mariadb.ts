import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort, spawnService, waitUntil } from './service-process.js';

const run = promisify(execFile);

/** A running MariaDB server started for a test. */
export interface MariaDbServer {
  /** `mysql://<user>:<password>@127.0.0.1:<port>/<database>` */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Unix socket of the server (root logs in there without a password). */
  socket: string;
  /** Runs SQL as root through the socket with the `mariadb` client. */
  sql(statements: string): Promise<string>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

/** Options of {@link startMariaDb}. */
export interface StartMariaDbOptions {
  /** Account created for the test, allowed from any host, owner of `database`. @default 'spinel' */
  user?: string;
  /** @default 'spinel-test-password' */
  password?: string;
  /** @default 'spinel' */
  database?: string;
  /** How long to wait for the server. @default 60000 */
  readyTimeoutMs?: number;
}

/**
 * Starts a real MariaDB on a free loopback port and a Unix socket, with its data in a fresh
 * temporary directory (`mariadb-install-db`, then `mariadbd`), name resolution off, the
 * anonymous accounts removed (they would shadow `'user'@'%'` for loopback logins), and one
 * password account owning one database.
 */
export async function startMariaDb(options: StartMariaDbOptions = {}): Promise<MariaDbServer> {
  const user = options.user ?? 'spinel';
  const password = options.password ?? 'spinel-test-password';
  const database = options.database ?? 'spinel';
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), 'spinel-mariadb-'));
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  // Its own temporary directory: MariaDB's internal temporary tables otherwise go to /tmp, where
  // another test's server (or a cleanup) could meet them; seen failing a bootstrap in CI.
  const tmp = join(dir, 'tmp');
  const asRoot = process.getuid?.() === 0;
  const userArgs = asRoot ? ['--user=root'] : [];
  try {
    await mkdir(tmp);
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmp}`, '--skip-test-db', '--auth-root-authentication-method=socket', ...userArgs], {
      cwd: dir,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`mariadb-install-db failed: ${err.stderr ?? err.message}`);
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const sql = async (statements: string): Promise<string> => {
    const { stdout } = await run('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch', '--skip-column-names', '-e', statements]);
    return stdout;
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freeLoopbackPort();
    const service = spawnService(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--tmpdir=${tmp}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        `--pid-file=${join(dir, 'mariadbd.pid')}`,
        '--innodb-flush-log-at-trx-commit=0',
        '--skip-log-bin',
        ...userArgs,
      ],
      { cwd: dir },
    );
    try {
      await waitUntil('mariadbd', () => sql('SELECT 1').then(() => true, () => false), service, readyTimeoutMs);
      const quoted = password.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      await sql(
        `DELETE FROM mysql.global_priv WHERE User=''; FLUSH PRIVILEGES; CREATE DATABASE IF NOT EXISTS \`${database}\`; ` +
          `CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${quoted}'; GRANT ALL ON \`${database}\`.* TO '${user}'@'%'; FLUSH PRIVILEGES;`,
      );
      return {
        url: `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
        host: '127.0.0.1',
        port,
        user,
        password,
        database,
        socket,
        sql,
        async stop() {
          await service.stop('SIGTERM', 20_000);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await service.stop('SIGKILL');
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('mariadbd did not start');
}
