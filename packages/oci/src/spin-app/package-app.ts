import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, digestFile, sha256Digest } from './digest.js';
import { SpinAppInvalidError, SpinAppSourceError } from './errors.js';
import { serializeLockedAppCompact } from './locked-app-json.js';
import { LOCKED_APP_DIGEST_LABEL, SPIN_MEDIA_TYPES } from './media-types.js';
import { writeTarGzFile } from './tar.js';
import type { ContentPathJson, LockedAppJson, LockedComponentJson, LockedDependencyJson, LockedSourceJson, OciDescriptor, OciImageManifest } from './types.js';

/** A blob of a packaged app: its descriptor and a way to read its bytes (again). */
export interface PackagedBlob {
  descriptor: OciDescriptor;
  /** The bytes, when they are held in memory (config, locked app, archives, inline sources). */
  bytes?: Buffer;
  /** Path of the file holding the bytes, when they come from disk. */
  path?: string;
  /** A fresh stream of the bytes; may be called more than once (retries). */
  open(): AsyncIterable<Uint8Array>;
}

/** A Spin app as an OCI artifact, ready to push. */
export interface PackagedApp {
  manifest: OciImageManifest;
  /** The manifest as pushed (canonical JSON). */
  manifestBytes: Buffer;
  manifestDigest: string;
  config: PackagedBlob;
  /** Layers in manifest order; the locked app is last. */
  layers: PackagedBlob[];
  /** The locked app as pushed: sources and files replaced by digest references. */
  lockedApp: LockedAppJson;
  /** Whether files went into archive layers. */
  archived: boolean;
  /** Removes the temporary files holding archive layers; call it once the blobs are pushed. */
  dispose(): Promise<void>;
}

/** Options of {@link packageApp}. */
export interface PackageAppOptions {
  /** Files of at most this many bytes are inlined into the locked app and not pushed. @default 128 */
  inlineMaxSize?: number;
  /** Put each component's files into one archive layer even when under the layer cap. @default false */
  archiveLayers?: boolean;
  /** Most layers in the image, the locked-app layer included (ECR's cap). @default 500 */
  maxLayers?: number;
  /** Manifest annotations; they override the inferred `org.opencontainers.image.*` ones. */
  annotations?: Record<string, string>;
  /**
   * `SOURCE_DATE_EPOCH` (seconds since the epoch): the `created` annotation and archive
   * mtimes follow it, so the same app always gives the same digest.
   */
  sourceDateEpoch?: string | number;
  /** Clock for `created` when no `sourceDateEpoch` is given. @default () => new Date() */
  now?: () => Date;
  /** Image config `os`. @default 'wasip1' */
  os?: string;
  /** Image config `architecture`. @default 'wasm' */
  architecture?: string;
  /** Where archive layers are written while the app is pushed. @default os.tmpdir() */
  tempDir?: string;
}

interface FileItem {
  guestPath: string;
  digest: string;
  size: number;
  inline?: string;
  fsPath?: string;
  bytes?: Buffer;
}

/**
 * Turns a locked app whose sources are `file://` URLs (or inline) into an OCI artifact:
 * one wasm layer per distinct component or dependency source, one data layer per distinct
 * file (files of at most `inlineMaxSize` bytes are inlined and not pushed), archive layers
 * when more than `maxLayers` layers would result or when asked (`.wasm` files are never
 * archived), the locked app rewritten with digest references as the last layer, a standard
 * image config labelled with the locked app's digest, and annotations.
 * @throws SpinAppSourceError (`OCI_APP_SOURCE`) when a source cannot be read.
 * @throws SpinAppInvalidError (`OCI_APP_INVALID`) when a source has no content to push.
 */
export async function packageApp(app: LockedAppJson, options: PackageAppOptions = {}): Promise<PackagedApp> {
  const inlineMax = options.inlineMaxSize ?? 128;
  const maxLayers = options.maxLayers ?? 500;
  const created = createdDate(options);
  const mtime = Math.floor(created.getTime() / 1000);

  const out = structuredClone(app);
  if (out.metadata !== undefined) {
    delete out.metadata['origin'];
    delete out.metadata['oci_image_digest'];
  }

  const layers = new LayerSet();
  const perComponent: { component: LockedComponentJson; wasmOrder: PackagedBlob[]; files: FileItem[] }[] = [];
  for (const component of out.components) {
    const wasmOrder: PackagedBlob[] = [];
    const source = await wasmBlob(component.source, `component '${component.id}'`);
    wasmOrder.push(source);
    component.source = digestSource(component.source, source.descriptor.digest);
    for (const [name, dependency] of Object.entries(component.dependencies ?? {})) {
      const blob = await wasmBlob(dependency.source, `dependency '${name}' of component '${component.id}'`);
      wasmOrder.push(blob);
      dependency.source = digestSource(dependency.source, blob.descriptor.digest);
    }
    for (const [role, dependency] of triggerDependencies(component)) {
      const blob = await wasmBlob(dependency.source, `trigger dependency '${role}' of component '${component.id}'`);
      wasmOrder.push(blob);
      dependency.source = digestSource(dependency.source, blob.descriptor.digest);
    }
    const files = await collectFiles(component, inlineMax);
    perComponent.push({ component, wasmOrder, files });
  }
  // Trigger-level dependencies (middleware, Spin 4.1) are pushed like component dependencies.
  const triggerWasm: PackagedBlob[] = [];
  for (const trigger of out.triggers) {
    for (const [role, dependency] of triggerDependencies(trigger)) {
      const blob = await wasmBlob(dependency.source, `trigger dependency '${role}'`);
      triggerWasm.push(blob);
      dependency.source = digestSource(dependency.source, blob.descriptor.digest);
    }
  }
  if (perComponent[0] !== undefined) perComponent[0].wasmOrder.push(...triggerWasm);

  // Count what simple mode would push: distinct wasm and data layers.
  const simpleDigests = new Set<string>();
  for (const { wasmOrder, files } of perComponent) {
    for (const blob of wasmOrder) simpleDigests.add(`${blob.descriptor.mediaType} ${blob.descriptor.digest}`);
    for (const file of files) if (file.inline === undefined) simpleDigests.add(`${SPIN_MEDIA_TYPES.dataLayer} ${file.digest}`);
  }
  const archived = options.archiveLayers === true || simpleDigests.size > maxLayers - 1;

  // Archive layers are streamed to temporary files (a large site never sits in memory).
  let archiveDir: string | undefined;
  const dispose = async (): Promise<void> => {
    if (archiveDir !== undefined) await rm(archiveDir, { recursive: true, force: true });
  };
  try {
    for (const { component, wasmOrder, files } of perComponent) {
      for (const blob of wasmOrder) layers.add(blob);
      const archiveEntries: FileItem[] = [];
      for (const file of files) {
        if (file.inline !== undefined) continue;
        if (archived && !file.guestPath.endsWith('.wasm')) archiveEntries.push(file);
        else layers.add(fileBlob(file));
      }
      if (archiveEntries.length > 0) {
        archiveDir ??= await mkdtemp(join(options.tempDir ?? tmpdir(), 'spinel-archive-'));
        const dest = join(archiveDir, `${layers.list.length}.tar.gz`);
        const written = await writeTarGzFile(
          archiveEntries.map((file) => ({ path: file.guestPath, size: file.size, open: () => openFile(file) })),
          dest,
          { mtime },
        ).catch((err: unknown) => {
          throw new SpinAppSourceError(`Cannot archive the files of component '${component.id}'; check they are readable and not changing.`, { cause: err });
        });
        layers.add(fileBackedBlob(SPIN_MEDIA_TYPES.archiveLayer, written.digest, written.size, dest));
      }
      if (files.length > 0) {
        component.files = files.map((file): ContentPathJson => ({
          ...(file.inline !== undefined ? { inline: file.inline } : {}),
          digest: file.digest,
          path: file.guestPath,
        }));
      } else {
        delete component.files;
      }
    }
  } catch (err) {
    await dispose();
    throw err;
  }

  const lockedBytes = Buffer.from(serializeLockedAppCompact(out), 'utf8');
  const lockedBlob = memoryBlob(SPIN_MEDIA_TYPES.lockedApp, lockedBytes);
  layers.add(lockedBlob);
  if (layers.list.length > maxLayers) {
    await dispose();
    throw new SpinAppInvalidError(
      `The app needs ${layers.list.length} layers, more than the ${maxLayers} allowed, even with archive layers; reduce the number of distinct .wasm files.`,
    );
  }

  const configJson = {
    architecture: options.architecture ?? 'wasm',
    os: options.os ?? 'Wasip1',
    config: { Labels: { [LOCKED_APP_DIGEST_LABEL]: lockedBlob.descriptor.digest } },
    rootfs: { type: 'layers', diff_ids: [] as string[] },
  };
  const config = memoryBlob(SPIN_MEDIA_TYPES.imageConfig, Buffer.from(JSON.stringify(configJson), 'utf8'));

  const manifest: OciImageManifest = {
    schemaVersion: 2,
    config: config.descriptor,
    layers: layers.list.map((blob) => blob.descriptor),
    annotations: manifestAnnotations(out, created, options.annotations ?? {}),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest), 'utf8');
  return {
    manifest,
    manifestBytes,
    manifestDigest: sha256Digest(manifestBytes),
    config,
    layers: layers.list,
    lockedApp: out,
    archived,
    dispose,
  };
}

/** Every `trigger_dependencies` entry of a component or trigger, with its role. */
export function triggerDependencies(owner: unknown): [string, LockedDependencyJson][] {
  const table = (owner as { trigger_dependencies?: unknown }).trigger_dependencies;
  if (table === null || typeof table !== 'object') return [];
  const out: [string, LockedDependencyJson][] = [];
  for (const [role, list] of Object.entries(table as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    for (const dependency of list) {
      if (dependency !== null && typeof dependency === 'object' && typeof (dependency as { source?: unknown }).source === 'object') {
        out.push([role, dependency as LockedDependencyJson]);
      }
    }
  }
  return out;
}

class LayerSet {
  readonly list: PackagedBlob[] = [];
  private readonly seen = new Set<string>();

  add(blob: PackagedBlob): void {
    const key = `${blob.descriptor.mediaType} ${blob.descriptor.digest}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(blob);
  }
}

function createdDate(options: PackageAppOptions): Date {
  const epoch = options.sourceDateEpoch;
  if (epoch !== undefined && String(epoch).trim() !== '') {
    const seconds = Number(String(epoch).trim());
    if (!Number.isInteger(seconds) || seconds < 0) {
      throw new SpinAppInvalidError(`SOURCE_DATE_EPOCH '${String(epoch)}' is not a whole number of seconds; unset it or set it to e.g. $(git log -1 --format=%ct).`);
    }
    return new Date(seconds * 1000);
  }
  return (options.now ?? (() => new Date()))();
}

/** RFC 3339 in UTC, without fractional seconds when there are none. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

function manifestAnnotations(app: LockedAppJson, created: Date, explicit: Record<string, string>): Record<string, string> {
  const metadata = app.metadata ?? {};
  const inferred: Record<string, string> = {};
  const text = (key: string): string | undefined => {
    const value = metadata[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const title = text('name');
  if (title !== undefined) inferred['org.opencontainers.image.title'] = title;
  const description = text('description');
  if (description !== undefined) inferred['org.opencontainers.image.description'] = description;
  const version = text('version');
  if (version !== undefined) inferred['org.opencontainers.image.version'] = version;
  const authors = metadata['authors'];
  if (Array.isArray(authors) && authors.length > 0) {
    inferred['org.opencontainers.image.authors'] = authors.map(String).join(', ');
  }
  inferred['org.opencontainers.image.created'] = rfc3339(created);
  return { ...inferred, ...explicit };
}

function digestSource(source: LockedSourceJson, digest: string): LockedSourceJson {
  return { content_type: source.content_type, digest };
}

async function wasmBlob(source: LockedSourceJson, what: string): Promise<PackagedBlob> {
  if (source.source !== undefined) {
    const path = filePath(source.source, what);
    try {
      const { digest, size } = await digestFile(path);
      return fileBackedBlob(SPIN_MEDIA_TYPES.wasmLayer, digest, size, path);
    } catch (err) {
      throw new SpinAppSourceError(`Cannot read the Wasm source of ${what} at ${path}; build the app first (spinel registry push --build).`, { cause: err });
    }
  }
  if (source.inline !== undefined) {
    return memoryBlob(SPIN_MEDIA_TYPES.wasmLayer, Buffer.from(source.inline, 'base64'));
  }
  throw new SpinAppInvalidError(`The source of ${what} has no file or inline content to push; lock the app from its spin.toml again.`);
}

function filePath(url: string, what: string): string {
  if (!url.startsWith('file:')) {
    throw new SpinAppInvalidError(`The source of ${what} is '${url}', not a file:// URL; lock the app locally before pushing.`);
  }
  return fileURLToPath(url);
}

async function collectFiles(component: LockedComponentJson, inlineMax: number): Promise<FileItem[]> {
  const items: FileItem[] = [];
  for (const mount of component.files ?? []) {
    const base = mount.path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (mount.source !== undefined) {
      const root = filePath(mount.source, `files of component '${component.id}'`);
      let info;
      try {
        info = await stat(root);
      } catch (err) {
        throw new SpinAppSourceError(`Files of component '${component.id}' are missing at ${root}; check the component's files in spin.toml.`, { cause: err });
      }
      if (info.isDirectory()) {
        for (const relative of await walk(root)) {
          items.push(await fileItem(join(root, relative), joinGuest(base, relative), inlineMax));
        }
      } else {
        items.push(await fileItem(root, base, inlineMax));
      }
    } else if (mount.inline !== undefined) {
      const bytes = Buffer.from(mount.inline, 'base64');
      items.push(memoryFile(base, bytes, inlineMax));
    } else {
      throw new SpinAppInvalidError(`A file of component '${component.id}' (${mount.path}) has no content to push; lock the app from its spin.toml again.`);
    }
  }
  items.sort((a, b) => (a.guestPath < b.guestPath ? -1 : a.guestPath > b.guestPath ? 1 : 0));
  return items;
}

function joinGuest(base: string, relative: string): string {
  return base === '' ? relative : `${base}/${relative}`;
}

/** Regular files under a directory, relative with forward slashes, sorted. */
async function walk(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(join(root, prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      out.push(...(await walk(root, relative)));
    } else if (entry.isFile()) {
      out.push(relative);
    } else if (entry.isSymbolicLink()) {
      // Follow links to regular files (assets are often linked); never into directories.
      const info = await stat(join(root, relative)).catch(() => undefined);
      if (info?.isFile() === true) out.push(relative);
    }
  }
  return out;
}

async function fileItem(path: string, guestPath: string, inlineMax: number): Promise<FileItem> {
  try {
    const info = await stat(path);
    if (info.size <= inlineMax) return memoryFile(guestPath, await readFile(path), inlineMax);
    const { digest, size } = await digestFile(path);
    return { guestPath, digest, size, fsPath: path };
  } catch (err) {
    throw new SpinAppSourceError(`Cannot read ${path} (mounted at /${guestPath}); check the component's files.`, { cause: err });
  }
}

function memoryFile(guestPath: string, bytes: Buffer, inlineMax: number): FileItem {
  const item: FileItem = { guestPath, digest: sha256Digest(bytes), size: bytes.length, bytes };
  if (bytes.length <= inlineMax) item.inline = bytes.toString('base64').replace(/=+$/, '');
  return item;
}

function openFile(file: FileItem): AsyncIterable<Uint8Array> {
  if (file.bytes !== undefined) {
    const bytes = file.bytes;
    return (async function* () {
      yield bytes;
    })();
  }
  return createReadStream(file.fsPath ?? '');
}

function fileBlob(file: FileItem): PackagedBlob {
  if (file.bytes !== undefined) return memoryBlob(SPIN_MEDIA_TYPES.dataLayer, file.bytes);
  return fileBackedBlob(SPIN_MEDIA_TYPES.dataLayer, file.digest, file.size, file.fsPath ?? '');
}

function fileBackedBlob(mediaType: string, digest: string, size: number, path: string): PackagedBlob {
  return {
    descriptor: { mediaType, digest, size },
    path,
    open: () => createReadStream(path),
  };
}

function memoryBlob(mediaType: string, bytes: Buffer): PackagedBlob {
  return {
    descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length },
    bytes,
    open: async function* () {
      yield bytes;
    },
  };
}
