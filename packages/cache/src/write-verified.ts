import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheDigestMismatchError, CacheError, CacheIoError, CacheTooLargeError } from './errors.js';
import { errnoCode, statOrUndefined } from './fs-util.js';
import { tempName } from './temp-files.js';
import { hashHandle } from './hash-file.js';

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

// A stream that ends within this many bytes is gathered in memory, hashed, and written by
// writeVerifiedBytes: most blobs of a pulled app are small files, and for them one exact-size
// write costs far less than the streaming path's reusable 1 MiB write buffer (allocated per
// put, it made a pull of 300 small layers spend about a fifth of its CPU time in the GC).
const SMALL_BLOB = WRITE_BATCH;

/**
 * Streams `chunks` into a temporary file in `dir` while hashing, compares the hash with
 * `expected`, flushes, then renames the file to `finalPath`. On any failure the temporary
 * file is removed. When `finalPath` appears meanwhile, the existing file wins (same
 * content, by construction of a content-addressed store). Content of at most 1 MiB is
 * verified in memory before anything is written.
 */
export async function writeVerifiedStream(
  chunks: AsyncIterable<Uint8Array>,
  options: WriteVerifiedOptions,
): Promise<WriteVerifiedResult> {
  const iterator = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headSize = 0;
  let ended = false;
  try {
    while (headSize <= SMALL_BLOB) {
      options.signal?.throwIfAborted();
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      head.push(next.value);
      headSize += next.value.byteLength;
      if (options.maxBytes !== undefined && headSize > options.maxBytes) throw new CacheTooLargeError(options.maxBytes, options.source);
    }
  } catch (err) {
    // As `for await` does when its body throws: the source is told to stop (a stream is destroyed).
    await iterator.return?.().catch(() => undefined);
    throw err;
  }
  if (ended) {
    const bytes = head.length === 1 ? (head[0] as Uint8Array) : Buffer.concat(head, headSize);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== options.expected) throw new CacheDigestMismatchError(options.expected, actual, options.source);
    return writeVerifiedBytes(bytes, options);
  }
  // Larger: what was gathered, then the rest of the same source, through the file.
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let index = 0;
      return {
        next: () => (index < head.length ? Promise.resolve({ done: false, value: head[index++] as Uint8Array }) : iterator.next()),
        return: async () => {
          await iterator.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
  return writeStreamed(rest, options);
}

async function writeStreamed(chunks: AsyncIterable<Uint8Array>, options: WriteVerifiedOptions): Promise<WriteVerifiedResult> {
  const tmp = join(options.dir, tempName());
  let handle: FileHandle | undefined;
  const inFlight = new Set<Promise<void>>();
  try {
    handle = await openTemp(options.dir, tmp);
    const fh = handle;
    const hash = createHash('sha256');
    let size = 0;
    let position = 0;
    // Small chunks (a network body arrives in ~64 KiB pieces) are gathered into reused
    // buffers so the disk sees large writes and no fresh memory is faulted in per chunk.
    const free: Buffer[] = [];
    let current: Buffer | undefined;
    let filled = 0;
    let writeError: unknown;

    const submit = async (buffer: Uint8Array, length: number, pooled: boolean): Promise<void> => {
      const at = position;
      position += length;
      const p: Promise<void> = writeAll(fh, buffer.subarray(0, length), at).then(
        () => {
          inFlight.delete(p);
          if (pooled) free.push(buffer as Buffer);
        },
        (err: unknown) => {
          inFlight.delete(p);
          writeError ??= err;
        },
      );
      inFlight.add(p);
      while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      if (writeError !== undefined) throw writeError;
    };
    const flushCurrent = async (): Promise<void> => {
      if (current === undefined || filled === 0) return;
      const buffer = current;
      const length = filled;
      current = undefined;
      filled = 0;
      await submit(buffer, length, true);
    };

    for await (const chunk of chunks) {
      options.signal?.throwIfAborted();
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new CacheTooLargeError(options.maxBytes, options.source);
      }
      hash.update(chunk);
      if (chunk.byteLength >= WRITE_BATCH && filled === 0) {
        // Large chunks (a file stream) are written as they are: the stream does not reuse them.
        await submit(chunk, chunk.byteLength, false);
        continue;
      }
      let offset = 0;
      while (offset < chunk.byteLength) {
        current ??= free.pop() ?? Buffer.allocUnsafeSlow(WRITE_BATCH);
        const n = Math.min(WRITE_BATCH - filled, chunk.byteLength - offset);
        current.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === WRITE_BATCH) await flushCurrent();
      }
    }
    await flushCurrent();
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
    // Let pending writes settle before the file is closed under them.
    await Promise.allSettled(inFlight);
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw wrapIo(err, 'write', tmp);
  }
}

/**
 * The same as {@link writeVerifiedStream} for bytes already in memory, which the caller has
 * hashed and checked against `options.expected` before any I/O.
 */
export async function writeVerifiedBytes(
  bytes: Uint8Array,
  options: WriteVerifiedOptions,
): Promise<WriteVerifiedResult> {
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

/**
 * Copies a file into the cache: the kernel copies it to a temporary file (a reflink where
 * the filesystem has them), the copy itself is hashed, so what is verified is exactly what
 * is stored, then it is flushed and renamed into place.
 */
export async function writeVerifiedFile(sourcePath: string, options: WriteVerifiedOptions): Promise<WriteVerifiedResult> {
  const tmp = join(options.dir, tempName());
  let handle: FileHandle | undefined;
  try {
    try {
      await copyFile(sourcePath, tmp);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || (await statOrUndefined(sourcePath)) === undefined) throw err;
      await mkdir(options.dir, { recursive: true });
      await copyFile(sourcePath, tmp);
    }
    handle = await open(tmp, 'r+');
    const { size } = await handle.stat();
    if (options.maxBytes !== undefined && size > options.maxBytes) throw new CacheTooLargeError(options.maxBytes, options.source);
    const actual = await hashHandle(handle);
    if (actual !== options.expected) throw new CacheDigestMismatchError(options.expected, actual, options.source);
    if (options.fsync) await handle.sync();
    await handle.close();
    handle = undefined;
    const existed = await commit(tmp, options.finalPath, size);
    return { size, existed };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw wrapIo(err, 'copy', sourcePath);
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
 * Moves a verified temporary file into place. rename(2) replaces atomically: a reader sees
 * the old file or the new one, never a part, and in a content-addressed store both hold
 * the same bytes, so racing writers all succeed without a check-then-act window. Where
 * rename refuses to replace (Windows), an existing file of the right size is accepted as
 * the winner's.
 * @returns whether another writer's file was kept.
 */
async function commit(tmp: string, finalPath: string, size: number): Promise<boolean> {
  try {
    await rename(tmp, finalPath);
    return false;
  } catch (err) {
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
