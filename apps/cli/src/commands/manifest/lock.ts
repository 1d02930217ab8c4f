import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { cacheDirFlag, SpinelCommand } from '../../base-command.js';
import { sourceResolvers } from '../../source-resolvers.js';
import { maxFileSizeFlag, maxSourceSizeFlag, sizeLimits } from '../../size-limit-flags.js';
import { formatWarning, fromFlag, profileFlag } from './shared-flags.js';

/** `spinel lock`: the locked app `spinel up` would run, as Spin's JSON. */
export class Lock extends SpinelCommand {
  static override summary = 'Print the locked app (spin.lock JSON) for a manifest.';
  static override description =
    'Reads and validates spin.toml (v1 or v2), resolves component sources (URL sources are downloaded into the cache and checked against their digest) and copies files into <temp>/assets/<component>, then prints the locked app exactly as Spin writes it.';
  static override examples = [
    '<%= config.bin %> lock',
    '<%= config.bin %> lock -f ./my-app --temp ./.spinel -o spin.lock',
    '<%= config.bin %> lock --direct-mounts',
  ];

  static override flags = {
    from: fromFlag,
    temp: Flags.directory({ description: 'Working directory for copied files (assets/<component-id>). Default: a new temporary directory.' }),
    'direct-mounts': Flags.boolean({ description: 'Mount `files` directories directly instead of copying them.', default: false }),
    'cache-dir': cacheDirFlag,
    output: Flags.file({ char: 'o', description: 'Write the locked app to this file instead of standard output.' }),
    profile: profileFlag,
    'max-source-size': maxSourceSizeFlag,
    'max-file-size': maxFileSizeFlag,
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Lock);
    const manifest = await import('@spinel/manifest');
    const cwd = process.cwd();
    const path = await manifest.findManifest({ cwd, ...(flags.from === undefined ? {} : { fileOrDir: flags.from }) });
    const parsed = await manifest.readManifest(path);
    for (const w of parsed.warnings) process.stderr.write(`${formatWarning(path, w)}\n`);
    // A temporary directory is made only when there are files to copy into it.
    const needsCopies =
      !flags['direct-mounts'] && Object.values(manifest.normalizeManifest(parsed.manifest, flags.profile).manifest.components).some((c) => c.files.length > 0);
    const workingDir =
      flags.temp !== undefined ? resolve(cwd, flags.temp) : needsCopies ? await mkdtemp(join(tmpdir(), 'spinel-lock-')) : undefined;
    const { resolver, registryResolver } = sourceResolvers(flags['cache-dir'], false);
    const locked = await manifest.lockApp(parsed, {
      appDir: resolve(path, '..'),
      ...(workingDir === undefined ? {} : { workingDir }),
      directMounts: flags['direct-mounts'],
      resolver,
      registryResolver,
      ...(flags.profile === undefined ? {} : { profile: flags.profile }),
      ...(await sizeLimits(flags)),
    });
    const json = manifest.serializeLockedApp(locked);
    if (flags.output !== undefined) {
      await writeFile(resolve(cwd, flags.output), json);
      if (!this.jsonEnabled()) process.stderr.write(`Wrote the locked app to ${flags.output}\n`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(`${json}\n`);
    }
    return manifest.lockedAppToJson(locked);
  }
}
