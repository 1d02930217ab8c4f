import { cacheDirFlag } from '../../base-command.js';
import { cacheRootFrom } from '../../cache-root.js';
import type { Cache } from '@spinel/cache';

/** Flags every `cache` command takes (besides `--json`). */
export const cacheFlags = {
  'cache-dir': cacheDirFlag,
};

export { cacheRootFrom } from '../../cache-root.js';
export { formatBytes } from '../../format-bytes.js';

/** Opens the cache the flags point at (nothing is created by opening). */
export async function openCommandCache(flag: string | undefined): Promise<Cache> {
  const { openCache } = await import('@spinel/cache');
  return openCache({ root: await cacheRootFrom(flag) });
}

/** `1 entry` / `2 entries`. */
export function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}
