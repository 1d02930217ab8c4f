import { Args } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';

export class RegistryRun extends SpinelCommand {
  static override summary = 'Run a Spin app from a registry (same as `spinel up -f REFERENCE`).';
  static override description = 'Every flag after the reference is passed to `spinel up`.';
  static override aliases = ['oci:run'];
  static override strict = false;
  static override enableJsonFlag = false;
  static override examples = ['<%= config.bin %> registry run ghcr.io/me/app:1.0 --listen 127.0.0.1:3001'];

  static override args = {
    reference: Args.string({ required: true, description: 'The app: registry/repository[:tag|@digest], or oci-layout:<dir>[:tag].' }),
  };

  async run(): Promise<unknown> {
    const { args, argv } = await this.parse(RegistryRun);
    const rest = (argv as string[]).slice(1);
    if (this.config.findCommand('up') === undefined) {
      throw Object.assign(new Error('`spinel up` is not available in this build, so registry apps cannot be run yet.'), { code: 'CLI_UNSUPPORTED' });
    }
    return this.config.runCommand('up', ['-f', args.reference, ...rest]);
  }
}
