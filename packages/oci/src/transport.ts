import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { CredentialSource } from './credentials.js';
import { debug, describeNetworkError, errorCode, publishRequest as publish } from './diagnostics.js';
import { NetworkError, OciError, RegistryError, UnauthorizedError } from './errors.js';
import { headerValue } from './http-response.js';
import { isLoopbackRegistry } from './reference.js';
import { RegistryAuth } from './registry-auth.js';
import { exchange, type ResponseBody } from './response-body.js';
import { CONNECTIONS_PER_ORIGIN } from './transfer-limits.js';
import { backoffDelay, isRetryableNetworkError, isRetryableStatus, retryPolicy, type RetryOptions, type RetryPolicy } from './retry.js';

/** A request body: bytes, or a function that opens a fresh stream for each attempt. */
export type RequestBody = Uint8Array | (() => Readable | AsyncIterable<Uint8Array>);

/** Options shared by everything that talks to registries. */
export interface TransportOptions {
  /** undici dispatcher. @default an Agent with keep-alive owned by the client */
  dispatcher?: Dispatcher;
  /** Where credentials come from. @default anonymous */
  credentials?: CredentialSource;
  /**
   * Plain HTTP instead of HTTPS (Spin's `--insecure`): `true` for every registry, or a list
   * of registry hosts. Loopback registries use plain HTTP regardless (see `loopbackPlainHttp`).
   * @default false
   */
  insecure?: boolean | readonly string[];
  /** Use plain HTTP for localhost, 127.0.0.0/8 and [::1], as Docker allows. @default true */
  loopbackPlainHttp?: boolean;
  /** Retry policy for transient failures. */
  retry?: RetryOptions;
  /** `User-Agent` header. @default 'spinel-oci' */
  userAgent?: string;
  /** Clock for token expiry. @default Date.now */
  now?: () => number;
}

/** A registry request. */
export interface SendOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  registry: string;
  /** `/v2/...` path (with query) or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes (`repository:org/app:pull,push`). */
  scopes: readonly string[];
  signal?: AbortSignal;
  /** Follow redirects (GET/HEAD only); `Authorization` is dropped on a change of origin. @default true */
  followRedirects?: boolean;
  /** Retry 5xx/429/network failures. @default true */
  retry?: boolean;
}

/** A response whose body must be consumed or dumped by the caller. */
export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  /** Final URL after redirects. */
  url: URL;
}


/**
 * The HTTP layer of the client: base URLs (HTTPS or plain HTTP), retries with backoff and
 * jitter, redirects without leaking `Authorization` across origins, and a diagnostics
 * message per response. Authentication is {@link RegistryAuth}'s.
 */
export class RegistryTransport {
  readonly dispatcher: Dispatcher;
  readonly retry: RetryPolicy;
  /** Schemes, credentials and tokens per registry. */
  readonly auth: RegistryAuth;
  readonly #ownsDispatcher: boolean;
  readonly #insecure: boolean | readonly string[];
  readonly #loopbackPlainHttp: boolean;
  readonly #userAgent: string;
  readonly #now: () => number;

  constructor(options: TransportOptions = {}) {
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: 60_000, bodyTimeout: 120_000, connections: CONNECTIONS_PER_ORIGIN });
    this.#insecure = options.insecure ?? false;
    this.#loopbackPlainHttp = options.loopbackPlainHttp ?? true;
    this.#userAgent = options.userAgent ?? 'spinel-oci';
    this.#now = options.now ?? Date.now;
    this.retry = retryPolicy(options.retry);
    this.auth = new RegistryAuth({ dispatcher: this.dispatcher, retry: this.retry, credentials: options.credentials, userAgent: this.#userAgent, now: this.#now });
  }

  /** `http://` or `https://` base for a registry. */
  baseUrl(registry: string): string {
    const plain =
      this.#insecure === true ||
      (Array.isArray(this.#insecure) && this.#insecure.includes(registry)) ||
      (this.#loopbackPlainHttp && isLoopbackRegistry(registry));
    return `${plain ? 'http' : 'https'}://${registry}`;
  }

  /** Close the dispatcher if this transport created it. */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.dispatcher.close();
  }

  /**
   * Send a request, authenticating, retrying and following redirects as needed. Any
   * final status is returned (the caller decides what 404 means); retryable statuses are
   * returned only after the retries ran out.
   *
   * @throws OciError `OCI_NETWORK` when the registry cannot be reached after retries,
   *   `OCI_UNAUTHORIZED`/`OCI_AUTH_FAILED` when authentication fails.
   */
  async send(options: SendOptions): Promise<TransportResponse> {
    const retries = options.retry === false ? 0 : this.retry.retries;
    let attempt = 0;
    let authAttempts = 0;
    for (;;) {
      let response: TransportResponse & { sentAuthorization: string | undefined };
      try {
        response = await this.#sendOnce(options, attempt);
      } catch (err) {
        // An OciError is ours, not the network's: failed authentication, or a request body's
        // source refusing to be read (a packaged file swapped since). Neither is retried.
        if (err instanceof OciError && !err.retryable) throw err;
        if (options.signal?.aborted) throw err;
        if (attempt < retries && isRetryableNetworkError(err)) {
          await this.retry.sleep(backoffDelay(this.retry, attempt), options.signal);
          attempt++;
          continue;
        }
        if (err instanceof NetworkError) throw err;
        // Without retries here (uploads), the caller restarts the whole operation instead.
        const wrapped = new NetworkError(
          `cannot reach registry ${options.registry}: ${describeNetworkError(err)}. Check the address, that it is running, and whether it needs --insecure (plain HTTP).`,
          { cause: err, retryable: options.retry === false && isRetryableNetworkError(err) },
        );
        throw wrapped;
      }
      if (response.status === 401 && authAttempts < 2) {
        const header = headerValue(response.headers['www-authenticate']);
        await response.body.dump().catch(() => undefined);
        authAttempts++;
        await this.auth.onUnauthorized(options.registry, options.scopes, header, response.sentAuthorization);
        continue;
      }
      if (isRetryableStatus(response.status) && attempt < retries) {
        const retryAfter = headerValue(response.headers['retry-after']);
        await response.body.dump().catch(() => undefined);
        await this.retry.sleep(backoffDelay(this.retry, attempt, retryAfter, this.#now()), options.signal);
        attempt++;
        continue;
      }
      return response;
    }
  }

  async #sendOnce(options: SendOptions, attempt: number): Promise<TransportResponse & { sentAuthorization: string | undefined }> {
    const base = this.baseUrl(options.registry);
    let url = new URL(options.path, base);
    const origin = new URL(base).origin;
    // An upload location on another origin (object storage) must not get the registry's credentials.
    let authorization = url.origin === origin ? await this.auth.authorization(options.registry, options.scopes) : undefined;
    const follow = options.followRedirects !== false && (options.method === 'GET' || options.method === 'HEAD');
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...options.headers };
      if (authorization !== undefined) headers['authorization'] = authorization;
      let body: Uint8Array | Readable | AsyncIterable<Uint8Array> | undefined;
      if (typeof options.body === 'function') body = options.body();
      else body = options.body;
      let res: { status: number; headers: TransportResponse['headers']; body: ResponseBody };
      try {
        res = await exchange(
          this.dispatcher,
          {
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: options.method,
            headers,
            ...(body === undefined ? {} : { body: body as NonNullable<Dispatcher.DispatchOptions['body']> }),
          },
          options.signal,
        );
      } catch (err) {
        publish({ method: options.method, registry: options.registry, path: url.pathname, attempt, error: errorCode(err) });
        throw err;
      }
      publish({ method: options.method, registry: options.registry, path: url.pathname, status: res.status, attempt });
      debug('%s %s%s -> %d (attempt %d)', options.method, url.host, url.pathname, res.status, attempt);
      const location = headerValue(res.headers['location']);
      if (follow && [301, 302, 303, 307, 308].includes(res.status) && location !== undefined && hop < 5) {
        await res.body.dump();
        url = new URL(location, url);
        // Blob storage (S3, CDN) must never see the registry's credentials.
        if (url.origin !== origin) authorization = undefined;
        continue;
      }
      return { status: res.status, headers: res.headers, body: res.body, url, sentAuthorization: authorization };
    }
  }


  /**
   * Authenticate against the registry's `/v2/` endpoint with the configured credentials.
   * Used by `login` to check credentials before storing them.
   *
   * @throws OciError `OCI_UNAUTHORIZED`, `OCI_AUTH_FAILED`, `OCI_NETWORK`, `OCI_REGISTRY_ERROR`
   */
  async checkAccess(registry: string, scopes: readonly string[] = []): Promise<void> {
    const credential = await this.auth.credential(registry);
    const res = await this.send({ method: 'GET', registry, path: '/v2/', scopes });
    await res.body.dump().catch(() => undefined);
    if (res.status === 401) {
      throw new UnauthorizedError(
        credential?.kind === 'basic'
          ? `registry ${registry} rejected the credentials of user ${credential.username}. Check the user name and password.`
          : `registry ${registry} refused access. Check the credentials.`,
      );
    }
    if (res.status !== 200) throw new RegistryError(`registry ${registry} answered HTTP ${res.status} to /v2/; is it an OCI registry?`, res.status);
  }
}
