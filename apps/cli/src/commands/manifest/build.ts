import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import type { BuildResult } from '../../build/run-build.js';
import { CliError } from '../../errors.js';
import { fromFlag, profileFlag } from './shared-flags.js';

/** What `spinel build --json` returns. */
export type BuildJson = BuildResult;

/** `spinel build`: runs each component's build commands in its workdir. */
export class Build extends SpinelCommand {
  static override summary = "Run the components' build commands.";
  static override description =
    "Runs each component's [component.<id>.build] command(s) through the shell in the component's workdir (relative to the manifest), streaming their output, and stops at the first failure. With --up, serves the app afterwards: arguments after `--` go to `spinel up`.";
  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build -c api -c web',
    '<%= config.bin %> build --profile debug',
    '<%= config.bin %> build --up -- --listen 127.0.0.1:3001',
  ];

  // Arguments after `--` are `spinel up`'s (with --up).
  static override strict = false;

  static override flags = {
    from: fromFlag,
    'component-id': Flags.string({ char: 'c', description: 'Build only this component (repeatable).', multiple: true }),
    profile: profileFlag,
    up: Flags.boolean({ char: 'u', description: 'Serve the app with `spinel up` once the build succeeds (arguments after `--` go to it).', default: false }),
    'skip-target-checks': Flags.boolean({ description: "Skip checking components against the manifest's deployment targets (spinel only notes that it does not check them).", default: false }),
  };

  async run(): Promise<BuildJson> {
    const { flags, argv } = await this.parse(Build);
    const upArgs = argv as string[];
    if (upArgs.length > 0 && !flags.up) {
      throw new CliError('CLI_INVALID_FLAG', `Unexpected argument${upArgs.length === 1 ? '' : 's'}: ${upArgs.join(' ')}`, { hint: 'Arguments after `--` are passed to `spinel up` with --up: spinel build --up -- --listen 127.0.0.1:3001' });
    }
    const [{ findManifest }, { runBuild }] = await Promise.all([import('@spinel/manifest'), import('../../build/run-build.js')]);
    const path = await findManifest({ cwd: process.cwd(), ...(flags.from === undefined ? {} : { fileOrDir: flags.from }) });
    const json = this.jsonEnabled();
    const result = await runBuild({
      manifestPath: path,
      profile: flags.profile,
      componentIds: flags['component-id'],
      out: (line) => {
        if (!json) this.log(line);
      },
      warn: (line) => process.stderr.write(`${line}\n`),
      commandStdout: json ? 'stderr' : 'inherit',
      skipTargetChecks: flags['skip-target-checks'],
    });
    if (flags.up) {
      await this.config.runCommand('up', ['-f', path, ...(flags.profile === undefined ? [] : ['--profile', flags.profile]), ...upArgs]);
    }
    return result;
  }
}
