import { UnsafePathError } from '../errors.js';

/**
 * Checks a path from an untrusted source (a pulled locked app, an archive layer) and
 * returns it relative, with forward slashes and no `.` segments; `''` for the root itself.
 * As in Spin (`is_safe_to_join` in `crates/oci/src/loader.rs`), every segment must be a
 * plain name: on Unix `\` and `:` are ordinary characters of a file name; on Windows they
 * would be a separator or a drive, so they are refused there.
 *
 * @throws OciError `OCI_UNSAFE_PATH` for absolute paths, `..`, NUL, and on Windows `\` or a drive letter
 */
export function safeRelativePath(path: string, platform: NodeJS.Platform = process.platform): string {
  const windows = platform === 'win32';
  if (path.startsWith('/') || path.includes('\u0000') || (windows && (path.includes('\\') || /^[A-Za-z]:/.test(path)))) {
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

/** A path shown in a message: control characters masked, at most 200 characters. */
export function printable(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what we mask
  return path.replace(/[\u0000-\u001f]/g, '?').slice(0, 200);
}
