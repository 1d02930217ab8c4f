/**
 * Glob helpers for `files` and `exclude_files`: walking the app directory for a pattern
 * (picomatch, dot files included, like Rust's glob crate defaults; links followed only while
 * they stay inside the app) and Spin's
 * `exclude_files` matching, where `*` also crosses `/` (glob crate `matches_path`).
 */
import type { Stats } from 'node:fs';
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { AppRoot, escapingLinkMessage } from './app-root.js';
import { refuseStats } from './checked-file.js';
import type { CheckedFile, FileRefusal } from './checked-file.js';

/** True when the text has glob metacharacters (`*`, `?`, `[`). */
export function looksLikeGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** A file found by {@link walkGlob}: its app-relative path as written and its checked identity. */
export interface GlobFile extends CheckedFile {
  /** Root-relative POSIX path, through any links (what the guest sees). */
  readonly rel: string;
}

/** What {@link walkGlob} found and refused. */
export interface GlobResult {
  readonly files: GlobFile[];
  readonly refusals: FileRefusal[];
}

/** Options of {@link walkGlob}. */
export interface WalkGlobOptions {
  /** Paths (root-relative) the caller will not use; they are neither checked nor listed. */
  readonly excluded?: (rel: string) => boolean;
  /** Largest file accepted. @default no limit */
  readonly maxBytes?: number;
  /** Option name given in the too-large message. */
  readonly limitName?: string;
}

/**
 * Lists the regular files under the app root whose root-relative POSIX path matches
 * `pattern`, following links that stay inside the root. A link that resolves outside it, or a
 * device, FIFO or socket, is refused when the pattern could use it (a matching file, or a
 * directory the pattern could match something under); a link cycle is walked once.
 */
export async function walkGlob(app: AppRoot, pattern: string, options: WalkGlobOptions = {}): Promise<GlobResult> {
  const clean = pattern.replace(/^\.\//, '');
  const segs = clean.split('/');
  const fixed: string[] = [];
  for (const s of segs) {
    if (looksLikeGlob(s)) break;
    fixed.push(s);
  }
  const isMatch = picomatch(clean, { dot: true });
  const mayContain = containsMatcher(clean, segs);
  const excluded = options.excluded ?? (() => false);
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const limitName = options.limitName ?? 'maxFileBytes';
  const files: GlobFile[] = [];
  const refusals: FileRefusal[] = [];
  const refused = new Set<string>();
  const refuseLink = async (rel: string, full: string, resolved: string): Promise<void> => {
    if (refused.has(rel)) return;
    refused.add(rel);
    const target = await readlink(full).catch(() => '?');
    refusals.push({ code: 'MANIFEST_FILES_LINK_OUTSIDE_APP', message: escapingLinkMessage({ link: rel, target, resolved }) });
  };
  const start = fixed.length === segs.length ? fixed.slice(0, -1) : fixed;
  const startAbs = join(app.dir, ...start);
  const startReal = await realpath(startAbs).catch(() => undefined);
  if (startReal === undefined) return { files, refusals };
  if (!app.contains(startReal)) {
    const escape = await app.escapingLink(startAbs);
    if (escape !== undefined) await refuseLink(escape.link, join(app.dir, escape.link), escape.resolved);
    return { files, refusals };
  }
  const walk = async (dirReal: string, rel: string, ancestors: ReadonlySet<string>): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dirReal, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const full = join(dirReal, e.name);
      let real = full;
      if (e.isSymbolicLink()) {
        const resolved = await realpath(full).catch(() => undefined);
        if (resolved === undefined) continue; // a dangling link names nothing to copy
        real = resolved;
      }
      let info;
      if (e.isDirectory()) info = undefined;
      else {
        info = await stat(real).catch(() => undefined);
        if (info === undefined) continue;
      }
      const isDir = info === undefined || info.isDirectory();
      const wanted = isDir ? mayContain(r) : isMatch(r) && !excluded(r);
      if (!wanted) continue;
      if (!app.contains(real)) {
        // A directory the exclusions cover whole (`dir/**`) is not read, so it is not refused.
        if (!(isDir && excluded(`${r}/`))) await refuseLink(r, full, real);
        continue;
      }
      if (isDir) {
        if (ancestors.has(real)) continue; // a link back up the tree: its files are listed already
        await walk(real, r, new Set([...ancestors, real]));
        continue;
      }
      const refusal = refuseStats(info as Stats, JSON.stringify(r), maxBytes, limitName);
      if (refusal !== undefined) refusals.push(refusal);
      else files.push({ rel: r, real, dev: (info as Stats).dev, ino: (info as Stats).ino, size: (info as Stats).size });
    }
  };
  await walk(startReal, start.join('/'), new Set([startReal]));
  return { files, refusals };
}

/** Lists files under `root` whose root-relative POSIX path matches `pattern` (see {@link walkGlob}). */
export async function globFiles(root: string, pattern: string): Promise<string[]> {
  return (await walkGlob(await AppRoot.open(root), pattern)).files.map((f) => f.rel);
}

/**
 * Whether a directory at a root-relative path could hold a match of the pattern: every
 * segment so far matches its pattern segment and the pattern is deeper (or has `**` on the
 * way). Patterns whose segments cannot be told apart (braces, extglobs) say yes.
 */
function containsMatcher(clean: string, segs: string[]): (relDir: string) => boolean {
  if (/[{(]/.test(clean)) return () => true;
  const matchers = segs.map((s) => (s === '**' ? undefined : picomatch(s, { dot: true })));
  return (relDir) => {
    const parts = relDir.split('/');
    for (const [i, part] of parts.entries()) {
      if (i >= segs.length) return false;
      const m = matchers[i];
      if (m === undefined) return true;
      if (!m(part)) return false;
    }
    return parts.length < segs.length;
  };
}

/** Compiles an `exclude_files` pattern: `*`/`**` match any characters including `/`. */
export function compileExclude(pattern: string): (relPath: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      while (pattern[i + 1] === '*') i++;
      re += '.*';
    } else if (c === '?') re += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        const neg = body.startsWith('!');
        if (neg) body = body.slice(1);
        re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}$`);
  return (p) => rx.test(p);
}
