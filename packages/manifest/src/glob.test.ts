import { describe, expect, it } from 'vitest';
import { compileExclude, globFiles } from './glob.js';
import { makeApp } from './test-helpers.js';

describe('exclude_files matching (glob crate semantics)', () => {
  it.each([
    ['*.tmp', 'a.tmp', true],
    ['*.tmp', 'deep/dir/a.tmp', true], // `*` crosses `/` in matches_path
    ['static/*.md', 'static/a.md', true],
    ['static/*.md', 'other/a.md', false],
    ['**/secret', 'x/y/secret', true],
    ['file?.txt', 'file1.txt', true],
    ['[ab].txt', 'c.txt', false],
    ['[!ab].txt', 'c.txt', true],
    ['a.b', 'aXb', false],
  ] as const)('%s vs %s → %s', (pattern, path, expected) => {
    expect(compileExclude(pattern)(path)).toBe(expected);
  });
});

describe('globFiles', () => {
  it('walks from the fixed prefix and includes dot files', async () => {
    const dir = makeApp({ 'static/a.txt': '', 'static/.hidden': '', 'static/sub/b.txt': '', 'other/c.txt': '' });
    expect(await globFiles(dir, 'static/**/*')).toEqual(['static/.hidden', 'static/a.txt', 'static/sub/b.txt']);
    expect(await globFiles(dir, '**/*.txt')).toEqual(['other/c.txt', 'static/a.txt', 'static/sub/b.txt']);
    expect(await globFiles(dir, 'static/*')).toEqual(['static/.hidden', 'static/a.txt']);
    expect(await globFiles(dir, 'nothing/*')).toEqual([]);
  });
});
