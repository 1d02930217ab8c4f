import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from './fs-util.js';
import { tempName } from './temp-files.js';
import { wrapIo } from './write-verified.js';

/**
 * Replaces `path` with `bytes` atomically (temporary file in the same directory, flush,
 * rename): readers see the old content or the new, never a part. For mutable files such
 * as a tag's manifest.json.
 * @throws CACHE_IO
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, fsync: boolean): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, tempName());
  let handle: FileHandle | undefined;
  try {
    try {
      handle = await open(tmp, 'wx', 0o644);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      handle = await open(tmp, 'wx', 0o644);
    }
    await handle.writeFile(bytes);
    if (fsync) await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw wrapIo(err, 'write', path);
  }
}
