import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { disallowedHostHint, parseOutboundUrl, type AllowedHosts, type OutboundUrl } from '@spinel/manifest';
import type { BlockedNetworks } from './block-networks.js';
import { outboundAllowedChannel, outboundDeniedChannel, type OutboundAllowedEvent, type OutboundDeniedEvent } from '../events.js';

/** A `dns.lookup`-compatible function (tests point names at loopback with it). */
export type ServiceLookup = typeof dnsLookup;

/** What the services share: each component's allow-list, the blocked networks, name resolution. */
export interface OutboundPolicy {
  /** Each component's resolved `allowed_outbound_hosts`; a component not listed may reach nothing. */
  allowedHosts: ReadonlyMap<string, AllowedHosts>;
  /** Runtime config `[outbound_networking] block_networks`, applied to resolved addresses. */
  blockNetworks?: BlockedNetworks | undefined;
  /** @default dns.lookup */
  lookup?: ServiceLookup | undefined;
  /** The app the policy belongs to, named in the outbound events (events.ts). */
  app?: object | undefined;
}

/** The outcome of checking one `host[:port]` a guest wants to reach. */
export type AddressCheck =
  | { allowed: true; target: OutboundUrl }
  | { allowed: false; target: OutboundUrl | undefined; destination: string; hint: string };

/**
 * Checks an address against the component's allow-list with `defaultScheme` for addresses
 * without one (Spin's `check_url(address, scheme)`), before any connection. A refusal is
 * published on `spinel:runtime:outbound-denied` with Spin's hint, a permitted address on
 * `spinel:runtime:outbound-allowed`; the destination they name never includes userinfo.
 */
export function checkAddress(policy: OutboundPolicy, componentId: string, address: string, defaultScheme: string): AddressCheck {
  const target = parseOutboundUrl(address, defaultScheme);
  const allowedHosts = policy.allowedHosts.get(componentId);
  if (target !== undefined && allowedHosts !== undefined && allowedHosts.allows(target)) {
    if (outboundAllowedChannel.hasSubscribers) outboundAllowedChannel.publish({ app: policy.app, componentId, destination: `${target.scheme}://${target.authority}` } satisfies OutboundAllowedEvent);
    return { allowed: true, target };
  }
  const scheme = target?.scheme ?? defaultScheme;
  const authority = target?.authority ?? '<unparseable address>';
  const destination = `${scheme}://${authority}`;
  const hint = disallowedHostHint(scheme, authority);
  if (outboundDeniedChannel.hasSubscribers) outboundDeniedChannel.publish({ app: policy.app, componentId, destination, hint } satisfies OutboundDeniedEvent);
  return { allowed: false, target, destination, hint };
}

/** Thrown when every address of a host is in a blocked network. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_SPINEL_BLOCKED_NETWORK';
  constructor(host: string) {
    super(`connection to ${host} refused: its addresses are in a blocked network ([outbound_networking] block_networks)`);
    this.name = 'BlockedAddressError';
  }
}

/**
 * Resolves `host` to the address a client will connect to, dropping addresses in blocked
 * networks. Clients are then given the address itself, so what was checked is what is reached.
 * @throws BlockedAddressError when every address is blocked; the resolver's error when the name does not resolve
 */
export async function resolveAllowedAddress(policy: OutboundPolicy, host: string): Promise<string> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const blocked = policy.blockNetworks;
  if (isIP(bare) !== 0) {
    if (blocked?.blocks(bare) === true) throw new BlockedAddressError(host);
    return bare;
  }
  const lookup = policy.lookup ?? dnsLookup;
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
    lookup(bare, { all: true }, (err: NodeJS.ErrnoException | null, found: LookupAddress[]) => (err === null ? resolve(found) : reject(err)));
  });
  const allowed = blocked === undefined ? addresses : addresses.filter((a) => !blocked.blocks(a.address));
  const first = allowed[0];
  if (first === undefined) throw new BlockedAddressError(host);
  return first.address;
}

/** `scheme://user:password@host/...` → `scheme://host/...`, for anything a person may read. */
export function redactAddress(address: string): string {
  return address
    .replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/?#]*@/, '$1')
    .replace(/\b(password|pass|pwd|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)/gi, '$1=<redacted>');
}
