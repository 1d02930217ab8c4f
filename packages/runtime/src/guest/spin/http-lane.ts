/**
 * Worker: outbound HTTP/1.1 requests on plain `http:` connections the main thread lends this
 * worker (`services/outbound-service.ts`, `outboundLendHandler`), after the component's
 * allow-list and `block_networks` allowed the origin. The worker writes each request and reads
 * its response itself (`http1-response.ts`), so a request wakes only the upstream and this
 * worker, not the main thread. Connections are kept per worker, component and origin while
 * their responses are read to the end and neither side said close.
 */
import type { BridgeCall, SyncBridge } from '../../channel/sync-bridge.js';
import type { WasiHttpErrorCode } from '../../errors.js';
import { DROPPED_HEADERS } from '../../services/outbound-policy.js';
import { OUTBOUND_LEND_METHOD, type OutboundLendArgs, type OutboundLendGrant, type OutboundLendResult } from '../../services/outbound-service.js';
import { BodyDecoder, FIELD_VALUE, Http1ParseError, TOKEN, parseResponseHead, responseFraming } from './http1-response.js';
import { LentSocket } from './lent-socket.js';

const DEFAULT_TIMEOUT_MS = 600_000;
/** Most lent connections one worker holds (idle or busy); past it, requests go as bridge calls. */
const MAX_LANES = 16;
/** How long one wait on the socket lasts before timeouts and the lending's end are looked at. */
const WAIT_SLICE_MS = 25;
const LOST = 'the upstream closed the connection';
// A request target in origin form: no spaces, controls or fragment.
const PATH = /^\/[\x21-\x22\x24-\x7e\x80-\xff]*$/;
/** Methods whose request without a body still says `content-length: 0` (as undici does). */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH', 'QUERY']);

/** A request as the guest made it. */
export interface LaneRequest {
  componentId: string;
  method: string;
  authority: string;
  pathWithQuery: string | undefined;
  headers: ReadonlyArray<readonly [string, string]>;
  /** The body's bytes when known whole (fermyon:spin/http), `true` when streamed later, `false` for none. */
  body: Uint8Array | boolean;
  connectTimeoutMs: number | undefined;
  firstByteTimeoutMs: number | undefined;
  betweenBytesTimeoutMs: number | undefined;
}

/** How the request's body is framed on the wire. */
type RequestFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

/**
 * The request head without its Host line (`start`, then `fields`), or undefined when the
 * request is one the lane does not write (a method, target or header undici would refuse, a
 * length it would check): it then goes through the main thread's client, which answers it
 * exactly as before.
 */
export function encodeRequestHead(request: LaneRequest): { start: string; fields: string; framing: RequestFraming } | undefined {
  const { method } = request;
  if (!TOKEN.test(method) || method === 'CONNECT') return undefined;
  const path = request.pathWithQuery === undefined || request.pathWithQuery === '' ? '/' : request.pathWithQuery;
  if (!PATH.test(path)) return undefined;
  let fields = '';
  let length: number | undefined;
  for (const [name, value] of request.headers) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return undefined;
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower)) continue;
    if (lower === 'content-length') {
      // One length, and the body it describes is checked as it is written.
      if (length !== undefined || !/^\d{1,15}$/.test(value.trim()) || request.body === false) return undefined;
      length = Number(value.trim());
      continue;
    }
    fields += `${name}: ${value}\r\n`;
  }
  let framing: RequestFraming;
  if (request.body instanceof Uint8Array) {
    if (length !== undefined && length !== request.body.length) return undefined;
    framing = { kind: 'length', length: request.body.length };
  } else if (request.body === true) framing = length === undefined ? { kind: 'chunked' } : { kind: 'length', length };
  else framing = PAYLOAD_METHODS.has(method) ? { kind: 'length', length: 0 } : { kind: 'none' };
  if (framing.kind === 'chunked') fields += 'transfer-encoding: chunked\r\n';
  else if (framing.kind === 'length') fields += `content-length: ${framing.length}\r\n`;
  return { start: `${method} ${path} HTTP/1.1\r\n`, fields, framing };
}

/** One lent connection of this worker. */
class HttpLane extends LentSocket {
  readonly key: string;
  readonly host: string;
  /** Bytes read past what the current response has used. */
  buffer: Buffer = Buffer.alloc(0);

  constructor(call: BridgeCall, grant: OutboundLendGrant, key: string) {
    super(call, grant.fd, grant.guard, 'the lent connection was closed');
    this.key = key;
    this.host = grant.host;
  }

  protected releaseClean(): object | undefined {
    return undefined; // never handed back: the main thread closes it when the lending ends
  }

  start(): boolean {
    return this.begin('a response of an interrupted request is still outstanding') === undefined;
  }

  /** The request is written and its response read to its end. */
  finish(): void {
    this.inFlight = false;
  }

  send(bytes: Uint8Array): boolean {
    return this.write(bytes);
  }

  /** Bytes the upstream sent within `waitMs`; undefined when none (then {@link lost} or {@link peerClosed} may say why). */
  receive(waitMs: number): Buffer | undefined {
    return this.readOnce(LOST, waitMs);
  }

  get lost(): string | undefined {
    return this.failure;
  }

  get peerClosed(): boolean {
    return this.closedByPeer;
  }

  /** Nothing may follow the current exchange on this connection (a write went through the main thread). */
  get tainted(): boolean {
    return this.handedOver;
  }

  /**
   * Whether an idle connection can carry another request: the upstream has neither closed it
   * nor sent anything unasked (a look without waiting).
   */
  idleCheck(): boolean {
    if (!this.usable || this.buffer.length > 0) return false;
    const stray = this.receive(0);
    return stray === undefined && this.failure === undefined;
  }
}

/** The lent connections of one worker. */
class LanePool {
  private readonly bridge: SyncBridge;
  private readonly idle = new Map<string, HttpLane[]>();
  /** Origins whose requests go as bridge calls (the main thread lends none for them). */
  private readonly unlendable = new Set<string>();
  private lanes = 0;
  /** The lend call {@link take} waits on. */
  private opening: BridgeCall | undefined;

  constructor(bridge: SyncBridge) {
    this.bridge = bridge;
  }

  /**
   * A connection for `request`: an idle one kept for its origin, or a new one. Undefined when
   * the request must go as a bridge call; a failure when the origin was refused or the
   * connection could not be made (the request fails with it, as the call would have).
   */
  take(request: LaneRequest): HttpLane | { failed: Extract<OutboundLendResult, { ok: false }> } | undefined {
    const key = `${request.componentId}\n${request.authority}\n${request.connectTimeoutMs ?? ''}`;
    if (this.unlendable.has(key)) return undefined;
    const kept = this.idle.get(key);
    while (kept !== undefined && kept.length > 0) {
      const lane = kept.pop() as HttpLane;
      if (lane.idleCheck() && lane.start()) return lane;
      this.drop(lane);
    }
    if (this.lanes >= MAX_LANES) return undefined;
    const call = this.bridge.start(OUTBOUND_LEND_METHOD, [request.componentId, request.authority, request.connectTimeoutMs] satisfies OutboundLendArgs);
    this.opening = call;
    const first = call.next();
    this.opening = undefined;
    if (first?.kind === 'push') {
      const lane = new HttpLane(call, first.data as OutboundLendGrant, key);
      this.lanes++;
      if (lane.start()) return lane;
      this.drop(lane);
      this.unlendable.add(key);
      return undefined;
    }
    call.cancel();
    if (first?.kind === 'done') {
      const result = first.value as OutboundLendResult;
      if (!result.ok) return { failed: result };
    }
    // Lending off, a self or TLS origin, or no lend method on the serving side.
    this.unlendable.add(key);
    return undefined;
  }

  /**
   * Cancels a lend call a guest stopped at its deadline left waiting (a node:vm timeout ends
   * the guest inside {@link take}): its connection would otherwise stay open, lent to nobody.
   */
  abandonOpening(): void {
    this.opening?.cancel();
    this.opening = undefined;
  }

  /** Keeps a connection whose exchange ended cleanly, for the next request to its origin. */
  keep(lane: HttpLane): void {
    let list = this.idle.get(lane.key);
    if (list === undefined) this.idle.set(lane.key, (list = []));
    list.push(lane);
  }

  /** Closes a connection (the main thread closes its socket when the lending ends). */
  drop(lane: HttpLane): void {
    lane.end();
    this.lanes--;
  }
}

const pools = new WeakMap<SyncBridge, LanePool>();

/** Ends what a guest stopped at its deadline left of this worker's lending (see {@link LanePool.abandonOpening}). */
export function abandonLaneOpening(bridge: SyncBridge): void {
  pools.get(bridge)?.abandonOpening();
}

/** This worker's pool of lent connections. */
function poolOf(bridge: SyncBridge): LanePool {
  let pool = pools.get(bridge);
  if (pool === undefined) pools.set(bridge, (pool = new LanePool(bridge)));
  return pool;
}

/** A response's head, or the failure of its request. */
export type LaneOutcome = { ok: true; status: number; headers: Array<[string, string]> } | { ok: false; errorCode: WasiHttpErrorCode; message: string };

/**
 * One request on a lent connection and its response, read as the guest asks for it: the
 * response head when the guest polls its future, the body when it reads the body (at most what
 * one read of the socket brings is held here).
 */
export class LaneExchange {
  private readonly lane: HttpLane;
  private readonly pool: LanePool;
  private readonly bridge: SyncBridge;
  /** The exchanges of the guest's request scope still open: this one leaves it when it settles. */
  private readonly live: Set<LaneExchange> | undefined;
  private readonly method: string;
  private readonly framing: RequestFraming;
  private readonly betweenBytesMs: number;
  private written = 0;
  private requestEnded: boolean;
  private head: LaneOutcome | undefined;
  private decoder: BodyDecoder | undefined;
  private keepAlive = false;
  /** The body has no length: it ends when the upstream closes the connection. */
  private closeDelimited = false;
  private readonly chunks: Buffer[] = [];
  private bodyEnded = false;
  private bodyError: WasiHttpErrorCode | undefined;
  /** The connection went back to the pool or was closed. */
  private settled = false;
  /** When the current wait times out (ms since the epoch): the first byte's, then between bytes. */
  private deadline: number;

  private constructor(lane: HttpLane, pool: LanePool, bridge: SyncBridge, live: Set<LaneExchange> | undefined, request: LaneRequest, framing: RequestFraming) {
    this.lane = lane;
    this.pool = pool;
    this.bridge = bridge;
    this.live = live;
    this.method = request.method;
    this.framing = framing;
    this.requestEnded = framing.kind !== 'chunked' && (framing.kind === 'none' || framing.length === 0 || request.body instanceof Uint8Array);
    this.betweenBytesMs = request.betweenBytesTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.deadline = Date.now() + (request.firstByteTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /**
   * Starts `request` on a lent connection of this worker. Undefined when it must go as a bridge
   * call instead; a failed outcome when the origin was refused or cannot be reached. The exchange
   * is in `live` until it settles (its response read to its end, failed, or abandoned), so a
   * request scope making many outbound requests holds only the open ones.
   */
  static start(bridge: SyncBridge, request: LaneRequest, live?: Set<LaneExchange>): LaneExchange | Extract<OutboundLendResult, { ok: false }> | undefined {
    if (request.authority === '') return undefined;
    // Checked before a connection is taken: a request the lane would not write keeps to the bridge.
    const encoded = encodeRequestHead(request);
    if (encoded === undefined) return undefined;
    const pool = poolOf(bridge);
    const taken = pool.take(request);
    if (taken === undefined) return undefined;
    if ('failed' in taken) return taken.failed;
    const exchange = new LaneExchange(taken, pool, bridge, live, request, encoded.framing);
    // Until it settles, this worker counts as waiting on the app: the upstream may be the app
    // itself by an address not known as its listener (a Service IP, a NAT hairpin), and then
    // only another worker of the pool can answer (see `SyncBridge.waiting`). Counted before the
    // request is written, so before the app can see it.
    bridge.waiting(1);
    live?.add(exchange);
    const head = Buffer.from(`${encoded.start}host: ${taken.host}\r\n${encoded.fields}\r\n`, 'latin1');
    const first = request.body instanceof Uint8Array && request.body.length > 0 ? Buffer.concat([head, request.body]) : head;
    if (!taken.send(first)) exchange.fail({ tag: 'connection-terminated' }, taken.lost ?? LOST);
    return exchange;
  }

  /** Writes a chunk of a streamed request body. */
  chunk(bytes: Uint8Array): void {
    if (this.settled || bytes.length === 0) return;
    if (this.framing.kind === 'length') {
      // Checked before `requestEnded`: bytes past a length already written fail the request, as on undici's path.
      this.written += bytes.length;
      if (this.written > this.framing.length) {
        this.fail({ tag: 'internal-error', val: 'Request body length does not match content-length header' }, 'the request body is longer than its content-length');
        return;
      }
      this.lane.send(bytes);
      if (this.written === this.framing.length) this.requestEnded = true;
      return;
    }
    if (this.requestEnded) return;
    this.lane.send(Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF]));
  }

  /** Ends a streamed request body. */
  end(): void {
    if (this.requestEnded || this.settled) return;
    if (this.framing.kind === 'length') {
      if (this.written !== this.framing.length) this.fail({ tag: 'internal-error', val: 'Request body length does not match content-length header' }, 'the request body is shorter than its content-length');
      return;
    }
    this.requestEnded = true;
    this.lane.send(LAST_CHUNK);
  }

  /** The response head, or the request's failure; undefined while it has not arrived (waits up to `waitMs`). */
  response(waitMs: number): LaneOutcome | undefined {
    if (this.head === undefined) this.step(waitMs);
    return this.head;
  }

  /** Body bytes (at most `max`), an empty array when none are here yet, undefined at the end. @throws the failure's error code */
  read(max: number): Uint8Array | undefined {
    if (this.chunks.length === 0 && !this.bodyEnded) this.step(0);
    const first = this.chunks[0];
    if (first === undefined) {
      if (!this.bodyEnded) return new Uint8Array(0);
      if (this.bodyError !== undefined) throw this.bodyError;
      return undefined;
    }
    if (first.length <= max) {
      this.chunks.shift();
      return first;
    }
    this.chunks[0] = first.subarray(max);
    return first.subarray(0, max);
  }

  /** Whether the body has bytes or its end (reading the socket without waiting when not). */
  readable(): boolean {
    if (this.chunks.length === 0 && !this.bodyEnded) this.step(0);
    return this.chunks.length > 0 || this.bodyEnded;
  }

  /** Waits up to `waitMs` for the head or body bytes. */
  wait(waitMs: number): void {
    if (this.head === undefined || (this.chunks.length === 0 && !this.bodyEnded)) this.step(waitMs);
  }

  /** The guest dropped the exchange (or its instance ended): a connection still in use is closed. */
  abandon(): void {
    if (this.settled) return;
    this.release();
    this.pool.drop(this.lane);
    // A future kept past its request scope (`--instance-reuse`) and polled later gets this
    // outcome at once: settled, the exchange reads nothing more.
    this.head ??= { ok: false, errorCode: ABORTED, message: 'the request ended with the request scope that made it' };
    if (!this.bodyEnded) {
      this.bodyEnded = true;
      this.bodyError ??= ABORTED;
    }
  }

  /** Reads once (waiting up to `waitMs` when the socket has nothing) and parses what came. */
  private step(waitMs: number): void {
    // Once settled the connection may carry another exchange: everything of this one is in `chunks`.
    if (this.settled) return;
    const slice = Math.max(0, Math.min(waitMs, WAIT_SLICE_MS, this.deadline - Date.now()));
    const bytes = this.lane.receive(slice);
    if (bytes !== undefined) {
      this.lane.buffer = this.lane.buffer.length === 0 ? bytes : Buffer.concat([this.lane.buffer, bytes]);
      if (this.head !== undefined) this.deadline = Date.now() + this.betweenBytesMs;
      try {
        this.parse();
      } catch (e) {
        if (!(e instanceof Http1ParseError)) throw e;
        this.fail(e.errorCode, e.message);
      }
      return;
    }
    if (this.lane.lost !== undefined) {
      // The upstream's close ends a body that has no length; anywhere else it cuts the response.
      if (this.lane.peerClosed && this.decoder !== undefined && this.closeDelimited) {
        this.bodyEnded = true;
        this.settle(false);
      } else this.fail({ tag: 'connection-terminated' }, this.lane.lost);
    } else if (Date.now() >= this.deadline) this.fail({ tag: 'connection-read-timeout' }, 'the upstream did not answer in time');
  }

  private parse(): void {
    while (this.decoder === undefined) {
      const parsed = parseResponseHead(this.lane.buffer);
      if (parsed === undefined) return;
      this.lane.buffer = this.lane.buffer.subarray(parsed.length);
      if (parsed.status < 200) {
        // 1xx heads are not the response (101 is: no upgrade was asked, so it is an error).
        if (parsed.status === 101) throw new Http1ParseError('protocol', 'the upstream switched protocols unasked');
        continue;
      }
      const { framing, keepAlive } = responseFraming(this.method, parsed);
      this.decoder = new BodyDecoder(framing);
      this.closeDelimited = framing.kind === 'close';
      this.keepAlive = keepAlive;
      this.head = { ok: true, status: parsed.status, headers: parsed.headers };
      this.deadline = Date.now() + this.betweenBytesMs;
    }
    if (this.bodyEnded) return;
    const decoded = this.decoder.decode(this.lane.buffer);
    this.lane.buffer = this.lane.buffer.subarray(decoded.used);
    for (const data of decoded.data) if (data.length > 0) this.chunks.push(data);
    if (decoded.done) {
      this.bodyEnded = true;
      this.settle(this.keepAlive && this.requestEnded && this.lane.buffer.length === 0 && !this.lane.tainted);
    }
  }

  private settle(reuse: boolean): void {
    if (this.settled) return;
    this.release();
    if (reuse) {
      this.lane.finish();
      this.pool.keep(this.lane);
    } else this.pool.drop(this.lane);
  }

  /** Marks the exchange settled: it no longer counts as a wait on the app, nor as open. */
  private release(): void {
    this.settled = true;
    this.bridge.waiting(-1);
    this.live?.delete(this);
  }

  private fail(code: WasiHttpErrorCode, message: string): void {
    if (this.head === undefined) this.head = { ok: false, errorCode: code, message };
    else if (!this.bodyEnded) this.bodyError = code;
    this.bodyEnded = true;
    this.settle(false);
  }
}

/** The outcome of a request ended with the request scope that made it (lent or bridged). */
export const ABORTED: WasiHttpErrorCode = { tag: 'internal-error', val: 'request aborted' };
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
