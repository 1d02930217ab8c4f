/**
 * The request metadata Spin gives a component (Spin's `crates/trigger-http/src/headers.rs`): `spin-*` headers for
 * wasi:http components, the same values as CGI variables for WAGI (`crates/http/src/wagi/mod.rs`).
 */
import type { RouteMatch } from './router.js';

/** What the trigger knows about an inbound request besides its headers and body. */
export interface RequestContext {
  /** Scheme of the listener that accepted the request. */
  scheme: 'http' | 'https';
  /** The `Host` header as sent, if any. Used only for URLs shown to the guest. */
  host: string | undefined;
  /** Raw path and query as received (`/a/b?c=d`). */
  pathAndQuery: string;
  /** The client's socket address. */
  clientAddress: string;
  clientPort: number;
}

/** Formats a socket address as Rust's `SocketAddr` does (`[v6]:port`). */
export function formatSocketAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The metadata pairs, by Spin's names: `[SPIN_NAME, WAGI_NAME, value]`, in Spin's order. */
export function requestMetadata(match: RouteMatch<unknown>, ctx: RequestContext): Array<[string, string, string]> {
  const raw = match.route.raw;
  const out: Array<[string, string, string]> = [
    ['SPIN_PATH_INFO', 'PATH_INFO', match.pathInfo],
    ['SPIN_FULL_URL', 'X_FULL_URL', `${ctx.scheme}://${ctx.host ?? 'localhost'}${ctx.pathAndQuery}`],
    ['SPIN_MATCHED_ROUTE', 'X_MATCHED_ROUTE', match.route.based],
    ['SPIN_BASE_PATH', 'X_BASE_PATH', '/'],
    ['SPIN_RAW_COMPONENT_ROUTE', 'X_RAW_COMPONENT_ROUTE', raw],
    ['SPIN_COMPONENT_ROUTE', 'X_COMPONENT_ROUTE', raw.endsWith('/...') ? raw.slice(0, -4) : raw],
    ['SPIN_CLIENT_ADDR', 'X_CLIENT_ADDR', formatSocketAddress(ctx.clientAddress, ctx.clientPort)],
  ];
  for (const [name, value] of match.params) {
    const upper = name.toUpperCase();
    out.push([`SPIN_PATH_MATCH_${upper}`, `X_PATH_MATCH_${upper}`, value]);
  }
  return out;
}

/**
 * Spin's `spin-*` headers for a wasi:http component: {@link requestMetadata}'s Spin names in
 * lowercase with `_` → `-`. Built directly, names written out, as this runs on every request
 * (the test pins it to `requestMetadata`).
 */
export function spinHeaders(match: RouteMatch<unknown>, ctx: RequestContext): Array<[string, string]> {
  const raw = match.route.raw;
  const out: Array<[string, string]> = [
    ['spin-path-info', match.pathInfo],
    ['spin-full-url', `${ctx.scheme}://${ctx.host ?? 'localhost'}${ctx.pathAndQuery}`],
    ['spin-matched-route', match.route.based],
    ['spin-base-path', '/'],
    ['spin-raw-component-route', raw],
    ['spin-component-route', raw.endsWith('/...') ? raw.slice(0, -4) : raw],
    ['spin-client-addr', formatSocketAddress(ctx.clientAddress, ctx.clientPort)],
  ];
  for (const [name, value] of match.params) out.push([`spin-path-match-${name.toUpperCase().replaceAll('_', '-').toLowerCase()}`, value]);
  return out;
}

// Hop-by-hop headers describe this connection, not the request; the body is re-framed.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/**
 * The headers a component sees: the inbound ones (hop-by-hop removed, `Host` removed when
 * it names a `*.spin.internal` service-chaining host), then the `spin-*` headers.
 * Inbound headers that collide with a `spin-*` name are dropped so the guest cannot be
 * handed a forged `spin-client-addr`.
 */
export function guestHeaders(rawHeaders: readonly string[], match: RouteMatch<unknown>, ctx: RequestContext): Array<[string, string]> {
  const spin = spinHeaders(match, ctx);
  // Made only when the client sent a `spin-*` header (most requests send none).
  let reserved: Set<string> | undefined;
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (HOP_BY_HOP.has(name)) continue;
    if (name.startsWith('spin-') && (reserved ??= new Set(spin.map(([n]) => n))).has(name)) continue;
    if (name === 'host' && isServiceChainingHost(value)) continue;
    out.push([name, value]);
  }
  out.push(...spin);
  return out;
}

/** True for `<component>.spin.internal[:port]`. */
export function isServiceChainingHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name.endsWith('.spin.internal');
}
