import { Args } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';

export class RegistryRun extends SpinelCommand {
  static override summary = 'Run a Spin app from a registry (same as `spinel up -f REFERENCE`).';
  static override description = 'Every argument after the reference is passed to `spinel up` (e.g. --listen, --state-dir, --insecure).';
  static override aliases = ['oci:run'];
  static override strict = false;
  static override enableJsonFlag = false;
  static override usage = 'registry run REFERENCE [UP FLAGS]';
  static override examples = ['<%= config.bin %> registry run ghcr.io/me/app:1.0 --listen 127.0.0.1:3001', '<%= config.bin %> registry run oci-layout:./out:v1'];

  static override args = {
    reference: Args.string({ required: true, description: 'The app: registry/repository[:tag|@digest], or oci-layout:<dir>[:tag].' }),
  };

  async run(): Promise<unknown> {
    // `up`'s flags are not declared here, so oclif would reject them: parse only when there
    // is nothing to forward (which also gives --help and the missing-argument error).
    const [reference, ...rest] = this.argv;
    if (reference === undefined || reference.startsWith('-')) {
      await this.parse(RegistryRun);
      return undefined;
    }
    if (this.config.findCommand('up') === undefined) {
      throw Object.assign(new Error('`spinel up` is not available in this build, so registry apps cannot be run yet.'), { code: 'CLI_UNSUPPORTED' });
    }
    return this.config.runCommand('up', ['-f', reference, ...rest]);
  }
}
