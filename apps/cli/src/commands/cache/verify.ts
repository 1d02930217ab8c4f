import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { cacheFlags, openCommandCache } from './shared.js';

/** `spinel cache verify`: hash everything, drop what is corrupt. */
export class CacheVerify extends SpinelCommand {
  static override summary = 'Check every cached blob against its digest and remove corrupt entries.';
  static override description =
    'Hashes each blob under registry/wasm and registry/data and compares it with its name; checks that each manifest.json and config.json is JSON. Corrupt entries are listed and removed, so the next pull or `spinel up` fetches them again. With --dry-run nothing is removed and the exit status is 1 when something is corrupt.';
  static override examples = ['<%= config.bin %> cache verify', '<%= config.bin %> cache verify --dry-run --json'];

  static override flags = {
    ...cacheFlags,
    'dry-run': Flags.boolean({ description: 'Report corrupt entries without removing them (exit status 1 if any).', default: false }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CacheVerify);
    const cache = await openCommandCache(flags['cache-dir']);
    const report = await cache.verify({ remove: !flags['dry-run'] });
    if (!this.jsonEnabled()) {
      for (const entry of report.corrupt) {
        process.stdout.write(`corrupt ${entry.kind} ${entry.name}: ${entry.problem}${entry.removed ? ' (removed)' : ''}\n`);
      }
      process.stdout.write(`Checked ${report.checked} entries: ${report.corrupt.length === 0 ? 'all intact' : `${report.corrupt.length} corrupt`}.\n`);
    }
    if (flags['dry-run'] && report.corrupt.length > 0) process.exitCode = 1;
    return { root: cache.root, ...report };
  }
}
