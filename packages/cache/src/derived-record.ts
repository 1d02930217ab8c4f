/**
 * The verification record of a derived artifact: every file of the directory with its size and
 * sha256, written when the artifact is built and checked whenever it is read for running. A
 * derived artifact has no digest of its own (its key names what it was made from, not what it
 * holds), so the record is what a change to its content cannot keep valid: a flipped byte, a
 * truncated or added file, or a missing record each fail the check.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';

/** Name of the record inside a derived directory. */
export const DERIVED_RECORD = '.spinel-derived.json';

/** One file of a derived artifact. */
export interface DerivedFileRecord {
  /** Path inside the directory, `/`-separated. */
  path: string;
  size: number;
  digest: string;
}

interface RecordFile {
  version: 1;
  files: DerivedFileRecord[];
}

/** Files (not directories) under `dir`, relative and `/`-separated, sorted; the record excluded. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const out: string[] = [];
  for (const entry of entries) {
    const parent = (entry as { parentPath?: string; path?: string }).parentPath ?? (entry as { path?: string }).path ?? dir;
    const rel = join(parent, entry.name).slice(dir.length + 1).split(sep).join('/');
    if (rel === DERIVED_RECORD) continue;
    // Anything but a regular file (a link, a FIFO) has no place in an artifact: listing it makes
    // the check fail, since it cannot be hashed as a file.
    if (!entry.isDirectory()) out.push(rel);
  }
  return out.sort();
}

/** Hashes every file a builder left in `dir` and writes the record there. */
export async function writeDerivedRecord(dir: string): Promise<void> {
  const files: DerivedFileRecord[] = [];
  for (const path of await listFiles(dir)) {
    const bytes = await readFile(join(dir, path));
    files.push({ path, size: bytes.byteLength, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` });
  }
  const record: RecordFile = { version: 1, files };
  await writeFile(join(dir, DERIVED_RECORD), JSON.stringify(record));
}

/** What {@link readDerivedChecked} found. */
export type DerivedCheck = { ok: true; files: Map<string, Buffer> } | { ok: false; problem: string };

/**
 * Reads every file of a derived directory, hashing each while it is read, and compares the
 * set of files, their sizes and their digests with the record. Files are opened without
 * blocking and must be regular, so nothing placed there can stall or redirect the read.
 */
export async function readDerivedChecked(dir: string, keep: (path: string) => boolean = () => true): Promise<DerivedCheck> {
  let record: RecordFile;
  try {
    record = JSON.parse(await readFile(join(dir, DERIVED_RECORD), 'utf8')) as RecordFile;
  } catch {
    return { ok: false, problem: 'it has no readable verification record' };
  }
  if (record.version !== 1 || !Array.isArray(record.files)) return { ok: false, problem: 'its verification record is not one this version writes' };
  const present = await listFiles(dir);
  const listed = record.files.map((f) => f.path);
  if (present.length !== listed.length || present.some((p, i) => p !== listed[i])) {
    return { ok: false, problem: `its files (${present.join(', ')}) are not the recorded ones (${listed.join(', ')})` };
  }
  const files = new Map<string, Buffer>();
  for (const file of record.files) {
    const handle = await open(join(dir, file.path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
    if (handle === undefined) return { ok: false, problem: `${file.path} cannot be opened` };
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.size !== file.size) return { ok: false, problem: `${file.path} is ${info.isFile() ? `${info.size} bytes, recorded ${file.size}` : 'not a regular file'}` };
      const bytes = Buffer.allocUnsafe(file.size);
      const hash = createHash('sha256');
      let position = 0;
      while (position < file.size) {
        const { bytesRead } = await handle.read(bytes, position, Math.min(1 << 20, file.size - position), position);
        if (bytesRead === 0) break;
        hash.update(bytes.subarray(position, position + bytesRead));
        position += bytesRead;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (position !== file.size || actual !== file.digest) return { ok: false, problem: `${file.path} hashes to ${actual}, recorded ${file.digest}` };
      if (keep(file.path)) files.set(file.path, bytes);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
  return { ok: true, files };
}
