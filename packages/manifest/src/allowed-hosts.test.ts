import { describe, expect, it } from 'vitest';
import { AllowedHosts, disallowedHostHint, parseAllowedHost, parseOutboundUrl, validateAllowedOutboundHosts } from './allowed-hosts.js';
import { AllowedHostError } from './errors.js';

function err(entry: string): AllowedHostError {
  try {
    parseAllowedHost(entry);
  } catch (e) {
    expect(e).toBeInstanceOf(AllowedHostError);
    expect((e as AllowedHostError).code).toBe('MANIFEST_INVALID_ALLOWED_HOST');
    return e as AllowedHostError;
  }
  throw new Error(`expected ${entry} to be rejected`);
}

describe('parseAllowedHost', () => {
  it('parses every valid form', () => {
    expect(parseAllowedHost('http://example.com')).toMatchObject({ scheme: { kind: 'exact', scheme: 'http' }, host: { kind: 'literal', host: 'example.com' }, port: { kind: 'range', start: 80, end: 81 } });
    expect(parseAllowedHost('*://*:*')).toMatchObject({ scheme: { kind: 'any' }, host: { kind: 'any' }, port: { kind: 'any' } });
    expect(parseAllowedHost('https://*.example.com:4000..4010')).toMatchObject({ host: { kind: 'subdomain', suffix: '.example.com' }, port: { start: 4000, end: 4010 } });
    expect(parseAllowedHost('http://self').host).toEqual({ kind: 'self' });
    expect(parseAllowedHost('http://self.alt').host).toEqual({ kind: 'self' });
    expect(parseAllowedHost('tcp://10.0.0.0/8:*').host).toMatchObject({ kind: 'cidr', family: 4, prefix: 8 });
    expect(parseAllowedHost('postgres://ff00::/8').host).toMatchObject({ kind: 'cidr', family: 6, prefix: 8 });
    expect(parseAllowedHost('http://[::1]:8080').host).toEqual({ kind: 'literal', host: '[::1]' });
    expect(parseAllowedHost('http://[::1]').port).toEqual({ kind: 'range', start: 80, end: 81 });
    expect(parseAllowedHost('https://EXAMPLE.com/').host).toEqual({ kind: 'literal', host: 'example.com' });
    expect(parseAllowedHost('http://example.com:80/').port).toEqual({ kind: 'range', start: 80, end: 81 });
    expect(parseAllowedHost('redis://localhost').port).toEqual({ kind: 'range', start: 6379, end: 6380 });
  });

  it("rejects invalid entries with Spin's wording", () => {
    expect(err('example.com').message).toContain("does not contain a scheme (e.g., 'http://' or '*://')");
    expect(err('*').message).toContain("'*://*:*'");
    expect(err('{http,https}://example.com').message).toContain('scheme lists are not supported');
    expect(err('ht1p://example.com').message).toContain('only alphabetic characters are allowed');
    expect(err('http://{a.com,b.com}').message).toContain('host lists are not yet supported');
    expect(err('http://ex*ample.com').message).toContain('wildcards are allowed only as subdomains');
    expect(err('http://*.ex*ample.com').message).toContain('wildcards are allowed only as prefixes');
    expect(err('http://example.com:99999').message).toContain('Invalid allowed host port "99999"');
    expect(err('*://example.com').message).toContain('no port was provided and the scheme "*" does not have a known default port number');
    expect(err('*://10.0.0.0/24').message).toContain('does not have a known default port number');
    expect(err('http://example.com/path').message).toContain('Invalid allowed host');
    expect(err('http://example.com:80/path').message).toContain('has a path');
    expect(err('http://exa mple.com').message).toContain('Invalid allowed host');
  });
});

describe('AllowedHosts', () => {
  it('matches scheme, host and port', () => {
    const a = AllowedHosts.parse(['https://example.com', 'http://*.test.org:8000..8002', 'tcp://10.1.0.0/16:5000', 'mysql://[::1]']);
    expect(a.allows('https://example.com/x')).toBe(true);
    expect(a.allows('https://example.com:443/x')).toBe(true);
    expect(a.allows('http://example.com/x')).toBe(false);
    expect(a.allows('https://example.com:8443')).toBe(false);
    expect(a.allows('https://sub.example.com')).toBe(false);
    expect(a.allows('http://a.b.test.org:8001')).toBe(true);
    expect(a.allows('http://a.test.org:8002')).toBe(false);
    expect(a.allows('http://test.org:8000')).toBe(false);
    expect(a.allows({ scheme: 'tcp', host: '10.1.200.3', port: 5000 })).toBe(true);
    expect(a.allows({ scheme: 'tcp', host: '10.2.0.3', port: 5000 })).toBe(false);
    expect(a.allows({ scheme: 'tcp', host: '10.1.0.3' })).toBe(false);
    expect(a.allows('mysql://[::1]')).toBe(true);
    expect(a.allows({ scheme: 'mysql', host: '::1', port: 3306 })).toBe(true);
    expect(a.allows('not a url at all ::')).toBe(false);
    expect(a.allows('example.com')).toBe(true);
  });

  it('self entries allow relative requests only', () => {
    const a = AllowedHosts.parse(['http://self']);
    expect(a.allowsRelative(['http'])).toBe(true);
    expect(a.allows('http://self')).toBe(false);
    expect(AllowedHosts.parse(['https://example.com']).allowsRelative()).toBe(false);
    expect(AllowedHosts.parse(['*://*:*']).allowsRelative()).toBe(true);
  });

  it('expands *.spin.internal and resolves templates', () => {
    const a = AllowedHosts.parse(['http://*.spin.internal', 'https://{{ host }}', 'https://{{ empty }}'], {
      componentIds: ['a', 'b'],
      variables: { host: 'api.example.com', empty: '' },
    });
    expect(a.entries.map((e) => e.host)).toEqual([
      { kind: 'literal', host: 'a.spin.internal' },
      { kind: 'literal', host: 'b.spin.internal' },
      { kind: 'literal', host: 'api.example.com' },
    ]);
    expect(a.requiresServiceChaining).toBe(true);
    expect(a.allows('http://b.spin.internal/x')).toBe(true);
    expect(() => AllowedHosts.parse(['insecure:allow-all'])).toThrow("'insecure:allow-all' is not allowed");
  });

  it('validates templates with defaults', () => {
    const problems = validateAllowedOutboundHosts(['https://{{ host }}', 'http://ok.com', 'bad', 'https://{{ nodefault }}'], { host: 'a b' });
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('using default variable value(s) with template "https://{{ host }}" results in invalid config "https://a b"'),
      expect.stringContaining('does not contain a scheme'),
    ]);
    expect(validateAllowedOutboundHosts(['https://{{ unclosed'], {})[0]?.message).toContain("unmatched '{{' in template");
  });

  it("gives Spin's hint for a refused destination", () => {
    expect(disallowedHostHint('https', 'example.com:8443')).toBe(
      "A component tried to make an outbound network connection to disallowed destination 'https://example.com:8443'.\nTo allow this request, add 'allowed_outbound_hosts = [\"https://example.com:8443\"]' to the manifest component section.",
    );
    expect(disallowedHostHint('http', 'self')).toContain('its own app but it does not have permission');
  });

  it('parses outbound URLs with awkward userinfo', () => {
    expect(parseOutboundUrl('postgres://user:pa#ss@db.example.com:5433/x')).toMatchObject({ scheme: 'postgres', host: 'db.example.com', port: 5433 });
    expect(parseOutboundUrl('example.com:8080')).toMatchObject({ scheme: 'https', host: 'example.com', port: 8080, authority: 'example.com:8080' });
  });
});
