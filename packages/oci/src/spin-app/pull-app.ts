import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeLockedApp, type LockedApp } from '@spinel/manifest';
import pLimit from 'p-limit';
import { digestWithAlgorithmOf } from '../digest.js';
import { AppInvalidError } from '../errors.js';
import { MediaType } from '../media-types.js';
import { fetchImageManifest } from '../platform.js';
import { DOWNLOAD_CONCURRENCY } from '../transfer-limits.js';
import type { BlobProgressListener } from '../progress.js';
import type { OciTarget } from '../target.js';
import type { Descriptor, ImageManifest } from '../types.js';
import type { AppBlobKind, AppBlobStore, SpinCacheLocation } from './app-blob-store.js';
import type { TarLimits } from './archive-reader.js';
import { debug } from './debug.js';
import { expandArchiveLayer, unpackApp, type UnpackedApp } from './unpack-app.js';

/** Options of {@link pullArtifact}. */
export interface PullArtifactOptions {
  /** Where to pull from: a registry repository or an OCI layout (see `openTarget`). */
  target: OciTarget;
  /** Tag or digest within the target. */
  reference: string;
  /** Where blobs go: `openCache()` of `@spinel/cache`, or any {@link AppBlobStore}. */
  store: AppBlobStore;
  /**
   * Where Spin keeps this reference's `manifest.json` and `config.json` (`openTarget` gives
   * it for registries). With a store that keeps them, the locked app is stored there, where
   * Spin looks for it, and is not fetched again while it is unchanged.
   */
  spinCacheLocation?: SpinCacheLocation;
  /**
   * Blobs downloaded at once (a registry client bounds its own downloads too: see its
   * `concurrency`). @default 32
   */
  concurrency?: number;
  /** Per-blob transfer events (for progress displays). */
  onProgress?: BlobProgressListener;
  signal?: AbortSignal;
  /** Caps for archive layers (a safety net Spin lacks). @default see `DEFAULT_TAR_LIMITS` */
  archiveLimits?: TarLimits;
  /** Largest locked app (or config blob) accepted. @default 64 MiB */
  maxConfigBytes?: number;
}

/** What happened to one blob of a pull. */
export type PullOutcome = 'cached' | 'downloaded' | 'not-needed';

/** What {@link pullArtifact} fetched. */
export interface PulledArtifact {
  /** Digest of the image manifest. */
  digest: string;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  /** What Spin keeps as `config.json`: the locked-app layer, or the config blob when there is none. */
  config: Buffer;
  /** Config and layers: `cached` when already held, `not-needed` for a config blob a Spin app does not use. */
  blobs: { descriptor: Descriptor; outcome: PullOutcome }[];
  totalSize: number;
  downloadedSize: number;
}

/**
 * Fetches an artifact's manifest (one request; from an index, the `wasi`/`wasm` entry), its
 * locked app (unless the store already holds it where Spin keeps it) and every layer the
 * store lacks, each verified while it streams. Archive layers are expanded into one blob per
 * file, as Spin does. With a warm cache this is one manifest request and no blob request.
 *
 * @throws OciError the target's codes (`OCI_MANIFEST_UNKNOWN`, `OCI_DIGEST_MISMATCH`, …),
 *   `OCI_ARCHIVE_*`, `OCI_APP_INVALID` (a locked app over `maxConfigBytes`); the store's errors pass through
 */
export async function pullArtifact(options: PullArtifactOptions): Promise<PulledArtifact> {
  const { target, store } = options;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const resolved = await fetchImageManifest(target, options.reference, signal);
  const manifest = resolved.image;
  // Spin's `config.json`: the config blob, replaced by the locked-app layer when there is one.
  const appLayer = [...manifest.layers].reverse().find((layer) => layer.mediaType === MediaType.SpinLockedApp);
  const configDescriptor = appLayer ?? manifest.config;
  const outcomes = new Map<string, PullOutcome>();
  if (appLayer !== undefined) outcomes.set(manifest.config.digest, 'not-needed');

  const location = store.readManifest !== undefined && store.writeManifest !== undefined ? options.spinCacheLocation : undefined;
  const kept = location === undefined ? undefined : await store.readManifest?.(location);
  let cachedConfig: Buffer | undefined;
  if (kept?.config !== undefined && kept.config.byteLength === configDescriptor.size && digestWithAlgorithmOf(configDescriptor.digest, kept.config) === configDescriptor.digest) {
    cachedConfig = Buffer.from(kept.config);
    outcomes.set(configDescriptor.digest, 'cached');
    options.onProgress?.({ descriptor: configDescriptor, phase: 'done', transferred: 0, outcome: 'cached' });
  }

  // The locked-app layer is kept only as `config.json`: Spin skips a layer it finds under
  // `data/` and would then never write its `config.json`.
  // Largest first: a long download then overlaps the many short ones instead of starting
  // last and leaving the pull waiting on it alone (Spin apps list a component's files after it).
  const layers = dedupe(manifest.layers.filter((layer) => layer.mediaType !== MediaType.SpinLockedApp)).sort((a, b) => b.size - a.size);
  const concurrency = Math.max(1, options.concurrency ?? DOWNLOAD_CONCURRENCY);
  // `limit` bounds the downloads in flight; `pending` bounds the layers between their first
  // byte and their place in the store, so at most that many small layers wait in memory.
  const limit = pLimit(concurrency);
  const pending = pLimit(concurrency * 2);
  const configTask = cachedConfig !== undefined ? Promise.resolve(cachedConfig) : limit(() => fetchConfig(configDescriptor));
  const settled = await Promise.allSettled([configTask, ...layers.map((descriptor) => pending(() => pullLayer(descriptor)))]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const config = await configTask;
  const unchanged = cachedConfig !== undefined && kept !== undefined && Buffer.from(kept.manifest).equals(resolved.manifest.bytes);
  if (location !== undefined && !unchanged) {
    // Written after the layers, so whoever finds this config.json finds its blobs.
    await store.writeManifest?.(location, { manifest: resolved.manifest.bytes, config });
  }
  const blobs = [manifest.config, ...manifest.layers].map((descriptor) => ({ descriptor, outcome: outcomes.get(descriptor.digest) ?? 'cached' }));
  return {
    digest: resolved.manifest.descriptor.digest,
    manifest,
    manifestBytes: resolved.manifest.bytes,
    config,
    blobs,
    totalSize: [manifest.config, ...manifest.layers].reduce((sum, d) => sum + d.size, 0) + resolved.manifest.bytes.length,
    downloadedSize: blobs.filter((b) => b.outcome === 'downloaded').reduce((sum, b) => sum + b.descriptor.size, 0),
  };

  async function fetchConfig(descriptor: Descriptor): Promise<Buffer> {
    const max = options.maxConfigBytes ?? 64 * 1024 * 1024;
    if (descriptor.size > max) {
      throw new AppInvalidError(`The artifact's locked app is ${descriptor.size} bytes, over the ${max} allowed; it was not fetched.`);
    }
    options.onProgress?.({ descriptor, phase: 'start', transferred: 0 });
    const bytes = await readWhole(descriptor);
    outcomes.set(descriptor.digest, 'downloaded');
    options.onProgress?.({ descriptor, phase: 'done', transferred: descriptor.size, outcome: 'downloaded' });
    return bytes;
  }

  async function pullLayer(descriptor: Descriptor): Promise<void> {
    // Spin skips a layer it holds in either directory; so do we (the store verified it when it was written).
    const found = await store.stat(descriptor.digest);
    if (found !== undefined && found.size === descriptor.size) {
      debug('pull %s: %s already stored', target.description, descriptor.digest);
      outcomes.set(descriptor.digest, 'cached');
      options.onProgress?.({ descriptor, phase: 'done', transferred: 0, outcome: 'cached' });
      return;
    }
    options.onProgress?.({ descriptor, phase: 'start', transferred: 0 });
    const put = (stream: AsyncIterable<Uint8Array>): Promise<unknown> =>
      store.putStream(descriptor.digest, stream, { kind: blobKind(descriptor), size: descriptor.size, source: target.description, ...signal });
    if (descriptor.size <= BUFFERED_LAYER_BYTES) {
      // A small layer is read into memory (verified on the way) and its download slot freed
      // before the store writes it: the store's fsync waits on the disk, under load often
      // longer than the GET took, and a slot held through it is a request not in flight.
      const bytes = await limit(() => readWhole(descriptor));
      await put(single(bytes));
    } else {
      await limit(() => target.pullBlob(descriptor, put, { ...signal, ...progressOf(descriptor) }));
    }
    if (descriptor.mediaType === MediaType.ArchiveLayer) await expandArchiveLayer(store, descriptor.digest, options.archiveLimits ?? {});
    debug('pull %s: fetched %s (%d bytes)', target.description, descriptor.digest, descriptor.size);
    outcomes.set(descriptor.digest, 'downloaded');
    options.onProgress?.({ descriptor, phase: 'done', transferred: descriptor.size, outcome: 'downloaded' });
  }

  function readWhole(descriptor: Descriptor): Promise<Buffer> {
    const blobOptions = { ...signal, ...progressOf(descriptor) };
    if (target.readBlob !== undefined) return target.readBlob(descriptor, blobOptions);
    return target.pullBlob(descriptor, (stream) => readExactly(stream, descriptor.size), blobOptions);
  }

  function progressOf(descriptor: Descriptor): { onProgress?: (transferred: number) => void } {
    const listener = options.onProgress;
    return listener === undefined ? {} : { onProgress: (transferred: number) => listener({ descriptor, phase: 'progress', transferred }) };
  }
}

/**
 * Layers up to this size are read into memory and then stored, larger ones stream into the
 * store. The same bound as the cache's own in-memory path (`@spinel/cache`'s
 * write-verified.ts), so the bytes are held once either way.
 */
const BUFFERED_LAYER_BYTES = 1 << 20;

/** The whole of a verified stream of known size (pullBlob's stream errors on any other length). */
async function readExactly(stream: AsyncIterable<Uint8Array>, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/** Bytes already in memory as the one chunk of a stream (a store takes layers as streams). */
async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function dedupe(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && (seen.add(d.digest), true));
}

/** Spin's directories: Wasm layers (its own and `wkg`'s media type) under `wasm/`, everything else under `data/`. */
function blobKind(descriptor: Descriptor): AppBlobKind {
  return descriptor.mediaType === MediaType.WasmLayer || descriptor.mediaType === MediaType.Wasm ? 'wasm' : 'data';
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
  /** The locked app: sources in the store, files under `workDir`, origin and image digest set. */
  lockedApp: LockedApp;
  /** How the artifact was laid out. */
  format: UnpackedApp['format'];
  workDir: string;
  /** `<workDir>/spin.lock`. */
  lockedAppPath: string;
}

/**
 * Pulls an artifact into a store ({@link pullArtifact}) and unpacks it into a runnable
 * locked app ({@link unpackApp}). With a warm cache this makes one manifest request and no
 * blob request.
 *
 * A stored file that no longer matches its digest is removed and fetched again (once).
 *
 * @throws OciError as {@link pullArtifact} and {@link unpackApp}
 */
export async function pullApp(options: PullAppOptions): Promise<PulledApp> {
  let pulled = await pullArtifact(options);
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'spinel-oci-app-')));
  const unpack = (from: PulledArtifact): Promise<UnpackedApp> =>
    unpackApp({
      manifest: from.manifest,
      config: from.config,
      store: options.store,
      reference: options.origin,
      digest: from.digest,
      workDir,
      ...(options.archiveLimits === undefined ? {} : { archiveLimits: options.archiveLimits }),
    });
  let unpacked: UnpackedApp;
  try {
    unpacked = await unpack(pulled);
  } catch (err) {
    // A stored file that changed on disk was removed while unpacking: one more pull fetches
    // it from the registry. A second failure is reported as it is.
    if ((err as { code?: unknown }).code !== 'OCI_ARTIFACT_BLOB_CORRUPT' || options.store.remove === undefined) throw err;
    debug('pull %s: %s', options.origin, (err as Error).message);
    pulled = await pullArtifact(options);
    unpacked = await unpack(pulled);
  }
  const lockedAppPath = join(workDir, 'spin.lock');
  await writeFile(lockedAppPath, serializeLockedApp(unpacked.lockedApp));
  return { ...pulled, lockedApp: unpacked.lockedApp, format: unpacked.format, workDir, lockedAppPath };
}
