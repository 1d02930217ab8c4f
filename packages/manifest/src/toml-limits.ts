/**
 * Bounds checked on the TOML text before it is parsed. A manifest's keys are a few parts deep
 * (`component.web.dependencies."a:b/c".path`); a key of tens of thousands of dotted parts
 * builds as many nested tables, and everything after parsing walks them. One linear pass finds
 * such a key first, so it is refused in milliseconds with its line and column.
 */

/** Most dotted parts one key (a header or a `key = value`) may have. */
export const MAX_KEY_PARTS = 32;

/** Where a key with too many parts starts, 1-based. */
export interface OverlongKey {
  readonly line: number;
  readonly column: number;
  readonly parts: number;
}

const BARE = /[A-Za-z0-9_+-]/;

/**
 * The first dotted key with more than `max` parts, or undefined. It counts runs of bare or
 * quoted parts joined by `.` outside strings and comments; values (floats, dates) have at
 * most a couple of dots, so only a key can exceed the bound.
 */
export function findOverlongKey(text: string, max = MAX_KEY_PARTS): OverlongKey | undefined {
  let line = 1;
  let lineStart = 0;
  let parts = 0;
  let afterDot = false;
  let runLine = 1;
  let runColumn = 1;
  const part = (at: number): OverlongKey | undefined => {
    if (afterDot && parts > 0) parts++;
    else {
      parts = 1;
      runLine = line;
      runColumn = at - lineStart + 1;
    }
    afterDot = false;
    return parts > max ? { line: runLine, column: runColumn, parts } : undefined;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      parts = 0;
      afterDot = false;
      i++;
    } else if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && text.startsWith(c.repeat(3), i)) {
      // A multi-line string is a value, never a key part.
      const close = text.indexOf(c.repeat(3), i + 3);
      const end = close < 0 ? n : close + 3;
      for (let j = i; j < end; j++) {
        if (text[j] === '\n') {
          line++;
          lineStart = j + 1;
        }
      }
      i = end;
      parts = 0;
      afterDot = false;
    } else if (c === '"' || c === "'") {
      const found = part(i);
      if (found !== undefined) return found;
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== '\n') j += c === '"' && text[j] === '\\' ? 2 : 1;
      i = text[j] === c ? j + 1 : j;
    } else if (BARE.test(c)) {
      const found = part(i);
      if (found !== undefined) return found;
      while (i < n && BARE.test(text[i] as string)) i++;
    } else if (c === '.') {
      afterDot = parts > 0;
      i++;
    } else if (c === ' ' || c === '\t') {
      i++;
    } else {
      parts = 0;
      afterDot = false;
      i++;
    }
  }
  return undefined;
}
