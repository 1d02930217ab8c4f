import type { BlobKind, Cache, PutResult } from '@spinel/cache';
import type { OciTarget, PullBlobOptions } from './target.js';
import type { Descriptor } from './types.js';

/** Options of {@link pullBlobToCache}. */
export interface PullToCacheOptions extends PullBlobOptions {
  /** Cache directory the blob goes to. @default 'data' */
  kind?: BlobKind;
}

/**
 * Make sure a blob is in the cache: nothing is fetched when it is already there; otherwise
 * it is streamed from `target` into the cache, verified on the way, and stored by atomic
 * rename only when digest and size match (a failed or corrupt transfer leaves nothing).
 *
 * @returns what the cache stored (`existed: true` when no request was made)
 */
export async function pullBlobToCache(target: OciTarget, descriptor: Descriptor, cache: Cache, options: PullToCacheOptions = {}): Promise<PutResult> {
  const kind = options.kind ?? 'data';
  const info = await cache.stat(descriptor.digest);
  if (info !== undefined && info.size === descriptor.size) {
    return { digest: descriptor.digest, path: info.path, size: info.size, kind: info.kind, existed: true };
  }
  return target.pullBlob(
    descriptor,
    (stream) =>
      cache.putStream(descriptor.digest, stream, {
        kind,
        size: descriptor.size,
        source: target.description,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }),
    options,
  );
}
