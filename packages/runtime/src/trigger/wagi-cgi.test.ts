import { describe, expect, it } from 'vitest';
import { Router } from './router.js';
import { buildArgv, buildCgiEnv, CGI_INSUFFICIENT_RESPONSE, parseCgiResponse } from './wagi-cgi.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('parseCgiResponse', () => {
  it('splits headers from body at the first blank line, ignoring CR in headers', () => {
    const r = parseCgiResponse(enc('Content-Type: text/plain\r\nX-A: b\r\n\r\nbody\r\nmore'));
    expect(r.status).toBe(200);
    expect(r.headers).toEqual([['content-type', 'text/plain'], ['x-a', 'b']]);
    expect(dec(r.body)).toBe('body\r\nmore');
  });

  it('takes the code of Status and 502 for an unparseable one', () => {
    expect(parseCgiResponse(enc('Status: 404 Not Found\n\n')).status).toBe(404);
    expect(parseCgiResponse(enc('Status: 201\n\n')).status).toBe(201);
    expect(parseCgiResponse(enc('Status: nope\n\n')).status).toBe(502);
    expect(parseCgiResponse(enc('Status: 42\n\n')).status).toBe(502);
  });

  it('Location means 302 unless a status is given', () => {
    const r = parseCgiResponse(enc('Location: /elsewhere\n\n'));
    expect(r.status).toBe(302);
    expect(r.headers).toEqual([['location', '/elsewhere']]);
    expect(parseCgiResponse(enc('Location: /x\nStatus: 301\n\n')).status).toBe(301);
    expect(parseCgiResponse(enc('Status: 307\nLocation: /x\n\n')).status).toBe(307);
  });

  it('answers 500 with Spin’s text without content-type, location or status', () => {
    for (const out of ['X-Only: 1\n\nbody', 'no blank line at all', '\n\nbody']) {
      const r = parseCgiResponse(enc(out));
      expect(r.status).toBe(500);
      expect(dec(r.body)).toBe(CGI_INSUFFICIENT_RESPONSE);
    }
  });

  it('skips lines that are not headers and invalid names; throws on control characters', () => {
    const r = parseCgiResponse(enc('Content-Type: a\ngarbage\nBad Name: x\n\n'));
    expect(r.headers).toEqual([['content-type', 'a']]);
    expect(() => parseCgiResponse(enc('Content-Type: a\u0001b\n\n'))).toThrow();
  });
});

describe('buildArgv', () => {
  it('expands the default template', () => {
    expect(buildArgv('${SCRIPT_NAME} ${ARGS}', '/cgi/x?a=1&b=2')).toEqual(['/cgi/x', 'a=1', 'b=2']);
    expect(buildArgv('${SCRIPT_NAME} ${ARGS}', '/cgi/x')).toEqual(['/cgi/x']);
    expect(buildArgv('wasm --flag ${ARGS}', '/p?x')).toEqual(['wasm', '--flag', 'x']);
  });
});

describe('buildCgiEnv', () => {
  it('sets CGI and Spin variables', () => {
    const router = Router.build([{ id: 'c', route: '/cgi/:who/...', value: 1 }]);
    const match = router.route('/cgi/bob/a%20b/c');
    if (match === undefined) throw new Error('no match');
    const env = new Map(
      buildCgiEnv(
        {
          method: 'POST',
          httpVersion: '1.1',
          rawHeaders: ['Host', 'example.test:8080', 'Content-Type', 'text/x', 'Authorization', 'secret', 'X-Thing', 'v'],
          contentLength: 5,
        },
        match,
        { scheme: 'http', host: 'example.test:8080', pathAndQuery: '/cgi/bob/a%20b/c?q=1', clientAddress: '127.0.0.1', clientPort: 5555 },
      ),
    );
    expect(Object.fromEntries(env)).toMatchObject({
      AUTH_TYPE: '',
      CONTENT_LENGTH: '5',
      CONTENT_TYPE: 'text/x',
      GATEWAY_INTERFACE: 'CGI/1.1',
      QUERY_STRING: 'q=1',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_HOST: '127.0.0.1',
      REMOTE_USER: '',
      REQUEST_METHOD: 'POST',
      SCRIPT_NAME: '/cgi/:who',
      PATH_INFO: '/a%20b/c',
      X_RAW_PATH_INFO: '/a%20b/c',
      PATH_TRANSLATED: '/a b/c',
      SERVER_NAME: 'example.test',
      SERVER_PORT: '8080',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_SOFTWARE: 'WAGI/1',
      X_FULL_URL: 'http://example.test:8080/cgi/bob/a%20b/c?q=1',
      X_MATCHED_ROUTE: '/cgi/:who/...',
      X_COMPONENT_ROUTE: '/cgi/:who',
      X_RAW_COMPONENT_ROUTE: '/cgi/:who/...',
      X_BASE_PATH: '/',
      X_CLIENT_ADDR: '127.0.0.1:5555',
      X_PATH_MATCH_WHO: 'bob',
      HTTP_HOST: 'example.test:8080',
      HTTP_X_THING: 'v',
    });
    expect(env.has('HTTP_AUTHORIZATION')).toBe(false);
  });
});
