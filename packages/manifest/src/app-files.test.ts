import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppRoot } from './app-root.js';
import { CheckedFileError, copyCheckedFile } from './checked-file.js';
import { walkGlob } from './glob.js';
import { lockManifestFile } from './read-manifest.js';
import type { LockManifestFileOptions } from './read-manifest.js';
import { expectInvalid, makeApp, WASM_BYTES } from './test-helpers.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A directory outside every app, holding a secret the links below try to reach. */
function outsideDir(): string {
  const dir = temp('spinel-outside-');
  writeFileSync(join(dir, 'secret.txt'), 'the secret');
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'nested', 'deep.txt'), 'deep secret');
  return dir;
}

function manifest(component: string): string {
  return `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\n${component}\n`;
}

function app(component: string, files: Record<string, string | Uint8Array> = {}): string {
  const dir = makeApp({ 'spin.toml': manifest(component), 'w.wasm': WASM_BYTES, ...files });
  made.push(dir);
  return dir;
}

async function lock(dir: string, options: Omit<LockManifestFileOptions, 'workingDir'> = {}) {
  const work = temp('spinel-work-');
  const locked = await lockManifestFile(join(dir, 'spin.toml'), { workingDir: work, ...options });
  return { locked, assets: join(work, 'assets', 'web') };
}

async function refusal(dir: string, options: Omit<LockManifestFileOptions, 'workingDir'> = {}) {
  const work = temp('spinel-work-');
  const err = await expectInvalid(() => lockManifestFile(join(dir, 'spin.toml'), { workingDir: work, ...options }));
  return { err, work };
}

function listAll(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath: string; isFile(): boolean }>)
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('files: symbolic links are followed only inside the app', () => {
  it('refuses a directory link to an absolute path outside (static/etc-link -> /etc), naming the link and its target', async () => {
    const out = outsideDir();
    const dir = app('source = "w.wasm"\nfiles = [{ source = "static", destination = "/" }]', { 'static/index.html': '<h1>hi</h1>' });
    symlinkSync(out, join(dir, 'static', 'etc-link'));
    const { err, work } = await refusal(dir);
    expect(err.errors.map((e) => e.code)).toEqual(['MANIFEST_FILES_LINK_OUTSIDE_APP']);
    const e = err.errors[0];
    expect(e?.message).toContain('"static/etc-link" is a symbolic link to');
    expect(e?.message).toContain(JSON.stringify(out));
    expect(e?.line).toBe(9); // the files line of the manifest
    expect(listAll(work).some((f) => f.includes('secret'))).toBe(false);
  });

  it('refuses /etc itself the way the issue found it', async () => {
    const dir = app('source = "w.wasm"\nfiles = [{ source = "static", destination = "/" }]', { 'static/a.txt': 'a' });
    symlinkSync('/etc', join(dir, 'static', 'etc-link'));
    const { err, work } = await refusal(dir);
    expect(err.errors[0]?.code).toBe('MANIFEST_FILES_LINK_OUTSIDE_APP');
    expect(err.errors[0]?.message).toContain('"/etc"');
    expect(listAll(work)).toEqual([]);
  });

  it('refuses a relative link that climbs out (static/up -> ../..) and a file link (static/pw -> <outside>/secret.txt)', async () => {
    const out = outsideDir();
    const dir = app('source = "w.wasm"\nfiles = ["static/**/*"]', { 'static/a.txt': 'a' });
    symlinkSync('../..', join(dir, 'static', 'up'));
    symlinkSync(join(out, 'secret.txt'), join(dir, 'static', 'pw'));
    const { err } = await refusal(dir);
    const messages = err.errors.map((e) => `${e.code} ${e.message}`);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^MANIFEST_FILES_LINK_OUTSIDE_APP "static\/pw" is a symbolic link to /);
    expect(messages[1]).toMatch(/^MANIFEST_FILES_LINK_OUTSIDE_APP "static\/up" is a symbolic link to "\.\.\/\.\." \(resolving to /);
  });

  it('refuses a link deep in the tree and the first link of a chain that leaves the app', async () => {
    const out = outsideDir();
    const dir = app('source = "w.wasm"\nfiles = ["static/**/*"]', { 'static/x/y/z/ok.txt': 'ok' });
    symlinkSync(out, join(dir, 'static', 'x', 'y', 'z', 'deep'));
    // chain: static/hop -> ../hop2 (inside) -> <outside>
    symlinkSync(out, join(dir, 'hop2'));
    symlinkSync('../hop2', join(dir, 'static', 'hop'));
    const { err } = await refusal(dir);
    const links = err.errors.map((e) => /^"([^"]+)"/.exec(e.message)?.[1]);
    expect(links).toEqual(['static/hop', 'static/x/y/z/deep']);
    expect(err.errors[0]?.message).toContain(`"../hop2" (resolving to ${JSON.stringify(out)})`);
  });

  it('refuses a mount whose source is itself a link out, and a single file reached through one', async () => {
    const out = outsideDir();
    const dir = app('source = "w.wasm"\nfiles = [{ source = "data", destination = "/d" }, "via/secret.txt"]');
    symlinkSync(out, join(dir, 'data'));
    symlinkSync(out, join(dir, 'via'));
    const { err } = await refusal(dir);
    expect(err.errors.map((e) => [e.code, /^"([^"]+)"/.exec(e.message)?.[1]])).toEqual([
      ['MANIFEST_FILES_LINK_OUTSIDE_APP', 'data'],
      ['MANIFEST_FILES_LINK_OUTSIDE_APP', 'via'],
    ]);
  });

  it('follows links that stay inside the app (files and directories, chains) and walks a cycle once', async () => {
    const dir = app('source = "w.wasm"\nfiles = [{ source = "static", destination = "/" }]', {
      'static/index.html': 'index',
      'images/logo.png': 'png',
      'docs/guide/a.md': 'guide',
    });
    symlinkSync('../images/logo.png', join(dir, 'static', 'logo.png'));
    symlinkSync(join(dir, 'docs'), join(dir, 'static', 'docs'));
    symlinkSync('docs', join(dir, 'static', 'docs-again')); // a chain of two inside links
    symlinkSync('.', join(dir, 'static', 'loop'));
    const { assets } = await lock(dir);
    expect(listAll(assets)).toEqual(['docs-again/guide/a.md', 'docs/guide/a.md', 'index.html', 'logo.png']);
    expect(readFileSync(join(assets, 'logo.png'), 'utf8')).toBe('png');
  });

  it('does not refuse links the pattern or exclude_files never use', async () => {
    const out = outsideDir();
    const dir = app('source = "w.wasm"\nfiles = ["static/*.txt", "more/**/*"]\nexclude_files = ["more/ext/**"]', { 'static/a.txt': 'a', 'more/b.txt': 'b' });
    symlinkSync(out, join(dir, 'static', 'elsewhere')); // a directory 'static/*.txt' cannot reach into
    symlinkSync(join(out, 'secret.txt'), join(dir, 'static', 'secret.md')); // does not match *.txt
    symlinkSync(out, join(dir, 'more', 'ext')); // excluded whole
    const { assets } = await lock(dir);
    expect(listAll(assets)).toEqual(['more/b.txt', 'static/a.txt']);
  });

  it('applies the same rule to --direct-mounts', async () => {
    const out = outsideDir();
    const dir = app('source = "w.wasm"\nfiles = ["static"]', { 'static/a.txt': 'a', 'shared/s.txt': 's' });
    symlinkSync(join(dir, 'shared'), join(dir, 'static', 'shared'));
    const ok = await lock(dir, { directMounts: true });
    expect(ok.locked.components[0]?.files?.[0]?.path).toBe('static');
    symlinkSync(join(out, 'nested'), join(dir, 'static', 'sub-link'));
    const { err } = await refusal(dir, { directMounts: true });
    expect(err.errors.map((e) => e.code)).toEqual(['MANIFEST_FILES_LINK_OUTSIDE_APP']);
    expect(err.errors[0]?.message).toContain('"static/sub-link"');
  });
});

describe('a file swapped between its check and its copy', () => {
  async function checked(dir: string, rel: string) {
    const found = await walkGlob(await AppRoot.open(dir), `${rel}`);
    expect(found.refusals).toEqual([]);
    const file = found.files[0];
    if (file === undefined) throw new Error('not found');
    return file;
  }

  it('refuses a link swapped in for the checked file (no-follow open, identity compared)', async () => {
    const out = outsideDir();
    const dir = temp('spinel-swap-');
    mkdirSync(join(dir, 'static'));
    writeFileSync(join(dir, 'static', 'a.txt'), 'mine');
    const file = await checked(dir, 'static/a.txt');
    rmSync(join(dir, 'static', 'a.txt'));
    symlinkSync(join(out, 'secret.txt'), join(dir, 'static', 'a.txt'));
    const dest = join(temp('spinel-dest-'), 'a.txt');
    const err = await copyCheckedFile(file, dest, '"static/a.txt"', 1 << 20, 'maxFileBytes').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckedFileError);
    expect((err as CheckedFileError).code).toBe('MANIFEST_FILES_CHANGED');
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a directory on the path swapped for a link out, and a FIFO put in its place (without blocking)', async () => {
    const out = outsideDir();
    writeFileSync(join(out, 'nested', 'a.txt'), 'outside');
    const dir = temp('spinel-swap-');
    mkdirSync(join(dir, 'static', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'static', 'nested', 'a.txt'), 'mine');
    const file = await checked(dir, 'static/nested/a.txt');
    renameSync(join(dir, 'static', 'nested'), join(dir, 'static', 'old'));
    symlinkSync(join(out, 'nested'), join(dir, 'static', 'nested'));
    const dest = join(temp('spinel-dest-'), 'a.txt');
    await expect(copyCheckedFile(file, dest, '"static/nested/a.txt"', 1 << 20, 'maxFileBytes')).rejects.toMatchObject({ code: 'MANIFEST_FILES_CHANGED' });

    writeFileSync(join(dir, 'static', 'b.txt'), 'b');
    const b = await checked(dir, 'static/b.txt');
    rmSync(join(dir, 'static', 'b.txt'));
    execFileSync('mkfifo', [join(dir, 'static', 'b.txt')]);
    await expect(copyCheckedFile(b, dest, '"static/b.txt"', 1 << 20, 'maxFileBytes')).rejects.toMatchObject({ code: 'MANIFEST_FILES_CHANGED' });
  });

  it('copies the checked file, at most the size it had when checked', async () => {
    const dir = temp('spinel-swap-');
    writeFileSync(join(dir, 'a.txt'), '12345');
    const file = await checked(dir, 'a.txt');
    writeFileSync(join(dir, 'a.txt'), '1234567890', { flag: 'a' }); // grows in place: same inode
    const dest = join(temp('spinel-dest-'), 'a.txt');
    await copyCheckedFile(file, dest, '"a.txt"', 1 << 20, 'maxFileBytes');
    expect(readFileSync(dest, 'utf8')).toBe('12345');
  });
});

describe('sources and files must be regular files of bounded size', () => {
  it('refuses a component source of ../../../../dev/zero at lock, with the line of `source`', async () => {
    const dir = app('source = "../../../../../../../../dev/zero"');
    const { err } = await refusal(dir);
    expect(err.errors.map((e) => e.code)).toEqual(['MANIFEST_NOT_REGULAR_FILE']);
    expect(err.errors[0]?.message).toContain('is a character device, not a regular file');
    expect(err.errors[0]?.line).toBe(8);
  });

  it('refuses a FIFO as a component source and as a dependency source without blocking, and a directory', async () => {
    const dir = app('source = "pipe.wasm"\n[component.web.dependencies]\n"a:b/c" = { path = "dep.wasm" }\n"a:b/d" = { path = "d" }', { 'd/x': 'x' });
    execFileSync('mkfifo', [join(dir, 'pipe.wasm'), join(dir, 'dep.wasm')]);
    const { err } = await refusal(dir);
    // Sources are checked concurrently: compare in a fixed order.
    expect(err.errors.map((e) => [e.code, /is (a [a-z ()A-Z]+), not/.exec(e.message)?.[1]]).sort()).toEqual([
      ['MANIFEST_NOT_REGULAR_FILE', 'a directory'],
      ['MANIFEST_NOT_REGULAR_FILE', 'a named pipe (FIFO)'],
      ['MANIFEST_NOT_REGULAR_FILE', 'a named pipe (FIFO)'],
    ]);
  });

  it('refuses a FIFO, a socket and a link to a device among the files', async () => {
    const dir = app('source = "w.wasm"\nfiles = ["static/**/*", "zero"]', { 'static/a.txt': 'a' });
    execFileSync('mkfifo', [join(dir, 'static', 'fifo')]);
    const server = createServer();
    await new Promise<void>((done) => server.listen(join(dir, 'static', 'sock'), done));
    try {
      symlinkSync('/dev/zero', join(dir, 'zero'));
      const { err } = await refusal(dir);
      expect(err.errors.map((e) => e.code).sort()).toEqual(['MANIFEST_FILES_LINK_OUTSIDE_APP', 'MANIFEST_NOT_REGULAR_FILE', 'MANIFEST_NOT_REGULAR_FILE']);
      expect(err.message).toContain('"static/fifo" is a named pipe (FIFO)');
      expect(err.message).toContain('"static/sock" is a socket');
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('refuses sources and files over the limits before reading them (a sparse 100 GiB source included)', async () => {
    const dir = app('source = "huge.wasm"\nfiles = ["big.bin"]', { 'big.bin': Buffer.alloc(2048) });
    writeFileSync(join(dir, 'huge.wasm'), '');
    truncateSync(join(dir, 'huge.wasm'), 100 * 1024 ** 3);
    expect((await stat(join(dir, 'huge.wasm'))).size).toBe(100 * 1024 ** 3);
    const { err } = await refusal(dir, { maxFileBytes: 1024 });
    expect(err.errors.map((e) => e.code)).toEqual(['MANIFEST_FILE_TOO_LARGE', 'MANIFEST_FILE_TOO_LARGE']);
    expect(err.errors[0]?.message).toContain('is 100 GiB, more than the 512 MiB allowed; raise `maxSourceBytes`');
    expect(err.errors[1]?.message).toContain('"big.bin" is 2.0 KiB, more than the 1.0 KiB allowed; raise `maxFileBytes`');
    const ok = await lock(dir, { maxSourceBytes: 200 * 1024 ** 3 });
    expect(listAll(ok.assets)).toEqual(['big.bin']);
  });

  it('still locks an app whose source is not built yet (as Spin does)', async () => {
    const dir = app('source = "target/not-built.wasm"');
    const { locked } = await lock(dir);
    expect(locked.components[0]?.source.source).toMatch(/target\/not-built\.wasm$/);
  });
});
