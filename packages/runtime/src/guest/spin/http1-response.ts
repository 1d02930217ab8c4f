/**
 * Worker: a strict HTTP/1.1 response parser (RFC 9112) for the connections the main thread lends
 * a worker (`http-lane.ts`). Strict because the connection is reused for the next request: a
 * head that two parsers could read two ways (Content-Length with Transfer-Encoding, duplicate
 * lengths that differ, bare LF, folded lines) is refused rather than guessed at.
 */

/** The most bytes a response head (or a chunked body's trailers) may take: Node's `--max-http-header-size`, undici's default. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The longest chunk-size line (size and extensions). */
const MAX_CHUNK_LINE = 1024;

/**
 * A response the parser refuses; `errorCode` is the wasi:http `error-code` the guest gets: a head
 * past {@link MAX_HEAD_BYTES} is `HTTP-response-header-section-size` with that limit (its
 * payload is an `option<u32>`; `HTTP-response-header-size` would need a field name and size, and
 * jco's lowering traps on a missing payload), anything else `HTTP-protocol-error`.
 */
export class Http1ParseError extends Error {
  readonly errorCode: { tag: 'HTTP-protocol-error' } | { tag: 'HTTP-response-header-section-size'; val: number };
  constructor(kind: 'protocol' | 'head-size', message: string) {
    super(message);
    this.errorCode = kind === 'head-size' ? { tag: 'HTTP-response-header-section-size', val: MAX_HEAD_BYTES } : { tag: 'HTTP-protocol-error' };
  }
}

/** A parsed response head. */
export interface ResponseHead {
  status: number;
  /** `HTTP/1.0` or `HTTP/1.1`. */
  minor: 0 | 1;
  /** Names lower-cased, values without surrounding whitespace, in order. */
  headers: Array<[string, string]>;
  /** Bytes the head took, its blank line included. */
  length: number;
}

/** An RFC 9110 token (field names, methods). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values: visible characters, spaces, tabs and obs-text; no CR, LF, NUL or other controls.
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;

/**
 * Parses the head at the start of `buf`: undefined while it is incomplete.
 * @throws Http1ParseError for a malformed head, or one past {@link MAX_HEAD_BYTES}
 */
export function parseResponseHead(buf: Buffer): ResponseHead | undefined {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) throw new Http1ParseError('head-size', `the response head is larger than ${MAX_HEAD_BYTES} bytes`);
    // A bare LF already seen is an error now, not once the head is complete.
    checkLineEnds(buf, buf.length);
    return undefined;
  }
  if (end + 4 > MAX_HEAD_BYTES) throw new Http1ParseError('head-size', `the response head is larger than ${MAX_HEAD_BYTES} bytes`);
  checkLineEnds(buf, end + 2);
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (status === null) throw new Http1ParseError('protocol', 'malformed status line in the response');
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) headers.push(parseField(lines[i] ?? ''));
  return { status: Number(status[2]), minor: status[1] === '0' ? 0 : 1, headers, length: end + 4 };
}

function checkLineEnds(buf: Buffer, upTo: number): void {
  for (let at = buf.indexOf(10); at >= 0 && at < upTo; at = buf.indexOf(10, at + 1)) {
    if (at === 0 || buf[at - 1] !== 13) throw new Http1ParseError('protocol', 'bare LF in the response head');
  }
}

function parseField(line: string): [string, string] {
  const colon = line.indexOf(':');
  const name = colon < 0 ? '' : line.slice(0, colon);
  // No whitespace before the colon, no folded continuation lines (RFC 9112 §5.1, §5.2).
  if (!TOKEN.test(name)) throw new Http1ParseError('protocol', 'malformed header line in the response');
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (!FIELD_VALUE.test(value)) throw new Http1ParseError('protocol', `invalid characters in the response header ${name}`);
  return [name.toLowerCase(), value];
}

/** How a response's body is delimited. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

/**
 * The body framing of a final response to `method` (RFC 9112 §6.3), and whether the connection
 * may carry another request once it is read.
 * @throws Http1ParseError when Content-Length and Transfer-Encoding conflict or are malformed
 */
export function responseFraming(method: string, head: ResponseHead): { framing: BodyFraming; keepAlive: boolean } {
  let keepAlive = head.minor === 1;
  const lengths: string[] = [];
  const codings: string[] = [];
  for (const [name, value] of head.headers) {
    if (name === 'content-length') lengths.push(...value.split(',').map((v) => v.trim()));
    else if (name === 'transfer-encoding') codings.push(...value.split(',').map((v) => v.trim().toLowerCase()));
    else if (name === 'connection') {
      const options = value.toLowerCase().split(',').map((v) => v.trim());
      if (options.includes('close')) keepAlive = false;
    }
  }
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return { framing: { kind: 'none' }, keepAlive };
  if (codings.length > 0) {
    if (lengths.length > 0) throw new Http1ParseError('protocol', 'the response has both Content-Length and Transfer-Encoding');
    if (codings[codings.length - 1] !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
      throw new Http1ParseError('protocol', 'the response Transfer-Encoding does not end with chunked');
    }
    return { framing: { kind: 'chunked' }, keepAlive };
  }
  if (lengths.length > 0) {
    const first = lengths[0] ?? '';
    if (!/^\d{1,15}$/.test(first) || lengths.some((l) => l !== first)) throw new Http1ParseError('protocol', 'invalid Content-Length in the response');
    return { framing: { kind: 'length', length: Number(first) }, keepAlive };
  }
  return { framing: { kind: 'close' }, keepAlive: false };
}

/** What {@link BodyDecoder.decode} found in the bytes given. */
export interface Decoded {
  /** Body bytes (views of the input). */
  data: Buffer[];
  /** Input bytes used; the rest belongs to what follows the body. */
  used: number;
  /** The body is complete. */
  done: boolean;
}

/** Takes a response body out of the bytes of the connection, by its framing. */
export class BodyDecoder {
  private readonly framing: BodyFraming;
  /** Body bytes left: of the whole body (length), or of the current chunk. */
  private left: number;
  private state: 'size' | 'data' | 'data-end' | 'trailers' | 'done';
  private trailerBytes = 0;

  constructor(framing: BodyFraming) {
    this.framing = framing;
    this.left = framing.kind === 'length' ? framing.length : 0;
    this.state = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0) ? 'done' : framing.kind === 'chunked' ? 'size' : 'data';
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Decodes what it can of `buf`.
   * @throws Http1ParseError for malformed chunk framing
   */
  decode(buf: Buffer): Decoded {
    const data: Buffer[] = [];
    if (this.framing.kind === 'close') {
      if (buf.length > 0) data.push(buf);
      return { data, used: buf.length, done: false };
    }
    let at = 0;
    while (this.state !== 'done' && at < buf.length) {
      if (this.state === 'data') {
        const n = Math.min(this.left, buf.length - at);
        data.push(buf.subarray(at, at + n));
        at += n;
        this.left -= n;
        if (this.left === 0) this.state = this.framing.kind === 'length' ? 'done' : 'data-end';
        continue;
      }
      const eol = buf.indexOf('\r\n', at, 'latin1');
      const limit = this.state === 'trailers' ? MAX_HEAD_BYTES - this.trailerBytes : MAX_CHUNK_LINE;
      if (eol < 0) {
        if (buf.length - at > limit || buf.indexOf(10, at) >= 0) throw new Http1ParseError('protocol', 'malformed chunked body in the response');
        break;
      }
      if (eol - at > limit || buf.subarray(at, eol).includes(10)) throw new Http1ParseError('protocol', 'malformed chunked body in the response');
      const line = buf.toString('latin1', at, eol);
      at = eol + 2;
      if (this.state === 'data-end') {
        if (line !== '') throw new Http1ParseError('protocol', 'a chunk of the response is longer than its size');
        this.state = 'size';
      } else if (this.state === 'size') {
        // Leading zeros are allowed (RFC 9112 7.1: chunk-size = 1*HEXDIG); the value is capped at 12 digits.
        const size = /^0*([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
        if (size === null) throw new Http1ParseError('protocol', 'malformed chunk size in the response');
        this.left = parseInt(size[1] ?? '', 16);
        this.state = this.left === 0 ? 'trailers' : 'data';
      } else {
        // Trailers are read past and dropped (wasi:http trailers of an outbound response are not given to guests).
        this.trailerBytes += line.length + 2;
        if (line === '') this.state = 'done';
        else parseField(line);
      }
    }
    return { data, used: at, done: this.state === 'done' };
  }
}
