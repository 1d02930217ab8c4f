import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { isValidDigest } from './digest.js';
import { ImageLayout } from './image-layout.js';
import { isIndex, parseManifestJson } from './platform.js';
import { RegistryRepository } from './registry-client.js';
import type { OciTarget, ProgressCallback } from './target.js';
import type { Descriptor } from './types.js';

/** Options of {@link copy}. */
export interface CopyOptions {
  /** Tag to give the copy in the destination. @default the source tag (none when copying by digest) */
  tag?: string;
  /** Blobs copied at once. @default 8 */
  concurrency?: number;
  /** Called per blob with bytes moved so far. */
  onProgress?: (descriptor: Descriptor, transferred: number, total: number) => void;
  signal?: AbortSignal;
}

/** What {@link copy} did. */
export interface CopyResult {
  /** Descriptor of the top manifest (same digest in source and destination). */
  descriptor: Descriptor;
  /** Blobs whose bytes were moved. */
  copied: number;
  /** Blobs the destination already had (or mounted). */
  skipped: number;
}

/** Error marking a stream that a retrying uploader wanted to read a second time. */
class StreamConsumedError extends Error {
  readonly retryable = true;
  readonly sourceConsumed = true;
  constructor() {
    super('the blob stream was already read; the transfer starts again');
  }
}

/**
 * Copy an artifact (image manifest, or index with every child) from one target to another,
 * byte for byte, so every digest is kept: registry → layout, layout → registry, registry →
 * registry (with a cross-repository mount when both are on the same registry).
 *
 * @throws OciError the codes of `fetchManifest`, `pullBlob` and `pushBlob`
 */
export async function copy(source: OciTarget, dest: OciTarget, reference: string, options: CopyOptions = {}): Promise<CopyResult> {
  const counts = { copied: 0, skipped: 0 };
  const top = await copyManifest(source, dest, reference, options, counts);
  const tag = options.tag ?? (isValidDigest(reference) ? undefined : reference);
  const pushed = await dest.pushManifest(top.bytes, top.descriptor.mediaType, tag, options.signal === undefined ? {} : { signal: options.signal });
  return { descriptor: pushed, ...counts };
}

async function copyManifest(
  source: OciTarget,
  dest: OciTarget,
  reference: string,
  options: CopyOptions,
  counts: { copied: number; skipped: number },
): Promise<{ bytes: Buffer; descriptor: Descriptor }> {
  const fetched = await source.fetchManifest(reference, options.signal === undefined ? {} : { signal: options.signal });
  const parsed = parseManifestJson(fetched.bytes, `manifest ${source.description}:${reference}`);
  if (isIndex(fetched, parsed)) {
    for (const child of parsed.manifests) {
      const copied = await copyManifest(source, dest, child.digest, options, counts);
      await pushChild(dest, copied.bytes, child, options);
    }
  } else {
    const blobs = dedupe([parsed.config, ...parsed.layers]);
    const limit = pLimit(Math.max(1, options.concurrency ?? 8));
    await settleAll(blobs.map((d) => limit(() => copyBlob(source, dest, d, options, counts))));
  }
  return { bytes: fetched.bytes, descriptor: fetched.descriptor };
}

async function pushChild(dest: OciTarget, bytes: Buffer, descriptor: Descriptor, options: CopyOptions): Promise<void> {
  // In a layout, child manifests are plain blobs (only the top one is listed in index.json).
  if (dest instanceof ImageLayout) await dest.pushBlob(descriptor, bytes);
  else await dest.pushManifest(bytes, descriptor.mediaType, undefined, options.signal === undefined ? {} : { signal: options.signal });
}

function dedupe(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && (seen.add(d.digest), true));
}

async function copyBlob(source: OciTarget, dest: OciTarget, descriptor: Descriptor, options: CopyOptions, counts: { copied: number; skipped: number }): Promise<void> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  if (await dest.hasBlob(descriptor, signal)) {
    counts.skipped++;
    return;
  }
  if (source instanceof RegistryRepository && dest instanceof RegistryRepository && source.registry === dest.registry) {
    if (await dest.mountBlob(descriptor, source.repository, signal)) {
      counts.skipped++;
      return;
    }
  }
  const onProgress: ProgressCallback | undefined = options.onProgress ? (n, total) => options.onProgress?.(descriptor, n, total) : undefined;
  await source.pullBlob(
    descriptor,
    async (stream: Readable) => {
      let opened = false;
      await dest.pushBlob(
        descriptor,
        () => {
          // A retrying uploader cannot rewind a network stream: start the pull again instead.
          if (opened) throw new StreamConsumedError();
          opened = true;
          return stream;
        },
        { ...signal, ...(onProgress === undefined ? {} : { onProgress }) },
      );
    },
    signal,
  );
  counts.copied++;
}

/** Wait for every task (nothing is left running), then throw the first failure. */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
