import { Flags } from '@oclif/core';
import { relative } from 'node:path';
import { SpinelCommand } from '../../base-command.js';
import { manifestForAdd, runTemplateCommand, templateRunArgs, templateRunFlags, type TemplateRunJson } from './template-command.js';

/** `spinel add`: a component from a template, added to an existing app. */
export class Add extends SpinelCommand {
  static override summary = 'Scaffold a new component into an existing application.';
  static override description =
    "The template's snippet is appended to spin.toml (its variables merged into [variables]); everything else in the file, comments and formatting included, stays as it was. The component's files go into a directory next to spin.toml (default: the name).";
  static override examples = ['<%= config.bin %> add -t http-js api --accept-defaults', '<%= config.bin %> add -t redirect old-docs -v redirect-from=/docs/... -v redirect-to=/help -f app/spin.toml'];

  static override args = templateRunArgs;
  static override flags = {
    ...templateRunFlags,
    file: Flags.string({ char: 'f', description: 'The spin.toml to add to (or its directory). Default: spin.toml in the current directory.' }),
  };

  async run(): Promise<TemplateRunJson | undefined> {
    const { args, flags } = await this.parse(Add);
    const manifestPath = await manifestForAdd(flags.file);
    const done = await runTemplateCommand({
      variant: { kind: 'add', manifestPath },
      args,
      flags,
      interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
      note: (line) => process.stderr.write(`${line}\n`),
    });
    if (done === undefined || !done.result.completed) return undefined;
    if (!this.jsonEnabled()) {
      process.stdout.write(`Added component '${done.json.name}' from ${done.json.template} to ${relative(process.cwd(), manifestPath) || manifestPath} (files in ${relative(process.cwd(), done.result.targetDir) || '.'})\n`);
    }
    return done.json;
  }
}
