import { resolve } from 'node:path';
import { cacheDirFlag } from '../../base-command.js';
import type { Cache } from '@spinel/cache';

/** Flags every `cache` command takes (besides `--json`). */
export const cacheFlags = {
  'cache-dir': cacheDirFlag,
};

/** The cache root: --cache-dir / $SPINEL_CACHE_DIR, else the platform default. */
export async function cacheRootFrom(flag: string | undefined): Promise<string> {
  if (flag !== undefined && flag !== '') return resolve(flag);
  const { defaultCacheRoot } = await import('@spinel/cache');
  return defaultCacheRoot();
}

/** Opens the cache the flags point at (nothing is created by opening). */
export async function openCommandCache(flag: string | undefined): Promise<Cache> {
  const { openCache } = await import('@spinel/cache');
  return openCache({ root: await cacheRootFrom(flag) });
}

/** Human-readable byte count (binary units). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `1 entry` / `2 entries`. */
export function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}
