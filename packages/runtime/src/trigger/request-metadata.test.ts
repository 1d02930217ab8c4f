import { describe, expect, it } from 'vitest';
import { guestHeaders, isServiceChainingHost, requestMetadata, spinHeaders } from './request-metadata.js';
import { Router } from './router.js';

const ctx = { scheme: 'https' as const, host: 'fermyon.dev', pathAndQuery: '/foo/42/bar?key1=value1&key2=value2', clientAddress: '127.0.0.1', clientPort: 8777 };

describe('spinHeaders', () => {
  it('gives Spin’s metadata for a wildcard route with a capture', () => {
    const m = Router.build([{ id: 'c', route: '/foo/:userid/...', value: 0 }]).route('/foo/42/bar');
    if (m === undefined) throw new Error('no match');
    expect(Object.fromEntries(spinHeaders(m, ctx))).toEqual({
      'spin-full-url': 'https://fermyon.dev/foo/42/bar?key1=value1&key2=value2',
      'spin-path-info': '/bar',
      'spin-matched-route': '/foo/:userid/...',
      'spin-base-path': '/',
      'spin-raw-component-route': '/foo/:userid/...',
      'spin-component-route': '/foo/:userid',
      'spin-client-addr': '127.0.0.1:8777',
      'spin-path-match-userid': '42',
    });
  });

  it('uses localhost without a Host header and brackets IPv6 clients', () => {
    const m = Router.build([{ id: 'c', route: '/', value: 0 }]).route('/');
    if (m === undefined) throw new Error('no match');
    const h = Object.fromEntries(spinHeaders(m, { ...ctx, scheme: 'http', host: undefined, pathAndQuery: '/', clientAddress: '::1', clientPort: 1 }));
    expect(h['spin-full-url']).toBe('http://localhost/');
    expect(h['spin-client-addr']).toBe('[::1]:1');
    expect(h['spin-matched-route']).toBe('');
    expect(h['spin-raw-component-route']).toBe('/');
    expect(h['spin-path-info']).toBe('');
  });

  it('names, in order, what requestMetadata names (Spin name, lowercase, `_` → `-`)', () => {
    const m = Router.build([{ id: 'c', route: '/a/:first_name/:ID/...', value: 0 }]).route('/a/x/y/z');
    if (m === undefined) throw new Error('no match');
    const expected = requestMetadata(m, ctx).map(([name, , value]) => [name.replaceAll('_', '-').toLowerCase(), value]);
    expect(spinHeaders(m, ctx)).toEqual(expected);
    expect(expected.map(([n]) => n)).toContain('spin-path-match-first-name');
  });
});

describe('guestHeaders', () => {
  it('drops hop-by-hop headers, service-chaining hosts and forged spin-* headers', () => {
    const m = Router.build([{ id: 'c', route: '/...', value: 0 }]).route('/x');
    if (m === undefined) throw new Error('no match');
    const h = guestHeaders(['Host', 'a.spin.internal', 'Connection', 'keep-alive', 'spin-client-addr', '6.6.6.6:1', 'X-Ok', '1'], m, ctx);
    expect(h.filter(([n]) => n === 'spin-client-addr')).toEqual([['spin-client-addr', '127.0.0.1:8777']]);
    expect(h.some(([n]) => n === 'host' || n === 'connection')).toBe(false);
    expect(h[0]).toEqual(['x-ok', '1']);
    expect(isServiceChainingHost('svc.spin.internal:80')).toBe(true);
    expect(isServiceChainingHost('example.com')).toBe(false);
  });
});
