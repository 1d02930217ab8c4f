import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killSpinels, spawnSpinel, type SpinelRun } from '../../test-spinel.js';

const MANIFEST = `spin_manifest_version = 2
[application]
name = "static-only"
version = "1.0.0"

[[trigger.http]]
id = "hi"
route = "/hi"
static_response = { status_code = 201, headers = { x-a = "b" }, body = "hello static" }

[[trigger.http]]
id = "catch-all"
route = "/..."
static_response = { status_code = 404, body = "custom not found" }
`;

function appDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-up-'));
  writeFileSync(join(dir, 'spin.toml'), MANIFEST);
  return dir;
}

afterEach(killSpinels);

const up = (args: string[], cwd: string): SpinelRun => spawnSpinel(['up', ...args], cwd);

async function waitFor(r: SpinelRun, pattern: RegExp): Promise<RegExpMatchArray> {
  for (let i = 0; i < 600; i++) {
    const m = pattern.exec(r.stdout());
    if (m !== null) return m;
    if (r.hasExited()) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no ${pattern} in output:\n${r.stdout()}\n${r.stderr()}`);
}

describe('spinel up', () => {
  it('serves an app like Spin and drains on SIGTERM with exit 0', async () => {
    const dir = appDir();
    const r = up(['--listen', '127.0.0.1:0'], dir);
    const [, base] = await waitFor(r, /Serving (http:\/\/127\.0\.0\.1:\d+)\n/);
    expect(r.stdout()).toContain(`Available Routes:\n  hi: ${base}/hi\n  catch-all: ${base} (wildcard)\n`);
    expect(r.stdout()).toContain('Logging component stdio to ".spin/logs/"');
    const hi = await fetch(`${base}/hi`);
    expect([hi.status, hi.headers.get('x-a'), await hi.text()]).toEqual([201, 'b', 'hello static']);
    const other = await fetch(`${base}/anything/else`);
    expect([other.status, await other.text()]).toEqual([404, 'custom not found']);
    const health = await fetch(`${base}/.well-known/spin/health`);
    expect(await health.text()).toBe('OK');
    const info = (await (await fetch(`${base}/.well-known/spin/info`)).json()) as unknown;
    expect(info).toEqual({ name: 'static-only', version: '1.0.0' });
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('prints routes as JSON with --format json', async () => {
    const dir = appDir();
    const r = up(['-f', join(dir, 'spin.toml'), '--listen', '127.0.0.1:0', '--format', 'json', '--state-dir', ''], tmpdir());
    await waitFor(r, /\n\}\n/);
    const json = JSON.parse(r.stdout()) as { base_url: string; routes: unknown[] };
    expect(json.base_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(json.routes).toEqual([
      { id: 'hi', route: '/hi', wildcard: false },
      { id: 'catch-all', route: '', wildcard: true },
    ]);
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });

  it('says when the address is in use, with a code', async () => {
    const dir = appDir();
    const first = up(['--listen', '127.0.0.1:0', '--state-dir', ''], dir);
    const [, port] = await waitFor(first, /Serving http:\/\/127\.0\.0\.1:(\d+)\n/);
    const second = up(['--listen', `127.0.0.1:${port}`, '--state-dir', ''], dir);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`127.0.0.1:${port} is already in use. To have Spinel search for a free port, use the --find-free-port option.`);
    expect(second.stderr()).toContain('Code: RUNTIME_HTTP_ADDRESS_IN_USE');
  });

  it('runs build commands first with --build, in Spin\'s words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-up-build-'));
    writeFileSync(
      join(dir, 'spin.toml'),
      `${MANIFEST}
[[trigger.http]]
route = "/never"
component = "built"

[component.built]
source = "missing.wasm"
[component.built.build]
command = "node -e \\"require('fs').writeFileSync('marker.txt', 'built')\\" && exit 3"
`,
    );
    const r = up(['--build', '--listen', '127.0.0.1:0'], dir);
    expect(await r.exited).toBe(1);
    expect(r.stdout()).toContain("Building component built with `node -e \"require('fs').writeFileSync('marker.txt', 'built')\" && exit 3`");
    expect(r.stderr()).toContain('Build command for component built failed with status 3');
    expect(r.stderr()).toContain('Code: CLI_BUILD_FAILED');
    expect(readFileSync(join(dir, 'marker.txt'), 'utf8')).toBe('built');
  });

  it('refuses a malformed --env', async () => {
    const r = up(['-e', 'NOEQUALS', '--listen', '127.0.0.1:0'], appDir());
    expect(await r.exited).toBe(1);
    expect(r.stderr()).toContain('Environment variable must be of the form `key=value`');
  });
});
