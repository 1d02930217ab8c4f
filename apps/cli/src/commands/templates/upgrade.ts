import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { CliError } from '../../errors.js';
import type { InstallResult } from '../../templates/install.js';
import { dataDirFlag, installReport, openTemplateStore, templateJson } from './shared.js';

/** `spinel templates upgrade`: reinstall templates from the Git repositories they came from. */
export class TemplatesUpgrade extends SpinelCommand {
  static override summary = 'Upgrade installed templates from the Git repositories they came from.';
  static override description =
    "Every Git repository templates were installed from is cloned again and its templates replace the installed ones (templates gone from the repository are removed). --repo upgrades one repository only. Templates installed from a directory or a tarball are not upgraded: reinstall them with `spinel templates install --upgrade`. Spinel's own templates are upgraded with spinel itself.";
  static override examples = ['<%= config.bin %> templates upgrade', '<%= config.bin %> templates upgrade --repo https://github.com/spinframework/spin --branch main'];

  static override flags = {
    repo: Flags.string({ description: 'Upgrade only the templates from this Git repository.' }),
    branch: Flags.string({ description: 'Branch or tag of --repo.', dependsOn: ['repo'] }),
    all: Flags.boolean({ description: 'Upgrade from every repository (the default; accepted for Spin compatibility).', default: false, exclusive: ['repo'] }),
    'data-dir': dataDirFlag,
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(TemplatesUpgrade);
    const [{ gitUrl, openSource, templateDirectories }, { installTemplates }] = await Promise.all([import('../../templates/template-source.js'), import('../../templates/install.js')]);
    const store = await openTemplateStore(flags['data-dir']);
    const repos = new Map<string, string | undefined>();
    if (flags.repo !== undefined) {
      repos.set(gitUrl(flags.repo), flags.branch);
    } else {
      for (const t of (await store.list()).templates) {
        if (t.installedFrom?.kind === 'git') repos.set(t.installedFrom.git, t.installedFrom.branch);
      }
    }
    const out = (text: string): void => {
      if (!this.jsonEnabled()) process.stdout.write(text);
    };
    if (repos.size === 0) {
      out(
        'No template repositories found to upgrade\n\nTemplates installed from a directory or a tarball are upgraded with `spinel templates install --upgrade --dir <dir>` (or --tar); spinel\'s own templates with spinel.\n',
      );
      return { upgraded: [] };
    }
    const results: { repo: string; result?: InstallResult; error?: string }[] = [];
    for (const [repo, branch] of repos) {
      out(`Upgrading templates from ${repo}${branch === undefined ? '' : ` (${branch})`}...\n`);
      try {
        const local = await openSource({ kind: 'git', url: repo, branch }, { cwd: process.cwd() });
        try {
          const result = await installTemplates({ store, templateDirs: await templateDirectories(local.root), record: local.record, upgrade: true });
          out(`${installReport(result)}\n`);
          results.push({ repo, result });
        } finally {
          await local.close();
        }
      } catch (err) {
        out(`Error upgrading ${repo}: ${(err as Error).message}\n\n`);
        results.push({ repo, error: (err as Error).message });
      }
    }
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length > 0) {
      throw new CliError('CLI_TEMPLATE_SOURCE', `Could not upgrade templates from ${failed.map((f) => f.repo).join(', ')} (see above); the templates installed from there are unchanged.`);
    }
    return {
      upgraded: results.map((r) => ({ repo: r.repo, installed: r.result?.installed.map(templateJson) ?? [], removed: r.result?.removed ?? [], ...(r.error === undefined ? {} : { error: r.error }) })),
    };
  }
}
