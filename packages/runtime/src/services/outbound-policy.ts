import { disallowedHostHint, serviceChainingTarget } from '@spinel/manifest';
import type { AllowedHosts } from '@spinel/manifest';

/** An outbound request's target as the guest gave it (wasi:http parts, or a whole URI from fermyon:spin/http). */
export interface OutboundTargetParts {
  /** `http`, `https`, or another scheme; undefined when the guest set none. */
  scheme: string | undefined;
  /** `host[:port]`; undefined or empty for a relative (self) request. */
  authority: string | undefined;
  /** Path and query, e.g. `/api?x=1`. */
  pathWithQuery: string | undefined;
}

/** wasi:http `error-code` values the policy produces. */
export type PolicyErrorCode = { tag: 'HTTP-request-denied' } | { tag: 'HTTP-request-URI-invalid' } | { tag: 'HTTP-protocol-error' };

/** What to do with an outbound request. */
export type OutboundDecision =
  /** Refused before any connection; `hint` is Spin's text for the user (which entry to add). */
  | { kind: 'denied'; error: PolicyErrorCode; spinError: 'destination-not-allowed' | 'invalid-url'; destination: string; hint: string }
  /** A self request, re-targeted at the listener's own origin. */
  | { kind: 'self'; url: URL }
  /** `http://<component>.spin.internal/...`, to dispatch in process. */
  | { kind: 'chain'; componentId: string; url: URL }
  /** Anywhere else the allow-list lets the guest go. */
  | { kind: 'remote'; url: URL };

/** Options of {@link decideOutbound}. */
export interface OutboundPolicyOptions {
  /** The component's resolved `allowed_outbound_hosts`. */
  allowedHosts: AllowedHosts;
  /** The listener's own origin (`http://127.0.0.1:3000`), from the bound address; never from a request's Host header. */
  selfOrigin: string | undefined;
  /** Component ids of the app, so that `<id>.spin.internal` names a real component. */
  componentIds: ReadonlySet<string>;
}

const SELF_ALT = 'self.alt';

/**
 * Request headers a guest cannot set: the client sets them itself, or they would desynchronise
 * the connection (the body's framing, a protocol switch). Both clients, undici's
 * (`outbound-http.ts`) and a worker's on a lent connection (`guest/spin/http-lane.ts`), drop them.
 */
export const DROPPED_HEADERS: ReadonlySet<string> = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'expect']);

/**
 * Decides an outbound request before any connection is made, as Spin does (§6.2, §6.3):
 * relative URIs and `self.alt` are self requests, allowed by an `http(s)://self` (or `*`)
 * entry and sent to the listener's own origin; `<id>.spin.internal` is checked against the
 * allow-list and then dispatched in process; anything else must match an entry.
 */
export function decideOutbound(parts: OutboundTargetParts, options: OutboundPolicyOptions): OutboundDecision {
  const path = normalisePath(parts.pathWithQuery);
  const authority = parts.authority ?? '';
  const hostOnly = hostOf(authority).toLowerCase();
  if (authority === '' || hostOnly === SELF_ALT) {
    const schemes = parts.scheme === undefined ? ['http', 'https'] : [parts.scheme];
    if (!options.allowedHosts.allowsRelative(schemes)) {
      return deny({ tag: 'HTTP-request-denied' }, 'destination-not-allowed', parts.scheme ?? 'http', 'self');
    }
    if (options.selfOrigin === undefined) {
      return deny({ tag: 'HTTP-request-URI-invalid' }, 'invalid-url', parts.scheme ?? 'http', 'self');
    }
    return { kind: 'self', url: new URL(path, options.selfOrigin) };
  }
  const scheme = parts.scheme ?? 'https';
  if (scheme !== 'http' && scheme !== 'https') {
    return deny({ tag: 'HTTP-protocol-error' }, 'invalid-url', scheme, authority);
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}${path}`);
  } catch {
    return deny({ tag: 'HTTP-request-URI-invalid' }, 'invalid-url', scheme, authority);
  }
  // Userinfo could make a reader see one host where the connection goes to another: refuse it.
  // Otherwise the allow-list is checked against the very URL that is then connected to.
  if (url.username !== '' || url.password !== '') return deny({ tag: 'HTTP-request-URI-invalid' }, 'invalid-url', scheme, authority);
  const port = url.port === '' ? undefined : Number(url.port);
  const target = port === undefined ? { scheme, host: url.hostname } : { scheme, host: url.hostname, port };
  // The allow-list is checked first, for service chaining too (spin PR#3016).
  if (!options.allowedHosts.allows(target)) {
    return deny({ tag: 'HTTP-request-denied' }, 'destination-not-allowed', scheme, url.host);
  }
  const chained = serviceChainingTarget(url.host);
  if (chained !== undefined) {
    if (!options.componentIds.has(chained)) return deny({ tag: 'HTTP-request-URI-invalid' }, 'invalid-url', scheme, url.host);
    return { kind: 'chain', componentId: chained, url };
  }
  return { kind: 'remote', url };
}

function deny(
  error: PolicyErrorCode,
  spinError: 'destination-not-allowed' | 'invalid-url',
  scheme: string,
  authority: string,
): OutboundDecision {
  return { kind: 'denied', error, spinError, destination: `${scheme}://${authority}`, hint: disallowedHostHint(scheme, authority) };
}

function normalisePath(pathWithQuery: string | undefined): string {
  if (pathWithQuery === undefined || pathWithQuery === '') return '/';
  return pathWithQuery.startsWith('/') ? pathWithQuery : `/${pathWithQuery}`;
}

function hostOf(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/**
 * Splits an absolute or relative URI (fermyon:spin/http's `uri`) into target parts.
 * Returns undefined when it is not a URI at all.
 */
export function splitUri(uri: string): OutboundTargetParts | undefined {
  if (uri.startsWith('/')) return { scheme: undefined, authority: undefined, pathWithQuery: uri };
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/.exec(uri);
  if (match === null) return undefined;
  const [, scheme, authority, rest] = match;
  return { scheme: scheme?.toLowerCase(), authority: authority ?? '', pathWithQuery: rest === '' ? '/' : rest };
}
