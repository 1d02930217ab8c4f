import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { sha256Digest } from '@spinel/cache';
import { DigestVerifier, digestWithAlgorithmOf, isValidDigest, parseDigest } from './digest.js';
import { BlobUnknownError, DigestMismatchError, LayoutInvalidError, ManifestTooLargeError, ManifestUnknownError } from './errors.js';
import { DEFAULT_MAX_MANIFEST_BYTES, MediaType } from './media-types.js';
import type { BlobSource, FetchManifestOptions, OciTarget, PullBlobOptions, PushBlobOptions, PushBlobResult } from './target.js';
import type { Descriptor, FetchedManifest, ImageIndex, ImageManifest } from './types.js';
import { verifyingStream } from './verify-stream.js';

/** The annotation an image layout uses for tags. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** Options of {@link openImageLayout}. */
export interface OpenImageLayoutOptions {
  /** Create the directory and its `oci-layout`/`index.json` when missing. @default false */
  create?: boolean;
  /** Largest manifest accepted. @default 4 MiB */
  maxManifestBytes?: number;
}

/**
 * Open an OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) as
 * a target that can be read and written, so artifacts move without a registry (offline,
 * air-gapped). Tags are the `org.opencontainers.image.ref.name` annotation of `index.json`
 * entries, as skopeo and oras write them.
 *
 * @throws OciError `OCI_LAYOUT_INVALID` when the directory is not a layout (and `create` is off).
 */
export async function openImageLayout(dir: string, options: OpenImageLayoutOptions = {}): Promise<ImageLayout> {
  const root = resolve(dir);
  const layoutFile = join(root, 'oci-layout');
  let text: string | undefined;
  try {
    text = await readFile(layoutFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') {
      throw new LayoutInvalidError(`cannot read ${layoutFile}.`, { cause: err });
    }
  }
  if (text === undefined) {
    if (!options.create) throw new LayoutInvalidError(`${root} is not an OCI image layout (no oci-layout file). Push to it first, or check the path.`);
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await writeFile(layoutFile, `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
    try {
      await writeFile(join(root, 'index.json'), `${JSON.stringify(emptyIndex())}\n`, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new LayoutInvalidError(`cannot create ${root}/index.json.`, { cause: err });
    }
  } else {
    try {
      const parsed = JSON.parse(text) as { imageLayoutVersion?: unknown };
      if (typeof parsed.imageLayoutVersion !== 'string') throw new Error('no imageLayoutVersion');
    } catch (err) {
      throw new LayoutInvalidError(`${layoutFile} is not a valid oci-layout file.`, { cause: err });
    }
  }
  return new ImageLayout(root, options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES);
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
}

/** An OCI image layout directory as an {@link OciTarget}. Create with {@link openImageLayout}. */
export class ImageLayout implements OciTarget {
  readonly description: string;
  /** Serialises read-modify-write of index.json within this process. */
  #indexLock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly root: string,
    readonly maxManifestBytes: number,
  ) {
    this.description = `oci:${root}`;
  }

  /** Path of a blob in the layout (whether or not it exists). @throws OciError `OCI_INVALID_DIGEST` */
  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  /** The parsed `index.json`. @throws OciError `OCI_LAYOUT_INVALID` */
  async readIndex(): Promise<ImageIndex> {
    const file = join(this.root, 'index.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new LayoutInvalidError(`cannot read ${file}: the layout is incomplete.`, { cause: err });
    }
    try {
      const index = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new Error('no manifests array');
      return index;
    } catch (err) {
      throw new LayoutInvalidError(`${file} is not a valid image index.`, { cause: err });
    }
  }

  async #updateIndex(change: (index: ImageIndex) => ImageIndex): Promise<void> {
    const run = this.#indexLock.then(async () => {
      const next = change(await this.readIndex());
      const file = join(this.root, 'index.json');
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temp, `${JSON.stringify(next)}\n`);
      await rename(temp, file);
    });
    this.#indexLock = run.catch(() => undefined);
    await run;
  }

  async fetchManifest(reference: string, options: FetchManifestOptions = {}): Promise<FetchedManifest> {
    const max = options.maxBytes ?? this.maxManifestBytes;
    let descriptor: Descriptor | undefined;
    if (isValidDigest(reference)) {
      const index = await this.readIndex();
      descriptor = index.manifests.find((d) => d.digest === reference);
      if (!descriptor) {
        // Not a root: it may still be a child of an index stored here.
        const size = await this.#blobSize(reference);
        if (size === undefined) throw new ManifestUnknownError(`${this.description}@${reference}`);
        descriptor = { mediaType: '', digest: reference, size };
      }
    } else {
      const index = await this.readIndex();
      const matches = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === reference);
      descriptor = matches.at(-1);
      if (!descriptor) throw new ManifestUnknownError(`${this.description}:${reference}`);
    }
    if (descriptor.size > max) throw new ManifestTooLargeError(`manifest ${descriptor.digest} in ${this.description}`, max);
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(descriptor.digest));
    } catch (err) {
      throw new BlobUnknownError(this.description, descriptor.digest, { cause: err });
    }
    if (bytes.byteLength > max) throw new ManifestTooLargeError(`manifest ${descriptor.digest} in ${this.description}`, max);
    const actual = digestWithAlgorithmOf(descriptor.digest, bytes);
    if (actual !== descriptor.digest) throw new DigestMismatchError(`manifest in ${this.description}`, descriptor.digest, actual);
    let mediaType = descriptor.mediaType;
    if (!mediaType) {
      try {
        const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
        mediaType = typeof parsed.mediaType === 'string' ? parsed.mediaType : Array.isArray(parsed.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
      } catch {
        mediaType = MediaType.OciManifest;
      }
    }
    return { descriptor: { mediaType, digest: descriptor.digest, size: bytes.byteLength }, bytes };
  }

  async pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const descriptor: Descriptor = { mediaType, digest, size: bytes.byteLength };
    await this.pushBlob(descriptor, bytes);
    await this.#updateIndex((index) => {
      const manifests = index.manifests.filter((d) => {
        if (tag !== undefined) return d.annotations?.[REF_NAME_ANNOTATION] !== tag;
        return !(d.digest === digest && d.annotations?.[REF_NAME_ANNOTATION] === undefined);
      });
      manifests.push(tag === undefined ? descriptor : { ...descriptor, annotations: { [REF_NAME_ANNOTATION]: tag } });
      return { ...index, manifests };
    });
    return descriptor;
  }

  async #blobSize(digest: string): Promise<number | undefined> {
    try {
      const s = await stat(this.blobPath(digest));
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return (await this.#blobSize(descriptor.digest)) === descriptor.size;
  }

  async pullBlob<T>(descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options: PullBlobOptions = {}): Promise<T> {
    const path = this.blobPath(descriptor.digest);
    if ((await this.#blobSize(descriptor.digest)) === undefined) throw new BlobUnknownError(this.description, descriptor.digest);
    const stream = verifyingStream(`blob ${descriptor.digest} in ${this.description}`, createReadStream(path), descriptor, options.onProgress);
    return consume(stream);
  }

  async pushBlob(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
    if (await this.hasBlob(descriptor)) return { outcome: 'exists' };
    const path = this.blobPath(descriptor.digest);
    await mkdir(join(path, '..'), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const verifier = new DigestVerifier(`blob ${descriptor.digest} written to ${this.description}`, descriptor.digest, descriptor.size);
    const handle = await open(temp, 'wx');
    try {
      const input = typeof source === 'function' ? source() : [source];
      for await (const chunk of input as AsyncIterable<Uint8Array>) {
        verifier.update(chunk);
        await handle.write(chunk);
        options.onProgress?.(verifier.length, descriptor.size);
      }
      verifier.finish();
      await handle.close();
      await rename(temp, path);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw err;
    }
    return { outcome: 'uploaded' };
  }

  async listTags(): Promise<string[]> {
    const index = await this.readIndex();
    const tags: string[] = [];
    for (const d of index.manifests) {
      const tag = d.annotations?.[REF_NAME_ANNOTATION];
      if (tag !== undefined && !tags.includes(tag)) tags.push(tag);
    }
    return tags;
  }

  async referrers(digest: string, options: { artifactType?: string } = {}): Promise<Descriptor[]> {
    const index = await this.readIndex();
    const found: Descriptor[] = [];
    for (const d of index.manifests) {
      if (d.size > this.maxManifestBytes) continue;
      let manifest: ImageManifest | ImageIndex;
      try {
        manifest = JSON.parse(await readFile(this.blobPath(d.digest), 'utf8')) as ImageManifest | ImageIndex;
      } catch {
        continue;
      }
      if (manifest.subject?.digest !== digest) continue;
      const artifactType = manifest.artifactType ?? ('config' in manifest ? manifest.config.mediaType : undefined);
      if (options.artifactType !== undefined && artifactType !== options.artifactType) continue;
      found.push({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        ...(artifactType === undefined ? {} : { artifactType }),
        ...(manifest.annotations === undefined ? {} : { annotations: manifest.annotations }),
      });
    }
    return found;
  }
}
