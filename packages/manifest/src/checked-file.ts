/**
 * Regular files of bounded size: what locking accepts as a component source, a dependency
 * source or a file to copy. The type and size are checked before anything is read, and a copy
 * reads the very file that was checked: it is opened without following a final link and
 * without blocking (a FIFO put in its place cannot stall the lock), and its device and inode
 * must be those recorded when it was checked, so a link or file swapped in between is refused.
 */
import { constants, createWriteStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** Largest component or dependency source accepted. */
export const DEFAULT_MAX_SOURCE_BYTES = 512 * 1024 * 1024;
/** Largest single file of a component's `files` accepted. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024;

/** A file that passed the checks, identified as it was then. */
export interface CheckedFile {
  /** Absolute path with links resolved. */
  readonly real: string;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
}

/** Why a path was refused: a stable code and a message naming it. */
export interface FileRefusal {
  readonly code: string;
  readonly message: string;
}

/** "a directory", "a character device", … for messages. */
export function describeKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** `1.5 GiB` for messages. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(value >= 10 ? 0 : 1)} ${units[unit] ?? ''}`;
}

/**
 * The refusal for stats that are not a regular file of at most `limit` bytes, or undefined.
 * `what` names the path for the message (e.g. `source "../dev/zero" of component \`web\``).
 */
export function refuseStats(info: Stats, what: string, limit: number, limitName: string): FileRefusal | undefined {
  if (!info.isFile()) {
    return {
      code: 'MANIFEST_NOT_REGULAR_FILE',
      message: `${what} is ${describeKind(info)}, not a regular file; only regular files can be read (devices, pipes and sockets are refused).`,
    };
  }
  if (info.size > limit) {
    return {
      code: 'MANIFEST_FILE_TOO_LARGE',
      message: `${what} is ${formatBytes(info.size)}, more than the ${formatBytes(limit)} allowed; raise \`${limitName}\` if it is expected.`,
    };
  }
  return undefined;
}

/**
 * Checks a component or dependency source before the app is locked: when it exists it must
 * be a regular file (links followed) of at most `limit` bytes. A missing source is left for
 * the run to report, as Spin does (the app may not be built yet).
 */
export async function checkSourceFile(path: string, what: string, limit: number, limitName: string): Promise<FileRefusal | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info === undefined ? undefined : refuseStats(info, what, limit, limitName);
}

/** Thrown by {@link copyCheckedFile} with a stable code. */
export class CheckedFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CheckedFileError';
  }
}

/**
 * Copies a checked file to `dest`, reading at most the size it had when checked.
 * @throws CheckedFileError `MANIFEST_FILES_CHANGED` when the path now holds another file (a
 *   swapped link or file) or no regular file; `MANIFEST_FILE_TOO_LARGE` when it grew past `limit`.
 *   Errors writing `dest` pass through.
 */
export async function copyCheckedFile(file: CheckedFile, dest: string, what: string, limit: number, limitName: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(file.real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    throw new CheckedFileError('MANIFEST_FILES_CHANGED', `${what} changed while the app was being locked (${(cause as Error).message}); lock it again.`, { cause });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.dev !== file.dev || info.ino !== file.ino) {
      throw new CheckedFileError(
        'MANIFEST_FILES_CHANGED',
        `${what} was replaced while the app was being locked (it is now ${info.isFile() ? 'another file' : describeKind(info)}); nothing of it was copied. Lock the app again.`,
      );
    }
    const refusal = refuseStats(info, what, limit, limitName);
    if (refusal !== undefined) throw new CheckedFileError(refusal.code, refusal.message);
    const size = Math.min(info.size, file.size);
    if (size === 0) {
      await (await open(dest, 'w')).close();
      return;
    }
    // Bounded by the size seen when checked: a file growing meanwhile cannot make the copy unbounded.
    await pipeline(handle.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: 1 << 20 }), createWriteStream(dest));
  } finally {
    await handle.close().catch(() => undefined);
  }
}
