import { rename, rm, stat, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempName } from './temp-files.js';

/** `stat` that answers undefined for a missing path. */
export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Unlink/rmdir ignoring "already gone". */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true, recursive: true }).catch(() => undefined);
}

/**
 * Removes an entry so no reader sees it half-deleted: first renamed aside to a temporary
 * name in the same directory (atomic), then deleted.
 */
export async function removeAtomically(path: string): Promise<boolean> {
  const aside = join(dirname(path), tempName());
  try {
    await rename(path, aside);
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  await rm(aside, { force: true, recursive: true });
  return true;
}

const TOUCH_GRANULARITY_MS = 60_000;

/**
 * Marks an entry as used now (its mtime is the least-recently-used clock; atime is
 * unreliable under relatime/noatime). Skipped when touched within the last minute; errors
 * (a read-only cache) are ignored.
 */
export async function touch(path: string, mtimeMs: number | undefined, now: number): Promise<void> {
  if (mtimeMs !== undefined && now - mtimeMs < TOUCH_GRANULARITY_MS) return;
  const when = new Date(now);
  await utimes(path, when, when).catch(() => undefined);
}
