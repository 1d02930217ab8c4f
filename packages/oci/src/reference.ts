import { InvalidReferenceError } from './errors.js';
import { isValidDigest } from './digest.js';

/** A parsed, normalised image reference. */
export interface Reference {
  /** Registry host, with port if any (`index.docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`). */
  readonly registry: string;
  /** Repository path (`library/alpine`, `org/app`). */
  readonly repository: string;
  /** Tag; `latest` when neither a tag nor a digest was given. */
  readonly tag?: string;
  /** Digest (`sha256:<hex>`) when the reference pins one. */
  readonly digest?: string;
}

/** Docker Hub's canonical registry name (Spin's and Docker's credential key). */
export const DOCKER_HUB_REGISTRY = 'index.docker.io';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;

/** Options of {@link parseReference}. */
export interface ParseReferenceOptions {
  /** Tag used when the text names neither a tag nor a digest. @default 'latest' */
  defaultTag?: string;
}

/**
 * Parse an image reference with Docker's normalisation: no registry means Docker Hub
 * (`index.docker.io`), a single-component Docker Hub name gets `library/`, `docker.io` and
 * `registry-1.docker.io` become `index.docker.io`, and no tag or digest means `latest`.
 *
 * @throws OciError `OCI_INVALID_REFERENCE` when the text is not a valid reference.
 */
export function parseReference(text: string, options: ParseReferenceOptions = {}): Reference {
  const bad = (why: string): InvalidReferenceError =>
    new InvalidReferenceError(`invalid reference "${text}": ${why}. Expected [registry/]repository[:tag][@digest], e.g. ghcr.io/org/app:1.0.`);
  if (text.length === 0) throw bad('it is empty');
  if (/\s/.test(text)) throw bad('it contains whitespace');
  if (text.includes('://')) throw bad('a reference has no URL scheme');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) throw bad(`"${digest}" is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)`);
  }

  let registry: string;
  let remainder: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase())) {
    registry = first;
    remainder = rest.slice(slash + 1);
    if (!HOST.test(registry) && !IPV6_HOST.test(registry)) throw bad(`"${registry}" is not a valid registry host`);
  } else {
    registry = DOCKER_HUB_REGISTRY;
    remainder = rest;
  }

  let tag: string | undefined;
  const lastSlash = remainder.lastIndexOf('/');
  const colon = remainder.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = remainder.slice(colon + 1);
    remainder = remainder.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }

  registry = normaliseRegistryHost(registry);
  if (registry === DOCKER_HUB_REGISTRY && remainder.length > 0 && !remainder.includes('/')) remainder = `library/${remainder}`;
  if (remainder.length === 0) throw bad('the repository is empty');
  if (remainder.length > 255) throw bad('the repository name is longer than 255 characters');
  for (const component of remainder.split('/')) {
    if (component !== component.toLowerCase()) throw bad('repository names must be lowercase');
    if (!PATH_COMPONENT.test(component)) throw bad(`"${component}" is not a valid repository path component (lowercase letters, digits, and . _ __ - between them)`);
  }

  if (tag === undefined && digest === undefined) tag = options.defaultTag ?? 'latest';
  return {
    registry,
    repository: remainder,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Format a reference back into its full text (`registry/repository[:tag][@digest]`). */
export function formatReference(ref: Reference): string {
  let text = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  return text;
}

/** The tag or digest to ask a registry for: the digest when pinned, else the tag. */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Map Docker Hub's aliases to `index.docker.io`; other hosts are lowercased. */
export function normaliseRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  if (lower === 'docker.io' || lower === 'registry-1.docker.io' || lower === 'index.docker.io') return DOCKER_HUB_REGISTRY;
  return lower;
}

/**
 * Normalise a server name as `login`/`logout` take it: a URL keeps only its host and port
 * (`https://ghcr.io/v2/` → `ghcr.io`), Docker Hub aliases become `index.docker.io`.
 *
 * @throws OciError `OCI_INVALID_REFERENCE` when nothing usable is left.
 */
export function normaliseServer(text: string): string {
  let host = text.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  if (host.length === 0 || (!HOST.test(host) && !IPV6_HOST.test(host))) {
    throw new InvalidReferenceError(`"${text}" is not a registry server name. Give a host such as ghcr.io or localhost:5000.`);
  }
  return normaliseRegistryHost(host);
}

/** True for hosts Docker lets use plain HTTP without `--insecure`: localhost, 127.0.0.0/8, [::1]. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '[::1]' || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function hostOf(registry: string): string {
  if (registry.startsWith('[')) {
    const end = registry.indexOf(']');
    return end >= 0 ? registry.slice(0, end + 1) : registry;
  }
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}
