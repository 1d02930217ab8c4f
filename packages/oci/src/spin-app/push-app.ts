import type { LockedApp } from '@spinel/manifest';
import pLimit from 'p-limit';
import { OciError } from '../errors.js';
import { IMAGE_MANIFEST_TYPES, MediaType } from '../media-types.js';
import { RegistryRepository } from '../registry-client.js';
import { UPLOAD_CONCURRENCY } from '../transfer-limits.js';
import type { BlobProgressListener } from '../progress.js';
import type { OciTarget, PushBlobResult } from '../target.js';
import type { Descriptor, ImageManifest } from '../types.js';
import { debug } from './debug.js';
import { packageApp, type PackageAppOptions, type PackagedApp, type PackagedBlob } from './package-app.js';

// Blobs up to this size are sent without asking the registry first whether it has them: the
// upload (POST, then PUT with the bytes) costs the registry about what the HEAD does, so a new
// small blob takes two requests instead of three. A Spin app's static files are mostly this
// small. Larger blobs are still asked about, so an unchanged component is not sent again.
const CHECK_EXISTS_ABOVE = 64 * 1024;

/** Options of {@link pushApp}. */
export interface PushAppOptions extends PackageAppOptions {
  /** Where to push: a registry repository or an OCI layout (see `openTarget`). */
  target: OciTarget;
  /** Tag for the manifest; without one the manifest is stored by digest only. */
  tag?: string;
  /** Blobs uploaded at once (a registry client bounds its own uploads too: see its `concurrency`). @default 16 */
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
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const blobs = [packaged.config, ...packaged.layers];
  // Blobs the tag's current manifest lists are in the repository already: a registry accepts
  // a manifest only once it holds every blob it names, so a re-push of a mostly unchanged
  // app asks nothing about them (one manifest GET instead of a HEAD per blob).
  const listed = options.tag === undefined || !(target instanceof RegistryRepository) ? Promise.resolve(new Set<string>()) : blobsListedBy(target, options.tag, options.signal);
  // Large blobs first so the long transfers overlap the many small ones.
  const order = blobs.map((blob, index) => ({ blob, index })).sort((a, b) => b.blob.descriptor.size - a.blob.descriptor.size);
  const outcomes = new Array<PushBlobResult['outcome']>(blobs.length);
  const assumed: number[] = [];
  const limit = pLimit(Math.max(1, options.concurrency ?? UPLOAD_CONCURRENCY));
  const settled = await Promise.allSettled(
    order.map(({ blob, index }) =>
      limit(async () => {
        if ((await listed).has(blobKey(blob.descriptor))) {
          assumed.push(index);
          outcomes[index] = 'exists';
          options.onProgress?.({ descriptor: blob.descriptor, phase: 'done', transferred: 0, outcome: 'exists' });
          return;
        }
        outcomes[index] = await pushOne(target, blob, options, blob.descriptor.size > CHECK_EXISTS_ABOVE);
      }),
    ),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  let tagged;
  try {
    tagged = await target.pushManifest(packaged.manifestBytes, MediaType.OciManifest, options.tag, signal);
  } catch (err) {
    // A blob the old manifest named may have been deleted since (a registry that lets
    // blobs be deleted): push those the normal way, asking first, and try once more.
    if (assumed.length === 0 || !(err instanceof OciError) || err.code !== 'OCI_REGISTRY_ERROR') throw err;
    debug('manifest push to %s failed (%s); pushing the %d blobs the tag listed', target.description, err.message, assumed.length);
    await Promise.all(assumed.map((index) => limit(async () => {
      const blob = blobs[index] as PackagedBlob;
      outcomes[index] = await pushOne(target, blob, options, true);
    })));
    tagged = await target.pushManifest(packaged.manifestBytes, MediaType.OciManifest, options.tag, signal);
  }
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

/**
 * The config and layers (`digest:size`) of the image manifest under `tag`, or none when there
 * is none or it cannot be read: this only saves requests, so any failure means "ask per blob".
 */
async function blobsListedBy(target: RegistryRepository, tag: string, signal: AbortSignal | undefined): Promise<Set<string>> {
  try {
    const fetched = await target.fetchManifest(tag, { accept: IMAGE_MANIFEST_TYPES, ...(signal === undefined ? {} : { signal }) });
    const parsed = JSON.parse(fetched.bytes.toString('utf8')) as Partial<ImageManifest>;
    const descriptors = [parsed.config, ...(Array.isArray(parsed.layers) ? parsed.layers : [])];
    return new Set(descriptors.filter((d): d is Descriptor => typeof d?.digest === 'string' && typeof d.size === 'number').map(blobKey));
  } catch (err) {
    debug('push to %s: no usable manifest under %s (%s); every blob is checked', target.description, tag, (err as Error).message);
    return new Set();
  }
}

function blobKey(descriptor: Descriptor): string {
  return `${descriptor.digest}:${descriptor.size}`;
}

async function pushOne(target: OciTarget, blob: PackagedBlob, options: Omit<PushAppOptions, keyof PackageAppOptions>, checkExists: boolean): Promise<PushBlobResult['outcome']> {
  const { descriptor } = blob;
  const onProgress = options.onProgress;
  onProgress?.({ descriptor, phase: 'start', transferred: 0 });
  const source = blob.bytes ?? (() => blob.open());
  const result = await target.pushBlob(descriptor, source, {
    checkExists,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(onProgress === undefined ? {} : { onProgress: (transferred: number) => onProgress({ descriptor, phase: 'progress', transferred }) }),
  });
  debug('push %s %s (%d bytes) to %s: %s', descriptor.mediaType, descriptor.digest, descriptor.size, target.description, result.outcome);
  onProgress?.({ descriptor, phase: 'done', transferred: result.outcome === 'uploaded' ? descriptor.size : 0, outcome: result.outcome });
  return result.outcome;
}
