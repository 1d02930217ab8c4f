import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { formatWarning, fromFlag, profileFlag } from './shared-flags.js';

/** What `spinel build --json` returns. */
export interface BuildJson {
  built: { component: string; commands: string[] }[];
  skipped: string[];
}

/** `spinel build`: runs each component's build commands in its workdir. */
export class Build extends SpinelCommand {
  static override summary = "Run the components' build commands.";
  static override description =
    "Runs each component's [component.<id>.build] command(s) through the shell in the component's workdir (relative to the manifest), streaming their output, and stops at the first failure.";
  static override examples = ['<%= config.bin %> build', '<%= config.bin %> build -c api -c web', '<%= config.bin %> build --profile debug'];

  static override flags = {
    from: fromFlag,
    'component-id': Flags.string({ char: 'c', description: 'Build only this component (repeatable).', multiple: true }),
    profile: profileFlag,
  };

  async run(): Promise<BuildJson> {
    const { flags } = await this.parse(Build);
    const manifest = await import('@spinel/manifest');
    const cwd = process.cwd();
    const path = await manifest.findManifest({ cwd, ...(flags.from === undefined ? {} : { fileOrDir: flags.from }) });
    const parsed = await manifest.readManifest(path);
    for (const w of parsed.warnings) process.stderr.write(`${formatWarning(path, w)}\n`);
    if (flags.profile !== undefined && !Object.values(parsed.manifest.components).some((c) => Object.hasOwn(c.profile, flags.profile as string))) {
      throw Object.assign(new Error(`Profile ${flags.profile} is not defined in this application`), { code: 'MANIFEST_UNKNOWN_PROFILE' });
    }
    const { manifest: app } = manifest.normalizeManifest(parsed.manifest, flags.profile);
    const wanted = flags['component-id'];
    if (wanted !== undefined) {
      const unknown = wanted.filter((id) => !Object.hasOwn(app.components, id));
      if (unknown.length > 0) {
        throw Object.assign(new Error(`Unknown component ${unknown.map((u) => `'${u}'`).join(', ')}; the app's components are: ${Object.keys(app.components).join(', ')}`), {
          code: 'CLI_UNKNOWN_COMPONENT',
        });
      }
    }
    const appDir = dirname(path);
    const out = (line: string): void => {
      if (!this.jsonEnabled()) this.log(line);
    };
    const result: BuildJson = { built: [], skipped: [] };
    for (const [id, component] of Object.entries(app.components)) {
      if (wanted !== undefined && !wanted.includes(id)) continue;
      const build = component.build;
      if (build === undefined || build.commands.length === 0) {
        out(`No build command for component ${id}`);
        result.skipped.push(id);
        continue;
      }
      const workdir = build.workdir === undefined ? appDir : resolve(appDir, build.workdir);
      for (const command of build.commands) {
        out(`Building component ${id} with \`${command}\``);
        const status = await runShell(command, workdir, this.jsonEnabled());
        if (status.code !== 0) {
          const how = status.signal === null ? `status ${status.code}` : `signal ${status.signal}`;
          throw Object.assign(new Error(`Build command for component ${id} failed with ${how}: \`${command}\` (in ${workdir}). Fix the command's errors above and run the build again.`), {
            code: 'CLI_BUILD_FAILED',
          });
        }
      }
      result.built.push({ component: id, commands: [...build.commands] });
    }
    out('Finished building all Spin components');
    return result;
  }
}

function runShell(command: string, cwd: string, quiet: boolean): Promise<{ code: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    // With --json the build's own output goes to stderr so stdout stays one JSON document.
    const child = spawn(command, { cwd, shell: true, stdio: quiet ? ['inherit', process.stderr, 'inherit'] : 'inherit' });
    child.on('error', (err) =>
      reject(Object.assign(new Error(`Could not start the build command \`${command}\` in ${cwd}: ${err.message}`), { code: 'CLI_BUILD_FAILED', cause: err })),
    );
    child.on('exit', (code, signal) => resolvePromise({ code: code ?? 1, signal }));
  });
}
