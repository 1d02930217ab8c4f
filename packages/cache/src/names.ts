import { CacheInvalidKeyError, CacheInvalidNameError } from './errors.js';

// Distribution-spec grammar for one repository path component; it cannot be "." or "..".
const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// Distribution-spec tag grammar; a tag is always a single path segment.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
// A host name or IP literal with an optional port.
const REGISTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const DERIVED_KEY = /^[A-Za-z0-9][A-Za-z0-9._+=@:-]{0,199}$/;

/**
 * The path segment for a registry host (`localhost:5000`), `:` → `_` on Windows.
 * @throws CACHE_INVALID_NAME when it is not a host name with an optional port.
 */
export function registrySegment(registry: string, platform: NodeJS.Platform): string {
  if (typeof registry !== 'string' || registry.length === 0 || registry.length > 255 || !REGISTRY.test(registry)) {
    throw new CacheInvalidNameError('registry', String(registry), 'expected a host name with an optional :port');
  }
  return platform === 'win32' ? registry.replaceAll(':', '_') : registry;
}

/**
 * The path segments for a repository (`library/hello`), each checked against the
 * distribution-spec grammar so none can be `..`, empty or absolute.
 * @throws CACHE_INVALID_NAME
 */
export function repositorySegments(repository: string): string[] {
  if (typeof repository !== 'string' || repository.length === 0 || repository.length > 255) {
    throw new CacheInvalidNameError('repository', String(repository), 'expected 1 to 255 characters');
  }
  const segments = repository.split('/');
  for (const segment of segments) {
    if (!REPOSITORY_COMPONENT.test(segment)) {
      throw new CacheInvalidNameError(
        'repository',
        repository,
        `path component ${JSON.stringify(segment)} must be lowercase letters and digits separated by ".", "_", "__" or "-"`,
      );
    }
  }
  return segments;
}

/**
 * The path segment for a tag; `undefined` means `latest` (as Spin does for digest references).
 * @throws CACHE_INVALID_NAME
 */
export function tagSegment(tag: string | undefined): string {
  const value = tag ?? 'latest';
  if (typeof value !== 'string' || !TAG.test(value)) {
    throw new CacheInvalidNameError('tag', String(value), 'expected letters, digits, "_", "." or "-" (at most 128, not starting with "." or "-")');
  }
  return value;
}

/**
 * The directory name for a derived-artifact key, `:` → `_` on Windows.
 * @throws CACHE_INVALID_KEY
 */
export function derivedKeySegment(key: string, platform: NodeJS.Platform): string {
  if (typeof key !== 'string' || !DERIVED_KEY.test(key)) {
    throw new CacheInvalidKeyError(String(key), 'not a safe single path segment');
  }
  return platform === 'win32' ? key.replaceAll(':', '_') : key;
}
