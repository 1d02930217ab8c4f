/// <reference lib="dom" />
/**
 * An in-memory WASI preview1 (`wasi_snapshot_preview1`) for WAGI: args, environ, stdin
 * from a buffer, stdout/stderr into buffers, clocks, random, proc_exit, and read-only
 * preopened directories confined to their host roots. State lives in one object per
 * instance; nothing is global.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { randomFillSync } from 'node:crypto';
import { confinePath } from '../confine-path.js';

/** WASI errno values used here. */
const E = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, BADF: 8, EXIST: 20, FAULT: 21, INVAL: 28, IO: 29, ISDIR: 31, LOOP: 32,
  NAMETOOLONG: 37, NOENT: 44, NOSYS: 52, NOTDIR: 54, NOTEMPTY: 55, NOTSUP: 58, PERM: 63, ROFS: 69, SPIPE: 70, NOTCAPABLE: 76,
} as const;

const FILETYPE = { UNKNOWN: 0, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4, SYMBOLIC_LINK: 7 } as const;
const ALL_RIGHTS = (1n << 30n) - 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const LOOKUP_SYMLINK_FOLLOW = 1;

/** Thrown by `proc_exit` to unwind the guest; carries the exit code. */
export class ProcExit {
  constructor(readonly code: number) {}
}

type Fd =
  | { kind: 'stdin' }
  | { kind: 'stdout' }
  | { kind: 'stderr' }
  | { kind: 'dir'; root: Root; rel: string[]; preopen?: string }
  | { kind: 'file'; root: Root; rel: string[]; host: string; data: Buffer | undefined; pos: number };

interface Root {
  /** Canonical host directory: nothing outside it is reachable. */
  real: string;
}

/** Options of one preview1 instance. */
export interface Preview1Options {
  args: readonly string[];
  env: ReadonlyArray<readonly [string, string]>;
  stdin?: Uint8Array;
  /** Guest path → host directory, read-only. */
  preopens?: ReadonlyArray<readonly [string, string]>;
  /** Monotonic clock in nanoseconds. @default process.hrtime.bigint */
  monotonicNs?: () => bigint;
  /** Wall clock in nanoseconds. @default Date.now() × 10⁶ */
  realtimeNs?: () => bigint;
  /** Stop collecting stdout/stderr past this many bytes each. @default 64 MiB */
  maxOutputBytes?: number;
}

/** One WASI preview1 context: bind it to a memory, hand `imports` to the instance. */
export class Preview1 {
  readonly imports: Record<string, (...args: never[]) => number | void>;
  #memory: WebAssembly.Memory | undefined;
  readonly #fds = new Map<number, Fd>();
  readonly #args: Uint8Array[];
  readonly #env: Uint8Array[];
  readonly #stdin: Uint8Array;
  #stdinPos = 0;
  readonly #out: { stdout: Uint8Array[]; stderr: Uint8Array[] } = { stdout: [], stderr: [] };
  readonly #outSize = { stdout: 0, stderr: 0 };
  readonly #maxOut: number;
  readonly #mono: () => bigint;
  readonly #real: () => bigint;

  constructor(options: Preview1Options) {
    const enc = new TextEncoder();
    this.#args = options.args.map((a) => enc.encode(`${a}\0`));
    this.#env = options.env.map(([k, v]) => enc.encode(`${k}=${v}\0`));
    this.#stdin = options.stdin ?? new Uint8Array(0);
    this.#maxOut = options.maxOutputBytes ?? 64 * 1024 * 1024;
    this.#mono = options.monotonicNs ?? (() => process.hrtime.bigint());
    this.#real = options.realtimeNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.#fds.set(0, { kind: 'stdin' });
    this.#fds.set(1, { kind: 'stdout' });
    this.#fds.set(2, { kind: 'stderr' });
    let fd = 3;
    for (const [guest, host] of options.preopens ?? []) {
      let real: string;
      try {
        real = fs.realpathSync(host);
      } catch {
        continue; // A missing mount is simply not offered.
      }
      this.#fds.set(fd++, { kind: 'dir', root: { real }, rel: [], preopen: guest });
    }
    this.imports = this.#makeImports();
  }

  /** Binds the instance's exported memory (call before `_start`). */
  bind(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  /** Everything written to stdout. */
  stdout(): Uint8Array {
    return concat(this.#out.stdout, this.#outSize.stdout);
  }

  /** Everything written to stderr. */
  stderr(): Uint8Array {
    return concat(this.#out.stderr, this.#outSize.stderr);
  }

  #view(): DataView {
    if (this.#memory === undefined) throw new Error('preview1: memory not bound');
    return new DataView(this.#memory.buffer);
  }

  #bytes(): Uint8Array {
    if (this.#memory === undefined) throw new Error('preview1: memory not bound');
    return new Uint8Array(this.#memory.buffer);
  }

  #string(ptr: number, len: number): string {
    return new TextDecoder().decode(this.#bytes().subarray(ptr, ptr + len));
  }

  #makeImports(): Record<string, (...args: never[]) => number | void> {
    const guard =
      <A extends unknown[]>(fn: (...args: A) => number) =>
      (...args: A): number => {
        try {
          return fn(...args);
        } catch (err) {
          if (err instanceof ProcExit) throw err;
          if (err instanceof RangeError) return E.FAULT;
          const code = (err as { code?: string }).code;
          if (typeof code === 'string') return errnoOf(code);
          throw err;
        }
      };

    const listSizes = (list: Uint8Array[], countPtr: number, sizePtr: number): number => {
      const v = this.#view();
      v.setUint32(countPtr, list.length, true);
      v.setUint32(sizePtr, list.reduce((n, a) => n + a.length, 0), true);
      return E.SUCCESS;
    };
    const listGet = (list: Uint8Array[], ptrsPtr: number, bufPtr: number): number => {
      const v = this.#view();
      const b = this.#bytes();
      let at = bufPtr;
      list.forEach((item, i) => {
        v.setUint32(ptrsPtr + i * 4, at, true);
        b.set(item, at);
        at += item.length;
      });
      return E.SUCCESS;
    };

    return {
      args_sizes_get: guard((c: number, s: number) => listSizes(this.#args, c, s)),
      args_get: guard((p: number, b: number) => listGet(this.#args, p, b)),
      environ_sizes_get: guard((c: number, s: number) => listSizes(this.#env, c, s)),
      environ_get: guard((p: number, b: number) => listGet(this.#env, p, b)),

      clock_res_get: guard((id: number, ptr: number) => {
        if (id > 3) return E.INVAL;
        this.#view().setBigUint64(ptr, id === 0 ? 1_000_000n : 1n, true);
        return E.SUCCESS;
      }),
      clock_time_get: guard((id: number, _precision: bigint, ptr: number) => {
        let t: bigint;
        if (id === 0) t = this.#real();
        else if (id === 1 || id === 2 || id === 3) t = this.#mono();
        else return E.INVAL;
        this.#view().setBigUint64(ptr, t, true);
        return E.SUCCESS;
      }),
      random_get: guard((ptr: number, len: number) => {
        randomFillSync(this.#bytes(), ptr, len);
        return E.SUCCESS;
      }),
      proc_exit: (code: number): void => {
        throw new ProcExit(code);
      },
      proc_raise: () => E.NOSYS,
      sched_yield: () => E.SUCCESS,
      poll_oneoff: guard((inPtr: number, outPtr: number, n: number, neventsPtr: number) => this.#pollOneoff(inPtr, outPtr, n, neventsPtr)),

      fd_write: guard((fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined) return E.BADF;
        if (entry.kind !== 'stdout' && entry.kind !== 'stderr') return entry.kind === 'dir' ? E.ISDIR : E.BADF;
        const v = this.#view();
        const b = this.#bytes();
        let written = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = v.getUint32(iovs + i * 8, true);
          const len = v.getUint32(iovs + i * 8 + 4, true);
          if (ptr + len > b.length) return E.FAULT;
          if (this.#outSize[entry.kind] + len <= this.#maxOut) {
            this.#out[entry.kind].push(b.slice(ptr, ptr + len));
            this.#outSize[entry.kind] += len;
          }
          written += len;
        }
        v.setUint32(nwrittenPtr, written, true);
        return E.SUCCESS;
      }),
      fd_pwrite: guard((fd: number) => (this.#fds.has(fd) ? E.BADF : E.BADF)),
      fd_read: guard((fd: number, iovs: number, iovsLen: number, nreadPtr: number) => this.#read(fd, iovs, iovsLen, nreadPtr, undefined)),
      fd_pread: guard((fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number) =>
        this.#read(fd, iovs, iovsLen, nreadPtr, Number(offset)),
      ),
      fd_seek: guard((fd: number, offset: bigint, whence: number, newPtr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined) return E.BADF;
        if (entry.kind === 'dir') return E.ISDIR;
        if (entry.kind !== 'file') return E.SPIPE;
        const size = this.#fileData(entry).length;
        const base = whence === 0 ? 0 : whence === 1 ? entry.pos : whence === 2 ? size : NaN;
        const next = base + Number(offset);
        if (!Number.isFinite(next) || next < 0) return E.INVAL;
        entry.pos = next;
        this.#view().setBigUint64(newPtr, BigInt(next), true);
        return E.SUCCESS;
      }),
      fd_tell: guard((fd: number, ptr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined) return E.BADF;
        if (entry.kind !== 'file') return E.SPIPE;
        this.#view().setBigUint64(ptr, BigInt(entry.pos), true);
        return E.SUCCESS;
      }),
      fd_close: guard((fd: number) => (this.#fds.delete(fd) ? E.SUCCESS : E.BADF)),
      fd_renumber: guard((from: number, to: number) => {
        const entry = this.#fds.get(from);
        if (entry === undefined || !this.#fds.has(to)) return E.BADF;
        this.#fds.set(to, entry);
        this.#fds.delete(from);
        return E.SUCCESS;
      }),
      fd_fdstat_get: guard((fd: number, ptr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined) return E.BADF;
        const v = this.#view();
        const type = entry.kind === 'dir' ? FILETYPE.DIRECTORY : entry.kind === 'file' ? FILETYPE.REGULAR_FILE : FILETYPE.CHARACTER_DEVICE;
        v.setUint8(ptr, type);
        v.setUint16(ptr + 2, 0, true);
        // Broad rights so libc's rights arithmetic works; writes are refused where they happen.
        v.setBigUint64(ptr + 8, ALL_RIGHTS, true);
        v.setBigUint64(ptr + 16, ALL_RIGHTS, true);
        return E.SUCCESS;
      }),
      fd_fdstat_set_flags: guard((fd: number) => (this.#fds.has(fd) ? E.SUCCESS : E.BADF)),
      fd_fdstat_set_rights: guard((fd: number) => (this.#fds.has(fd) ? E.SUCCESS : E.BADF)),
      fd_advise: guard((fd: number) => (this.#fds.has(fd) ? E.SUCCESS : E.BADF)),
      fd_allocate: guard((fd: number) => (this.#fds.has(fd) ? E.ROFS : E.BADF)),
      fd_datasync: guard((fd: number) => (this.#fds.has(fd) ? E.SUCCESS : E.BADF)),
      fd_sync: guard((fd: number) => (this.#fds.has(fd) ? E.SUCCESS : E.BADF)),
      fd_filestat_set_size: guard((fd: number) => (this.#fds.has(fd) ? E.ROFS : E.BADF)),
      fd_filestat_set_times: guard((fd: number) => (this.#fds.has(fd) ? E.ROFS : E.BADF)),
      fd_filestat_get: guard((fd: number, ptr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined) return E.BADF;
        if (entry.kind === 'dir' || entry.kind === 'file') {
          writeFilestat(this.#view(), ptr, fs.statSync(this.#hostOf(entry.root, entry.rel)));
        } else {
          const v = this.#view();
          new Uint8Array(v.buffer, ptr, 64).fill(0);
          v.setUint8(ptr + 16, FILETYPE.CHARACTER_DEVICE);
        }
        return E.SUCCESS;
      }),
      fd_prestat_get: guard((fd: number, ptr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined || entry.kind !== 'dir' || entry.preopen === undefined) return E.BADF;
        const v = this.#view();
        v.setUint8(ptr, 0);
        v.setUint32(ptr + 4, new TextEncoder().encode(entry.preopen).length, true);
        return E.SUCCESS;
      }),
      fd_prestat_dir_name: guard((fd: number, ptr: number, len: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined || entry.kind !== 'dir' || entry.preopen === undefined) return E.BADF;
        const name = new TextEncoder().encode(entry.preopen);
        if (name.length > len) return E.NAMETOOLONG;
        this.#bytes().set(name, ptr);
        return E.SUCCESS;
      }),
      fd_readdir: guard((fd: number, buf: number, bufLen: number, cookie: bigint, usedPtr: number) => {
        const entry = this.#fds.get(fd);
        if (entry === undefined) return E.BADF;
        if (entry.kind !== 'dir') return E.NOTDIR;
        const host = this.#hostOf(entry.root, entry.rel);
        const names = ['.', '..', ...fs.readdirSync(host).sort()];
        const b = this.#bytes();
        const v = this.#view();
        let used = 0;
        for (let i = Number(cookie); i < names.length && used < bufLen; i++) {
          const name = new TextEncoder().encode(names[i] as string);
          const header = new Uint8Array(24);
          const hv = new DataView(header.buffer);
          hv.setBigUint64(0, BigInt(i + 1), true);
          let type: number = FILETYPE.DIRECTORY;
          let ino = 0n;
          if (i >= 2) {
            const st = fs.lstatSync(nodePath.join(host, names[i] as string), { bigint: true });
            type = filetypeOf(st);
            ino = st.ino;
          }
          hv.setBigUint64(8, ino, true);
          hv.setUint32(16, name.length, true);
          hv.setUint8(20, type);
          const record = new Uint8Array(24 + name.length);
          record.set(header);
          record.set(name, 24);
          const take = Math.min(record.length, bufLen - used);
          b.set(record.subarray(0, take), buf + used);
          used += take;
        }
        v.setUint32(usedPtr, used, true);
        return E.SUCCESS;
      }),

      path_open: guard(
        (dirFd: number, lookupFlags: number, pathPtr: number, pathLen: number, oflags: number, rightsBase: bigint, _inh: bigint, fdflags: number, fdPtr: number) => {
          const dir = this.#fds.get(dirFd);
          if (dir === undefined) return E.BADF;
          if (dir.kind !== 'dir') return E.NOTDIR;
          if ((oflags & (OFLAGS.CREAT | OFLAGS.TRUNC | OFLAGS.EXCL)) !== 0 || (fdflags & 1) !== 0 || (rightsBase & RIGHT_FD_WRITE) !== 0n) {
            // Writing is refused; opening an existing path for writing says read-only.
            const r = this.#resolve(dir, this.#string(pathPtr, pathLen), true);
            if (typeof r === 'number' && r !== E.NOENT) return r;
            if ((oflags & OFLAGS.EXCL) !== 0 && typeof r !== 'number') return E.EXIST;
            return E.ROFS;
          }
          const r = this.#resolve(dir, this.#string(pathPtr, pathLen), (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0);
          if (typeof r === 'number') return r;
          const st = fs.statSync(r.host);
          let fd: Fd;
          if (st.isDirectory()) {
            fd = { kind: 'dir', root: dir.root, rel: r.rel };
          } else {
            if ((oflags & OFLAGS.DIRECTORY) !== 0) return E.NOTDIR;
            fd = { kind: 'file', root: dir.root, rel: r.rel, host: r.host, data: undefined, pos: 0 };
          }
          const n = this.#nextFd();
          this.#fds.set(n, fd);
          this.#view().setUint32(fdPtr, n, true);
          return E.SUCCESS;
        },
      ),
      path_filestat_get: guard((dirFd: number, flags: number, pathPtr: number, pathLen: number, ptr: number) => {
        const dir = this.#fds.get(dirFd);
        if (dir === undefined) return E.BADF;
        if (dir.kind !== 'dir') return E.NOTDIR;
        const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
        const r = this.#resolve(dir, this.#string(pathPtr, pathLen), follow);
        if (typeof r === 'number') return r;
        writeFilestat(this.#view(), ptr, follow ? fs.statSync(r.host) : fs.lstatSync(r.host));
        return E.SUCCESS;
      }),
      path_readlink: guard((dirFd: number, pathPtr: number, pathLen: number) => {
        const dir = this.#fds.get(dirFd);
        if (dir === undefined) return E.BADF;
        const r = dir.kind === 'dir' ? this.#resolve(dir, this.#string(pathPtr, pathLen), false) : E.NOTDIR;
        // Links are followed inside the mount but their targets are not revealed.
        return typeof r === 'number' ? r : E.INVAL;
      }),
      path_create_directory: () => E.ROFS,
      path_filestat_set_times: () => E.ROFS,
      path_link: () => E.ROFS,
      path_remove_directory: () => E.ROFS,
      path_rename: () => E.ROFS,
      path_symlink: () => E.ROFS,
      path_unlink_file: () => E.ROFS,
      sock_accept: () => E.NOTSUP,
      sock_recv: () => E.NOTSUP,
      sock_send: () => E.NOTSUP,
      sock_shutdown: () => E.NOTSUP,
    };
  }

  #nextFd(): number {
    let n = 3;
    while (this.#fds.has(n)) n++;
    return n;
  }

  #read(fd: number, iovs: number, iovsLen: number, nreadPtr: number, at: number | undefined): number {
    const entry = this.#fds.get(fd);
    if (entry === undefined) return E.BADF;
    let source: Uint8Array;
    let pos: number;
    if (entry.kind === 'stdin') {
      if (at !== undefined) return E.SPIPE;
      source = this.#stdin;
      pos = this.#stdinPos;
    } else if (entry.kind === 'file') {
      source = this.#fileData(entry);
      pos = at ?? entry.pos;
    } else {
      return entry.kind === 'dir' ? E.ISDIR : E.BADF;
    }
    const v = this.#view();
    const b = this.#bytes();
    let total = 0;
    for (let i = 0; i < iovsLen && pos < source.length; i++) {
      const ptr = v.getUint32(iovs + i * 8, true);
      const len = v.getUint32(iovs + i * 8 + 4, true);
      if (ptr + len > b.length) return E.FAULT;
      const chunk = source.subarray(pos, Math.min(pos + len, source.length));
      b.set(chunk, ptr);
      pos += chunk.length;
      total += chunk.length;
    }
    if (entry.kind === 'stdin') this.#stdinPos = pos;
    else if (at === undefined && entry.kind === 'file') entry.pos = pos;
    v.setUint32(nreadPtr, total, true);
    return E.SUCCESS;
  }

  #fileData(entry: Extract<Fd, { kind: 'file' }>): Buffer {
    entry.data ??= fs.readFileSync(entry.host);
    return entry.data;
  }

  #hostOf(root: Root, rel: string[]): string {
    return rel.length === 0 ? root.real : nodePath.join(root.real, ...rel);
  }

  /**
   * Resolves a guest path relative to a directory fd, confined to the fd's mount:
   * absolute paths and `..` above the root are refused, and symbolic links are
   * followed only when their canonical target stays inside the root.
   */
  #resolve(dir: Extract<Fd, { kind: 'dir' }>, path: string, follow: boolean): { host: string; rel: string[] } | number {
    const confined = confinePath(dir.root.real, dir.rel, path, follow);
    if ('host' in confined) return confined;
    switch (confined.reason) {
      case 'invalid':
        return E.INVAL;
      case 'errno':
        return errnoOf(confined.code);
      default:
        return E.NOTCAPABLE;
    }
  }

  #pollOneoff(inPtr: number, outPtr: number, n: number, neventsPtr: number): number {
    const v = this.#view();
    let sleepNs = -1n;
    let events = 0;
    const writeEvent = (userdata: bigint, type: number, error: number, nbytes: bigint): void => {
      const at = outPtr + events * 32;
      new Uint8Array(v.buffer, at, 32).fill(0);
      v.setBigUint64(at, userdata, true);
      v.setUint16(at + 8, error, true);
      v.setUint8(at + 10, type);
      v.setBigUint64(at + 16, nbytes, true);
      events++;
    };
    const clocks: Array<{ userdata: bigint; timeout: bigint }> = [];
    for (let i = 0; i < n; i++) {
      const s = inPtr + i * 48;
      const userdata = v.getBigUint64(s, true);
      const tag = v.getUint8(s + 8);
      if (tag === 0) {
        const id = v.getUint32(s + 16, true);
        let timeout = v.getBigUint64(s + 24, true);
        const flags = v.getUint16(s + 40, true);
        if ((flags & 1) !== 0) timeout -= id === 0 ? this.#real() : this.#mono();
        if (timeout < 0n) timeout = 0n;
        clocks.push({ userdata, timeout });
      } else {
        const fd = v.getUint32(s + 16, true);
        const entry = this.#fds.get(fd);
        const error = entry === undefined ? E.BADF : E.SUCCESS;
        const left = entry?.kind === 'stdin' ? BigInt(this.#stdin.length - this.#stdinPos) : 0n;
        writeEvent(userdata, tag, error, left);
      }
    }
    if (events === 0 && clocks.length > 0) {
      const first = clocks.reduce((a, c) => (c.timeout < a.timeout ? c : a));
      sleepNs = first.timeout;
      // A synchronous sleep: the only kind a Wasm host call can make. The deadline still applies (the worker is terminated).
      if (sleepNs > 0n) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(sleepNs / 1_000_000n));
      for (const c of clocks) if (c.timeout <= first.timeout) writeEvent(c.userdata, 0, E.SUCCESS, 0n);
    }
    v.setUint32(neventsPtr, events, true);
    return E.SUCCESS;
  }
}

function filetypeOf(st: fs.Stats | fs.BigIntStats): number {
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  return FILETYPE.UNKNOWN;
}

function writeFilestat(v: DataView, ptr: number, st: fs.Stats): void {
  new Uint8Array(v.buffer, ptr, 64).fill(0);
  v.setBigUint64(ptr, BigInt(st.dev), true);
  v.setBigUint64(ptr + 8, BigInt(st.ino), true);
  v.setUint8(ptr + 16, filetypeOf(st));
  v.setBigUint64(ptr + 24, BigInt(st.nlink), true);
  v.setBigUint64(ptr + 32, BigInt(st.size), true);
  v.setBigUint64(ptr + 40, BigInt(Math.trunc(st.atimeMs)) * 1_000_000n, true);
  v.setBigUint64(ptr + 48, BigInt(Math.trunc(st.mtimeMs)) * 1_000_000n, true);
  v.setBigUint64(ptr + 56, BigInt(Math.trunc(st.ctimeMs)) * 1_000_000n, true);
}

function errnoOf(code: string): number {
  switch (code) {
    case 'ENOENT': return E.NOENT;
    case 'ENOTDIR': return E.NOTDIR;
    case 'EISDIR': return E.ISDIR;
    case 'EACCES': return E.ACCES;
    case 'EPERM': return E.PERM;
    case 'ELOOP': return E.LOOP;
    case 'ENAMETOOLONG': return E.NAMETOOLONG;
    case 'EEXIST': return E.EXIST;
    case 'ENOTEMPTY': return E.NOTEMPTY;
    default: return E.IO;
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
