import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { wagiModule } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, serve, SPINEL_BIN } from '../../test-spinel.js';

// End-to-end: `spinel build --up`, `spinel up --build` and `--skip-target-checks` from the built CLI.
const exec = promisify(execFile);

// A static response to serve and a component whose build leaves a marker (it is never requested).
const MANIFEST = (extra = ''): string => `spin_manifest_version = 2
[application]
name = "built"
${extra}
[[trigger.http]]
route = "/hi"
static_response = { status_code = 200, body = "hi" }

[[trigger.http]]
route = "/never"
component = "web"
executor = { type = "wagi" }

[component.web]
source = "web.wasm"
[component.web.build]
command = "node -e \\"require('fs').writeFileSync('marker.txt', String(Date.now()))\\""
`;

let wagi: string;
beforeAll(async () => {
  wagi = await wagiModule('echo');
});

const roots: string[] = [];
afterEach(killSpinels);
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function app(extra?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-build-up-'));
  roots.push(dir);
  writeFileSync(join(dir, 'spin.toml'), MANIFEST(extra));
  copyFileSync(wagi, join(dir, 'web.wasm'));
  return dir;
}


describe('building and serving in one command', () => {
  it('build --up builds, then serves with the arguments after --', async () => {
    const dir = app();
    const r = await serve(['build', '--up', '--', '--listen', '127.0.0.1:0'], dir);
    const base = r.base;
    const out = r.output();
    expect(out.indexOf('Finished building all Spin components')).toBeLessThan(out.indexOf('Serving '));
    expect(readFileSync(join(dir, 'marker.txt'), 'utf8')).toMatch(/^\d+$/);
    expect(await (await fetch(`${base}/hi`)).text()).toBe('hi');
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });

  it('up --build builds first', async () => {
    const dir = app();
    const r = await serve(['up', '--build', '--listen', '127.0.0.1:0'], dir);
    const base = r.base;
    expect(r.output()).toContain('Building component web with');
    expect(readFileSync(join(dir, 'marker.txt'), 'utf8')).toMatch(/^\d+$/);
    expect((await fetch(`${base}/hi`)).status).toBe(200);
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });

  it('refuses arguments for up without --up', async () => {
    const dir = app();
    await expect(exec(process.execPath, [SPINEL_BIN, 'build', '--', '--listen', '127.0.0.1:0'], { cwd: dir })).rejects.toMatchObject({
      stderr: expect.stringContaining('Unexpected arguments: --listen 127.0.0.1:0'),
    });
  });

  it('notes that deployment targets are not checked, unless --skip-target-checks', async () => {
    const dir = app('targets = ["spin-up:3.3"]');
    const noted = await exec(process.execPath, [SPINEL_BIN, 'build'], { cwd: dir });
    expect(noted.stderr).toContain('Note: spinel does not check components against the deployment targets (spin-up:3.3); pass --skip-target-checks to silence this note.');
    const skipped = await exec(process.execPath, [SPINEL_BIN, 'build', '--skip-target-checks'], { cwd: dir });
    expect(skipped.stderr).toBe('');
    expect(skipped.stdout).toContain('Finished building all Spin components');
  });
});
