import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';

// Archive layers are written with GNU tar headers, as Spin writes them (tar-rs
// `Header::new_gnu`, names over 100 bytes in a `././@LongLink` entry). tar-stream and
// node-tar write only POSIX ustar/pax headers, so this writer is ours; reading untrusted
// archives goes through tar-stream (archive-reader.ts). Output is deterministic: mode
// 0644 (directories 0755), owner 0, the given mtime, so the same files give the same layer.

const BLOCK = 512;

/** One entry to put in an archive: a directory, or a file whose size is known up front. */
export type TarStreamInput =
  | { type: 'directory'; path: string }
  | { type?: 'file'; path: string; size: number; open(): AsyncIterable<Uint8Array> };

/** One file of an in-memory archive. */
export interface TarInput {
  path: string;
  data: Uint8Array;
}

/** A gzip-compressed tar of `entries` (files only), in memory; same bytes as {@link writeTarGzFile}. */
export function writeTarGz(entries: readonly TarInput[], options: { mtime?: number } = {}): Buffer {
  const mtime = Math.max(0, Math.floor(options.mtime ?? 0));
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    parts.push(...entryHeaders(entry.path, '0', data.length, mtime), pad(data));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts));
}

/**
 * Streams a gzip-compressed tar of `entries` into the file `dest`, one file in memory at a
 * time at most, hashing the output on the way.
 *
 * @throws Error when a file's size changed while it was read; the errors of the sources
 */
export async function writeTarGzFile(entries: readonly TarStreamInput[], dest: string, options: { mtime?: number } = {}): Promise<{ digest: string; size: number }> {
  const mtime = Math.max(0, Math.floor(options.mtime ?? 0));
  async function* tarStream(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      if (entry.type === 'directory') {
        yield* entryHeaders(entry.path, '5', 0, mtime);
        continue;
      }
      yield* entryHeaders(entry.path, '0', entry.size, mtime);
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

/** The header block(s) of one entry: a `././@LongLink` entry first when the name is over 100 bytes. */
function entryHeaders(path: string, type: '0' | '5', size: number, mtime: number): Buffer[] {
  const name = Buffer.from(path, 'utf8');
  const mode = type === '5' ? 0o755 : 0o644;
  if (name.length <= 100) return [header(name, type, mode, size, mtime)];
  const longName = Buffer.concat([name, Buffer.alloc(1)]);
  return [header(Buffer.from('././@LongLink'), 'L', 0o644, longName.length, 0), pad(longName), header(name.subarray(0, 100), type, mode, size, mtime)];
}

function header(name: Buffer, type: string, mode: number, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0, 0, 100);
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, mtime);
  block.write(type, 156, 1, 'ascii');
  // GNU magic and version ("ustar " + " \0"), where POSIX has "ustar\0" + "00".
  block.write('ustar  \u0000', 257, 8, 'ascii');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  octal(block, 148, 8, sum);
  return block;
}

/** Zero-padded octal with a trailing NUL, as tar-rs writes numeric fields. */
function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

function pad(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}
