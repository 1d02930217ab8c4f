import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// End-to-end: the built CLI (`pnpm --filter @spinel/cli build` first) against a real registry with Basic auth.
const BIN = resolve(import.meta.dirname, '../../../bin/run.js');
const PASSWORD = 'Cli-Secret-Pa55word!';

let registry: TestRegistry;
let dir: string;

function spinel(args: string[], stdin = ''): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_CONFIG: join(dir, 'docker'), DEBUG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ stdout, stderr, code }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  registry = await startRegistry({ auth: 'htpasswd', users: { ci: PASSWORD } });
  dir = await mkdtemp(join(tmpdir(), 'spinel-cli-login-'));
});

afterAll(async () => {
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('spinel registry login / logout', () => {
  const authFile = (): string => join(dir, 'config', 'spinel', 'registry-auth.json');

  it('refuses a wrong password, stores nothing and never prints it', async () => {
    const wrong = 'Wrong-Pa55word-xyz';
    const result = await spinel(['registry', 'login', '-u', 'ci', '--password-stdin', registry.host], `${wrong}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Code: OCI_UNAUTHORIZED');
    expect(result.stdout + result.stderr).not.toContain(wrong);
    await expect(stat(authFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('logs in with --password-stdin, stores the credentials 0600, and logs out (oci alias)', async () => {
    const login = await spinel(['registry', 'login', '-u', 'ci', '--password-stdin', `http://${registry.host}/`], `${PASSWORD}\n`);
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`Successfully logged in as ci to registry ${registry.host}`);
    expect(login.stdout).not.toContain(PASSWORD);
    expect((await stat(authFile())).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(authFile(), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(stored.auths[registry.host]!.auth, 'base64').toString()).toBe(`ci:${PASSWORD}`);

    const logout = await spinel(['oci', 'logout', registry.host, '--json']);
    expect(logout.code).toBe(0);
    expect(JSON.parse(logout.stdout)).toMatchObject({ server: registry.host, removed: true });
    const after = JSON.parse(await readFile(authFile(), 'utf8')) as { auths: Record<string, unknown> };
    expect(after.auths[registry.host]).toBeUndefined();

    const again = await spinel(['registry', 'logout', registry.host]);
    expect(again.stdout).toContain(`Not logged in to ${registry.host}`);
  });

  it('asks for a password it cannot prompt for with a coded error', async () => {
    const result = await spinel(['oci', 'login', '-u', 'ci', registry.host]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Code: OCI_LOGIN_INPUT');
  });

  it('accepts -p and reports it in --json without the password', async () => {
    const result = await spinel(['oci', 'login', '-u', 'ci', '-p', PASSWORD, registry.host, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ server: registry.host, username: 'ci' });
    expect(result.stdout).not.toContain(PASSWORD);
  });
});
