import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { ArchiveError, OciError } from '../errors.js';
import { printable, safeRelativePath } from './safe-path.js';

// Archive layers are untrusted. tar-stream parses them (ustar, GNU and PAX headers, long
// names, checksums, and a cap on PAX/long-name header sizes); what is accepted is decided
// here: regular files and directories only, every path checked, entries and bytes capped.

/** Caps applied while reading an untrusted archive layer. */
export interface TarLimits {
  /** Most entries. @default 100_000 */
  maxEntries?: number;
  /** Most bytes of file content in total. @default 1 GiB */
  maxTotalBytes?: number;
  /** Most bytes in one file (held in memory while read). @default 256 MiB */
  maxEntryBytes?: number;
}

/** The caps used when none are given. */
export const DEFAULT_TAR_LIMITS: Required<TarLimits> = { maxEntries: 100_000, maxTotalBytes: 1024 ** 3, maxEntryBytes: 256 * 1024 ** 2 };

/** One entry read from an archive; `path` is checked and normalised (no leading `./`). */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory';
  data: Buffer;
}

/**
 * Reads a gzip-compressed tar, yielding its files and directories.
 *
 * @throws OciError `OCI_ARCHIVE_CORRUPT`, `OCI_ARCHIVE_ENTRY_TYPE` (links, devices, anything
 *   but files and directories), `OCI_ARCHIVE_TOO_LARGE`, `OCI_ARCHIVE_TOO_MANY_ENTRIES`,
 *   `OCI_UNSAFE_PATH`
 */
export async function* readTarGz(source: AsyncIterable<Uint8Array> | Uint8Array, limits: TarLimits = {}): AsyncGenerator<TarEntry> {
  const maxEntries = limits.maxEntries ?? DEFAULT_TAR_LIMITS.maxEntries;
  const maxTotal = limits.maxTotalBytes ?? DEFAULT_TAR_LIMITS.maxTotalBytes;
  const maxEntry = limits.maxEntryBytes ?? DEFAULT_TAR_LIMITS.maxEntryBytes;
  const input = source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : Readable.from(source);
  const parser = extract();
  // Failures of the input or of gunzip end the parser, so the loop below sees them.
  const feeding = pipeline(input, createGunzip(), parser).catch((err: unknown) => {
    parser.destroy(err as Error);
  });
  let entries = 0;
  let total = 0;
  try {
    for await (const entry of parser) {
      const header = entry.header;
      entries += 1;
      if (entries > maxEntries) {
        throw new ArchiveError('OCI_ARCHIVE_TOO_MANY_ENTRIES', `The archive layer has more than ${maxEntries} entries; it was refused.`);
      }
      const type = entryType(header);
      const size = type === 'directory' ? 0 : (header.size ?? 0);
      if (size > maxEntry || total + size > maxTotal) {
        throw new ArchiveError('OCI_ARCHIVE_TOO_LARGE', `The archive layer holds more than the ${size > maxEntry ? maxEntry : maxTotal} bytes allowed; it was refused.`);
      }
      total += size;
      const path = safeRelativePath(header.name);
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      if (path === '') continue;
      yield { path, type, data: Buffer.concat(chunks) };
    }
    await feeding;
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw new ArchiveError('OCI_ARCHIVE_CORRUPT', 'The archive layer is corrupt or not gzip; pull it again or ask the publisher to push it again.', { cause: err });
  } finally {
    parser.destroy();
    input.destroy();
  }
}

function entryType(header: Header): 'file' | 'directory' {
  if (header.type === 'file' || header.type === 'contiguous-file') return 'file';
  if (header.type === 'directory') return 'directory';
  throw new ArchiveError(
    'OCI_ARCHIVE_ENTRY_TYPE',
    `The archive layer has '${printable(header.name)}' of tar type '${printable(String(header.type))}'; only regular files and directories are accepted.`,
  );
}
