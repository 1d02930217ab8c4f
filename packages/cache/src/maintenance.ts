import { lstat, readdir, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cache } from './cache.js';
import { readDerivedChecked } from './derived-record.js';
import { hashFile } from './hash-file.js';
import { digestFromFileName } from './digest.js';
import { debug, removeChannel } from './diagnostics.js';
import { CacheIoError } from './errors.js';
import { isMissing, removeAtomically, statOrUndefined } from './fs-util.js';
import { isTempName, tempName, tempOwnerPid } from './temp-files.js';

/** What kind of entry: a blob (`wasm`, `data`), a pulled reference (`manifest`), a derived artifact, or an unrecognised file in a blob directory (`other`, e.g. left by another tool). */
export type EntryKind = 'wasm' | 'data' | 'manifest' | 'derived' | 'other';

/** One entry of the cache. */
export interface CacheEntry {
  kind: EntryKind;
  /** The digest (blobs), `<registry>/<repository>/<tag>` (manifests), the key (derived) or the file name (other). */
  name: string;
  path: string;
  /** Bytes on disk (a directory's files added up). */
  size: number;
  /** Last use (mtime, touched on reads), ms since the epoch. */
  mtimeMs: number;
}

/** A temporary file or directory left by a write. */
export interface TempEntry {
  path: string;
  size: number;
  mtimeMs: number;
  pid: number | undefined;
}

/** Totals of {@link cacheSize}. */
export interface CacheSize {
  root: string;
  totalBytes: number;
  entries: number;
  byKind: Record<EntryKind | 'temp', { count: number; bytes: number }>;
}

const BLOB_KINDS = ['wasm', 'data'] as const;

/** Every entry in the cache (temporary files excluded), in no particular order. */
export async function listEntries(cache: Cache): Promise<CacheEntry[]> {
  return (await scan(cache)).entries;
}

/** Bytes and counts per kind, temporary files included. */
export async function cacheSize(cache: Cache): Promise<CacheSize> {
  const { entries, temps } = await scan(cache);
  const byKind: CacheSize['byKind'] = {
    wasm: { count: 0, bytes: 0 },
    data: { count: 0, bytes: 0 },
    manifest: { count: 0, bytes: 0 },
    derived: { count: 0, bytes: 0 },
    other: { count: 0, bytes: 0 },
    temp: { count: 0, bytes: 0 },
  };
  let totalBytes = 0;
  for (const entry of entries) {
    byKind[entry.kind].count += 1;
    byKind[entry.kind].bytes += entry.size;
    totalBytes += entry.size;
  }
  for (const temp of temps) {
    byKind.temp.count += 1;
    byKind.temp.bytes += temp.size;
    totalBytes += temp.size;
  }
  return { root: cache.root, totalBytes, entries: entries.length, byKind };
}

/** Options of {@link verifyCache}. */
export interface VerifyCacheOptions {
  /** Remove corrupt entries. @default true */
  remove?: boolean;
  /** Files hashed at once. @default 4 */
  concurrency?: number;
}

/** A corrupt entry found by {@link verifyCache}. */
export interface CorruptEntry {
  kind: EntryKind;
  name: string;
  path: string;
  /** What is wrong, e.g. `content hashes to sha256:…`. */
  problem: string;
  removed: boolean;
}

/** What {@link verifyCache} found. */
export interface VerifyReport {
  checked: number;
  corrupt: CorruptEntry[];
}

/**
 * Hashes every blob and compares it with its name; checks every derived artifact against its
 * verification record; checks that every manifest.json and config.json is JSON. Corrupt entries are reported and (by default) removed, so the next
 * pull fetches them again.
 */
export async function verifyCache(cache: Cache, options: VerifyCacheOptions = {}): Promise<VerifyReport> {
  const remove = options.remove ?? true;
  const { entries } = await scan(cache);
  const checkable = entries.filter((e) => e.kind === 'wasm' || e.kind === 'data' || e.kind === 'manifest' || e.kind === 'derived');
  const corrupt: CorruptEntry[] = [];
  let checked = 0;
  await forEachLimit(checkable, options.concurrency ?? 4, async (entry) => {
    const problem =
      entry.kind === 'manifest' ? await manifestProblem(entry.path) : entry.kind === 'derived' ? await derivedProblem(entry.path) : await blobProblem(entry);
    if (problem === 'gone') return;
    checked += 1;
    if (problem === undefined) return;
    let removed = false;
    if (remove) {
      removed = entry.kind === 'manifest' ? await removeManifestEntry(entry.path) : await removeAtomically(entry.path);
      if (removed) publishRemove(entry.path, 'corrupt');
    }
    corrupt.push({ kind: entry.kind, name: entry.name, path: entry.path, problem, removed });
  });
  corrupt.sort((a, b) => a.path.localeCompare(b.path));
  return { checked, corrupt };
}

/** Options of {@link pruneCache}. */
export interface PruneOptions {
  /** Remove entries not used for longer than this many ms. */
  olderThanMs?: number;
  /** Then remove least-recently-used entries until the total is at most this many bytes. */
  maxSizeBytes?: number;
  /** A temporary file older than this is abandoned whoever wrote it. @default 1 hour */
  tempMaxAgeMs?: number;
  /** A temporary file whose writer's pid is gone is abandoned once older than this. @default 1 minute */
  tempGraceMs?: number;
  /** Report what would be removed without removing it. @default false */
  dryRun?: boolean;
}

/** What {@link pruneCache} removed. */
export interface PruneReport {
  removed: CacheEntry[];
  removedTemps: TempEntry[];
  freedBytes: number;
  remainingBytes: number;
}

/**
 * Removes abandoned temporary files (a writer killed mid-put), then entries unused for
 * longer than `olderThanMs`, then least-recently-used entries until the total fits
 * `maxSizeBytes`.
 */
export async function pruneCache(cache: Cache, options: PruneOptions = {}): Promise<PruneReport> {
  const now = cache.now();
  const tempMaxAge = options.tempMaxAgeMs ?? 3_600_000;
  const tempGrace = options.tempGraceMs ?? 60_000;
  const dryRun = options.dryRun ?? false;
  const { entries, temps } = await scan(cache);
  const removedTemps: TempEntry[] = [];
  let freedBytes = 0;
  for (const temp of temps) {
    const age = now - temp.mtimeMs;
    const abandoned = age > tempMaxAge || (age > tempGrace && temp.pid !== undefined && !processAlive(temp.pid));
    if (!abandoned) continue;
    if (!dryRun) await rm(temp.path, { recursive: true, force: true });
    publishRemove(temp.path, 'abandoned temporary file');
    removedTemps.push(temp);
    freedBytes += temp.size;
  }
  const byAge = [...entries].sort((a, b) => a.mtimeMs - b.mtimeMs);
  const removed: CacheEntry[] = [];
  let remainingBytes = byAge.reduce((sum, e) => sum + e.size, 0) + temps.reduce((sum, t) => sum + t.size, 0) - freedBytes;
  for (const entry of byAge) {
    const tooOld = options.olderThanMs !== undefined && now - entry.mtimeMs > options.olderThanMs;
    const overBudget = options.maxSizeBytes !== undefined && remainingBytes > options.maxSizeBytes;
    if (!tooOld && !overBudget) continue;
    if (!dryRun) {
      const gone = entry.kind === 'manifest' ? await removeManifestEntry(entry.path) : await removeAtomically(entry.path);
      if (!gone) continue;
    }
    publishRemove(entry.path, tooOld ? 'older than limit' : 'over size budget');
    removed.push(entry);
    freedBytes += entry.size;
    remainingBytes -= entry.size;
  }
  debug('prune removed %d entries and %d temporary files (%d bytes)', removed.length, removedTemps.length, freedBytes);
  return { removed, removedTemps, freedBytes, remainingBytes };
}

/** What {@link cleanCache} removed. */
export interface CleanReport {
  root: string;
  freedBytes: number;
  entries: number;
}

/**
 * Empties the cache: `<root>/registry` and `<root>/derived` are each renamed aside (so no
 * reader sees them half-deleted) and deleted. Other files under the root are left alone.
 */
export async function cleanCache(cache: Cache): Promise<CleanReport> {
  const size = await cacheSize(cache);
  for (const dir of [cache.registryDir, cache.derivedDir]) {
    const aside = join(cache.root, tempName());
    try {
      await rename(dir, aside);
    } catch (err) {
      if (isMissing(err)) continue;
      throw new CacheIoError('remove', dir, err);
    }
    await rm(aside, { recursive: true, force: true });
    publishRemove(dir, 'clean');
  }
  return { root: cache.root, freedBytes: size.totalBytes, entries: size.entries };
}

// ---- scanning --------------------------------------------------------------------------

interface ScanResult {
  entries: CacheEntry[];
  temps: TempEntry[];
}

async function scan(cache: Cache): Promise<ScanResult> {
  const entries: CacheEntry[] = [];
  const temps: TempEntry[] = [];
  for (const kind of BLOB_KINDS) {
    const dir = cache.blobDir(kind);
    for (const dirent of await readDir(dir)) {
      const path = join(dir, dirent.name);
      const stats = await statOrUndefined(path);
      if (stats === undefined) continue;
      if (isTempName(dirent.name)) {
        temps.push({ path, size: stats.isFile() ? stats.size : await dirSize(path), mtimeMs: stats.mtimeMs, pid: tempOwnerPid(dirent.name) });
        continue;
      }
      if (!stats.isFile()) continue;
      const digest = digestFromFileName(dirent.name);
      entries.push({ kind: digest === undefined ? 'other' : kind, name: digest ?? dirent.name, path, size: stats.size, mtimeMs: stats.mtimeMs });
    }
  }
  await scanManifests(join(cache.registryDir, 'manifests'), join(cache.registryDir, 'manifests'), entries, temps);
  for (const dirent of await readDir(cache.derivedDir)) {
    const path = join(cache.derivedDir, dirent.name);
    const stats = await statOrUndefined(path);
    if (stats === undefined) continue;
    const size = stats.isDirectory() ? await dirSize(path) : stats.size;
    if (isTempName(dirent.name)) temps.push({ path, size, mtimeMs: stats.mtimeMs, pid: tempOwnerPid(dirent.name) });
    else if (stats.isDirectory()) entries.push({ kind: 'derived', name: dirent.name, path, size, mtimeMs: stats.mtimeMs });
  }
  return { entries, temps };
}

async function scanManifests(base: string, dir: string, entries: CacheEntry[], temps: TempEntry[]): Promise<void> {
  let size = 0;
  let mtimeMs = 0;
  let isEntry = false;
  for (const dirent of await readDir(dir)) {
    const path = join(dir, dirent.name);
    if (dirent.isDirectory() && !isTempName(dirent.name)) {
      await scanManifests(base, path, entries, temps);
      continue;
    }
    const stats = await statOrUndefined(path);
    if (stats === undefined) continue;
    if (isTempName(dirent.name)) {
      temps.push({ path, size: stats.size, mtimeMs: stats.mtimeMs, pid: tempOwnerPid(dirent.name) });
    } else if (dirent.name === 'manifest.json' || dirent.name === 'config.json') {
      isEntry = true;
      size += stats.size;
      mtimeMs = Math.max(mtimeMs, stats.mtimeMs);
    }
  }
  if (isEntry) entries.push({ kind: 'manifest', name: relative(base, dir).split('\\').join('/'), path: dir, size, mtimeMs });
}

async function readDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw new CacheIoError('list', dir, err);
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const dirent of await readDir(dir)) {
    const path = join(dir, dirent.name);
    if (dirent.isDirectory()) total += await dirSize(path);
    else total += (await statOrUndefined(path))?.size ?? 0;
  }
  return total;
}

// ---- checks and removal ------------------------------------------------------------------

async function blobProblem(entry: CacheEntry): Promise<string | undefined> {
  let actual: string;
  try {
    actual = await hashFile(entry.path);
  } catch (err) {
    if (isMissing(err)) return 'gone';
    throw new CacheIoError('read', entry.path, err);
  }
  return actual === entry.name ? undefined : `content hashes to ${actual}`;
}

async function derivedProblem(dir: string): Promise<string | undefined> {
  const checked = await readDerivedChecked(dir, () => false).catch((err: unknown) => {
    if (isMissing(err)) return 'gone' as const;
    throw new CacheIoError('read', dir, err);
  });
  if (checked === 'gone') return 'gone';
  return checked.ok ? undefined : checked.problem;
}

async function manifestProblem(dir: string): Promise<string | undefined> {
  for (const name of ['manifest.json', 'config.json']) {
    let text: string;
    try {
      text = await readFile(join(dir, name), 'utf8');
    } catch (err) {
      if (isMissing(err)) continue;
      throw new CacheIoError('read', join(dir, name), err);
    }
    try {
      JSON.parse(text);
    } catch {
      return `${name} is not valid JSON`;
    }
  }
  return undefined;
}

async function removeManifestEntry(dir: string): Promise<boolean> {
  let removed = false;
  for (const name of ['manifest.json', 'config.json']) {
    try {
      await unlink(join(dir, name));
      removed = true;
    } catch (err) {
      if (!isMissing(err)) throw new CacheIoError('remove', join(dir, name), err);
    }
  }
  await rmdir(dir).catch(() => undefined);
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

function publishRemove(path: string, reason: string): void {
  if (removeChannel.hasSubscribers) removeChannel.publish({ path, reason });
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Removes each blob of this cache named by `sources` (`file:` URLs or paths, as a locked app's
 * component sources are) whose content no longer matches its digest, or that is no longer a
 * regular file, so the next pull fetches it again. Sources outside the cache's blobs are ignored.
 * For a host that was refused a component (`RUNTIME_COMPONENT_INTEGRITY`): the runtime removes
 * the blob it refused; others of the same app may have been changed too.
 * @returns the digests removed
 */
export async function removeCorruptBlobs(cache: Cache, sources: Iterable<string | undefined>): Promise<string[]> {
  const removed: string[] = [];
  for (const source of sources) {
    if (source === undefined) continue;
    const path = source.startsWith('file:') ? fileURLToPath(source) : source;
    const digest = cache.blobDigestAt(path);
    if (digest === undefined) continue;
    const info = await lstat(path).catch(() => undefined);
    const intact = info?.isFile() === true && (await hashFile(path).catch(() => undefined)) === digest;
    if (!intact && (await cache.remove(digest).catch(() => false))) removed.push(digest);
  }
  return removed;
}
