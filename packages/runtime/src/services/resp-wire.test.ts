import { describe, expect, it } from 'vitest';
import { RespEncoder, encodeCommand, parseReply, type RespArg } from './resp-wire.js';

const te = new TextEncoder();

/** What the server reads from an encoded command: one array of bulk strings, as bytes. */
function argsOf(bytes: Buffer): Uint8Array[] {
  const parsed = parseReply(bytes, 0);
  if (parsed?.reply?.kind !== 'array' || parsed.reply.value === null) throw new Error('not an array');
  expect(parsed.end).toBe(bytes.length);
  return parsed.reply.value.map((item) => {
    if (item.kind !== 'bulk' || item.value === null) throw new Error('not a bulk string');
    return item.value;
  });
}

describe('RESP commands', () => {
  const commands: RespArg[][] = [
    ['GET', 'bench-key'],
    ['SET', 'clé ünïcode 🔑', te.encode('value\r\nwith CRLF')],
    ['INCRBY', 'n', 12345678901234567890n, -42, 0, 1.5],
    ['SET', '', new Uint8Array(0)],
    ['MSET', ...Array.from({ length: 12 }, (_, i) => `k${i}`)],
    ['SET', 'big', new Uint8Array(70_000).fill(7)],
  ];

  it('are arrays of bulk strings: text as UTF-8, numbers as decimal text, bytes as they are', () => {
    for (const args of commands) {
      const expected = args.map((a) => (a instanceof Uint8Array ? a : te.encode(String(a))));
      expect(argsOf(encodeCommand(args))).toEqual(expected);
    }
    expect(encodeCommand(['GET', 'k']).toString()).toBe('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
  });

  it('encode the same through a reused encoder, which grows for a big command and stays right for small ones after it', () => {
    const encoder = new RespEncoder();
    for (const args of [...commands, ...commands.slice().reverse()]) {
      const length = encoder.encode(args);
      expect(Buffer.from(encoder.bytes.subarray(0, length))).toEqual(encodeCommand(args));
    }
  });
});

describe('RESP replies', () => {
  const replies = ['+OK\r\n', '-WRONGTYPE wrong kind\r\n', ':-12\r\n', ':9007199254740993\r\n', '$5\r\nhello\r\n', '$0\r\n\r\n', '$-1\r\n', '*-1\r\n', '*0\r\n', '*3\r\n$1\r\na\r\n:2\r\n*1\r\n+x\r\n'];

  it('parse each kind, and a reply cut anywhere is not taken until all of it is there', () => {
    const parsed = replies.map((text) => parseReply(Buffer.from(text), 0));
    expect(parsed.map((p) => p?.end)).toEqual(replies.map((r) => r.length));
    expect(parsed[0]?.reply).toEqual({ kind: 'status', value: 'OK' });
    expect(parsed[1]?.error).toBe('WRONGTYPE wrong kind');
    expect(parsed[2]?.reply).toEqual({ kind: 'int', value: -12n });
    expect(parsed[3]?.reply).toEqual({ kind: 'int', value: 9007199254740993n });
    expect(parsed[4]?.reply).toEqual({ kind: 'bulk', value: te.encode('hello') });
    expect(parsed[5]?.reply).toEqual({ kind: 'bulk', value: new Uint8Array(0) });
    expect(parsed[6]?.reply).toEqual({ kind: 'bulk', value: null });
    expect(parsed[7]?.reply).toEqual({ kind: 'array', value: null });
    expect(parsed[8]?.reply).toEqual({ kind: 'array', value: [] });
    expect(parsed[9]?.reply).toEqual({ kind: 'array', value: [{ kind: 'bulk', value: te.encode('a') }, { kind: 'int', value: 2n }, { kind: 'array', value: [{ kind: 'status', value: 'x' }] }] });
    for (const text of replies) {
      for (let cut = 0; cut < text.length; cut++) expect(parseReply(Buffer.from(text.slice(0, cut)), 0)).toBeUndefined();
    }
  });

  it('parse from an offset, leaving what follows', () => {
    const buf = Buffer.from('$2\r\nab\r\n+NEXT\r\n');
    const first = parseReply(buf, 0);
    expect(first).toEqual({ reply: { kind: 'bulk', value: te.encode('ab') }, end: 8 });
    expect(parseReply(buf, 8)).toEqual({ reply: { kind: 'status', value: 'NEXT' }, end: buf.length });
  });

  it('refuse a length that is not a number or an unknown type, taking the whole buffer and marking the connection broken', () => {
    for (const text of ['$x\r\nab\r\n', '$\r\n', '*1a\r\n', '$1234567890123456\r\n', '*2\r\n$1\r\na\r\n$y\r\n+OK\r\n']) {
      expect(parseReply(Buffer.from(text), 0)).toEqual({ error: 'ERR malformed reply length', end: text.length, broken: true });
    }
    expect(parseReply(Buffer.from('?x\r\n+OK\r\n'), 0)).toEqual({ error: 'ERR unexpected reply type ?', end: 9, broken: true });
    // An error reply is not broken: the connection goes on.
    expect(parseReply(Buffer.from('-ERR no\r\n+OK\r\n'), 0)).toEqual({ error: 'ERR no', end: 9 });
  });
});
