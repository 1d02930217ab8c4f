import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cache } from '@spinel/cache';
import { parseLockedApp, serializeLockedApp } from '@spinel/manifest';
import type { LockedApp } from '@spinel/manifest';
import { fetchImageManifest } from '../platform.js';
import { mapLimit } from '../semaphore.js';
import type { OciTarget } from '../target.js';
import type { Descriptor, ImageManifest } from '../types.js';
import { debug } from './debug.js';
import { SpinAppInvalidError } from './errors.js';
import { SPIN_MEDIA_TYPES } from './media-types.js';
import type { BlobProgressEvent } from './push-app.js';
import type { TarLimits } from './tar.js';
import type { OciImageManifest } from './types.js';
import { expandArchiveLayer, unpackApp } from './unpack-app.js';
import type { UnpackedApp } from './unpack-app.js';

/** Options of {@link pullArtifact}. */
export interface PullArtifactOptions {
  /** Where to pull from: a registry repository or an OCI layout (see `openAppTarget`). */
  target: OciTarget;
  /** Tag or digest within the target. */
  reference: string;
  /** The cache blobs go to (`@spinel/cache`). */
  cache: Cache;
  /**
   * Where Spin keeps this reference's `manifest.json` and `config.json`
   * (`registry/manifests/<registry>/<repository>/<tag>`); omitted for layouts.
   */
  manifestRef?: { registry: string; repository: string; tag?: string };
  /** Blobs downloaded at once. @default 8 */
  concurrency?: number;
  onProgress?: (event: BlobProgressEvent) => void;
  signal?: AbortSignal;
  /** Caps for archive layers. */
  archiveLimits?: TarLimits;
}

/** What {@link pullArtifact} fetched. */
export interface PulledArtifact {
  /** Digest of the image manifest. */
  digest: string;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  /** Config and layers, `cached` when the cache already had them. */
  blobs: { descriptor: Descriptor; outcome: 'cached' | 'downloaded' }[];
  totalSize: number;
  downloadedSize: number;
}

/**
 * Fetches an artifact's manifest (one request; from an index, the `wasi`/`wasm` entry) and
 * every blob the cache lacks, each verified while it streams into the cache. Archive layers
 * are expanded into one cache blob per file, as Spin does. Nothing is written outside the cache.
 * @throws the target's `OCI_*` errors, the cache's `CACHE_*` errors, `OCI_ARCHIVE_*`.
 */
export async function pullArtifact(options: PullArtifactOptions): Promise<PulledArtifact> {
  const { target, cache } = options;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const resolved = await fetchImageManifest(target, options.reference, signal);
  const manifest = resolved.image;
  const blobs = [manifest.config, ...manifest.layers];
  const outcomes = await mapLimit(blobs, options.concurrency ?? 8, async (descriptor) => {
    // A blob already stored (verified when written) with the descriptor's size is not fetched.
    const info = await cache.stat(descriptor.digest);
    if (info !== undefined && info.size === descriptor.size) {
      debug('pull %s: %s already cached', target.description, descriptor.digest);
      options.onProgress?.({ descriptor, phase: 'done', transferred: 0, outcome: 'cached' });
      return 'cached' as const;
    }
    options.onProgress?.({ descriptor, phase: 'start', transferred: 0 });
    await target.pullBlob(
      descriptor,
      (stream) =>
        cache.putStream(descriptor.digest, stream, { kind: blobKind(descriptor), size: descriptor.size, source: target.description, ...signal }),
      {
        ...signal,
        ...(options.onProgress === undefined
          ? {}
          : { onProgress: (transferred: number) => options.onProgress?.({ descriptor, phase: 'progress', transferred }) }),
      },
    );
    if (descriptor.mediaType === SPIN_MEDIA_TYPES.archiveLayer) {
      await expandArchiveLayer(cache, descriptor.digest, options.archiveLimits ?? {});
    }
    debug('pull %s: fetched %s (%d bytes)', target.description, descriptor.digest, descriptor.size);
    options.onProgress?.({ descriptor, phase: 'done', transferred: descriptor.size, outcome: 'downloaded' });
    return 'downloaded' as const;
  });
  if (options.manifestRef !== undefined) {
    const lockedLayer = [...manifest.layers].reverse().find((layer) => layer.mediaType === SPIN_MEDIA_TYPES.lockedApp);
    const configDescriptor = lockedLayer ?? manifest.config;
    const config = await cache.readBytes(configDescriptor.digest, { size: configDescriptor.size });
    await cache.writeManifest(options.manifestRef, { manifest: resolved.manifest.bytes, config });
  }
  const results = blobs.map((descriptor, index) => ({ descriptor, outcome: outcomes[index] ?? 'downloaded' }));
  return {
    digest: resolved.manifest.descriptor.digest,
    manifest,
    manifestBytes: resolved.manifest.bytes,
    blobs: results,
    totalSize: blobs.reduce((sum, d) => sum + d.size, 0) + resolved.manifest.bytes.length,
    downloadedSize: results.filter((r) => r.outcome === 'downloaded').reduce((sum, r) => sum + r.descriptor.size, 0),
  };
}

function blobKind(descriptor: Descriptor): 'wasm' | 'data' {
  return descriptor.mediaType === SPIN_MEDIA_TYPES.wasmLayer || descriptor.mediaType === SPIN_MEDIA_TYPES.wasm ? 'wasm' : 'data';
}

/** Options of {@link pullApp}. */
export interface PullAppOptions extends PullArtifactOptions {
  /** Recorded as `metadata.origin` (`vnd.fermyon.origin-oci:<origin>`): the normalised reference. */
  origin: string;
  /** Where files are materialised (`assets/<component>/`) and `spin.lock` written. @default a new temporary directory */
  workDir?: string;
}

/** A pulled app, ready to run. */
export interface PulledApp extends PulledArtifact {
  /** The locked app: sources in the cache, files under `workDir`, origin and image digest set. */
  lockedApp: LockedApp;
  /** How the artifact was laid out. */
  format: UnpackedApp['format'];
  workDir: string;
  /** `<workDir>/spin.lock`. */
  lockedAppPath: string;
}

/**
 * Pulls an artifact into the cache ({@link pullArtifact}) and unpacks it into a runnable
 * locked app ({@link unpackApp}). With a warm cache this makes one manifest request and no
 * blob request.
 * @throws as {@link pullArtifact} and {@link unpackApp}; `OCI_APP_INVALID` when the locked app is not one Spinel can run.
 */
export async function pullApp(options: PullAppOptions): Promise<PulledApp> {
  const pulled = await pullArtifact(options);
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'spinel-oci-app-')));
  const unpacked = await unpackApp({
    manifest: pulled.manifest as OciImageManifest,
    store: options.cache,
    reference: options.origin,
    digest: pulled.digest,
    workDir,
    ...(options.archiveLimits === undefined ? {} : { archiveLimits: options.archiveLimits }),
  });
  let lockedApp: LockedApp;
  try {
    lockedApp = parseLockedApp(unpacked.lockedApp);
  } catch (err) {
    throw new SpinAppInvalidError(`The app pulled from ${options.origin} is not a locked app Spinel can run: ${(err as Error).message}`, { cause: err });
  }
  const lockedAppPath = join(workDir, 'spin.lock');
  await writeFile(lockedAppPath, serializeLockedApp(lockedApp));
  return { ...pulled, lockedApp, format: unpacked.format, workDir, lockedAppPath };
}
