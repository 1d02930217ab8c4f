import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readTarGz } from './archive-reader.js';
import { writeTarGz, writeTarGzFile } from './archive-writer.js';
import { safeRelativePath } from './safe-path.js';

async function readAll(archive: Buffer, limits = {}): Promise<{ path: string; type: string; data: string }[]> {
  const out = [];
  for await (const entry of readTarGz(archive, limits)) out.push({ path: entry.path, type: entry.type, data: entry.data.toString() });
  return out;
}

/** Rewrites the first header of an archive (type flag, name) and fixes its checksum. */
function tamper(archive: Buffer, change: { type?: string; name?: string }): Buffer {
  const tar = gunzipSync(archive);
  if (change.name !== undefined) {
    tar.fill(0, 0, 100);
    tar.fill(0, 345, 500); // prefix
    tar.write(change.name, 0, 100, 'utf8');
  }
  if (change.type !== undefined) tar.write(change.type, 156, 1, 'ascii');
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i += 1) sum += tar[i] ?? 0;
  tar.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return gzipSync(tar);
}

describe('tar', () => {
  it('round-trips files, including long paths (ustar prefix and pax)', async () => {
    const longDir = `${'d'.repeat(120)}/file.txt`;
    const veryLong = `${'x'.repeat(180)}/${'y'.repeat(120)}.txt`;
    const archive = writeTarGz([
      { path: 'a.txt', data: Buffer.from('hello') },
      { path: 'dir/b.bin', data: Buffer.alloc(1000, 7) },
      { path: longDir, data: Buffer.from('long') },
      { path: veryLong, data: Buffer.from('very long') },
      { path: 'empty', data: Buffer.alloc(0) },
    ]);
    const entries = await readAll(archive);
    expect(entries.map((e) => e.path)).toEqual(['a.txt', 'dir/b.bin', longDir, veryLong, 'empty']);
    expect(entries[0]?.data).toBe('hello');
    expect(entries[1]?.data).toBe(Buffer.alloc(1000, 7).toString());
    expect(entries[3]?.data).toBe('very long');
  });

  it('streams to a file the same bytes as the in-memory writer, whatever the chunking', async () => {
    const entries = [
      { path: 'a.txt', data: Buffer.alloc(70_000, 'a') },
      { path: `${'d'.repeat(120)}/f.txt`, data: Buffer.from('long') },
      { path: `${'x'.repeat(180)}/${'y'.repeat(120)}.txt`, data: Buffer.alloc(513, 'y') },
      { path: 'empty', data: Buffer.alloc(0) },
    ];
    const dir = await mkdtemp(join(tmpdir(), 'spinel-tar-'));
    try {
      const dest = join(dir, 'out.tar.gz');
      const streamed = await writeTarGzFile(
        entries.map((e) => ({
          path: e.path,
          size: e.data.length,
          async *open() {
            for (let i = 0; i < e.data.length; i += 1000) yield e.data.subarray(i, i + 1000);
          },
        })),
        dest,
        { mtime: 7 },
      );
      const bytes = await readFile(dest);
      expect(bytes.equals(writeTarGz(entries, { mtime: 7 }))).toBe(true);
      expect(streamed).toEqual({ digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length });
      const changed = writeTarGzFile([{ path: 'a', size: 5, async *open() { yield Buffer.from('abc'); } }], join(dir, 'bad.tar.gz'));
      await expect(changed).rejects.toThrow(/changed size/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is deterministic', () => {
    const entries = [{ path: 'a', data: Buffer.from('x') }];
    expect(writeTarGz(entries, { mtime: 5 }).equals(writeTarGz(entries, { mtime: 5 }))).toBe(true);
  });

  it('refuses .. and absolute paths', async () => {
    const base = writeTarGz([{ path: 'placeholder', data: Buffer.from('x') }]);
    await expect(readAll(tamper(base, { name: '../escape.txt' }))).rejects.toMatchObject({ code: 'OCI_UNSAFE_PATH' });
    await expect(readAll(tamper(base, { name: 'a/../../escape.txt' }))).rejects.toMatchObject({ code: 'OCI_UNSAFE_PATH' });
    await expect(readAll(tamper(base, { name: '/etc/passwd' }))).rejects.toMatchObject({ code: 'OCI_UNSAFE_PATH' });
    // `./x` is fine and normalised.
    expect((await readAll(tamper(base, { name: './ok.txt' })))[0]?.path).toBe('ok.txt');
  });

  it('refuses symlinks, hard links and devices', async () => {
    const base = writeTarGz([{ path: 'link', data: Buffer.alloc(0) }]);
    for (const type of ['1', '2', '3', '4', '6']) {
      await expect(readAll(tamper(base, { type }))).rejects.toMatchObject({ code: 'OCI_ARCHIVE_ENTRY_TYPE' });
    }
  });

  it('enforces the entry-count and size caps', async () => {
    const archive = writeTarGz([
      { path: 'a', data: Buffer.alloc(10) },
      { path: 'b', data: Buffer.alloc(10) },
      { path: 'c', data: Buffer.alloc(10) },
    ]);
    await expect(readAll(archive, { maxEntries: 2 })).rejects.toMatchObject({ code: 'OCI_ARCHIVE_TOO_MANY_ENTRIES' });
    await expect(readAll(archive, { maxTotalBytes: 25 })).rejects.toMatchObject({ code: 'OCI_ARCHIVE_TOO_LARGE' });
    await expect(readAll(archive, { maxEntryBytes: 5 })).rejects.toMatchObject({ code: 'OCI_ARCHIVE_TOO_LARGE' });
    expect(await readAll(archive, { maxEntries: 3, maxTotalBytes: 30 })).toHaveLength(3);
  });

  it('refuses corrupt archives with a coded error', async () => {
    const archive = writeTarGz([{ path: 'a', data: Buffer.from('x') }]);
    const tar = gunzipSync(archive);
    tar[10] = 0x41; // breaks the header checksum
    await expect(readAll(gzipSync(tar))).rejects.toMatchObject({ code: 'OCI_ARCHIVE_CORRUPT' });
    await expect(readAll(Buffer.from('not gzip at all'))).rejects.toMatchObject({ code: 'OCI_ARCHIVE_CORRUPT' });
    await expect(readAll(gzipSync(tar.subarray(0, 700)))).rejects.toMatchObject({ code: 'OCI_ARCHIVE_CORRUPT' });
  });

  it('safeRelativePath normalises and refuses escapes', () => {
    expect(safeRelativePath('./a//b/./c')).toBe('a/b/c');
    expect(safeRelativePath('.')).toBe('');
    for (const bad of ['/a', '..', 'a/..', 'a\u0000b']) {
      expect(() => safeRelativePath(bad)).toThrow(expect.objectContaining({ code: 'OCI_UNSAFE_PATH' }) as Error);
    }
    // A backslash or a drive is an ordinary file-name character on Unix (as for Spin), an escape on Windows.
    for (const windowsOnly of ['a\\b', 'C:/x']) {
      expect(safeRelativePath(windowsOnly, 'linux')).toBe(windowsOnly);
      expect(() => safeRelativePath(windowsOnly, 'win32')).toThrow(expect.objectContaining({ code: 'OCI_UNSAFE_PATH' }) as Error);
    }
  });
});
