import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openCache } from '@spinel/cache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget } from '../open-target.js';
import { sha256Digest } from '@spinel/cache';
import { pullApp } from './pull-app.js';
import { packageApp } from './package-app.js';
import { pushApp, pushPackaged } from './push-app.js';
import { writeApp } from './test-store.js';

const exec = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-layout-app-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('apps in an OCI image layout directory (no registry)', () => {
  it('pushes to oci:<dir>:tag, pulls and unpacks from it, and skopeo reads the same manifest', async () => {
    const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(5000, 9)]);
    const files = { 'page.html': Buffer.alloc(700, 'p'), 'x.txt': 'x' };
    const app = await writeApp(join(dir, 'app'), { components: [{ id: 'web', wasm, files }] });
    const push = await openTarget('oci:./out:v2', { cwd: dir, create: true });
    expect(push.kind).toBe('layout');
    expect(push.display).toBe(`oci-layout:${join(dir, 'out')}:v2`);
    const pushed = await pushApp(app, { target: push.target, tag: push.tag ?? 'latest', sourceDateEpoch: 0 });

    const raw = await exec('skopeo', ['inspect', '--raw', `oci:${join(dir, 'out')}:v2`]);
    expect(Buffer.from(raw.stdout).equals(pushed.packaged.manifestBytes)).toBe(true);

    const pull = await openTarget(`${join(dir, 'out')}:v2`, { cwd: dir });
    const pulled = await pullApp({ target: pull.target, reference: pull.reference, store: openCache({ root: join(dir, 'cache'), fsync: false }), origin: pull.display, workDir: join(dir, 'work') });
    expect(pulled.digest).toBe(pushed.digest);
    const web = pulled.lockedApp.components[0];
    expect(sha256Digest(await readFile(fileURLToPath(web?.source.source ?? '')))).toBe(sha256Digest(wasm));
    expect(await readFile(join(fileURLToPath(web?.files?.[0]?.source ?? ''), 'page.html'))).toEqual(files['page.html']);
  });

  it('refuses a file swapped for a link after packaging, and writes none of what it names', async () => {
    const page = Buffer.alloc(80_000, 'p');
    const secret = Buffer.alloc(page.length, 's');
    await writeFile(join(dir, 'secret.bin'), secret);
    const appDir = join(dir, 'app-swapped');
    const app = await writeApp(appDir, { components: [{ id: 'web', wasm: Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(100, 1)]), files: { 'page.bin': page } }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    await rm(join(appDir, 'assets/web/page.bin'));
    await symlink(join(dir, 'secret.bin'), join(appDir, 'assets/web/page.bin'));
    const out = await openTarget('oci:./out-swapped:v1', { cwd: dir, create: true });
    await expect(pushPackaged(packaged, { target: out.target, tag: 'v1' })).rejects.toMatchObject({ code: 'OCI_APP_FILE_CHANGED' });
    const blob = (bytes: Buffer): string => join(dir, 'out-swapped', 'blobs', 'sha256', sha256Digest(bytes).slice('sha256:'.length));
    await expect(access(blob(secret))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(access(blob(page))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to pull from a directory that is not a layout', async () => {
    await expect(openTarget('oci:./missing:v1', { cwd: dir })).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID' });
  });
});
