import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Digest } from '@spinel/cache';
import { parseLockedApp, type LockedApp, type LockedComponent, type LockedComponentSource } from '@spinel/manifest';
import pLimit from 'p-limit';
import { digestWithAlgorithmOf, parseDigest } from '../digest.js';
import { AppInvalidError, ArtifactBlobCorruptError, ArtifactBlobMissingError, ArtifactUnsupportedError, UnsafePathError } from '../errors.js';
import { MediaType, OCI_ORIGIN_PREFIX } from '../media-types.js';
import type { ImageManifest } from '../types.js';
import type { AppBlobStore } from './app-blob-store.js';
import { readTarGz, type TarLimits } from './archive-reader.js';
import { safeRelativePath } from './safe-path.js';
import { triggerDependencies } from './trigger-dependencies.js';

/** Options of {@link unpackApp}. */
export interface UnpackAppOptions {
  /** The pulled image manifest; its layers are in `store`. */
  manifest: ImageManifest;
  /**
   * What Spin keeps as `config.json`: the locked-app layer when the artifact has one, else
   * the config blob (a locked app before Spin 2.0, or a Wasm artifact's config).
   */
  config: Uint8Array;
  store: AppBlobStore;
  /** The reference the app was pulled by (normalised), recorded as `metadata.origin`. */
  reference: string;
  /** Digest of the manifest, recorded as `metadata.oci_image_digest`. */
  digest: string;
  /** Directory where files are materialised, one `assets/<component id>/` per component. */
  workDir: string;
  /** Caps for archive layers. @default see `DEFAULT_TAR_LIMITS` */
  archiveLimits?: TarLimits;
}

/** A pulled artifact as a runnable locked app. */
export interface UnpackedApp {
  lockedApp: LockedApp;
  /** `spin` (a locked app, as a layer or as the config) or `wasm` (a single-layer Wasm artifact). */
  format: 'spin' | 'wasm';
}

/**
 * Turns a pulled artifact into a locked app whose component sources point at the store
 * (`file://` URLs) and whose files are materialised under `workDir/assets/<id>/`, mounted at
 * `/`, as Spin's loader does (`crates/oci/src/loader.rs`): `config` is a Spin app when it is
 * JSON with `spin_lock_version`, whatever the media type it came with; otherwise the
 * artifact must have a single layer, which runs as one HTTP component on `/...`.
 *
 * Files are copied out of the store, the bytes of each hashed against its digest as they are
 * copied, before the app is handed out, so the guest reads exactly the published bytes; component sources are left in
 * the store with their digest, for the runtime to check as it reads them.
 *
 * @throws OciError `OCI_ARTIFACT_UNSUPPORTED`, `OCI_ARTIFACT_BLOB_MISSING`, `OCI_UNSAFE_PATH`,
 *   `OCI_APP_INVALID`, `OCI_ARCHIVE_*`, `OCI_ARTIFACT_BLOB_CORRUPT` (a stored file that no longer
 *   matches its digest: removed from the store)
 */
export async function unpackApp(options: UnpackAppOptions): Promise<UnpackedApp> {
  const { manifest, store } = options;
  const layers = manifest.layers ?? [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(options.config).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || !('spin_lock_version' in parsed)) {
    if (layers.length !== 1 || layers[0] === undefined) {
      throw new ArtifactUnsupportedError(`The artifact is not a Spin app and not a single Wasm component: expected a single layer in the OCI package, found ${layers.length} layers.`);
    }
    return { lockedApp: await bareWasmApp(store, layers[0].digest, options), format: 'wasm' };
  }
  let app: LockedApp;
  try {
    app = parseLockedApp(parsed);
  } catch (err) {
    throw new AppInvalidError(`The app pulled from ${options.reference} is not a locked app Spinel can run: ${(err as Error).message}`, { cause: err });
  }
  app.metadata = { ...(app.metadata ?? {}), origin: `${OCI_ORIGIN_PREFIX}${options.reference}`, oci_image_digest: options.digest };
  const archives = layers.filter((layer) => layer.mediaType === MediaType.ArchiveLayer).map((layer) => layer.digest);
  const resolver = new BlobResolver(store, archives, options.archiveLimits ?? {});
  for (const component of app.components) {
    component.source = await resolveSource(resolver, component.source, `component '${component.id}'`);
    for (const [name, dependency] of Object.entries(component.dependencies ?? {})) {
      dependency.source = await resolveSource(resolver, dependency.source, `dependency '${name}' of component '${component.id}'`);
    }
    for (const [role, dependency] of triggerDependencies(component)) {
      dependency.source = await resolveSource(resolver, dependency.source, `trigger dependency '${role}' of component '${component.id}'`);
    }
    await materialiseFiles(resolver, store, component, options.workDir);
  }
  for (const trigger of app.triggers) {
    for (const [role, dependency] of triggerDependencies(trigger)) {
      dependency.source = await resolveSource(resolver, dependency.source, `trigger dependency '${role}'`);
    }
  }
  return { lockedApp: app, format: 'spin' };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Finds blobs in the store, expanding archive layers the first time a file is missing. */
class BlobResolver {
  // One expansion, awaited by every lookup that missed while it ran (files resolve concurrently).
  #expansion: Promise<void> | undefined;

  constructor(
    private readonly store: AppBlobStore,
    private readonly archives: string[],
    private readonly limits: TarLimits,
  ) {}

  async path(digest: string, what: string): Promise<string> {
    return (await this.stat(digest, what)).path;
  }

  async stat(digest: string, what: string): Promise<{ path: string; size: number }> {
    let found = await this.store.stat(digest);
    if (found === undefined && this.archives.length > 0) {
      this.#expansion ??= this.#expandAll();
      await this.#expansion;
      found = await this.store.stat(digest);
    }
    if (found === undefined) {
      throw new ArtifactBlobMissingError(`${capitalise(what)} (${digest}) is not in the cache or in any archive layer; pull the app again.`);
    }
    return found;
  }

  async #expandAll(): Promise<void> {
    for (const archive of this.archives) await expandArchiveLayer(this.store, archive, this.limits);
  }
}

/**
 * Stores every file of an archive layer under its own digest (kind `data`), as Spin does.
 * The archive is untrusted: see `readTarGz` for what is refused.
 *
 * @returns the digests stored
 * @throws OciError `OCI_ARTIFACT_BLOB_MISSING`, `OCI_ARCHIVE_*`, `OCI_UNSAFE_PATH`
 */
export async function expandArchiveLayer(store: AppBlobStore, archiveDigest: string, limits: TarLimits = {}): Promise<string[]> {
  const found = await store.stat(archiveDigest);
  if (found === undefined) {
    throw new ArtifactBlobMissingError(`The archive layer ${archiveDigest} is not in the cache; pull the app again.`);
  }
  const stored: string[] = [];
  // Puts overlap (each is a small write and rename); at most 16 entries wait in memory.
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for await (const entry of readTarGz(createReadStream(found.path), limits)) {
      if (failure !== undefined) break;
      if (entry.type !== 'file') continue;
      const digest = sha256Digest(entry.data);
      stored.push(digest);
      const put: Promise<void> = store.putBytes(digest, entry.data, { kind: 'data' }).then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
        },
      );
      inFlight.add(put);
      void put.finally(() => inFlight.delete(put));
      if (inFlight.size >= 16) await Promise.race(inFlight);
    }
  } finally {
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw failure.error;
  return stored;
}

async function resolveSource(resolver: BlobResolver, source: LockedComponentSource, what: string): Promise<LockedComponentSource> {
  // A pulled artifact is untrusted: its sources come from its own layers (digest) or inline
  // bytes, never from a URL it names (which could point at any file on this host).
  if (source.digest !== undefined) {
    const path = await resolver.path(source.digest, `the Wasm of ${what}`);
    return { content_type: source.content_type, source: pathToFileURL(path).href, digest: source.digest };
  }
  if (source.inline !== undefined) return { content_type: source.content_type, inline: source.inline };
  throw new AppInvalidError(`The Wasm of ${what} has no digest or inline content in the artifact; the publisher should push the app again with spin or spinel.`);
}

/** Files copied out of the store at once: each copy is a few file-system calls, which overlap. */
const FILE_CONCURRENCY = 8;
/** Files up to this size are read, hashed and written from memory; larger ones are copied by the kernel, then hashed. */
const IN_MEMORY_COPY_MAX = 1024 * 1024;

async function materialiseFiles(resolver: BlobResolver, store: AppBlobStore, component: LockedComponent, workDir: string): Promise<void> {
  const files = component.files ?? [];
  if (files.length === 0) return;
  const id = safeRelativePath(component.id);
  if (id === '' || id.includes('/')) throw new UnsafePathError(`Refusing component id '${component.id}' as a directory name.`);
  const root = join(workDir, 'assets', id);
  await mkdir(root, { recursive: true });
  // Every path is checked before anything is written, so a bad mount leaves no partial tree.
  const planned = files.map((file) => {
    let relative: string;
    try {
      relative = safeRelativePath(file.path);
    } catch (err) {
      throw new AppInvalidError(`invalid file mount '${file.path}' in component '${component.id}'; the publisher should fix the app and push it again.`, { cause: err });
    }
    if (relative === '') throw new AppInvalidError(`invalid file mount '${file.path}' in component '${component.id}'.`);
    if (file.inline === undefined && file.digest === undefined) {
      throw new AppInvalidError(`File '${relative}' of component '${component.id}' has neither inline content nor a digest.`);
    }
    return { file, relative };
  });
  // Files are written concurrently: two entries for one path would race (and could leave a
  // mix of both), so only the last is written, as writing them in order left it.
  const lastByPath = new Map(planned.map((entry) => [entry.relative, entry]));
  // One mkdir per directory, not per file: hundreds of files usually share a few directories.
  const directories = new Map<string, Promise<unknown>>([[root, Promise.resolve()]]);
  const directory = (path: string): Promise<unknown> => {
    let made = directories.get(path);
    if (made === undefined) {
      made = mkdir(path, { recursive: true });
      directories.set(path, made);
    }
    return made;
  };
  const limit = pLimit(FILE_CONCURRENCY);
  let stop = false;
  const settled = await Promise.allSettled(
    [...lastByPath.values()].map(({ file, relative }) =>
      limit(async () => {
        if (stop) return;
        const target = join(root, relative);
        await directory(dirname(target));
        if (file.inline !== undefined) {
          await writeFile(target, file.inline);
          return;
        }
        const digest = file.digest ?? '';
        const what = `file '${relative}' of component '${component.id}'`;
        const found = await resolver.stat(digest, what);
        await copyVerified(found, target, digest, store, what);
      }).catch((err: unknown) => {
        stop = true;
        throw err;
      }),
    ),
  );
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  component.files = [{ source: pathToFileURL(root).href, path: '/' }];
}

/**
 * Copies a stored blob to `target` so that the copy holds exactly the bytes of `digest`
 * (the bytes the guest will read). A stored blob can change after it was verified on its way
 * in (a flipped byte keeps its size); then nothing is left at `target`, the blob is removed
 * from the store and `OCI_ARTIFACT_BLOB_CORRUPT` is thrown.
 *
 * A small blob is read once, hashed and written from that buffer: what is written is what was
 * hashed, in half the file-system calls of a copy read back. A large one is copied by the
 * kernel (a reflink where the file system has them) and the copy hashed.
 */
async function copyVerified(found: { path: string; size: number }, target: string, digest: string, store: AppBlobStore, what: string): Promise<void> {
  let actual: string;
  if (found.size <= IN_MEMORY_COPY_MAX) {
    const bytes = await readFile(found.path);
    actual = digestWithAlgorithmOf(digest, bytes);
    if (actual === digest) {
      await writeFile(target, bytes);
      return;
    }
  } else {
    await copyFile(found.path, target, constants.COPYFILE_FICLONE);
    const { algorithm } = parseDigest(digest);
    const hash = createHash(algorithm);
    for await (const chunk of createReadStream(target, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    actual = `${algorithm}:${hash.digest('hex')}`;
    if (actual === digest) return;
  }
  // A copy left by an earlier unpack into the same directory must not survive either.
  await unlink(target).catch(() => undefined);
  await store.remove?.(digest);
  throw new ArtifactBlobCorruptError(digest, `The stored blob of ${what} (${digest}) no longer matches its digest (it hashes to ${actual}); it was removed from the cache. Pull the app again.`);
}

async function bareWasmApp(store: AppBlobStore, digest: string, options: UnpackAppOptions): Promise<LockedApp> {
  const found = await store.stat(digest);
  if (found === undefined) {
    throw new ArtifactBlobMissingError(`The Wasm layer (${digest}) is not in the cache; pull the app again.`);
  }
  const id = componentIdFromReference(options.reference);
  return {
    metadata: {
      name: id,
      origin: `${OCI_ORIGIN_PREFIX}${options.reference}`,
      oci_image_digest: options.digest,
      trigger: { type: 'http' },
      triggers: { http: {} },
    },
    triggers: [{ id: `trigger-${id}`, trigger_type: 'http', trigger_config: { component: id, route: '/...' } }],
    components: [{ id, source: { content_type: 'application/wasm', source: pathToFileURL(found.path).href, digest } }],
  };
}

/** A Spin component id (lowercase words joined by `-`) from the last repository segment. */
export function componentIdFromReference(reference: string): string {
  const withoutDigest = reference.split('@')[0] ?? '';
  const lastSegment = withoutDigest.split('/').pop() ?? '';
  const name = lastSegment.replace(/:[^:]*$/, '');
  const words = name.toLowerCase().split(/[^a-z0-9]+/).filter((word) => word !== '');
  const id = words.join('-');
  return /^[a-z]/.test(id) ? id : `app${id === '' ? '' : `-${id}`}`;
}
