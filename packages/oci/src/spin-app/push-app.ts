import type { LockedApp } from '@spinel/manifest';
import pLimit from 'p-limit';
import { MediaType } from '../media-types.js';
import type { BlobProgressListener } from '../progress.js';
import type { OciTarget, PushBlobResult } from '../target.js';
import type { Descriptor } from '../types.js';
import { debug } from './debug.js';
import { packageApp, type PackageAppOptions, type PackagedApp, type PackagedBlob } from './package-app.js';

/** Options of {@link pushApp}. */
export interface PushAppOptions extends PackageAppOptions {
  /** Where to push: a registry repository or an OCI layout (see `openTarget`). */
  target: OciTarget;
  /** Tag for the manifest; without one the manifest is stored by digest only. */
  tag?: string;
  /** Blobs uploaded at once. @default 8 */
  concurrency?: number;
  /** Per-blob transfer events (for progress displays). */
  onProgress?: BlobProgressListener;
  signal?: AbortSignal;
}

/** What {@link pushApp} pushed. */
export interface PushAppResult {
  /** Digest of the manifest (`sha256:…`), as the target confirmed it. */
  digest: string;
  /** Size of the manifest in bytes. */
  manifestSize: number;
  /** Config and layers, with what happened to each. */
  blobs: { descriptor: Descriptor; outcome: PushBlobResult['outcome'] }[];
  /** Sum of the sizes of config, layers and manifest. */
  totalSize: number;
  /** Bytes actually uploaded (blobs that were not already there). */
  uploadedSize: number;
  /** The artifact as packaged (its temporary files are already removed). */
  packaged: PackagedApp;
}

/**
 * Packages a locked app as Spin does (see {@link packageApp}) and pushes it: every blob the
 * target does not already hold, `concurrency` at a time, then the manifest (under `tag`
 * when given). The digest returned is the manifest's; the target checks it against what
 * it stored.
 *
 * @throws OciError the codes of {@link packageApp} and of the target (`OCI_UPLOAD_FAILED`, `OCI_UNAUTHORIZED`, …)
 */
export async function pushApp(lockedApp: LockedApp, options: PushAppOptions): Promise<PushAppResult> {
  const packaged = await packageApp(lockedApp, options);
  try {
    return await pushPackaged(packaged, options);
  } finally {
    await packaged.dispose();
  }
}

/**
 * Pushes an already packaged app; see {@link pushApp}.
 *
 * @throws OciError the codes of the target
 */
export async function pushPackaged(packaged: PackagedApp, options: Omit<PushAppOptions, keyof PackageAppOptions>): Promise<PushAppResult> {
  const { target } = options;
  const blobs = [packaged.config, ...packaged.layers];
  // Large blobs first so the long transfers overlap the many small ones.
  const order = blobs.map((blob, index) => ({ blob, index })).sort((a, b) => b.blob.descriptor.size - a.blob.descriptor.size);
  const outcomes = new Array<PushBlobResult['outcome']>(blobs.length);
  const limit = pLimit(Math.max(1, options.concurrency ?? 8));
  const settled = await Promise.allSettled(
    order.map(({ blob, index }) =>
      limit(async () => {
        outcomes[index] = await pushOne(target, blob, options);
      }),
    ),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const tagged = await target.pushManifest(packaged.manifestBytes, MediaType.OciManifest, options.tag, options.signal === undefined ? {} : { signal: options.signal });
  debug('pushed manifest %s to %s%s', tagged.digest, target.description, options.tag === undefined ? '' : `:${options.tag}`);
  const results = blobs.map((blob, index) => ({ descriptor: blob.descriptor, outcome: outcomes[index] ?? 'uploaded' }));
  const blobTotal = blobs.reduce((sum, blob) => sum + blob.descriptor.size, 0);
  return {
    digest: tagged.digest,
    manifestSize: packaged.manifestBytes.length,
    blobs: results,
    totalSize: blobTotal + packaged.manifestBytes.length,
    uploadedSize: results.filter((r) => r.outcome === 'uploaded').reduce((sum, r) => sum + r.descriptor.size, 0),
    packaged,
  };
}

async function pushOne(target: OciTarget, blob: PackagedBlob, options: Omit<PushAppOptions, keyof PackageAppOptions>): Promise<PushBlobResult['outcome']> {
  const { descriptor } = blob;
  const onProgress = options.onProgress;
  onProgress?.({ descriptor, phase: 'start', transferred: 0 });
  const source = blob.bytes ?? (() => blob.open());
  const result = await target.pushBlob(descriptor, source, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(onProgress === undefined ? {} : { onProgress: (transferred: number) => onProgress({ descriptor, phase: 'progress', transferred }) }),
  });
  debug('push %s %s (%d bytes) to %s: %s', descriptor.mediaType, descriptor.digest, descriptor.size, target.description, result.outcome);
  onProgress?.({ descriptor, phase: 'done', transferred: result.outcome === 'uploaded' ? descriptor.size : 0, outcome: result.outcome });
  return result.outcome;
}
