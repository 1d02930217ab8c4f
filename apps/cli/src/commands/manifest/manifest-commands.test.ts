import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// End-to-end: the built CLI (`pnpm --filter @spinel/cli build` first).
const exec = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../../bin/run.js');
const WASM = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

let root: string;

async function spinel(args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, SPINEL_CACHE_DIR: join(root, 'cache') } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function app(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(root, name);
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), content);
  }
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cli-manifest-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// Each test starts the CLI several times; on a loaded machine one start can take seconds.
vi.setConfig({ testTimeout: 240_000 });

describe('spinel lock | up | registry push: what an app reads stays inside it', () => {
  it('refuses a files link to /etc and a /dev/zero source in every command that locks, with the code, and copies or uploads nothing', async () => {
    const { symlink } = await import('node:fs/promises');
    const dir = await app('escape', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "esc"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "web.wasm"\nfiles = [{ source = "static", destination = "/" }]\n',
      'web.wasm': WASM,
      'static/index.html': 'hi',
    });
    await symlink('/etc', join(dir, 'static', 'etc-link'));
    const temp = join(root, 'escape-temp');
    const layout = join(root, 'escape-layout');
    for (const args of [['lock', '-f', dir, '--temp', temp], ['registry', 'push', '-f', dir, `oci-layout:${layout}:v1`], ['up', '-f', dir, '--temp', temp, '--listen', '127.0.0.1:0']]) {
      const r = await spinel(args, root);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('error[MANIFEST_FILES_LINK_OUTSIDE_APP]: "static/etc-link" is a symbolic link to "/etc"');
    }
    expect(existsSync(join(temp, 'assets', 'web', 'etc-link'))).toBe(false);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(join(layout, 'blobs', 'sha256')).catch(() => [])).toEqual([]);

    const zero = await app('zero', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "zero"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "../../../../../../../../../dev/zero"\n',
    });
    const r = await spinel(['up', '-f', zero, '--listen', '127.0.0.1:0'], root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[MANIFEST_NOT_REGULAR_FILE]');
    expect(r.stderr).toContain('is a character device, not a regular file');
    const sized = await app('size', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "size"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "web.wasm"\n',
      'web.wasm': WASM,
    });
    expect((await spinel(['lock', '-f', sized], root)).code).toBe(0);
    const big = await spinel(['lock', '-f', sized, '--max-source-size', '4'], root);
    expect(big.code).toBe(1);
    expect(big.stderr).toContain('error[MANIFEST_FILE_TOO_LARGE]');
  });
});

describe('spinel lock', () => {
  it('prints the locked app for a directory, and writes it with -o', async () => {
    const dir = await app('lock-ok', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "hello"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "web.wasm"\nfiles = ["static"]\n',
      'web.wasm': WASM,
      'static/index.html': '<h1>hi</h1>',
    });
    const temp = join(root, 'lock-ok-temp');
    const r = await spinel(['lock', '-f', dir, '--temp', temp], root);
    expect(r.code).toBe(0);
    const locked = JSON.parse(r.stdout);
    expect(locked.metadata.origin).toBe(pathToFileURL(join(dir, 'spin.toml')).href);
    expect(locked.components[0].source.source).toBe(pathToFileURL(join(dir, 'web.wasm')).href);
    expect(locked.components[0].files).toEqual([{ source: pathToFileURL(join(temp, 'assets', 'web')).href, path: '/' }]);
    expect(await readFile(join(temp, 'assets/web/static/index.html'), 'utf8')).toBe('<h1>hi</h1>');

    const out = join(root, 'out.lock');
    const w = await spinel(['lock', '-o', out, '--temp', temp], dir);
    expect(w.code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(locked);
  });

  it('finds spin.toml in a parent directory', async () => {
    const dir = await app('lock-up', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "up"\n[[trigger.http]]\nroute = "/"\ncomponent = "web"\n[component.web]\nsource = "web.wasm"\n',
      'src/deep/.keep': '',
    });
    const r = await spinel(['lock'], join(dir, 'src', 'deep'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).metadata.name).toBe('up');
  });

  it('reports every problem with line, column and code, without a stack trace', async () => {
    const dir = await app('lock-bad', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "bad"\n[[trigger.http]]\nroute = "/a/.../b"\ncomponent = "web"\n[component.web]\nsource = "web.wasm"\nallowed_outbound_hosts = ["example.com"]\nsorce = 1\n',
    });
    const r = await spinel(['lock'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Found 3 problems');
    expect(r.stderr).toContain(`${join(dir, 'spin.toml')}:5:9: error[MANIFEST_INVALID_ROUTE]`);
    expect(r.stderr).toContain("does not contain a scheme (e.g., 'http://' or '*://')");
    expect(r.stderr).toContain(':10:1: error[MANIFEST_UNKNOWN_FIELD]: unknown field `sorce`');
    expect(r.stderr).toContain('10 | sorce = 1\n       | ^^^^^');
    expect(r.stderr).toContain('Code: MANIFEST_INVALID');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('downloads URL sources into <cache-dir>/registry through the cache', async () => {
    const body = Buffer.concat([WASM, Buffer.from('remote component')]);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    let hits = 0;
    const server: Server = createServer((req, res) => {
      hits++;
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const dir = await app('lock-url', {
        'spin.toml': `spin_manifest_version = 2\n[application]\nname = "remote"\n[[trigger.http]]\nroute = "/"\ncomponent = "web"\n[component.web]\nsource = { url = "http://127.0.0.1:${port}/web.wasm", digest = "${digest}" }\n`,
      });
      const cacheDir = join(root, 'url-cache');
      const r = await spinel(['lock', '--cache-dir', cacheDir], dir);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const source = JSON.parse(r.stdout).components[0].source.source as string;
      expect(source.startsWith(pathToFileURL(join(cacheDir, 'registry')).href)).toBe(true);
      expect(source).toContain(digest.slice('sha256:'.length));
      const again = await spinel(['lock', '--cache-dir', cacheDir], dir);
      expect(again.code).toBe(0);
      expect(hits).toBe(1);

      const bad = await app('lock-url-bad', {
        'spin.toml': `spin_manifest_version = 2\n[application]\nname = "remote"\n[[trigger.http]]\nroute = "/"\ncomponent = "web"\n[component.web]\nsource = { url = "http://127.0.0.1:${port}/web.wasm", digest = "sha256:${'0'.repeat(64)}" }\n`,
      });
      const mismatch = await spinel(['lock', '--cache-dir', join(root, 'url-cache-2')], bad);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stderr).toContain('MANIFEST_SOURCE_RESOLVE_FAILED');
      expect(mismatch.stderr).toContain('component `web`');
    } finally {
      server.close();
    }
  });
});

describe('spinel build', () => {
  it('runs build commands in the workdir, in order, and stops at the first failure', async () => {
    const dir = await app('build', {
      'spin.toml': `spin_manifest_version = 2
[application]
name = "b"
[[trigger.http]]
route = "/one"
component = "one"
[[trigger.http]]
route = "/two"
component = "two"
[[trigger.http]]
route = "/three"
component = "three"
[component.one]
source = "one/out.wasm"
[component.one.build]
command = ["echo first > step1.txt", "echo second-from-one"]
workdir = "one"
[component.two]
source = "two.wasm"
[component.two.build]
command = "exit 3"
[component.three]
source = "three.wasm"
[component.three.build]
command = "echo never > three.txt"
`,
      'one/.keep': '',
    });
    const r = await spinel(['build'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Building component one with `echo first > step1.txt`');
    expect(r.stdout).toContain('second-from-one');
    expect(r.stdout).toContain('Building component two with `exit 3`');
    expect(r.stdout).not.toContain('Finished building all Spin components');
    expect(r.stderr).toContain('Build command for component two failed with status 3');
    expect(r.stderr).toContain('Code: CLI_BUILD_FAILED');
    expect(await readFile(join(dir, 'one/step1.txt'), 'utf8')).toBe('first\n');
    expect(existsSync(join(dir, 'three.txt'))).toBe(false);

    const only = await spinel(['build', '-c', 'three', '-c', 'one'], dir);
    expect(only.code).toBe(0);
    expect(only.stdout).not.toContain('component two');
    expect(only.stdout).toContain('Finished building all Spin components');
    expect(existsSync(join(dir, 'three.txt'))).toBe(true);

    const unknown = await spinel(['build', '-c', 'nope'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown component 'nope'");
  });
});

describe('spinel doctor', () => {
  it('reports problems with line and column and missing or non-Wasm sources', async () => {
    const dir = await app('doctor', {
      'spin.toml': 'spin_manifest_version = 2\n[application]\nname = "d"\n[[trigger.http]]\nroute = "/a"\ncomponent = "a"\n[[trigger.http]]\nroute = "/b"\ncomponent = "b"\n[component.a]\nsource = "missing.wasm"\n[component.b]\nsource = "text.wasm"\nfiles = ["nowhere.txt"]\n',
      'text.wasm': 'not wasm',
    });
    const r = await spinel(['doctor'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(':11:10: error[DOCTOR_MISSING_SOURCE]: component `a`: Wasm source "missing.wasm" does not exist.');
    expect(r.stdout).toContain(':13:10: error[DOCTOR_NOT_WASM]: component `b`');
    expect(r.stdout).toContain(':14:10: error[MANIFEST_FILES_NOT_FOUND]: "nowhere.txt" does not exist');
    expect(r.stderr).toContain('3 problems found');

    await writeFile(join(dir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\nname = "d"\n[[trigger.http]]\nroute = "/a/.../b"\ncomponent = "a"\n[component.a]\nsource = "a.wasm"\nkey_value_stores = ["Bad Label"]\n');
    const bad = await spinel(['doctor', '--json'], dir);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report.problems.map((p: { code: string; line: number }) => [p.code, p.line])).toEqual([
      ['MANIFEST_INVALID_LABEL', 9],
      ['MANIFEST_INVALID_ROUTE', 5],
    ]);
  });

  it('offers the v1 → v2 upgrade and writes it with --fix, keeping a backup', async () => {
    const v1 = 'spin_manifest_version = "1"\nname = "legacy"\ntrigger = { type = "http" }\n[[component]]\nid = "web"\nsource = "web.wasm"\n[component.trigger]\nroute = "/..."\n';
    const dir = await app('doctor-v1', { 'spin.toml': v1, 'web.wasm': WASM });
    const offer = await spinel(['doctor'], dir);
    expect(offer.code).toBe(0);
    expect(offer.stdout).toContain('warning[DOCTOR_MANIFEST_V1]');
    expect(await readFile(join(dir, 'spin.toml'), 'utf8')).toBe(v1);

    const before = JSON.parse((await spinel(['lock'], dir)).stdout);
    const fix = await spinel(['doctor', '--fix'], dir);
    expect(fix.code).toBe(0);
    expect(fix.stdout).toContain('Upgraded');
    expect(await readFile(join(dir, 'spin.toml.v1.bak'), 'utf8')).toBe(v1);
    const upgraded = await readFile(join(dir, 'spin.toml'), 'utf8');
    expect(upgraded).toContain('spin_manifest_version = 2');
    const after = JSON.parse((await spinel(['lock'], dir)).stdout);
    expect(after.components).toEqual(before.components);
    expect(after.triggers).toEqual(before.triggers);
    const clean = await spinel(['doctor'], dir);
    expect(clean.stdout).toContain('No problems found.');
  });
});
