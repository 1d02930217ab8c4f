import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preopensInterface, resolveMounts, type Descriptor } from './filesystem.js';

function payloadOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { payload?: unknown }).payload;
  }
  return 'no error';
}

describe('read-only preopens', () => {
  let base: string;
  let root: Descriptor;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'spinel-fs-'));
    await mkdir(join(base, 'mount', 'sub'), { recursive: true });
    await writeFile(join(base, 'mount', 'sub', 'a.txt'), 'inside');
    await writeFile(join(base, 'secret.txt'), 'outside');
    await symlink(join(base, 'secret.txt'), join(base, 'mount', 'escape'));
    await symlink(join(base, 'mount', 'sub', 'a.txt'), join(base, 'mount', 'inner-link'));
    const mounts = resolveMounts([{ guestPath: '/', hostPath: join(base, 'mount') }]);
    const getDirectories = preopensInterface(mounts)['getDirectories'] as () => Array<[Descriptor, string]>;
    const [first] = getDirectories();
    if (first === undefined) throw new Error('no preopen');
    root = first[0];
    expect(first[1]).toBe('/');
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const read = { read: true };
  const noOpen = {};

  it('reads files inside the mount', () => {
    const file = root.openAt({}, 'sub/a.txt', noOpen, read);
    expect(Buffer.from(file.read(100n, 0n)[0]).toString()).toBe('inside');
    expect(Buffer.from(root.openAt({}, 'inner-link', noOpen, read).read(100n, 0n)[0]).toString()).toBe('inside');
    expect(Buffer.from(root.openAt({}, 'sub/../sub/./a.txt', noOpen, read).read(100n, 0n)[0]).toString()).toBe('inside');
  });

  it('refuses .., absolute paths and symlinks that lead out of the mount', () => {
    expect(payloadOf(() => root.openAt({}, '../secret.txt', noOpen, read))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, 'sub/../../secret.txt', noOpen, read))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, '/etc/passwd', noOpen, read))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, 'escape', noOpen, read))).toBe('not-permitted');
    expect(payloadOf(() => root.statAt({}, 'escape'))).toBe('not-permitted');
  });

  it('refuses every write', () => {
    expect(payloadOf(() => root.openAt({}, 'new.txt', { create: true }, { write: true }))).toBe('read-only');
    expect(payloadOf(() => root.openAt({}, 'sub/a.txt', noOpen, { write: true }))).toBe('read-only');
    expect(payloadOf(() => root.createDirectoryAt())).toBe('read-only');
    expect(payloadOf(() => root.unlinkFileAt())).toBe('read-only');
  });

  it('reports missing files as no-entry and lists directories', () => {
    expect(payloadOf(() => root.openAt({}, 'nope', noOpen, read))).toBe('no-entry');
    const stream = root.openAt({}, 'sub', { directory: true }, read).readDirectory();
    expect(stream.readDirectoryEntry()).toEqual({ type: 'regular-file', name: 'a.txt' });
    expect(stream.readDirectoryEntry()).toBeUndefined();
  });
});
