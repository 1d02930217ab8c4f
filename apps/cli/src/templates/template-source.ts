import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from '../errors.js';
import type { InstallRecord } from './template-store.js';

/** Where templates are installed from: Spin's three sources. */
export type TemplateSource =
  | { readonly kind: 'git'; readonly url: string; readonly branch?: string | undefined }
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'tar'; readonly location: string };

/** A source on local disk: `root/templates/<one dir per template>`; `close()` removes any copy made. */
export interface LocalSource {
  readonly root: string;
  readonly record: InstallRecord;
  close(): Promise<void>;
}

/** Caps on an unpacked template archive (it is untrusted input). */
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
const MAX_ARCHIVE_ENTRIES = 20_000;

/**
 * `--git` as Spin takes it: a URL, or `owner/repo` meaning GitHub. A value that parses as a
 * URL is used as written (including `file://` for a local repository).
 */
export function gitUrl(raw: string): string {
  try {
    return new URL(raw).href;
  } catch {
    if (/^[\w.-]+\/[\w.-]+$/.test(raw)) return `https://github.com/${raw}`;
    if (raw.startsWith('/') && !raw.startsWith('//')) return `https://github.com${raw}`;
    return raw;
  }
}

/**
 * Makes a template source available on disk: clones a Git repository (`--depth 1`), checks a
 * directory, or downloads and unpacks a `.tar.gz` (a file or an http(s) URL).
 *
 * @throws {CliError} `CLI_TEMPLATE_SOURCE` when the source cannot be read
 */
export async function openSource(source: TemplateSource, options: { cwd: string; signal?: AbortSignal }): Promise<LocalSource> {
  switch (source.kind) {
    case 'dir': {
      const root = resolve(options.cwd, source.path);
      const st = await stat(root).catch(() => undefined);
      if (st?.isDirectory() !== true) throw new CliError('CLI_TEMPLATE_SOURCE', `Path not found: ${root} is not a directory. Pass --dir the directory that contains a 'templates' directory.`);
      return { root, record: { kind: 'dir', dir: root }, close: async () => undefined };
    }
    case 'git':
      return cloneGit(source.url, source.branch, options.signal);
    case 'tar':
      return unpackTar(source.location, options.cwd, options.signal);
  }
}

/** The template directories of a source (`<root>/templates/*`). @throws {CliError} `CLI_TEMPLATE_SOURCE` */
export async function templateDirectories(root: string): Promise<string[]> {
  const templatesRoot = join(root, 'templates');
  const entries = await readdir(templatesRoot, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) {
    throw new CliError('CLI_TEMPLATE_SOURCE', `Template source ${root} does not contain a 'templates' directory`, {
      hint: 'A template repository keeps each template in templates/<name>/ (metadata/spin-template.toml and content/).',
    });
  }
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => join(templatesRoot, e.name))
    .sort();
}

async function cloneGit(url: string, branch: string | undefined, signal: AbortSignal | undefined): Promise<LocalSource> {
  const dir = await mkdtemp(join(tmpdir(), 'spinel-templates-git-'));
  const close = (): Promise<void> => rm(dir, { recursive: true, force: true });
  // `--` keeps a URL that starts with '-' from being read as an option; no prompt may hang a script.
  const args = ['clone', '--depth', '1', ...(branch === undefined ? [] : ['--branch', branch]), '--', url, join(dir, 'repo')];
  try {
    const { code, stderr, missing } = await run('git', args, { ...process.env, GIT_TERMINAL_PROMPT: '0' }, signal);
    if (missing) throw new CliError('CLI_TEMPLATE_SOURCE', '`git` command not found - is git installed?', { hint: 'Install git, or install the templates with --dir or --tar.' });
    if (code !== 0) throw new CliError('CLI_TEMPLATE_SOURCE', `Error cloning Git repo ${url}: ${stderr.trim() || `git exited with status ${code}`}`);
  } catch (err) {
    await close();
    throw err;
  }
  return { root: join(dir, 'repo'), record: { kind: 'git', git: url, branch }, close };
}

async function unpackTar(location: string, cwd: string, signal: AbortSignal | undefined): Promise<LocalSource> {
  const isUrl = /^https?:\/\//i.test(location);
  if (!isUrl && /^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new CliError('CLI_TEMPLATE_SOURCE', `Invalid URL for remote tar: ${location}. Use an http(s) URL or a path to a .tar.gz file.`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'spinel-templates-tar-'));
  const close = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    let input: Readable;
    if (isUrl) {
      const { fetch } = await import('undici');
      const res = await fetch(location, { redirect: 'follow', ...(signal === undefined ? {} : { signal }) }).catch((cause: unknown) => {
        throw new CliError('CLI_TEMPLATE_SOURCE', `Failed to download from ${location}: ${(cause as Error).message}`, { cause });
      });
      if (res.status !== 200 || res.body === null) {
        await res.body?.cancel();
        throw new CliError('CLI_TEMPLATE_SOURCE', `Failed to download from ${location}: the server answered ${res.status}`);
      }
      input = Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]);
    } else {
      const file = resolve(cwd, location);
      if ((await stat(file).catch(() => undefined))?.isFile() !== true) throw new CliError('CLI_TEMPLATE_SOURCE', `No such file: ${file}. Pass --tar a .tar.gz file or an http(s) URL.`);
      input = createReadStream(file);
    }
    await extractSafely(input, join(dir, 'unpacked'));
  } catch (err) {
    await close();
    throw err;
  }
  const root = await bypassGithubRoot(join(dir, 'unpacked'));
  return { root, record: { kind: 'tar', url: isUrl ? location : resolve(cwd, location) }, close };
}

/**
 * Unpacks a gzipped tar as untrusted input: regular files and directories only (no links or
 * devices), no absolute paths or `..` (node-tar strips and refuses them), and caps on total
 * size and entry count.
 */
async function extractSafely(input: Readable, into: string): Promise<void> {
  const tar = await import('tar');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(into, { recursive: true });
  let bytes = 0;
  let entries = 0;
  let refused: string | undefined;
  const extractor = tar.x({
    cwd: into,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    filter: (path, entry) => {
      const type = (entry as { type?: string }).type;
      if (type !== 'File' && type !== 'OldFile' && type !== 'Directory' && type !== 'ContiguousFile') {
        refused ??= `${path} (${type ?? 'unknown type'})`;
        return false;
      }
      entries += 1;
      bytes += (entry as { size?: number }).size ?? 0;
      if (entries > MAX_ARCHIVE_ENTRIES || bytes > MAX_ARCHIVE_BYTES) {
        refused ??= `more than ${MAX_ARCHIVE_ENTRIES} entries or ${MAX_ARCHIVE_BYTES} bytes`;
        return false;
      }
      return true;
    },
  });
  try {
    await pipeline(input, extractor);
  } catch (cause) {
    throw new CliError('CLI_TEMPLATE_SOURCE', `Failed to unpack tar archive: ${(cause as Error).message}. The archive must be a .tar.gz with a 'templates' directory.`, { cause });
  }
  if (refused !== undefined) {
    throw new CliError('CLI_TEMPLATE_SOURCE', `Refused to unpack the template archive: it holds ${refused}. A template archive may hold only regular files and directories.`);
  }
}

/** GitHub release tarballs wrap the repository in one directory (`spin-v3.0.0/templates/...`): look inside it, as Spin does. */
async function bypassGithubRoot(unpacked: string): Promise<string> {
  const entries = await readdir(unpacked, { withFileTypes: true }).catch(() => []);
  if (entries.some((e) => e.name === 'templates' && e.isDirectory())) return unpacked;
  if (entries.length !== 1 || entries[0]?.isDirectory() !== true) return unpacked;
  const inner = join(unpacked, entries[0].name);
  const innerEntries = await readdir(inner, { withFileTypes: true }).catch(() => []);
  return innerEntries.some((e) => e.name === 'templates' && e.isDirectory()) ? inner : unpacked;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<{ code: number; stderr: string; missing: boolean }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...(signal === undefined ? {} : { signal }) });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => resolvePromise({ code: 1, stderr: err.message, missing: err.code === 'ENOENT' }));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stderr, missing: false }));
  });
}
