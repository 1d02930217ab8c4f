import { SpinelCommand } from '../../base-command.js';
import { cacheFlags, formatBytes, openCommandCache, plural } from './shared.js';

/** `spinel cache clean`: empty the cache. */
export class CacheClean extends SpinelCommand {
  static override summary = 'Remove everything from the cache.';
  static override description =
    'Deletes <root>/registry (blobs and pulled manifests) and <root>/derived (prepared components). Everything is fetched or prepared again when next needed. Other files under the root are left alone.';
  static override examples = ['<%= config.bin %> cache clean', '<%= config.bin %> cache clean --cache-dir ~/.cache/spin'];

  static override flags = { ...cacheFlags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CacheClean);
    const cache = await openCommandCache(flags['cache-dir']);
    const report = await cache.clean();
    if (!this.jsonEnabled()) {
      process.stdout.write(`Removed ${plural(report.entries, 'entry', 'entries')} (${formatBytes(report.freedBytes)}) from ${report.root}.\n`);
    }
    return report;
  }
}
