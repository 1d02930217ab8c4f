import { Args } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { dataDirFlag, openTemplateStore } from './shared.js';

/** `spinel templates uninstall ID`. */
export class TemplatesUninstall extends SpinelCommand {
  static override summary = 'Remove an installed template.';
  static override examples = ['<%= config.bin %> templates uninstall http-go'];

  static override args = {
    id: Args.string({ description: 'The template to uninstall.', required: true }),
  };

  static override flags = { 'data-dir': dataDirFlag };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(TemplatesUninstall);
    const store = await openTemplateStore(flags['data-dir']);
    await store.uninstall(args.id);
    if (!this.jsonEnabled()) process.stdout.write(`Uninstalled template ${args.id}\n`);
    return { uninstalled: args.id };
  }
}
