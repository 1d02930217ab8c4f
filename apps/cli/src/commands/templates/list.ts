import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { renderTable } from '../../table.js';
import { dataDirFlag, installedFromText, openTemplateStore, templateJson } from './shared.js';

/** `spinel templates list`. */
export class TemplatesList extends SpinelCommand {
  static override summary = 'List the installed templates.';
  static override description = "Spinel's own templates are installed on first use; `spinel templates install` adds more (Spin's included).";
  static override examples = ['<%= config.bin %> templates list', '<%= config.bin %> templates list --tag http --tag js', '<%= config.bin %> templates list --verbose', '<%= config.bin %> templates list --json'];

  static override flags = {
    tag: Flags.string({ multiple: true, description: 'Only templates having every one of these tags (repeatable, case-insensitive).' }),
    verbose: Flags.boolean({ description: 'Also show where each template was installed from.', default: false }),
    format: Flags.string({ options: ['table', 'json'], default: 'table', hidden: true, description: "Spin's spelling of --json." }),
    'data-dir': dataDirFlag,
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(TemplatesList);
    const store = await openTemplateStore(flags['data-dir']);
    const { templates, warnings } = await store.list();
    const tags = (flags.tag ?? []).map((t) => t.toLowerCase());
    const matching = templates.filter((t) => tags.every((tag) => t.manifest.tags.includes(tag)));
    const json = matching.map(templateJson);
    if (flags.format === 'json' && !this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return json;
    }
    if (this.jsonEnabled()) return json;
    if (matching.length === 0) {
      process.stdout.write(templates.length === 0 ? '\n' : `No templates matched tags (${templates.length - matching.length} templates skipped)\n`);
    } else {
      const header = flags.verbose ? ['Name', 'Description', 'Installed from'] : ['Name', 'Description'];
      const rows = matching.map((t) => (flags.verbose ? [t.manifest.id, t.manifest.description ?? '', installedFromText(t)] : [t.manifest.id, t.manifest.description ?? '']));
      process.stdout.write(`${renderTable(header, rows)}\n`);
    }
    if (warnings.length > 0) {
      if (matching.length > 0) process.stdout.write('\n');
      for (const w of warnings) process.stdout.write(`note: ignored invalid entry ${w.id} (Template load error: ${w.message})\n`);
    }
    return json;
  }
}
