import { SpinelCommand } from '../../base-command.js';
import { cacheFlags, formatBytes, openCommandCache } from './shared.js';

/** `spinel cache list`: every entry. */
export class CacheList extends SpinelCommand {
  static override summary = 'List what the cache holds.';
  static override description =
    'One line per entry: kind (wasm, data, manifest, derived, other), size, when it was last used, and its digest, reference or key. Most recently used first.';
  static override examples = ['<%= config.bin %> cache list', '<%= config.bin %> cache list --json'];

  static override flags = { ...cacheFlags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CacheList);
    const cache = await openCommandCache(flags['cache-dir']);
    const entries = (await cache.list()).sort((a, b) => b.mtimeMs - a.mtimeMs || a.name.localeCompare(b.name));
    if (!this.jsonEnabled()) {
      if (entries.length === 0) process.stderr.write(`The cache at ${cache.root} is empty.\n`);
      for (const entry of entries) {
        const used = new Date(entry.mtimeMs).toISOString().slice(0, 19).replace('T', ' ');
        process.stdout.write(`${entry.kind.padEnd(9)}${formatBytes(entry.size).padStart(11)}  ${used}  ${entry.name}\n`);
      }
    }
    return {
      root: cache.root,
      entries: entries.map((e) => ({ kind: e.kind, name: e.name, path: e.path, size: e.size, lastUsed: new Date(e.mtimeMs).toISOString() })),
    };
  }
}
