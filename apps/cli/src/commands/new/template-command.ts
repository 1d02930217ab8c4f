import { readFile, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { CliError } from '../../errors.js';
import type { Prompter, RunTemplateResult, TemplateVariantInfo } from '../../templates/run-template.js';
import type { Template, TemplateStore } from '../../templates/template-store.js';
import { dataDirFlag, openTemplateStore } from '../templates/shared.js';

/** The arguments `spinel new` and `spinel add` share (Spin's `TemplateNewCommandCore`). */
export const templateRunArgs = {
  name: Args.string({ description: 'The name of the new application or component (kebab-case).' }),
  // Spin 1 syntax `spin new <template> <name>`, still accepted.
  'back-compat-name': Args.string({ hidden: true }),
};

/** The flags `spinel new` and `spinel add` share. */
export const templateRunFlags = {
  template: Flags.string({ char: 't', description: 'The template to start from (see `spinel templates list`).' }),
  tag: Flags.string({ multiple: true, description: 'Choose among templates with these tags (repeatable; when no --template).', exclusive: ['template'] }),
  output: Flags.string({ char: 'o', description: 'The directory to create it in. Default: the name.', exclusive: ['init'] }),
  init: Flags.boolean({ description: 'Create it in the current directory.', default: false, exclusive: ['output'] }),
  value: Flags.string({ char: 'v', multiple: true, description: 'A template parameter as name=value (repeatable).' }),
  'values-file': Flags.file({ description: 'A TOML file of parameter values (name = "value"); --value overrides it.', exists: true }),
  'accept-defaults': Flags.boolean({ char: 'a', description: 'Use parameters\' default values instead of asking.', default: false }),
  'no-vcs': Flags.boolean({ description: 'Create no .gitignore and no Git repository.', default: false }),
  'allow-overwrite': Flags.boolean({ aliases: ['allow-overwrites'], description: 'Generate into a directory that already has files, replacing files with the same names.', default: false }),
  'data-dir': dataDirFlag,
};

interface TemplateRunFlagValues {
  template?: string | undefined;
  tag?: string[] | undefined;
  output?: string | undefined;
  init: boolean;
  value?: string[] | undefined;
  'values-file'?: string | undefined;
  'accept-defaults': boolean;
  'no-vcs': boolean;
  'allow-overwrite': boolean;
  'data-dir'?: string | undefined;
}

/** What `spinel new`/`add` report. */
export interface TemplateRunJson {
  template: string;
  name: string;
  directory: string;
  files: string[];
  manifest: string | undefined;
  gitInitialised: boolean;
}

/**
 * Runs `spinel new` or `spinel add`: picks the template and the name (asking on a terminal),
 * gathers values (`--values-file`, then `--value`), and generates.
 *
 * @throws {CliError} `CLI_INVALID_NAME`, `CLI_INVALID_FLAG`, `CLI_TEMPLATE_NOT_FOUND` and the template run's codes
 */
export async function runTemplateCommand(options: {
  variant: TemplateVariantInfo;
  args: { name?: string | undefined; 'back-compat-name'?: string | undefined };
  flags: TemplateRunFlagValues;
  interactive: boolean;
  note: (line: string) => void;
}): Promise<{ result: RunTemplateResult; json: TemplateRunJson } | undefined> {
  const { variant, flags } = options;
  const cwd = process.cwd();
  const store = await openTemplateStore(flags['data-dir']);
  const command = variant.kind === 'new' ? 'new' : 'add';
  const noun = variant.kind === 'new' ? 'application' : 'component';

  let name = options.args.name;
  let templateId = flags.template;
  const compat = options.args['back-compat-name'];
  if (compat !== undefined) {
    if (templateId !== undefined) throw new CliError('CLI_INVALID_FLAG', 'Cannot supply both positional and named template id');
    options.note(`Using Spin 1 command syntax. The recommended syntax is 'spinel ${command} ${compat} -t ${name ?? ''}'`);
    templateId = name;
    name = compat;
  } else if (name !== undefined && templateId === undefined && (await store.get(name).catch(() => undefined)) !== undefined) {
    options.note(`This will create ${variant.kind === 'new' ? 'an application' : 'a component'} called ${name}. If you meant to use the ${name} template, write '-t ${name}'.`);
  }

  const prompter = options.interactive ? await createPrompter() : undefined;
  try {
    const template = templateId !== undefined ? await store.require(templateId) : await pickTemplate(store, variant, flags.tag ?? [], prompter, command);
    if (template === undefined) return undefined;

    if (name !== undefined) {
      const problem = await nameProblem(name);
      if (problem !== undefined) {
        if (prompter === undefined) throw new CliError('CLI_INVALID_NAME', `Invalid ${noun} name '${name}': ${problem}`, { hint: 'Use kebab-case, e.g. my-app.' });
        prompter.warn(`Name must be kebab-cased, and each segment must begin with a letter.`);
        name = undefined;
      }
    }
    if (name === undefined) {
      if (prompter === undefined) throw new CliError('CLI_INVALID_NAME', `Give the new ${noun} a name: spinel ${command} <name> -t ${template.manifest.id}`);
      name = await askName(prompter, noun);
    }

    const outputPath = flags.init ? '.' : (flags.output ?? name.replace(/[^-_.a-zA-Z0-9]/g, '_'));
    const values = await gatherValues(flags['values-file'], flags.value ?? []);
    const { runTemplate } = await import('../../templates/run-template.js');
    const { discoverAuthors } = await import('../../templates/authors.js');
    const result = await runTemplate({
      template,
      variant,
      name,
      outputPath,
      values,
      acceptDefaults: flags['accept-defaults'],
      noVcs: flags['no-vcs'],
      allowOverwrite: flags['allow-overwrite'],
      cwd,
      authors: await discoverAuthors(),
      prompter,
    });
    return {
      result,
      json: {
        template: template.manifest.id,
        name,
        directory: result.targetDir,
        files: result.filesWritten.map((f) => relative(cwd, f)),
        manifest: result.manifestEdited,
        gitInitialised: result.gitInitialised,
      },
    };
  } finally {
    prompter?.close();
  }
}

async function createPrompter(): Promise<Prompter & { close(): void }> {
  const { createTerminalPrompter } = await import('../../templates/terminal-prompter.js');
  return createTerminalPrompter();
}

async function pickTemplate(store: TemplateStore, variant: TemplateVariantInfo, tags: readonly string[], prompter: Prompter | undefined, command: string): Promise<Template | undefined> {
  const wanted = tags.map((t) => t.toLowerCase());
  const candidates = (await store.list()).templates.filter(
    (t) => (variant.kind === 'new' ? t.manifest.newApplication : t.manifest.addComponent) !== undefined && wanted.every((tag) => t.manifest.tags.includes(tag)),
  );
  if (candidates.length === 0) {
    throw new CliError('CLI_TEMPLATE_NOT_FOUND', wanted.length === 0 ? 'No suitable templates found' : wanted.length === 1 ? `No templates matched '${wanted[0]}'` : 'No templates matched all tags', {
      hint: 'See `spinel templates list`, or install more with `spinel templates install`.',
    });
  }
  if (prompter === undefined) {
    throw new CliError('CLI_INVALID_FLAG', `Choose a template with -t: spinel ${command} <name> -t <template>`, { hint: `Templates: ${candidates.map((t) => t.manifest.id).join(', ')}.` });
  }
  const labels = candidates.map((t) => `${t.manifest.id} (${t.manifest.description ?? ''})`);
  const chosen = await prompter.choose(`Pick a template to start your ${variant.kind === 'new' ? 'application' : 'component'} with`, labels, labels[0]);
  return candidates[labels.indexOf(chosen)];
}

async function askName(prompter: Prompter, noun: string): Promise<string> {
  let question = `Enter a name for your new ${noun}`;
  for (;;) {
    const answer = (await prompter.text(question, undefined)).trim();
    if (answer === '') question = `Name is required. Try another ${noun} name (or Ctrl+C to exit)`;
    else if ((await nameProblem(answer)) !== undefined) question = `Name must be kebab-cased, and each segment must start with a letter. Try another ${noun} name (or Ctrl+C to exit)`;
    else return answer;
  }
}

/** Why a name is refused: Spin wants each segment to start with a letter, and a kebab-case id. */
async function nameProblem(name: string): Promise<string | undefined> {
  const bad = name.split(/[^\p{L}\p{N}]/u).filter((s) => !/^\p{L}/u.test(s));
  if (bad.length > 0) {
    return `Each segment of the name must start with a letter. ${bad.map((s) => `'${s}'`).join(', ')} ${bad.length === 1 ? 'does' : 'do'} not start with a letter`;
  }
  const { kebabIdProblem } = await import('@spinel/manifest');
  const problem = kebabIdProblem(name);
  return problem === undefined ? undefined : `Name must be kebab-cased (${problem})`;
}

async function gatherValues(valuesFile: string | undefined, pairs: readonly string[]): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  if (valuesFile !== undefined) {
    const { parse } = await import('smol-toml');
    let doc: Record<string, unknown>;
    try {
      doc = parse(await readFile(valuesFile, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new CliError('CLI_TEMPLATE_VALUES', `Failed to read values file ${valuesFile}: ${(cause as Error).message}`, { cause });
    }
    for (const [k, v] of Object.entries(doc)) {
      if (typeof v !== 'string') throw new CliError('CLI_TEMPLATE_VALUES', `Failed to deserialize values file ${valuesFile}: '${k}' must be a string (name = "value")`);
      values[k] = v;
    }
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new CliError('CLI_INVALID_FLAG', `'${pair}' should be in the form name=value`);
    values[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return values;
}

/**
 * The manifest `spinel add` adds to: `-f` (a file, or a directory holding spin.toml), default
 * `spin.toml` in the current directory.
 *
 * @throws {CliError} `CLI_INVALID_FLAG` when there is no such file
 */
export async function manifestForAdd(file: string | undefined): Promise<string> {
  let path = resolve(file ?? 'spin.toml');
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory() === true) path = resolve(path, 'spin.toml');
  if ((await stat(path).catch(() => undefined))?.isFile() !== true) {
    throw new CliError('CLI_INVALID_FLAG', `Can't add component to ${path}: file does not exist`, { hint: 'Run spinel add in the app\'s directory, or pass -f <spin.toml>; start a new app with spinel new.' });
  }
  return path;
}
