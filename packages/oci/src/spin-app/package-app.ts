import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { hashHandle, sha256Digest } from '@spinel/cache';
import { cloneLockedApp, serializeLockedApp, type ContentPath, type LockedApp, type LockedComponent, type LockedComponentDependency, type LockedComponentSource } from '@spinel/manifest';
import { canonicalJson } from '../canonical-json.js';
import { AppFileRefusedError, AppInvalidError, AppNotWasmError, AppSourceError } from '../errors.js';
import { LOCKED_APP_DIGEST_LABEL, MediaType } from '../media-types.js';
import type { Descriptor, ImageManifest } from '../types.js';
import { manifestAnnotations } from './annotations.js';
import { archiveOrder, walkFiles } from './app-files.js';
import { writeTarGzFile, type TarStreamInput } from './archive-writer.js';
import { triggerDependencies } from './trigger-dependencies.js';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_SOURCE_BYTES, identityOf, openRegular, readUnchanged, type FileIdentity } from './read-regular.js';
import { looksLikeWasm, WASM_CHECK_BYTES } from './wasm-check.js';

// Packaging follows Spin's `push_locked_core` (`crates/oci/src/client.rs`) step by step, so
// the locked-app layer, the image config and the manifest have Spin's bytes for the same
// app and annotations: assemble layers (simple mode, or archive mode when asked or past
// 499 layers), drop `metadata.origin`, de-duplicate, append the locked app (compact JSON),
// build the image config and a canonical-JSON manifest.

/** A blob of a packaged app: its descriptor and a way to read its bytes (again). */
export interface PackagedBlob {
  descriptor: Descriptor;
  /** The bytes, when they are held in memory (config, locked app, small sources). */
  bytes?: Buffer;
  /** Path of the file holding the bytes, when they come from disk. */
  path?: string;
  /**
   * A fresh stream of the bytes; may be called more than once (retries). A blob read from disk
   * fails with `OCI_APP_FILE_CHANGED` when its path no longer names the file packaging read.
   */
  open(): AsyncIterable<Uint8Array>;
}

/** A Spin app as an OCI artifact, ready to push. */
export interface PackagedApp {
  manifest: ImageManifest;
  /** The manifest as pushed (canonical JSON). */
  manifestBytes: Buffer;
  manifestDigest: string;
  config: PackagedBlob;
  /** Layers in manifest order; the locked app is last. */
  layers: PackagedBlob[];
  /** The locked app as pushed: sources and files replaced by digest references. */
  lockedApp: LockedApp;
  /** Whether files went into archive layers. */
  archived: boolean;
  /** Removes the temporary files holding archive layers; call it once the blobs are pushed. */
  dispose(): Promise<void>;
}

/** Options of {@link packageApp}. */
export interface PackageAppOptions {
  /** Content of at most this many bytes is inlined into the locked app (files are then not pushed). @default 128 */
  inlineMaxSize?: number;
  /**
   * Put each files directory into one archive layer even when under the layer cap (Spin does
   * so when `SPIN_OCI_ARCHIVE_LAYERS` is set; the CLI reads it and passes it here).
   * @default false
   */
  archiveLayers?: boolean;
  /** Most layers in the image, the locked-app layer included (ECR's cap, as in Spin). @default 500 */
  maxLayers?: number;
  /** Manifest annotations; they win over the inferred `org.opencontainers.image.*` ones. */
  annotations?: Record<string, string>;
  /**
   * `SOURCE_DATE_EPOCH` (seconds since the epoch): the `created` annotation and archive
   * mtimes follow it, so the same app always gives the same digest.
   */
  sourceDateEpoch?: string | number;
  /** Clock for `created` when no `sourceDateEpoch` is given. @default () => new Date() */
  now?: () => Date;
  /** Where archive layers are written while the app is pushed. @default os.tmpdir() */
  tempDir?: string;
  /** Largest component or dependency source packaged, in bytes. @default 536870912 (512 MiB) */
  maxSourceBytes?: number;
  /**
   * Composes a component that has `dependencies` or `trigger_dependencies` (HTTP middleware) into
   * one component (Spin's `--compose`, the default of `spin registry push`; @spinel/runtime's
   * `composeLockedComponent` does it as Spin does): its result is pushed as the component's only
   * wasm layer and the pushed locked component has neither table (its `metadata` and
   * `host_requirements` stay, as in Spin). Without it each dependency and middleware is a layer of
   * its own (`--compose=false`). With it, trigger dependencies still on a trigger (not moved onto
   * its component as Spin's lock does) are refused (`OCI_APP_INVALID`). Its errors pass through.
   */
  composeDependencies?: (component: LockedComponent) => Promise<Uint8Array>;
  /** Largest single file packaged, in bytes. @default 1073741824 (1 GiB) */
  maxFileBytes?: number;
}

interface AssembleContext {
  compose?: (component: LockedComponent) => Promise<Uint8Array>;
  inlineMax: number;
  maxSource: number;
  maxFile: number;
  mtime: number;
  tempDir: string;
  archiveDir?: string;
  /** Bytes of small files still allowed to be held in memory until they are pushed. */
  heldBudget: number;
}

// A file of at most this size is read once, hashed, and its bytes kept for the push, up to
// HELD_TOTAL_BYTES in all: opening and streaming it again at upload cost more than the request
// that carries it (a Spin app's static files are mostly this small). The bound keeps memory
// flat: a simple-mode app has at most 499 layers, so about 31 MiB at most is held.
const HELD_FILE_BYTES = 64 * 1024;
const HELD_TOTAL_BYTES = 32 * 1024 * 1024;

/**
 * Turns a locked app whose sources are `file://` URLs (or inline) into an OCI artifact, as
 * Spin does: one wasm layer per distinct component or dependency source (sources of at most
 * `inlineMaxSize` bytes are also inlined), one data layer per distinct file (files of at
 * most `inlineMaxSize` bytes are inlined instead of pushed), or, in archive mode, one
 * `tar+gzip` layer per files directory holding every file of it; the locked app rewritten
 * with digest references as the last layer; a standard image config labelled with the
 * locked app's digest; annotations.
 *
 * Sources and files are read only when they are regular files within `maxSourceBytes` /
 * `maxFileBytes` (a non-blocking open checked with `fstat` first).
 *
 * @throws OciError `OCI_APP_SOURCE` (a source cannot be read), `OCI_APP_NOT_WASM`,
 *   `OCI_APP_INVALID` (a source with no content, too many layers, a bad `SOURCE_DATE_EPOCH`),
 *   `OCI_APP_LINK_OUTSIDE` (a link in a files directory resolving outside it),
 *   `OCI_APP_NOT_REGULAR_FILE` (a device, FIFO or socket), `OCI_APP_TOO_LARGE`
 */
export async function packageApp(app: LockedApp, options: PackageAppOptions = {}): Promise<PackagedApp> {
  const maxLayers = options.maxLayers ?? 500;
  const created = createdDate(options);
  const ctx: AssembleContext = {
    inlineMax: options.inlineMaxSize ?? 128,
    maxSource: options.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES,
    maxFile: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    mtime: Math.floor(created.getTime() / 1000),
    tempDir: options.tempDir ?? tmpdir(),
    heldBudget: HELD_TOTAL_BYTES,
    ...(options.composeDependencies === undefined ? {} : { compose: options.composeDependencies }),
  };
  const dispose = async (): Promise<void> => {
    if (ctx.archiveDir !== undefined) await rm(ctx.archiveDir, { recursive: true, force: true });
  };
  try {
    let archived = options.archiveLayers === true;
    let assembled = await assemble(app, archived ? 'archive' : 'simple', ctx);
    if (!archived && assembled.layers.length > maxLayers - 1) {
      archived = true;
      assembled = await assemble(app, 'archive', ctx);
    }
    const { lockedApp, layers } = assembled;
    const lockedBlob = memoryBlob(MediaType.SpinLockedApp, Buffer.from(serializeLockedApp(lockedApp, { format: 'compact' }), 'utf8'));
    layers.push(lockedBlob);
    if (layers.length > maxLayers) {
      throw new AppInvalidError(
        `The app needs ${layers.length} layers, more than the ${maxLayers} allowed, even with archive layers; reduce the number of distinct .wasm files.`,
      );
    }
    // oci-client's ConfigFile, serialised by serde in field order (`crates/oci/src/client.rs`).
    const configJson = {
      architecture: 'wasm',
      os: 'Wasip1',
      config: { Labels: { [LOCKED_APP_DIGEST_LABEL]: lockedBlob.descriptor.digest } },
      rootfs: { type: 'layers', diff_ids: [] as string[] },
    };
    const config = memoryBlob(MediaType.OciConfig, Buffer.from(JSON.stringify(configJson), 'utf8'));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: config.descriptor,
      layers: layers.map((blob) => blob.descriptor),
      annotations: manifestAnnotations(lockedApp, created, options.annotations ?? {}),
    };
    const manifestBytes = Buffer.from(canonicalJson(manifest), 'utf8');
    return { manifest, manifestBytes, manifestDigest: sha256Digest(manifestBytes), config, layers, lockedApp, archived, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Spin's `assemble_layers`: the layers of every component (de-duplicated) and the locked app they make. */
async function assemble(app: LockedApp, mode: 'simple' | 'archive', ctx: AssembleContext): Promise<{ lockedApp: LockedApp; layers: PackagedBlob[] }> {
  const out = cloneLockedApp(app);
  if (out.metadata !== undefined) {
    delete out.metadata['origin'];
    delete out.metadata['oci_image_digest'];
  }
  const layers = new LayerSet();
  const triggerWasm: PackagedBlob[] = [];
  // Trigger-level dependencies (middleware) become wasm layers like component dependencies.
  for (const trigger of out.triggers) {
    if (ctx.compose !== undefined && triggerDependencies(trigger).length > 0) {
      // Spin's lock moves them onto the trigger's component (`reassign_trigger_deps`), where
      // composing finds them; left on the trigger, Spin would push them with their file URLs.
      throw new AppInvalidError(
        `Trigger '${trigger.id}' has trigger dependencies (middleware) on the trigger itself, a lock file shape Spin's loader never writes; lock the app again from its spin.toml (spinel lock, or push the spin.toml), or push with --compose=false.`,
      );
    }
    for (const [role, dependency] of triggerDependencies(trigger)) {
      dependency.source = await wasmLayer(dependency.source, `trigger dependency '${role}'`, `trigger dependency ${role} is not a valid .wasm file`, ctx, triggerWasm);
    }
  }
  for (const [index, component] of out.components.entries()) {
    // The component's Wasm; composed with its dependencies into one layer when asked
    // (Spin's `assemble_layers_composed`), which then leaves no dependencies to push.
    const wasm: PackagedBlob[] = [];
    // Spin composes a component with trigger dependencies (even empty lists) through its trigger
    // (`precompose_using_trigger`), and clears both tables once the source is the composition.
    if (ctx.compose !== undefined && (Object.keys(component.dependencies ?? {}).length > 0 || component.trigger_dependencies !== undefined)) {
      const composed = await ctx.compose(structuredClone(component));
      component.source = { content_type: component.source.content_type, inline: composed };
      delete component.dependencies;
      delete component.trigger_dependencies;
    }
    component.source = await wasmLayer(component.source, `component '${component.id}'`, `Component ${component.id} source is not a valid .wasm file`, ctx, wasm);
    for (const name of sortedKeys(component.dependencies ?? {})) {
      const dependency = component.dependencies?.[name] as LockedComponentDependency;
      dependency.source = await wasmLayer(
        dependency.source,
        `dependency '${name}' of component '${component.id}'`,
        `dependency ${name} for component ${component.id} is not a valid .wasm file`,
        ctx,
        wasm,
      );
    }
    for (const [role, dependency] of triggerDependencies(component)) {
      dependency.source = await wasmLayer(
        dependency.source,
        `trigger dependency '${role}' of component '${component.id}'`,
        `trigger dependency ${role} for component ${component.id} is not a valid .wasm file`,
        ctx,
        wasm,
      );
    }
    if (index === 0) wasm.push(...triggerWasm);
    for (const blob of wasm) layers.add(blob);
    const files: ContentPath[] = [];
    for (const mount of component.files ?? []) await mountLayers(mount, component.id, mode, ctx, files, layers);
    if (files.length > 0) component.files = files;
    else delete component.files;
  }
  return { lockedApp: out, layers: layers.list };
}

/** Spin's `assemble_content_layers` for one mount: the files it lists and the layers they need. */
async function mountLayers(mount: ContentPath, componentId: string, mode: 'simple' | 'archive', ctx: AssembleContext, files: ContentPath[], layers: LayerSet): Promise<void> {
  const base = mount.path.replace(/^\/+/, '').replace(/\/+$/, '');
  const guest = (relative: string): string => (base === '' ? relative : `${base}/${relative}`);
  if (mount.source === undefined) {
    if (mount.inline === undefined) {
      throw new AppInvalidError(`A file of component '${componentId}' (${mount.path}) has no content to push; lock the app from its spin.toml again.`);
    }
    const bytes = Buffer.from(mount.inline);
    files.push({ ...contentRef(bytes, ctx), path: base });
    if (bytes.length > ctx.inlineMax) layers.add(memoryBlob(MediaType.DataLayer, bytes));
    return;
  }
  const root = filePath(mount.source, `files of component '${componentId}'`);
  const info = await stat(root).catch((err: unknown) => {
    throw new AppSourceError(`Files of component '${componentId}' are missing at ${root}; check the component's files in spin.toml.`, { cause: err });
  });
  if (!info.isDirectory()) {
    const item = await fileContent(root, guest(''), ctx);
    files.push(item.ref);
    if (item.layer !== undefined) layers.add(item.layer);
    return;
  }
  const relatives = await walkFiles(root).catch((err: unknown) => {
    if (err instanceof AppFileRefusedError) throw err;
    throw new AppSourceError(`Cannot list the files of component '${componentId}' at ${root}; check they are readable.`, { cause: err });
  });
  for (const item of await readFiles(relatives.map((relative) => () => fileContent(join(root, relative), guest(relative), ctx)))) {
    files.push(item.ref);
    if (mode === 'simple' && item.layer !== undefined) layers.add(item.layer);
  }
  if (mode === 'archive' && relatives.length > 0) {
    // The archive holds every file of the directory, inlined ones and .wasm files included, as Spin's does.
    ctx.archiveDir ??= await mkdtemp(join(ctx.tempDir, 'spinel-archive-'));
    const dest = join(ctx.archiveDir, `${layers.list.length}-${componentId}.tar.gz`);
    const entries: TarStreamInput[] = (await archiveOrder(root)).map((entry) =>
      entry.type === 'directory'
        ? { type: 'directory', path: entry.path }
        : { type: 'file', path: entry.path, size: 0, open: () => createReadStream(join(root, entry.path)) },
    );
    for (const entry of entries) if (entry.type === 'file') entry.size = (await stat(join(root, entry.path))).size;
    const written = await writeTarGzFile(entries, dest, { mtime: ctx.mtime }).catch((err: unknown) => {
      throw new AppSourceError(`Cannot archive the files of component '${componentId}'; check they are readable and not changing.`, { cause: err });
    });
    layers.add(fileBlob(MediaType.ArchiveLayer, written.digest, dest, identityOf(await stat(dest, { bigint: true }))));
  }
}

// Files read at once while packaging. Each file is a stat, an open, an fstat, a read and a
// close on the thread pool, so one at a time a directory of small files waits on about five
// round trips per file.
const FILE_READ_CONCURRENCY = 8;

/** The results of `reads` in their order, at most FILE_READ_CONCURRENCY at once; the first failure in that order is thrown. */
async function readFiles<T>(reads: (() => Promise<T>)[]): Promise<T[]> {
  const limit = pLimit(FILE_READ_CONCURRENCY);
  const settled = await Promise.allSettled(reads.map((read) => limit(read)));
  return settled.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}

/** Content reference of one file (inline when small, as Spin's `content_ref_for_layer`), and its data layer unless inlined. */
async function fileContent(path: string, guestPath: string, ctx: AssembleContext): Promise<{ ref: ContentPath; layer?: PackagedBlob }> {
  try {
    const { handle, size, identity } = await openRegular(path, `File ${path} (mounted at /${guestPath})`, ctx.maxFile);
    try {
      if (size <= ctx.inlineMax) {
        const bytes = await readAtMost(handle, size);
        return { ref: { ...contentRef(bytes, ctx), path: guestPath } };
      }
      if (size <= HELD_FILE_BYTES) {
        // What was read is what is pushed, even if the file changes before the upload.
        const bytes = await readAtMost(handle, size);
        const held = ctx.heldBudget >= bytes.length;
        if (held) ctx.heldBudget -= bytes.length;
        const layer = held ? memoryBlob(MediaType.DataLayer, bytes) : fileBlob(MediaType.DataLayer, sha256Digest(bytes), path, identity);
        return { ref: { digest: layer.descriptor.digest, path: guestPath }, layer };
      }
      const digest = await hashHandle(handle, size);
      return { ref: { digest, path: guestPath }, layer: fileBlob(MediaType.DataLayer, digest, path, identity) };
    } finally {
      await handle.close().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof AppFileRefusedError) throw err;
    throw new AppSourceError(`Cannot read ${path} (mounted at /${guestPath}); check the component's files.`, { cause: err });
  }
}

/** The wasm layer of a component or dependency source, and the source as pushed (inline when small, digest always). */
async function wasmLayer(source: LockedComponentSource, what: string, notWasm: string, ctx: AssembleContext, into: PackagedBlob[]): Promise<LockedComponentSource> {
  let blob: PackagedBlob;
  if (source.source !== undefined) {
    const path = filePath(source.source, what);
    let head: Buffer;
    let size: number;
    let digest: string;
    let small: Buffer | undefined;
    let identity: FileIdentity;
    try {
      const opened = await openRegular(path, `The Wasm source of ${what} (${path})`, ctx.maxSource);
      const handle = opened.handle;
      try {
        size = opened.size;
        identity = opened.identity;
        head = Buffer.alloc(Math.min(WASM_CHECK_BYTES, size));
        await handle.read(head, 0, head.length, 0);
        if (!looksLikeWasm(head)) throw new AppNotWasmError(`${notWasm} (${path}); build the app first, or point the source at its .wasm output.`);
        if (size <= ctx.inlineMax) small = await readAtMost(handle, size);
        digest = small === undefined ? await hashHandle(handle, size) : sha256Digest(small);
      } finally {
        await handle.close().catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof AppNotWasmError || err instanceof AppFileRefusedError) throw err;
      throw new AppSourceError(`Cannot read the Wasm source of ${what} at ${path}; build the app first (spinel registry push --build).`, { cause: err });
    }
    blob = small !== undefined ? memoryBlob(MediaType.WasmLayer, small) : fileBlob(MediaType.WasmLayer, digest, path, identity);
  } else if (source.inline !== undefined) {
    const bytes = Buffer.from(source.inline);
    if (!looksLikeWasm(bytes.subarray(0, WASM_CHECK_BYTES))) throw new AppNotWasmError(`${notWasm} (inline content); lock the app from a built .wasm.`);
    blob = memoryBlob(MediaType.WasmLayer, bytes);
  } else {
    throw new AppInvalidError(`The source of ${what} has no file or inline content to push; lock the app from its spin.toml again.`);
  }
  into.push(blob);
  return { content_type: source.content_type, ...contentRef(blob.bytes, ctx, blob.descriptor.digest) };
}

/** Spin's `content_ref_for_layer`: the digest, and the bytes inline when at most `inlineMax` long. */
function contentRef(bytes: Buffer | undefined, ctx: AssembleContext, digest?: string): { inline?: Uint8Array; digest: string } {
  const d = digest ?? sha256Digest(bytes ?? Buffer.alloc(0));
  return bytes !== undefined && bytes.length <= ctx.inlineMax ? { inline: new Uint8Array(bytes), digest: d } : { digest: d };
}

function filePath(url: string, what: string): string {
  if (!url.startsWith('file:')) {
    throw new AppInvalidError(`The source of ${what} is '${url}', not a file:// URL; lock the app locally before pushing.`);
  }
  return fileURLToPath(url);
}

/** The first `size` bytes of an open file (fewer if it shrank). */
async function readAtMost(handle: FileHandle, size: number): Promise<Buffer> {
  const bytes = Buffer.alloc(size);
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(bytes, position, size - position, position);
    if (bytesRead === 0) break;
    position += bytesRead;
  }
  return bytes.subarray(0, position);
}

function createdDate(options: PackageAppOptions): Date {
  const epoch = options.sourceDateEpoch;
  if (epoch !== undefined && String(epoch).trim() !== '') {
    const seconds = Number(String(epoch).trim());
    if (!Number.isInteger(seconds) || seconds < 0) {
      throw new AppInvalidError(`SOURCE_DATE_EPOCH '${String(epoch)}' is not a whole number of seconds; unset it or set it to e.g. $(git log -1 --format=%ct).`);
    }
    return new Date(seconds * 1000);
  }
  return (options.now ?? (() => new Date()))();
}

function sortedKeys(o: object): string[] {
  return Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** Layers de-duplicated as Spin's `unique()` does (same bytes and media type; first one kept). */
class LayerSet {
  readonly list: PackagedBlob[] = [];
  readonly #seen = new Set<string>();

  add(blob: PackagedBlob): void {
    const key = `${blob.descriptor.mediaType} ${blob.descriptor.digest}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.list.push(blob);
  }
}

/** A blob read from disk at upload, refused there if `path` no longer names the file packaging read (`readUnchanged`). */
function fileBlob(mediaType: string, digest: string, path: string, identity: FileIdentity): PackagedBlob {
  return { descriptor: { mediaType, digest, size: identity.size }, path, open: () => readUnchanged(path, identity) };
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
