import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gzipSync } from 'node:zlib';
import { ArchiveError, UnsafePathError } from './errors.js';

// A minimal ustar writer and reader for archive layers. Writing is deterministic (fixed
// mode, owner and mtime) so the same files give the same layer digest. Reading treats the
// archive as hostile: only regular files and directories, paths checked, sizes capped.

const BLOCK = 512;

/** One file to put in an archive. */
export interface TarInput {
  /** Relative path with forward slashes. */
  path: string;
  data: Uint8Array;
}

/** Caps applied while reading an untrusted archive. */
export interface TarLimits {
  /** Most entries (headers of any kind). @default 100_000 */
  maxEntries?: number;
  /** Most bytes of file content in total. @default 1 GiB */
  maxTotalBytes?: number;
  /** Most bytes in one file (held in memory while read). @default 256 MiB */
  maxEntryBytes?: number;
}

/** One entry read from an archive; `path` is checked and normalised (no leading `./`). */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory';
  data: Buffer;
}

/** A gzip-compressed tar of `entries`, with mode 0644, owner 0 and the given mtime. */
export function writeTarGz(entries: readonly TarInput[], options: { mtime?: number } = {}): Buffer {
  const mtime = Math.max(0, Math.floor(options.mtime ?? 0));
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    parts.push(...entryHeaders(entry.path, data.length, mtime), pad(data));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts));
}

/** One file to stream into an archive: its size is known up front (it goes in the header). */
export interface TarStreamInput {
  path: string;
  size: number;
  open(): AsyncIterable<Uint8Array>;
}

/**
 * Streams a gzip-compressed tar of `entries` into the file `dest`, one file in memory at a
 * time at most, hashing the output on the way; the bytes equal {@link writeTarGz}'s.
 * @throws SpinAppSourceError-like errors of the sources; an `Error` when a file's size changed while it was read.
 */
export async function writeTarGzFile(
  entries: readonly TarStreamInput[],
  dest: string,
  options: { mtime?: number } = {},
): Promise<{ digest: string; size: number }> {
  const mtime = Math.max(0, Math.floor(options.mtime ?? 0));
  async function* tarStream(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      yield* entryHeaders(entry.path, entry.size, mtime);
      let written = 0;
      for await (const chunk of entry.open()) {
        written += chunk.byteLength;
        if (written > entry.size) break;
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      if (written !== entry.size) throw new Error(`${entry.path} changed size while it was archived (${entry.size} → ${written} bytes); push again.`);
      const rest = entry.size % BLOCK;
      if (rest !== 0) yield Buffer.alloc(BLOCK - rest);
    }
    yield Buffer.alloc(BLOCK * 2);
  }
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(Readable.from(tarStream()), createGzip(), counter, createWriteStream(dest));
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** The header block(s) of one regular file: a pax header first when the path needs one. */
function entryHeaders(path: string, size: number, mtime: number): Buffer[] {
  if (Buffer.byteLength(path) <= 100) return [header({ name: path, size, mtime, type: '0' })];
  const split = splitUstarName(path);
  if (split !== undefined) return [header({ name: split.name, prefix: split.prefix, size, mtime, type: '0' })];
  const record = paxRecord('path', path);
  const fallback = path.slice(-100).replace(/^[^/]*\//, '') || 'file';
  return [header({ name: 'PaxHeader', size: record.length, mtime, type: 'x' }), pad(record), header({ name: fallback, size, mtime, type: '0' })];
}

function splitUstarName(path: string): { name: string; prefix: string } | undefined {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  return undefined;
}

function paxRecord(key: string, value: string): Buffer {
  // The record length counts its own digits: iterate until it is stable.
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  for (let total = bodyLength + String(length).length; total !== length; total = bodyLength + String(length).length) {
    length = total;
  }
  return Buffer.from(`${length}${body}`, 'utf8');
}

function header(fields: { name: string; prefix?: string; size: number; mtime: number; type: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, fields.size);
  octal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156);
  block.write(fields.type, 156, 1, 'ascii');
  block.write('ustar\u0000', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  if (fields.prefix !== undefined) block.write(fields.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

function pad(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/**
 * Checks a path from an untrusted source and returns it relative, with forward slashes and
 * no `.` segments; `''` for the root itself.
 * @throws UnsafePathError (`OCI_UNSAFE_PATH`) for absolute paths, `..`, backslashes, NUL or drive letters.
 */
export function safeRelativePath(path: string): string {
  if (path.startsWith('/') || path.includes('\\') || path.includes('\u0000') || /^[A-Za-z]:/.test(path)) {
    throw new UnsafePathError(`Refusing path '${printable(path)}': it must be relative and stay inside its directory.`);
  }
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      throw new UnsafePathError(`Refusing path '${printable(path)}': '..' would leave its directory.`);
    }
    segments.push(segment);
  }
  return segments.join('/');
}

function printable(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what we mask
  return path.replace(/[\u0000-\u001f]/g, '?').slice(0, 200);
}

/** Reads a gzip-compressed tar, yielding its files and directories; anything else is refused. */
export async function* readTarGz(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  limits: TarLimits = {},
): AsyncGenerator<TarEntry> {
  const input = source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : Readable.from(source);
  const gunzip = createGunzip();
  const piped = input.pipe(gunzip);
  input.on('error', (err) => gunzip.destroy(err));
  try {
    yield* readTar(piped, limits);
  } catch (err) {
    if (err instanceof ArchiveError || err instanceof UnsafePathError) throw err;
    throw new ArchiveError('OCI_ARCHIVE_CORRUPT', 'The archive layer could not be decompressed; pull it again or ask the publisher to push it again.', { cause: err });
  } finally {
    gunzip.destroy();
    input.destroy();
  }
}

/** Reads an uncompressed tar stream; see {@link readTarGz}. */
export async function* readTar(source: AsyncIterable<Uint8Array>, limits: TarLimits = {}): AsyncGenerator<TarEntry> {
  const maxEntries = limits.maxEntries ?? 100_000;
  const maxTotal = limits.maxTotalBytes ?? 1024 ** 3;
  const maxEntry = limits.maxEntryBytes ?? 256 * 1024 ** 2;
  const reader = new BlockReader(source[Symbol.asyncIterator]());
  let entries = 0;
  let total = 0;
  let pendingPath: string | undefined;
  let pendingSize: number | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === undefined) return; // tolerate a missing end marker
    if (block.length < BLOCK) throw corrupt('it ends inside a header');
    if (block.every((byte) => byte === 0)) return;
    entries += 1;
    if (entries > maxEntries) {
      throw new ArchiveError('OCI_ARCHIVE_TOO_MANY_ENTRIES', `The archive layer has more than ${maxEntries} entries; it was refused.`);
    }
    verifyChecksum(block);
    const type = String.fromCharCode(block[156] ?? 0);
    let size = pendingSize ?? parseOctal(block, 124, 12);
    const name = pendingPath ?? headerName(block);
    pendingPath = undefined;
    pendingSize = undefined;
    const isMeta = type === 'x' || type === 'g' || type === 'L';
    if (type === '0' || type === '\u0000' || type === '7' || isMeta) {
      if (size > maxEntry || total + size > maxTotal) {
        throw new ArchiveError('OCI_ARCHIVE_TOO_LARGE', `The archive layer holds more than the ${size > maxEntry ? maxEntry : maxTotal} bytes allowed; it was refused.`);
      }
      total += size;
    } else if (type !== '5') {
      throw new ArchiveError('OCI_ARCHIVE_ENTRY_TYPE', `The archive layer has '${printable(name)}' of tar type '${printable(type)}'; only regular files and directories are accepted.`);
    } else {
      size = 0;
    }
    const data = size === 0 ? Buffer.alloc(0) : await reader.read(size);
    if (data === undefined || data.length < size) throw corrupt('it ends inside an entry');
    const rest = size % BLOCK;
    if (rest !== 0) {
      const padding = await reader.read(BLOCK - rest);
      if (padding === undefined) throw corrupt('it ends inside padding');
    }
    if (type === 'x') {
      const records = parsePax(data);
      if (records.path !== undefined) pendingPath = records.path;
      if (records.size !== undefined) pendingSize = Number.parseInt(records.size, 10);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      pendingPath = cString(data, 0, data.length);
      continue;
    }
    const path = safeRelativePath(name);
    if (path === '') continue;
    yield { path, type: type === '5' ? 'directory' : 'file', data };
  }
}

function corrupt(why: string): ArchiveError {
  return new ArchiveError('OCI_ARCHIVE_CORRUPT', `The archive layer is corrupt (${why}); pull it again or ask the publisher to push it again.`);
}

function verifyChecksum(block: Buffer): void {
  const stored = parseOctal(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  if (sum !== stored) throw corrupt('a header checksum does not match');
}

function parseOctal(block: Buffer, offset: number, length: number): number {
  const first = block[offset] ?? 0;
  if ((first & 0x80) !== 0) throw corrupt('it uses a binary size field');
  // eslint-disable-next-line no-control-regex -- tar pads numbers with NUL
  const text = block.toString('ascii', offset, offset + length).replace(/[\u0000 ]+$/g, '').replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt('a numeric header field is not octal');
  return Number.parseInt(text, 8);
}

function headerName(block: Buffer): string {
  const name = cString(block, 0, 100);
  const isUstar = block.toString('ascii', 257, 262) === 'ustar';
  const prefix = isUstar ? cString(block, 345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

function cString(block: Buffer, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? slice.length : end).toString('utf8');
}

function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.toString('ascii', offset, space), 10);
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) throw corrupt('a pax header is malformed');
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}

/** Pulls exact byte counts out of a chunked stream. */
class BlockReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(private readonly iterator: AsyncIterator<Uint8Array>) {}

  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length && !this.done) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
        break;
      }
      const chunk = Buffer.from(next.value);
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    if (this.buffered === 0) return undefined;
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const take = Math.min(length, all.length);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
