import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { CliError } from '../../errors.js';
import { dataDirFlag, installReport, openTemplateStore, templateJson } from './shared.js';

/** `spinel templates install`: from a Git repository, a directory or a tarball. */
export class TemplatesInstall extends SpinelCommand {
  static override summary = 'Install templates from a Git repository, a local directory or a .tar.gz.';
  static override description =
    "The source holds one template per directory under templates/ (Spin's layout: metadata/spin-template.toml and content/). Each template is copied into the data directory with a record of where it came from; a template already installed is skipped unless --upgrade.";
  static override examples = [
    '<%= config.bin %> templates install --git https://github.com/spinframework/spin',
    '<%= config.bin %> templates install --git file:///home/me/spin --branch main --upgrade',
    '<%= config.bin %> templates install --dir ./my-templates',
    '<%= config.bin %> templates install --tar ./templates.tar.gz',
  ];

  static override flags = {
    git: Flags.string({ aliases: ['repo'], description: 'URL of a Git repository holding the templates (owner/repo means GitHub; file:// for a local repository).', exclusive: ['dir', 'tar'] }),
    branch: Flags.string({ description: 'Branch or tag of the Git repository.', dependsOn: ['git'] }),
    dir: Flags.directory({ description: "Local directory containing a 'templates' directory.", exclusive: ['git', 'tar'] }),
    tar: Flags.string({ description: 'A .tar.gz (file or http(s) URL) containing a templates directory.', exclusive: ['git', 'dir'] }),
    upgrade: Flags.boolean({ aliases: ['update'], description: 'Replace templates that are already installed instead of skipping them.', default: false }),
    'data-dir': dataDirFlag,
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(TemplatesInstall);
    const given = [flags.git, flags.dir, flags.tar].filter((v) => v !== undefined).length;
    if (given !== 1) throw new CliError('CLI_INVALID_FLAG', 'Exactly one of `--git`, `--dir`, or `--tar` must be specified');
    const [{ gitUrl, openSource, templateDirectories }, { installTemplates }] = await Promise.all([import('../../templates/template-source.js'), import('../../templates/install.js')]);
    const store = await openTemplateStore(flags['data-dir']);
    const source =
      flags.git !== undefined
        ? ({ kind: 'git', url: gitUrl(flags.git), branch: flags.branch } as const)
        : flags.dir !== undefined
          ? ({ kind: 'dir', path: flags.dir } as const)
          : ({ kind: 'tar', location: flags.tar as string } as const);
    const out = (line: string): void => {
      if (!this.jsonEnabled()) process.stdout.write(`${line}\n`);
    };
    if (source.kind !== 'dir') out('Copying remote template source');
    const local = await openSource(source, { cwd: process.cwd() });
    try {
      const result = await installTemplates({ store, templateDirs: await templateDirectories(local.root), record: local.record, upgrade: flags.upgrade, report: out });
      if (!this.jsonEnabled()) process.stdout.write(installReport(result));
      return { installed: result.installed.map(templateJson), skipped: result.skipped, removed: result.removed };
    } finally {
      await local.close();
    }
  }
}
