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
import { AppFileRefusedError } from '../errors.js';

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
export async function openRegular(path: string, what: string, limit: number): Promise<{ handle: FileHandle; size: number }> {
  // A socket cannot be opened at all: stat first so it is named, not reported as unreadable.
  const before = refusal(await stat(path), what, limit);
  if (before !== undefined) throw before;
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    const refused = refusal(info, what, limit);
    if (refused !== undefined) throw refused;
    return { handle, size: info.size };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
