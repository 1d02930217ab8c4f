import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, logout, removeCredential, storeCredential } from './credential-store.js';
import { createCredentialResolver, defaultCredentialPaths } from './credentials.js';
import { createRegistryClient } from './registry-client.js';
import { makeImage, pushImage } from './test-helpers.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('credential resolution', () => {
  let dir: string;
  let binDir: string;
  let helperLog: string;
  const paths = (): { spinelAuthFile: string; spinAuthFile: string; dockerConfigFile: string } => ({
    spinelAuthFile: join(dir, 'spinel', 'registry-auth.json'),
    spinAuthFile: join(dir, 'fermyon', 'registry-auth.json'),
    dockerConfigFile: join(dir, 'docker', 'config.json'),
  });
  const write = async (file: string, value: unknown): Promise<void> => {
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, JSON.stringify(value));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spinel-oci-creds-'));
    binDir = join(dir, 'bin');
    helperLog = join(dir, 'helper.log');
    await mkdir(binDir);
    // A real credential helper: reads the server from stdin, answers per server.
    const helper = join(binDir, 'docker-credential-test');
    await writeFile(
      helper,
      `#!/bin/sh
read -r server
echo "$1 $server" >> "${helperLog}"
case "$server" in
  helper.example.com) echo '{"ServerURL":"helper.example.com","Username":"helper-user","Secret":"helper-secret"}' ;;
  token.example.com) echo '{"ServerURL":"token.example.com","Username":"<token>","Secret":"refresh-123"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hub-user","Secret":"hub-secret"}' ;;
  broken.example.com) echo 'super-secret-output-not-json'; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    await chmod(helper, 0o755);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('derives default paths from the environment', () => {
    expect(defaultCredentialPaths({ XDG_CONFIG_HOME: '/x', DOCKER_CONFIG: '/d', HOME: '/h' }, 'linux')).toEqual({
      spinelAuthFile: '/x/spinel/registry-auth.json',
      spinAuthFile: '/x/fermyon/registry-auth.json',
      dockerConfigFile: '/d/config.json',
    });
    expect(defaultCredentialPaths({ HOME: '/h' }, 'linux')).toEqual({
      spinelAuthFile: '/h/.config/spinel/registry-auth.json',
      spinAuthFile: '/h/.config/fermyon/registry-auth.json',
      dockerConfigFile: '/h/.docker/config.json',
    });
  });

  it('looks in our file, then Spin’s, then Docker’s credHelpers, auths and credsStore', async () => {
    const p = paths();
    await write(p.spinelAuthFile, { auths: { 'ours.example.com': { auth: b64('ours:pw1') }, 'both.example.com': { auth: b64('ours:pw2') } } });
    // Spin writes a bare base64 string per server.
    await write(p.spinAuthFile, { auths: { 'both.example.com': b64('spin:pw3'), 'spin.example.com': b64('spin:pw4') } });
    await write(p.dockerConfigFile, {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pw5') },
        'docker.example.com': { auth: b64('docker:pw6') },
        'identity.example.com': { auth: b64('ignored:x'), identitytoken: 'id-token-7' },
        'helper.example.com': { auth: b64('not-used:x') },
      },
      credHelpers: { 'helper.example.com': 'test', 'token.example.com': 'test', 'missing.example.com': 'test', 'broken.example.com': 'test' },
      credsStore: 'test',
    });
    const resolver = createCredentialResolver({ ...p, helperEnv: { PATH: `${binDir}:/usr/bin:/bin` } });
    expect(await resolver.get('ours.example.com')).toEqual({ kind: 'basic', username: 'ours', password: 'pw1' });
    expect(await resolver.get('both.example.com')).toEqual({ kind: 'basic', username: 'ours', password: 'pw2' });
    expect(await resolver.get('spin.example.com')).toEqual({ kind: 'basic', username: 'spin', password: 'pw4' });
    expect(await resolver.get('index.docker.io')).toEqual({ kind: 'basic', username: 'hub', password: 'pw5' });
    expect(await resolver.get('docker.example.com')).toEqual({ kind: 'basic', username: 'docker', password: 'pw6' });
    expect(await resolver.get('identity.example.com')).toEqual({ kind: 'identity-token', identityToken: 'id-token-7' });
    expect(await resolver.get('helper.example.com')).toEqual({ kind: 'basic', username: 'helper-user', password: 'helper-secret' });
    expect(await resolver.get('token.example.com')).toEqual({ kind: 'identity-token', identityToken: 'refresh-123' });
    // credHelpers entry whose helper has nothing: anonymous, not the credsStore.
    expect(await resolver.get('missing.example.com')).toBeUndefined();
    // Not in any file: the credsStore helper is asked, and has nothing.
    expect(await resolver.get('nowhere.example.com')).toBeUndefined();
    const log = await readFile(helperLog, 'utf8');
    expect(log).toContain('get helper.example.com');
    expect(log).toContain('get nowhere.example.com');
  });

  it('asks the credsStore for Docker Hub with its historical URL', async () => {
    const p = paths();
    await write(p.dockerConfigFile, { credsStore: 'test' });
    await rm(p.spinelAuthFile, { force: true });
    await rm(p.spinAuthFile, { force: true });
    const resolver = createCredentialResolver({ ...p, helperEnv: { PATH: `${binDir}:/usr/bin:/bin` } });
    expect(await resolver.get('index.docker.io')).toEqual({ kind: 'basic', username: 'hub-user', password: 'hub-secret' });
  });

  it('reports a failing helper as OCI_CREDENTIAL_HELPER without its output', async () => {
    const p = paths();
    await write(p.dockerConfigFile, { credHelpers: { 'broken.example.com': 'test', 'absent.example.com': 'nonexistent' } });
    const resolver = createCredentialResolver({ ...p, helperEnv: { PATH: `${binDir}:/usr/bin:/bin` } });
    const err = await resolver.get('broken.example.com').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_CREDENTIAL_HELPER' });
    expect(String((err as Error).message)).not.toContain('super-secret-output');
    await expect(resolver.get('absent.example.com')).rejects.toMatchObject({ code: 'OCI_CREDENTIAL_HELPER' });
  });

  it('reports a corrupt file as OCI_CREDENTIALS_FILE without quoting it', async () => {
    const file = join(dir, 'corrupt.json');
    await writeFile(file, '{"auths": {"x": "c2VjcmV0LXZhbHVl"');
    const err = await createCredentialResolver({ spinelAuthFile: file }).get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_CREDENTIALS_FILE' });
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain('c2VjcmV0');
  });

  it('stores credentials with mode 0600, keeps other entries, and removes them on logout', async () => {
    const file = join(dir, 'store', 'registry-auth.json');
    await mkdir(join(dir, 'store'));
    await writeFile(file, JSON.stringify({ auths: { 'other.example.com': { auth: b64('o:p') } }, credsStore: 'keep-me' }));
    expect(await storeCredential(file, 'https://Docker.io/', { username: 'u', password: 'p:w' })).toBe('index.docker.io');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }>; credsStore: string };
    expect(written.credsStore).toBe('keep-me');
    expect(written.auths['other.example.com']).toBeDefined();
    expect(await createCredentialResolver({ spinelAuthFile: file }).get('index.docker.io')).toEqual({ kind: 'basic', username: 'u', password: 'p:w' });
    expect(await removeCredential(file, 'docker.io')).toBe(true);
    expect(await removeCredential(file, 'docker.io')).toBe(false);
    expect(await createCredentialResolver({ spinelAuthFile: file }).get('index.docker.io')).toBeUndefined();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});

describe('login and logout against a real registry', () => {
  let registry: TestRegistry;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { dora: 'correct horse' } });
    dir = await mkdtemp(join(tmpdir(), 'spinel-oci-login-'));
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores nothing when the password is wrong, stores and uses it when right, forgets it on logout', async () => {
    const authFile = join(dir, 'spinel', 'registry-auth.json');
    const err = await login({ server: registry.host, username: 'dora', password: 'wrong horse', authFile }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    expect(String((err as Error).message)).not.toContain('wrong horse');
    await expect(stat(authFile)).rejects.toMatchObject({ code: 'ENOENT' });

    const result = await login({ server: `http://${registry.host}/`, username: 'dora', password: 'correct horse', authFile });
    expect(result.server).toBe(registry.host);
    expect((await stat(authFile)).mode & 0o777).toBe(0o600);

    const client = createRegistryClient({ credentials: createCredentialResolver({ spinelAuthFile: authFile }) });
    await pushImage(client.repository(`${registry.host}/dora/app`), makeImage([100]), 'v1');
    await client.close();

    expect(await logout({ server: registry.host, authFile })).toEqual({ server: registry.host, removed: true });
    const anonymous = createRegistryClient({ credentials: createCredentialResolver({ spinelAuthFile: authFile }) });
    await expect(anonymous.repository(`${registry.host}/dora/app`).fetchManifest('v1')).rejects.toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    await anonymous.close();
  });
});
