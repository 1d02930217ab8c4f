import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The error codes are public contract: every code used in the source must be in the README.
describe('README', () => {
  it('lists every MANIFEST_* code the package can produce', () => {
    const src = resolve(import.meta.dirname);
    const readme = readFileSync(resolve(src, '../README.md'), 'utf8');
    const codes = new Set<string>();
    for (const f of readdirSync(src)) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      for (const m of readFileSync(join(src, f), 'utf8').matchAll(/'(MANIFEST_[A-Z_]+)'/g)) codes.add(m[1] as string);
    }
    expect(codes.size).toBeGreaterThan(30);
    const missing = [...codes].filter((c) => !readme.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
});
