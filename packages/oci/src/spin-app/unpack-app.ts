import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Digest } from './digest.js';
import { ArtifactBlobMissingError, ArtifactUnsupportedError, SpinAppInvalidError, UnsafePathError } from './errors.js';
import { isLockedApp } from './locked-app-json.js';
import { OCI_ORIGIN_PREFIX, SPIN_MEDIA_TYPES } from './media-types.js';
import { triggerDependencies } from './package-app.js';
import { readTarGz, safeRelativePath } from './tar.js';
import type { TarLimits } from './tar.js';
import type { LockedAppJson, LockedComponentJson, LockedSourceJson, OciImageManifest } from './types.js';

/**
 * What unpacking needs from a content-addressed store (the `Cache` of `@spinel/cache`
 * satisfies it): where a blob is, and a verified put.
 */
export interface AppBlobStore {
  /** Path of a stored blob (any kind), or undefined. */
  path(digest: string): Promise<string | undefined>;
  /** Stores bytes under their digest after checking them. */
  put(digest: string, content: Uint8Array, options?: { kind?: 'wasm' | 'data' }): Promise<{ path: string }>;
}

/** Options of {@link unpackApp}. */
export interface UnpackAppOptions {
  /** The pulled image manifest; its blobs are in `store`. */
  manifest: OciImageManifest;
  store: AppBlobStore;
  /** The reference the app was pulled by (normalised), recorded as `metadata.origin`. */
  reference: string;
  /** Digest of the manifest, recorded as `metadata.oci_image_digest`. */
  digest: string;
  /** Directory where files are materialised, one `assets/<component id>/` per component. */
  workDir: string;
  /** Caps for archive layers. */
  archiveLimits?: TarLimits;
}

/** A pulled artifact as a runnable locked app. */
export interface UnpackedApp {
  lockedApp: LockedAppJson;
  /** `spin` (locked app layer, Spin ≥ 2.0), `spin-legacy` (locked app as config) or `wasm` (single-layer Wasm artifact). */
  format: 'spin' | 'spin-legacy' | 'wasm';
}

/**
 * Turns a pulled artifact into a locked app whose component sources point at the cache
 * (`file://` URLs) and whose files are materialised under `workDir/assets/<id>/`, mounted
 * at `/`. Reads Spin ≥ 2.0 artifacts (locked-app layer), older ones (locked app as config)
 * and single-layer Wasm artifacts (`wkg oci push`), which become one HTTP component on `/...`.
 * @throws ArtifactUnsupportedError (`OCI_ARTIFACT_UNSUPPORTED`), ArtifactBlobMissingError
 *   (`OCI_ARTIFACT_BLOB_MISSING`), UnsafePathError (`OCI_UNSAFE_PATH`), ArchiveError (`OCI_ARCHIVE_*`).
 */
export async function unpackApp(options: UnpackAppOptions): Promise<UnpackedApp> {
  const { manifest, store } = options;
  const layers = manifest.layers ?? [];
  let format: UnpackedApp['format'] = 'spin';
  let lockedText: Buffer | undefined;
  const appLayer = [...layers].reverse().find((layer) => layer.mediaType === SPIN_MEDIA_TYPES.lockedApp);
  if (appLayer !== undefined) {
    lockedText = await readBlob(store, appLayer.digest, 'the locked-app layer');
  } else if (manifest.config?.mediaType === SPIN_MEDIA_TYPES.lockedApp) {
    format = 'spin-legacy';
    lockedText = await readBlob(store, manifest.config.digest, 'the locked-app config');
  }
  let parsed: unknown;
  if (lockedText !== undefined) {
    try {
      parsed = JSON.parse(lockedText.toString('utf8'));
    } catch (err) {
      throw new ArtifactUnsupportedError('The artifact\'s locked app is not valid JSON; the publisher should push it again.', { cause: err });
    }
  }
  if (!isLockedApp(parsed)) {
    if (layers.length !== 1) {
      throw new ArtifactUnsupportedError(
        `The artifact is not a Spin app and not a single Wasm component: expected a single layer in the OCI package, found ${layers.length} layers.`,
      );
    }
    const layer = layers[0];
    if (layer === undefined) throw new ArtifactUnsupportedError('The artifact has no layers.');
    return { lockedApp: await bareWasmApp(store, layer.digest, options), format: 'wasm' };
  }

  const app = structuredClone(parsed);
  app.metadata = { ...(app.metadata ?? {}), origin: `${OCI_ORIGIN_PREFIX}${options.reference}`, oci_image_digest: options.digest };
  const archives = layers.filter((layer) => layer.mediaType === SPIN_MEDIA_TYPES.archiveLayer).map((layer) => layer.digest);
  const resolver = new BlobResolver(store, archives, options.archiveLimits ?? {});
  for (const component of app.components) {
    component.source = await resolveSource(resolver, component.source, `component '${component.id}'`);
    for (const [name, dependency] of Object.entries(component.dependencies ?? {})) {
      dependency.source = await resolveSource(resolver, dependency.source, `dependency '${name}' of component '${component.id}'`);
    }
    for (const [role, dependency] of triggerDependencies(component)) {
      dependency.source = await resolveSource(resolver, dependency.source, `trigger dependency '${role}' of component '${component.id}'`);
    }
    await materialiseFiles(resolver, component, options.workDir);
  }
  for (const trigger of app.triggers) {
    for (const [role, dependency] of triggerDependencies(trigger)) {
      dependency.source = await resolveSource(resolver, dependency.source, `trigger dependency '${role}'`);
    }
  }
  return { lockedApp: app, format };
}

async function readBlob(store: AppBlobStore, digest: string, what: string): Promise<Buffer> {
  const path = await store.path(digest);
  if (path === undefined) {
    throw new ArtifactBlobMissingError(`${capitalise(what)} (${digest}) is not in the cache; pull the app again.`);
  }
  return readFile(path);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Finds blobs in the store, expanding archive layers the first time a file is missing. */
class BlobResolver {
  private expanded = false;

  constructor(
    private readonly store: AppBlobStore,
    private readonly archives: string[],
    private readonly limits: TarLimits,
  ) {}

  async path(digest: string, what: string): Promise<string> {
    let path = await this.store.path(digest);
    if (path === undefined && !this.expanded && this.archives.length > 0) {
      this.expanded = true;
      for (const archive of this.archives) await expandArchiveLayer(this.store, archive, this.limits);
      path = await this.store.path(digest);
    }
    if (path === undefined) {
      throw new ArtifactBlobMissingError(`${capitalise(what)} (${digest}) is not in the cache or in any archive layer; pull the app again.`);
    }
    return path;
  }
}

/**
 * Stores every file of an archive layer under its own digest in `data/` (as Spin does).
 * The archive is untrusted: see {@link readTarGz} for what is refused.
 * @returns the digests stored.
 */
export async function expandArchiveLayer(store: AppBlobStore, archiveDigest: string, limits: TarLimits = {}): Promise<string[]> {
  const path = await store.path(archiveDigest);
  if (path === undefined) {
    throw new ArtifactBlobMissingError(`The archive layer ${archiveDigest} is not in the cache; pull the app again.`);
  }
  const stored: string[] = [];
  // Puts overlap (each is a small write and rename); at most 16 entries wait in memory.
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for await (const entry of readTarGz(createReadStream(path), limits)) {
      if (failure !== undefined) break;
      if (entry.type !== 'file') continue;
      const digest = sha256Digest(entry.data);
      stored.push(digest);
      const put: Promise<void> = store.put(digest, entry.data, { kind: 'data' }).then(
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

async function resolveSource(resolver: BlobResolver, source: LockedSourceJson, what: string): Promise<LockedSourceJson> {
  // A pulled artifact is untrusted: its sources come from its own layers (digest) or inline
  // bytes, never from a URL it names (which could point at any file on this host).
  if (source.digest !== undefined) {
    const path = await resolver.path(source.digest, `the Wasm of ${what}`);
    const { inline: _inline, ...rest } = source;
    return { ...rest, source: pathToFileURL(path).href };
  }
  if (source.inline !== undefined) {
    const { source: _source, ...rest } = source;
    return rest;
  }
  throw new SpinAppInvalidError(`The Wasm of ${what} has no digest or inline content in the artifact; the publisher should push the app again with spin or spinel.`);
}

async function materialiseFiles(resolver: BlobResolver, component: LockedComponentJson, workDir: string): Promise<void> {
  const files = component.files ?? [];
  if (files.length === 0) return;
  const id = safeRelativePath(component.id);
  if (id === '' || id.includes('/')) throw new UnsafePathError(`Refusing component id '${component.id}' as a directory name.`);
  const root = join(workDir, 'assets', id);
  await mkdir(root, { recursive: true });
  for (const file of files) {
    let relative: string;
    try {
      relative = safeRelativePath(file.path);
    } catch (err) {
      throw new SpinAppInvalidError(`invalid file mount '${file.path}' in component '${component.id}'; the publisher should fix the app and push it again.`, { cause: err });
    }
    if (relative === '') throw new SpinAppInvalidError(`invalid file mount '${file.path}' in component '${component.id}'.`);
    const target = join(root, relative);
    await mkdir(dirname(target), { recursive: true });
    if (file.inline !== undefined) {
      await writeFile(target, Buffer.from(file.inline, 'base64'));
    } else if (file.digest !== undefined) {
      const from = await resolver.path(file.digest, `file '${relative}' of component '${component.id}'`);
      await copyFile(from, target, constants.COPYFILE_FICLONE);
    } else {
      throw new SpinAppInvalidError(`File '${relative}' of component '${component.id}' has neither inline content nor a digest.`);
    }
  }
  component.files = [{ source: pathToFileURL(root).href, path: '/' }];
}

async function bareWasmApp(store: AppBlobStore, digest: string, options: UnpackAppOptions): Promise<LockedAppJson> {
  const path = await store.path(digest);
  if (path === undefined) {
    throw new ArtifactBlobMissingError(`The Wasm layer (${digest}) is not in the cache; pull the app again.`);
  }
  const id = componentIdFromReference(options.reference);
  return {
    spin_lock_version: 0,
    metadata: {
      name: id,
      origin: `${OCI_ORIGIN_PREFIX}${options.reference}`,
      oci_image_digest: options.digest,
      trigger: { type: 'http' },
      triggers: { http: {} },
    },
    triggers: [{ id: `trigger-${id}`, trigger_type: 'http', trigger_config: { component: id, route: '/...' } }],
    components: [{ id, source: { content_type: 'application/wasm', source: pathToFileURL(path).href, digest } }],
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
