import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheDigestMismatchError, CacheError, CacheIoError, CacheTooLargeError } from './errors.js';
import { errnoCode, statOrUndefined } from './fs-util.js';
import { tempName } from './temp-files.js';

/** What a verified write did. */
export interface WriteVerifiedResult {
  size: number;
  /** True when the final name already existed (another writer won, or it was cached). */
  existed: boolean;
}

export interface WriteVerifiedOptions {
  dir: string;
  finalPath: string;
  expected: string;
  fsync: boolean;
  maxBytes?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Used in error messages (a redacted URL, say). */
  source?: string | undefined;
}

// Writes are coalesced to this size and a few are kept in flight, so hashing (main thread)
// overlaps with writing (libuv pool) while memory stays bounded.
const WRITE_BATCH = 1 << 20;
const MAX_IN_FLIGHT = 4;

/**
 * Streams `chunks` into a temporary file in `dir` while hashing, compares the hash with
 * `expected`, flushes, then renames the file to `finalPath`. On any failure the temporary
 * file is removed. When `finalPath` appears meanwhile, the existing file wins (same
 * content, by construction of a content-addressed store).
 */
export async function writeVerifiedStream(
  chunks: AsyncIterable<Uint8Array>,
  options: WriteVerifiedOptions,
): Promise<WriteVerifiedResult> {
  const tmp = join(options.dir, tempName());
  let handle: FileHandle | undefined;
  try {
    handle = await openTemp(options.dir, tmp);
    const fh = handle;
    const hash = createHash('sha256');
    let size = 0;
    let position = 0;
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const inFlight = new Set<Promise<void>>();
    let writeError: unknown;

    const flush = async (): Promise<void> => {
      if (batchBytes === 0) return;
      const buffer = batch.length === 1 ? (batch[0] as Uint8Array) : Buffer.concat(batch, batchBytes);
      const at = position;
      position += batchBytes;
      batch = [];
      batchBytes = 0;
      const p: Promise<void> = writeAll(fh, buffer, at).then(
        () => { inFlight.delete(p); },
        (err: unknown) => { inFlight.delete(p); writeError ??= err; },
      );
      inFlight.add(p);
      while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      if (writeError !== undefined) throw writeError;
    };

    for await (const chunk of chunks) {
      options.signal?.throwIfAborted();
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new CacheTooLargeError(options.maxBytes, options.source);
      }
      hash.update(chunk);
      batch.push(chunk);
      batchBytes += chunk.byteLength;
      if (batchBytes >= WRITE_BATCH) await flush();
    }
    await flush();
    await Promise.all(inFlight);
    if (writeError !== undefined) throw writeError;

    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== options.expected) throw new CacheDigestMismatchError(options.expected, actual, options.source);
    if (options.fsync) await fh.sync();
    await fh.close();
    handle = undefined;
    const existed = await commit(tmp, options.finalPath, size);
    return { size, existed };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw wrapIo(err, 'write', tmp);
  }
}

/** The same as {@link writeVerifiedStream} for bytes already in memory (hashed before any I/O). */
export async function writeVerifiedBytes(
  bytes: Uint8Array,
  options: WriteVerifiedOptions,
): Promise<WriteVerifiedResult> {
  if (options.maxBytes !== undefined && bytes.byteLength > options.maxBytes) {
    throw new CacheTooLargeError(options.maxBytes, options.source);
  }
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== options.expected) throw new CacheDigestMismatchError(options.expected, actual, options.source);
  const tmp = join(options.dir, tempName());
  let handle: FileHandle | undefined;
  try {
    handle = await openTemp(options.dir, tmp);
    await writeAll(handle, bytes, 0);
    if (options.fsync) await handle.sync();
    await handle.close();
    handle = undefined;
    const existed = await commit(tmp, options.finalPath, bytes.byteLength);
    return { size: bytes.byteLength, existed };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw wrapIo(err, 'write', tmp);
  }
}

async function openTemp(dir: string, tmp: string): Promise<FileHandle> {
  try {
    return await open(tmp, 'wx', 0o644);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true });
    return await open(tmp, 'wx', 0o644);
  }
}

async function writeAll(fh: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.byteLength) {
    const { bytesWritten } = await fh.write(buffer, offset, buffer.byteLength - offset, position + offset);
    offset += bytesWritten;
  }
}

/**
 * Moves a verified temporary file into place. In a content-addressed store an existing
 * final name already holds the same bytes, so it is kept and the temporary file dropped
 * (no clobbering, no error when another process won the race). One of the wrong size is
 * corrupt and is replaced atomically.
 */
async function commit(tmp: string, finalPath: string, size: number): Promise<boolean> {
  const existing = await statOrUndefined(finalPath);
  // A file of another size under this name is corrupt: it is replaced (rename is atomic).
  if (existing?.isFile() === true && existing.size === size) {
    await unlink(tmp).catch(() => undefined);
    return true;
  }
  try {
    await rename(tmp, finalPath);
    return false;
  } catch (err) {
    // Windows refuses to rename onto an existing file: the other writer won.
    const now = await statOrUndefined(finalPath);
    if (now?.isFile() === true && now.size === size) {
      await unlink(tmp).catch(() => undefined);
      return true;
    }
    throw err;
  }
}

export function wrapIo(err: unknown, action: string, path: string): unknown {
  if (err instanceof CacheError) return err;
  if (typeof errnoCode(err) === 'string' && (err as { syscall?: unknown }).syscall !== undefined) {
    return new CacheIoError(action, path, err);
  }
  return err;
}
