import { Fields, IncomingBody, OutgoingBody, httpTypesInterface } from '../wasi/http.js';
import type { HttpMethod, HttpScheme, OutgoingRequest, RequestOptions } from '../wasi/http.js';
import { IoError, Pollable, type Blocker, type ByteSource, type PollSource } from '../wasi/io.js';
import { failure } from '../wasi/result.js';
import type { WasiHttpErrorCode } from '../../errors.js';
import { splitUri } from '../../services/outbound-policy.js';
import { OUTBOUND_HTTP_METHOD, outboundCallArgs, type OutboundPush, type OutboundResult, type OutboundUpload } from '../../services/outbound-service.js';
import type { BridgeCall, BridgeEvent, SyncBridge } from '../../channel/sync-bridge.js';
import type { OutboundRequestHead } from '../../services/outbound-http.js';
import { ABORTED, LaneExchange, abandonLaneOpening } from './http-lane.js';
import { DISPOSE } from './resource-dispose.js';

/** Options of {@link createOutboundHost}. */
export interface OutboundHostOptions {
  /** The worker's bridge to the thread that does the I/O. */
  bridge: SyncBridge;
  /** The component whose instance this is (its allow-list is applied on the serving side). */
  componentId: string;
}

/** The outbound HTTP imports of one instance, in jco's import shape. */
export interface OutboundHost {
  /** Replaces `wasi:http/types` (the engine's, with real outgoing responses). */
  wasiHttpTypes: Record<string, unknown>;
  /** `wasi:http/outgoing-handler`: `handle(request, options) → future-incoming-response`. */
  wasiOutgoingHandler: { handle(request: OutgoingRequest, options: RequestOptions | undefined): FutureIncomingResponse };
  /** `fermyon:spin/http`: `send-request(request) → result<response, http-error>`. */
  spinHttp: { sendRequest(request: SpinRequest): SpinResponse };
  /** Requests of this instance still open: not yet answered to the end of their body, failed or dropped. */
  openRequests(): number;
  /** Cancels the instance's open requests (call when the instance is dropped). */
  dispose(): void;
}

/** fermyon:spin/http-types `request` as jco lifts it. */
export interface SpinRequest {
  method: string;
  uri: string;
  headers: Array<[string, string]>;
  params?: Array<[string, string]>;
  body: Uint8Array | undefined;
}
/** fermyon:spin/http-types `response` as jco lowers it. */
export interface SpinResponse {
  status: number;
  headers: Array<[string, string]> | undefined;
  body: Uint8Array | undefined;
}

/** A wasi:io error that carries the wasi:http error code (read back with `http-error-code`). */
export class OutboundIoError extends IoError {
  readonly httpCode: WasiHttpErrorCode;
  constructor(code: WasiHttpErrorCode) {
    super(`outbound HTTP failed: ${code.tag}`);
    this.httpCode = code;
  }
}

const ACK_BYTES = 64 * 1024;
/**
 * Pollables over bridged results say they may be ready within this time, so that whatever
 * blocker a mixed `poll` picks (the engine's waits on its own signal) sleeps no longer than it.
 */
const RECHECK_NS = 10_000_000n;

/** A poll source fed from another thread, re-checked at least every {@link RECHECK_NS}. */
function bridgedPollSource(ready: () => boolean): PollSource {
  return {
    ready,
    external: true,
    get readyAt(): bigint {
      return process.hrtime.bigint() + RECHECK_NS;
    },
  };
}
const latin1 = new TextDecoder('latin1');

/** Reads the body of an outbound response, pushed over the bridge, and acknowledges what the guest reads. */
class ResponseBodySource implements ByteSource {
  private readonly call: BridgeCall;
  private readonly blocker: Blocker;
  private readonly onEnd: () => void;
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private error: WasiHttpErrorCode | undefined;
  private unacked = 0;
  readonly poll: PollSource;
  constructor(call: BridgeCall, blocker: Blocker, onEnd: () => void) {
    this.call = call;
    this.blocker = blocker;
    this.onEnd = onEnd;
    this.poll = bridgedPollSource(() => this.available());
  }
  private settle(outcome: OutboundResult): void {
    this.ended = true;
    if (!outcome.ok) this.error = outcome.errorCode;
    this.onEnd();
  }
  private pump(): void {
    for (;;) {
      if (this.ended) return;
      const event = this.call.take();
      if (event === undefined) return;
      if (event.kind === 'push') {
        const data = event.data as OutboundPush;
        if ('chunk' in data) this.queue.push(data.chunk);
      } else if (event.kind === 'done') this.settle(event.value as OutboundResult);
      else {
        this.ended = true;
        this.error = { tag: 'internal-error', val: event.error.message };
        this.onEnd();
      }
    }
  }
  private available(): boolean {
    this.pump();
    return this.queue.length > 0 || this.ended;
  }
  read(max: number): Uint8Array | undefined {
    this.pump();
    const head = this.queue[0];
    if (head === undefined) {
      if (!this.ended) return new Uint8Array(0);
      if (this.error !== undefined) throw failure({ tag: 'last-operation-failed', val: new OutboundIoError(this.error) });
      return undefined;
    }
    let chunk: Uint8Array;
    if (head.length <= max) {
      this.queue.shift();
      chunk = head;
    } else {
      this.queue[0] = head.subarray(max);
      chunk = head.subarray(0, max);
    }
    this.unacked += chunk.length;
    if (this.unacked >= ACK_BYTES || this.queue.length === 0) {
      this.call.send({ ack: this.unacked } satisfies OutboundUpload);
      this.unacked = 0;
    }
    return chunk;
  }
  waitReadable(): void {
    while (!this.available()) this.blocker.wait(Infinity);
  }
}

/** wasi:http `incoming-response`: an outbound request's response. */
export class IncomingResponse {
  private readonly statusCode: number;
  private readonly fields: Fields;
  private readonly source: ByteSource;
  private readonly blocker: Blocker;
  private consumed = false;
  constructor(status: number, headers: Array<[string, string]>, source: ByteSource, blocker: Blocker) {
    this.statusCode = status;
    this.fields = Fields.frozen(headers.map(([n, v]) => [n.toLowerCase(), Buffer.from(v, 'latin1')]));
    this.source = source;
    this.blocker = blocker;
  }
  status(): number {
    return this.statusCode;
  }
  headers(): Fields {
    return this.fields;
  }
  consume(): IncomingBody {
    if (this.consumed) throw failure(undefined);
    this.consumed = true;
    return new IncomingBody(this.source, this.blocker);
  }
  [DISPOSE](): void {
    if (!this.consumed) this.source.drop?.();
  }
}

type FutureOutcome = { tag: 'ok'; val: IncomingResponse } | { tag: 'err'; val: WasiHttpErrorCode };

/** Where a future's outcome comes from: a bridge call's events, or a lent connection (`http-lane.ts`). */
interface PendingResponse {
  /** The outcome once it is here, without blocking. */
  take(): FutureOutcome | undefined;
  /** Its readiness, and how a poll on it blocks. */
  readonly poll: PollSource;
  readonly blocker: Blocker;
  /** The future was dropped before its outcome was taken. */
  drop?(): void;
}

/** A response that comes as the events of a bridge call. */
class BridgedResponse implements PendingResponse {
  private readonly call: BridgeCall;
  readonly blocker: Blocker;
  readonly poll: PollSource;
  private outcome: FutureOutcome | undefined;
  /** The call has ended (its result arrived): nothing of it is left to cancel. */
  private readonly onEnd: () => void;
  constructor(call: BridgeCall, blocker: Blocker, onEnd: () => void) {
    this.call = call;
    this.blocker = blocker;
    this.onEnd = onEnd;
    this.poll = bridgedPollSource(() => this.take() !== undefined);
  }
  take(): FutureOutcome | undefined {
    let event: BridgeEvent | undefined;
    while (this.outcome === undefined && (event = this.call.take()) !== undefined) this.apply(event);
    // Cancelled with its request scope (a future kept past it under `--instance-reuse`): nothing
    // more will come, so a poll on it must not wait for the deadline.
    if (this.outcome === undefined && this.call.cancelled()) this.outcome = { tag: 'err', val: ABORTED };
    return this.outcome;
  }
  private apply(event: BridgeEvent): void {
    if (event.kind === 'push') {
      const data = event.data as OutboundPush;
      if ('head' in data) {
        const source = new ResponseBodySource(this.call, this.blocker, this.onEnd);
        this.outcome = { tag: 'ok', val: new IncomingResponse(data.head.status, data.head.headers, source, this.blocker) };
      }
    } else if (event.kind === 'done') {
      const result = event.value as OutboundResult;
      this.outcome = { tag: 'err', val: result.ok ? { tag: 'internal-error', val: 'no response head' } : result.errorCode };
      this.onEnd();
    } else {
      this.outcome = { tag: 'err', val: { tag: 'internal-error', val: event.error.message } };
      this.onEnd();
    }
  }
}

/** A response read from a lent connection by this worker: a poll on it waits on the socket. */
class LaneResponse implements PendingResponse, ByteSource {
  private readonly exchange: LaneExchange;
  readonly blocker: Blocker;
  readonly poll: PollSource;
  /** The body's readiness. */
  private readonly bodyPoll: PollSource;
  private outcome: FutureOutcome | undefined;
  constructor(exchange: LaneExchange) {
    this.exchange = exchange;
    this.blocker = { wait: (ms) => exchange.wait(ms) };
    this.poll = bridgedPollSource(() => this.take() !== undefined);
    this.bodyPoll = bridgedPollSource(() => exchange.readable());
  }
  take(): FutureOutcome | undefined {
    if (this.outcome !== undefined) return this.outcome;
    const head = this.exchange.response(0);
    if (head === undefined) return undefined;
    const body: ByteSource = { read: (max) => this.read(max), waitReadable: () => this.waitReadable(), poll: this.bodyPoll, drop: () => this.exchange.abandon() };
    return (this.outcome = head.ok ? { tag: 'ok', val: new IncomingResponse(head.status, head.headers, body, this.blocker) } : { tag: 'err', val: head.errorCode });
  }
  read(max: number): Uint8Array | undefined {
    try {
      return this.exchange.read(max);
    } catch (code) {
      throw failure({ tag: 'last-operation-failed', val: new OutboundIoError(code as WasiHttpErrorCode) });
    }
  }
  waitReadable(): void {
    while (!this.exchange.readable()) this.exchange.wait(Infinity);
  }
  /** The future was dropped before its response was taken: nobody will read it. */
  drop(): void {
    this.exchange.abandon();
  }
}

/** wasi:http `future-incoming-response`. */
export class FutureIncomingResponse {
  private readonly pending: PendingResponse | undefined;
  private readonly blocker: Blocker;
  private outcome: FutureOutcome | undefined;
  private taken = false;
  constructor(pending: PendingResponse | undefined, blocker: Blocker, immediate?: FutureOutcome) {
    this.pending = pending;
    this.blocker = blocker;
    this.outcome = immediate;
  }
  /** Resolves from what has arrived, without blocking. */
  private advance(): boolean {
    this.outcome ??= this.pending?.take();
    return this.outcome !== undefined;
  }
  subscribe(): Pollable {
    return this.pending === undefined ? new Pollable(undefined, this.blocker) : new Pollable(this.pending.poll, this.pending.blocker);
  }
  get(): { tag: 'ok'; val: FutureOutcome } | { tag: 'err'; val: undefined } | undefined {
    if (!this.advance()) return undefined;
    if (this.taken) return { tag: 'err', val: undefined };
    this.taken = true;
    return { tag: 'ok', val: this.outcome as FutureOutcome };
  }
  [DISPOSE](): void {
    if (!this.taken) this.pending?.drop?.();
  }
  /** Blocks until resolved (fermyon:spin/http's synchronous send). */
  wait(): FutureOutcome {
    while (!this.advance()) (this.pending?.blocker ?? this.blocker).wait(Infinity);
    return this.outcome as FutureOutcome;
  }
}

function methodName(method: HttpMethod): string {
  return method.tag === 'other' ? (method.val ?? 'GET') : method.tag.toUpperCase();
}

function schemeName(scheme: HttpScheme | undefined): string | undefined {
  if (scheme === undefined) return undefined;
  if (scheme.tag === 'HTTP') return 'http';
  if (scheme.tag === 'HTTPS') return 'https';
  return scheme.val?.toLowerCase();
}

function durationMs(ns: bigint | undefined): number | undefined {
  return ns === undefined ? undefined : Math.max(1, Math.ceil(Number(ns) / 1e6));
}

/** The body of a guest-built request: the engine keeps it on the request object. */
interface RequestInternals {
  outBody: OutgoingBody;
  bodyTaken: boolean;
}

/**
 * Outbound HTTP host implementations for one instance: wasi:http/outgoing-handler and
 * fermyon:spin/http. Every request goes over the blocking bridge to the serving side, which
 * applies the component's policy before any connection.
 */
export function createOutboundHost(options: OutboundHostOptions): OutboundHost {
  const { bridge, componentId } = options;
  const blocker: Blocker = { wait: (ms) => bridge.wait(ms) };
  // Bridge calls not yet ended: each leaves when its result arrives, to be cancelled otherwise.
  const open = new Set<BridgeCall>();

  // Exchanges on lent connections not yet settled: each leaves when its response is read to its
  // end, fails or is dropped (`LaneExchange.start`), so a long request making many calls holds
  // only the open ones.
  const exchanges = new Set<LaneExchange>();

  // The request on a connection lent to this worker: plain `http:` to a named origin only; undefined when it goes as a bridge call.
  const lentExchange = (head: OutboundRequestHead, body: Uint8Array | boolean): LaneExchange | Extract<OutboundResult, { ok: false }> | undefined => {
    if (head.scheme !== 'http' || head.authority === undefined || head.authority === '') return undefined;
    const started = LaneExchange.start(bridge, {
      componentId,
      method: head.method,
      authority: head.authority,
      pathWithQuery: head.pathWithQuery,
      headers: head.headers,
      body,
      connectTimeoutMs: head.connectTimeoutMs,
      firstByteTimeoutMs: head.firstByteTimeoutMs,
      betweenBytesTimeoutMs: head.betweenBytesTimeoutMs,
    }, exchanges);
    return started;
  };

  // fermyon:spin/http's whole response, read from a lent connection.
  const spinResponse = (exchange: LaneExchange): SpinResponse => {
    try {
      let head = exchange.response(0);
      while (head === undefined) head = exchange.response(Infinity);
      if (!head.ok) throw failure('request-error');
      const chunks: Uint8Array[] = [];
      for (;;) {
        let chunk: Uint8Array | undefined;
        try {
          chunk = exchange.read(1 << 20);
        } catch {
          throw failure('request-error');
        }
        if (chunk === undefined) break;
        if (chunk.length > 0) chunks.push(chunk);
        else exchange.wait(Infinity);
      }
      const body = Buffer.concat(chunks);
      return { status: head.status, headers: head.headers, body: body.length === 0 ? undefined : new Uint8Array(body) };
    } finally {
      exchange.abandon();
    }
  };

  const start = (head: OutboundRequestHead, hasBody: boolean): BridgeCall => {
    const call = bridge.start(OUTBOUND_HTTP_METHOD, outboundCallArgs(head, hasBody));
    open.add(call);
    return call;
  };

  const handle = (request: OutgoingRequest, requestOptions: RequestOptions | undefined): FutureIncomingResponse => {
    const internals = request as unknown as RequestInternals;
    if (!(internals.outBody instanceof OutgoingBody) || typeof internals.bodyTaken !== 'boolean') {
      // The engine's outgoing-request keeps its body in these fields; fail loudly if that changes.
      throw new Error('wasi:http outgoing-request has no readable body state (engine/host/http.ts changed?)');
    }
    const head: OutboundRequestHead = {
      componentId,
      method: methodName(request.method()),
      scheme: schemeName(request.scheme()),
      authority: request.authority(),
      pathWithQuery: request.pathWithQuery(),
      headers: request.headers().entries().map(([n, v]) => [n, latin1.decode(v)]),
      connectTimeoutMs: durationMs(requestOptions?.connectTimeout()),
      firstByteTimeoutMs: durationMs(requestOptions?.firstByteTimeout()),
      betweenBytesTimeoutMs: durationMs(requestOptions?.betweenBytesTimeout()),
    };
    const hasBody = internals.bodyTaken === true;
    const lent = lentExchange(head, hasBody);
    if (lent !== undefined) {
      if (!(lent instanceof LaneExchange)) return new FutureIncomingResponse(undefined, blocker, { tag: 'err', val: lent.errorCode });
      if (hasBody) internals.outBody.pipe.attach({ head() {}, fail() {}, chunk: (bytes) => lent.chunk(bytes), end: () => lent.end() });
      return new FutureIncomingResponse(new LaneResponse(lent), blocker);
    }
    const call = start(head, hasBody);
    if (hasBody) {
      // Chunks the guest wrote before `handle` are flushed now, later ones as they are written.
      internals.outBody.pipe.attach({
        head() {},
        fail() {},
        chunk: (bytes) => call.send({ chunk: bytes } satisfies OutboundUpload),
        end: () => call.send({ end: true } satisfies OutboundUpload),
      });
    }
    return new FutureIncomingResponse(new BridgedResponse(call, blocker, () => open.delete(call)), blocker);
  };

  const sendRequest = (request: SpinRequest): SpinResponse => {
    const parts = splitUri(request.uri);
    if (parts === undefined) throw failure('invalid-url');
    const head: OutboundRequestHead = { componentId, method: request.method.toUpperCase(), headers: request.headers, ...parts };
    const hasBody = request.body !== undefined;
    const lent = lentExchange(head, request.body ?? false);
    if (lent !== undefined) {
      if (!(lent instanceof LaneExchange)) throw failure(lent.spinError);
      return spinResponse(lent);
    }
    const call = start(head, hasBody);
    try {
      if (request.body !== undefined) {
        call.send({ chunk: request.body } satisfies OutboundUpload);
        call.send({ end: true } satisfies OutboundUpload);
      }
      let status = 0;
      let headers: Array<[string, string]> = [];
      const chunks: Uint8Array[] = [];
      for (;;) {
        const event = call.next();
        if (event === undefined) continue;
        if (event.kind === 'push') {
          const data = event.data as OutboundPush;
          if ('head' in data) ({ status, headers } = data.head);
          else {
            chunks.push(data.chunk);
            call.send({ ack: data.chunk.length } satisfies OutboundUpload);
          }
          continue;
        }
        if (event.kind === 'error') throw failure('runtime-error');
        const result = event.value as OutboundResult;
        if (!result.ok) throw failure(result.spinError);
        const body = Buffer.concat(chunks);
        return { status, headers, body: body.length === 0 ? undefined : new Uint8Array(body) };
      }
    } finally {
      open.delete(call);
    }
  };

  return {
    wasiHttpTypes: {
      ...httpTypesInterface(),
      FutureIncomingResponse,
      IncomingResponse,
      httpErrorCode: (err: IoError): WasiHttpErrorCode | undefined => (err instanceof OutboundIoError ? err.httpCode : undefined),
    },
    wasiOutgoingHandler: { handle },
    spinHttp: { sendRequest },
    openRequests: () => open.size + exchanges.size,
    dispose() {
      for (const call of open) call.cancel();
      open.clear();
      // A response not read to its end leaves its connection unusable: it is closed.
      for (const exchange of [...exchanges]) exchange.abandon();
      abandonLaneOpening(bridge);
    },
  };
}

