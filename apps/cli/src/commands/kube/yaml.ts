/**
 * YAML for Kubernetes objects: block style, keys in insertion order, strings plain only when
 * they cannot be misread (names and paths) and double-quoted otherwise (JSON string syntax is
 * valid YAML, so no value is read back as a number, a boolean or a date), multi-line strings
 * as literal blocks. Plain data only.
 */

/** One YAML document for a plain object (strings, numbers, booleans, arrays, objects). */
export function toYaml(value: Record<string, unknown>): string {
  return `${block(value, 0).join('\n')}\n`;
}

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

function scalar(value: Plain): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return plain(value) ? value : JSON.stringify(value);
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (!Array.isArray(value) && typeof value === 'object' && Object.keys(value).length === 0) return '{}';
  return undefined;
}

/** Words YAML 1.1 readers (kubectl's included) take for booleans or null. */
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

/** A string that reads back as itself unquoted: a letter or `_`/`/` first, then only name characters. */
function plain(text: string): boolean {
  return /^[A-Za-z_/][A-Za-z0-9_.\-/]*$/.test(text) && !RESERVED.test(text);
}

function key(k: string): string {
  return plain(k) ? k : JSON.stringify(k);
}

function literal(text: string, indent: number): string[] {
  // A literal block keeps text as written; `|-` when there is no final newline.
  const pad = ' '.repeat(indent);
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return [text.endsWith('\n') ? '|' : '|-', ...body.split('\n').map((line) => (line === '' ? '' : `${pad}${line}`))];
}

function multiline(value: Plain): boolean {
  // Lines with trailing spaces or tabs cannot be kept exactly in a literal block.
  return typeof value === 'string' && value.includes('\n') && !/[ \t]\n|[ \t]$|\r/.test(value) && !value.startsWith(' ');
}

function block(value: Plain | Record<string, unknown>, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const s = scalar(item);
      if (s !== undefined) {
        lines.push(`${pad}- ${s}`);
        continue;
      }
      const inner = block(item, indent + 2);
      lines.push(`${pad}- ${(inner[0] ?? '').trimStart()}`, ...inner.slice(1));
    }
    return lines;
  }
  for (const [k, v] of Object.entries(value as Record<string, Plain | undefined>)) {
    if (v === undefined) continue;
    if (multiline(v)) {
      const [head, ...rest] = literal(v as string, indent + 2);
      lines.push(`${pad}${key(k)}: ${head}`, ...rest);
      continue;
    }
    const s = scalar(v);
    if (s !== undefined) lines.push(`${pad}${key(k)}: ${s}`);
    else lines.push(`${pad}${key(k)}:`, ...block(v, Array.isArray(v) ? indent : indent + 2));
  }
  return lines;
}
