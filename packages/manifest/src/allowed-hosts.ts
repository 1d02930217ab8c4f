/**
 * `allowed_outbound_hosts`: the entry grammar (`<scheme>://<host>[:<port>]`), the parsed
 * model, and the matcher the runtime uses to decide whether a guest may connect.
 */
import { AllowedHostError } from './errors.js';
import { isLiteralTemplate, parseTemplate, renderTemplate } from './template.js';

/** Which schemes an entry allows. */
export type SchemeRule = { readonly kind: 'any' } | { readonly kind: 'exact'; readonly scheme: string };

/** Which hosts an entry allows. */
export type HostRule =
  | { readonly kind: 'any' }
  /** `self` / `self.alt`: relative requests to the app itself only. */
  | { readonly kind: 'self' }
  /** `*.example.com`: `suffix` is `.example.com`. */
  | { readonly kind: 'subdomain'; readonly suffix: string }
  /** A domain (lower-case, punycode) or IP (IPv6 in brackets), compared exactly. */
  | { readonly kind: 'literal'; readonly host: string }
  /** An IP network; matches IP hosts only. */
  | { readonly kind: 'cidr'; readonly family: 4 | 6; readonly network: bigint; readonly prefix: number };

/** Which ports an entry allows: any, or the half-open range `[start, end)`. */
export type PortRule = { readonly kind: 'any' } | { readonly kind: 'range'; readonly start: number; readonly end: number };

/** One parsed `allowed_outbound_hosts` entry. */
export interface AllowedHost {
  /** The entry as written. */
  readonly original: string;
  readonly scheme: SchemeRule;
  readonly host: HostRule;
  readonly port: PortRule;
}

/** A destination to check: scheme, host as in a URL, and the explicit port if any. */
export interface OutboundTarget {
  readonly scheme: string;
  readonly host: string;
  readonly port?: number;
}

const WELL_KNOWN_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  mysql: 3306,
  redis: 6379,
  mqtt: 1883,
  http: 80,
  https: 443,
};

/** The service-chaining domain: `<component-id>.spin.internal`. */
export const SERVICE_CHAINING_DOMAIN = 'spin.internal';
const SERVICE_CHAINING_SUFFIX = `.${SERVICE_CHAINING_DOMAIN}`;
const LEARN_MORE = 'Learn more: https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components';

/** The port a scheme uses when none is written (postgres, mysql, redis, mqtt, http, https). */
export function wellKnownPort(scheme: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(WELL_KNOWN_PORTS, scheme) ? WELL_KNOWN_PORTS[scheme] : undefined;
}

/**
 * Parses one literal (non-templated) entry.
 *
 * @throws {AllowedHostError} `MANIFEST_INVALID_ALLOWED_HOST`, with Spin's wording.
 */
export function parseAllowedHost(entry: string): AllowedHost {
  const url = entry.trim();
  const sep = url.indexOf('://');
  if (sep < 0) {
    if (url === '*' || url === ':' || url === '' || url === '?') {
      throw new AllowedHostError(
        entry,
        `${JSON.stringify(url)} is not an allowed outbound host format.\nHosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.\n${LEARN_MORE}`,
      );
    }
    throw new AllowedHostError(entry, `${JSON.stringify(url)} does not contain a scheme (e.g., 'http://' or '*://')\n${LEARN_MORE}`);
  }
  const schemeText = url.slice(0, sep);
  const rest = url.slice(sep + 3);
  let hostText = rest;
  let portText = '';
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    const h = rest.slice(0, colon);
    const tail = rest.slice(colon + 1);
    if (tail === '') {
      hostText = h;
    } else if (!isHostRule(rest)) {
      const slash = tail.indexOf('/');
      if (slash >= 0 && tail.slice(slash + 1) !== '') {
        throw new AllowedHostError(entry, `${JSON.stringify(url)} has a path but is not allowed to; remove everything after the port.`);
      }
      hostText = h;
      portText = slash >= 0 ? tail.slice(0, slash) : tail;
    }
  }
  // Spin checks the port first; the scheme first gives a more useful message for `{a,b}://`.
  const scheme = parseScheme(entry, schemeText);
  const port = parsePort(entry, portText, schemeText);
  const host = parseHostRule(entry, hostText);
  return { original: entry, scheme, host, port };
}

function isHostRule(text: string): boolean {
  return typeof hostRule(text) !== 'string';
}

function parsePort(entry: string, port: string, scheme: string): PortRule {
  const fail = (why: string): never => {
    throw new AllowedHostError(entry, `Invalid allowed host port ${JSON.stringify(port)} in ${JSON.stringify(entry)}: ${why}`);
  };
  if (port === '') {
    const p = wellKnownPort(scheme);
    if (p === undefined) {
      fail(`no port was provided and the scheme ${JSON.stringify(scheme)} does not have a known default port number; add one, e.g. ':443', or ':*' for any port`);
    }
    return { kind: 'range', start: p as number, end: (p as number) + 1 };
  }
  if (port === '*') return { kind: 'any' };
  if (port.startsWith('{')) fail('port lists are not yet supported; write one entry per port');
  const range = port.indexOf('..');
  if (range >= 0) {
    const start = u16(port.slice(0, range));
    const end = u16(port.slice(range + 2));
    if (start === undefined || end === undefined) fail(`port range ${JSON.stringify(port)} contains non-number`);
    return { kind: 'range', start: start as number, end: end as number };
  }
  const p = u16(port);
  if (p === undefined) fail(`port ${JSON.stringify(port)} is not a number between 0 and 65535`);
  return { kind: 'range', start: p as number, end: (p as number) + 1 };
}

function u16(text: string): number | undefined {
  if (!/^\+?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseScheme(entry: string, scheme: string): SchemeRule {
  if (scheme === '*') return { kind: 'any' };
  const fail = (why: string): never => {
    throw new AllowedHostError(entry, `Invalid allowed host scheme ${JSON.stringify(scheme)} in ${JSON.stringify(entry)}: ${why}`);
  };
  if (scheme.startsWith('{')) fail('scheme lists are not supported; write one entry per scheme');
  if (!/^\p{Alphabetic}*$/u.test(scheme)) fail('only alphabetic characters are allowed');
  return { kind: 'exact', scheme };
}

function parseHostRule(entry: string, raw: string): HostRule {
  const rule = hostRule(raw);
  if (typeof rule === 'string') throw new AllowedHostError(entry, `Invalid allowed host ${JSON.stringify(raw)} in ${JSON.stringify(entry)}: ${rule}`);
  return rule;
}

/** The host rule, or why the text is not one (no exceptions: this runs once per entry split). */
function hostRule(raw: string): HostRule | string {
  let host = raw.trim();
  if (host === '*') return { kind: 'any' };
  if (host === 'self' || host === 'self.alt') return { kind: 'self' };
  if (host.startsWith('{')) {
    if (!host.endsWith('}')) return 'unterminated host list';
    return 'host lists are not yet supported; write one entry per host';
  }
  const cidr = parseCidr(host);
  if (cidr !== undefined) return cidr;
  if (host.endsWith('/')) host = host.slice(0, -1);
  if (host.includes('/')) return 'must not include a path';
  if (host.startsWith('*.')) {
    const domain = host.slice(2);
    if (domain.includes('*')) return 'wildcards are allowed only as prefixes';
    const parsed = tryHost(domain);
    if (parsed === undefined) return `invalid wildcard host "*.${domain}"`;
    if (isIpHost(parsed)) return 'wildcard suffix must be a domain';
    return { kind: 'subdomain', suffix: `.${parsed}` };
  }
  if (host.includes('*')) return "wildcards are allowed only as subdomains, e.g. '*.example.com'";
  const parsed = tryHost(host);
  if (parsed === undefined) return host === '' ? 'empty host' : 'invalid domain name or IP address';
  return { kind: 'literal', host: parsed };
}

/**
 * Parses a host the way a URL parser does (IDNA, lower case, IPv4 canonical form, IPv6 in
 * brackets). Returns undefined when it is not a valid host.
 */
function tryHost(host: string): string | undefined {
  if (host === '') return undefined;
  if (/[\s/\\?#@]/.test(host)) return undefined;
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return undefined;
  } else if (host.includes(':')) return undefined;
  try {
    const u = new URL(`http://${host}/`);
    return u.hostname === '' ? undefined : u.hostname;
  } catch {
    return undefined;
  }
}

function isIpHost(host: string): boolean {
  return host.startsWith('[') || /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
}

function parseCidr(text: string): HostRule | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  const v4 = ipv4ToBigInt(addr);
  if (v4 !== undefined) {
    if (prefix > 32) return undefined;
    return { kind: 'cidr', family: 4, prefix, network: v4 & mask(32, prefix) };
  }
  const v6 = ipv6ToBigInt(addr);
  if (v6 !== undefined) {
    if (prefix > 128) return undefined;
    return { kind: 'cidr', family: 6, prefix, network: v6 & mask(128, prefix) };
  }
  return undefined;
}

function mask(width: number, prefix: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(width - prefix)) << BigInt(width - prefix);
}

function ipv4ToBigInt(text: string): bigint | undefined {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(text);
  if (m === null) return undefined;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function ipv6ToBigInt(input: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(input)) return undefined;
  let text = input;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 address stands for the last two groups.
    const v4 = ipv4ToBigInt(last);
    if (v4 === undefined || lastColon < 0) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const split = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = split(halves[0] ?? '');
  const back = halves.length === 2 ? split(halves[1] ?? '') : [];
  let groups: string[];
  if (halves.length === 1) {
    if (head.length !== 8) return undefined;
    groups = head;
  } else {
    const fill = 8 - head.length - back.length;
    if (fill < 1) return undefined;
    groups = [...head, ...Array<string>(fill).fill('0'), ...back];
  }
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Whether one entry allows the target. */
export function allowedHostMatches(rule: AllowedHost, target: OutboundTarget): boolean {
  const host = normalizeTargetHost(target.host);
  return host !== undefined && matchesNormalized(rule, target, host);
}

/** The target host in the parsed form rules hold (lower case, punycode, IPv6 in brackets). */
function normalizeTargetHost(rawHost: string): string | undefined {
  return tryHost(rawHost.includes(':') && !rawHost.startsWith('[') ? `[${rawHost}]` : rawHost);
}

function matchesNormalized(rule: AllowedHost, target: OutboundTarget, host: string): boolean {
  if (rule.scheme.kind === 'exact' && rule.scheme.scheme !== target.scheme) return false;
  if (!hostMatches(rule.host, host)) return false;
  if (rule.port.kind === 'any') return true;
  const port = target.port ?? wellKnownPort(target.scheme);
  if (port === undefined) return false;
  return port >= rule.port.start && port < rule.port.end;
}

function hostMatches(rule: HostRule, host: string): boolean {
  switch (rule.kind) {
    case 'any':
      return true;
    case 'self':
      return false;
    case 'subdomain':
      return !isIpHost(host) && host.endsWith(rule.suffix);
    case 'literal':
      return host === rule.host;
    case 'cidr': {
      if (rule.family === 4) {
        const v = ipv4ToBigInt(host);
        return v !== undefined && (v & mask(32, rule.prefix)) === rule.network;
      }
      if (!host.startsWith('[')) return false;
      const v = ipv6ToBigInt(host.slice(1, -1));
      return v !== undefined && (v & mask(128, rule.prefix)) === rule.network;
    }
  }
}

/** True when the entry names `<id>.spin.internal` or `*.spin.internal`. */
export function isServiceChainingRule(rule: AllowedHost): boolean {
  if (rule.host.kind === 'literal') return rule.host.host.endsWith(SERVICE_CHAINING_SUFFIX);
  if (rule.host.kind === 'subdomain') return rule.host.suffix === SERVICE_CHAINING_SUFFIX;
  return false;
}

/** For a host `<id>.spin.internal[:port]`, the component id; otherwise undefined. */
export function serviceChainingTarget(host: string): string | undefined {
  const colon = host.lastIndexOf(':');
  const h = colon >= 0 ? host.slice(0, colon) : host;
  const dot = h.indexOf('.');
  if (dot < 0) return undefined;
  return h.slice(dot + 1) === SERVICE_CHAINING_DOMAIN ? h.slice(0, dot) : undefined;
}

/** A parsed outbound URL: scheme, host, explicit port, and `scheme://authority` for messages. */
export interface OutboundUrl extends OutboundTarget {
  readonly authority: string;
}

/**
 * Parses a URL a guest wants to reach. When it has no host, `<defaultScheme>://` is
 * prepended (so `example.com:8080` means `https://example.com:8080`). Userinfo is
 * percent-encoded first so `user:pa#ss@host` parses. Returns undefined if unparseable.
 */
export function parseOutboundUrl(url: string, defaultScheme = 'https'): OutboundUrl | undefined {
  let text = url;
  const at = text.indexOf('@');
  if (at >= 0) {
    const schemeEnd = text.indexOf('://') >= 0 ? text.indexOf('://') + 3 : 0;
    const slash = text.indexOf('/', schemeEnd);
    const pathStart = slash < 0 ? Infinity : slash;
    if (at < pathStart && at >= schemeEnd) {
      text = text.slice(0, schemeEnd) + encodeURIComponent(text.slice(schemeEnd, at)) + text.slice(at);
    }
  }
  const attempt = (t: string): URL | undefined => {
    try {
      const u = new URL(t);
      return u.hostname === '' ? undefined : u;
    } catch {
      return undefined;
    }
  };
  const u = attempt(text) ?? attempt(`${defaultScheme}://${text}`);
  if (u === undefined) return undefined;
  const scheme = u.protocol.slice(0, -1);
  const explicit = explicitPort(u, text);
  const authority = explicit === undefined ? u.hostname : `${u.hostname}:${explicit}`;
  return explicit === undefined ? { scheme, host: u.hostname, authority } : { scheme, host: u.hostname, port: explicit, authority };
}

// WHATWG URLs drop a port equal to the special scheme's default; Rust's url does too, so
// both report "no explicit port" and fall back to the well-known port when matching.
function explicitPort(u: URL, _text: string): number | undefined {
  return u.port === '' ? undefined : Number(u.port);
}

/** Options for {@link AllowedHosts.parse}. */
export interface AllowedHostsOptions {
  /** Variable values for templated entries; a referenced variable without a value is an error. */
  readonly variables?: Readonly<Record<string, string | undefined>>;
  /** All component ids of the app, to expand `*.spin.internal`. */
  readonly componentIds?: readonly string[];
}

/**
 * A component's resolved allow-list: the runtime asks it whether a destination is allowed.
 */
export class AllowedHosts {
  readonly entries: readonly AllowedHost[];

  private constructor(entries: readonly AllowedHost[]) {
    this.entries = entries;
  }

  /**
   * Parses (and resolves templates of) a component's `allowed_outbound_hosts`. Entries that
   * resolve to an empty string, `http://` or `https://` are dropped (optional endpoints);
   * `*.spin.internal` expands to one entry per component id.
   *
   * @throws {AllowedHostError} `MANIFEST_INVALID_ALLOWED_HOST`
   * @throws {ManifestError} `MANIFEST_INVALID_TEMPLATE`
   */
  static parse(entries: readonly string[], options: AllowedHostsOptions = {}): AllowedHosts {
    rejectInsecureAllowAll(entries);
    const out: AllowedHost[] = [];
    for (const entry of entries) {
      const parts = parseTemplate(entry);
      let text = entry;
      if (!isLiteralTemplate(parts)) {
        const resolved = renderTemplate(parts, options.variables ?? {});
        if (resolved === undefined) {
          throw new AllowedHostError(entry, `allowed_outbound_hosts entry ${JSON.stringify(entry)} refers to a variable that has no value; give it a value or a default.`);
        }
        if (resolved === '' || resolved === 'http://' || resolved === 'https://') continue;
        text = resolved;
      }
      const rule = parseAllowedHost(text);
      if (rule.host.kind === 'subdomain' && rule.host.suffix === SERVICE_CHAINING_SUFFIX) {
        for (const id of options.componentIds ?? []) {
          out.push({ ...rule, host: { kind: 'literal', host: `${id}${SERVICE_CHAINING_SUFFIX}` } });
        }
      } else out.push(rule);
    }
    return new AllowedHosts(out);
  }

  /** Whether a URL (or parsed target) is allowed. Unparseable URLs are not. */
  allows(target: string | OutboundTarget, defaultScheme = 'https'): boolean {
    const t = typeof target === 'string' ? parseOutboundUrl(target, defaultScheme) : target;
    if (t === undefined) return false;
    const host = normalizeTargetHost(t.host);
    return host !== undefined && this.entries.some((e) => matchesNormalized(e, t, host));
  }

  /** Whether a relative (self) request with one of these schemes is allowed. */
  allowsRelative(schemes: readonly string[] = ['http', 'https']): boolean {
    return this.entries.some(
      (e) => (e.host.kind === 'any' || e.host.kind === 'self') && schemes.some((s) => e.scheme.kind === 'any' || e.scheme.scheme === s),
    );
  }

  /** True when an entry names `*.spin.internal` or `<id>.spin.internal`. */
  get requiresServiceChaining(): boolean {
    return this.entries.some(isServiceChainingRule);
  }
}

function rejectInsecureAllowAll(entries: readonly string[]): void {
  if (entries.length === 1 && entries[0] === 'insecure:allow-all') {
    throw new AllowedHostError(
      'insecure:allow-all',
      "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic",
    );
  }
}

/**
 * Load-time validation of `allowed_outbound_hosts`: literal entries must parse, templated
 * entries are checked with variable defaults where every referenced variable has one.
 * Returns every problem found (empty when valid).
 */
export function validateAllowedOutboundHosts(
  entries: readonly string[],
  defaults: Readonly<Record<string, string | undefined>>,
): AllowedHostError[] {
  const problems: AllowedHostError[] = [];
  try {
    rejectInsecureAllowAll(entries);
  } catch (e) {
    return [e as AllowedHostError];
  }
  for (const entry of entries) {
    try {
      const parts = parseTemplate(entry);
      if (isLiteralTemplate(parts)) {
        parseAllowedHost(entry);
        continue;
      }
      const resolved = renderTemplate(parts, defaults);
      if (resolved === undefined || resolved === '' || resolved === 'http://' || resolved === 'https://') continue;
      try {
        parseAllowedHost(resolved);
      } catch (err) {
        problems.push(
          new AllowedHostError(
            entry,
            `using default variable value(s) with template ${JSON.stringify(entry)} results in invalid config ${JSON.stringify(resolved)}: ${(err as Error).message}`,
            { cause: err },
          ),
        );
      }
    } catch (err) {
      problems.push(err instanceof AllowedHostError ? err : new AllowedHostError(entry, (err as Error).message, { cause: err }));
    }
  }
  return problems;
}

/**
 * The warning Spin prints when a component is refused a destination, with the line that
 * says how to allow it. `authority` is `host[:port]`, or `self` for a relative request.
 */
export function disallowedHostHint(scheme: string, authority: string): string {
  const pattern = `${scheme}://${authority}`;
  const first =
    authority === 'self'
      ? 'A component tried to make an HTTP request to its own app but it does not have permission.'
      : `A component tried to make an outbound network connection to disallowed destination '${pattern}'.`;
  return `${first}\nTo allow this request, add 'allowed_outbound_hosts = ["${pattern}"]' to the manifest component section.`;
}
