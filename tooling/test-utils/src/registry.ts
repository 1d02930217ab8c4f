import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcryptHash } from './bcrypt.js';
import { startTokenService, type TokenService } from './registry-token-service.js';

const run = promisify(execFile);

export { bcryptHash } from './bcrypt.js';
export { startFaultProxy, type BlobFault, type FaultProxy, type FaultProxyOptions } from './registry-fault-proxy.js';
export { startTokenService, type TokenService, type TokenServiceOptions } from './registry-token-service.js';

/** A running CNCF distribution registry (Debian's `docker-registry`) started for a test. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry part of references. */
  host: string;
  port: number;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`) */
  url: string;
  /** Storage root (blobs and repositories as the registry writes them). */
  storageDir: string;
  /** The token service, in `token` mode. */
  tokenService?: TokenService;
  /** With `tls`: the PEM certificate to trust (pass it to an undici Agent's `connect.ca`). */
  ca?: string;
  /** Stop the registry (and token service) and remove the temporary directory. */
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** `none`: open; `htpasswd`: HTTP Basic; `token`: bearer tokens from a token service in this process. @default 'none' */
  auth?: 'none' | 'htpasswd' | 'token';
  /** Users for `htpasswd` and `token` modes. @default { testuser: 'testpassword' } */
  users?: Record<string, string>;
  /** Token mode: allow anonymous pulls. @default false */
  anonymousPull?: boolean;
  /** Token mode: JSON field of the token. @default 'token' */
  tokenField?: 'token' | 'access_token';
  /** Token mode: identity (refresh) tokens accepted, mapped to user names. */
  refreshTokens?: Record<string, string>;
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 (see `ca`). @default false */
  tls?: boolean;
  /** Program to run. @default 'docker-registry' */
  binary?: string;
  /** How long to wait for `/v2/` to answer. @default 15000 */
  readyTimeoutMs?: number;
}

/**
 * Start Debian's `docker-registry` on a free loopback port with filesystem storage in a
 * temporary directory, in one of three auth modes, and wait until `/v2/` answers.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const binary = options.binary ?? 'docker-registry';
  const mode = options.auth ?? 'none';
  const users = options.users ?? { testuser: 'testpassword' };
  const dir = await mkdtemp(join(tmpdir(), 'spinel-registry-'));
  const storageDir = join(dir, 'storage');
  let tokenService: TokenService | undefined;
  let authYaml = '';
  if (mode === 'htpasswd') {
    const file = join(dir, 'htpasswd');
    await writeFile(file, Object.entries(users).map(([u, p]) => `${u}:${bcryptHash(p, 5)}\n`).join(''), { mode: 0o600 });
    authYaml = `auth:\n  htpasswd:\n    realm: spinel-test\n    path: ${file}\n`;
  } else if (mode === 'token') {
    tokenService = await startTokenService({
      dir,
      users,
      ...(options.anonymousPull === undefined ? {} : { anonymousPull: options.anonymousPull }),
      ...(options.tokenField === undefined ? {} : { tokenField: options.tokenField }),
      ...(options.refreshTokens === undefined ? {} : { refreshTokens: options.refreshTokens }),
    });
    authYaml =
      `auth:\n  token:\n    realm: ${tokenService.realm}\n    service: ${tokenService.service}\n` +
      `    issuer: ${tokenService.issuer}\n    rootcertbundle: ${tokenService.rootCertBundle}\n`;
  }
  let tlsYaml = '';
  let ca: string | undefined;
  if (options.tls) {
    const keyFile = join(dir, 'tls-key.pem');
    const certFile = join(dir, 'tls-cert.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    ca = await readFile(certFile, 'utf8');
    tlsYaml = `  tls:\n    certificate: ${certFile}\n    key: ${keyFile}\n`;
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    await writeFile(
      config,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
        `storage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n` +
        `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(16).toString('hex')}\n` +
        tlsYaml +
        authYaml,
    );
    const child = spawn(binary, ['serve', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    try {
      await waitForV2(port, options.readyTimeoutMs ?? 15_000, () => child.exitCode !== null || spawnError !== undefined, options.tls === true);
      const stop = async (): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        await tokenService?.stop();
        await rm(dir, { recursive: true, force: true });
      };
      return {
        host: `127.0.0.1:${port}`,
        port,
        url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
        storageDir,
        ...(tokenService === undefined ? {} : { tokenService }),
        ...(ca === undefined ? {} : { ca }),
        stop,
      };
    } catch (err) {
      lastError = spawnError ?? new Error(`docker-registry did not start: ${output.trim().slice(-2000) || String(err)}`, { cause: err });
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      if (spawnError !== undefined) break;
    }
  }
  await tokenService?.stop();
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('docker-registry did not start');
}

/** A free TCP port on 127.0.0.1 (it can be taken again before use; callers retry). */
export async function freePort(): Promise<number> {
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

async function waitForV2(port: number, timeoutMs: number, gaveUp: () => boolean, tls: boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gaveUp()) throw new Error('the registry process exited');
    const status = await new Promise<number | undefined>((resolve) => {
      const send = tls ? httpsRequest : httpRequest;
      const req = send({ host: '127.0.0.1', port, path: '/v2/', method: 'GET', timeout: 1000, rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', () => resolve(undefined));
      req.on('timeout', () => {
        req.destroy();
        resolve(undefined);
      });
      req.end();
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`no answer on 127.0.0.1:${port}/v2/ within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
