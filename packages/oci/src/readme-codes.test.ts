import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The codes are public contract: the README table and the `OciErrorCode` union must list the same ones.
describe('error codes', () => {
  it('the README lists exactly the codes of errors.ts', async () => {
    const root = join(import.meta.dirname, '..');
    const source = await readFile(join(root, 'src', 'errors.ts'), 'utf8');
    const union = source.slice(source.indexOf('export type OciErrorCode'), source.indexOf(';', source.indexOf('export type OciErrorCode')));
    const declared = [...union.matchAll(/'(OCI_[A-Z_]+)'/g)].map((m) => m[1]).sort();
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `(OCI_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(declared.length).toBeGreaterThan(20);
    expect(documented).toEqual(declared);
    // And every code the sources throw is declared.
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(join(root, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    for (const file of files) {
      const text = await readFile(join(root, 'src', file), 'utf8');
      for (const m of text.matchAll(/'(OCI_[A-Z_]+)'/g)) expect(declared, `${file} uses ${m[1]}`).toContain(m[1]);
    }
  });
});
