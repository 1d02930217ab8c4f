import { resolve } from 'node:path';
import { isValidDigest } from './digest.js';
import { InvalidReferenceError } from './errors.js';
import { parseReference, type Reference } from './reference.js';

/** Where a CLI reference points: a registry repository or an image layout directory. */
export type TargetReference =
  | { kind: 'registry'; reference: Reference }
  | { kind: 'layout'; path: string; tag?: string; digest?: string };

/**
 * Parse a reference that may name an OCI image layout directory: `oci:<dir>[:<tag>][@<digest>]`
 * (as skopeo writes it) or `oci-layout:<dir>…`, or a path starting with `/`, `./` or `../` (with the same optional
 * tag/digest). Anything else is a registry reference. A layout without tag or digest means
 * tag `latest`. Relative layout paths resolve against `cwd` (the CLI passes the process's).
 *
 * @throws OciError `OCI_INVALID_REFERENCE`
 */
export function parseTargetReference(text: string, options: { cwd: string }): TargetReference {
  let rest: string | undefined;
  if (text.startsWith('oci-layout:')) rest = text.slice('oci-layout:'.length);
  else if (text.startsWith('oci:')) rest = text.slice(4);
  else if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../')) rest = text;
  if (rest === undefined) return { kind: 'registry', reference: parseReference(text) };
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0 && isValidDigest(rest.slice(at + 1))) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon + 1).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new InvalidReferenceError(`invalid tag "${tag}" in layout reference "${text}". Use oci:<dir>:<tag>.`);
  }
  if (rest.length === 0) throw new InvalidReferenceError(`layout reference "${text}" names no directory. Use oci:<dir>[:<tag>].`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    kind: 'layout',
    path: resolve(options.cwd, rest),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}
