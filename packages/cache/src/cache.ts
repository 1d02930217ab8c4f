import { createHash } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { readDerivedChecked, writeDerivedRecord } from './derived-record.js';
import { digestFileName, digestFromFileName, parseDigest } from './digest.js';
import { CacheDigestMismatchError, CacheIntegrityError, CacheInvalidArgumentError, CacheTooLargeError, CacheInvalidNameError, CacheIoError, CacheNotFoundError } from './errors.js';
import { errnoCode, isMissing, removeAtomically, removeQuietly, statOrUndefined, touch } from './fs-util.js';
import { debug, putChannel, removeChannel } from './diagnostics.js';
import { derivedKeySegment, registrySegment, repositorySegments, tagSegment } from './names.js';
import { tempName } from './temp-files.js';
import { writeFileAtomic } from './atomic-file.js';
import { writeVerifiedBytes, writeVerifiedFile, writeVerifiedStream, wrapIo } from './write-verified.js';
import { hashFile, hashHandle, readHashed } from './hash-file.js';
import { cacheSize, cleanCache, listEntries, pruneCache, verifyCache } from './maintenance.js';
import type { CacheEntry, CacheSize, CleanReport, PruneOptions, PruneReport, VerifyCacheOptions, VerifyReport } from './maintenance.js';

/** Where a blob lives: `registry/wasm/` (Wasm components and modules) or `registry/data/` (everything else). */
export type BlobKind = 'wasm' | 'data';

/** Options of {@link openCache}. */
export interface CacheOptions {
  /** Cache root; blobs go under `<root>/registry/{wasm,data}`, derived artifacts under `<root>/derived`. */
  root: string;
  /** Platform whose file-name rules apply (`:` → `_` on Windows). @default process.platform */
  platform?: NodeJS.Platform;
  /** Flush files to disk before they are renamed into place. @default true */
  fsync?: boolean;
  /** Clock for the least-recently-used bookkeeping, in ms since the epoch. @default Date.now */
  now?: () => number;
}

/** Options of a blob put. */
export interface PutOptions {
  /** Directory the blob goes to. @default 'data' */
  kind?: BlobKind;
  /** Refuse content larger than this (CACHE_TOO_LARGE); nothing is stored. */
  maxBytes?: number;
  /** Expected size, when known: an existing file of another size is treated as corrupt and replaced. */
  size?: number;
  signal?: AbortSignal;
  /** Where the content came from, for error messages (never include credentials). */
  source?: string;
}

/** What a put did. */
export interface PutResult {
  digest: string;
  /** Path of the stored blob. */
  path: string;
  size: number;
  kind: BlobKind;
  /** True when the blob was already present (nothing was written). */
  existed: boolean;
}

/**
 * How much a read checks: `size` compares the file size with `options.size` when given and
 * refuses an empty file (cheap, on every open), `full` also hashes the whole file before
 * any byte is handed out, `none` checks only that the file exists.
 */
export type VerifyMode = 'none' | 'size' | 'full';

/** Options of a verified read. */
export interface ReadOptions {
  /** Expected size in bytes (an OCI descriptor's `size`). */
  size?: number;
  /** @default 'size' */
  verify?: VerifyMode;
}

/** A blob opened for reading; the stream closes the file when it ends or is destroyed. */
export interface OpenedBlob {
  path: string;
  size: number;
  stream: Readable;
}

/** Where a blob is stored. */
export interface BlobInfo {
  digest: string;
  path: string;
  kind: BlobKind;
  size: number;
  /** Last use (mtime, touched on reads), ms since the epoch. */
  mtimeMs: number;
}

/** A Spin-style manifest location: `<registry>/<repository>/<tag or latest>`. */
export interface ManifestRef {
  registry: string;
  repository: string;
  /** @default 'latest' (as Spin does for digest-only references) */
  tag?: string | undefined;
}

/** The files Spin keeps per pulled reference. */
export interface ManifestFiles {
  /** The OCI image manifest (`manifest.json`). */
  manifest: Buffer;
  /** The locked app / config blob (`config.json`), when written. */
  config?: Buffer;
}

/** A derived artifact read for running: its directory and the verified bytes of its files. */
export interface DerivedContent {
  path: string;
  /** Verified content by path inside the directory (`/`-separated), for the files asked for. */
  files: Map<string, Buffer>;
}

/** What {@link Cache.putDerived} did. */
export interface DerivedResult {
  path: string;
  /** False when another call (or process) had already produced the entry; the builder did not run or its output was discarded. */
  created: boolean;
}

const EMPTY_DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const BLOB_KINDS: readonly BlobKind[] = ['wasm', 'data'];
const REVERSED_KINDS: readonly BlobKind[] = ['data', 'wasm'];

/**
 * Opens a cache rooted at `options.root` (nothing is created until something is written).
 * @throws CACHE_INVALID_ARGUMENT when the root is not an absolute path.
 */
export function openCache(options: CacheOptions): Cache {
  return new Cache(options);
}

/**
 * A content-addressed store shared safely by many processes. Blobs are verified against
 * their digest before they get their final name, so the existence of a final name means
 * valid content; readers can check size or the full hash again.
 */
export class Cache {
  /** Absolute cache root. */
  readonly root: string;
  /** `<root>/registry`, the Spin-compatible tree. */
  readonly registryDir: string;
  /** `<root>/derived`, one directory per derived-artifact key. */
  readonly derivedDir: string;
  readonly platform: NodeJS.Platform;
  readonly fsync: boolean;
  readonly now: () => number;

  constructor(options: CacheOptions) {
    if (typeof options.root !== 'string' || options.root.length === 0) {
      throw new CacheInvalidArgumentError('cache root must be a non-empty path');
    }
    this.root = resolve(options.root);
    this.registryDir = join(this.root, 'registry');
    this.derivedDir = join(this.root, 'derived');
    this.platform = options.platform ?? process.platform;
    this.fsync = options.fsync ?? true;
    this.now = options.now ?? Date.now;
  }

  /** `<root>/registry/<kind>`. */
  blobDir(kind: BlobKind): string {
    return join(this.registryDir, kind);
  }

  /**
   * Where a blob of this digest is (or would be) stored, whether or not it exists.
   * @throws CACHE_INVALID_DIGEST
   */
  blobPath(digest: string, kind: BlobKind = 'data'): string {
    return join(this.blobDir(kind), digestFileName(digest, this.platform));
  }

  /**
   * Where a blob is stored (`preferred` directory first, then the other), or undefined.
   * @throws CACHE_INVALID_DIGEST, CACHE_IO
   */
  // Synchronous on purpose: a pull asks this for every layer, mostly of blobs not stored yet,
  // and an asynchronous stat of a missing file costs the main thread tens of microseconds
  // (a thread-pool round trip and an ENOENT error object) where statSync without throwing
  // costs a few: about a sixth of the CPU time of a 302-layer pull went to these misses.
  async stat(digest: string, preferred: BlobKind = 'wasm'): Promise<BlobInfo | undefined> {
    const name = digestFileName(digest, this.platform);
    for (const kind of preferred === 'wasm' ? BLOB_KINDS : REVERSED_KINDS) {
      const path = join(this.blobDir(kind), name);
      let stats: Stats | undefined;
      try {
        stats = statSync(path, { throwIfNoEntry: false });
      } catch (err) {
        if (!isMissing(err)) throw new CacheIoError('read', path, err);
      }
      if (stats?.isFile() === true) return { digest, path, kind, size: stats.size, mtimeMs: stats.mtimeMs };
    }
    return undefined;
  }

  /**
   * The digest of the blob at `path` when `path` names a blob of this cache
   * (`<root>/registry/{wasm,data}/<digest>`), else undefined. A reader given a file path (a
   * locked app's `file://` source) can tell it is cached content with a digest to check.
   */
  blobDigestAt(path: string): string | undefined {
    const full = resolve(path);
    const dir = dirname(full);
    if (dir !== this.blobDir('wasm') && dir !== this.blobDir('data')) return undefined;
    return digestFromFileName(basename(full));
  }

  /** True when a blob with this digest is stored. @throws CACHE_INVALID_DIGEST */
  async has(digest: string): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /**
   * The path of a stored blob, or undefined when absent. Marks it used (for pruning).
   * The file was verified when written; use {@link Cache.openRead} to check again.
   * @throws CACHE_INVALID_DIGEST
   */
  async path(digest: string): Promise<string | undefined> {
    const info = await this.stat(digest);
    if (info === undefined) return undefined;
    await touch(info.path, info.mtimeMs, this.now());
    return info.path;
  }

  /**
   * Stores bytes under their digest after checking that they hash to it.
   * @throws CACHE_INVALID_DIGEST, CACHE_DIGEST_MISMATCH (nothing stored), CACHE_TOO_LARGE, CACHE_IO
   */
  async putBytes(digest: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const { digest: expected } = parseDigest(digest);
    const kind = options.kind ?? 'data';
    if (options.maxBytes !== undefined && bytes.byteLength > options.maxBytes) {
      throw new CacheTooLargeError(options.maxBytes, options.source);
    }
    // Checked before anything else, so wrong bytes are reported even when the digest is stored.
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== expected) throw new CacheDigestMismatchError(expected, actual, options.source);
    const finalPath = this.blobPath(expected, kind);
    // One stat of the target only: the bytes are already here, so a copy in the other
    // directory is not worth a second lookup on this hot path.
    const present = await statOrUndefined(finalPath).catch(() => undefined);
    if (present?.isFile() === true && present.size === bytes.byteLength) {
      await touch(finalPath, present.mtimeMs, this.now());
      return this.reportPut({ digest: expected, path: finalPath, size: present.size, kind, existed: true });
    }
    const result = await writeVerifiedBytes(bytes, {
      dir: this.blobDir(kind),
      finalPath,
      expected,
      fsync: this.fsync,
      maxBytes: options.maxBytes,
      source: options.source,
    });
    return this.reportPut({ digest: expected, path: finalPath, size: result.size, kind, existed: result.existed });
  }

  /**
   * Stores a stream under its digest: hashed while it is written to a temporary file in
   * the target directory, flushed, then renamed into place. When the blob is already
   * stored the source is not read (a Node stream is destroyed).
   * @throws CACHE_INVALID_DIGEST, CACHE_DIGEST_MISMATCH (nothing stored), CACHE_TOO_LARGE, CACHE_IO; errors of the source itself pass through.
   */
  async putStream(digest: string, source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const { digest: expected } = parseDigest(digest);
    const kind = options.kind ?? 'data';
    const existing = await this.existingFor(expected, options.size, kind);
    if (existing !== undefined) {
      (source as { destroy?: () => void }).destroy?.();
      return this.reportPut({ ...existing, existed: true });
    }
    const finalPath = this.blobPath(expected, kind);
    const result = await writeVerifiedStream(source, {
      dir: this.blobDir(kind),
      finalPath,
      expected,
      fsync: this.fsync,
      maxBytes: options.maxBytes,
      signal: options.signal,
      source: options.source,
    });
    return this.reportPut({ digest: expected, path: finalPath, size: result.size, kind, existed: result.existed });
  }

  /**
   * Stores a copy of a local file under its digest: copied by the kernel to a temporary
   * file, the copy hashed, flushed and renamed into place. Faster than a stream for files
   * already on disk (an OCI image layout, a built component). When the digest is already
   * stored with the source's size, the source is not read.
   * @throws CACHE_INVALID_DIGEST, CACHE_DIGEST_MISMATCH (nothing stored), CACHE_TOO_LARGE, CACHE_IO (also when the source is missing)
   */
  async putFile(digest: string, sourcePath: string, options: Omit<PutOptions, 'size'> = {}): Promise<PutResult> {
    const { digest: expected } = parseDigest(digest);
    const kind = options.kind ?? 'data';
    const source = await statOrUndefined(sourcePath).catch(() => undefined);
    const existing = await this.existingFor(expected, source?.size, kind);
    if (existing !== undefined) return this.reportPut({ ...existing, existed: true });
    const finalPath = this.blobPath(expected, kind);
    const result = await writeVerifiedFile(sourcePath, {
      dir: this.blobDir(kind),
      finalPath,
      expected,
      fsync: this.fsync,
      maxBytes: options.maxBytes,
      source: options.source ?? sourcePath,
    });
    return this.reportPut({ digest: expected, path: finalPath, size: result.size, kind, existed: result.existed });
  }

  /** {@link Cache.putBytes} or {@link Cache.putStream}, by the type of `content`. */
  async put(digest: string, content: Uint8Array | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    return content instanceof Uint8Array ? this.putBytes(digest, content, options) : this.putStream(digest, content, options);
  }

  /**
   * Opens a stored blob after checking it (see {@link VerifyMode}); with `verify: 'full'` a
   * corrupt file is removed. The check and the returned stream use the same open file, so a
   * concurrent replacement cannot slip in between.
   * @throws CACHE_NOT_FOUND, CACHE_INTEGRITY, CACHE_INVALID_DIGEST
   */
  async openRead(digest: string, options: ReadOptions = {}): Promise<OpenedBlob> {
    const { handle, path, size } = await this.openChecked(digest, options);
    return { path, size, stream: handle.createReadStream({ start: 0 }) };
  }

  /**
   * Reads a whole stored blob after checking it (see {@link VerifyMode}).
   * @throws CACHE_NOT_FOUND, CACHE_INTEGRITY, CACHE_INVALID_DIGEST
   */
  async readBytes(digest: string, options: ReadOptions = {}): Promise<Buffer> {
    const verify = options.verify ?? 'size';
    const { handle, path, size } = await this.openChecked(digest, { ...options, verify: verify === 'full' ? 'size' : verify });
    let read: { bytes: Buffer; digest: string };
    try {
      if (verify !== 'full') return await handle.readFile();
      // Hashed while read: the bytes handed out are the bytes that were checked.
      read = await readHashed(handle, size);
    } catch (err) {
      throw new CacheIoError('read', path, err);
    } finally {
      await handle.close().catch(() => undefined);
    }
    if (read.digest !== digest || read.bytes.byteLength !== size) {
      await this.removeCorrupt(path);
      throw new CacheIntegrityError(digest, path, `content hashes to ${read.digest}; the file was removed`);
    }
    return read.bytes;
  }

  /**
   * Copies a stored blob to `dest` for running (a pulled app's files): read from one open file
   * and hashed while copied, so `dest` holds exactly the bytes that matched the digest. A blob
   * that does not match is removed (so the next pull fetches it again) and `dest` is removed too.
   * @throws CACHE_NOT_FOUND, CACHE_INTEGRITY, CACHE_IO
   */
  async copyVerified(digest: string, dest: string, options: { size?: number } = {}): Promise<void> {
    const { handle, path, size } = await this.openChecked(digest, { ...options, verify: 'size' });
    let out: FileHandle | undefined;
    let actual: string;
    try {
      out = await open(dest, 'w');
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(size, 1 << 20)));
      let position = 0;
      while (position < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.byteLength, size - position), position);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        await out.write(chunk, 0, bytesRead, position);
        position += bytesRead;
      }
      actual = position === size ? `sha256:${hash.digest('hex')}` : `a file of ${position} bytes`;
    } catch (err) {
      await out?.close().catch(() => undefined);
      out = undefined;
      await unlink(dest).catch(() => undefined);
      throw new CacheIoError('copy', path, err);
    } finally {
      await out?.close().catch(() => undefined);
      await handle.close().catch(() => undefined);
    }
    if (actual !== digest) {
      await unlink(dest).catch(() => undefined);
      await this.removeCorrupt(path);
      throw new CacheIntegrityError(digest, path, `content hashes to ${actual}; the file was removed`);
    }
  }

  /**
   * Hashes a stored blob and compares it with its name.
   * @returns the actual digest, or undefined when the blob is absent.
   */
  async hashBlob(digest: string): Promise<string | undefined> {
    const info = await this.stat(digest);
    if (info === undefined) return undefined;
    return hashFile(info.path);
  }

  /** Removes a blob (from `wasm/` and `data/`). @returns whether anything was removed. */
  async remove(digest: string): Promise<boolean> {
    const name = digestFileName(digest, this.platform);
    let removed = false;
    for (const kind of BLOB_KINDS) removed = (await removeAtomically(join(this.blobDir(kind), name))) || removed;
    return removed;
  }

  // ---- manifests -------------------------------------------------------------------------

  /**
   * `<root>/registry/manifests/<registry>/<repository>/<tag or latest>`; every part is
   * checked so the result is always inside the cache root.
   * @throws CACHE_INVALID_NAME
   */
  manifestDir(ref: ManifestRef): string {
    const base = join(this.registryDir, 'manifests');
    const dir = join(base, registrySegment(ref.registry, this.platform), ...repositorySegments(ref.repository), tagSegment(ref.tag));
    const rel = relative(base, dir);
    if (rel.length === 0 || rel.startsWith('..') || isAbsolute(rel) || !dir.startsWith(base + sep)) {
      throw new CacheInvalidNameError('reference', `${ref.registry}/${ref.repository}`, 'resolves outside the cache');
    }
    return dir;
  }

  /**
   * Writes `manifest.json` and, when given, `config.json` for a reference, each replaced
   * atomically (config first, so a reader that finds the new manifest finds its config).
   * @throws CACHE_INVALID_NAME, CACHE_IO
   */
  async writeManifest(ref: ManifestRef, files: { manifest: Uint8Array | string; config?: Uint8Array | string }): Promise<string> {
    const dir = this.manifestDir(ref);
    if (files.config !== undefined) await writeFileAtomic(join(dir, 'config.json'), toBytes(files.config), this.fsync);
    await writeFileAtomic(join(dir, 'manifest.json'), toBytes(files.manifest), this.fsync);
    return dir;
  }

  /**
   * Replaces one of a reference's files (`manifest.json` or `config.json`) atomically.
   * @throws CACHE_INVALID_NAME, CACHE_IO
   */
  async writeManifestFile(ref: ManifestRef, name: 'manifest.json' | 'config.json', content: Uint8Array | string): Promise<string> {
    const path = join(this.manifestDir(ref), name);
    await writeFileAtomic(path, toBytes(content), this.fsync);
    return path;
  }

  /**
   * Reads a reference's `manifest.json` (and `config.json` when present); undefined when no
   * manifest is stored. Marks the entry used.
   * @throws CACHE_INVALID_NAME, CACHE_IO
   */
  async readManifest(ref: ManifestRef): Promise<ManifestFiles | undefined> {
    const dir = this.manifestDir(ref);
    const manifest = await readIfPresent(join(dir, 'manifest.json'));
    if (manifest === undefined) return undefined;
    const config = await readIfPresent(join(dir, 'config.json'));
    await touch(join(dir, 'manifest.json'), undefined, this.now());
    return config === undefined ? { manifest } : { manifest, config };
  }

  // ---- derived artifacts -----------------------------------------------------------------

  /** `<root>/derived/<key>`, whether or not it exists. @throws CACHE_INVALID_KEY */
  derivedPath(key: string): string {
    return join(this.derivedDir, derivedKeySegment(key, this.platform));
  }

  /**
   * The directory of a derived artifact, or undefined when absent. A directory under its
   * final name is always complete (it appears by one rename). Marks it used. Its content is
   * not checked here: read it with {@link Cache.readDerived} to run it.
   * @throws CACHE_INVALID_KEY
   */
  async getDerived(key: string): Promise<string | undefined> {
    const path = this.derivedPath(key);
    const stats = await statOrUndefined(path);
    if (stats?.isDirectory() !== true) return undefined;
    await touch(path, stats.mtimeMs, this.now());
    return path;
  }

  /**
   * Reads a derived artifact for running: every file is hashed while it is read and compared
   * with the verification record written when the artifact was built (sizes, digests and the
   * set of files). Undefined when absent, or when the check fails: the entry is then removed
   * (`spinel:cache:remove` says why), so the caller builds it again from its source.
   * `keep` chooses which files' bytes are returned (all are checked).
   * @throws CACHE_INVALID_KEY, CACHE_IO
   */
  async readDerived(key: string, options: { keep?: (path: string) => boolean } = {}): Promise<DerivedContent | undefined> {
    const path = await this.getDerived(key);
    if (path === undefined) return undefined;
    const checked = await readDerivedChecked(path, options.keep);
    if (checked.ok) return { path, files: checked.files };
    debug('derived %s is corrupt (%s); removing it', key, checked.problem);
    if (await removeAtomically(path).catch(() => false)) {
      if (removeChannel.hasSubscribers) removeChannel.publish({ path, reason: `corrupt: ${checked.problem}` });
    }
    return undefined;
  }

  /**
   * Produces a derived artifact once: when `key` is absent, `build(tmpDir)` fills a fresh
   * temporary directory inside the cache, which is then renamed to its final name in one
   * step. Its files are recorded (size and sha256, in `.spinel-derived.json`) before the
   * rename, so {@link Cache.readDerived} can tell later changes. If another process finished first, its directory is kept and this output is
   * discarded. If `build` throws, nothing is left behind and the error passes through.
   * @throws CACHE_INVALID_KEY, CACHE_IO
   */
  async putDerived(key: string, build: (tmpDir: string) => Promise<void>): Promise<DerivedResult> {
    const path = this.derivedPath(key);
    const existing = await this.getDerived(key);
    if (existing !== undefined) return { path: existing, created: false };
    const tmp = join(this.derivedDir, tempName());
    try {
      await mkdir(tmp, { recursive: true });
    } catch (err) {
      throw new CacheIoError('create', tmp, err);
    }
    try {
      await build(tmp);
      await writeDerivedRecord(tmp).catch((err: unknown) => {
        throw new CacheIoError('record', tmp, err);
      });
      if (this.fsync) await syncDir(tmp);
      try {
        await rename(tmp, path);
        debug('derived %s created', key);
        return { path, created: true };
      } catch (err) {
        const code = errnoCode(err);
        const now = await statOrUndefined(path);
        if (now?.isDirectory() === true && (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM' || code === 'EACCES')) {
          await removeQuietly(tmp);
          return { path, created: false };
        }
        throw new CacheIoError('rename into place', path, err);
      }
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
  }

  /** Removes a derived artifact (renamed aside first, so readers never see half of it). */
  async removeDerived(key: string): Promise<boolean> {
    return removeAtomically(this.derivedPath(key));
  }

  // ---- maintenance -----------------------------------------------------------------------

  /** Every entry (blobs, manifests, derived artifacts), temporary files excluded. */
  async list(): Promise<CacheEntry[]> {
    return listEntries(this);
  }

  /** Bytes and counts per kind, temporary files included. */
  async size(): Promise<CacheSize> {
    return cacheSize(this);
  }

  /** Hashes every blob; reports and (by default) removes corrupt entries. */
  async verify(options: VerifyCacheOptions = {}): Promise<VerifyReport> {
    return verifyCache(this, options);
  }

  /** Removes abandoned temporary files, then entries by age and by a total-size budget (least recently used first). */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    return pruneCache(this, options);
  }

  /** Empties the cache (`registry/` and `derived/`). */
  async clean(): Promise<CleanReport> {
    return cleanCache(this);
  }

  // ---- internals -------------------------------------------------------------------------

  private async existingFor(digest: string, size: number | undefined, kind: BlobKind): Promise<Omit<PutResult, 'existed'> | undefined> {
    const info = await this.stat(digest, kind);
    if (info === undefined) return undefined;
    // A stored file of another size cannot hold this digest's content: rewrite it.
    if (size !== undefined && info.size !== size) return undefined;
    await touch(info.path, info.mtimeMs, this.now());
    return { digest, path: info.path, size: info.size, kind: info.kind };
  }

  private async removeCorrupt(path: string): Promise<void> {
    if (await removeAtomically(path).catch(() => false)) {
      if (removeChannel.hasSubscribers) removeChannel.publish({ path, reason: 'corrupt' });
    }
  }

  private reportPut(result: PutResult): PutResult {
    if (putChannel.hasSubscribers) putChannel.publish(result);
    debug('put %s %s (%d bytes, existed=%s)', result.kind, result.digest, result.size, result.existed);
    return result;
  }

  private async openChecked(digest: string, options: ReadOptions): Promise<{ handle: FileHandle; path: string; size: number }> {
    parseDigest(digest);
    const verify = options.verify ?? 'size';
    const info = await this.stat(digest);
    if (info === undefined) throw new CacheNotFoundError(`blob ${digest}`);
    let handle: FileHandle;
    try {
      handle = await open(info.path, 'r');
    } catch (err) {
      if (isMissing(err)) throw new CacheNotFoundError(`blob ${digest}`);
      throw new CacheIoError('open', info.path, err);
    }
    try {
      const stats = await handle.stat();
      if (verify !== 'none' && options.size !== undefined && stats.size !== options.size) {
        throw new CacheIntegrityError(digest, info.path, `size is ${stats.size} bytes, expected ${options.size}`);
      }
      // An empty file is what a crash leaves behind on filesystems that reorder the rename
      // before the data; only the empty blob's digest may be empty.
      if (verify !== 'none' && stats.size === 0 && digest !== EMPTY_DIGEST) {
        throw new CacheIntegrityError(digest, info.path, 'the file is empty');
      }
      if (verify === 'full') {
        const actual = await hashHandle(handle);
        if (actual !== digest) {
          await removeAtomically(info.path).catch(() => undefined);
          throw new CacheIntegrityError(digest, info.path, `content hashes to ${actual}; the file was removed`);
        }
      }
      await touch(info.path, stats.mtimeMs, this.now());
      return { handle, path: info.path, size: stats.size };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw wrapIo(err, 'read', info.path);
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  // Flushes the files a builder wrote; directory fsync is not supported everywhere.
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const parent = (entry as { parentPath?: string; path?: string }).parentPath ?? (entry as { path?: string }).path ?? dir;
    const fh = await open(join(parent, entry.name), 'r+').catch(() => undefined);
    if (fh === undefined) continue;
    await fh.sync().catch(() => undefined);
    await fh.close().catch(() => undefined);
  }
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new CacheIoError('read', path, err);
  }
}

function toBytes(content: Uint8Array | string): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

