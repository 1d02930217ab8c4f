/**
 * What packaging reads of an app: only regular files of bounded size. A path is opened without
 * blocking (a FIFO cannot stall the push) and checked with `fstat` before a byte is read, and
 * then at most the size it had is read, so `/dev/zero` or a file that keeps growing cannot make
 * the read unbounded.
 */
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { AppFileChangedError, AppFileRefusedError } from '../errors.js';

/** Largest component or dependency source packaged. */
export const DEFAULT_MAX_SOURCE_BYTES = 512 * 1024 * 1024;
/** Largest single file packaged. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024;

function kind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The refusal for something that is not a regular file of at most `limit` bytes, or undefined. */
export function refusal(info: Stats, what: string, limit: number): AppFileRefusedError | undefined {
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
    const info = await handle.stat();
    const refused = refusal(info, what, limit);
    if (refused !== undefined) throw refused;
    return { handle, size: info.size, identity: identityOf(info) };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

// Read in pieces of this size: a Wasm component of megabytes is then a few reads and buffers,
// not one per 64 KiB (the stream's default).
const READ_CHUNK_BYTES = 1 << 20;

/** Which file packaging read and how it was then: what a later read must find again. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export function identityOf(info: Stats): FileIdentity {
  return { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * The bytes of a file packaging hashed, read again for the upload. The path is opened (links
 * followed, as packaging followed them, without blocking) and the opened file's `fstat` must
 * show the file packaging saw: a path swapped for a link to another file, a file renamed over
 * it or written since is refused before a byte is read, so nothing but the packaged file is sent.
 * @throws AppFileChangedError `OCI_APP_FILE_CHANGED`; system errors pass through.
 */
export async function* readUnchanged(path: string, seen: FileIdentity): AsyncGenerator<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const now = identityOf(await handle.stat());
    if (now.dev !== seen.dev || now.ino !== seen.ino || now.size !== seen.size || now.mtimeMs !== seen.mtimeMs) {
      throw new AppFileChangedError(
        `${path} changed after the app was packaged (${now.dev !== seen.dev || now.ino !== seen.ino ? 'the path now names another file' : 'the file was written since'}); none of it was sent. Push again once the app's files stop changing.`,
      );
    }
    if (seen.size > 0) yield* handle.createReadStream({ start: 0, end: seen.size - 1, autoClose: false, highWaterMark: READ_CHUNK_BYTES });
  } finally {
    await handle.close().catch(() => undefined);
  }
}
