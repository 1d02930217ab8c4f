import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SpinelCommand } from '../../base-command.js';
import { runTemplateCommand, templateRunArgs, templateRunFlags, type TemplateRunJson } from './template-command.js';

/** `spinel new`: a new application from a template. */
export class New extends SpinelCommand {
  static override summary = 'Scaffold a new application from a template.';
  static override description =
    "Templates use Spin's format, so Spin's own template repositories work too (`spinel templates install`). On a terminal, missing values are asked for; otherwise pass them with --value or --accept-defaults.";
  static override examples = [
    '<%= config.bin %> new -t http-ts hello --accept-defaults',
    '<%= config.bin %> new -t static-fileserver site -v http-path=/... -v files-path=public',
    '<%= config.bin %> new -t http-js api --output services/api --no-vcs',
  ];

  static override args = templateRunArgs;
  static override flags = templateRunFlags;

  async run(): Promise<TemplateRunJson | undefined> {
    const { args, flags } = await this.parse(New);
    const done = await runTemplateCommand({
      variant: { kind: 'new' },
      args,
      flags,
      interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
      note: (line) => process.stderr.write(`${line}\n`),
    });
    if (done === undefined || !done.result.completed) return undefined;
    if (!this.jsonEnabled()) {
      const dir = relative(process.cwd(), done.result.targetDir) || '.';
      const steps = [...(dir === '.' ? [] : [`cd ${dir}`]), ...(existsSync(join(done.result.targetDir, 'package.json')) ? ['npm install'] : []), 'spinel build', 'spinel up'];
      process.stdout.write(`Created application '${done.json.name}' from ${done.json.template} in ${dir}\nNext: ${steps.join(' && ')}\n`);
    }
    return done.json;
  }
}
