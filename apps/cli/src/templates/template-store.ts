import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { CliError } from '../errors.js';
import { nearest } from '../suggest.js';
import { parseTemplateManifest, type TemplateManifest } from './template-manifest.js';

/** Where an installed template came from (Spin's `.install.toml`: `git`, `dir` or `url`). */
export type InstallRecord =
  | { readonly kind: 'git'; readonly git: string; readonly branch?: string | undefined }
  | { readonly kind: 'dir'; readonly dir: string; readonly builtin?: string | undefined }
  | { readonly kind: 'tar'; readonly url: string };

/** A template on disk in Spin's layout: `metadata/spin-template.toml`, `content/`, `metadata/snippets`, `metadata/partials`. */
export interface Template {
  readonly manifest: TemplateManifest;
  /** The template's own directory. */
  readonly dir: string;
  /** Absent when the template was not installed through a store (or its record is unreadable). */
  readonly installedFrom: InstallRecord | undefined;
}

/** A directory in the store that is not a loadable template. */
export interface StoreWarning {
  readonly id: string;
  readonly message: string;
}

const INSTALL_RECORD = '.install.toml';
// Spin's store keeps environment-specific templates here; never a template itself.
const ENV_SCOPED_DIR = '.envs';

/** Loads a template directory (Spin's layout). @throws {CliError} `CLI_TEMPLATE_INVALID` */
export async function loadTemplate(dir: string): Promise<Template> {
  const manifestPath = join(dir, 'metadata', 'spin-template.toml');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new CliError('CLI_TEMPLATE_INVALID', `Failed to read template manifest file ${manifestPath}: ${(cause as Error).message}`, { cause });
  }
  return { manifest: parseTemplateManifest(text, manifestPath), dir, installedFrom: await readInstallRecord(dir) };
}

async function readInstallRecord(dir: string): Promise<InstallRecord | undefined> {
  let doc: Record<string, unknown>;
  try {
    doc = parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as Record<string, unknown>;
  } catch {
    // As in Spin: a missing or unreadable record only means the origin is unknown.
    return undefined;
  }
  const text = (k: string): string | undefined => (typeof doc[k] === 'string' ? (doc[k] as string) : undefined);
  const git = text('git');
  if (git !== undefined) return { kind: 'git', git, branch: text('branch') };
  const dirRecord = text('dir');
  if (dirRecord !== undefined) return { kind: 'dir', dir: dirRecord, builtin: text('builtin') };
  const url = text('url');
  if (url !== undefined) return { kind: 'tar', url };
  return undefined;
}

/** The text of an install record; Spin reads the same keys (and ignores ours: `branch`, `builtin`). */
export function installRecordText(record: InstallRecord): string {
  switch (record.kind) {
    case 'git':
      return stringify(record.branch === undefined ? { git: record.git } : { git: record.git, branch: record.branch });
    case 'dir':
      return stringify(record.builtin === undefined ? { dir: record.dir } : { dir: record.dir, builtin: record.builtin });
    case 'tar':
      return stringify({ url: record.url });
  }
}

/** `INSTALL_RECORD`, for writers. */
export const INSTALL_RECORD_FILE = INSTALL_RECORD;

/**
 * The installed templates under `<data>/templates`, one directory per id named as Spin names
 * them (`<id with unsafe characters as _>_<sha256 of id>`), so ids never collide on disk.
 */
export class TemplateStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The directory a template with this id lives in (whether or not it exists). */
  directoryFor(id: string): string {
    const digest = createHash('sha256').update(id).digest('hex');
    return join(this.root, `${id.replace(/[^-_a-zA-Z0-9]/g, '_')}_${digest}`);
  }

  /** Every installed template, sorted by id, and the directories that are not templates. */
  async list(): Promise<{ templates: Template[]; warnings: StoreWarning[] }> {
    const templates: Template[] = [];
    const warnings: StoreWarning[] = [];
    for (const dir of await this.templateDirs()) {
      try {
        templates.push(await loadTemplate(dir));
      } catch (err) {
        warnings.push({ id: basename(dir), message: (err as Error).message });
      }
    }
    templates.sort((a, b) => a.manifest.id.localeCompare(b.manifest.id));
    return { templates, warnings };
  }

  /** The installed template with this id, or undefined. */
  async get(id: string): Promise<Template | undefined> {
    const dir = this.directoryFor(id);
    if ((await stat(dir).catch(() => undefined))?.isDirectory() !== true) return undefined;
    return loadTemplate(dir);
  }

  /**
   * The installed template with this id.
   *
   * @throws {CliError} `CLI_TEMPLATE_NOT_FOUND` naming the nearest installed id
   */
  async require(id: string): Promise<Template> {
    const found = await this.get(id);
    if (found !== undefined) return found;
    const { templates } = await this.list();
    const ids = templates.map((t) => t.manifest.id);
    const guess = nearest(id, ids);
    throw new CliError('CLI_TEMPLATE_NOT_FOUND', `Template '${id}' is not installed${guess === undefined ? '' : ` (did you mean '${guess}'?)`}.`, {
      hint: ids.length === 0 ? 'Install templates with `spinel templates install --git <repository>` or `--dir <directory>`.' : `Installed templates: ${ids.join(', ')}. See \`spinel templates list\`.`,
    });
  }

  /**
   * Removes an installed template.
   *
   * @throws {CliError} `CLI_TEMPLATE_NOT_FOUND`
   */
  async uninstall(id: string): Promise<void> {
    const dir = this.directoryFor(id);
    if ((await stat(dir).catch(() => undefined)) === undefined) {
      await this.require(id);
    }
    await rm(dir, { recursive: true, force: true });
  }

  private async templateDirs(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return entries
      .filter((e) => e.isDirectory() && e.name !== ENV_SCOPED_DIR && !e.name.endsWith('.stage') && !e.name.endsWith('.unstage'))
      .map((e) => join(this.root, e.name));
  }
}
