import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { credentialKey, readDockerConfig, staticCredentials, type DockerConfigFile } from './credentials.js';
import { CredentialsFileError } from './errors.js';
import type { TransportOptions } from './transport.js';
import { normaliseServer } from './reference.js';
import { createRegistryClient } from './registry-client.js';

async function writeConfig(file: string, config: DockerConfigFile): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new CredentialsFileError(`cannot write credentials file ${file}: check that its directory is writable.`, { cause: err });
  }
}

/**
 * Store a user name and password for a server in a Docker-format credentials file
 * (`{"auths": {"<server>": {"auth": "<base64>"}}}`), written atomically with mode 0600.
 * Other entries and fields are kept.
 *
 * @throws OciError `OCI_CREDENTIALS_FILE`, `OCI_INVALID_REFERENCE`
 */
export async function storeCredential(file: string, server: string, credential: { username: string; password: string }): Promise<string> {
  const key = normaliseServer(server);
  const config = (await readDockerConfig(file)) ?? {};
  const auths = { ...(config.auths ?? {}) };
  for (const existing of Object.keys(auths)) if (credentialKey(existing) === key) delete auths[existing];
  auths[key] = { auth: Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64') };
  await writeConfig(file, { ...config, auths });
  return key;
}

/**
 * Remove a server's entry from a credentials file; `false` when there was none.
 *
 * @throws OciError `OCI_CREDENTIALS_FILE`, `OCI_INVALID_REFERENCE`
 */
export async function removeCredential(file: string, server: string): Promise<boolean> {
  const key = normaliseServer(server);
  const config = await readDockerConfig(file);
  if (!config?.auths) return false;
  const auths = { ...config.auths };
  let removed = false;
  for (const existing of Object.keys(auths)) {
    if (credentialKey(existing) === key) {
      delete auths[existing];
      removed = true;
    }
  }
  if (removed) await writeConfig(file, { ...config, auths });
  return removed;
}

/** Options of {@link login}. */
export interface LoginOptions extends Omit<TransportOptions, 'credentials'> {
  /** Server name or URL (`ghcr.io`, `https://ghcr.io`, `localhost:5000`). */
  server: string;
  username: string;
  password: string;
  /** File the credentials are stored in (Spinel's `registry-auth.json`). */
  authFile: string;
}

/** What {@link login} did. */
export interface LoginResult {
  /** The normalised server key the credentials are stored under. */
  server: string;
  username: string;
  authFile: string;
}

/**
 * Check a user name and password against the registry's `/v2/` endpoint (Basic or the
 * token flow, whichever it asks for), then store them with {@link storeCredential}.
 * Nothing is stored when the check fails.
 *
 * @throws OciError `OCI_UNAUTHORIZED`, `OCI_AUTH_FAILED`, `OCI_NETWORK`, `OCI_REGISTRY_ERROR`, `OCI_CREDENTIALS_FILE`, `OCI_INVALID_REFERENCE`
 */
export async function login(options: LoginOptions): Promise<LoginResult> {
  const server = normaliseServer(options.server);
  const { server: _s, username, password, authFile, ...transport } = options;
  const client = createRegistryClient({ ...transport, credentials: staticCredentials({ [server]: { kind: 'basic', username, password } }) });
  try {
    await client.checkAccess(server);
  } finally {
    await client.close();
  }
  await storeCredential(authFile, server, { username, password });
  return { server, username, authFile };
}

/**
 * Remove the stored credentials for a server from Spinel's file.
 *
 * @throws OciError `OCI_CREDENTIALS_FILE`, `OCI_INVALID_REFERENCE`
 */
export async function logout(options: { server: string; authFile: string }): Promise<{ server: string; removed: boolean }> {
  const server = normaliseServer(options.server);
  return { server, removed: await removeCredential(options.authFile, server) };
}
