import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';

// The CLI's own error codes are public contract: every one used in the source is in the README.
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'test-fixtures' ? [] : sources(p);
    return f.endsWith('.ts') && !f.endsWith('.test.ts') ? [p] : [];
  });
}

describe('README', () => {
  it('lists every CLI_*, KV_* and SQLITE_* code the CLI can produce', () => {
    const src = resolve(import.meta.dirname);
    const readme = readFileSync(resolve(src, '../README.md'), 'utf8');
    const codes = new Set<string>();
    for (const f of sources(src)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/'((?:CLI|KV|SQLITE)_[A-Z_]+)'/g)) codes.add(m[1] as string);
    }
    expect(codes.size).toBeGreaterThan(15);
    expect([...codes].filter((c) => !readme.includes(`\`${c}\``))).toEqual([]);
  });

  it('lists every command in its table', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
    // Table rows name commands as `spinel topic a\|b\|c …` or `spinel x` / `y`: the words of the first cell.
    const listed = new Set<string>();
    for (const row of readme.split('\n').filter((l) => l.startsWith('| `spinel'))) {
      const cell = row.slice(2, row.indexOf(' | '));
      for (const code of cell.matchAll(/`(?:spinel )?([^`]+)`/g)) {
        const words = (code[1] as string).split(' ').filter((w) => /^[a-z][a-z|\\]*$/.test(w));
        const [first, second] = words;
        if (first === undefined) continue;
        listed.add(first);
        for (const sub of (second ?? '').split(/\\?\|/)) if (sub !== '') listed.add(`${first}:${sub}`);
      }
    }
    const ids = Object.keys(COMMANDS).filter((id) => !id.startsWith('oci:'));
    expect(ids.length).toBeGreaterThan(20);
    expect(ids.filter((id) => !listed.has(id))).toEqual([]);
  });
});
