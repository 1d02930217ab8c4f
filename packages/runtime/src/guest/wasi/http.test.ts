import { describe, expect, it } from 'vitest';
import { Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam, type ResponseSink } from './http.js';
import { MemorySource } from './io.js';

function payloadOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { payload?: unknown }).payload;
  }
  return 'no error';
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function recorder(): ResponseSink & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    head: (status, headers) => events.push(`head ${status} ${headers.map(([n, v]) => `${n}=${Buffer.from(v).toString()}`).join(',')}`),
    chunk: (bytes) => events.push(`chunk ${Buffer.from(bytes).toString()}`),
    end: () => events.push('end'),
    fail: (error) => events.push(`fail ${error.tag}`),
  };
}

describe('wasi:http types', () => {
  it('keeps field names lowercase and rejects invalid names and values', () => {
    const fields = Fields.fromList([['X-One', enc('1')]]);
    fields.append('x-one', enc('2'));
    expect(fields.get('X-ONE').map((v) => Buffer.from(v).toString())).toEqual(['1', '2']);
    expect(payloadOf(() => fields.append('bad name', enc('v')))).toEqual({ tag: 'invalid-syntax' });
    expect(payloadOf(() => fields.append('ok', enc('a\r\nb')))).toEqual({ tag: 'invalid-syntax' });
  });

  it('makes request headers and headers given to a response immutable', () => {
    const req = new IncomingRequest({ method: 'PATCH', url: 'https://h:8080/p?q=1', headers: [['X-A', 'b']] }, new MemorySource(new Uint8Array(0)), { wait: () => undefined });
    expect(req.method()).toEqual({ tag: 'patch' });
    expect(req.scheme()).toEqual({ tag: 'HTTPS' });
    expect(req.authority()).toBe('h:8080');
    expect(req.pathWithQuery()).toBe('/p?q=1');
    expect(payloadOf(() => req.headers().set('x-a', [enc('c')]))).toEqual({ tag: 'immutable' });
    const fields = new Fields();
    new OutgoingResponse(fields);
    expect(payloadOf(() => fields.append('x', enc('y')))).toEqual({ tag: 'immutable' });
    expect(new IncomingRequest({ method: 'PURGE', url: 'http://h/', headers: [] }, new MemorySource(new Uint8Array(0)), { wait: () => undefined }).method()).toEqual({ tag: 'other', val: 'PURGE' });
  });

  it('lets a request body be consumed once', () => {
    const req = new IncomingRequest({ method: 'GET', url: 'http://h/', headers: [] }, new MemorySource(enc('abc')), { wait: () => undefined });
    const stream = req.consume().stream();
    expect(Buffer.from(stream.blockingRead(10n)).toString()).toBe('abc');
    expect(payloadOf(() => stream.blockingRead(10n))).toEqual({ tag: 'closed' });
    expect(payloadOf(() => req.consume())).toBeUndefined();
  });

  it('delivers body bytes written before the response is set, then the rest as written', () => {
    const sink = recorder();
    const response = new OutgoingResponse(Fields.fromList([['content-type', enc('text/plain')]]));
    expect(payloadOf(() => response.setStatusCode(99))).toBeUndefined();
    response.setStatusCode(404);
    const body = response.body();
    const out = body.write();
    out.blockingWriteAndFlush(enc('early'));
    ResponseOutparam.set(new ResponseOutparam(sink), { tag: 'ok', val: response });
    out.write(enc('late'));
    OutgoingBody.finish(body, undefined);
    expect(sink.events).toEqual(['head 404 content-type=text/plain', 'chunk early', 'chunk late', 'end']);
    expect(payloadOf(() => out.write(enc('after')))).toEqual({ tag: 'closed' });
  });

  it('passes a guest error code to the sink', () => {
    const sink = recorder();
    ResponseOutparam.set(new ResponseOutparam(sink), { tag: 'err', val: { tag: 'internal-error', val: 'x' } });
    expect(sink.events).toEqual(['fail internal-error']);
  });
});
