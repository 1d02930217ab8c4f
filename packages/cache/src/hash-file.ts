import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** The sha256 digest of a file's content, streamed. */
export async function hashFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    return await hashHandle(handle);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The sha256 digest of an open file's content from its start, read 1 MiB at a time into one
 * buffer; with `size`, of at most its first `size` bytes.
 */
export async function hashHandle(handle: FileHandle, size = Infinity): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, size)));
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.byteLength, size - position), position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Reads `size` bytes of an open file from the start, hashing each chunk as it arrives (one
 * pass over the bytes). Fewer bytes than `size` mean the file shrank: the caller compares.
 */
export async function readHashed(handle: FileHandle, size: number): Promise<{ bytes: Buffer; digest: string }> {
  const bytes = Buffer.allocUnsafe(size);
  const hash = createHash('sha256');
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(bytes, position, Math.min(1 << 20, size - position), position);
    if (bytesRead === 0) break;
    hash.update(bytes.subarray(position, position + bytesRead));
    position += bytesRead;
  }
  return { bytes: bytes.subarray(0, position), digest: `sha256:${hash.digest('hex')}` };
}
