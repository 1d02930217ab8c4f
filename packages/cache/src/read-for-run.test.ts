import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from './cache.js';
import type { Cache } from './cache.js';
import { sha256Digest } from './digest.js';

let root: string;
let cache: Cache;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cache-run-'));
  cache = openCache({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Flips one byte in place: same size, same inode, other content (what the issue did). */
async function flipByte(path: string, at = 3): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, at);
    one[0] = (one[0] as number) ^ 0xff;
    await handle.write(one, 0, 1, at);
  } finally {
    await handle.close();
  }
}

const wasm = Buffer.concat([Buffer.from('\0asm\u000d\0\u0001\0'), Buffer.alloc(3 << 20, 7)]);
const digest = sha256Digest(wasm);

describe('reading a blob for running', () => {
  it('knows which paths are blobs of this cache', async () => {
    const { path } = await cache.putBytes(digest, wasm, { kind: 'wasm' });
    expect(cache.blobDigestAt(path)).toBe(digest);
    expect(cache.blobDigestAt(join(root, 'registry', 'data', digest))).toBe(digest);
    expect(cache.blobDigestAt(join(root, 'registry', 'wasm', 'not-a-digest'))).toBeUndefined();
    expect(cache.blobDigestAt(join(root, 'elsewhere', digest))).toBeUndefined();
    expect(cache.blobDigestAt('/tmp/app.wasm')).toBeUndefined();
  });

  it('refuses a blob with one byte flipped (same size) and removes it, so it is fetched again', async () => {
    const { path } = await cache.putBytes(digest, wasm, { kind: 'wasm' });
    expect((await cache.readBytes(digest, { verify: 'full' })).equals(wasm)).toBe(true);
    await flipByte(path, wasm.length - 10);
    expect((await stat(path)).size).toBe(wasm.length);
    const removed: unknown[] = [];
    const onRemove = (m: unknown): void => void removed.push(m);
    subscribe('spinel:cache:remove', onRemove);
    try {
      await expect(cache.readBytes(digest, { verify: 'full' })).rejects.toMatchObject({ code: 'CACHE_INTEGRITY', digest });
    } finally {
      unsubscribe('spinel:cache:remove', onRemove);
    }
    expect(await cache.has(digest)).toBe(false);
    expect(removed).toEqual([{ path, reason: 'corrupt' }]);
    // The default (size) check cannot see it: that is why running uses the full check.
    await cache.putBytes(digest, wasm, { kind: 'wasm' });
    await flipByte(path);
    expect((await cache.readBytes(digest)).equals(wasm)).toBe(false);
  });

  it('copies a blob hashing it on the way, and refuses a corrupt one without leaving the copy', async () => {
    const { path } = await cache.putBytes(digest, wasm, { kind: 'data' });
    const dest = join(root, 'out.bin');
    await cache.copyVerified(digest, dest, { size: wasm.length });
    expect((await readFile(dest)).equals(wasm)).toBe(true);
    await flipByte(path);
    const dest2 = join(root, 'out2.bin');
    await expect(cache.copyVerified(digest, dest2)).rejects.toMatchObject({ code: 'CACHE_INTEGRITY' });
    expect(existsSync(dest2)).toBe(false);
    expect(await cache.has(digest)).toBe(false);
    await expect(cache.copyVerified(digest, dest2)).rejects.toMatchObject({ code: 'CACHE_NOT_FOUND' });
    const empty = sha256Digest(Buffer.alloc(0));
    await cache.putBytes(empty, Buffer.alloc(0));
    await cache.copyVerified(empty, dest2);
    expect((await stat(dest2)).size).toBe(0);
  });
});

describe('reading a derived artifact for running', () => {
  const key = 'jco-transpile-test-1';
  const build = async (tmp: string): Promise<void> => {
    await writeFile(join(tmp, 'component.mjs'), 'export const instantiate = () => 1;');
    await writeFile(join(tmp, 'component.core.wasm'), wasm);
    await mkdir(join(tmp, 'sub'));
    await writeFile(join(tmp, 'sub', 'meta.json'), '{}');
  };

  it('returns the verified bytes of the files asked for', async () => {
    expect(await cache.readDerived(key)).toBeUndefined();
    const { path } = await cache.putDerived(key, build);
    const read = await cache.readDerived(key, { keep: (p) => p.endsWith('.wasm') || p.endsWith('.mjs') });
    expect(read?.path).toBe(path);
    expect([...(read?.files.keys() ?? [])]).toEqual(['component.core.wasm', 'component.mjs']);
    expect(read?.files.get('component.core.wasm')?.equals(wasm)).toBe(true);
  });

  for (const [name, tamper] of [
    ['one byte flipped in a core module', (dir: string) => flipByte(join(dir, 'component.core.wasm'), 100)],
    ['the glue edited', (dir: string) => writeFile(join(dir, 'component.mjs'), 'export const instantiate = () => 2;')],
    ['a file truncated', (dir: string) => truncate(join(dir, 'sub', 'meta.json'), 1)],
    ['a file added', (dir: string) => writeFile(join(dir, 'extra.mjs'), 'evil')],
    ['a file removed', (dir: string) => unlink(join(dir, 'sub', 'meta.json'))],
    ['the record removed (an entry from before records)', (dir: string) => unlink(join(dir, '.spinel-derived.json'))],
    ['a file replaced by a link', async (dir: string) => {
      await writeFile(join(root, 'elsewhere.mjs'), 'export const instantiate = () => 1;');
      await unlink(join(dir, 'component.mjs'));
      await symlink(join(root, 'elsewhere.mjs'), join(dir, 'component.mjs'));
    }],
  ] as const) {
    it(`refuses it with ${name}: removed, so it is built again`, async () => {
      const { path } = await cache.putDerived(key, build);
      await tamper(path);
      expect(await cache.readDerived(key)).toBeUndefined();
      expect(existsSync(path)).toBe(false);
      let rebuilt = false;
      await cache.putDerived(key, async (tmp) => {
        rebuilt = true;
        await build(tmp);
      });
      expect(rebuilt).toBe(true);
      expect((await cache.readDerived(key))?.files.get('component.mjs')?.toString()).toBe('export const instantiate = () => 1;');
    });
  }

  it('cache verify checks derived artifacts against their records', async () => {
    const good = await cache.putDerived('good-1', build);
    const bad = await cache.putDerived('bad-1', build);
    await flipByte(join(bad.path, 'component.core.wasm'));
    const report = await cache.verify();
    expect(report.corrupt.map((c) => [c.kind, c.name, c.removed])).toEqual([['derived', 'bad-1', true]]);
    expect(report.corrupt[0]?.problem).toContain('component.core.wasm hashes to');
    expect(existsSync(good.path)).toBe(true);
  });
});
