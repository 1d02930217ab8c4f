/**
 * Glob helpers for `files` and `exclude_files`: walking the app directory for a pattern
 * (picomatch, dot files included, like Rust's glob crate defaults) and Spin's
 * `exclude_files` matching, where `*` also crosses `/` (glob crate `matches_path`).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';

/** True when the text has glob metacharacters (`*`, `?`, `[`). */
export function looksLikeGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** Lists files (not directories) under `root` whose root-relative POSIX path matches `pattern`. */
export async function globFiles(root: string, pattern: string): Promise<string[]> {
  const clean = pattern.replace(/^\.\//, '');
  const segs = clean.split('/');
  const fixed: string[] = [];
  for (const s of segs) {
    if (looksLikeGlob(s)) break;
    fixed.push(s);
  }
  const isMatch = picomatch(clean, { dot: true });
  const out: string[] = [];
  const start = fixed.length === segs.length ? fixed.slice(0, -1) : fixed;
  const startDir = join(root, ...start);
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const full = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const s = await stat(full).catch(() => undefined);
        isDir = s?.isDirectory() ?? false;
        isFile = s?.isFile() ?? false;
      }
      if (isDir) await walk(full, r);
      else if (isFile && isMatch(r)) out.push(r);
    }
  };
  await walk(startDir, start.join('/'));
  return out;
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
