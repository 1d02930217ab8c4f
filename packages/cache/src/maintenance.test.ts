import { mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from './cache.js';
import type { Cache } from './cache.js';
import { sha256Digest } from './digest.js';
import { removeCorruptBlobs } from './maintenance.js';
import { tempName } from './temp-files.js';

const DAY = 86_400_000;
let root: string;
let cache: Cache;
let now: number;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cache-maint-'));
  now = Date.now();
  cache = openCache({ root, now: () => now });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function putAged(text: string, ageMs: number, kind: 'wasm' | 'data' = 'data'): Promise<{ digest: string; path: string }> {
  const bytes = Buffer.from(text);
  const { digest, path } = await cache.putBytes(sha256Digest(bytes), bytes, { kind });
  const when = new Date(now - ageMs);
  await utimes(path, when, when);
  return { digest, path };
}

describe('list and size', () => {
  it('lists blobs, manifests and derived entries, and adds up sizes', async () => {
    const blob = await putAged('wasm-bytes', 0, 'wasm');
    await putAged('data-bytes!', 0);
    await cache.writeManifest({ registry: 'ghcr.io', repository: 'org/app', tag: 'v1' }, { manifest: '{}', config: '{"a":1}' });
    const derived = await cache.putDerived('jco-key', async (dir) => writeFile(join(dir, 'x.js'), '12345'));
    // A derived entry's bytes include its verification record.
    const record = (await stat(join(derived.path, '.spinel-derived.json'))).size;
    await writeFile(join(root, 'registry', 'data', tempName(999_999)), 'partial');

    const entries = await cache.list();
    expect(entries.map((e) => `${e.kind}:${e.name}:${e.size}`).sort()).toEqual(
      [`wasm:${blob.digest}:10`, `data:${sha256Digest(Buffer.from('data-bytes!'))}:11`, 'manifest:ghcr.io/org/app/v1:9', `derived:jco-key:${5 + record}`].sort(),
    );
    const size = await cache.size();
    expect(size.totalBytes).toBe(10 + 11 + 9 + 5 + record + 7);
    expect(size.entries).toBe(4);
    expect(size.byKind.temp).toEqual({ count: 1, bytes: 7 });
    expect(size.byKind.wasm).toEqual({ count: 1, bytes: 10 });
  });

  it('an empty or missing cache has nothing', async () => {
    expect(await openCache({ root: join(root, 'none') }).list()).toEqual([]);
    expect((await openCache({ root: join(root, 'none') }).size()).totalBytes).toBe(0);
  });
});

describe('verify', () => {
  it('finds a flipped byte, reports and removes it, and keeps good entries', async () => {
    const good = await putAged('good content', 0);
    const bad = await putAged('bad content', 0, 'wasm');
    await writeFile(bad.path, 'bad c0ntent');
    await cache.writeManifest({ registry: 'r.io', repository: 'a', tag: 't' }, { manifest: '{"ok":true}' });
    await cache.writeManifest({ registry: 'r.io', repository: 'b', tag: 't' }, { manifest: '{"ok":tru' });

    const report = await cache.verify();
    expect(report.checked).toBe(4);
    expect(report.corrupt.map((c) => [c.kind, c.name, c.removed])).toEqual([
      ['manifest', 'r.io/b/t', true],
      ['wasm', bad.digest, true],
    ]);
    expect(report.corrupt[1]?.problem).toBe(`content hashes to ${sha256Digest(Buffer.from('bad c0ntent'))}`);
    expect(await cache.has(bad.digest)).toBe(false);
    expect(await cache.has(good.digest)).toBe(true);
    expect(await cache.readManifest({ registry: 'r.io', repository: 'b', tag: 't' })).toBeUndefined();
    expect((await cache.verify()).corrupt).toEqual([]);
  });

  it('reports without removing when asked', async () => {
    const bad = await putAged('some content', 0);
    await writeFile(bad.path, 'other conten');
    const report = await cache.verify({ remove: false });
    expect(report.corrupt).toHaveLength(1);
    expect(report.corrupt[0]?.removed).toBe(false);
    expect(await cache.has(bad.digest)).toBe(true);
  });
});

describe('removeCorruptBlobs', () => {
  it('removes the named blobs that changed or became links, keeps intact ones, and ignores paths outside the blobs', async () => {
    const good = await putAged('good wasm', 0, 'wasm');
    const flipped = await putAged('flipped wasm', 0, 'wasm');
    const linked = await putAged('linked data', 0);
    await writeFile(flipped.path, 'flipped wAsm');
    const elsewhere = join(root, 'elsewhere.wasm');
    await writeFile(elsewhere, 'linked data');
    await rm(linked.path);
    await symlink(elsewhere, linked.path);

    const removed = await removeCorruptBlobs(cache, [pathToFileURL(good.path).href, pathToFileURL(flipped.path).href, linked.path, elsewhere, undefined]);

    expect(removed.sort()).toEqual([flipped.digest, linked.digest].sort());
    expect(await cache.has(good.digest)).toBe(true);
    expect(await cache.has(flipped.digest)).toBe(false);
    expect(await cache.has(linked.digest)).toBe(false);
    expect((await stat(elsewhere)).isFile()).toBe(true);
  });
});

describe('prune', () => {
  it('removes entries unused for longer than the limit', async () => {
    const old = await putAged('old', 10 * DAY);
    const fresh = await putAged('fresh', 1 * DAY);
    const report = await cache.prune({ olderThanMs: 7 * DAY });
    expect(report.removed.map((e) => e.name)).toEqual([old.digest]);
    expect(await cache.has(old.digest)).toBe(false);
    expect(await cache.has(fresh.digest)).toBe(true);
  });

  it('removes least recently used entries first until the total fits the budget', async () => {
    const a = await putAged('a'.repeat(100), 3 * DAY);
    const b = await putAged('b'.repeat(100), 2 * DAY);
    const c = await putAged('c'.repeat(100), 1 * DAY);
    // Reading `a` makes it the most recently used.
    expect(await cache.path(a.digest)).toBe(a.path);
    const report = await cache.prune({ maxSizeBytes: 150 });
    expect(report.removed.map((e) => e.name)).toEqual([b.digest, c.digest]);
    expect(report.freedBytes).toBe(200);
    expect(report.remainingBytes).toBe(100);
    expect(await cache.has(a.digest)).toBe(true);
  });

  it('dry run removes nothing', async () => {
    const old = await putAged('old', 10 * DAY);
    const report = await cache.prune({ olderThanMs: DAY, dryRun: true });
    expect(report.removed).toHaveLength(1);
    expect(await cache.has(old.digest)).toBe(true);
  });

  it('removes old manifests and derived entries too', async () => {
    const dir = await cache.writeManifest({ registry: 'r.io', repository: 'a/b' }, { manifest: '{}' });
    const derived = await cache.putDerived('k1', async (tmp) => writeFile(join(tmp, 'f'), 'x'));
    const when = new Date(now - 30 * DAY);
    await utimes(join(dir, 'manifest.json'), when, when);
    await utimes(derived.path, when, when);
    const report = await cache.prune({ olderThanMs: DAY });
    expect(report.removed.map((e) => e.kind).sort()).toEqual(['derived', 'manifest']);
    expect(await cache.readManifest({ registry: 'r.io', repository: 'a/b' })).toBeUndefined();
    expect(await cache.getDerived('k1')).toBeUndefined();
    expect(await readdir(join(root, 'derived'))).toEqual([]);
  });

  it('removes temporary files older than an hour whoever wrote them, keeps recent live ones', async () => {
    const dir = join(root, 'registry', 'wasm');
    await mkdir(dir, { recursive: true });
    const liveRecent = join(dir, tempName(process.pid));
    const liveOld = join(dir, tempName(process.pid));
    await writeFile(liveRecent, 'x');
    await writeFile(liveOld, 'y');
    const when = new Date(now - 2 * 3_600_000);
    await utimes(liveOld, when, when);
    const report = await cache.prune();
    expect(report.removedTemps.map((t) => t.path)).toEqual([liveOld]);
    expect(await readdir(dir)).toEqual([liveRecent.slice(dir.length + 1)]);
  });
});

describe('prune of derived temporaries', () => {
  it('removes a half-built derived directory whose builder is gone', async () => {
    await mkdir(join(root, 'derived'), { recursive: true });
    const dead = join(root, 'derived', tempName(2_147_483_000));
    await mkdir(join(dead, 'sub'), { recursive: true });
    await writeFile(join(dead, 'sub', 'half.js'), 'partial');
    const when = new Date(now - 5 * 60_000);
    await utimes(dead, when, when);
    const report = await cache.prune();
    expect(report.removedTemps.map((t) => t.path)).toEqual([dead]);
    expect(report.removedTemps[0]?.size).toBe(7);
    expect(await readdir(join(root, 'derived'))).toEqual([]);
  });
});

describe('clean', () => {
  it('empties registry/ and derived/ and leaves other files under the root', async () => {
    await putAged('x', 0);
    const derived = await cache.putDerived('k', async (tmp) => writeFile(join(tmp, 'f'), 'abc'));
    const record = (await stat(join(derived.path, '.spinel-derived.json'))).size;
    await writeFile(join(root, 'keep.txt'), 'mine');
    const report = await cache.clean();
    expect(report).toEqual({ root, freedBytes: 4 + record, entries: 2 });
    expect(await readdir(root)).toEqual(['keep.txt']);
    expect(await cache.list()).toEqual([]);
  });
});
