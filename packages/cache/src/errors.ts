/**
 * Errors thrown by `@spinel/cache`. Callers switch on `err.code`; the codes are listed in
 * the package README and are public contract.
 */

/** Every stable code this package throws. */
export type CacheErrorCode =
  | 'CACHE_INVALID_DIGEST'
  | 'CACHE_DIGEST_MISMATCH'
  | 'CACHE_INTEGRITY'
  | 'CACHE_NOT_FOUND'
  | 'CACHE_INVALID_NAME'
  | 'CACHE_INVALID_KEY'
  | 'CACHE_TOO_LARGE'
  | 'CACHE_DOWNLOAD_FAILED'
  | 'CACHE_TOO_MANY_REDIRECTS'
  | 'CACHE_INVALID_ARGUMENT'
  | 'CACHE_IO';

/** Base class of every error this package throws. */
export class CacheError extends Error {
  readonly code: CacheErrorCode;

  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CacheError';
    this.code = code;
  }
}

/** A digest string is not `sha256:<64 lowercase hex digits>`. */
export class CacheInvalidDigestError extends CacheError {
  readonly digest: string;

  constructor(digest: string, reason: string) {
    super(
      'CACHE_INVALID_DIGEST',
      `invalid digest ${JSON.stringify(truncate(digest))}: ${reason}; expected "sha256:" followed by 64 lowercase hex digits`,
    );
    this.name = 'CacheInvalidDigestError';
    this.digest = digest;
  }
}

/** Content written to the cache does not hash to the digest it was stored under; nothing was kept. */
export class CacheDigestMismatchError extends CacheError {
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string, source?: string) {
    const from = source === undefined ? '' : ` from ${source}`;
    super(
      'CACHE_DIGEST_MISMATCH',
      `content${from} does not match its digest: expected ${expected}, got ${actual}. Nothing was stored; check the digest or the source`,
    );
    this.name = 'CacheDigestMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** A stored entry is corrupt (wrong size or wrong hash): it is refused, never served. */
export class CacheIntegrityError extends CacheError {
  readonly digest: string;
  readonly path: string;

  constructor(digest: string, path: string, detail: string) {
    super(
      'CACHE_INTEGRITY',
      `cached blob ${digest} at ${path} is corrupt (${detail}). Run "spinel cache verify" to remove corrupt entries, then fetch it again`,
    );
    this.name = 'CacheIntegrityError';
    this.digest = digest;
    this.path = path;
  }
}

/** The requested blob, manifest or derived entry is not in the cache. */
export class CacheNotFoundError extends CacheError {
  constructor(what: string) {
    super('CACHE_NOT_FOUND', `${what} is not in the cache; fetch or build it first`);
    this.name = 'CacheNotFoundError';
  }
}

/** A registry, repository or tag cannot become a cache path (it could escape the cache root). */
export class CacheInvalidNameError extends CacheError {
  constructor(kind: string, value: string, reason: string) {
    super('CACHE_INVALID_NAME', `invalid ${kind} ${JSON.stringify(truncate(value))}: ${reason}`);
    this.name = 'CacheInvalidNameError';
  }
}

/** A derived-artifact key is not a safe single path segment. */
export class CacheInvalidKeyError extends CacheError {
  constructor(key: string, reason: string) {
    super(
      'CACHE_INVALID_KEY',
      `invalid derived-artifact key ${JSON.stringify(truncate(key))}: ${reason}; use letters, digits and . _ - + = @ : (at most 200 characters)`,
    );
    this.name = 'CacheInvalidKeyError';
  }
}

/** Content is larger than the configured size cap; nothing was stored. */
export class CacheTooLargeError extends CacheError {
  readonly limit: number;

  constructor(limit: number, source?: string) {
    const from = source === undefined ? 'content' : source;
    super('CACHE_TOO_LARGE', `${from} is larger than the ${limit}-byte limit; raise maxBytes if it is expected`);
    this.name = 'CacheTooLargeError';
    this.limit = limit;
  }
}

/** A download failed (HTTP error status, network error after retries, or a bad URL). */
export class CacheDownloadError extends CacheError {
  readonly url: string;
  readonly status: number | undefined;

  constructor(url: string, detail: string, options?: { cause?: unknown; status?: number }) {
    super('CACHE_DOWNLOAD_FAILED', `error fetching source URL "${url}": ${detail}`, options);
    this.name = 'CacheDownloadError';
    this.url = url;
    this.status = options?.status;
  }
}

/** A download was redirected more times than allowed. */
export class CacheTooManyRedirectsError extends CacheError {
  readonly url: string;

  constructor(url: string, limit: number) {
    super('CACHE_TOO_MANY_REDIRECTS', `error fetching source URL "${url}": more than ${limit} redirects; check the URL`);
    this.name = 'CacheTooManyRedirectsError';
    this.url = url;
  }
}

/** An argument such as a size ("500M") or a duration ("7d") could not be understood. */
export class CacheInvalidArgumentError extends CacheError {
  constructor(message: string) {
    super('CACHE_INVALID_ARGUMENT', message);
    this.name = 'CacheInvalidArgumentError';
  }
}

/** A filesystem operation on the cache failed. */
export class CacheIoError extends CacheError {
  readonly path: string;

  constructor(action: string, path: string, cause: unknown) {
    const code = (cause as { code?: unknown } | undefined)?.code;
    const suffix = typeof code === 'string' ? ` (${code})` : '';
    super('CACHE_IO', `could not ${action} ${path}${suffix}; check that the cache directory is writable and the disk has room`, {
      cause,
    });
    this.name = 'CacheIoError';
    this.path = path;
  }
}

function truncate(value: string): string {
  return value.length > 120 ? `${value.slice(0, 117)}...` : value;
}
