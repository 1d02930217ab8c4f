import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { CliError } from '../errors.js';
import { createLiquid, renderLiquid, type LiquidEngine } from './liquid.js';
import { mergeTomlTable } from './toml-merge.js';
import { parameterValueProblem, type TemplateParameter, type TemplateVariant } from './template-manifest.js';
import type { Template } from './template-store.js';

/** Asks the user (only given on a terminal). */
export interface Prompter {
  confirm(question: string): Promise<boolean>;
  /** Free text; an empty answer takes the default when there is one. */
  text(question: string, defaultValue: string | undefined): Promise<string>;
  choose(question: string, choices: readonly string[], defaultValue: string | undefined): Promise<string>;
  /** Tells the user why an answer was refused before asking again. */
  warn(message: string): void;
}

/** New application, or a component added to the manifest at `manifestPath`. */
export type TemplateVariantInfo = { readonly kind: 'new' } | { readonly kind: 'add'; readonly manifestPath: string };

/** Everything a template run needs (Spin's `RunOptions`). */
export interface RunTemplateOptions {
  readonly template: Template;
  readonly variant: TemplateVariantInfo;
  /** The app or component name (`project-name`). */
  readonly name: string;
  /** Where files go: for a new app relative to `cwd`, for `add` relative to the manifest's directory. */
  readonly outputPath: string;
  readonly values: Readonly<Record<string, string>>;
  readonly acceptDefaults: boolean;
  readonly noVcs: boolean;
  readonly allowOverwrite: boolean;
  readonly cwd: string;
  /** `authors` and `username` (see `discoverAuthors`). */
  readonly authors: { author: string; username: string };
  /** When set, missing values and overwrite confirmations are asked for; otherwise they are errors. */
  readonly prompter?: Prompter | undefined;
  /** Whether to `git init` a new application (default true; skipped with noVcs or inside a repository). */
  readonly initGit?: boolean;
}

/** What a run produced. */
export interface RunTemplateResult {
  /** Absolute path of the directory generated into. */
  readonly targetDir: string;
  readonly filesWritten: string[];
  readonly manifestEdited: string | undefined;
  readonly gitInitialised: boolean;
  /** False when the user declined a prompt. */
  readonly completed: boolean;
}

type Operation =
  | { kind: 'file'; path: string; content: Buffer | LiquidTemplate }
  | { kind: 'append'; path: string; content: LiquidTemplate }
  | { kind: 'merge'; path: string; table: string; content: LiquidTemplate }
  | { kind: 'dir'; base: string; path: LiquidTemplate };

type LiquidTemplate = { readonly parsed: ReturnType<LiquidEngine['parse']>; readonly origin: string };

/**
 * Runs a template as Spin does (Spin's `crates/templates/src/run.rs`): validates the values
 * given, renders every content file (Liquid; a file that is not UTF-8 or not a template is
 * copied as is; `.tmpl` is stripped from names), the variant's snippets (appended to or merged
 * into the manifest for `add`) and extra outputs, asks for missing parameters, writes, and
 * initialises a Git repository for a new app.
 *
 * @throws {CliError} `CLI_TEMPLATE_UNSUPPORTED_VARIANT`, `CLI_TEMPLATE_OUTPUT_EXISTS`, `CLI_TEMPLATE_VALUES`, `CLI_TEMPLATE_RENDER`, `CLI_MANIFEST_EDIT`
 */
export async function runTemplate(options: RunTemplateOptions): Promise<RunTemplateResult> {
  const { template, variant } = options;
  const variantDef = await resolveVariant(template, variant);
  if (variant.kind === 'add') await checkManifestVersion(template, variant.manifestPath);

  const targetDir = variant.kind === 'new' ? resolve(options.cwd, options.outputPath) : resolve(dirname(variant.manifestPath), options.outputPath);
  const notCompleted = { targetDir, filesWritten: [], manifestEdited: undefined, gitInitialised: false, completed: false };
  if (!options.allowOverwrite && !(await isEmptyDir(targetDir))) {
    const message = `Directory '${targetDir}' already contains other files.`;
    if (options.prompter === undefined) {
      throw new CliError('CLI_TEMPLATE_OUTPUT_EXISTS', `Can't generate into ${targetDir} as it already contains other files`, {
        hint: 'Choose another --output, or pass --allow-overwrite to write into it (files with the same names are replaced).',
      });
    }
    if (!(await options.prompter.confirm(`${message} Generate into it anyway?`))) return notCompleted;
  }

  const liquid = await createLiquid(await readPartials(template.dir));
  validateProvidedValues(template, options.values);

  const operations: Operation[] = [];
  const contentDir = join(template.dir, 'content');
  if ((await stat(contentDir).catch(() => undefined))?.isDirectory() === true) {
    for (const file of await listFiles(contentDir)) {
      const rel = relative(contentDir, file);
      if (options.noVcs && file.split(sep).at(-1) === '.gitignore') continue;
      if (variantDef.skipFiles.some((skip) => join(contentDir, skip) === file)) continue;
      const bytes = await readFile(file);
      const outRel = rel.endsWith('.tmpl') ? rel.slice(0, -'.tmpl'.length) : rel;
      operations.push({ kind: 'file', path: join(targetDir, outRel), content: parseContent(liquid, bytes, `content/${rel}`) });
    }
  }
  for (const [id, file] of Object.entries(variantDef.snippets)) {
    operations.push(await snippetOperation(liquid, template, variant, id, file));
  }
  for (const output of template.manifest.outputs) {
    const base = output.at === 'manifest' && variant.kind === 'add' ? dirname(variant.manifestPath) : targetDir;
    operations.push({ kind: 'dir', base, path: parseTemplateText(liquid, output.path, `outputs.${output.id}.path`) });
  }

  const parameterValues = await populateParameters(template, variantDef, options);
  if (parameterValues === undefined) return notCompleted;
  const globals: Record<string, string> = {
    authors: options.authors.author,
    username: options.authors.username,
    'project-name': options.name,
    'output-path': options.outputPath,
    ...parameterValues,
  };

  const rendered = await renderAll(liquid, operations, globals);
  if (rendered.length === 0) throw new CliError('CLI_TEMPLATE_RENDER', `Nothing to create: template ${template.manifest.id} has no content, snippets or outputs for this operation.`);

  const filesWritten: string[] = [];
  let manifestEdited: string | undefined;
  for (const out of rendered) {
    if (out.kind === 'file') {
      await mkdir(dirname(out.path), { recursive: true });
      await writeFile(out.path, out.bytes);
      filesWritten.push(out.path);
    } else if (out.kind === 'append') {
      const existing = await readFile(out.path, 'utf8');
      await writeFile(out.path, `${existing.trimEnd()}\n\n${out.text}`);
      manifestEdited = out.path;
    } else if (out.kind === 'merge') {
      const existing = await readFile(out.path, 'utf8');
      await writeFile(out.path, mergeTomlTable(existing, out.table, out.text));
      manifestEdited = out.path;
    } else {
      await mkdir(out.path, { recursive: true });
    }
  }

  let gitInitialised = false;
  if (variant.kind === 'new' && !options.noVcs && options.initGit !== false) gitInitialised = await maybeInitGit(targetDir);
  return { targetDir, filesWritten, manifestEdited, gitInitialised, completed: true };
}

async function resolveVariant(template: Template, variant: TemplateVariantInfo): Promise<TemplateVariant> {
  const def = variant.kind === 'new' ? template.manifest.newApplication : template.manifest.addComponent;
  if (def === undefined) {
    throw new CliError('CLI_TEMPLATE_UNSUPPORTED_VARIANT', `Template ${template.manifest.id} doesn't support the '${variant.kind === 'new' ? 'new application' : 'add component'}' operation`, {
      hint: variant.kind === 'new' ? `Add it to an existing app with \`spinel add -t ${template.manifest.id} <name>\`.` : `Start a new app with \`spinel new -t ${template.manifest.id} <name>\`.`,
    });
  }
  if (variant.kind === 'new' || def.conditions.length === 0) return def;
  // Conditions look at the manifest being added to (Spin: `manifest_entry_exists`).
  let manifest: unknown;
  try {
    manifest = parseToml(await readFile(variant.manifestPath, 'utf8'));
  } catch {
    manifest = undefined;
  }
  const skipFiles = [...def.skipFiles];
  const skipParameters = [...def.skipParameters];
  const snippets = { ...def.snippets };
  for (const c of def.conditions) {
    if (manifest === undefined || !entryExists(manifest, c.manifestEntryExists)) continue;
    skipFiles.push(...c.skipFiles);
    skipParameters.push(...c.skipParameters);
    for (const s of c.skipSnippets) delete snippets[s];
  }
  return { ...def, skipFiles, skipParameters, snippets };
}

function entryExists(doc: unknown, path: readonly string[]): boolean {
  let at: unknown = doc;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, key)) return false;
    at = (at as Record<string, unknown>)[key];
  }
  return true;
}

async function checkManifestVersion(template: Template, manifestPath: string): Promise<void> {
  const text = await readFile(manifestPath, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  let version: unknown;
  try {
    const doc = parseToml(text) as Record<string, unknown>;
    version = doc['spin_manifest_version'] ?? doc['spin_version'];
  } catch {
    // As in Spin: a manifest under construction does not block adding to it.
    return;
  }
  if (version === '1' || version === 1) {
    throw new CliError('CLI_TEMPLATE_UNSUPPORTED_VARIANT', 'Components cannot be added to Spin manifest version 1 applications.', {
      hint: 'Upgrade the manifest first with `spinel doctor --fix`.',
    });
  }
  const tpl = await readFile(join(template.dir, 'content', 'spin.toml'), 'utf8').catch(() => undefined);
  if (tpl !== undefined && tpl.includes('spin_manifest_version = "1"') && !tpl.includes('spin_manifest_version = 2')) {
    throw new CliError('CLI_TEMPLATE_UNSUPPORTED_VARIANT', 'This template is for a different version of the Spin manifest');
  }
}

function validateProvidedValues(template: Template, values: Readonly<Record<string, string>>): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const parameter = template.manifest.parameters.find((p) => p.id === name);
    if (parameter === undefined) {
      problems.push(`Template does not contain a parameter named '${name}'`);
      continue;
    }
    const problem = parameterValueProblem(parameter, value);
    if (problem !== undefined) problems.push(`${name}: ${problem}`);
  }
  if (problems.length > 0) {
    throw new CliError('CLI_TEMPLATE_VALUES', `The following provided value(s) are invalid according to the template:\n${problems.map((p) => `- ${p}`).join('\n')}`, {
      hint: `Parameters of ${template.manifest.id}: ${template.manifest.parameters.map((p) => p.id).join(', ') || '(none)'}.`,
    });
  }
}

async function populateParameters(template: Template, variant: TemplateVariant, options: RunTemplateOptions): Promise<Record<string, string> | undefined> {
  const values: Record<string, string> = {};
  for (const parameter of template.manifest.parameters) {
    if (variant.skipParameters.includes(parameter.id)) continue;
    const given = options.values[parameter.id];
    if (given !== undefined) {
      values[parameter.id] = given;
      continue;
    }
    if (options.acceptDefaults && parameter.defaultValue !== undefined) {
      values[parameter.id] = parameter.defaultValue;
      continue;
    }
    if (options.prompter === undefined) {
      throw new CliError('CLI_TEMPLATE_VALUES', `Parameter '${parameter.id}' not provided`, {
        hint: `Pass --value ${parameter.id}=<value>${parameter.defaultValue === undefined ? '' : ' or --accept-defaults'} (${parameter.prompt}).`,
      });
    }
    values[parameter.id] = await askParameter(options.prompter, parameter);
  }
  return values;
}

async function askParameter(prompter: Prompter, parameter: TemplateParameter): Promise<string> {
  for (;;) {
    const answer =
      parameter.allowedValues === undefined ? await prompter.text(parameter.prompt, parameter.defaultValue) : await prompter.choose(parameter.prompt, parameter.allowedValues, parameter.defaultValue);
    if (answer === '' && parameter.defaultValue === undefined) {
      prompter.warn('A value is required.');
      continue;
    }
    const problem = parameterValueProblem(parameter, answer);
    if (problem === undefined) return answer;
    prompter.warn(`Invalid value: ${problem}`);
  }
}

async function snippetOperation(liquid: LiquidEngine, template: Template, variant: TemplateVariantInfo, id: string, file: string): Promise<Operation> {
  const snippetsDir = join(template.dir, 'metadata', 'snippets');
  const path = resolve(snippetsDir, file);
  // A snippet names a file in the template's own snippets directory, never one outside it.
  if (path !== snippetsDir && !path.startsWith(`${snippetsDir}${sep}`)) {
    throw new CliError('CLI_TEMPLATE_INVALID', `Template ${template.manifest.id}: snippet '${id}' names ${file}, which is outside metadata/snippets`);
  }
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new CliError('CLI_TEMPLATE_INVALID', `Error reading snippet file ${file} of template ${template.manifest.id}: ${(cause as Error).message}`, { cause });
  });
  const content = parseContent(liquid, bytes, `metadata/snippets/${file}`);
  if (Buffer.isBuffer(content)) throw new CliError('CLI_TEMPLATE_INVALID', `Error parsing snippet file ${file} of template ${template.manifest.id}: it is not a valid template`);
  if (variant.kind === 'new') {
    throw new CliError('CLI_TEMPLATE_INVALID', `Spin doesn't know what to do with a '${id}' snippet outside an 'add component' operation (template ${template.manifest.id})`);
  }
  switch (id) {
    case 'component':
    case 'application_trigger':
      return { kind: 'append', path: variant.manifestPath, content };
    case 'variables':
      return { kind: 'merge', path: variant.manifestPath, table: 'variables', content };
    default:
      throw new CliError('CLI_TEMPLATE_INVALID', `Spin doesn't know what to do with snippet ${id} (template ${template.manifest.id}); the snippets are component, application_trigger and variables`);
  }
}

/** Parses a content file: Liquid when it is UTF-8 text that parses; otherwise its bytes unchanged (Spin does the same). */
function parseContent(liquid: LiquidEngine, bytes: Buffer, origin: string): Buffer | LiquidTemplate {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes;
  }
  try {
    return { parsed: liquid.parse(text), origin };
  } catch (err) {
    const unknownFilter = /undefined filter: ([\w-]+)/.exec((err as Error).message);
    if (unknownFilter !== null) {
      throw new CliError('CLI_TEMPLATE_RENDER', `internal error in template: unknown filter '${unknownFilter[1]}' (in ${origin})`, { cause: err });
    }
    return bytes;
  }
}

function parseTemplateText(liquid: LiquidEngine, text: string, origin: string): LiquidTemplate {
  try {
    return { parsed: liquid.parse(text), origin };
  } catch (cause) {
    throw new CliError('CLI_TEMPLATE_INVALID', `Template error: ${origin} is not a valid template: ${(cause as Error).message}`, { cause });
  }
}

type Rendered = { kind: 'file'; path: string; bytes: Buffer } | { kind: 'append' | 'merge'; path: string; table: string; text: string } | { kind: 'dir'; path: string };

async function renderAll(liquid: LiquidEngine, operations: readonly Operation[], globals: Record<string, string>): Promise<Rendered[]> {
  const out: Rendered[] = [];
  for (const op of operations) {
    if (op.kind === 'file') {
      out.push({ kind: 'file', path: op.path, bytes: Buffer.isBuffer(op.content) ? op.content : Buffer.from(await renderLiquid(liquid, op.content, globals)) });
    } else if (op.kind === 'append' || op.kind === 'merge') {
      out.push({ kind: op.kind, path: op.path, table: op.kind === 'merge' ? op.table : '', text: await renderLiquid(liquid, op.content, globals) });
    } else {
      const rel = await renderLiquid(liquid, op.path, globals);
      const path = resolve(op.base, rel);
      if (isAbsolute(rel) || (path !== op.base && !path.startsWith(`${op.base}${sep}`))) {
        throw new CliError('CLI_TEMPLATE_VALUES', `The directory '${rel}' (${op.path.origin}) is outside ${op.base}; give a path inside the app.`);
      }
      out.push({ kind: 'dir', path });
    }
  }
  return out;
}

async function readPartials(dir: string): Promise<Record<string, string>> {
  const partialsDir = join(dir, 'metadata', 'partials');
  const entries = await readdir(partialsDir, { withFileTypes: true }).catch(() => undefined);
  const partials: Record<string, string> = {};
  for (const entry of entries ?? []) {
    if (!entry.isFile()) throw new CliError('CLI_TEMPLATE_INVALID', `Non-file in partials directory: ${join(partialsDir, entry.name)}`);
    partials[entry.name] = await readFile(join(partialsDir, entry.name), 'utf8');
  }
  return partials;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

async function isEmptyDir(dir: string): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (st === undefined) return true;
  if (!st.isDirectory()) return false;
  return (await readdir(dir)).length === 0;
}

async function maybeInitGit(dir: string): Promise<boolean> {
  const inRepo = await runGit(['-C', dir, 'rev-parse', '--git-dir']);
  // Inside a repository already, or git missing: nothing to do (Spin warns only when git init itself fails).
  if (inRepo !== 'failed') return false;
  return (await runGit(['-C', dir, 'init', '--quiet'])) === 'ok';
}

function runGit(args: string[]): Promise<'ok' | 'failed' | 'missing'> {
  return new Promise((resolvePromise) => {
    const child = spawn('git', args, { stdio: 'ignore' });
    child.on('error', () => resolvePromise('missing'));
    child.on('close', (code) => resolvePromise(code === 0 ? 'ok' : 'failed'));
  });
}
