import { resolve } from 'node:path';
// A static import on purpose: the bundle (scripts/bundle.mjs, BUNDLED_HELPERS) copies this one
// stateless function into the chunk, so `spinel cache dir` does not load the whole library.
import { defaultCacheRoot } from '@spinel/cache';

/** The cache root: `--cache-dir` / `$SPINEL_CACHE_DIR` (made absolute), else the platform default. */
export async function cacheRootFrom(flag: string | undefined): Promise<string> {
  if (flag !== undefined && flag !== '') return resolve(flag);
  return defaultCacheRoot();
}
