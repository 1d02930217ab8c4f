import { resolve } from 'node:path';

/** The cache root: `--cache-dir` / `$SPINEL_CACHE_DIR` (made absolute), else the platform default. */
export async function cacheRootFrom(flag: string | undefined): Promise<string> {
  if (flag !== undefined && flag !== '') return resolve(flag);
  const { defaultCacheRoot } = await import('@spinel/cache');
  return defaultCacheRoot();
}
