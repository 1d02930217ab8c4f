/**
 * Where prepare reads bytes from: a component's source, and jco's transpiled output in the cache
 * (transpiled once per component digest and jco version). Every read of bytes that will run goes
 * through this file.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import type { Cache } from '@spinel/cache';
import type { LockedComponent } from '@spinel/manifest';
import { ComponentLoadError } from '../errors.js';
import { patchGlueDebugLog } from './glue-debug-log-patch.js';
import { patchGlueSyncCalls } from './glue-sync-call-patch.js';

const debug = debuglog('spinel:runtime');

/** jco's glue module in a transpile directory (.mjs so Node loads it as ESM wherever the cache lives). */
const GLUE_FILE = 'component.mjs';

/** What jco's transpiler reports about a component. */
export interface TranspileMeta {
  imports: string[];
  exports: Array<[string, string]>;
}

/** A transpiled component read back from the cache. */
export interface Transpiled {
  /** The transpile cache key (names the component digest and jco version). */
  key: string;
  /** jco's glue module, the verified text. */
  glue: string;
  /** URL of the glue module for workers: a `data:` URL holding {@link Transpiled.glue}. */
  glueUrl: string;
  meta: TranspileMeta;
  /** Core module bytes by the file name the glue asks for, in name order. */
  modules: Array<[name: string, bytes: Uint8Array]>;
}

let jcoVersionMemo: string | undefined;
/** The installed jco version; part of the derived-cache key so an upgrade transpiles again. */
export async function jcoVersion(): Promise<string> {
  if (jcoVersionMemo === undefined) {
    const require = createRequire(import.meta.url);
    const apiPath = require.resolve('@bytecodealliance/jco');
    // dist/api.js → package root
    const pkg = JSON.parse(await readFile(join(apiPath, '..', '..', 'package.json'), 'utf8')) as { version: string };
    jcoVersionMemo = pkg.version;
  }
  return jcoVersionMemo;
}

/** Largest component source read at start unless told otherwise (as `lockApp`'s default). */
export const DEFAULT_MAX_SOURCE_BYTES = 512 * 1024 * 1024;

/** Options of {@link readComponentSource}. */
export interface ReadSourceOptions {
  /**
   * The cache the app's blobs live in: a source that is one of its blobs is checked against the
   * blob's digest even when the locked app names none, opened without following links, and
   * removed when it does not match (so pulling or locking again fetches it).
   */
  cache?: Cache | undefined;
  /** Largest source read, checked before reading. @default 536870912 (512 MiB) */
  maxSourceBytes?: number | undefined;
}

/** A component's bytes as read, with their sha256 (hex). */
export interface SourceBytes {
  bytes: Uint8Array;
  sha256: string;
}

/**
 * Reads a locked component's Wasm (file: URL or inline): a regular file of at most
 * `maxSourceBytes`, hashed while read, and compared with the digest the locked app records (or,
 * for a cache blob, the digest it is stored under). The bytes returned are the bytes checked.
 * @throws ComponentLoadError RUNTIME_COMPONENT_SOURCE (missing, not a regular file, too large), RUNTIME_COMPONENT_INTEGRITY (the content does not match its digest)
 */
export async function readComponentSource(component: LockedComponent, options: ReadSourceOptions = {}): Promise<Uint8Array> {
  return (await readSourceHashed(component, options)).bytes;
}

/** {@link readComponentSource}, also giving the sha256 computed while reading. */
export async function readSourceHashed(component: LockedComponent, options: ReadSourceOptions = {}): Promise<SourceBytes> {
  const { source, id } = component;
  if (source.inline !== undefined) {
    const sha256 = createHash('sha256').update(source.inline).digest('hex');
    if (source.digest !== undefined && source.digest !== `sha256:${sha256}`) throw mismatch(id, 'its inline bytes', source.digest, sha256, false);
    return { bytes: source.inline, sha256 };
  }
  if (source.source === undefined || !source.source.startsWith('file:')) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `Component "${id}" has no local source (${source.source ?? 'none'}). Pull or lock the app so its Wasm is on disk.`, { componentId: id });
  }
  const path = fileURLToPath(source.source);
  const blobDigest = options.cache?.blobDigestAt(path);
  const expected = source.digest ?? blobDigest;
  if (expected !== undefined && !expected.startsWith('sha256:')) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `Component "${id}" names its Wasm by digest ${expected}, which this host cannot check (only sha256 digests are). Lock or push the app again with spin or spinel.`, { componentId: id });
  }
  const max = options.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES;
  const removeBlob = async (): Promise<boolean> => (blobDigest === undefined ? false : ((await options.cache?.remove(blobDigest).catch(() => false)) ?? false));
  let handle: FileHandle;
  try {
    // Non-blocking so a FIFO cannot stall the start; a cache blob is never a link, so one that is
    // (swapped in to point elsewhere) fails to open.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (blobDigest === undefined ? 0 : constants.O_NOFOLLOW));
  } catch (cause) {
    if (blobDigest !== undefined && (cause as NodeJS.ErrnoException).code === 'ELOOP') {
      const removed = await removeBlob();
      throw mismatch(id, `${path} (a symbolic link in place of a cache blob)`, expected ?? blobDigest, undefined, removed);
    }
    throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `Cannot read the Wasm of component "${id}" from ${source.source}. Check that the file exists (build the app first).`, { cause, componentId: id });
  }
  let read: { bytes: Buffer; sha256: string; complete: boolean };
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      if (blobDigest !== undefined) throw mismatch(id, `${path} (not a regular file)`, expected ?? blobDigest, undefined, await removeBlob());
      throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `The Wasm of component "${id}" (${path}) is not a regular file (a device, pipe, socket or directory); point source at a .wasm file.`, { componentId: id });
    }
    if (info.size > max) {
      throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `The Wasm of component "${id}" (${path}) is ${info.size} bytes, more than the limit of ${max} bytes; raise --max-source-size if it is right.`, { componentId: id });
    }
    read = await readAllHashed(handle, info.size);
  } catch (cause) {
    if (cause instanceof ComponentLoadError) throw cause;
    throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `Cannot read the Wasm of component "${id}" from ${source.source}: ${(cause as Error).message}`, { cause, componentId: id });
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (expected !== undefined && (!read.complete || `sha256:${read.sha256}` !== expected)) {
    throw mismatch(id, path, expected, read.complete ? read.sha256 : undefined, await removeBlob());
  }
  if (!read.complete) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `The Wasm of component "${id}" (${path}) changed size while it was read; start again once it is written.`, { componentId: id });
  }
  return { bytes: new Uint8Array(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength), sha256: read.sha256 };
}

function mismatch(id: string, what: string, expected: string, actualHex: string | undefined, removed: boolean): ComponentLoadError {
  const actual = actualHex === undefined ? 'something else' : `sha256:${actualHex}`;
  const next = removed ? 'the cached copy was removed: pull or lock the app again to fetch it' : 'fetch or build it again';
  return new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `The Wasm of component "${id}" from ${what} does not match its digest ${expected} (it is ${actual}); it was not run, ${next}.`, { componentId: id });
}

/** Reads `size` bytes from the start, hashing each chunk as it arrives; `complete` is false when the file ended early. */
async function readAllHashed(handle: FileHandle, size: number): Promise<{ bytes: Buffer; sha256: string; complete: boolean }> {
  const bytes = Buffer.allocUnsafe(size);
  const hash = createHash('sha256');
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(bytes, position, Math.min(1 << 22, size - position), position);
    if (bytesRead === 0) break;
    hash.update(bytes.subarray(position, position + bytesRead));
    position += bytesRead;
  }
  return { bytes: bytes.subarray(0, position), sha256: hash.digest('hex'), complete: position === size };
}

/**
 * jco's glue as prepare keeps it: the debug log reads process.env once instead of on every call
 * (glue-debug-log-patch.ts), and sync host calls from sync guest tasks skip the async ABI's task
 * bookkeeping (glue-sync-call-patch.ts). Glue either patch does not recognise is kept as it is.
 */
export function patchGlue(source: string): string {
  const logged = patchGlueDebugLog(source).source;
  const sync = patchGlueSyncCalls(logged);
  if (!sync.ok) debug('glue kept without the sync-call patch: %s', sync.reason);
  else if (Object.keys(sync.skipped).length > 0) debug('sync-call patch left %d imports on jco\'s path: %o', Object.keys(sync.skipped).length, sync.skipped);
  return sync.ok ? sync.source : logged;
}

async function transpileToDir(bytes: Uint8Array, dir: string): Promise<void> {
  const { transpile } = await import('@bytecodealliance/jco');
  const out = await transpile(bytes, {
    name: 'component',
    instantiation: 'sync',
    noTypescript: true,
    quiet: true,
    base64Cutoff: 0,
  });
  for (const [name, data] of Object.entries(out.files)) {
    if (name.includes('/')) continue;
    const target = name === 'component.js' ? GLUE_FILE : name;
    await writeFile(join(dir, target), name === 'component.js' ? patchGlue(new TextDecoder().decode(data)) : data);
  }
  const meta: TranspileMeta = { imports: out.imports, exports: out.exports };
  await writeFile(join(dir, 'meta.json'), JSON.stringify(meta));
}

/** The files of a transpile directory prepare reads (its `.d.ts` is checked but not kept). */
const keepTranspiled = (path: string): boolean => !path.includes('/') && (path.endsWith('.wasm') || path === 'meta.json' || path === GLUE_FILE);

/** The derived-cache key of a component's transpiled form, by its sha256 (hex). */
export async function transpileCacheKey(sha256: string): Promise<string> {
  // `-gN`: the glue's patches (patchGlue above); an entry of an older N holds glue patched less.
  // g1: debug log; g2: sync calls; g3: their host functions called without the task mark.
  return `jco-transpile-${await jcoVersion()}-g3-${sha256}`;
}

/**
 * Transpiles a component once per (digest, jco version) and reads the output back; later starts
 * only read. Every file is read through the cache's verification record (`Cache.readDerived`):
 * an entry changed on disk is removed and transpiled again, and the glue is handed to workers as
 * the verified text itself (a `data:` URL), so nothing read later from the cache can replace it.
 * @throws ComponentLoadError RUNTIME_COMPONENT_INTEGRITY when even a fresh transpile does not read back intact
 */
export async function loadTranspiled(bytes: Uint8Array, cache: Cache, sha256 = createHash('sha256').update(bytes).digest('hex')): Promise<Transpiled> {
  const key = await transpileCacheKey(sha256);
  let content = await cache.readDerived(key, { keep: keepTranspiled });
  if (content === undefined) {
    debug('transpiling component %s', sha256);
    await cache.putDerived(key, (tmp) => transpileToDir(bytes, tmp));
    content = await cache.readDerived(key, { keep: keepTranspiled });
  }
  const glue = content?.files.get(GLUE_FILE);
  const metaBytes = content?.files.get('meta.json');
  if (content === undefined || glue === undefined || metaBytes === undefined) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `The transpiled form of component ${sha256} in the cache (${cache.derivedPath(key)}) changed while it was read back; it was not run. Check what else writes to the cache directory and start again.`);
  }
  const meta = JSON.parse(metaBytes.toString('utf8')) as TranspileMeta;
  const modules: Transpiled['modules'] = [...content.files]
    .filter(([name]) => name.endsWith('.wasm'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, data]) => [name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
  const text = glue.toString('utf8');
  return { key, glue: text, glueUrl: glueDataUrl(text), meta, modules };
}

/** A module URL holding `source` itself: what a worker imports is exactly the text that was checked. */
export function glueDataUrl(source: string): string {
  return `data:text/javascript;base64,${Buffer.from(source, 'utf8').toString('base64')}`;
}
