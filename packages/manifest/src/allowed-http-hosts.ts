/**
 * The deprecated `allowed_http_hosts` list (v1, and v2 with a warning), converted into
 * `allowed_outbound_hosts` entries the way Spin does.
 */

/** Result of converting: the entries, or the per-entry problems. */
export type AllowedHttpHostsResult = { readonly ok: true; readonly hosts: string[] } | { readonly ok: false; readonly problems: string[] };

function parseOne(text: string): { domain: string; port?: string } | string {
  let url: URL;
  if (text.includes('//')) {
    try {
      url = new URL(text);
    } catch (e) {
      return `${text} isn't a valid HTTP host URL: ${(e as Error).message}`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${text} isn't a valid host or host:port string`;
  } else {
    try {
      url = new URL(`http://${text}`);
    } catch {
      return `${text} isn't a valid host or host:port string`;
    }
  }
  if (url.hostname === '') return `${text} doesn't contain a host name`;
  if (url.pathname.length > 1) return `${text} contains a path, should be host and optional port only`;
  return url.port === '' ? { domain: url.hostname } : { domain: url.hostname, port: url.port };
}

/**
 * Converts `allowed_http_hosts` into `allowed_outbound_hosts` entries. With
 * `allowDatabaseAccess` (v1 components without `allowed_outbound_hosts`) the legacy
 * `redis://*:*`, `mysql://*:*`, `postgres://*:*` come first.
 */
export function convertAllowedHttpHosts(list: readonly string[], allowDatabaseAccess: boolean): AllowedHttpHostsResult {
  const out: string[] = allowDatabaseAccess ? ['redis://*:*', 'mysql://*:*', 'postgres://*:*'] : [];
  if (list.includes('insecure:allow-all')) {
    out.push('http://*:*', 'https://*:*', 'http://self');
    return { ok: true, hosts: out };
  }
  const problems: string[] = [];
  for (const entry of list) {
    const p = parseOne(entry);
    if (typeof p === 'string') problems.push(p);
    else if (p.domain === 'self') out.push('http://self');
    else {
      const port = p.port === undefined ? '' : `:${p.port}`;
      out.push(`http://${p.domain}${port}`, `https://${p.domain}${port}`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, hosts: out };
}
