import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { caretExcerpt, locateKeyPath } from '@spinel/manifest';
import { parse as parseToml } from 'smol-toml';
import { RuntimeConfigError, type RuntimeConfigProblem } from '../../errors.js';
import { RUNTIME_CONFIG_SECTIONS } from './sections.js';
import { showKeyPath, table, type ReadContext, type SpecValue } from './spec.js';

const ROOT = table(RUNTIME_CONFIG_SECTIONS);

type Sections = SpecValue<typeof ROOT>;

/**
 * A runtime-config file, checked: every section typed, relative paths made absolute as Spin
 * resolves them, `[[config_provider]]` folded into `variablesProvider`. Absent sections are absent.
 */
export type RuntimeConfig = Omit<Sections, 'configProvider'> & {
  /** The file it was read from, when it came from one. */
  readonly file: string | undefined;
};

/** Options of {@link parseRuntimeConfig}. */
export interface ParseRuntimeConfigOptions {
  /** Directory `state_dir`, `log_dir`, `dotenv_path` and SQLite paths resolve against (Spin: the working directory). */
  cwd: string;
  /** The file the text came from: named in messages, and its directory is what key-value and TLS paths resolve against. */
  file?: string;
  /** Directory key-value and TLS paths resolve against. @default the file's directory, else `cwd` */
  configDir?: string;
}

/**
 * Parses and checks runtime-config TOML. Every problem is collected, each located by line and
 * column, and reported in one error; values of secret keys (tokens, static variables, Redis URLs)
 * never appear in messages or excerpts.
 * @throws RuntimeConfigError `RUNTIME_CONFIG_READ` (not TOML), `RUNTIME_CONFIG_UNKNOWN_KEY`, `RUNTIME_CONFIG_INVALID`, `RUNTIME_CONFIG_UNSUPPORTED`
 */
export function parseRuntimeConfig(text: string, options: ParseRuntimeConfigOptions): RuntimeConfig {
  const file = options.file;
  let document: Record<string, unknown>;
  try {
    document = parseToml(text, { integersAsBigInt: true }) as Record<string, unknown>;
  } catch (err) {
    const { line, column } = err as { line?: number; column?: number };
    // smol-toml's message carries the offending lines, which may hold secrets: keep its first line only.
    const reason = ((err as Error).message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
    const where = [file ?? 'runtime config', line, column].filter((v) => v !== undefined).join(':');
    const excerpt = line === undefined ? '' : `\n${redactedExcerpt(text, line, column ?? 1, 1, false)}`;
    throw new RuntimeConfigError('RUNTIME_CONFIG_READ', `${where}: the runtime config is not valid TOML: ${reason}; fix it and start again${excerpt}`, { file, cause: err });
  }

  const problems: RuntimeConfigProblem[] = [];
  const ctx: ReadContext = {
    cwd: options.cwd,
    configDir: options.configDir ?? (file === undefined ? options.cwd : dirname(resolve(options.cwd, file))),
    problems: {
      add(code, message, keyPath, at, showValue = false) {
        const pos = keyPath.length === 0 ? { line: 1, column: 1, length: 1 } : locateKeyPath(text, keyPath, at);
        problems.push({
          code,
          message,
          keyPath: showKeyPath(keyPath),
          ...(pos === undefined ? {} : { line: pos.line, column: pos.column, excerpt: redactedExcerpt(text, pos.line, pos.column, pos.length, showValue) }),
        });
      },
    },
  };
  if (document['variables_provider'] !== undefined && document['config_provider'] !== undefined) {
    // Spin reads `variables_provider` and then reports `config_provider` as an unused key.
    ctx.problems.add('RUNTIME_CONFIG_UNKNOWN_KEY', '`config_provider` is the old name of `variables_provider`; put every provider under [[variables_provider]]', Array.isArray(document['config_provider']) ? ['config_provider', 0] : ['config_provider'], 'key');
  }
  const sections = ROOT.read(document, [], ctx);
  if (sections === undefined || problems.length > 0) throw aggregate(problems, file);
  const { configProvider, ...rest } = sections;
  return { ...rest, ...(rest.variablesProvider === undefined && configProvider !== undefined ? { variablesProvider: configProvider } : {}), file };
}

/**
 * Reads and checks a runtime-config file (see {@link parseRuntimeConfig}).
 * @throws RuntimeConfigError `RUNTIME_CONFIG_READ` when the file cannot be read, and every code of {@link parseRuntimeConfig}
 */
export async function readRuntimeConfig(file: string, options: Omit<ParseRuntimeConfigOptions, 'file'>): Promise<RuntimeConfig> {
  const absolute = resolve(options.cwd, file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RuntimeConfigError('RUNTIME_CONFIG_READ', `cannot read runtime config file ${JSON.stringify(file)}: ${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}`, { file, cause: err });
  }
  return parseRuntimeConfig(text, { ...options, file: absolute });
}

function aggregate(problems: RuntimeConfigProblem[], file: string | undefined): RuntimeConfigError {
  const first = problems[0];
  const name = file === undefined ? 'The runtime config' : `Runtime config ${JSON.stringify(file)}`;
  const head = problems.length === 1 ? `${name} has a problem; fix it and start again:` : `${name} has ${problems.length} problems; fix them and start again:`;
  const body = problems.map((p) => {
    const where = [file ?? 'runtime config', p.line, p.column].filter((v) => v !== undefined).join(':');
    const lines = [`${where}: ${p.message}`, ...(p.excerpt === undefined ? [] : p.excerpt.split('\n'))];
    return lines.map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)).join('\n');
  });
  return new RuntimeConfigError(first?.code ?? 'RUNTIME_CONFIG_INVALID', `${head}\n${body.join('\n')}`, { file, problems });
}

/**
 * A caret excerpt of one line in which string values are shown as `"…"` unless `showValue`
 * (keys stay readable; a value may be a token or password).
 */
function redactedExcerpt(text: string, line: number, column: number, length: number, showValue: boolean): string {
  const source = text.split(/\r?\n/)[line - 1] ?? '';
  const at = (shown: string): string => `${'\n'.repeat(line - 1)}${shown}`;
  if (showValue) return caretExcerpt(at(source), line, column, length);
  const { text: redacted, map } = redactStrings(source);
  const start = map(column - 1);
  const end = map(column - 1 + length);
  return caretExcerpt(at(redacted), line, start + 1, Math.max(1, end - start));
}

/** Replaces the contents of string values (not quoted keys) with `…`; `map` turns an old column into a new one. */
function redactStrings(line: string): { text: string; map: (col: number) => number } {
  let out = '';
  const shifts: Array<[at: number, delta: number]> = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '#') {
      out += line.slice(i);
      break;
    }
    if (c !== '"' && c !== "'") {
      out += c;
      i++;
      continue;
    }
    const triple = line.startsWith(c.repeat(3), i);
    const quote = triple ? c.repeat(3) : c;
    let j = i + quote.length;
    while (j < line.length && !line.startsWith(quote, j)) j += line[j] === '\\' && c === '"' ? 2 : 1;
    const end = Math.min(line.length, j + quote.length);
    const literal = line.slice(i, end);
    const isKey = /^\s*=/.test(line.slice(end));
    const replacement = isKey ? literal : `${quote}…${j < line.length ? quote : ''}`;
    out += replacement;
    shifts.push([end, replacement.length - literal.length]);
    i = end;
  }
  return {
    text: out,
    map: (col) => col + shifts.filter(([at]) => at <= col).reduce((sum, [, d]) => sum + d, 0),
  };
}
