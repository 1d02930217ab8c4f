/**
 * PostgreSQL connection strings as tokio-postgres reads them (Spin parses guests' addresses with
 * it): `postgres[ql]://user:password@host:port,host2:port2/dbname?param=value` URLs and
 * `host=... port=... user=... password='...' dbname=...` keyword/value strings.
 */

/** TLS modes: `disable` never, `prefer` (the default) tries TLS and falls back, `require`/`verify-*` insist on it. */
export type PgSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** What a connection string says. */
export interface PgConnectConfig {
  /** Hosts in the order to try them, each with its port. */
  hosts: Array<{ host: string; port: number }>;
  user?: string;
  password?: string;
  dbname?: string;
  /** Server options (`-c name=value …`). */
  options?: string;
  applicationName?: string;
  sslmode: PgSslMode;
  connectTimeoutSeconds?: number;
}

/** Why a connection string was refused (never includes the password). */
export class PgAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgAddressError';
  }
}

const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Parses a guest's PostgreSQL address.
 * @throws PgAddressError for an address tokio-postgres would not accept either, or a Unix socket host
 */
export function parsePgConnectionString(address: string): PgConnectConfig {
  const text = address.trim();
  const params = /^postgres(ql)?:\/\//i.test(text) ? fromUrl(text) : fromKeywords(text);
  return build(params);
}

function fromUrl(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const rest = text.slice(text.indexOf('://') + 3);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const query = queryAt < 0 ? '' : rest.slice(queryAt + 1);
  const slash = beforeQuery.indexOf('/');
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at);
  const hostlist = at < 0 ? authority : authority.slice(at + 1);
  if (userinfo !== '') {
    const colon = userinfo.indexOf(':');
    params.set('user', decode(colon < 0 ? userinfo : userinfo.slice(0, colon)));
    if (colon >= 0) params.set('password', decode(userinfo.slice(colon + 1)));
  }
  if (hostlist !== '') {
    const hosts: string[] = [];
    const ports: string[] = [];
    for (const part of hostlist.split(',')) {
      let host = part;
      let port = '';
      if (part.startsWith('[')) {
        const close = part.indexOf(']');
        if (close < 0) throw new PgAddressError('invalid PostgreSQL address: unterminated [IPv6] host');
        host = part.slice(1, close);
        const after = part.slice(close + 1);
        if (after.startsWith(':')) port = after.slice(1);
        else if (after !== '') throw new PgAddressError('invalid PostgreSQL address: unexpected text after an [IPv6] host');
      } else {
        const colon = part.lastIndexOf(':');
        if (colon >= 0) {
          host = part.slice(0, colon);
          port = part.slice(colon + 1);
        }
      }
      hosts.push(decode(host));
      ports.push(port);
    }
    params.set('host', hosts.join(','));
    if (ports.some((p) => p !== '')) params.set('port', ports.join(','));
  }
  if (path !== '') params.set('dbname', decode(path));
  if (query !== '') {
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = decode(eq < 0 ? pair : pair.slice(0, eq));
      const value = decode(eq < 0 ? '' : pair.slice(eq + 1));
      params.set(key, value);
    }
  }
  return params;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new PgAddressError('invalid PostgreSQL address: bad percent-encoding');
  }
}

function fromKeywords(text: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && /\s/.test(text[i] ?? '')) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= n) break;
    const keyStart = i;
    while (i < n && /[A-Za-z0-9_]/.test(text[i] ?? '')) i++;
    const key = text.slice(keyStart, i);
    skipSpace();
    if (key === '' || text[i] !== '=') throw new PgAddressError('invalid PostgreSQL address: expected a postgres:// URL or key=value pairs');
    i++;
    skipSpace();
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= n) throw new PgAddressError('invalid PostgreSQL address: unterminated quoted value');
        const ch = text[i++];
        if (ch === "'") break;
        if (ch === '\\' && i < n) value += text[i++];
        else value += ch;
      }
    } else {
      while (i < n && !/\s/.test(text[i] ?? '')) {
        const ch = text[i++];
        if (ch === '\\' && i < n) value += text[i++];
        else value += ch;
      }
    }
    params.set(key, value);
  }
  return params;
}

function build(params: Map<string, string>): PgConnectConfig {
  const hostsText = params.get('host') ?? params.get('hostaddr') ?? '';
  const hosts = hostsText === '' ? [] : hostsText.split(',');
  if (hosts.length === 0 || hosts.some((h) => h === '')) throw new PgAddressError('invalid PostgreSQL address: it names no host');
  if (hosts.some((h) => h.startsWith('/'))) throw new PgAddressError('Unix sockets are not supported on WebAssembly');
  const portsText = params.get('port');
  const ports = portsText === undefined ? [] : portsText.split(',').map((p) => (p === '' ? 5432 : Number(p)));
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65_535)) throw new PgAddressError('invalid PostgreSQL address: a port is not a number from 1 to 65535');
  if (ports.length > 1 && ports.length !== hosts.length) throw new PgAddressError('invalid PostgreSQL address: the number of ports does not match the number of hosts');
  const sslmode = (params.get('sslmode') ?? 'prefer').toLowerCase();
  if (!SSL_MODES.includes(sslmode)) throw new PgAddressError(`invalid PostgreSQL address: unknown sslmode ${JSON.stringify(sslmode)}`);
  const config: PgConnectConfig = {
    hosts: hosts.map((host, i) => ({ host, port: ports.length === 1 ? (ports[0] as number) : (ports[i] ?? 5432) })),
    sslmode: sslmode as PgSslMode,
  };
  const user = params.get('user');
  if (user !== undefined) config.user = user;
  const password = params.get('password');
  if (password !== undefined) config.password = password;
  const dbname = params.get('dbname');
  if (dbname !== undefined) config.dbname = dbname;
  const options = params.get('options');
  if (options !== undefined) config.options = options;
  const app = params.get('application_name');
  if (app !== undefined) config.applicationName = app;
  const timeout = params.get('connect_timeout');
  if (timeout !== undefined) {
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds < 0) throw new PgAddressError('invalid PostgreSQL address: connect_timeout is not a number of seconds');
    if (seconds > 0) config.connectTimeoutSeconds = seconds;
  }
  return config;
}
