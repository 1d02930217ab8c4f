import { SpinelCommand } from '../../base-command.js';
import { cacheFlags, cacheRootFrom } from './shared.js';

/** `spinel cache dir`: where the cache is. */
export class CacheDir extends SpinelCommand {
  static override summary = 'Print the cache directory.';
  static override description =
    'The cache root is --cache-dir, else $SPINEL_CACHE_DIR, else the platform cache directory ($XDG_CACHE_HOME/spinel or ~/.cache/spinel on Linux, ~/Library/Caches/spinel on macOS, %LOCALAPPDATA%\\spinel on Windows). Blobs and manifests are under <root>/registry in the same layout as Spin, so --cache-dir can point at a Spin cache.';
  static override examples = ['<%= config.bin %> cache dir', 'rm -rf "$(<%= config.bin %> cache dir)"'];

  static override flags = { ...cacheFlags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CacheDir);
    const root = await cacheRootFrom(flags['cache-dir']);
    if (!this.jsonEnabled()) process.stdout.write(`${root}\n`);
    return { root };
  }
}
