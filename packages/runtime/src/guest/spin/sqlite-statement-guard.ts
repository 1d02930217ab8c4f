/**
 * Statements a guest may not run on its SQLite connection because they reach outside its
 * database: `ATTACH` of a file (Spin denies it with an authorizer unless `allow_attach_file`),
 * `VACUUM … INTO` (writes a new file anywhere), and the pragmas whose effect is process-wide
 * (`temp_store_directory`, heap limits) rather than per connection. better-sqlite3 has no
 * authorizer hook, so the statement's leading keywords are read here; a guest runs one
 * statement per call (the driver refuses more), so what follows cannot hide another.
 */

const PROCESS_WIDE_PRAGMAS = new Set(['temp_store_directory', 'data_store_directory', 'soft_heap_limit', 'hard_heap_limit']);

interface Token {
  kind: 'word' | 'string' | 'quoted' | 'punct' | 'number';
  text: string;
}

/** Tokens of `sql`, skipping blanks and comments; stops after `max` tokens. */
function tokens(sql: string, max: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length && out.length < max) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === close) {
          if (close !== ']' && sql[j + 1] === close) {
            text += close;
            j += 2;
            continue;
          }
          break;
        }
        text += sql[j];
        j++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text });
      i = j + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      out.push({ kind: 'word', text: sql.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      out.push({ kind: 'number', text: sql.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

/** SQLite skips empty statements before the first real one (`; ATTACH …`). */
function skipEmpty(list: Token[]): Token[] {
  let n = 0;
  while (list[n]?.kind === 'punct' && list[n]?.text === ';') n++;
  return list.slice(n);
}

const word = (t: Token | undefined, w: string): boolean => t?.kind === 'word' && t.text.toUpperCase() === w;

/**
 * Whether `sql` starts or commits a transaction or savepoint (BEGIN, COMMIT, END, SAVEPOINT,
 * RELEASE): statements that change no schema and take none back (unlike ROLLBACK).
 */
export function opensOrCommits(sql: string): boolean {
  const first = skipEmpty(tokens(sql, 8))[0];
  return ['BEGIN', 'COMMIT', 'END', 'SAVEPOINT', 'RELEASE'].some((w) => word(first, w));
}

/**
 * Whether `sql` has a `*` outside strings, quoted names and comments: a `SELECT *` or `t.*`
 * whose columns a schema change can add to (a multiplication or `count(*)` counts too).
 */
export function expandsColumns(sql: string): boolean {
  return tokens(sql, Number.POSITIVE_INFINITY).some((t) => t.kind === 'punct' && t.text === '*');
}

/**
 * Why a guest may not run `sql`, or undefined when it may.
 * @param allowAttachFile Spin's `allow_attach_file` for the database (default false: only `''` and `':memory:'` may be attached)
 */
export function refusedStatement(sql: string, allowAttachFile: boolean): string | undefined {
  let toks = skipEmpty(tokens(sql, 64));
  // EXPLAIN only describes a statement; refuse what it describes all the same.
  if (word(toks[0], 'EXPLAIN')) toks = skipEmpty(word(toks[1], 'QUERY') && word(toks[2], 'PLAN') ? toks.slice(3) : toks.slice(1));
  const first = toks[0];
  if (word(first, 'ATTACH')) {
    if (allowAttachFile) return undefined;
    const target = word(toks[1], 'DATABASE') ? toks[2] : toks[1];
    const after = word(toks[1], 'DATABASE') ? toks[3] : toks[2];
    if (target?.kind === 'string' && (target.text === '' || target.text === ':memory:') && word(after, 'AS')) return undefined;
    return 'not authorized: attaching a database file is not allowed (only \'\' and \':memory:\' may be attached; the runtime config\'s allow_attach_file permits files)';
  }
  if (word(first, 'VACUUM') && toks.some((t) => word(t, 'INTO'))) {
    return 'not authorized: VACUUM INTO writes a file outside the database';
  }
  if (word(first, 'PRAGMA')) {
    const name = toks[2]?.text === '.' ? toks[3] : toks[1];
    if (name !== undefined && PROCESS_WIDE_PRAGMAS.has(name.text.toLowerCase())) {
      return `not authorized: PRAGMA ${name.text.toLowerCase()} changes every connection in the process`;
    }
  }
  return undefined;
}
