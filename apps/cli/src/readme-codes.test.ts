import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

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
});
