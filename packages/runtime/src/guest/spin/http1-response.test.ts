import { describe, expect, it } from 'vitest';
import { BodyDecoder, Http1ParseError, parseResponseHead, responseFraming, type ResponseHead } from './http1-response.js';

const head = (text: string): ResponseHead => {
  const parsed = parseResponseHead(Buffer.from(text, 'latin1'));
  if (parsed === undefined) throw new Error('incomplete');
  return parsed;
};

/** The body decoded from `wire` given one byte at a time, as a slow upstream would. */
function dribble(decoder: BodyDecoder, wire: string): { body: string; rest: string; done: boolean } {
  let pending = Buffer.alloc(0);
  let body = '';
  for (const byte of Buffer.from(wire, 'latin1')) {
    pending = Buffer.concat([pending, Buffer.from([byte])]);
    if (decoder.done) continue;
    const decoded = decoder.decode(pending);
    body += decoded.data.map((d) => d.toString('latin1')).join('');
    pending = pending.subarray(decoded.used);
  }
  return { body, rest: pending.toString('latin1'), done: decoder.done };
}

describe('HTTP/1.1 response parser', () => {
  it('parses a head only once it is complete, with names lower-cased and values trimmed', () => {
    expect(parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nA: b\r\n'))).toBeUndefined();
    expect(head('HTTP/1.1 404 Not Found\r\nX-One:  v 1 \r\nx-one: v2\r\n\r\nbody')).toEqual({
      status: 404,
      minor: 1,
      headers: [['x-one', 'v 1'], ['x-one', 'v2']],
      length: 51,
    });
    expect(head('HTTP/1.0 200\r\n\r\n').minor).toBe(0);
  });

  it('refuses an oversized head before its end arrives', () => {
    const big = Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17_000)}`, 'latin1');
    // HTTP-response-header-section-size carries an option<u32>; HTTP-response-header-size would need a field-size-payload.
    expect(() => parseResponseHead(big)).toThrow(expect.objectContaining({ errorCode: { tag: 'HTTP-response-header-section-size', val: 16 * 1024 } }));
  });

  it('frames bodies by method, status, length and coding, and refuses conflicts', () => {
    expect(responseFraming('HEAD', head('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'))).toEqual({ framing: { kind: 'none' }, keepAlive: true });
    expect(responseFraming('GET', head('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n')).framing).toEqual({ kind: 'none' });
    expect(responseFraming('GET', head('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n')).framing).toEqual({ kind: 'length', length: 5 });
    expect(responseFraming('GET', head('HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n')).keepAlive).toBe(false);
    expect(responseFraming('GET', head('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).keepAlive).toBe(false);
    expect(responseFraming('GET', head('HTTP/1.1 200 OK\r\n\r\n'))).toEqual({ framing: { kind: 'close' }, keepAlive: false });
    for (const bad of ['Content-Length: 5\r\nTransfer-Encoding: chunked', 'Transfer-Encoding: chunked, gzip', 'Transfer-Encoding: chunked, chunked', 'Content-Length: -1', 'Content-Length: 5\r\nContent-Length: 6']) {
      expect(() => responseFraming('GET', head(`HTTP/1.1 200 OK\r\n${bad}\r\n\r\n`))).toThrow(Http1ParseError);
    }
  });

  it('decodes a chunked body fed one byte at a time, trailers dropped, and leaves what follows it', () => {
    const decoder = new BodyDecoder({ kind: 'chunked' });
    expect(dribble(decoder, '5;x=y\r\nhello\r\na\r\n0123456789\r\n0\r\nT: 1\r\n\r\nNEXT')).toEqual({ body: 'hello0123456789', rest: 'NEXT', done: true });
  });

  it('reads chunk sizes with leading zeros, as RFC 9112 allows and undici reads them', () => {
    expect(dribble(new BodyDecoder({ kind: 'chunked' }), '0000000000000000005\r\nhello\r\n00000000000000\r\n\r\n')).toEqual({ body: 'hello', rest: '', done: true });
  });

  it('stops a length-delimited body at its length', () => {
    expect(dribble(new BodyDecoder({ kind: 'length', length: 3 }), 'abcHTTP')).toEqual({ body: 'abc', rest: 'HTTP', done: true });
  });

  it('refuses malformed chunk framing', () => {
    for (const wire of ['3\r\nabcd\r\n', 'zz\r\n', '3\nabc\r\n', `${'1'.repeat(13)}\r\n`]) {
      expect(() => new BodyDecoder({ kind: 'chunked' }).decode(Buffer.from(wire, 'latin1'))).toThrow(Http1ParseError);
    }
  });
});
