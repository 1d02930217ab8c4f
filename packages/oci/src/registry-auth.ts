import { request, type Dispatcher } from 'undici';
import { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
import type { Credential, CredentialSource } from './credentials.js';
import { describeNetworkError, errorCode, publishRequest as publish } from './diagnostics.js';
import { AuthFailedError, UnauthorizedError } from './errors.js';
import { headerValue, readLimited } from './http-response.js';
import { backoffDelay, isRetryableNetworkError, isRetryableStatus, type RetryPolicy } from './retry.js';

interface TokenEntry {
  token: string;
  expiresAt: number;
}

interface RegistryAuthState {
  scheme: 'none' | 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

/** What {@link RegistryAuth} needs from its transport. */
export interface RegistryAuthOptions {
  dispatcher: Dispatcher;
  retry: RetryPolicy;
  credentials: CredentialSource | undefined;
  userAgent: string;
  now: () => number;
}

/**
 * Authentication against registries: which scheme each registry asked for (none, Basic, or
 * the bearer token flow), the credentials per registry (looked up once), and tokens per
 * scope (reused until they expire, renewed on a 401). Never logs or publishes a secret.
 */
export class RegistryAuth {
  readonly #o: RegistryAuthOptions;
  readonly #auth = new Map<string, RegistryAuthState>();
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #pendingTokens = new Map<string, Promise<TokenEntry>>();
  readonly #credentialCache = new Map<string, Promise<Credential | undefined>>();

  constructor(options: RegistryAuthOptions) {
    this.#o = options;
  }

  /** Credentials for a registry, looked up once. */
  credential(registry: string): Promise<Credential | undefined> {
    let found = this.#credentialCache.get(registry);
    if (!found) {
      found = this.#o.credentials ? this.#o.credentials.get(registry) : Promise.resolve(undefined);
      this.#credentialCache.set(registry, found);
      found.catch(() => this.#credentialCache.delete(registry));
    }
    return found;
  }

  /** Whether the registry asked for authentication so far (for login reporting). */
  scheme(registry: string): 'none' | 'basic' | 'bearer' {
    return this.#auth.get(registry)?.scheme ?? 'none';
  }

  /** The `Authorization` header for a request to `registry` with `scopes`, if one is known to be needed. */
  async authorization(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const state = this.#auth.get(registry);
    if (!state || state.scheme === 'none') return undefined;
    const credential = await this.credential(registry);
    if (state.scheme === 'basic') {
      return credential?.kind === 'basic' ? basicHeader(credential.username, credential.password) : undefined;
    }
    const entry = await this.#token(registry, state, scopes, false);
    return `Bearer ${entry.token}`;
  }

  /**
   * Learn from a 401 (its `WWW-Authenticate` header and the `Authorization` we had sent) how
   * to authenticate next time, fetching a token when the registry wants one.
   *
   * @throws OciError `OCI_UNAUTHORIZED`, `OCI_AUTH_FAILED`
   */
  async onUnauthorized(registry: string, scopes: readonly string[], header: string | undefined, sent: string | undefined): Promise<void> {
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
    if (!fresh && cached && cached.expiresAt > this.#o.now()) return cached;
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
    const headers: Record<string, string> = { 'user-agent': this.#o.userAgent, accept: 'application/json' };
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
        res = await request(realm, { dispatcher: this.#o.dispatcher, method, headers, ...(body === undefined ? {} : { body }) });
      } catch (err) {
        publish({ method, registry, path: realm.pathname, attempt, error: errorCode(err) });
        if (attempt < this.#o.retry.retries && isRetryableNetworkError(err)) {
          await this.#o.retry.sleep(backoffDelay(this.#o.retry, attempt));
          continue;
        }
        throw new AuthFailedError(`cannot reach the token service of ${registry} at ${realm.origin}${realm.pathname}: ${describeNetworkError(err)}.`, { cause: err });
      }
      publish({ method, registry, path: realm.pathname, status: res.statusCode, attempt });
      if (isRetryableStatus(res.statusCode) && attempt < this.#o.retry.retries) {
        await res.body.dump().catch(() => undefined);
        await this.#o.retry.sleep(backoffDelay(this.#o.retry, attempt, headerValue(res.headers['retry-after'])));
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
      return { token, expiresAt: this.#o.now() + (lifetime - margin) * 1000 };
    }
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

function redact(text: string, credential: Credential | undefined): string {
  if (!credential) return text;
  const secret = credential.kind === 'basic' ? credential.password : credential.identityToken;
  return secret.length > 0 ? text.split(secret).join('***') : text;
}
