import { closeSync, fstatSync, openSync, readdirSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { confinePath, segmentsBelow } from '../confine-path.js';
import { IoError, InputStream, MemorySource } from './io.js';
import { failure } from './result.js';

/** A read-only directory the guest sees at `guestPath`. */
export interface Mount {
  guestPath: string;
  hostPath: string;
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

/**
 * wasi:filesystem `descriptor`, read-only and confined to its mount: every path is resolved inside
 * the mount's real root, so `..`, absolute paths and symlinks that lead outside are refused.
 */
export class Descriptor {
  readonly hostPath: string;
  readonly root: string;
  readonly kind: DescriptorType;
  constructor(hostPath: string, root: string, kind: DescriptorType) {
    this.hostPath = hostPath;
    this.root = root;
    this.kind = kind;
  }
  private resolve(path: string): string {
    const base = segmentsBelow(this.root, this.hostPath);
    const confined = confinePath(this.root, base, path, true);
    if ('host' in confined) return confined.host;
    if (confined.reason === 'errno') fsFail(errnoCode({ code: confined.code }));
    return fsFail(confined.reason === 'invalid' ? 'invalid' : 'not-permitted');
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
  writeViaStream(): never {
    return fsFail('read-only');
  }
  appendViaStream(): never {
    return fsFail('read-only');
  }
  advise(): void {}
  syncData(): void {}
  sync(): void {}
  getFlags(): Record<string, boolean> {
    return { read: true };
  }
  getType(): DescriptorType {
    return this.kind;
  }
  setSize(): never {
    return fsFail('read-only');
  }
  setTimes(): never {
    return fsFail('read-only');
  }
  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const all = this.readAll(Number(offset));
    const len = Number(length);
    return [all.slice(0, len), all.length <= len];
  }
  write(): never {
    return fsFail('read-only');
  }
  readDirectory(): DirectoryEntryStream {
    if (this.kind !== 'directory') fsFail('not-directory');
    const entries = readdirSync(this.hostPath, { withFileTypes: true }).map((d) => ({
      type: (d.isDirectory() ? 'directory' : d.isFile() ? 'regular-file' : 'unknown') as DescriptorType,
      name: d.name,
    }));
    return new DirectoryEntryStream(entries);
  }
  createDirectoryAt(): never {
    return fsFail('read-only');
  }
  stat(): Record<string, unknown> {
    return statRecord(statSync(this.hostPath));
  }
  statAt(_pathFlags: unknown, path: string): Record<string, unknown> {
    return statRecord(statSync(this.resolve(path)));
  }
  setTimesAt(): never {
    return fsFail('read-only');
  }
  linkAt(): never {
    return fsFail('read-only');
  }
  openAt(
    _pathFlags: unknown,
    path: string,
    openFlags: { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean },
    flags: { read?: boolean; write?: boolean; mutateDirectory?: boolean },
  ): Descriptor {
    if (flags.write === true || flags.mutateDirectory === true) fsFail('read-only');
    if (openFlags.create === true || openFlags.truncate === true || openFlags.exclusive === true) fsFail('read-only');
    const real = this.resolve(path);
    const kind = typeOf(statSync(real));
    if (openFlags.directory === true && kind !== 'directory') fsFail('not-directory');
    return new Descriptor(real, this.root, kind);
  }
  readlinkAt(): never {
    return fsFail('invalid');
  }
  removeDirectoryAt(): never {
    return fsFail('read-only');
  }
  renameAt(): never {
    return fsFail('read-only');
  }
  symlinkAt(): never {
    return fsFail('read-only');
  }
  unlinkFileAt(): never {
    return fsFail('read-only');
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
export function resolveMounts(mounts: Mount[]): Array<{ guestPath: string; root: string }> {
  return mounts.map((m) => ({ guestPath: m.guestPath, root: realpathSync(m.hostPath) }));
}

/** wasi:filesystem/preopens: the component's mounts and nothing else. */
export function preopensInterface(mounts: Array<{ guestPath: string; root: string }>): Record<string, unknown> {
  return {
    getDirectories: (): Array<[Descriptor, string]> =>
      mounts.map((m) => [new Descriptor(m.root, m.root, 'directory'), m.guestPath]),
  };
}
