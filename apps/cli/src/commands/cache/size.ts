import { SpinelCommand } from '../../base-command.js';
import { cacheFlags, formatBytes, openCommandCache, plural } from './shared.js';

/** `spinel cache size`: how much room the cache takes. */
export class CacheSize extends SpinelCommand {
  static override summary = 'Show how much disk the cache uses.';
  static override description = 'Total bytes and entries, split by kind. Temporary files are counted too (an interrupted download leaves one; `spinel cache prune` removes them).';
  static override examples = ['<%= config.bin %> cache size', '<%= config.bin %> cache size --json'];

  static override flags = { ...cacheFlags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CacheSize);
    const cache = await openCommandCache(flags['cache-dir']);
    const size = await cache.size();
    if (!this.jsonEnabled()) {
      process.stdout.write(`${formatBytes(size.totalBytes)} in ${plural(size.entries, 'entry', 'entries')} (${cache.root})\n`);
      for (const [kind, { count, bytes }] of Object.entries(size.byKind)) {
        if (count > 0) process.stdout.write(`  ${kind.padEnd(9)}${formatBytes(bytes).padStart(11)}  ${count}\n`);
      }
    }
    return size;
  }
}
