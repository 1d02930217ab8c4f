import { describe, expect, it } from 'vitest';
import { parseRoute, Router, type RouteEntry } from './router.js';

function build(routes: Array<[string, string | { private: boolean }]>): Router<string> {
  return Router.build(routes.map(([id, route]): RouteEntry<string> => ({ id, route, value: id })));
}

describe('parseRoute', () => {
  it.each([
    ['/foo', '/foo', false, '/foo'],
    ['foo', '/foo', false, '/foo'],
    ['/foo/', '/foo', false, '/foo'],
    ['/', '', false, ''],
    ['/...', '/...', true, ''],
    ['/api/...', '/api/...', true, '/api'],
    ['/api/*', '/api/*', true, '/api'],
    ['/user/:id', '/user/:id', false, '/user/:id'],
  ])('%s → based %s', (raw, based, wildcard, prefix) => {
    const r = parseRoute(raw);
    expect(r.based).toBe(based);
    expect(r.wildcard).toBe(wildcard);
    expect(r.prefix).toBe(prefix);
  });

  it('refuses a wildcard before the end and an unnamed capture', () => {
    expect(() => parseRoute('/a/.../b')).toThrow(expect.objectContaining({ code: 'RUNTIME_HTTP_INVALID_ROUTE' }));
    expect(() => parseRoute('/a/:/b')).toThrow(expect.objectContaining({ code: 'RUNTIME_HTTP_INVALID_ROUTE' }));
  });
});

describe('Router', () => {
  it('matches exact routes, ignoring one trailing slash', () => {
    const r = build([['foo', '/foo'], ['foobar', '/foo/bar'], ['root', '/']]);
    expect(r.route('/foo')?.id).toBe('foo');
    expect(r.route('/foo/')?.id).toBe('foo');
    expect(r.route('/foo/bar')?.id).toBe('foobar');
    expect(r.route('/')?.id).toBe('root');
    expect(r.route('/foo/baz')).toBeUndefined();
    expect(r.route('/foobar')).toBeUndefined();
    expect(r.route('/FOO')).toBeUndefined();
  });

  it('a catch-all matches everything, including the root', () => {
    const r = build([['all', '/...']]);
    for (const p of ['/', '/foo/bar', '/abc/', '/this/should/be/captured']) expect(r.route(p)?.id).toBe('all');
  });

  it('exact beats wildcard', () => {
    const r = build([['wild', '/...'], ['one', '/one']]);
    expect(r.route('/one')?.id).toBe('one');
    expect(r.route('/one/x')?.id).toBe('wild');
  });

  it('the longest wildcard prefix wins regardless of order', () => {
    const routes: Array<[string, string]> = [['one', '/one/...'], ['two', '/one/two/...'], ['three', '/one/two/three/...']];
    for (const order of [routes, [...routes].reverse()]) {
      const r = build(order);
      expect(r.route('/one/two/three/four')?.id).toBe('three');
      expect(r.route('/one/two/x')?.id).toBe('two');
      expect(r.route('/one/twox')?.id).toBe('one');
      expect(r.route('/one')?.id).toBe('one');
    }
  });

  it(':name beats a trailing wildcard at the same depth, exact beats :name', () => {
    const r = build([['wild', '/users/...'], ['param', '/users/:id'], ['me', '/users/me']]);
    expect(r.route('/users/42')?.id).toBe('param');
    expect(r.route('/users/me')?.id).toBe('me');
    expect(r.route('/users/42/posts')?.id).toBe('wild');
    expect(r.route('/users')?.id).toBe('wild');
  });

  it('a :name needs a non-empty segment', () => {
    const r = build([['param', '/users/:id']]);
    expect(r.route('/users/')).toBeUndefined();
    expect(r.route('/users')).toBeUndefined();
  });

  it('captures :name segments', () => {
    const r = build([['c', '/1/:two/3'], ['d', '/x/:a/:b/...']]);
    expect(r.route('/1/2/3')?.params).toEqual([['two', '2']]);
    const m = r.route('/x/p/q/r/s');
    expect(m?.params).toEqual([['a', 'p'], ['b', 'q']]);
    expect(m?.pathInfo).toBe('/r/s');
  });

  it('computes path-info with Spin’s trailing-slash rule', () => {
    const r = build([['c', '/test/...']]);
    expect(r.route('/test')?.pathInfo).toBe('');
    expect(r.route('/test/')?.pathInfo).toBe('/');
    expect(r.route('/test/hello')?.pathInfo).toBe('/hello');
    expect(r.route('/test/hello/')?.pathInfo).toBe('/hello/');
    expect(r.route('/test/a/b')?.pathInfo).toBe('/a/b');
    expect(r.route('/testing')).toBeUndefined();
    const all = build([['c', '/...']]);
    expect(all.route('/1/2/3')?.pathInfo).toBe('/1/2/3');
    expect(all.route('/')?.pathInfo).toBe('/');
    const one = build([['c', '/1/...']]);
    expect(one.route('/1/2/3')?.pathInfo).toBe('/2/3');
  });

  it('accepts a trailing /* like /...', () => {
    const r = build([['star', '/s/*']]);
    expect(r.route('/s/a/b')?.pathInfo).toBe('/a/b');
    expect(r.routes()).toEqual([{ id: 'star', path: '/s', wildcard: true }]);
  });

  it('exact routes have empty path-info', () => {
    expect(build([['c', '/a']]).route('/a')?.pathInfo).toBe('');
  });

  it('leaves private routes out and refuses { private = false }', () => {
    const r = build([['pub', '/pub'], ['priv', { private: true }]]);
    expect(r.routes().map((x) => x.id)).toEqual(['pub']);
    expect(r.route('/priv')).toBeUndefined();
    expect(() => build([['bad component', { private: false }]])).toThrow(/component 'bad component' has \{ private = false \}/);
  });

  it('keeps the last of duplicated routes at the first one’s position and reports it', () => {
    const r = build([['root', '/'], ['first', '/foo'], ['second', '/foo'], ['whee', '/whee/...']]);
    expect(r.routes().map((x) => x.id)).toEqual(['root', 'second', 'whee']);
    expect(r.route('/foo')?.id).toBe('second');
    expect(r.duplicates).toEqual([{ route: '/foo', replacedId: 'first', effectiveId: 'second' }]);
  });

  it('lists routes in declaration order with wildcard prefixes', () => {
    const r = build([['a', '/'], ['b', '/foo'], ['c', '/whee/...'], ['d', '/...']]);
    expect(r.routes()).toEqual([
      { id: 'a', path: '', wildcard: false },
      { id: 'b', path: '/foo', wildcard: false },
      { id: 'c', path: '/whee', wildcard: true },
      { id: 'd', path: '', wildcard: true },
    ]);
  });

  it('detects reserved routes', () => {
    expect(build([['c', '/.well-known/spin/...']]).containsReservedRoute()).toBe(true);
    expect(build([['c', '/.well-known/spin/fie']]).containsReservedRoute()).toBe(true);
    expect(build([['c', '/.well-known/spindle/...']]).containsReservedRoute()).toBe(false);
    expect(build([['c', '/.well-known/spin']]).containsReservedRoute()).toBe(false);
  });

  it('applies a base', () => {
    const r = Router.build([{ id: 'foo', route: '/foo', value: 1 }], '/base');
    expect(r.route('/base/foo')?.id).toBe('foo');
    expect(r.route('/foo')).toBeUndefined();
  });
});
