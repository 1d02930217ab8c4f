import { parse } from 'smol-toml';
import { CliError } from '../errors.js';

/** One logical TOML line group: a table header, a `key = value` (possibly spanning lines), or blank/comment lines. */
interface Statement {
  kind: 'header' | 'keyval' | 'trivia';
  /** First and one-past-last line index. */
  start: number;
  end: number;
  /** For a header: the table path as written; for a keyval: its first key, unquoted. */
  name: string;
  /** `[[x]]` headers. */
  array: boolean;
}

/**
 * Merges a snippet of `key = value` lines into a table of a TOML document without disturbing
 * anything else in it (comments, ordering, spacing): Spin's `variables` snippet (Spin merges
 * with toml_edit; this does the same edit on the text). A key already in the table has its
 * line replaced; new keys go after the table's last entry; a missing table is appended.
 *
 * @throws {CliError} `CLI_MANIFEST_EDIT` when either side is not valid TOML, the table is
 * written in a form this cannot edit (inline or dotted), or the result does not read back
 */
export function mergeTomlTable(existing: string, table: string, snippet: string): string {
  let before: Record<string, unknown>;
  let merging: Record<string, unknown>;
  try {
    before = parse(existing) as Record<string, unknown>;
  } catch (cause) {
    throw new CliError('CLI_MANIFEST_EDIT', `Can't merge into the existing manifest - it's not valid TOML: ${(cause as Error).message}`, { cause });
  }
  try {
    merging = parse(snippet) as Record<string, unknown>;
  } catch (cause) {
    throw new CliError('CLI_MANIFEST_EDIT', `Can't merge snippet - it's not valid TOML: ${(cause as Error).message}`, { cause });
  }
  const snippetLines = snippet.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  const snippetStatements = scan(snippetLines);
  if (snippetStatements.some((s) => s.kind === 'header')) {
    throw new CliError('CLI_MANIFEST_EDIT', `Can't merge snippet into [${table}]: it may hold only key = value lines, not tables`);
  }
  const newline = existing.includes('\r\n') ? '\r\n' : '\n';
  const lines = existing.replace(/\r\n/g, '\n').split('\n');
  const statements = scan(lines);
  const header = statements.find((s) => s.kind === 'header' && !s.array && s.name === table);
  let result: string[];
  if (header === undefined) {
    if (Object.hasOwn(before, table)) {
      throw new CliError('CLI_MANIFEST_EDIT', `The manifest defines \`${table}\` in a form spinel cannot edit (inline or dotted keys); add these lines to it by hand:\n${snippet.trim()}`);
    }
    const body = existing.replace(/\s+$/, '');
    result = [...(body === '' ? [] : [body, '']), `[${table}]`, ...snippetLines, ''];
  } else {
    const sectionEnd = statements.find((s) => s.kind === 'header' && s.start > header.start)?.start ?? lines.length;
    const section = statements.filter((s) => s.start > header.start && s.start < sectionEnd);
    const out = [...lines];
    let insertAt = Math.max(header.end, ...section.filter((s) => s.kind === 'keyval').map((s) => s.end));
    // Replacements first, from the bottom up, so earlier line numbers stay valid.
    const replacements: { statement: Statement; text: string[] }[] = [];
    const additions: string[] = [];
    let pendingTrivia: string[] = [];
    for (const item of snippetStatements) {
      const text = snippetLines.slice(item.start, item.end);
      if (item.kind === 'trivia') {
        pendingTrivia.push(...text.filter((l) => l.trim() !== ''));
        continue;
      }
      const current = section.find((s) => s.kind === 'keyval' && s.name === item.name);
      if (current === undefined) additions.push(...pendingTrivia, ...text);
      else replacements.push({ statement: current, text });
      pendingTrivia = [];
    }
    replacements.sort((a, b) => b.statement.start - a.statement.start);
    for (const r of replacements) {
      out.splice(r.statement.start, r.statement.end - r.statement.start, ...r.text);
      const delta = r.text.length - (r.statement.end - r.statement.start);
      if (r.statement.start < insertAt) insertAt += delta;
    }
    out.splice(insertAt, 0, ...additions);
    result = out;
  }
  const text = result.join(newline);
  let after: Record<string, unknown>;
  try {
    after = parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new CliError('CLI_MANIFEST_EDIT', `Merging into [${table}] would break the manifest (${(cause as Error).message}); add these lines by hand:\n${snippet.trim()}`, { cause });
  }
  const merged = after[table] as Record<string, unknown> | undefined;
  const expected = { ...((before[table] as Record<string, unknown> | undefined) ?? {}), ...merging };
  if (canonical(merged) !== canonical(expected)) {
    throw new CliError('CLI_MANIFEST_EDIT', `Merging into [${table}] did not give the expected table; add these lines by hand:\n${snippet.trim()}`);
  }
  return text;
}

/** Splits TOML lines into statements, following strings, brackets and comments well enough to find where each ends. */
function scan(lines: readonly string[]): Statement[] {
  const out: Statement[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] as string;
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      out.push({ kind: 'trivia', start: i, end: i + 1, name: '', array: false });
      i += 1;
      continue;
    }
    if (trimmed.startsWith('[')) {
      const array = trimmed.startsWith('[[');
      const m = array ? /^\[\[\s*(.*?)\s*\]\]/.exec(trimmed) : /^\[\s*(.*?)\s*\]/.exec(trimmed);
      out.push({ kind: 'header', start: i, end: i + 1, name: unquotePath(m?.[1] ?? ''), array });
      i += 1;
      continue;
    }
    const eq = keyEnd(first);
    const name = unquotePath(first.slice(0, eq).trim()).split('.')[0] ?? '';
    const end = valueEnd(lines, i, eq + 1);
    out.push({ kind: 'keyval', start: i, end, name, array: false });
    i = end;
  }
  return out;
}

/** Index of the `=` that ends a key (quoted keys may contain `=`). */
function keyEnd(line: string): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '=') return i;
  }
  return line.length;
}

/** The line after the one where a value starting at (`line`, `col`) ends. */
function valueEnd(lines: readonly string[], line: number, col: number): number {
  let depth = 0;
  let mode: 'none' | 'basic' | 'literal' | 'multiBasic' | 'multiLiteral' = 'none';
  for (let l = line; l < lines.length; l += 1) {
    const text = lines[l] as string;
    for (let i = l === line ? col : 0; i < text.length; i += 1) {
      const c = text[i];
      if (mode === 'basic') {
        if (c === '\\') i += 1;
        else if (c === '"') mode = 'none';
      } else if (mode === 'literal') {
        if (c === "'") mode = 'none';
      } else if (mode === 'multiBasic') {
        if (c === '\\') i += 1;
        else if (text.startsWith('"""', i)) {
          mode = 'none';
          i += 2;
        }
      } else if (mode === 'multiLiteral') {
        if (text.startsWith("'''", i)) {
          mode = 'none';
          i += 2;
        }
      } else if (text.startsWith('"""', i)) {
        mode = 'multiBasic';
        i += 2;
      } else if (text.startsWith("'''", i)) {
        mode = 'multiLiteral';
        i += 2;
      } else if (c === '"') mode = 'basic';
      else if (c === "'") mode = 'literal';
      else if (c === '#') break;
      else if (c === '[' || c === '{') depth += 1;
      else if (c === ']' || c === '}') depth -= 1;
    }
    if (mode === 'basic' || mode === 'literal') mode = 'none';
    if (depth <= 0 && mode === 'none') return l + 1;
  }
  return lines.length;
}

function unquotePath(path: string): string {
  return path
    .split('.')
    .map((part) => part.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'))
    .join('.');
}

/** JSON with sorted keys: the parser's objects and spread copies compare by content only. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
