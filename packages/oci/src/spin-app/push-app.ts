import { mapLimit } from '../semaphore.js';
import type { OciTarget, PushBlobResult } from '../target.js';
import type { Descriptor } from '../types.js';
import { toLockedAppJson } from './app-json.js';
import { debug } from './debug.js';
import { SPIN_MEDIA_TYPES } from './media-types.js';
import { packageApp } from './package-app.js';
import type { PackageAppOptions, PackagedApp, PackagedBlob } from './package-app.js';

/** A transfer event for one blob (push or pull). */
export interface BlobProgressEvent {
  descriptor: Descriptor;
  /** `start`, `progress` (bytes moved so far), or `done`. */
  phase: 'start' | 'progress' | 'done';
  transferred: number;
  /** On `done`: `exists`/`cached` (nothing moved), `mounted`, `uploaded` or `downloaded`. */
  outcome?: PushBlobResult['outcome'] | 'cached' | 'downloaded';
}

/** Options of {@link pushApp}. */
export interface PushAppOptions extends PackageAppOptions {
  /** Where to push: a registry repository or an OCI layout (see `openAppTarget`). */
  target: OciTarget;
  /** Tag for the manifest; without one the manifest is stored by digest only. */
  tag?: string;
  /** Blobs uploaded at once. @default 8 */
  concurrency?: number;
  onProgress?: (event: BlobProgressEvent) => void;
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
  packaged: PackagedApp;
}

/**
 * Packages a locked app (see {@link packageApp}) and pushes it: every blob that the target
 * does not already hold, `concurrency` at a time, then the manifest (under `tag` if given).
 * The digest returned is the manifest's; the target checks it against what it stored.
 * @throws the errors of {@link packageApp} and of the target (`OCI_*`).
 */
export async function pushApp(lockedApp: object, options: PushAppOptions): Promise<PushAppResult> {
  const packaged = await packageApp(toLockedAppJson(lockedApp), options);
  try {
    return await pushPackaged(packaged, options);
  } finally {
    await packaged.dispose();
  }
}

/** Pushes an already packaged app; see {@link pushApp}. */
export async function pushPackaged(packaged: PackagedApp, options: PushAppOptions): Promise<PushAppResult> {
  const { target } = options;
  const blobs = [packaged.config, ...packaged.layers];
  // Large blobs first so the long transfers overlap the many small ones.
  const order = blobs.map((blob, index) => ({ blob, index })).sort((a, b) => b.blob.descriptor.size - a.blob.descriptor.size);
  const outcomes = new Array<PushBlobResult['outcome']>(blobs.length);
  await mapLimit(order, options.concurrency ?? 8, async ({ blob, index }) => {
    outcomes[index] = await pushOne(target, blob, options);
  });
  const tagged = await target.pushManifest(
    packaged.manifestBytes,
    SPIN_MEDIA_TYPES.imageManifest,
    options.tag,
    options.signal === undefined ? {} : { signal: options.signal },
  );
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

async function pushOne(target: OciTarget, blob: PackagedBlob, options: PushAppOptions): Promise<PushBlobResult['outcome']> {
  const { descriptor } = blob;
  options.onProgress?.({ descriptor, phase: 'start', transferred: 0 });
  const source = blob.bytes ?? (() => blob.open());
  const result = await target.pushBlob(descriptor, source, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onProgress === undefined
      ? {}
      : { onProgress: (transferred: number) => options.onProgress?.({ descriptor, phase: 'progress', transferred }) }),
  });
  debug('push %s %s (%d bytes) to %s: %s', descriptor.mediaType, descriptor.digest, descriptor.size, target.description, result.outcome);
  options.onProgress?.({ descriptor, phase: 'done', transferred: descriptor.size, outcome: result.outcome });
  return result.outcome;
}
