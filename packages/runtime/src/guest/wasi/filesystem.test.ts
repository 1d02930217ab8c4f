import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputStream } from './io.js';
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
    expect(payloadOf(() => root.openAt({}, 'sub/a.txt', { truncate: true }, read))).toBe('read-only');
    expect(payloadOf(() => root.createDirectoryAt('d'))).toBe('read-only');
    expect(payloadOf(() => root.unlinkFileAt('sub/a.txt'))).toBe('read-only');
    expect(payloadOf(() => root.renameAt('sub/a.txt', root, 'b.txt'))).toBe('read-only');
    expect(payloadOf(() => root.openAt({}, 'sub/a.txt', noOpen, read).write(new Uint8Array([1]), 0n))).toBe('read-only');
  });

  it('reports missing files as no-entry and lists directories', () => {
    expect(payloadOf(() => root.openAt({}, 'nope', noOpen, read))).toBe('no-entry');
    const stream = root.openAt({}, 'sub', { directory: true }, read).readDirectory();
    expect(stream.readDirectoryEntry()).toEqual({ type: 'regular-file', name: 'a.txt' });
    expect(stream.readDirectoryEntry()).toBeUndefined();
  });
});

describe('writable preopens (transient copies)', () => {
  let base: string;
  let root: Descriptor;
  let other: Descriptor;
  const enc = new TextEncoder();
  const text = (d: Descriptor): string => Buffer.from(d.read(1000n, 0n)[0]).toString();
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'spinel-fs-rw-'));
    await mkdir(join(base, 'mount', 'sub'), { recursive: true });
    await mkdir(join(base, 'other'));
    await writeFile(join(base, 'mount', 'sub', 'a.txt'), 'inside');
    await writeFile(join(base, 'secret.txt'), 'outside');
    await symlink(join(base, 'secret.txt'), join(base, 'mount', 'escape'));
    await symlink(join(base, 'new-outside.txt'), join(base, 'mount', 'dangling'));
    const mounts = resolveMounts([
      { guestPath: '/', hostPath: join(base, 'mount'), writable: true },
      { guestPath: '/other', hostPath: join(base, 'other'), writable: true },
    ]);
    const dirs = (preopensInterface(mounts)['getDirectories'] as () => Array<[Descriptor, string]>)();
    root = (dirs[0] as [Descriptor, string])[0];
    other = (dirs[1] as [Descriptor, string])[0];
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('creates, writes, reads back, truncates and appends inside the mount', async () => {
    expect(root.getFlags()).toEqual({ read: true, write: false, mutateDirectory: true });
    const file = root.openAt({}, 'new.txt', { create: true }, { read: true, write: true });
    expect(file.write(enc.encode('hello world'), 0n)).toBe(11n);
    expect(file.write(enc.encode('W'), 6n)).toBe(1n);
    expect(text(root.openAt({}, 'new.txt', {}, { read: true }))).toBe('hello World');
    const stream = file.writeViaStream(5n) as OutputStream;
    stream.blockingWriteAndFlush(enc.encode('!!'));
    stream.write(enc.encode('?'));
    expect(await readFile(join(base, 'mount', 'new.txt'), 'utf8')).toBe('hello!!?rld');
    (file.appendViaStream() as OutputStream).write(enc.encode(' end'));
    file.setSize(5n);
    expect(text(file)).toBe('hello');
    const again = root.openAt({}, 'sub/a.txt', { truncate: true }, { write: true });
    again.write(enc.encode('re'), 0n);
    expect(await readFile(join(base, 'mount', 'sub', 'a.txt'), 'utf8')).toBe('re');
    expect(payloadOf(() => root.openAt({}, 'new.txt', { create: true, exclusive: true }, { write: true }))).toBe('exist');
  });

  it('writes only through descriptors opened for writing', () => {
    const readOnly = root.openAt({}, 'sub/a.txt', {}, { read: true });
    expect(payloadOf(() => readOnly.write(enc.encode('x'), 0n))).toBe('bad-descriptor');
    expect(payloadOf(() => root.openAt({}, 'sub', {}, { write: true }))).toBe('is-directory');
  });

  it('makes, renames and removes entries', async () => {
    root.createDirectoryAt('made');
    root.openAt({}, 'made/f.txt', { create: true }, { write: true }).write(enc.encode('f'), 0n);
    root.renameAt('made/f.txt', root, 'moved.txt');
    const made = root.openAt({}, 'made', { directory: true }, { read: true, mutateDirectory: true });
    expect(payloadOf(() => made.createDirectoryAt('inner'))).toBe('no error');
    expect(payloadOf(() => root.removeDirectoryAt('made'))).toBe('not-empty');
    made.removeDirectoryAt('inner');
    root.removeDirectoryAt('made');
    root.unlinkFileAt('moved.txt');
    expect((await readdir(join(base, 'mount'))).sort()).toEqual(['dangling', 'escape', 'new.txt', 'sub']);
    expect(payloadOf(() => root.unlinkFileAt('sub'))).toBe('is-directory');
    expect(payloadOf(() => root.removeDirectoryAt('.'))).toBe('busy');
  });

  it('never writes outside the mount: .., absolute paths, links, other mounts', async () => {
    const create = { create: true };
    const write = { write: true };
    expect(payloadOf(() => root.openAt({}, '../out.txt', create, write))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, 'sub/../../out.txt', create, write))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, '/tmp/out.txt', create, write))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, 'escape', create, write))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, 'escape', { truncate: true }, write))).toBe('not-permitted');
    expect(payloadOf(() => root.openAt({}, 'dangling', create, write))).not.toBe('no error');
    expect(payloadOf(() => root.createDirectoryAt('../made'))).toBe('not-permitted');
    expect(payloadOf(() => root.renameAt('sub/a.txt', root, '../a.txt'))).toBe('not-permitted');
    expect(payloadOf(() => root.renameAt('../secret.txt', root, 'stolen.txt'))).toBe('not-permitted');
    expect(payloadOf(() => root.renameAt('sub/a.txt', other, 'a.txt'))).toBe('cross-device');
    expect(payloadOf(() => root.unlinkFileAt('../secret.txt'))).toBe('not-permitted');
    expect(payloadOf(() => root.symlinkAt())).toBe('not-permitted');
    expect(payloadOf(() => root.linkAt())).toBe('not-permitted');
    expect(await readFile(join(base, 'secret.txt'), 'utf8')).toBe('outside');
    expect((await readdir(base)).sort()).toEqual(['mount', 'other', 'secret.txt']);
  });
});
