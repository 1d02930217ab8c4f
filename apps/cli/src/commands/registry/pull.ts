import { Args } from '@oclif/core';
import { cacheDirFlag, SpinelCommand } from '../../base-command.js';
import { cacheRoot, insecureFlag, openTargetFromFlags, quietFlag } from './app-flags.js';
import { createProgressDisplay } from './progress-display.js';

/** What `registry pull --json` prints. */
export interface PullJson {
  reference: string;
  digest: string;
  totalSize: number;
  downloadedSize: number;
  blobs: { digest: string; mediaType: string; size: number; outcome: string }[];
}

export class RegistryPull extends SpinelCommand {
  static override summary = 'Pull a Spin app into the cache.';
  static override description =
    'Fetches the manifest and every blob the cache lacks, each verified while it streams, into Spin\'s cache layout (<cache>/registry/{manifests,wasm,data}). Run it with `spinel registry run` or `spinel up -f`.';
  static override aliases = ['oci:pull'];
  static override examples = ['<%= config.bin %> registry pull ghcr.io/me/app:1.0', '<%= config.bin %> registry pull --cache-dir ./cache oci-layout:./out:v1'];

  static override args = {
    reference: Args.string({ required: true, description: 'What to pull: registry/repository[:tag|@digest], or oci-layout:<dir>[:tag].' }),
  };

  static override flags = {
    insecure: insecureFlag,
    'cache-dir': cacheDirFlag,
    quiet: quietFlag,
  };

  async run(): Promise<PullJson> {
    const { args, flags } = await this.parse(RegistryPull);
    const [oci, { openCache }] = await Promise.all([import('@spinel/oci'), import('@spinel/cache')]);
    const cache = openCache({ root: await cacheRoot(flags['cache-dir']) });
    const opened = await openTargetFromFlags(args.reference, flags.insecure, 'pull');
    try {
      const progress = this.jsonEnabled() || flags.quiet ? undefined : createProgressDisplay({ verb: 'pull', stream: process.stderr });
      const pulled = await oci.pullArtifact({
        target: opened.target,
        reference: opened.reference,
        store: cache,
        ...(opened.spinCacheLocation === undefined ? {} : { spinCacheLocation: opened.spinCacheLocation }),
        ...(progress === undefined ? {} : { onProgress: progress.onProgress }),
      });
      progress?.finish();
      if (flags.quiet) {
        this.log(pulled.digest);
      } else {
        this.log('Successfully pulled the app from the registry');
        this.log(`Digest: ${pulled.digest}`);
      }
      return {
        reference: opened.display,
        digest: pulled.digest,
        totalSize: pulled.totalSize,
        downloadedSize: pulled.downloadedSize,
        blobs: pulled.blobs.map((blob) => ({ digest: blob.descriptor.digest, mediaType: blob.descriptor.mediaType, size: blob.descriptor.size, outcome: blob.outcome })),
      };
    } finally {
      await opened.close();
    }
  }
}
