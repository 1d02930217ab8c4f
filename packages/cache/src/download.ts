import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { BlobKind, Cache, PutResult } from './cache.js';
import { parseDigest } from './digest.js';
import { debug, downloadChannel } from './diagnostics.js';
import { CacheDownloadError, CacheError, CacheTooLargeError, CacheTooManyRedirectsError } from './errors.js';
import { redactUrl } from './redact-url.js';

/** Options of {@link downloadToCache}; everything but `url` and `digest` can also go to {@link createUrlResolver}. */
export interface DownloadOptions {
  /** Where the blob goes. */
  cache: Cache;
  /** `http:` or `https:` URL. */
  url: string;
  /** Expected `sha256:<hex>` digest of the body. */
  digest: string;
  /** Blob directory. @default 'wasm' (Spin keeps URL component sources there) */
  kind?: BlobKind;
  /** undici dispatcher (an Agent, a MockAgent, a ProxyAgent…). @default undici's global dispatcher */
  dispatcher?: Dispatcher;
  /** Redirects followed before giving up (CACHE_TOO_MANY_REDIRECTS). @default 5 */
  maxRedirects?: number;
  /** Further attempts after a transient failure (5xx, 408, 429, reset, timeout). @default 3 */
  retries?: number;
  /** First backoff delay; doubled each retry, with jitter. @default 250 */
  retryDelayMs?: number;
  /** Longest wait between attempts, also the cap on a `Retry-After`. @default 10000 */
  maxRetryDelayMs?: number;
  /** Largest body accepted (CACHE_TOO_LARGE). @default 1 GiB */
  maxBytes?: number;
  /** Time to wait for response headers. @default 30000 */
  headersTimeoutMs?: number;
  /** Longest pause between body chunks. @default 30000 */
  bodyTimeoutMs?: number;
  /** Check an already cached blob's full hash before using it (a corrupt one is fetched again). @default true */
  verifyCached?: boolean;
  signal?: AbortSignal;
  /** Extra request headers (e.g. `user-agent`). */
  headers?: Record<string, string>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

class TransientStatusError extends Error {
  constructor(readonly status: number, readonly retryAfterMs: number | undefined) {
    super(`server answered ${status}`);
  }
}

/**
 * Downloads `url` into the cache under `digest`, verifying the body as it streams. A blob
 * already cached is used without any request. Redirects are followed up to a bound;
 * transient failures are retried with exponential backoff; a body over `maxBytes` is refused.
 * @throws CACHE_INVALID_DIGEST, CACHE_DIGEST_MISMATCH (nothing stored), CACHE_TOO_LARGE,
 *   CACHE_TOO_MANY_REDIRECTS, CACHE_DOWNLOAD_FAILED (status, network error after retries, bad URL), CACHE_IO;
 *   the signal's reason (an `AbortError`) when `signal` aborts.
 */
export async function downloadToCache(options: DownloadOptions): Promise<PutResult> {
  const { cache } = options;
  const { digest } = parseDigest(options.digest);
  const shown = redactUrl(options.url);
  const cached = await cache.stat(digest);
  if (cached !== undefined) {
    const intact = options.verifyCached === false || (await cache.hashBlob(digest)) === digest;
    if (intact) {
      await cache.path(digest);
      return { digest, path: cached.path, size: cached.size, kind: cached.kind, existed: true };
    }
    debug('cached %s is corrupt; downloading it again', digest);
    await cache.remove(digest);
  }

  let start: URL;
  try {
    start = new URL(options.url);
  } catch (err) {
    throw new CacheDownloadError(shown, 'not a valid URL', { cause: err });
  }
  checkScheme(start, shown);

  const retries = options.retries ?? 3;
  const baseDelay = options.retryDelayMs ?? 250;
  const maxDelay = options.maxRetryDelayMs ?? 10_000;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    options.signal?.throwIfAborted();
    try {
      const result = await attemptDownload(start, digest, shown, options);
      publish({ url: shown, digest, attempt, ok: true });
      return result;
    } catch (err) {
      lastError = err;
      const transient = isTransient(err);
      publish({ url: shown, digest, attempt, ok: false, transient, error: describe(err) });
      if (!transient || attempt === retries || options.signal?.aborted === true) break;
      const backoff = Math.min(maxDelay, baseDelay * 2 ** attempt) * (0.5 + Math.random() / 2);
      const retryAfter = err instanceof TransientStatusError ? err.retryAfterMs : undefined;
      const delay = retryAfter === undefined ? backoff : Math.min(maxDelay, Math.max(backoff, retryAfter));
      debug('download %s failed (%s); retry %d in %d ms', shown, describe(err), attempt + 1, Math.round(delay));
      await sleepFor(delay, undefined, options.signal === undefined ? {} : { signal: options.signal });
    }
  }
  // An abort is the caller's decision, not a download failure: it surfaces as the signal's reason.
  if (options.signal?.aborted === true) throw options.signal.reason;
  if (lastError instanceof CacheError) throw lastError;
  if (lastError instanceof TransientStatusError) {
    throw new CacheDownloadError(shown, `server answered ${lastError.status} after ${retries + 1} attempts`, { status: lastError.status });
  }
  const attempts = isTransient(lastError) ? ` after ${retries + 1} attempts` : '';
  throw new CacheDownloadError(shown, `${describe(lastError)}${attempts}`, { cause: lastError });
}

/** Resolves a `{ url, digest }` component source to a file in the cache. */
export type UrlResolver = (url: string, digest: string) => Promise<string>;

/**
 * The resolver the manifest's locking uses for `{ url, digest }` sources: downloads once
 * into the cache and answers the blob's path; a cached digest makes no request.
 */
export function createUrlResolver(options: Omit<DownloadOptions, 'url' | 'digest'>): UrlResolver {
  return async (url, digest) => (await downloadToCache({ ...options, url, digest })).path;
}

async function attemptDownload(start: URL, digest: string, shown: string, options: DownloadOptions): Promise<PutResult> {
  const maxRedirects = options.maxRedirects ?? 5;
  const maxBytes = options.maxBytes ?? 1024 ** 3;
  let current = start;
  // undici is loaded on the first download, not when the package is imported: most users of
  // the cache (and every `spinel cache` command) never download, and undici is slow to load.
  const { request } = await import('undici');
  for (let redirects = 0; ; redirects += 1) {
    const response = await request(current, {
      method: 'GET',
      headers: { accept: '*/*', ...options.headers },
      headersTimeout: options.headersTimeoutMs ?? 30_000,
      bodyTimeout: options.bodyTimeoutMs ?? 30_000,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const status = response.statusCode;
    if (REDIRECT_STATUSES.has(status)) {
      await response.body.dump().catch(() => undefined);
      const location = header(response.headers, 'location');
      if (location === undefined) throw new CacheDownloadError(shown, `redirect ${status} without a Location header`, { status });
      if (redirects >= maxRedirects) throw new CacheTooManyRedirectsError(shown, maxRedirects);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (err) {
        throw new CacheDownloadError(shown, 'redirected to an invalid URL', { cause: err, status });
      }
      checkScheme(next, shown);
      current = next;
      continue;
    }
    if (status < 200 || status > 299) {
      await response.body.dump().catch(() => undefined);
      if (TRANSIENT_STATUSES.has(status)) throw new TransientStatusError(status, retryAfterMs(header(response.headers, 'retry-after')));
      throw new CacheDownloadError(shown, `server answered ${status}`, { status });
    }
    const length = Number(header(response.headers, 'content-length') ?? Number.NaN);
    if (Number.isFinite(length) && length > maxBytes) {
      response.body.destroy();
      throw new CacheTooLargeError(maxBytes, shown);
    }
    return options.cache.putStream(digest, response.body, {
      kind: options.kind ?? 'wasm',
      maxBytes,
      source: shown,
      ...(Number.isFinite(length) ? { size: length } : {}),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
}

function checkScheme(url: URL, shown: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CacheDownloadError(shown, `unsupported URL scheme ${JSON.stringify(url.protocol)}; use http: or https:`);
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof TransientStatusError) return true;
  if (err instanceof CacheError) return false;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && isTransient(cause);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const when = Date.parse(value);
  return Number.isNaN(when) ? undefined : Math.max(0, when - Date.now());
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

function publish(event: Record<string, unknown>): void {
  if (downloadChannel.hasSubscribers) downloadChannel.publish(event);
}
