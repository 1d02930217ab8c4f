import { copyFile, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CliError } from '../errors.js';
import { INSTALL_RECORD_FILE, installRecordText, loadTemplate, type InstallRecord, type Template, type TemplateStore } from './template-store.js';

/** What installing from one source did. */
export interface InstallResult {
  /** Sorted by id. */
  readonly installed: Template[];
  readonly skipped: { id: string; reason: string }[];
  /** Templates of the same Git repository that are gone from it (removed when upgrading). */
  readonly removed: string[];
}

/**
 * Installs every template under `<sourceRoot>/templates` into the store, as Spin's template
 * manager does: a template whose manifest does not load is skipped with the reason; an id
 * already installed is skipped unless `upgrade`, which swaps the new copy in through a staging
 * directory so a failure leaves the old one in place. Upgrading from a Git repository also
 * removes the templates that came from it and are no longer there.
 *
 * Templates are untrusted input: a template holding anything but regular files and
 * directories (a symbolic link could make rendering read files outside it) is skipped.
 */
export async function installTemplates(options: {
  store: TemplateStore;
  templateDirs: readonly string[];
  record: InstallRecord;
  upgrade: boolean;
  report?: (line: string) => void;
}): Promise<InstallResult> {
  const { store, record, upgrade } = options;
  const installed: Template[] = [];
  const skipped: { id: string; reason: string }[] = [];
  const fromSameRepo = new Set<string>();
  if (upgrade && record.kind === 'git') {
    for (const t of (await store.list()).templates) {
      if (t.installedFrom?.kind === 'git' && t.installedFrom.git === record.git) fromSameRepo.add(t.manifest.id);
    }
  }
  for (const sourceDir of options.templateDirs) {
    let template: Template;
    try {
      template = await loadTemplate(sourceDir);
      await refuseLinks(sourceDir);
    } catch (err) {
      skipped.push({ id: basename(sourceDir), reason: `Template load error: ${(err as Error).message}` });
      continue;
    }
    const id = template.manifest.id;
    fromSameRepo.delete(id);
    options.report?.(`Installing template ${id}...`);
    const dest = store.directoryFor(id);
    const exists = (await lstat(dest).catch(() => undefined)) !== undefined;
    if (exists && !upgrade) {
      skipped.push({ id, reason: 'Already exists' });
      continue;
    }
    installed.push(exists ? await replaceTemplate(id, sourceDir, dest, record) : await copyTemplate(id, sourceDir, dest, record));
  }
  const removed: string[] = [];
  for (const id of fromSameRepo) {
    try {
      await store.uninstall(id);
      removed.push(id);
    } catch {
      skipped.push({ id, reason: 'No longer exists in source, but could not uninstall' });
    }
  }
  installed.sort((a, b) => a.manifest.id.localeCompare(b.manifest.id));
  skipped.sort((a, b) => a.id.localeCompare(b.id));
  removed.sort();
  return { installed, skipped, removed };
}

async function copyTemplate(id: string, sourceDir: string, dest: string, record: InstallRecord): Promise<Template> {
  await mkdir(dest, { recursive: true });
  try {
    await copyTree(sourceDir, dest);
    await writeFile(join(dest, INSTALL_RECORD_FILE), installRecordText(record));
    return await loadTemplate(dest);
  } catch (cause) {
    await rm(dest, { recursive: true, force: true });
    throw new CliError('CLI_TEMPLATE_SOURCE', `Failed to copy template ${id} from ${sourceDir} to ${dest}: ${(cause as Error).message}`, { cause });
  }
}

async function replaceTemplate(id: string, sourceDir: string, dest: string, record: InstallRecord): Promise<Template> {
  const stage = `${dest}.stage`;
  const unstage = `${dest}.unstage`;
  await rm(stage, { recursive: true, force: true });
  await rm(unstage, { recursive: true, force: true });
  await copyTemplate(id, sourceDir, stage, record);
  try {
    await rename(dest, unstage);
  } catch (cause) {
    await rm(stage, { recursive: true, force: true });
    throw new CliError('CLI_TEMPLATE_SOURCE', `Failed to move the installed template ${id} out of ${dest} to upgrade it: ${(cause as Error).message}`, { cause });
  }
  try {
    await rename(stage, dest);
  } catch (cause) {
    await rename(unstage, dest).catch(() => undefined);
    await rm(stage, { recursive: true, force: true });
    throw new CliError('CLI_TEMPLATE_SOURCE', `Failed to move the new template ${id} into ${dest}: ${(cause as Error).message}`, { cause });
  }
  await rm(unstage, { recursive: true, force: true });
  return loadTemplate(dest);
}

async function refuseLinks(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await refuseLinks(path);
    else if (!entry.isFile()) throw new Error(`${path} is not a regular file or directory (templates may hold only those)`);
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await copyTree(source, target);
    else if (entry.isFile()) await copyFile(source, target);
  }
}
