import { Flags } from '@oclif/core';
import { renderTable } from '../../table.js';
import type { InstallResult } from '../../templates/install.js';
import type { Template, TemplateStore } from '../../templates/template-store.js';

/** `--data-dir`: where installed templates live (`<dir>/templates`). */
export const dataDirFlag = Flags.directory({
  description: 'Spinel data directory; templates are installed under <dir>/templates. Default: $SPINEL_DATA_DIR, else $XDG_DATA_HOME/spinel or ~/.local/share/spinel.',
  env: 'SPINEL_DATA_DIR',
  helpGroup: 'GLOBAL',
});

/** The template store for `--data-dir`, with spinel's own templates installed on first use. */
export async function openTemplateStore(dataDirOption: string | undefined): Promise<TemplateStore> {
  const [{ dataDir }, { TemplateStore }, { ensureBuiltinTemplates }] = await Promise.all([
    import('../../templates/data-dir.js'),
    import('../../templates/template-store.js'),
    import('../../templates/builtin.js'),
  ]);
  const store = new TemplateStore(`${dataDir(dataDirOption)}/templates`);
  await ensureBuiltinTemplates(store);
  return store;
}

/** Where a template came from, for `list --verbose`. */
export function installedFromText(t: Template): string {
  const from = t.installedFrom;
  if (from === undefined) return '';
  if (from.kind === 'git') return from.branch === undefined ? from.git : `${from.git} (${from.branch})`;
  if (from.kind === 'dir') return from.builtin === undefined ? from.dir : `built in (${from.builtin})`;
  return from.url;
}

/** Spin's report after an install or upgrade. */
export function installReport(result: InstallResult): string {
  const { installed, skipped, removed } = result;
  if (installed.length === 0 && skipped.length === 0 && removed.length === 0) return 'The specified source contained no templates\n';
  const parts = [`Installed ${installed.length} template(s)`];
  if (installed.length > 0) parts.push('', renderTable(['Name', 'Description'], installed.map((t) => [t.manifest.id, t.manifest.description ?? ''])));
  if (skipped.length > 0) parts.push('', `Skipped ${skipped.length} template(s)`, '', renderTable(['Name', 'Reason skipped'], skipped.map((s) => [s.id, s.reason])));
  if (removed.length > 0) parts.push('', `Removed ${removed.length} templates no longer in repository`, '', renderTable(['Name'], removed.map((r) => [r])));
  return `${parts.join('\n')}\n`;
}

/** A template as `--json` output shows it. */
export function templateJson(t: Template): Record<string, unknown> {
  return {
    id: t.manifest.id,
    ...(t.manifest.description === undefined ? {} : { description: t.manifest.description }),
    tags: t.manifest.tags,
    supports: { newApplication: t.manifest.newApplication !== undefined, addComponent: t.manifest.addComponent !== undefined },
    installedFrom: t.installedFrom ?? null,
  };
}
