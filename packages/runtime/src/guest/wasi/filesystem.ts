import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { confinePath, segmentsBelow } from '../confine-path.js';
import { IoError, InputStream, MemorySource, OutputStream } from './io.js';
import { failure } from './result.js';

/**
 * A directory the guest sees at `guestPath`: read-only, or `writable` (a transient copy the
 * runtime made for this run, holding no symbolic links: see prepare/transient-mounts.ts).
 */
export interface Mount {
  guestPath: string;
  hostPath: string;
  /** Guests may create, write, rename and remove entries below it. @default false */
  writable?: boolean;
}

/** A mount with its real root, resolved once per component. */
export interface ResolvedMount {
  guestPath: string;
  root: string;
  writable: boolean;
}

type DescriptorType = 'directory' | 'regular-file' | 'unknown';
interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}

function fsFail(code: string): never {
  throw failure(code);
}

function errnoCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no-entry';
    case 'ENOTDIR':
      return 'not-directory';
    case 'EISDIR':
      return 'is-directory';
    case 'EACCES':
    case 'EPERM':
      return 'access';
    case 'ELOOP':
      return 'loop';
    case 'ENAMETOOLONG':
      return 'name-too-long';
    case 'EEXIST':
      return 'exist';
    case 'ENOTEMPTY':
      return 'not-empty';
    case 'EXDEV':
      return 'cross-device';
    case 'ENOSPC':
      return 'insufficient-space';
    case 'EBUSY':
      return 'busy';
    case 'EINVAL':
      return 'invalid';
    default:
      return 'io';
  }
}

function typeOf(stats: Stats): DescriptorType {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'regular-file';
  return 'unknown';
}

function datetime(ms: number): Datetime {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanoseconds: Math.floor((ms - seconds * 1000) * 1e6) };
}

function statRecord(stats: Stats): Record<string, unknown> {
  return {
    type: typeOf(stats),
    linkCount: BigInt(stats.nlink),
    size: BigInt(stats.size),
    dataAccessTimestamp: datetime(stats.atimeMs),
    dataModificationTimestamp: datetime(stats.mtimeMs),
    statusChangeTimestamp: datetime(stats.ctimeMs),
  };
}

/** wasi:filesystem `directory-entry-stream`. */
export class DirectoryEntryStream {
  private readonly entries: Array<{ type: DescriptorType; name: string }>;
  private index = 0;
  constructor(entries: Array<{ type: DescriptorType; name: string }>) {
    this.entries = entries;
  }
  readDirectoryEntry(): { type: DescriptorType; name: string } | undefined {
    return this.entries[this.index++];
  }
}

/** Runs a file system call, turning its errno into the guest's error code. */
function fsCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { payload?: unknown }).payload !== undefined) throw err;
    return fsFail(errnoCode(err));
  }
}

/** Writes all of `bytes` at `position` (null: at the end, the file being opened for appending). */
function writeAll(hostPath: string, bytes: Uint8Array, position: number | null): number {
  // O_NOFOLLOW: a path that became a link since it was opened is never written through.
  const fd = openSync(hostPath, constants.O_WRONLY | constants.O_NOFOLLOW | (position === null ? constants.O_APPEND : 0));
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
    return done;
  } finally {
    closeSync(fd);
  }
}

/** An output stream over a file, failing as wasi:io/streams does (`last-operation-failed`). */
function fileOutputStream(hostPath: string, start: number | null): OutputStream {
  let position = start;
  return new OutputStream({
    write(bytes) {
      try {
        const n = writeAll(hostPath, bytes, position);
        if (position !== null) position += n;
      } catch (err) {
        const code = errnoCode(err);
        throw failure({ tag: 'last-operation-failed', val: new IoError(`write failed: ${code}`, code) });
      }
    },
  });
}

/** What a descriptor may do beyond reading. */
interface Access {
  /** In a writable mount: directories may create, rename and remove entries. */
  writable: boolean;
  /** A file opened with the `write` flag. */
  write: boolean;
}

const READ_ONLY: Access = { writable: false, write: false };

/**
 * wasi:filesystem `descriptor`, confined to its mount: every path is resolved inside the mount's
 * real root, so `..`, absolute paths and symlinks that lead outside are refused. In a read-only
 * mount every change fails with `read-only`; in a writable one (a transient copy) files may be
 * created, written, truncated, renamed and removed, and directories made and removed, all inside
 * the mount; links are never made (`symlink-at`, `link-at` are refused).
 */
export class Descriptor {
  readonly hostPath: string;
  readonly root: string;
  readonly kind: DescriptorType;
  private readonly access: Access;
  constructor(hostPath: string, root: string, kind: DescriptorType, access: Access = READ_ONLY) {
    this.hostPath = hostPath;
    this.root = root;
    this.kind = kind;
    this.access = access;
  }
  private resolveWith(path: string, followLeaf: boolean): string {
    const base = segmentsBelow(this.root, this.hostPath);
    const confined = confinePath(this.root, base, path, followLeaf);
    if ('host' in confined) return confined.host;
    if (confined.reason === 'errno') fsFail(errnoCode({ code: confined.code }));
    return fsFail(confined.reason === 'invalid' ? 'invalid' : 'not-permitted');
  }
  private resolve(path: string): string {
    return this.resolveWith(path, true);
  }
  /** A path that may not exist yet: its parent directory resolved inside the mount, plus its name. */
  private resolveNew(path: string): string {
    if (path.includes('\0')) fsFail('invalid');
    if (path.startsWith('/')) fsFail('not-permitted');
    const parts = path.split('/');
    const leaf = parts.pop() ?? '';
    if (leaf === '' || leaf === '.' || leaf === '..') return this.resolve(path);
    const parent = this.resolve(parts.join('/'));
    let existing: Stats | undefined;
    try {
      existing = lstatSync(join(parent, leaf));
    } catch {
      existing = undefined;
    }
    // An existing entry resolves as any other path (a link is followed only when it stays inside).
    return existing === undefined ? join(parent, leaf) : this.resolve(path);
  }
  /** Fails unless this is a directory of a writable mount. */
  private mutable(): void {
    if (!this.access.writable) fsFail('read-only');
    if (this.kind !== 'directory') fsFail('not-directory');
  }
  /** Fails unless this is a file opened for writing. */
  private writableFile(): void {
    if (!this.access.writable) fsFail('read-only');
    if (this.kind === 'directory') fsFail('is-directory');
    if (!this.access.write) fsFail('bad-descriptor');
  }
  readViaStream(offset: bigint): InputStream {
    return new InputStream(new MemorySource(this.readAll(Number(offset))));
  }
  private readAll(offset: number): Uint8Array {
    if (this.kind !== 'regular-file') fsFail('is-directory');
    const fd = openSync(this.hostPath, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = new Uint8Array(Math.max(0, size - offset));
      let read = 0;
      while (read < buf.length) {
        const n = readSync(fd, buf, read, buf.length - read, offset + read);
        if (n === 0) break;
        read += n;
      }
      return buf.subarray(0, read);
    } finally {
      closeSync(fd);
    }
  }
  writeViaStream(offset: bigint): OutputStream {
    this.writableFile();
    return fileOutputStream(this.hostPath, Number(offset));
  }
  appendViaStream(): OutputStream {
    this.writableFile();
    return fileOutputStream(this.hostPath, null);
  }
  advise(): void {}
  syncData(): void {}
  sync(): void {}
  getFlags(): Record<string, boolean> {
    return { read: true, write: this.access.write, mutateDirectory: this.access.writable && this.kind === 'directory' };
  }
  getType(): DescriptorType {
    return this.kind;
  }
  setSize(size: bigint): void {
    this.writableFile();
    fsCall(() => {
      const fd = openSync(this.hostPath, constants.O_WRONLY | constants.O_NOFOLLOW);
      try {
        ftruncateSync(fd, Number(size));
      } finally {
        closeSync(fd);
      }
    });
  }
  setTimes(): never {
    return fsFail(this.access.writable ? 'unsupported' : 'read-only');
  }
  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const all = this.readAll(Number(offset));
    const len = Number(length);
    return [all.slice(0, len), all.length <= len];
  }
  write(buffer: Uint8Array, offset: bigint): bigint {
    this.writableFile();
    return BigInt(fsCall(() => writeAll(this.hostPath, buffer, Number(offset))));
  }
  readDirectory(): DirectoryEntryStream {
    if (this.kind !== 'directory') fsFail('not-directory');
    const entries = readdirSync(this.hostPath, { withFileTypes: true }).map((d) => ({
      type: (d.isDirectory() ? 'directory' : d.isFile() ? 'regular-file' : 'unknown') as DescriptorType,
      name: d.name,
    }));
    return new DirectoryEntryStream(entries);
  }
  createDirectoryAt(path: string): void {
    this.mutable();
    const real = this.resolveNew(path);
    fsCall(() => mkdirSync(real));
  }
  stat(): Record<string, unknown> {
    return statRecord(statSync(this.hostPath));
  }
  statAt(_pathFlags: unknown, path: string): Record<string, unknown> {
    return statRecord(statSync(this.resolve(path)));
  }
  setTimesAt(): never {
    return fsFail(this.access.writable ? 'unsupported' : 'read-only');
  }
  linkAt(): never {
    return fsFail(this.access.writable ? 'not-permitted' : 'read-only');
  }
  openAt(
    _pathFlags: unknown,
    path: string,
    openFlags: { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean },
    flags: { read?: boolean; write?: boolean; mutateDirectory?: boolean },
  ): Descriptor {
    const changes = flags.write === true || flags.mutateDirectory === true || openFlags.create === true || openFlags.truncate === true || openFlags.exclusive === true;
    if (changes) this.mutable();
    let real: string;
    if (openFlags.create === true) {
      if (openFlags.directory === true) fsFail('invalid');
      real = this.resolveNew(path);
      const mode = constants.O_CREAT | constants.O_WRONLY | constants.O_NOFOLLOW | (openFlags.exclusive === true ? constants.O_EXCL : 0) | (openFlags.truncate === true ? constants.O_TRUNC : 0);
      fsCall(() => closeSync(openSync(real, mode, 0o644)));
    } else {
      real = this.resolve(path);
      if (openFlags.truncate === true) fsCall(() => closeSync(openSync(real, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_TRUNC)));
    }
    const kind = typeOf(fsCall(() => statSync(real)));
    if (openFlags.directory === true && kind !== 'directory') fsFail('not-directory');
    if (kind === 'directory' && flags.write === true) fsFail('is-directory');
    return new Descriptor(real, this.root, kind, { writable: this.access.writable, write: this.access.writable && flags.write === true });
  }
  readlinkAt(): never {
    return fsFail('invalid');
  }
  removeDirectoryAt(path: string): void {
    this.mutable();
    const real = this.resolveWith(path, false);
    if (real === this.root) fsFail('busy');
    fsCall(() => rmdirSync(real));
  }
  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    this.mutable();
    // Renames stay inside one mount: another mount, even a writable one, is another device.
    if (!(newDescriptor instanceof Descriptor) || newDescriptor.root !== this.root) fsFail('cross-device');
    newDescriptor.mutable();
    const from = this.resolveWith(oldPath, false);
    if (from === this.root) fsFail('busy');
    const to = newDescriptor.resolveNew(newPath);
    fsCall(() => renameSync(from, to));
  }
  symlinkAt(): never {
    return fsFail(this.access.writable ? 'not-permitted' : 'read-only');
  }
  unlinkFileAt(path: string): void {
    this.mutable();
    const real = this.resolveWith(path, false);
    if (fsCall(() => lstatSync(real)).isDirectory()) fsFail('is-directory');
    fsCall(() => unlinkSync(real));
  }
  isSameObject(other: Descriptor): boolean {
    return other.hostPath === this.hostPath;
  }
  metadataHash(): { lower: bigint; upper: bigint } {
    const s = statSync(this.hostPath, { bigint: true });
    return { lower: s.ino, upper: s.dev };
  }
  metadataHashAt(_pathFlags: unknown, path: string): { lower: bigint; upper: bigint } {
    const s = statSync(this.resolve(path), { bigint: true });
    return { lower: s.ino, upper: s.dev };
  }
}

/** wasi:filesystem/types for jco's glue. */
export function filesystemTypesInterface(): Record<string, unknown> {
  return {
    Descriptor,
    DirectoryEntryStream,
    filesystemErrorCode: (err: IoError): string | undefined => (err instanceof IoError ? err.fsCode : undefined),
  };
}

/** Resolves mounts once per component (real paths), so each instance only wraps them. */
export function resolveMounts(mounts: Mount[]): ResolvedMount[] {
  return mounts.map((m) => ({ guestPath: m.guestPath, root: realpathSync(m.hostPath), writable: m.writable === true }));
}

/** wasi:filesystem/preopens: the component's mounts and nothing else. */
export function preopensInterface(mounts: readonly ResolvedMount[]): Record<string, unknown> {
  return {
    getDirectories: (): Array<[Descriptor, string]> =>
      mounts.map((m) => [new Descriptor(m.root, m.root, 'directory', m.writable ? { writable: true, write: false } : READ_ONLY), m.guestPath]),
  };
}
