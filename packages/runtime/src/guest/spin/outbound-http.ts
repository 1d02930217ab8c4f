import { Fields, IncomingBody, OutgoingBody, httpTypesInterface } from '../wasi/http.js';
import type { HttpMethod, HttpScheme, OutgoingRequest, RequestOptions } from '../wasi/http.js';
import { IoError, Pollable, type Blocker, type ByteSource, type PollSource } from '../wasi/io.js';
import { failure } from '../wasi/result.js';
import type { WasiHttpErrorCode } from '../../errors.js';
import { splitUri } from '../../services/outbound-policy.js';
import { OUTBOUND_HTTP_METHOD, outboundCallArgs, type OutboundPush, type OutboundResult, type OutboundUpload } from '../../services/outbound-service.js';
import type { BridgeCall, BridgeEvent, SyncBridge } from '../../channel/sync-bridge.js';
import type { OutboundRequestHead } from '../../services/outbound-http.js';

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
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private error: WasiHttpErrorCode | undefined;
  private unacked = 0;
  readonly poll: PollSource;
  constructor(call: BridgeCall, blocker: Blocker) {
    this.call = call;
    this.blocker = blocker;
    this.poll = bridgedPollSource(() => this.available());
  }
  private settle(outcome: OutboundResult): void {
    this.ended = true;
    if (!outcome.ok) this.error = outcome.errorCode;
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
  private readonly source: ResponseBodySource;
  private readonly blocker: Blocker;
  private consumed = false;
  constructor(status: number, headers: Array<[string, string]>, source: ResponseBodySource, blocker: Blocker) {
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
}

type FutureOutcome = { tag: 'ok'; val: IncomingResponse } | { tag: 'err'; val: WasiHttpErrorCode };

/** wasi:http `future-incoming-response`. */
export class FutureIncomingResponse {
  private readonly call: BridgeCall | undefined;
  private readonly blocker: Blocker;
  private outcome: FutureOutcome | undefined;
  private taken = false;
  constructor(call: BridgeCall | undefined, blocker: Blocker, immediate?: FutureOutcome) {
    this.call = call;
    this.blocker = blocker;
    this.outcome = immediate;
  }
  /** Resolves from the events that have arrived, without blocking. */
  private advance(): boolean {
    if (this.outcome !== undefined) return true;
    const call = this.call;
    if (call === undefined) return false;
    let event: BridgeEvent | undefined;
    while (this.outcome === undefined && (event = call.take()) !== undefined) this.apply(call, event);
    return this.outcome !== undefined;
  }
  private apply(call: BridgeCall, event: BridgeEvent): void {
    if (event.kind === 'push') {
      const data = event.data as OutboundPush;
      if ('head' in data) {
        const source = new ResponseBodySource(call, this.blocker);
        this.outcome = { tag: 'ok', val: new IncomingResponse(data.head.status, data.head.headers, source, this.blocker) };
      }
    } else if (event.kind === 'done') {
      const result = event.value as OutboundResult;
      this.outcome = { tag: 'err', val: result.ok ? { tag: 'internal-error', val: 'no response head' } : result.errorCode };
    } else {
      this.outcome = { tag: 'err', val: { tag: 'internal-error', val: event.error.message } };
    }
  }
  subscribe(): Pollable {
    return new Pollable(bridgedPollSource(() => this.advance()), this.blocker);
  }
  get(): { tag: 'ok'; val: FutureOutcome } | { tag: 'err'; val: undefined } | undefined {
    if (!this.advance()) return undefined;
    if (this.taken) return { tag: 'err', val: undefined };
    this.taken = true;
    return { tag: 'ok', val: this.outcome as FutureOutcome };
  }
  /** Blocks until resolved (fermyon:spin/http's synchronous send). */
  wait(): FutureOutcome {
    while (!this.advance()) this.blocker.wait(Infinity);
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
  const open = new Set<BridgeCall>();

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
    return new FutureIncomingResponse(call, blocker);
  };

  const sendRequest = (request: SpinRequest): SpinResponse => {
    const parts = splitUri(request.uri);
    if (parts === undefined) throw failure('invalid-url');
    const head: OutboundRequestHead = { componentId, method: request.method.toUpperCase(), headers: request.headers, ...parts };
    const hasBody = request.body !== undefined;
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
    dispose() {
      for (const call of open) call.cancel();
      open.clear();
    },
  };
}

