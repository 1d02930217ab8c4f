import { channel } from 'node:diagnostics_channel';
import type { Readable } from 'node:stream';
import { debuglog } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
import type { Credential, CredentialSource } from './credentials.js';
import { AuthFailedError, DeniedError, NetworkError, RegistryError, UnauthorizedError } from './errors.js';
import { isLoopbackRegistry } from './reference.js';
import { backoffDelay, isRetryableNetworkError, isRetryableStatus, retryPolicy, type RetryOptions, type RetryPolicy } from './retry.js';

const debug = debuglog('spinel-oci');

/** Name of the diagnostics channel that gets one message per HTTP response (or failure). */
export const OCI_REQUEST_CHANNEL = 'spinel:oci:request';
const requestChannel = channel(OCI_REQUEST_CHANNEL);

/** What is published on {@link OCI_REQUEST_CHANNEL}. Never includes headers or query strings. */
export interface OciRequestMessage {
  method: string;
  registry: string;
  /** URL path, without query. */
  path: string;
  /** HTTP status, or undefined when the request failed before a response. */
  status?: number;
  /** 0 for the first try, then 1, 2, … for retries. */
  attempt: number;
  /** Error code when the request failed without a response. */
  error?: string;
}

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
  body: Dispatcher.ResponseData['body'];
  /** Final URL after redirects. */
  url: URL;
}

interface TokenEntry {
  token: string;
  expiresAt: number;
}

interface RegistryAuthState {
  scheme: 'none' | 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

/**
 * The HTTP layer of the client: base URLs (HTTPS or plain HTTP), authentication (Basic and
 * the bearer token flow, tokens reused per scope and renewed on 401), retries with backoff
 * and jitter, redirects without leaking `Authorization` across origins.
 */
export class RegistryTransport {
  readonly dispatcher: Dispatcher;
  readonly retry: RetryPolicy;
  readonly #ownsDispatcher: boolean;
  readonly #credentials: CredentialSource | undefined;
  readonly #insecure: boolean | readonly string[];
  readonly #loopbackPlainHttp: boolean;
  readonly #userAgent: string;
  readonly #now: () => number;
  readonly #auth = new Map<string, RegistryAuthState>();
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #pendingTokens = new Map<string, Promise<TokenEntry>>();
  readonly #credentialCache = new Map<string, Promise<Credential | undefined>>();

  constructor(options: TransportOptions = {}) {
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: 60_000, bodyTimeout: 120_000, connections: 32 });
    this.#credentials = options.credentials;
    this.#insecure = options.insecure ?? false;
    this.#loopbackPlainHttp = options.loopbackPlainHttp ?? true;
    this.#userAgent = options.userAgent ?? 'spinel-oci';
    this.#now = options.now ?? Date.now;
    this.retry = retryPolicy(options.retry);
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

  /** Credentials for a registry, looked up once per transport. */
  credential(registry: string): Promise<Credential | undefined> {
    let found = this.#credentialCache.get(registry);
    if (!found) {
      found = this.#credentials ? this.#credentials.get(registry) : Promise.resolve(undefined);
      this.#credentialCache.set(registry, found);
      found.catch(() => this.#credentialCache.delete(registry));
    }
    return found;
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
        if (err instanceof AuthFailedError || err instanceof UnauthorizedError) throw err;
        if (options.signal?.aborted) throw err;
        if (attempt < retries && isRetryableNetworkError(err)) {
          await this.retry.sleep(backoffDelay(this.retry, attempt), options.signal);
          attempt++;
          continue;
        }
        if (err instanceof NetworkError) throw err;
        const wrapped = new NetworkError(
          `cannot reach registry ${options.registry}: ${describeNetworkError(err)}. Check the address, that it is running, and whether it needs --insecure (plain HTTP).`,
          { cause: err },
        );
        // Without retries here (uploads), the caller restarts the whole operation instead.
        if (options.retry === false && isRetryableNetworkError(err)) (wrapped as { retryable?: boolean }).retryable = true;
        throw wrapped;
      }
      if (response.status === 401 && authAttempts < 2) {
        const header = headerValue(response.headers['www-authenticate']);
        await response.body.dump().catch(() => undefined);
        authAttempts++;
        await this.#onUnauthorized(options.registry, options.scopes, header, response.sentAuthorization);
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
    let authorization = url.origin === origin ? await this.#authorization(options.registry, options.scopes) : undefined;
    const follow = options.followRedirects !== false && (options.method === 'GET' || options.method === 'HEAD');
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...options.headers };
      if (authorization !== undefined) headers['authorization'] = authorization;
      let body: Uint8Array | Readable | AsyncIterable<Uint8Array> | undefined;
      if (typeof options.body === 'function') body = options.body();
      else body = options.body;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          dispatcher: this.dispatcher,
          method: options.method,
          headers,
          ...(body === undefined ? {} : { body: body as NonNullable<Dispatcher.DispatchOptions["body"]> }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      } catch (err) {
        publish({ method: options.method, registry: options.registry, path: url.pathname, attempt, error: errorCode(err) });
        throw err;
      }
      publish({ method: options.method, registry: options.registry, path: url.pathname, status: res.statusCode, attempt });
      debug('%s %s%s -> %d (attempt %d)', options.method, url.host, url.pathname, res.statusCode, attempt);
      const location = headerValue(res.headers['location']);
      if (follow && [301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined && hop < 5) {
        await res.body.dump().catch(() => undefined);
        url = new URL(location, url);
        // Blob storage (S3, CDN) must never see the registry's credentials.
        if (url.origin !== origin) authorization = undefined;
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url, sentAuthorization: authorization };
    }
  }

  async #authorization(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const state = this.#auth.get(registry);
    if (!state || state.scheme === 'none') return undefined;
    const credential = await this.credential(registry);
    if (state.scheme === 'basic') {
      return credential?.kind === 'basic' ? basicHeader(credential.username, credential.password) : undefined;
    }
    const entry = await this.#token(registry, state, scopes, false);
    return `Bearer ${entry.token}`;
  }

  async #onUnauthorized(registry: string, scopes: readonly string[], header: string | undefined, sent: string | undefined): Promise<void> {
    const challenges = header ? parseAuthChallenges(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const credential = await this.credential(registry);
    if (bearer) {
      const realm = bearer.params['realm'];
      if (!realm) throw new AuthFailedError(`registry ${registry} asked for a bearer token without a realm; it cannot be authenticated against.`);
      const state: RegistryAuthState = { scheme: 'bearer', realm, ...(bearer.params['service'] === undefined ? {} : { service: bearer.params['service'] }) };
      this.#auth.set(registry, state);
      // A 401 to the token we hold means it expired (short-lived tokens) or lacks scope: get a
      // fresh one. A 401 to a request sent before we had a token just needs the current one.
      const held = this.#tokens.get(tokenKey(registry, scopes));
      const refused = sent !== undefined && (held === undefined || sent === `Bearer ${held.token}`);
      await this.#token(registry, state, scopes, refused || held === undefined, mergeScopes(scopes, bearer));
      return;
    }
    if (basic) {
      if (credential?.kind !== 'basic') {
        throw new UnauthorizedError(`registry ${registry} requires a user name and password. Run \`spinel registry login ${registry}\` first.`);
      }
      if (sent?.startsWith('Basic ')) {
        throw new UnauthorizedError(`registry ${registry} rejected the credentials of user ${credential.username}. Log in again with \`spinel registry login ${registry}\`.`);
      }
      this.#auth.set(registry, { scheme: 'basic' });
      return;
    }
    throw new UnauthorizedError(
      credential
        ? `registry ${registry} refused access with the stored credentials. Log in again with \`spinel registry login ${registry}\`.`
        : `registry ${registry} refused anonymous access. Run \`spinel registry login ${registry}\` first.`,
    );
  }

  async #token(registry: string, state: RegistryAuthState, scopes: readonly string[], fresh: boolean, requested: readonly string[] = scopes): Promise<TokenEntry> {
    const key = tokenKey(registry, scopes);
    const cached = this.#tokens.get(key);
    if (!fresh && cached && cached.expiresAt > this.#now()) return cached;
    let pending = this.#pendingTokens.get(key);
    if (!pending) {
      pending = this.#fetchToken(registry, state, requested).finally(() => this.#pendingTokens.delete(key));
      this.#pendingTokens.set(key, pending);
    }
    const entry = await pending;
    this.#tokens.set(key, entry);
    return entry;
  }

  async #fetchToken(registry: string, state: RegistryAuthState, scopes: readonly string[]): Promise<TokenEntry> {
    const credential = await this.credential(registry);
    const realm = new URL(state.realm as string);
    const params = new URLSearchParams();
    if (state.service !== undefined) params.set('service', state.service);
    for (const scope of scopes) params.append('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, accept: 'application/json' };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (credential?.kind === 'identity-token') {
      method = 'POST';
      params.set('grant_type', 'refresh_token');
      params.set('refresh_token', credential.identityToken);
      params.set('client_id', 'spinel');
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = params.toString();
    } else {
      for (const [k, v] of params) realm.searchParams.append(k, v);
      if (credential?.kind === 'basic') headers['authorization'] = basicHeader(credential.username, credential.password);
      if (credential?.kind === 'basic') realm.searchParams.set('account', credential.username);
    }
    const who = credential?.kind === 'basic' ? ` as ${credential.username}` : credential ? ' with the stored identity token' : ' anonymously';
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(realm, { dispatcher: this.dispatcher, method, headers, ...(body === undefined ? {} : { body }) });
      } catch (err) {
        publish({ method, registry, path: realm.pathname, attempt, error: errorCode(err) });
        if (attempt < this.retry.retries && isRetryableNetworkError(err)) {
          await this.retry.sleep(backoffDelay(this.retry, attempt));
          continue;
        }
        throw new AuthFailedError(`cannot reach the token service of ${registry} at ${realm.origin}${realm.pathname}: ${describeNetworkError(err)}.`, { cause: err });
      }
      publish({ method, registry, path: realm.pathname, status: res.statusCode, attempt });
      if (isRetryableStatus(res.statusCode) && attempt < this.retry.retries) {
        await res.body.dump().catch(() => undefined);
        await this.retry.sleep(backoffDelay(this.retry, attempt, headerValue(res.headers['retry-after'])));
        continue;
      }
      const text = await readLimited(res.body, 1024 * 1024);
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new UnauthorizedError(`registry ${registry} refused to issue a token${who} (HTTP ${res.statusCode}). Check the credentials, or log in again with \`spinel registry login ${registry}\`.`);
      }
      if (res.statusCode !== 200) {
        throw new AuthFailedError(`the token service of ${registry} answered HTTP ${res.statusCode}${who}: ${redact(text.slice(0, 200), credential)}`);
      }
      let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new AuthFailedError(`the token service of ${registry} answered something that is not JSON.`);
      }
      const token = typeof parsed.token === 'string' && parsed.token.length > 0 ? parsed.token : parsed.access_token;
      if (typeof token !== 'string' || token.length === 0) {
        throw new AuthFailedError(`the token service of ${registry} answered without a token or access_token.`);
      }
      // The spec's default lifetime is 60 s; renew a little early so a transfer never uses a stale one.
      const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
      const margin = Math.min(10, lifetime / 4);
      return { token, expiresAt: this.#now() + (lifetime - margin) * 1000 };
    }
  }

  /**
   * Authenticate against the registry's `/v2/` endpoint with the configured credentials.
   * Used by `login` to check credentials before storing them.
   *
   * @throws OciError `OCI_UNAUTHORIZED`, `OCI_AUTH_FAILED`, `OCI_NETWORK`, `OCI_REGISTRY_ERROR`
   */
  async checkAccess(registry: string, scopes: readonly string[] = []): Promise<void> {
    const credential = await this.credential(registry);
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

  /** Whether the registry asked for authentication so far (for login reporting). */
  authScheme(registry: string): 'none' | 'basic' | 'bearer' {
    return this.#auth.get(registry)?.scheme ?? 'none';
  }
}

function mergeScopes(scopes: readonly string[], challenge: AuthChallenge): string[] {
  const merged = [...scopes];
  const asked = challenge.params['scope'];
  if (asked) for (const s of asked.split(' ')) if (s && !merged.includes(s)) merged.push(s);
  return merged;
}

function tokenKey(registry: string, scopes: readonly string[]): string {
  return `${registry} ${[...scopes].sort().join(' ')}`;
}

/** `Basic base64(user:pass)`. */
export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** First value of a header. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function publish(message: OciRequestMessage): void {
  if (requestChannel.hasSubscribers) requestChannel.publish(message);
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : (err as Error).name ?? 'Error';
}

function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code} ${message}` : message;
}

function redact(text: string, credential: Credential | undefined): string {
  if (!credential) return text;
  const secret = credential.kind === 'basic' ? credential.password : credential.identityToken;
  return secret.length > 0 ? text.split(secret).join('***') : text;
}

/** Read a response body as text, at most `limit` bytes (the rest is dropped). */
export async function readLimited(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    if (length < limit) chunks.push(Buffer.from(chunk));
    length += chunk.byteLength;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * Turn an unexpected response into an error, reading the registry's error JSON for its
 * message. 401 → `OCI_UNAUTHORIZED`, 403 → `OCI_DENIED`, otherwise `OCI_REGISTRY_ERROR`.
 */
export async function responseError(res: TransportResponse, what: string, registry: string): Promise<Error> {
  let detail = '';
  try {
    const text = await readLimited(res.body, 64 * 1024);
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      detail = parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    }
  } catch {
    // A body that is not the registry's error JSON adds nothing useful.
  }
  const suffix = detail ? ` (${detail})` : '';
  if (res.status === 401) return new UnauthorizedError(`${what}: registry ${registry} refused access${suffix}. Run \`spinel registry login ${registry}\`.`);
  if (res.status === 403) return new DeniedError(`${what}: registry ${registry} denied permission${suffix}. Check that your account may access this repository.`);
  return new RegistryError(`${what}: registry ${registry} answered HTTP ${res.status}${suffix}.`, res.status);
}
