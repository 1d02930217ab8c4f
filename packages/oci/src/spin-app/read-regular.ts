/**
 * What packaging reads of an app: only regular files of bounded size. A path is opened without
 * blocking (a FIFO cannot stall the push) and checked with `fstat` before a byte is read, and
 * then at most the size it had is read, so `/dev/zero` or a file that keeps growing cannot make
 * the read unbounded.
 */
import { constants } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { AppFileChangedError, AppFileRefusedError } from '../errors.js';

/** Largest component or dependency source packaged. */
export const DEFAULT_MAX_SOURCE_BYTES = 512 * 1024 * 1024;
/** Largest single file packaged. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024;

function kind(info: Stats | BigIntStats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The refusal for something that is not a regular file of at most `limit` bytes, or undefined. */
export function refusal(info: Stats | BigIntStats, what: string, limit: number): AppFileRefusedError | undefined {
  if (!info.isFile()) {
    return new AppFileRefusedError('OCI_APP_NOT_REGULAR_FILE', `${what} is ${kind(info)}, not a regular file; only regular files are packaged (devices, pipes and sockets are refused).`);
  }
  if (info.size > limit) {
    return new AppFileRefusedError('OCI_APP_TOO_LARGE', `${what} is ${info.size} bytes, more than the ${limit} allowed; raise the limit if it is expected.`);
  }
  return undefined;
}

/**
 * Opens a regular file of at most `limit` bytes for reading; the caller closes it.
 * @throws AppFileRefusedError `OCI_APP_NOT_REGULAR_FILE`, `OCI_APP_TOO_LARGE`; system errors pass through.
 */
export async function openRegular(path: string, what: string, limit: number): Promise<{ handle: FileHandle; size: number; identity: FileIdentity }> {
  // A socket cannot be opened at all: stat first so it is named, not reported as unreadable.
  const before = refusal(await stat(path), what, limit);
  if (before !== undefined) throw before;
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat({ bigint: true });
    const refused = refusal(info, what, limit);
    if (refused !== undefined) throw refused;
    return { handle, size: Number(info.size), identity: identityOf(info) };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

// Read in pieces of this size: a Wasm component of megabytes is then a few reads and buffers,
// not one per 64 KiB (the stream's default).
const READ_CHUNK_BYTES = 1 << 20;

/**
 * Which file packaging read and how it was then: what a later read must find again. The change
 * time is there because no one can set it: a write with the modification time put back
 * (`utimensat`), or a file deleted and made again at the same size that the file system gave
 * the same inode, still moves it. Times in nanoseconds (`stat` with `bigint`).
 */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function identityOf(info: BigIntStats): FileIdentity {
  return { dev: info.dev, ino: info.ino, size: Number(info.size), mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs };
}

/** Errors of opening a path that say it no longer names a file packaging could read. */
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM']);

/**
 * The bytes of a file packaging hashed, read again for the upload. The path is opened (links
 * followed, as packaging followed them, without blocking) and the opened file's `fstat` must
 * show the file packaging saw: a path swapped for a link to another file, a file renamed over
 * it, written since (its change time moved) or removed is refused before a byte is read, so
 * nothing but the packaged file is sent.
 * @throws AppFileChangedError `OCI_APP_FILE_CHANGED`; other system errors pass through.
 */
export async function* readUnchanged(path: string, seen: FileIdentity): AsyncGenerator<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === undefined || !GONE.has(err.code)) throw err;
    throw new AppFileChangedError(`${path} was packaged but can no longer be read (${err.code}: it was removed, moved or made unreadable since); none of it was sent. Push again once the app's files stop changing.`);
  });
  try {
    const now = identityOf(await handle.stat({ bigint: true }));
    if (now.dev !== seen.dev || now.ino !== seen.ino || now.size !== seen.size || now.mtimeNs !== seen.mtimeNs || now.ctimeNs !== seen.ctimeNs) {
      throw new AppFileChangedError(
        `${path} changed after the app was packaged (${now.dev !== seen.dev || now.ino !== seen.ino ? 'the path now names another file' : 'the file was written since'}); none of it was sent. Push again once the app's files stop changing.`,
      );
    }
    if (seen.size > 0) yield* handle.createReadStream({ start: 0, end: seen.size - 1, autoClose: false, highWaterMark: READ_CHUNK_BYTES });
  } finally {
    await handle.close().catch(() => undefined);
  }
}
