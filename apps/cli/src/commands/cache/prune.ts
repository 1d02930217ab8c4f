import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { cacheFlags, formatBytes, openCommandCache, plural } from './shared.js';

/** `spinel cache prune`: make room. */
export class CachePrune extends SpinelCommand {
  static override summary = 'Remove unused cache entries by age and by a total size budget.';
  static override description =
    'Always removes temporary files abandoned by interrupted writes. --older-than removes entries not used for that long; --max-size then removes the least recently used entries until the cache fits. Reading an entry counts as using it.';
  static override examples = [
    '<%= config.bin %> cache prune',
    '<%= config.bin %> cache prune --older-than 30d',
    '<%= config.bin %> cache prune --max-size 2G',
    '<%= config.bin %> cache prune --older-than 12h --max-size 500M --dry-run',
  ];

  static override flags = {
    ...cacheFlags,
    'max-size': Flags.string({ description: 'Keep the cache under this size, e.g. 500M, 2G, 10GB (K/M/G are powers of 1024, KB/MB/GB of 1000).' }),
    'older-than': Flags.string({ description: 'Remove entries not used for this long, e.g. 12h, 7d, 2w.' }),
    'dry-run': Flags.boolean({ description: 'Show what would be removed without removing it.', default: false }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CachePrune);
    const { parseDuration, parseSize } = await import('@spinel/cache');
    const maxSizeBytes = flags['max-size'] === undefined ? undefined : parseSize(flags['max-size']);
    const olderThanMs = flags['older-than'] === undefined ? undefined : parseDuration(flags['older-than']);
    const cache = await openCommandCache(flags['cache-dir']);
    const report = await cache.prune({
      dryRun: flags['dry-run'],
      ...(maxSizeBytes === undefined ? {} : { maxSizeBytes }),
      ...(olderThanMs === undefined ? {} : { olderThanMs }),
    });
    if (!this.jsonEnabled()) {
      const verb = flags['dry-run'] ? 'Would remove' : 'Removed';
      for (const entry of report.removed) process.stdout.write(`${verb.toLowerCase()} ${entry.kind} ${entry.name} (${formatBytes(entry.size)})\n`);
      process.stdout.write(
        `${verb} ${plural(report.removed.length, 'entry', 'entries')} and ${plural(report.removedTemps.length, 'temporary file')}, ` +
          `${formatBytes(report.freedBytes)}; ${formatBytes(report.remainingBytes)} ${flags['dry-run'] ? 'would remain' : 'remain'}.\n`,
      );
    }
    return {
      root: cache.root,
      dryRun: flags['dry-run'],
      removed: report.removed.map((e) => ({ kind: e.kind, name: e.name, size: e.size, lastUsed: new Date(e.mtimeMs).toISOString() })),
      removedTemporaryFiles: report.removedTemps.length,
      freedBytes: report.freedBytes,
      remainingBytes: report.remainingBytes,
    };
  }
}
