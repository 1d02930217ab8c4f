import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openCache, sha256Digest } from '@spinel/cache';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// End-to-end: the built CLI (`pnpm --filter @spinel/cli build` first).
const exec = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../../bin/run.js');
const DAY = 86_400_000;

let root: string;
let cacheDir: string;

interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

async function spinel(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const fullEnv: Record<string, string | undefined> = { ...process.env, SPINEL_CACHE_DIR: undefined, ...env };
  for (const key of Object.keys(fullEnv)) if (fullEnv[key] === undefined) delete fullEnv[key];
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { encoding: 'utf8', env: fullEnv as NodeJS.ProcessEnv });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function json<T>(args: string[]): Promise<T> {
  const run = await spinel([...args, '--json', '--cache-dir', cacheDir]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function putAged(text: string, ageMs: number, kind: 'wasm' | 'data' = 'data'): Promise<{ digest: string; path: string }> {
  const bytes = Buffer.from(text);
  const { digest, path } = await openCache({ root: cacheDir }).putBytes(sha256Digest(bytes), bytes, { kind });
  const when = new Date(Date.now() - ageMs);
  await utimes(path, when, when);
  return { digest, path };
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cli-cache-'));
  cacheDir = join(root, 'cache');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

vi.setConfig({ testTimeout: 120_000 });

describe('spinel cache', () => {
  it('dir: --cache-dir, then $SPINEL_CACHE_DIR, then $XDG_CACHE_HOME/spinel', async () => {
    expect((await spinel(['cache', 'dir', '--cache-dir', cacheDir])).stdout).toBe(`${cacheDir}\n`);
    expect((await spinel(['cache', 'dir', '--json'], { SPINEL_CACHE_DIR: join(root, 'env') })).stdout).toContain(JSON.stringify(join(root, 'env')));
    expect((await spinel(['cache', 'dir'], { XDG_CACHE_HOME: join(root, 'xdg') })).stdout).toBe(`${join(root, 'xdg', 'spinel')}\n`);
  });

  it('list and size show blobs, manifests and derived entries', async () => {
    const wasm = await putAged('component', 0, 'wasm');
    await putAged('layer data', DAY);
    const cache = openCache({ root: cacheDir });
    await cache.writeManifest({ registry: 'localhost:5000', repository: 'spin/app', tag: 'v1' }, { manifest: '{}', config: '{}' });
    const derived = await cache.putDerived('jco-1', async (dir) => writeFile(join(dir, 'a.js'), 'export {}'));
    // A derived entry's bytes include its verification record.
    const record = (await stat(join(derived.path, '.spinel-derived.json'))).size;

    const listed = await json<{ root: string; entries: Array<{ kind: string; name: string; size: number }> }>(['cache', 'list']);
    expect(listed.root).toBe(cacheDir);
    expect(listed.entries.map((e) => `${e.kind} ${e.name}`).sort()).toEqual(
      [`wasm ${wasm.digest}`, `data ${sha256Digest(Buffer.from('layer data'))}`, 'manifest localhost:5000/spin/app/v1', 'derived jco-1'].sort(),
    );
    const text = await spinel(['cache', 'list', '--cache-dir', cacheDir]);
    expect(text.stdout).toContain(wasm.digest);
    expect(text.stdout.split('\n')[0]).toMatch(/^(wasm|manifest|derived) /);

    const size = await json<{ totalBytes: number; entries: number; byKind: Record<string, { count: number; bytes: number }> }>(['cache', 'size']);
    expect(size.entries).toBe(4);
    expect(size.totalBytes).toBe(9 + 10 + 4 + 9 + record);
    expect(size.byKind['wasm']).toEqual({ count: 1, bytes: 9 });
    expect((await spinel(['cache', 'size', '--cache-dir', cacheDir])).stdout).toMatch(new RegExp(`^${32 + record} B in 4 entries`));
  });

  it('verify finds a flipped byte, reports it and removes it; --dry-run only reports, with exit status 1', async () => {
    const good = await putAged('good bytes', 0);
    const bad = await putAged('bad bytes!', 0, 'wasm');
    await writeFile(bad.path, 'bad bytes?');

    const dry = await spinel(['cache', 'verify', '--dry-run', '--cache-dir', cacheDir]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(`corrupt wasm ${bad.digest}: content hashes to ${sha256Digest(Buffer.from('bad bytes?'))}`);
    expect(await readdir(join(cacheDir, 'registry', 'wasm'))).toEqual([bad.digest]);

    const report = await json<{ checked: number; corrupt: Array<{ name: string; removed: boolean }> }>(['cache', 'verify']);
    expect(report.checked).toBe(2);
    expect(report.corrupt).toEqual([expect.objectContaining({ name: bad.digest, removed: true })]);
    expect(await readdir(join(cacheDir, 'registry', 'wasm'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'registry', 'data'))).toEqual([good.digest]);
    expect((await spinel(['cache', 'verify', '--cache-dir', cacheDir])).stdout).toContain('Checked 1 entries: all intact.');
  });

  it('prune by age, then by size budget (least recently used first), and removes abandoned temporary files', async () => {
    const old = await putAged('o'.repeat(100), 10 * DAY);
    const mid = await putAged('m'.repeat(100), 3 * DAY);
    const recent = await putAged('r'.repeat(100), 1 * DAY);
    const tempDir = join(cacheDir, 'registry', 'data');
    await mkdir(tempDir, { recursive: true });
    const abandoned = join(tempDir, '.spinel-tmp-999999999-aaaaaaaaaaaa');
    await writeFile(abandoned, 'partial');
    const when = new Date(Date.now() - 2 * 3_600_000);
    await utimes(abandoned, when, when);

    const dry = await json<{ removed: Array<{ name: string }> }>(['cache', 'prune', '--older-than', '7d', '--dry-run']);
    expect(dry.removed.map((e) => e.name)).toEqual([old.digest]);
    expect((await readdir(tempDir)).length).toBe(4);

    const byAge = await json<{ removed: Array<{ name: string }>; removedTemporaryFiles: number }>(['cache', 'prune', '--older-than', '7d']);
    expect(byAge.removed.map((e) => e.name)).toEqual([old.digest]);
    expect(byAge.removedTemporaryFiles).toBe(1);

    const bySize = await spinel(['cache', 'prune', '--max-size', '150', '--cache-dir', cacheDir]);
    expect(bySize.code).toBe(0);
    expect(bySize.stdout).toContain(`removed data ${mid.digest}`);
    expect(bySize.stdout).toContain('Removed 1 entry and 0 temporary files');
    expect(await readdir(tempDir)).toEqual([recent.digest]);
  });

  it('prune rejects a bad size or duration with a coded error', async () => {
    const size = await spinel(['cache', 'prune', '--max-size', 'lots', '--cache-dir', cacheDir]);
    expect(size.code).toBe(1);
    expect(size.stderr).toContain('invalid size "lots"');
    expect(size.stderr).toContain('Code: CACHE_INVALID_ARGUMENT');
    const age = await spinel(['cache', 'prune', '--older-than', 'a while', '--json', '--cache-dir', cacheDir]);
    expect(age.code).toBe(1);
    expect(JSON.parse(age.stdout)).toMatchObject({ error: { code: 'CACHE_INVALID_ARGUMENT' } });
  });

  it('clean empties the cache and leaves other files under the root', async () => {
    await putAged('x', 0);
    const derived = await openCache({ root: cacheDir }).putDerived('k', async (dir) => writeFile(join(dir, 'f'), 'abc'));
    const record = (await stat(join(derived.path, '.spinel-derived.json'))).size;
    await writeFile(join(cacheDir, 'notes.txt'), 'mine');
    const cleaned = await json<{ entries: number; freedBytes: number }>(['cache', 'clean']);
    expect(cleaned).toMatchObject({ entries: 2, freedBytes: 4 + record });
    expect(await readdir(cacheDir)).toEqual(['notes.txt']);
    expect((await json<{ entries: unknown[] }>(['cache', 'list'])).entries).toEqual([]);
  });
});
