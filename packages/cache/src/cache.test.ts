import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from './cache.js';
import type { Cache } from './cache.js';
import { sha256Digest } from './digest.js';
import { CacheDigestMismatchError } from './errors.js';
import type { CacheError } from './errors.js';

let root: string;
let cache: Cache;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cache-test-'));
  cache = openCache({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<CacheError> {
  try {
    await promise;
  } catch (err) {
    return err as CacheError;
  }
  throw new Error('expected a rejection');
}

function chunksOf(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

describe('put and read', () => {
  it('stores bytes under registry/<kind>/<digest> in the Spin layout', async () => {
    const bytes = Buffer.from('hello wasm');
    const digest = sha256Digest(bytes);
    const result = await cache.putBytes(digest, bytes, { kind: 'wasm' });
    expect(result).toMatchObject({ digest, size: bytes.length, kind: 'wasm', existed: false });
    expect(relative(root, result.path)).toBe(join('registry', 'wasm', digest));
    expect(await readFile(result.path, 'utf8')).toBe('hello wasm');
    expect(await cache.has(digest)).toBe(true);
    expect(await cache.path(digest)).toBe(result.path);
    const again = await cache.putBytes(digest, bytes, { kind: 'wasm' });
    expect(again).toMatchObject({ existed: true, path: result.path, kind: 'wasm' });
    // A stream put finds it in either directory and does not write a second copy.
    const viaStream = await cache.putStream(digest, Readable.from([bytes]), { kind: 'data' });
    expect(viaStream).toMatchObject({ existed: true, path: result.path, kind: 'wasm' });
  });

  it('stores a multi-megabyte stream and reads it back verified', async () => {
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = (i * 31) & 0xff;
    const digest = sha256Digest(bytes);
    const result = await cache.putStream(digest, chunksOf(bytes, 64 * 1024));
    expect(result).toMatchObject({ size: bytes.length, existed: false, kind: 'data' });
    expect((await cache.readBytes(digest, { verify: 'full', size: bytes.length })).equals(bytes)).toBe(true);
    const opened = await cache.openRead(digest, { verify: 'full' });
    const parts: Buffer[] = [];
    for await (const chunk of opened.stream) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it('keeps byte order whatever the mix of small and large chunks', async () => {
    const sizes = [100, 2 * 1024 * 1024, 70_000, 1024 * 1024, 3, 1024 * 1024 - 1, 5 * 1024 * 1024, 1];
    const total = sizes.reduce((a, b) => a + b, 0);
    const bytes = Buffer.alloc(total);
    for (let i = 0; i < total; i += 1) bytes[i] = (i * 131 + (i >> 11)) & 0xff;
    const parts: Buffer[] = [];
    let offset = 0;
    for (const size of sizes) {
      parts.push(bytes.subarray(offset, offset + size));
      offset += size;
    }
    const digest = sha256Digest(bytes);
    const result = await cache.putStream(digest, Readable.from(parts));
    expect(result.size).toBe(total);
    expect((await readFile(result.path)).equals(bytes)).toBe(true);
  });

  it('refuses a stream whose content does not match, naming both digests, and leaves nothing', async () => {
    const expected = sha256Digest(Buffer.from('right'));
    const error = await caught(cache.putStream(expected, chunksOf(Buffer.from('wrong content'), 3), { kind: 'wasm' }));
    expect(error).toBeInstanceOf(CacheDigestMismatchError);
    expect(error.code).toBe('CACHE_DIGEST_MISMATCH');
    expect(error.message).toContain(expected);
    expect(error.message).toContain(sha256Digest(Buffer.from('wrong content')));
    expect(await cache.has(expected)).toBe(false);
    expect(await entriesOf(join(root, 'registry', 'wasm'))).toEqual([]);
  });

  it('copies a local file in, verified, and refuses one that does not match', async () => {
    const src = join(root, 'component.wasm');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    await writeFile(src, bytes);
    const digest = sha256Digest(bytes);
    const result = await cache.putFile(digest, src, { kind: 'wasm' });
    expect(result).toMatchObject({ digest, size: bytes.length, kind: 'wasm', existed: false });
    expect((await readFile(result.path)).equals(bytes)).toBe(true);
    expect(await cache.putFile(digest, src)).toMatchObject({ existed: true, path: result.path });
    const wrong = sha256Digest(Buffer.from('other'));
    const error = await caught(cache.putFile(wrong, src, { kind: 'wasm' }));
    expect(error.code).toBe('CACHE_DIGEST_MISMATCH');
    expect(error.message).toContain(digest);
    expect((await readdir(join(root, 'registry', 'wasm'))).sort()).toEqual([digest]);
    expect((await caught(cache.putFile(wrong, join(root, 'missing.wasm')))).code).toBe('CACHE_IO');
  });

  it('refuses mismatching bytes before touching the disk, even when the digest is stored', async () => {
    const error = await caught(cache.putBytes(sha256Digest(Buffer.from('a')), Buffer.from('b')));
    expect(error.code).toBe('CACHE_DIGEST_MISMATCH');
    await expect(readdir(join(root, 'registry'))).rejects.toMatchObject({ code: 'ENOENT' });
    await cache.putBytes(sha256Digest(Buffer.from('a')), Buffer.from('a'));
    expect((await caught(cache.putBytes(sha256Digest(Buffer.from('a')), Buffer.from('c')))).code).toBe('CACHE_DIGEST_MISMATCH');
  });

  it('enforces maxBytes on streams and leaves nothing', async () => {
    const bytes = Buffer.alloc(3000, 1);
    const error = await caught(cache.putStream(sha256Digest(bytes), chunksOf(bytes, 1000), { maxBytes: 2500 }));
    expect(error.code).toBe('CACHE_TOO_LARGE');
    expect(await entriesOf(join(root, 'registry', 'data'))).toEqual([]);
  });

  it('removes the temporary file when the source stream fails', async () => {
    const digest = sha256Digest(Buffer.from('never'));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('nev');
      throw new Error('connection reset');
    }
    await expect(cache.putStream(digest, failing())).rejects.toThrow('connection reset');
    expect(await entriesOf(join(root, 'registry', 'data'))).toEqual([]);
  });

  describe('large streams, flushed (batched writes kept in flight)', () => {
    const MiB = 1024 * 1024;
    // 40 MiB: many 1 MiB write batches, so failures land while writes are still in flight.
    const block = Buffer.alloc(MiB);
    for (let i = 0; i < block.length; i += 1) block[i] = (i * 31 + 7) & 0xff;
    const total = 40;
    const whole = Buffer.concat(Array.from({ length: total }, () => block));
    const digest = sha256Digest(whole);

    async function* blocks(count: number, chunk: number, failAt?: number): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < count; i += 1) {
        if (i === failAt) throw new Error('connection reset');
        for (let at = 0; at < MiB; at += chunk) yield block.subarray(at, at + chunk);
      }
    }

    it.each([64 * 1024, MiB])('stores the exact bytes from %i-byte chunks', async (chunk) => {
      const result = await cache.putStream(digest, blocks(total, chunk));
      expect(result).toMatchObject({ digest, size: whole.length, existed: false });
      expect((await readFile(result.path)).equals(whole)).toBe(true);
      expect(await readdir(join(root, 'registry', 'data'))).toEqual([digest]);
    });

    it('removes the temporary file when the source fails with writes in flight', async () => {
      await expect(cache.putStream(digest, blocks(total, 256 * 1024, 36))).rejects.toThrow('connection reset');
      expect(await entriesOf(join(root, 'registry', 'data'))).toEqual([]);
    });

    it('enforces maxBytes past the first MiB (held in memory) and leaves nothing', async () => {
      const error = await caught(cache.putStream(digest, blocks(total, 256 * 1024), { maxBytes: 3 * MiB }));
      expect(error.code).toBe('CACHE_TOO_LARGE');
      expect(await entriesOf(join(root, 'registry', 'data'))).toEqual([]);
    });

    it('stores a stream of exactly 1 MiB, and one a byte longer, through either path', async () => {
      for (const bytes of [block, Buffer.concat([block, Buffer.from([9])])]) {
        const result = await cache.putStream(sha256Digest(bytes), chunksOf(bytes, 64 * 1024 + 1));
        expect((await readFile(result.path)).equals(bytes)).toBe(true);
      }
    });

    it('refuses a mismatch found after many written batches and leaves nothing', async () => {
      const other = sha256Digest(Buffer.from('something else'));
      const error = await caught(cache.putStream(other, blocks(total, MiB)));
      expect(error).toBeInstanceOf(CacheDigestMismatchError);
      expect(error.code).toBe('CACHE_DIGEST_MISMATCH');
      expect(await entriesOf(join(root, 'registry', 'data'))).toEqual([]);
    });
  });

  it('does not read the source when the digest is already stored', async () => {
    const bytes = Buffer.from('present');
    const digest = sha256Digest(bytes);
    await cache.putBytes(digest, bytes);
    let pulled = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      pulled = true;
      yield bytes;
    }
    expect(await cache.putStream(digest, source())).toMatchObject({ existed: true });
    expect(pulled).toBe(false);
  });

  it('rejects invalid digests with CACHE_INVALID_DIGEST', async () => {
    expect((await caught(cache.has('sha256:../../etc/passwd'))).code).toBe('CACHE_INVALID_DIGEST');
    expect(() => cache.blobPath('md5:abc')).toThrow(expect.objectContaining({ code: 'CACHE_INVALID_DIGEST' }));
  });
});

describe('integrity at rest', () => {
  it('a flipped byte is refused by a verifying read and the corrupt file removed', async () => {
    const bytes = Buffer.from('component bytes '.repeat(100));
    const digest = sha256Digest(bytes);
    const { path } = await cache.putBytes(digest, bytes, { kind: 'wasm' });
    const corrupt = Buffer.from(bytes);
    corrupt[10] = (corrupt[10] as number) ^ 0xff;
    await writeFile(path, corrupt);
    // Same size: the default size check cannot see it; a full check does.
    expect((await cache.readBytes(digest, { size: bytes.length })).length).toBe(bytes.length);
    const error = await caught(cache.readBytes(digest, { verify: 'full' }));
    expect(error.code).toBe('CACHE_INTEGRITY');
    expect(error.message).toContain(digest);
    expect(await cache.has(digest)).toBe(false);
  });

  it('a truncated file fails the default size check on open', async () => {
    const bytes = Buffer.from('0123456789');
    const digest = sha256Digest(bytes);
    const { path } = await cache.putBytes(digest, bytes);
    await writeFile(path, bytes.subarray(0, 4));
    expect((await caught(cache.openRead(digest, { size: 10 }))).code).toBe('CACHE_INTEGRITY');
    // A put that knows the size replaces the truncated file.
    expect(await cache.putBytes(digest, bytes)).toMatchObject({ existed: false });
    expect(await readFile(path, 'utf8')).toBe('0123456789');
  });

  it('an emptied file is refused by the default check even without a known size', async () => {
    const bytes = Buffer.from('not empty');
    const digest = sha256Digest(bytes);
    const { path } = await cache.putBytes(digest, bytes);
    await writeFile(path, '');
    expect((await caught(cache.readBytes(digest))).code).toBe('CACHE_INTEGRITY');
    const empty = Buffer.alloc(0);
    await cache.putBytes(sha256Digest(empty), empty);
    expect((await cache.readBytes(sha256Digest(empty))).length).toBe(0);
  });

  it('reading an absent blob is CACHE_NOT_FOUND', async () => {
    expect((await caught(cache.openRead(sha256Digest(Buffer.from('x'))))).code).toBe('CACHE_NOT_FOUND');
  });
});

describe('manifests', () => {
  const ref = { registry: 'localhost:5000', repository: 'spin/hello-world', tag: 'v1' };

  it('writes manifest.json and config.json where Spin keeps them and reads them back', async () => {
    const dir = await cache.writeManifest(ref, { manifest: '{"m":1}', config: '{"c":2}' });
    expect(relative(root, dir)).toBe(join('registry', 'manifests', 'localhost:5000', 'spin', 'hello-world', 'v1'));
    const files = await cache.readManifest(ref);
    expect(files?.manifest.toString()).toBe('{"m":1}');
    expect(files?.config?.toString()).toBe('{"c":2}');
    expect(relative(root, cache.manifestDir({ registry: 'ghcr.io', repository: 'a/b' }))).toBe(
      join('registry', 'manifests', 'ghcr.io', 'a', 'b', 'latest'),
    );
    expect(cache.manifestDir({ ...ref, tag: undefined }).endsWith(join('hello-world', 'latest'))).toBe(true);
    expect(await cache.readManifest({ ...ref, tag: 'v2' })).toBeUndefined();
  });

  it('uses "_" for ":" in the registry segment on Windows', () => {
    const win = openCache({ root, platform: 'win32' });
    expect(win.manifestDir(ref)).toContain('localhost_5000');
  });

  it.each([
    { registry: 'ghcr.io', repository: '../../../../etc' },
    { registry: 'ghcr.io', repository: 'a/../../../b' },
    { registry: 'ghcr.io', repository: '/abs/path' },
    { registry: 'ghcr.io', repository: 'a//b' },
    { registry: 'ghcr.io', repository: 'a\\..\\..\\b' },
    { registry: '..', repository: 'a' },
    { registry: 'ghcr.io/..', repository: 'a' },
    { registry: 'ghcr.io', repository: 'a', tag: '..' },
    { registry: 'ghcr.io', repository: 'a', tag: '../x' },
    { registry: 'ghcr.io', repository: 'a\u0000b' },
  ])('a crafted reference %j cannot escape the root', async (crafted) => {
    const outside = join(root, '..', `escape-${process.pid}`);
    await mkdir(join(root, 'registry'), { recursive: true });
    const error = await caught(cache.writeManifest(crafted, { manifest: 'x', config: 'y' }));
    expect(error.code).toBe('CACHE_INVALID_NAME');
    await expect(readdir(outside)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(root, 'registry'))).toEqual([]);
  });
});

describe('derived artifacts', () => {
  it('builds once in a temporary directory and renames it into place', async () => {
    const key = `jco-1.35.0-${sha256Digest(Buffer.from('c')).replace(':', '-')}`;
    expect(await cache.getDerived(key)).toBeUndefined();
    let seenTmp = '';
    const first = await cache.putDerived(key, async (tmp) => {
      seenTmp = tmp;
      await writeFile(join(tmp, 'component.js'), 'export {}');
      await mkdir(join(tmp, 'sub'));
      await writeFile(join(tmp, 'sub', 'core.wasm'), Buffer.from([0, 97, 115, 109]));
    });
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(root, 'derived', key));
    expect(seenTmp).not.toBe(first.path);
    expect(await readFile(join(first.path, 'sub', 'core.wasm'))).toEqual(Buffer.from([0, 97, 115, 109]));
    let ranAgain = false;
    const second = await cache.putDerived(key, async () => {
      ranAgain = true;
    });
    expect(second).toEqual({ path: first.path, created: false });
    expect(ranAgain).toBe(false);
    expect(await cache.getDerived(key)).toBe(first.path);
  });

  it('keeps the first of two concurrent builders and leaves no temporary directory', async () => {
    const build = (content: string) => async (tmp: string) => {
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(join(tmp, 'out.txt'), content);
    };
    const results = await Promise.all([cache.putDerived('k', build('a')), cache.putDerived('k', build('b'))]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const content = await readFile(join(root, 'derived', 'k', 'out.txt'), 'utf8');
    expect(['a', 'b']).toContain(content);
    expect(await readdir(join(root, 'derived'))).toEqual(['k']);
  });

  it('leaves nothing when the builder throws', async () => {
    await expect(
      cache.putDerived('broken', async (tmp) => {
        await writeFile(join(tmp, 'half'), 'x');
        throw new Error('transpile failed');
      }),
    ).rejects.toThrow('transpile failed');
    expect(await readdir(join(root, 'derived'))).toEqual([]);
  });

  it.each(['..', '.', 'a/b', '../x', '', 'a\\b', 'x'.repeat(201)])('rejects the unsafe key %j', async (key) => {
    expect((await caught(cache.putDerived(key, async () => undefined))).code).toBe('CACHE_INVALID_KEY');
  });
});

/** The names in a directory; none when it was never created (a refused small put writes nothing at all). */
async function entriesOf(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  });
}
