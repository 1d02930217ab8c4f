/**
 * Writable copies of an app's `files` mounts, for `runApp`'s `allowTransientWrite` (Spin's
 * `spin up --allow-transient-write`). Spin makes guests' mounts writable over the copies its loader
 * already made in the run's working directory (crates/factor-wasi/src/spin.rs with the loader's
 * `FilesMountStrategy::Copy`): every instance of the run shares them, and they go with the run.
 * Here the runtime makes its own copies, so whatever a caller passes (a direct mount of the app's
 * directory, files in a shared cache) a guest's writes never reach it.
 */
import { copyFile, lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LockedApp } from '@spinel/manifest';
import { within } from '../guest/confine-path.js';

/**
 * Copies every directory mounted by a component of `app` into `dir` (one folder per mount) and
 * returns the app with its `files` naming the copies. What is not a local directory is left as it
 * is (loading refuses it as before).
 */
export async function copyMountsForWriting(app: LockedApp, dir: string): Promise<LockedApp> {
  const components = [];
  for (const [c, component] of app.components.entries()) {
    if (component.files === undefined || component.files.length === 0) {
      components.push(component);
      continue;
    }
    const files = [];
    for (const [f, file] of component.files.entries()) {
      const source = file.source?.startsWith('file:') === true ? fileURLToPath(file.source) : undefined;
      if (source === undefined || !(await stat(source).then((s) => s.isDirectory(), () => false))) {
        files.push(file);
        continue;
      }
      const copy = join(dir, String(c), String(f));
      await mkdir(copy, { recursive: true });
      const root = await realpath(source);
      await copyTree(root, root, copy, new Set([root]));
      files.push({ ...file, source: pathToFileURL(copy).href });
    }
    components.push({ ...component, files });
  }
  return { ...app, components };
}

/**
 * Copies `from` (a real directory inside `root`) into `to`, making no links: a link whose target is
 * inside the mount is copied as what it points to (the guest read it so before), one leading out
 * (which the guest could never read) and anything but files and directories are left out. With no
 * links in the copy, a guest's renames cannot turn a relative link into a way out.
 */
async function copyTree(root: string, from: string, to: string, onPath: Set<string>): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    let real = source;
    if (entry.isSymbolicLink()) {
      const resolved = await realpath(source).catch(() => undefined);
      if (resolved === undefined || !within(root, resolved)) continue;
      real = resolved;
    }
    const info = await lstat(real);
    if (info.isFile()) {
      await copyFile(real, target);
    } else if (info.isDirectory() && !onPath.has(real)) {
      // A link back to a directory being copied would repeat forever: it is copied once.
      await mkdir(target);
      onPath.add(real);
      await copyTree(root, real, target, onPath);
      onPath.delete(real);
    }
  }
}
