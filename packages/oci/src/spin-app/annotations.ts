import type { LockedApp } from '@spinel/manifest';
import { AnnotationError } from '../errors.js';

/**
 * Parses `--annotation key=value` arguments into a map; a later key wins (as in Spin).
 *
 * @throws OciError `OCI_ANNOTATION_INVALID` for an entry without `=` or with an empty key
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

/**
 * RFC 3339 in UTC as chrono's `to_rfc3339()` writes it (what Spin puts in
 * `org.opencontainers.image.created`): `+00:00`, fractional seconds only when not zero.
 */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z').replace(/Z$/, '+00:00');
}

/**
 * Spin's `all_annotations`: the explicit ones, plus `authors` (joined with `, `, when there
 * are any), `title`, `description`, `version` from the app's metadata and `created`, each
 * only where no explicit value is given.
 */
export function manifestAnnotations(app: LockedApp, created: Date, explicit: Record<string, string>): Record<string, string> {
  const metadata = app.metadata ?? {};
  const out: Record<string, string> = { ...explicit };
  const infer = (key: string, value: unknown): void => {
    if (typeof value === 'string' && !(key in out)) out[key] = value;
  };
  const authors = metadata['authors'];
  if (Array.isArray(authors) && authors.length > 0 && authors.every((a) => typeof a === 'string')) {
    infer('org.opencontainers.image.authors', authors.join(', '));
  }
  infer('org.opencontainers.image.title', metadata['name']);
  infer('org.opencontainers.image.description', metadata['description']);
  infer('org.opencontainers.image.version', metadata['version']);
  infer('org.opencontainers.image.created', rfc3339(created));
  return out;
}
