/**
 * Maps a key path (`['component', 'web', 'source']`) back to a line and column in the
 * TOML text, and renders a caret excerpt, so errors found after parsing still point at
 * the source. TOML has several spellings for one key (headers, dotted keys, inline
 * tables); this scanner finds the common ones and falls back to the nearest parent.
 */

/** A key path segment: a table key or an array index. */
export type KeyPath = readonly (string | number)[];

/** 1-based position plus the length of the thing to underline. */
export interface TextPosition {
  line: number;
  column: number;
  length: number;
}

/** A table header as written (`[a.b]`, `[[c]]`), with array-of-tables indexes inserted in `full`. */
export interface TomlHeader {
  line: number;
  /** Keys as written in the header. */
  path: string[];
  /** Keys with array-of-tables indexes inserted, e.g. `component, 0, trigger`. */
  full: (string | number)[];
  array: boolean;
}

// Sticky: matches at `lastIndex` without copying the rest of the line for every key.
const BARE = /[A-Za-z0-9_-]+/y;

/** Reads dotted keys (`a."b c".d`) from the start of `s`; returns keys and consumed length. */
function readKeys(s: string): { keys: string[]; end: number; starts: number[] } | undefined {
  const keys: string[] = [];
  const starts: number[] = [];
  let i = 0;
  for (;;) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    starts.push(i);
    if (s[i] === '"' || s[i] === "'") {
      const q = s[i] as string;
      let j = i + 1;
      let out = '';
      while (j < s.length && s[j] !== q) {
        if (q === '"' && s[j] === '\\' && j + 1 < s.length) {
          out += s[j + 1];
          j += 2;
        } else out += s[j++];
      }
      if (j >= s.length) return undefined;
      keys.push(out);
      i = j + 1;
    } else {
      BARE.lastIndex = i;
      const m = BARE.exec(s);
      if (m === null) return undefined;
      keys.push(m[0]);
      i += m[0].length;
    }
    let k = i;
    while (s[k] === ' ' || s[k] === '\t') k++;
    if (s[k] === '.') {
      i = k + 1;
      continue;
    }
    return { keys, end: i, starts };
  }
}

/**
 * The text scanned once for locating: its lines, its table headers and the sections they
 * open. Locating many problems in one text reuses it, so the cost is one scan plus a pass
 * over the sections per problem, not a scan of the whole text each time.
 */
export interface TomlIndex {
  readonly lines: readonly string[];
  readonly headers: readonly TomlHeader[];
  readonly sections: readonly { header: TomlHeader | undefined; from: number; to: number }[];
}

/** Scans `text` for {@link locateInIndex}. */
export function indexToml(text: string): TomlIndex {
  const lines = text.split(/\r?\n/);
  const headers: TomlHeader[] = [];
  const counts = new Map<string, number>();
  lines.forEach((raw, idx) => {
    const l = raw.trimStart();
    const array = l.startsWith('[[');
    if (!l.startsWith('[')) return;
    const r = readKeys(l.slice(array ? 2 : 1));
    if (r === undefined) return;
    const full: (string | number)[] = [];
    let prefix = '';
    r.keys.forEach((k, ki) => {
      full.push(k);
      prefix = ki === 0 ? k : `${prefix}\u0000${k}`;
      const isLast = ki === r.keys.length - 1;
      if (isLast && array) {
        const n = counts.get(prefix) ?? 0;
        counts.set(prefix, n + 1);
        // Starting a new element resets the counts of arrays nested inside the old one.
        for (const key of [...counts.keys()]) if (key.startsWith(`${prefix}\u0000`)) counts.delete(key);
        full.push(n);
      } else if (counts.has(prefix)) {
        full.push((counts.get(prefix) as number) - 1);
      }
    });
    headers.push({ line: idx, path: r.keys, full, array });
  });
  // Section boundaries: header i covers lines (header.line, next header line).
  const sections: { header: TomlHeader | undefined; from: number; to: number }[] = [];
  sections.push({ header: undefined, from: 0, to: headers[0]?.line ?? lines.length });
  headers.forEach((h, i) => sections.push({ header: h, from: h.line + 1, to: headers[i + 1]?.line ?? lines.length }));
  return { lines, headers, sections };
}

/** Finds where `path` is written in `text`; `at` chooses the key or its value. */
export function locateKeyPath(text: string, path: KeyPath, at: 'key' | 'value' = 'key'): TextPosition | undefined {
  return locateInIndex(indexToml(text), path, at);
}

/** {@link locateKeyPath} over a text scanned once with {@link indexToml}. */
export function locateInIndex(index: TomlIndex, path: KeyPath, at: 'key' | 'value' = 'key'): TextPosition | undefined {
  const { lines, sections } = index;
  // The header path for a key path: string keys, with array indexes matched to [[...]] occurrences.
  let best: TextPosition | undefined;
  let bestDepth = -1;
  const consider = (depth: number, pos: TextPosition): void => {
    if (depth > bestDepth) {
      bestDepth = depth;
      best = pos;
    }
  };

  for (const section of sections) {
    // Does this section's header match a prefix of `path`?
    let consumed = 0;
    if (section.header !== undefined) {
      const h = section.header;
      let pi = 0;
      let ok = true;
      for (const key of h.full) {
        if (pi === path.length) break; // the header goes deeper than the path: it defines the path's key
        if (path[pi] !== key) {
          ok = false;
          break;
        }
        pi++;
      }
      if (!ok) continue;
      if (pi < h.full.length) {
        const pos = headerKeyPos(lines, h, path.length - 1);
        if (pos !== undefined) consider(pi, pos);
        continue;
      }
      consumed = pi;
      consider(consumed, headerPos(lines, h));
      if (consumed >= path.length) continue;
    }
    // Look for `key = value` lines in this section (dotted keys allowed).
    for (let li = section.from; li < section.to; li++) {
      const raw = lines[li] as string;
      const indent = raw.length - raw.trimStart().length;
      const l = raw.slice(indent);
      if (l === '' || l.startsWith('#')) continue;
      const r = readKeys(l);
      if (r === undefined) continue;
      const rest = l.slice(r.end).trimStart();
      if (!rest.startsWith('=')) continue;
      let depth = consumed;
      let ki = 0;
      while (ki < r.keys.length && depth < path.length && path[depth] === r.keys[ki]) {
        depth++;
        ki++;
      }
      if (ki === 0) continue;
      const keyCol = indent + (r.starts[ki - 1] as number);
      const keyLen = String(r.keys[ki - 1]).length + (l[r.starts[ki - 1] as number] === '"' || l[r.starts[ki - 1] as number] === "'" ? 2 : 0);
      if (ki < r.keys.length) {
        consider(depth, { line: li + 1, column: keyCol + 1, length: keyLen });
        continue;
      }
      const valueStart = indent + r.end + (l.slice(r.end).length - rest.length) + 1;
      const valueCol = valueStart + (rest.slice(1).length - rest.slice(1).trimStart().length);
      const valueText = rest.slice(1).trim();
      // Descend into inline tables / arrays, which may continue on the following lines.
      const full = continueValue(valueText, lines, li);
      const inner = locateInline(full, path.slice(depth));
      if (inner !== undefined) {
        const before = full.slice(0, inner.offset);
        const nl = before.lastIndexOf('\n');
        if (nl < 0) consider(depth + inner.depth, { line: li + 1, column: valueCol + 1 + inner.offset, length: inner.length });
        else consider(depth + inner.depth, { line: li + 1 + (before.match(/\n/g) ?? []).length, column: inner.offset - nl, length: inner.length });
        continue;
      }
      if (depth === path.length && at === 'value') {
        consider(depth, { line: li + 1, column: valueCol + 1, length: Math.max(1, valueLength(valueText)) });
      } else consider(depth, { line: li + 1, column: keyCol + 1, length: keyLen });
    }
  }
  return best;
}

/** An array or inline table left open on its line, joined with the lines that close it. */
function continueValue(first: string, lines: readonly string[], li: number): string {
  if (!first.startsWith('[') && !first.startsWith('{')) return first;
  let text = first;
  for (let next = li + 1; next < lines.length && !balanced(text) && next < li + 500; next++) text += `\n${lines[next] as string}`;
  return text;
}

function balanced(text: string): boolean {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth <= 0;
}

function headerPos(lines: readonly string[], h: TomlHeader): TextPosition {
  const raw = lines[h.line] as string;
  const indent = raw.length - raw.trimStart().length;
  const open = h.array ? 2 : 1;
  const close = raw.indexOf(']', indent + open);
  const inner = raw.slice(indent + open, close < 0 ? raw.length : close);
  // Underline the last key of the header, as Spin does for `[component.bad_id]`.
  const lastDot = inner.lastIndexOf('.');
  const start = lastDot < 0 ? 0 : lastDot + 1;
  const lead = inner.slice(start).length - inner.slice(start).trimStart().length;
  return { line: h.line + 1, column: indent + open + start + lead + 1, length: Math.max(1, inner.slice(start).trim().length) };
}

/** The position of the `index`-th key (counting written keys, not array indexes) of a header. */
function headerKeyPos(lines: readonly string[], h: TomlHeader, fullIndex: number): TextPosition | undefined {
  // `full` has array indexes inserted; count only the written keys up to `fullIndex`.
  let keyIndex = -1;
  for (let i = 0; i <= fullIndex && i < h.full.length; i++) if (typeof h.full[i] === 'string') keyIndex++;
  if (keyIndex < 0) return undefined;
  const raw = lines[h.line] as string;
  const indent = raw.length - raw.trimStart().length;
  const open = h.array ? 2 : 1;
  const r = readKeys(raw.slice(indent + open));
  const start = r?.starts[keyIndex];
  if (r === undefined || start === undefined) return undefined;
  const key = r.keys[keyIndex] ?? '';
  const quoted = raw[indent + open + start] === '"' || raw[indent + open + start] === "'";
  return { line: h.line + 1, column: indent + open + start + 1, length: Math.max(1, key.length + (quoted ? 2 : 0)) };
}

function valueLength(v: string): number {
  if (v.startsWith('"') || v.startsWith("'")) {
    const q = v[0] as string;
    let i = 1;
    while (i < v.length && v[i] !== q) i += v[i] === '\\' ? 2 : 1;
    return Math.min(v.length, i + 1);
  }
  const hash = v.indexOf(' #');
  return (hash < 0 ? v : v.slice(0, hash)).trimEnd().length;
}

/** Finds `rest` inside an inline table/array value text; returns offset in `value`. */
function locateInline(value: string, rest: KeyPath): { offset: number; length: number; depth: number } | undefined {
  if (rest.length === 0) return undefined;
  const seg = rest[0];
  if (typeof seg === 'string' && value.startsWith('{')) {
    const re = new RegExp(`(^|[{,\\s])("${escapeRe(seg)}"|'${escapeRe(seg)}'|${escapeRe(seg)})\\s*=`);
    const m = re.exec(value);
    if (m === null) return undefined;
    const keyOffset = m.index + (m[1] as string).length;
    const after = value.slice(m.index + m[0].length);
    const lead = after.length - after.trimStart().length;
    const valOffset = m.index + m[0].length + lead;
    if (rest.length === 1) return { offset: valOffset, length: Math.max(1, valueLength(after.trimStart())), depth: 1 };
    const deeper = locateInline(after.trimStart(), rest.slice(1));
    if (deeper !== undefined) return { offset: valOffset + deeper.offset, length: deeper.length, depth: 1 + deeper.depth };
    return { offset: keyOffset, length: (m[2] as string).length, depth: 1 };
  }
  if (typeof seg === 'number' && value.startsWith('[')) {
    // Split top-level array items.
    let depth = 0;
    let item = 0;
    let start = 1;
    let inStr: string | undefined;
    for (let i = 1; i < value.length; i++) {
      const c = value[i] as string;
      if (inStr !== undefined) {
        if (c === '\\' && inStr === '"') i++;
        else if (c === inStr) inStr = undefined;
        continue;
      }
      if (c === '"' || c === "'") inStr = c;
      else if (c === '[' || c === '{') depth++;
      else if ((c === ']' || c === '}') && depth > 0) depth--;
      else if ((c === ',' && depth === 0) || (c === ']' && depth === 0)) {
        if (item === seg) {
          const text = value.slice(start, i);
          const lead = text.length - text.trimStart().length;
          const itemText = text.trim();
          if (rest.length > 1) {
            const deeper = locateInline(itemText, rest.slice(1));
            if (deeper !== undefined) return { offset: start + lead + deeper.offset, length: deeper.length, depth: 1 + deeper.depth };
          }
          return { offset: start + lead, length: Math.max(1, itemText.length), depth: 1 };
        }
        item++;
        start = i + 1;
        if (c === ']') break;
      }
    }
  }
  return undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Renders Spin-style caret excerpt: `  |`, `N | line`, `  |   ^^^`. */
export function caretExcerpt(text: string, line: number, column: number, length = 1): string {
  const src = (text.split(/\r?\n/)[line - 1] ?? '').replace(/\t/g, ' ');
  const gutter = String(line).length;
  const pad = ' '.repeat(gutter);
  const width = Math.max(1, Math.min(length, Math.max(1, src.length - column + 1)));
  return `${pad} |\n${line} | ${src}\n${pad} | ${' '.repeat(Math.max(0, column - 1))}${'^'.repeat(width)}`;
}
