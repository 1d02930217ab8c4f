/**
 * Filesystem edge: find `spin.toml` (upwards from a directory, like Spin), read it, and
 * lock it. The core functions (`parseManifest`, `lockApp`) never touch `process.cwd()`.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ManifestError } from './errors.js';
import type { LockedApp } from './locked-app.js';
import { lockApp } from './lock-app.js';
import type { LockAppOptions } from './lock-app.js';
import type { ParsedManifest } from './manifest-model.js';
import { parseManifest } from './parse-manifest.js';

/** The default manifest file name. */
export const DEFAULT_MANIFEST_FILE = 'spin.toml';

/** Options for {@link findManifest}. */
export interface FindManifestOptions {
  /** Directory to start from (the CLI passes the process's cwd). */
  readonly cwd: string;
  /** A manifest file or a directory containing `spin.toml`; when absent, search upwards from `cwd`. */
  readonly fileOrDir?: string;
}

/**
 * Resolves which manifest to use: an explicit file, `<dir>/spin.toml`, or the first
 * `spin.toml` in `cwd` or one of its parents.
 *
 * @throws {ManifestError} `MANIFEST_NOT_FOUND`
 */
export async function findManifest(options: FindManifestOptions): Promise<string> {
  if (options.fileOrDir !== undefined) {
    const p = resolve(options.cwd, options.fileOrDir);
    const s = await stat(p).catch(() => undefined);
    if (s === undefined) throw new ManifestError('MANIFEST_NOT_FOUND', `No such file or directory '${options.fileOrDir}'; pass the path of a spin.toml or of the directory containing it.`, { path: p });
    if (s.isFile()) return p;
    if (s.isDirectory()) {
      const inDir = join(p, DEFAULT_MANIFEST_FILE);
      if ((await stat(inDir).catch(() => undefined))?.isFile() === true) return inDir;
      throw new ManifestError('MANIFEST_NOT_FOUND', `Directory '${options.fileOrDir}' does not contain a ${DEFAULT_MANIFEST_FILE}; pass the manifest file itself.`, { path: inDir });
    }
    throw new ManifestError('MANIFEST_NOT_FOUND', `Path ${options.fileOrDir} is neither a file nor a directory`, { path: p });
  }
  let dir = resolve(options.cwd);
  for (;;) {
    const candidate = join(dir, DEFAULT_MANIFEST_FILE);
    if ((await stat(candidate).catch(() => undefined))?.isFile() === true) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new ManifestError(
    'MANIFEST_NOT_FOUND',
    `Default file '${DEFAULT_MANIFEST_FILE}' not found in ${options.cwd} or any parent directory. Run the command in your app's directory, or pass -f <manifest or directory>.`,
  );
}

/**
 * Reads and parses a manifest file.
 *
 * @throws {ManifestError} `MANIFEST_READ_FAILED`
 * @throws {ManifestAggregateError} `MANIFEST_INVALID` (see {@link parseManifest})
 */
export async function readManifest(path: string): Promise<ParsedManifest> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ManifestError('MANIFEST_READ_FAILED', `Failed to read Spin app manifest from "${path}": ${(err as Error).message}`, { path, cause: err });
  }
  return parseManifest(bytes, { path });
}

/** Options for {@link lockManifestFile}: {@link LockAppOptions} with `appDir` defaulting to the manifest's directory. */
export type LockManifestFileOptions = Omit<LockAppOptions, 'appDir'> & { readonly appDir?: string };

/**
 * Reads, validates and locks a manifest file.
 *
 * @throws {ManifestError} `MANIFEST_READ_FAILED`
 * @throws {ManifestAggregateError} `MANIFEST_INVALID`
 */
export async function lockManifestFile(path: string, options: LockManifestFileOptions = {}): Promise<LockedApp> {
  const parsed = await readManifest(path);
  return lockApp(parsed, { ...options, appDir: options.appDir ?? dirname(resolve(path)) });
}
