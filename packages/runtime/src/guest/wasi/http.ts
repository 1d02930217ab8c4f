import { InputStream, OutputStream, Pollable, type Blocker, type ByteSink, type ByteSource, type IoError } from './io.js';
import { failure, type WitResult } from './result.js';

/** wasi:http `method` as jco lifts it. */
export type HttpMethod = { tag: string; val?: string };
/** wasi:http `scheme` as jco lifts it. */
export type HttpScheme = { tag: 'HTTP' | 'HTTPS' | 'other'; val?: string };
/** wasi:http `error-code`, kept opaque: only its tag matters to the host. */
export type HttpErrorCode = { tag: string; val?: unknown };

const KNOWN_METHODS = new Set(['get', 'head', 'post', 'put', 'delete', 'connect', 'options', 'trace', 'patch']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function methodFromString(method: string): HttpMethod {
  const lower = method.toLowerCase();
  return KNOWN_METHODS.has(lower) && method === method.toUpperCase() ? { tag: lower } : { tag: 'other', val: method };
}

function checkName(name: string): void {
  if (!TOKEN.test(name)) throw failure({ tag: 'invalid-syntax' });
}

function checkValue(value: Uint8Array): void {
  for (const b of value) if (b === 0x0a || b === 0x0d || b === 0) throw failure({ tag: 'invalid-syntax' });
}

/** wasi:http `fields` (headers and trailers); names are kept lowercase. */
export class Fields {
  entriesList: Array<[string, Uint8Array]>;
  immutable: boolean;
  constructor() {
    this.entriesList = [];
    this.immutable = false;
  }
  static fromList(entries: Array<[string, Uint8Array]>): Fields {
    const fields = new Fields();
    for (const [name, value] of entries) {
      checkName(name);
      checkValue(value);
      fields.entriesList.push([name.toLowerCase(), value]);
    }
    return fields;
  }
  /** An immutable fields resource over host-supplied pairs. */
  static frozen(entries: Array<[string, Uint8Array]>): Fields {
    const fields = new Fields();
    fields.entriesList = entries;
    fields.immutable = true;
    return fields;
  }
  get(name: string): Uint8Array[] {
    const key = name.toLowerCase();
    return this.entriesList.filter(([n]) => n === key).map(([, v]) => v);
  }
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.entriesList.some(([n]) => n === key);
  }
  set(name: string, values: Uint8Array[]): void {
    this.mutable();
    checkName(name);
    values.forEach(checkValue);
    const key = name.toLowerCase();
    this.entriesList = this.entriesList.filter(([n]) => n !== key);
    for (const v of values) this.entriesList.push([key, v]);
  }
  delete(name: string): void {
    this.mutable();
    checkName(name);
    const key = name.toLowerCase();
    this.entriesList = this.entriesList.filter(([n]) => n !== key);
  }
  append(name: string, value: Uint8Array): void {
    this.mutable();
    checkName(name);
    checkValue(value);
    this.entriesList.push([name.toLowerCase(), value]);
  }
  entries(): Array<[string, Uint8Array]> {
    return this.entriesList.map(([n, v]) => [n, v]);
  }
  clone(): Fields {
    const copy = new Fields();
    copy.entriesList = this.entriesList.slice();
    return copy;
  }
  private mutable(): void {
    if (this.immutable) throw failure({ tag: 'immutable' });
  }
}

/** The parts of an inbound request the worker hands to the guest. */
export interface InboundRequestHead {
  method: string;
  url: string;
  headers: Array<[string, string]>;
}

const encoder = new TextEncoder();

/** wasi:http `incoming-request`. */
export class IncomingRequest {
  private readonly head: InboundRequestHead;
  private readonly parsed: URL;
  private readonly body: IncomingBody;
  private consumed = false;
  constructor(head: InboundRequestHead, body: ByteSource, blocker: Blocker) {
    this.head = head;
    this.parsed = new URL(head.url);
    this.body = new IncomingBody(body, blocker);
  }
  method(): HttpMethod {
    return methodFromString(this.head.method);
  }
  pathWithQuery(): string | undefined {
    return this.parsed.pathname + this.parsed.search;
  }
  scheme(): HttpScheme | undefined {
    const proto = this.parsed.protocol;
    if (proto === 'http:') return { tag: 'HTTP' };
    if (proto === 'https:') return { tag: 'HTTPS' };
    return { tag: 'other', val: proto.slice(0, -1) };
  }
  authority(): string | undefined {
    return this.parsed.host;
  }
  headers(): Fields {
    return Fields.frozen(this.head.headers.map(([n, v]) => [n.toLowerCase(), encoder.encode(v)]));
  }
  consume(): IncomingBody {
    if (this.consumed) throw failure(undefined);
    this.consumed = true;
    return this.body;
  }
}

/** wasi:http `future-trailers`: inbound requests never carry trailers here. */
export class FutureTrailers {
  subscribe(): Pollable {
    return new Pollable();
  }
  get(): WitResult<WitResult<Fields | undefined, HttpErrorCode>, undefined> | undefined {
    return { tag: 'ok', val: { tag: 'ok', val: undefined } };
  }
}

/** wasi:http `incoming-body`. */
export class IncomingBody {
  private readonly source: ByteSource;
  private readonly blocker: Blocker;
  private taken = false;
  constructor(source: ByteSource, blocker: Blocker) {
    this.source = source;
    this.blocker = blocker;
  }
  stream(): InputStream {
    if (this.taken) throw failure(undefined);
    this.taken = true;
    return new InputStream(this.source, this.blocker);
  }
  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

/** Receives the guest's response as it is produced. */
export interface ResponseSink {
  head(status: number, headers: Array<[string, Uint8Array]>): void;
  chunk(bytes: Uint8Array): void;
  end(): void;
  fail(error: HttpErrorCode): void;
}

/** Buffers body bytes written before the response is handed to the outparam, then forwards them. */
class BodyPipe implements ByteSink {
  private pending: Uint8Array[] | undefined = [];
  private ended = false;
  sink: ResponseSink | undefined;
  write(bytes: Uint8Array): void {
    if (this.sink === undefined) this.pending?.push(bytes);
    else this.sink.chunk(bytes);
  }
  close(): void {
    this.ended = true;
    this.sink?.end();
  }
  attach(sink: ResponseSink): void {
    this.sink = sink;
    for (const chunk of this.pending ?? []) sink.chunk(chunk);
    this.pending = undefined;
    if (this.ended) sink.end();
  }
}

/** wasi:http `outgoing-body`. */
export class OutgoingBody {
  readonly pipe: BodyPipe = new BodyPipe();
  private stream: OutputStream | undefined;
  write(): OutputStream {
    if (this.stream !== undefined) throw failure(undefined);
    this.stream = new OutputStream(this.pipe);
    return this.stream;
  }
  static finish(body: OutgoingBody, _trailers: Fields | undefined): void {
    if (body.stream === undefined) body.pipe.close();
    else body.stream.markClosed();
  }
}

/** wasi:http `outgoing-response`. */
export class OutgoingResponse {
  status = 200;
  readonly fields: Fields;
  readonly outBody: OutgoingBody = new OutgoingBody();
  private bodyTaken = false;
  constructor(headers: Fields) {
    this.fields = headers;
    headers.immutable = true;
  }
  statusCode(): number {
    return this.status;
  }
  setStatusCode(status: number): void {
    if (status < 100 || status > 599) throw failure(undefined);
    this.status = status;
  }
  headers(): Fields {
    return this.fields;
  }
  body(): OutgoingBody {
    if (this.bodyTaken) throw failure(undefined);
    this.bodyTaken = true;
    return this.outBody;
  }
}

/** wasi:http `response-outparam`: the guest hands its response (or an error) to the host through it. */
export class ResponseOutparam {
  readonly sink: ResponseSink;
  used = false;
  constructor(sink: ResponseSink) {
    this.sink = sink;
  }
  static set(param: ResponseOutparam, response: WitResult<OutgoingResponse, HttpErrorCode>): void {
    if (param.used) throw new Error('response-outparam.set called twice');
    param.used = true;
    if (response.tag === 'err') {
      param.sink.fail(response.val);
      return;
    }
    const res = response.val;
    param.sink.head(res.status, res.fields.entriesList);
    res.outBody.pipe.attach(param.sink);
  }
}

/** wasi:http `request-options` (kept for outbound requests, which the capabilities work adds). */
export class RequestOptions {
  private connect: bigint | undefined;
  private firstByte: bigint | undefined;
  private betweenBytes: bigint | undefined;
  connectTimeout(): bigint | undefined {
    return this.connect;
  }
  setConnectTimeout(d: bigint | undefined): void {
    this.connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this.firstByte;
  }
  setFirstByteTimeout(d: bigint | undefined): void {
    this.firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this.betweenBytes;
  }
  setBetweenBytesTimeout(d: bigint | undefined): void {
    this.betweenBytes = d;
  }
}

/** wasi:http `outgoing-request`: buildable by the guest; sending it is denied until outbound HTTP is granted. */
export class OutgoingRequest {
  private readonly fields: Fields;
  private m: HttpMethod = { tag: 'get' };
  private path: string | undefined;
  private sch: HttpScheme | undefined;
  private auth: string | undefined;
  private readonly outBody = new OutgoingBody();
  private bodyTaken = false;
  constructor(headers: Fields) {
    this.fields = headers;
    headers.immutable = true;
  }
  body(): OutgoingBody {
    if (this.bodyTaken) throw failure(undefined);
    this.bodyTaken = true;
    return this.outBody;
  }
  method(): HttpMethod {
    return this.m;
  }
  setMethod(method: HttpMethod): void {
    this.m = method;
  }
  pathWithQuery(): string | undefined {
    return this.path;
  }
  setPathWithQuery(path: string | undefined): void {
    this.path = path;
  }
  scheme(): HttpScheme | undefined {
    return this.sch;
  }
  setScheme(scheme: HttpScheme | undefined): void {
    this.sch = scheme;
  }
  authority(): string | undefined {
    return this.auth;
  }
  setAuthority(authority: string | undefined): void {
    this.auth = authority;
  }
  headers(): Fields {
    return this.fields;
  }
}

/** wasi:http `incoming-response` (outbound responses; none exist until outbound HTTP is granted). */
export class IncomingResponse {}
/** wasi:http `future-incoming-response`. */
export class FutureIncomingResponse {}

/** wasi:http/types as an import object for jco's glue. */
export function httpTypesInterface(): Record<string, unknown> {
  return {
    Fields,
    FutureIncomingResponse,
    FutureTrailers,
    IncomingBody,
    IncomingRequest,
    IncomingResponse,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    RequestOptions,
    ResponseOutparam,
    httpErrorCode: (_err: IoError): HttpErrorCode | undefined => undefined,
  };
}

/** wasi:http/outgoing-handler with no outbound hosts allowed: every request is denied. */
export function deniedOutgoingHandlerInterface(): Record<string, unknown> {
  return {
    handle: (_request: OutgoingRequest, _options: RequestOptions | undefined): never => {
      throw failure({ tag: 'HTTP-request-denied' });
    },
  };
}
