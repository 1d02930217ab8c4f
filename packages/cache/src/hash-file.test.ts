import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile, hashHandle } from './hash-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-hash-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('hashHandle', () => {
  it('hashes a file of several 1 MiB reads whole, or only its first `size` bytes', async () => {
    const bytes = randomBytes(2.5 * 1024 * 1024);
    const path = join(dir, 'blob');
    await writeFile(path, bytes);
    expect(await hashFile(path)).toBe(sha256(bytes));
    const handle = await open(path, 'r');
    try {
      expect(await hashHandle(handle)).toBe(sha256(bytes));
      for (const size of [0, 1, 1024 * 1024, 1024 * 1024 + 7, 2 * 1024 * 1024 + 3]) {
        expect(await hashHandle(handle, size), `first ${size} bytes`).toBe(sha256(bytes.subarray(0, size)));
      }
      // Past the end: what there is.
      expect(await hashHandle(handle, bytes.length + 10)).toBe(sha256(bytes));
    } finally {
      await handle.close();
    }
  });
});
