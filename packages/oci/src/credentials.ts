import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CredentialHelperError, CredentialsFileError } from './errors.js';
import { DOCKER_HUB_REGISTRY, normaliseRegistryHost } from './reference.js';

/** Credentials for one registry: a user name and password, or an OAuth2 identity (refresh) token. */
export type Credential =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'identity-token'; readonly identityToken: string };

/** Something that finds the credentials for a registry host. */
export interface CredentialSource {
  /** Credentials for `registry` (as in a parsed reference), or `undefined` for anonymous access. */
  get(registry: string): Promise<Credential | undefined>;
}

/** Where credentials are looked for, in this order. */
export interface CredentialPaths {
  /** Spinel's own file (Docker config.json format). */
  spinelAuthFile?: string;
  /** Spin's `registry-auth.json` (read only). */
  spinAuthFile?: string;
  /** Docker's `config.json`. */
  dockerConfigFile?: string;
}

/** Options of {@link createCredentialResolver}. */
export interface CredentialResolverOptions extends CredentialPaths {
  /** Environment for `docker-credential-*` helpers (their `PATH`). @default process.env */
  helperEnv?: Record<string, string | undefined>;
  /** How long a helper may run. @default 30000 */
  helperTimeoutMs?: number;
}

/**
 * The default credential file locations from an environment (the CLI passes `process.env`):
 * `$XDG_CONFIG_HOME/spinel/registry-auth.json`, `$XDG_CONFIG_HOME/fermyon/registry-auth.json`
 * (`~/.config` when unset; `~/Library/Application Support` on macOS, `%APPDATA%` on Windows),
 * and `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
 */
export function defaultCredentialPaths(
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform = process.platform,
  home: string = env['HOME'] ?? env['USERPROFILE'] ?? homedir(),
): Required<CredentialPaths> {
  let configDir: string;
  if (env['XDG_CONFIG_HOME']) configDir = env['XDG_CONFIG_HOME'];
  else if (platform === 'darwin') configDir = join(home, 'Library', 'Application Support');
  else if (platform === 'win32') configDir = env['APPDATA'] ?? join(home, 'AppData', 'Roaming');
  else configDir = join(home, '.config');
  const spinelDir = env['XDG_CONFIG_HOME'] ? join(env['XDG_CONFIG_HOME'], 'spinel') : join(configDir, 'spinel');
  return {
    spinelAuthFile: join(spinelDir, 'registry-auth.json'),
    spinAuthFile: join(configDir, 'fermyon', 'registry-auth.json'),
    dockerConfigFile: join(env['DOCKER_CONFIG'] ?? join(home, '.docker'), 'config.json'),
  };
}

/** A parsed Docker-style config file. Unknown fields are kept when we rewrite it. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string } | string>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/**
 * Read a Docker-format config file; a missing file is `undefined`.
 *
 * @throws OciError `OCI_CREDENTIALS_FILE` when it exists but is not valid JSON.
 */
export async function readDockerConfig(path: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new CredentialsFileError(`cannot read credentials file ${path}: check its permissions.`, { cause: err });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfigFile;
  } catch (err) {
    // The parse error could quote file content (a secret), so it is not chained.
    throw new CredentialsFileError(`credentials file ${path} is not valid JSON: fix or remove it.`, { cause: new Error((err as Error).name) });
  }
}

/**
 * The key a registry is stored under: `index.docker.io` for Docker Hub (whatever alias or
 * URL form), else the lowercased host with port.
 */
export function credentialKey(server: string): string {
  let host = server.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  return normaliseRegistryHost(host);
}

/** Find the entry of a Docker `auths`/`credHelpers` map whose key normalises to `registry`. */
function lookup<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map) return undefined;
  if (Object.hasOwn(map, registry)) return map[registry];
  for (const [key, value] of Object.entries(map)) {
    if (credentialKey(key) === registry) return value;
  }
  return undefined;
}

function decodeAuth(auth: string): Credential | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { kind: 'basic', username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function fromAuthEntry(entry: DockerConfigFile['auths'] extends Record<string, infer V> | undefined ? V : never): Credential | undefined {
  if (typeof entry === 'string') return entry.length > 0 ? decodeAuth(entry) : undefined;
  if (entry === null || typeof entry !== 'object') return undefined;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken.length > 0) return { kind: 'identity-token', identityToken: entry.identitytoken };
  if (typeof entry.auth === 'string' && entry.auth.length > 0) return decodeAuth(entry.auth);
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { kind: 'basic', username: entry.username, password: entry.password };
  return undefined;
}

/** The server string handed to a credential helper (Docker Hub's historical URL). */
function helperServer(registry: string): string {
  return registry === DOCKER_HUB_REGISTRY ? 'https://index.docker.io/v1/' : registry;
}

/**
 * Run `docker-credential-<helper> get` with the server on stdin. A helper that says it has
 * no credentials yields `undefined`.
 *
 * @throws OciError `OCI_CREDENTIAL_HELPER` when the helper is missing, fails or prints bad JSON.
 */
export async function runCredentialHelper(
  helper: string,
  registry: string,
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) throw new CredentialHelperError(`credential helper name "${helper}" is not valid; fix credHelpers/credsStore in the Docker config.`);
  const program = `docker-credential-${helper}`;
  const server = helperServer(registry);
  const { code, stdout, stderr, spawnError } = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: Error }>((resolve) => {
    const child = spawn(program, ['get'], {
      env: (options.env ?? process.env) as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => resolve({ code: null, stdout: out, stderr: err, spawnError: e }));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
  });
  if (spawnError) {
    throw new CredentialHelperError(`cannot run credential helper ${program}: install it or remove it from the Docker config.`, { cause: spawnError });
  }
  if (code !== 0) {
    const said = `${stdout}\n${stderr}`;
    if (/credentials not found|not found in native keychain|no credentials/i.test(said)) return undefined;
    throw new CredentialHelperError(`credential helper ${program} failed for ${registry} (exit ${String(code)}): check that it is set up and logged in.`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
  } catch {
    throw new CredentialHelperError(`credential helper ${program} printed something that is not JSON for ${registry}.`);
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret.length === 0) return undefined;
  if (parsed.Username === '<token>') return { kind: 'identity-token', identityToken: parsed.Secret };
  if (typeof parsed.Username !== 'string') throw new CredentialHelperError(`credential helper ${program} gave no Username for ${registry}.`);
  return { kind: 'basic', username: parsed.Username, password: parsed.Secret };
}

/**
 * Credentials looked up, per registry, in: Spinel's own file, Spin's `registry-auth.json`,
 * Docker's config (`credHelpers`, then `auths` incl. identity tokens, then `credsStore`);
 * anonymous when none has an entry. Files are re-read on each lookup (they are small) so a
 * login in another process is seen.
 */
export function createCredentialResolver(options: CredentialResolverOptions = {}): CredentialSource {
  const helperOptions = {
    ...(options.helperEnv === undefined ? {} : { env: options.helperEnv }),
    ...(options.helperTimeoutMs === undefined ? {} : { timeoutMs: options.helperTimeoutMs }),
  };
  return {
    async get(registry: string): Promise<Credential | undefined> {
      const key = credentialKey(registry);
      for (const file of [options.spinelAuthFile, options.spinAuthFile]) {
        if (file === undefined) continue;
        const config = await readDockerConfig(file);
        const entry = lookup(config?.auths, key);
        const credential = entry === undefined ? undefined : fromAuthEntry(entry);
        if (credential) return credential;
      }
      if (options.dockerConfigFile === undefined) return undefined;
      const docker = await readDockerConfig(options.dockerConfigFile);
      if (!docker) return undefined;
      const helper = lookup(docker.credHelpers, key);
      if (typeof helper === 'string' && helper.length > 0) return runCredentialHelper(helper, key, helperOptions);
      const entry = lookup(docker.auths, key);
      const credential = entry === undefined ? undefined : fromAuthEntry(entry);
      if (credential) return credential;
      if (typeof docker.credsStore === 'string' && docker.credsStore.length > 0) return runCredentialHelper(docker.credsStore, key, helperOptions);
      return undefined;
    },
  };
}

/** A fixed credential for every registry, or per registry; handy for tests and programs. */
export function staticCredentials(credentials: Record<string, Credential>): CredentialSource {
  const normalised = new Map(Object.entries(credentials).map(([k, v]) => [credentialKey(k), v] as const));
  return {
    get: (registry) => Promise.resolve(normalised.get(credentialKey(registry))),
  };
}
