import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPackageRoot } from '../package-root.js';
import { installTemplates } from './install.js';
import { templateDirectories } from './template-source.js';
import { loadTemplate, type TemplateStore } from './template-store.js';

const MARKER = '.spinel-builtin-templates.json';

/**
 * Installs the templates spinel carries (no network) into the store on first use, and upgrades
 * them when spinel carries newer ones: a template the user installed from elsewhere under the
 * same id is left alone, and one the user uninstalled comes back only with newer built-ins.
 * The built-ins' digest is computed at build time (scripts/build-components.mjs).
 */
export async function ensureBuiltinTemplates(store: TemplateStore): Promise<void> {
  const root = cliPackageRoot();
  const digest = await readDigest(join(root, 'dist', 'builtin-templates.json'));
  const marker = join(store.root, MARKER);
  const installed = await readDigest(marker);
  if (installed !== undefined && installed === digest) return;
  const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const record = { kind: 'dir', dir: root, builtin: `spinel ${version}` } as const;
  const dirs = await templateDirectories(root);
  await installTemplates({ store, templateDirs: dirs, record, upgrade: false });
  if (installed !== undefined) {
    // Newer built-ins: replace the ones still installed from spinel itself.
    const { templates } = await store.list();
    const ours = new Set(templates.filter((t) => t.installedFrom?.kind === 'dir' && t.installedFrom.builtin !== undefined).map((t) => t.manifest.id));
    const upgradable: string[] = [];
    for (const dir of dirs) {
      const id = (await loadTemplate(dir).catch(() => undefined))?.manifest.id;
      if (id !== undefined && ours.has(id)) upgradable.push(dir);
    }
    await installTemplates({ store, templateDirs: upgradable, record, upgrade: true });
  }
  await mkdir(store.root, { recursive: true });
  await writeFile(marker, `${JSON.stringify({ digest: digest ?? 'unknown' })}\n`);
}

async function readDigest(file: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { digest?: string }).digest;
  } catch {
    return undefined;
  }
}
