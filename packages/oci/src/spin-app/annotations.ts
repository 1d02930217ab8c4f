import { AnnotationError } from './errors.js';

/**
 * Parses `--annotation key=value` arguments into a map; a later key wins (as in Spin).
 * @throws AnnotationError (`OCI_ANNOTATION_INVALID`) for an entry without `=` or with an empty key.
 */
export function parseAnnotations(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      throw new AnnotationError(`Annotation '${entry}' is not of the form key=value; write e.g. --annotation org.opencontainers.image.source=https://github.com/me/app.`);
    }
    out[entry.slice(0, eq).trim()] = entry.slice(eq + 1);
  }
  return out;
}
