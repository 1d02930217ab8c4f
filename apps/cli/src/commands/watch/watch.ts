import { fileURLToPath } from 'node:url';
import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { cliPackageRoot } from '../../package-root.js';
import { fromFlag, profileFlag } from '../manifest/shared-flags.js';

/** `spinel watch`: build, serve, and rebuild/restart on changes. */
export class Watch extends SpinelCommand {
  static override summary = 'Build and run the app, rebuilding and restarting it when files change.';
  static override description =
    "Builds the app and serves it with `spinel up` (arguments after `--` go to it). A change to a file matching a component's [component.<id>.build] watch globs rebuilds that component and restarts serving; a change to a component's source or mounted files restarts serving (not needed with --direct-mounts); a change to spin.toml re-reads it, rebuilds and restarts. Ctrl-C stops everything.";
  static override examples = ['<%= config.bin %> watch', '<%= config.bin %> watch --skip-build -- --listen 127.0.0.1:3001', '<%= config.bin %> watch -f services/api --clear --debounce 500'];
  static override enableJsonFlag = false;
  // Arguments after `--` are `spinel up`'s.
  static override strict = false;

  static override flags = {
    from: fromFlag,
    profile: profileFlag,
    clear: Flags.boolean({ char: 'c', description: 'Clear the screen before each build or restart.', default: false }),
    debounce: Flags.integer({ char: 'd', description: 'Milliseconds to wait after a change before acting on it.', default: 100, min: 0 }),
    'skip-build': Flags.boolean({ description: 'Do not build; only restart serving when sources, mounted files or the manifest change.', default: false }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Watch);
    const [{ findManifest }, { AppWatcher }] = await Promise.all([import('@spinel/manifest'), import('../../watch/app-watcher.js')]);
    const manifestPath = await findManifest({ cwd: process.cwd(), ...(flags.from === undefined ? {} : { fileOrDir: flags.from }) });
    const watcher = new AppWatcher({
      manifestPath,
      profile: flags.profile,
      skipBuild: flags['skip-build'],
      clear: flags.clear,
      debounceMs: flags.debounce,
      upArgs: argv as string[],
      bin: fileURLToPath(new URL('bin/run.js', `file://${cliPackageRoot()}/`)),
      out: (line) => process.stdout.write(`${line}\n`),
    });
    const stopped = new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    try {
      await watcher.start();
    } catch (err) {
      await watcher.stop();
      throw err;
    }
    await stopped;
    process.stdout.write('Stopping...\n');
    await watcher.stop();
  }
}
