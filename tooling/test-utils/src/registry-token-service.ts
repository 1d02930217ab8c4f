import { execFile } from 'node:child_process';
import { createPrivateKey, createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A token service (the registry's `auth.token` realm) running in the test process. */
export interface TokenService {
  /** `http://127.0.0.1:<port>/token` */
  realm: string;
  service: string;
  issuer: string;
  /** PEM file with the certificate the registry trusts. */
  rootCertBundle: string;
  /** Tokens issued so far. */
  readonly issued: number;
  /** Token requests refused (bad credentials). */
  readonly refused: number;
  /** The next `n` tokens are issued already expired (the registry will answer 401 to them). */
  expireNext(n: number): void;
  stop(): Promise<void>;
}

/** Options of {@link startTokenService}. */
export interface TokenServiceOptions {
  /** Directory for the key and certificate. */
  dir: string;
  /** Accepted user names and passwords; anonymous requests get pull access only if `anonymousPull`. */
  users: Record<string, string>;
  anonymousPull?: boolean;
  /** Field carrying the token in the JSON answer (registries differ). @default 'token' */
  tokenField?: 'token' | 'access_token';
  /** `expires_in` reported and used for `exp`. @default 300 */
  lifetimeSeconds?: number;
  /** Identity (refresh) tokens accepted by POST, mapped to a user name. */
  refreshTokens?: Record<string, string>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Start a token service that signs ES256 JWTs the registry trusts through its
 * `rootcertbundle` (the signing certificate is sent in the `x5c` header).
 */
export async function startTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const keyFile = join(options.dir, 'token-key.pem');
  const certFile = join(options.dir, 'token-cert.pem');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await run('openssl', ['req', '-new', '-x509', '-key', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=spinel-test-token-issuer']);
  const certPem = await readFile(certFile, 'utf8');
  const certDer = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const key: KeyObject = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const service = 'spinel-test-registry';
  const issuer = 'spinel-test-issuer';
  const lifetime = options.lifetimeSeconds ?? 300;
  let issued = 0;
  let refused = 0;
  let expireNext = 0;

  const sign = (subject: string, access: Array<{ type: string; name: string; actions: string[] }>): string => {
    const now = Math.floor(Date.now() / 1000);
    // The registry allows 60 s of clock skew, so an "expired" token must be older than that.
    const exp = expireNext > 0 ? now - 600 : now + lifetime;
    if (expireNext > 0) expireNext--;
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = { iss: issuer, sub: subject, aud: service, exp, nbf: now - 1200, iat: now - 1200, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('SHA256').update(input).sign({ key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  };

  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const params = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams;
      let user: string | undefined;
      if (req.method === 'POST') {
        const refresh = params.get('refresh_token') ?? '';
        user = options.refreshTokens?.[refresh];
        if (user === undefined) {
          refused++;
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid refresh token"}');
          return;
        }
      } else {
        const auth = req.headers.authorization;
        if (auth?.startsWith('Basic ')) {
          const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
          const colon = decoded.indexOf(':');
          const name = decoded.slice(0, colon);
          if (colon < 0 || options.users[name] !== decoded.slice(colon + 1)) {
            refused++;
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
            return;
          }
          user = name;
        } else if (!options.anonymousPull) {
          refused++;
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"authentication required"}');
          return;
        }
      }
      const access = params
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter((s) => s.length > 0)
        .map((scope) => {
          const [type = '', name = '', actions = ''] = scope.split(':');
          const wanted = actions.split(',').filter(Boolean);
          return { type, name, actions: user === undefined ? wanted.filter((a) => a === 'pull') : wanted };
        });
      issued++;
      const token = sign(user ?? '', access);
      const field = options.tokenField ?? 'token';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ [field]: token, expires_in: lifetime, issued_at: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    get issued() {
      return issued;
    },
    get refused() {
      return refused;
    },
    expireNext(n: number) {
      expireNext = n;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
