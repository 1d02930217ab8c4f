import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confinePath } from './confine-path.js';

// The WASI 0.2 host and WAGI's preview1 both resolve guest paths with this one function.
describe('confinePath', () => {
  let base: string;
  let root: string;
  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'spinel-confine-')));
    root = join(base, 'mount');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(root, 'sub', 'a.txt'), 'inside');
    await writeFile(join(base, 'secret.txt'), 'outside');
    await symlink('../secret.txt', join(root, 'rel-escape'));
    await symlink(join(base), join(root, 'dir-escape'));
    await symlink('sub/a.txt', join(root, 'chain1'));
    await symlink('chain1', join(root, 'chain2'));
    await symlink('rel-escape', join(root, 'chain-out'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('resolves inside the root, following links whose targets stay inside', () => {
    expect(confinePath(root, [], 'sub/../sub/./a.txt', true)).toEqual({ host: join(root, 'sub', 'a.txt'), rel: ['sub', 'a.txt'] });
    expect(confinePath(root, ['sub'], 'a.txt', true)).toEqual({ host: join(root, 'sub', 'a.txt'), rel: ['sub', 'a.txt'] });
    expect(confinePath(root, [], 'chain2', true)).toEqual({ host: join(root, 'sub', 'a.txt'), rel: ['sub', 'a.txt'] });
    expect(confinePath(root, [], 'chain2', false)).toEqual({ host: join(root, 'chain2'), rel: ['chain2'] });
    expect(confinePath(root, [], '', true)).toEqual({ host: root, rel: [] });
  });

  it('refuses absolute paths, .. above the root, NULs, and links out at any depth or through a chain', () => {
    expect(confinePath(root, [], '/etc/passwd', true)).toEqual({ reason: 'absolute' });
    expect(confinePath(root, ['sub'], '../../secret.txt', true)).toEqual({ reason: 'escape' });
    expect(confinePath(root, [], 'sub\0', true)).toEqual({ reason: 'invalid' });
    expect(confinePath(root, [], 'rel-escape', true)).toEqual({ reason: 'escape' });
    expect(confinePath(root, [], 'chain-out', true)).toEqual({ reason: 'escape' });
    expect(confinePath(root, [], 'dir-escape/secret.txt', true)).toEqual({ reason: 'escape' });
    expect(confinePath(root, [], 'dir-escape/secret.txt', false)).toEqual({ reason: 'escape' });
    expect(confinePath(root, [], 'missing', true)).toEqual({ reason: 'errno', code: 'ENOENT' });
  });
});
