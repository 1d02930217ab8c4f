import { BlockList, isIP } from 'node:net';
import { OutboundConfigError } from '../errors.js';

/**
 * What `private` in `[outbound_networking] block_networks` stands for: RFC 1918 and
 * unique-local ranges, plus loopback, link-local (cloud metadata at 169.254.169.254) and
 * shared address space, which are never "outside" either.
 */
export const PRIVATE_NETWORKS: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '0.0.0.0/8',
  '::1/128',
  '::/128',
  'fc00::/7',
  'fe80::/10',
];

/** Resolved addresses a guest's outbound connections may not reach. */
export interface BlockedNetworks {
  /** Whether the address (IPv4, IPv6, or IPv4-mapped IPv6) is in a blocked network. */
  blocks(address: string): boolean;
  /** The entries as configured. */
  readonly entries: readonly string[];
}

/**
 * Parses runtime config `[outbound_networking] block_networks`: CIDRs (`10.0.0.0/8`,
 * `fd00::/8`), single addresses, and `private`.
 * @throws OutboundConfigError `RUNTIME_OUTBOUND_CONFIG` for an entry that is none of those
 */
export function parseBlockNetworks(entries: readonly string[]): BlockedNetworks {
  const list = new BlockList();
  let any = false;
  const add = (entry: string, original: string): void => {
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = slash < 0 ? maxPrefix : Number(entry.slice(slash + 1));
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix || (slash >= 0 && entry.slice(slash + 1) === '')) {
      throw new OutboundConfigError(
        `invalid block_networks entry ${JSON.stringify(original)} in [outbound_networking]: use a CIDR such as "10.0.0.0/8" or "fd00::/8", or "private".`,
      );
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    any = true;
  };
  for (const entry of entries) {
    if (entry === 'private') for (const net of PRIVATE_NETWORKS) add(net, entry);
    else add(entry.trim(), entry);
  }
  return {
    entries: [...entries],
    blocks(address: string): boolean {
      if (!any) return false;
      const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
      const family = isIP(bare);
      if (family === 0) return false;
      if (family === 4) return list.check(bare, 'ipv4');
      // BlockList matches IPv4-mapped IPv6 against IPv4 rules only in some Node versions: check both ways.
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
      if (mapped?.[1] !== undefined && list.check(mapped[1], 'ipv4')) return true;
      return list.check(bare, 'ipv6');
    },
  };
}

/** Reads `block_networks` out of a parsed runtime-config document (absent: nothing blocked). */
export function blockNetworksFromRuntimeConfig(config: unknown): BlockedNetworks {
  if (typeof config !== 'object' || config === null) return parseBlockNetworks([]);
  const section = (config as Record<string, unknown>)['outbound_networking'];
  if (section === undefined) return parseBlockNetworks([]);
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new OutboundConfigError('[outbound_networking] must be a table, e.g. block_networks = ["private"].');
  }
  const entries = (section as Record<string, unknown>)['block_networks'];
  if (entries === undefined) return parseBlockNetworks([]);
  if (!Array.isArray(entries) || !entries.every((e): e is string => typeof e === 'string')) {
    throw new OutboundConfigError('[outbound_networking] block_networks must be a list of strings (CIDRs or "private").');
  }
  return parseBlockNetworks(entries);
}
