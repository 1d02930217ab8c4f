/**
 * The one path-confinement rule of every guest filesystem (the WASI 0.2 host and WAGI's
 * preview1): a guest path is resolved inside a mount's real root, and nothing outside the root is
 * ever reached, whether by an absolute path, `..`, or a symbolic link at any depth.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Why a path was refused: `absolute` and `escape` leave the mount; `errno` is the file system's answer (`ENOENT`…). */
export type ConfineFailure = { reason: 'invalid' } | { reason: 'absolute' } | { reason: 'escape' } | { reason: 'errno'; code: string };

/** A path inside the mount: the host path to use and its segments below the root. */
export interface Confined {
  host: string;
  rel: string[];
}

/** Whether `p` is `root` or below it (both real paths). */
export function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** `p`'s segments below `root`. */
export function segmentsBelow(root: string, p: string): string[] {
  const r = relative(root, p);
  return r === '' ? [] : r.split(sep);
}

/**
 * Resolves the guest path `path`, relative to the directory `base` (segments below `root`), inside
 * `root` (a real path). `..` never climbs above the root; every directory on the way must resolve
 * inside it; the last segment, when a symbolic link, is followed only with `followLeaf` and only
 * when its target is inside too (otherwise the link itself is the result).
 */
export function confinePath(root: string, base: readonly string[], path: string, followLeaf: boolean): Confined | ConfineFailure {
  if (path.includes('\0')) return { reason: 'invalid' };
  if (path.startsWith('/')) return { reason: 'absolute' };
  const rel = [...base];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (rel.length === 0) return { reason: 'escape' };
      rel.pop();
    } else rel.push(part);
  }
  const leafName = rel.at(-1);
  const parent = rel.length === 0 ? root : join(root, ...rel.slice(0, -1));
  let realParent: string;
  try {
    realParent = realpathSync(parent);
  } catch (err) {
    return { reason: 'errno', code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  if (!within(root, realParent)) return { reason: 'escape' };
  if (leafName === undefined) return { host: realParent, rel: [] };
  const leaf = join(realParent, leafName);
  let isLink: boolean;
  try {
    isLink = lstatSync(leaf).isSymbolicLink();
  } catch (err) {
    return { reason: 'errno', code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  if (!isLink || !followLeaf) return { host: leaf, rel: segmentsBelow(root, leaf) };
  let real: string;
  try {
    real = realpathSync(leaf);
  } catch (err) {
    return { reason: 'errno', code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  if (!within(root, real)) return { reason: 'escape' };
  return { host: real, rel: segmentsBelow(root, real) };
}
