import { lstat, opendir, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative as relativePath, sep } from 'node:path';
import { AppFileRefusedError } from '../errors.js';

// How Spin enumerates a component's files when it pushes (`crates/oci/src/client.rs`):
// the files list and the data layers follow walkdir (depth first, each directory in the
// order the file system lists it, regular files only, links not followed); archive layers
// follow tar-rs `append_dir_all` (a stack: the directory entry, then its children in
// reverse listing order). Listing order is the file system's, unsorted, so the same
// directory gives Spin's order and digests. Links are skipped: a link could reach outside
// the app, and Spin's walk never yields one. A link that resolves outside the directory is
// refused rather than skipped, so the user learns that what it points to is not pushed (and
// that something in the app tried to reach out).

/** Names in a directory in the order the file system returns them (no sorting). */
async function listRaw(dir: string): Promise<{ name: string; kind: 'file' | 'directory' | 'other' }[]> {
  const out: { name: string; kind: 'file' | 'directory' | 'other' }[] = [];
  for await (const entry of await opendir(dir)) {
    out.push({ name: entry.name, kind: entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : 'other' });
  }
  return out;
}

/**
 * Regular files under `root`, relative with `/`, in walkdir's order.
 * @throws AppFileRefusedError `OCI_APP_LINK_OUTSIDE` for a link resolving outside `root`.
 */
export async function walkFiles(root: string, prefix = '', realRoot?: string): Promise<string[]> {
  const boundary = realRoot ?? (await realpath(root));
  const out: string[] = [];
  for (const entry of await listRaw(prefix === '' ? root : join(root, prefix))) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.kind === 'file') out.push(relative);
    else if (entry.kind === 'directory') out.push(...(await walkFiles(root, relative, boundary)));
    else await refuseOutsideLink(join(root, relative), relative, boundary);
  }
  return out;
}

async function refuseOutsideLink(full: string, relative: string, boundary: string): Promise<void> {
  if ((await lstat(full).catch(() => undefined))?.isSymbolicLink() !== true) return;
  const resolved = await realpath(full).catch(() => undefined);
  if (resolved === undefined) return; // dangling: names nothing
  const rel = relativePath(boundary, resolved);
  if (rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))) return;
  const target = await readlink(full).catch(() => '?');
  throw new AppFileRefusedError(
    'OCI_APP_LINK_OUTSIDE',
    `'${relative}' in ${root(full, relative)} is a symbolic link to '${target}' (resolving to ${resolved}), outside the files directory; replace the link with a copy of what it points to, or remove it.`,
  );
}

function root(full: string, relative: string): string {
  return full.slice(0, full.length - relative.length - 1);
}

/** Directories and regular files under `root` in tar-rs `append_dir_all(".", root)` order; the root is `.`. */
export async function archiveOrder(root: string): Promise<{ type: 'directory' | 'file'; path: string }[]> {
  const out: { type: 'directory' | 'file'; path: string }[] = [];
  const stack: { path: string; type: 'directory' | 'file' }[] = [{ path: '', type: 'directory' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.type === 'file') {
      out.push(item);
      continue;
    }
    for (const entry of await listRaw(item.path === '' ? root : join(root, item.path))) {
      if (entry.kind === 'other') continue;
      stack.push({ path: item.path === '' ? entry.name : `${item.path}/${entry.name}`, type: entry.kind });
    }
    out.push({ type: 'directory', path: item.path === '' ? '.' : item.path });
  }
  return out;
}
