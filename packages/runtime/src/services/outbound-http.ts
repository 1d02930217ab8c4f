import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP, type LookupFunction as NetLookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type * as Undici from 'undici';
import type { Agent } from 'undici';
import type { AllowedHosts } from '@spinel/manifest';
import type { GuestRequest, GuestResponse } from '../pool/executor-types.js';
import type { BlockedNetworks } from './block-networks.js';
import { OutboundHttpError, type SpinHttpError, type WasiHttpErrorCode } from '../errors.js';
import type { ClientTls, ClientTlsConnectOptions } from './client-tls.js';
import type { ConnectionLimit } from './connection-limit.js';
import { limitedConnector } from './limited-connector.js';
import { onFirstUse } from '../load-on-first-use.js';
import { DROPPED_HEADERS, decideOutbound, type OutboundDecision, type OutboundTargetParts } from './outbound-policy.js';
import { LendableSocket } from './lendable-socket.js';
import { outboundAllowedChannel, outboundDeniedChannel, type OutboundAllowedEvent, type OutboundDeniedEvent } from '../events.js';

/** Published when a guest's request is refused by policy: `{ app, componentId, destination, hint }` (events.ts). The CLI prints `hint`. */
export { outboundDeniedChannel };

/** The head of a guest's outbound request. */
export interface OutboundRequestHead extends OutboundTargetParts {
  /** The component making the request (its allow-list applies). */
  componentId: string;
  method: string;
  headers: Array<[string, string]>;
  /** wasi:http request options; Spin's default for each is 600 s. */
  connectTimeoutMs?: number | undefined;
  firstByteTimeoutMs?: number | undefined;
  betweenBytesTimeoutMs?: number | undefined;
}

/** An upstream's (or chained component's) response; its body is streamed. */
export interface OutboundResponse {
  status: number;
  headers: Array<[string, string]>;
  body: AsyncIterable<Uint8Array>;
}

/**
 * What stops a request in flight: a bridge call (`ServerCall` of channel/bridge-server.ts) has
 * this shape, so a request made for a worker needs no AbortController of its own.
 */
export interface Cancellation {
  /** Whether it has been cancelled. */
  readonly cancelled: boolean;
  /** Runs `listener` once when cancelled; returns a function that removes it. */
  onCancel(listener: () => void): () => void;
}

/** Dispatches a service-chained request to a component in this process (the executor supplies it). */
export type ChainDispatch = (componentId: string, request: GuestRequest, signal: AbortSignal | undefined) => Promise<GuestResponse>;

/** A `dns.lookup`-compatible function. */
export type LookupFunction = typeof dnsLookup;

/** Options of {@link createOutboundHttp}. */
export interface OutboundHttpOptions {
  /** Each component's resolved `allowed_outbound_hosts`; a component not listed may reach nothing. */
  allowedHosts: ReadonlyMap<string, AllowedHosts>;
  /** The listener's own origin, e.g. `http://127.0.0.1:3000`, read when a self request is made (set once the listener is bound). */
  selfOrigin?: () => string | undefined;
  /** Runtime config `block_networks`, applied to resolved addresses. @default nothing blocked */
  blockNetworks?: BlockedNetworks;
  /** In-process dispatch for `http://<component>.spin.internal`. @default service chaining is refused */
  dispatch?: ChainDispatch;
  /** Name resolution (tests point names at loopback with it). @default dns.lookup */
  lookup?: LookupFunction;
  /** The app these requests come from, named in the outbound events (events.ts). */
  app?: object;
  /** Most connections per upstream origin, shared by every instance. @default 128 */
  connectionsPerOrigin?: number;
  /** `[outbound_http] connection_pooling`; false closes each connection after its request. @default true */
  connectionPooling?: boolean;
  /**
   * Most outbound requests in flight at once for the whole app (guests can start requests
   * without waiting for them); past it a request fails with `connection-limit-reached`.
   * @default 1024
   */
  maxConcurrentRequests?: number;
  /**
   * Runtime config `[outbound_http] max_connections` and `[outbound_networking]
   * max_total_connections`: each open connection holds a permit; past a limit a new connection
   * waits for one, within the request's connect timeout (as Spin). @default no limit
   */
  connectionLimit?: ConnectionLimit;
  /** Runtime config `[[client_tls]]`: roots and client certificate per component and host. @default Node's default trust */
  clientTls?: ClientTls;
  /** Lend plain `http:` connections to the workers (see {@link OutboundHttp.lendable}). @default true (false: every request goes through the main thread's undici) */
  lendHttpConnections?: boolean;
}

/** Outbound HTTP for every guest of an app, with one pool of keep-alive connections per process. */
export interface OutboundHttp {
  /**
   * Checks the request against the component's allow-list before any connection, then sends
   * it. Redirects are returned, never followed.
   * @throws OutboundHttpError `RUNTIME_OUTBOUND_DENIED` (refused by policy) or `RUNTIME_OUTBOUND_FAILED` (connection, timeout, DNS …), with the wasi:http `errorCode` for the guest
   */
  send(head: OutboundRequestHead, body?: AsyncIterable<Uint8Array>, cancel?: Cancellation): Promise<OutboundResponse>;
  /**
   * A new connection to the origin of `target` that can be lent to a worker, which then writes
   * its requests and reads the responses itself (`guest/spin/http-lane.ts`): only when the
   * connections are pooled, lending is on, and the target is plain `http:` to somewhere the
   * component may go (policy and blocked networks applied as for {@link send}); undefined when
   * the requests must go through {@link send} instead (self, service chaining, TLS).
   * @throws OutboundHttpError as {@link send} does, when refused or when the connection fails
   */
  lendable(target: OutboundTargetParts & { componentId: string; connectTimeoutMs?: number | undefined }, cancel: Cancellation): Promise<LendableHttpConnection | undefined>;
  /** Closes every pooled connection. */
  close(): Promise<void>;
}

/** A connection for a worker (see {@link OutboundHttp.lendable}); `host` is the Host header of its requests. */
export interface LendableHttpConnection {
  socket: LendableSocket;
  host: string;
}

const DEFAULT_TIMEOUT_MS = 600_000;

/** undici, loaded with the first outbound request. */
const undici = onFirstUse<typeof Undici>('undici');

/** Marks a connection refused because every address of the name is in a blocked network. */
const BLOCKED = 'ERR_SPINEL_BLOCKED_NETWORK';

/**
 * Creates the outbound HTTP client of an app: the policy (allow-lists, self, service chaining,
 * blocked networks) and an undici Agent per connect timeout, pooled per process.
 */
export function createOutboundHttp(options: OutboundHttpOptions): OutboundHttp {
  const blocked = options.blockNetworks;
  const baseLookup = options.lookup ?? dnsLookup;
  const componentIds = new Set(options.allowedHosts.keys());
  const agents = new Map<string, Agent>();
  let selfAgent: Agent | undefined;
  const pooling = options.connectionPooling ?? true;
  const connections = options.connectionsPerOrigin ?? 128;
  const maxInFlight = options.maxConcurrentRequests ?? 1024;
  let inFlight = 0;

  // Resolves, then drops blocked addresses; a name left with none fails the connection.
  const filteredLookup = (hostname: string, opts: LookupOneOptions | LookupAllOptions, callback: (...args: unknown[]) => void): void => {
    baseLookup(hostname, { ...opts, all: true }, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err);
        return;
      }
      const allowed = blocked === undefined ? addresses : addresses.filter((a) => !blocked.blocks(a.address));
      if (allowed.length === 0) {
        callback(Object.assign(new Error(`every address of ${hostname} is in a blocked network`), { code: BLOCKED }));
        return;
      }
      if ((opts as LookupAllOptions).all === true) callback(null, allowed);
      else callback(null, allowed[0]?.address, allowed[0]?.family);
    });
  };

  // One pool per connect timeout and per [[client_tls]] entry (-1: the default trust).
  const agentFor = (connectTimeoutMs: number, tls: { id: number; connect: ClientTlsConnectOptions } | undefined): Agent => {
    const key = `${connectTimeoutMs}/${tls?.id ?? -1}`;
    let agent = agents.get(key);
    if (agent === undefined) {
      const connect = { timeout: connectTimeoutMs, lookup: filteredLookup as unknown as LookupFunction, ...tls?.connect };
      agent = new (undici().Agent)({
        connections,
        pipelining: pooling ? 1 : 0,
        connect: options.connectionLimit === undefined ? connect : limitedConnector(options.connectionLimit, connect),
      });
      agents.set(key, agent);
    }
    return agent;
  };

  const deny = (head: OutboundRequestHead, destination: string, hint: string, errorCode: WasiHttpErrorCode, spinError: SpinHttpError): never => {
    if (outboundDeniedChannel.hasSubscribers) outboundDeniedChannel.publish({ app: options.app, componentId: head.componentId, destination, hint } satisfies OutboundDeniedEvent);
    throw new OutboundHttpError('RUNTIME_OUTBOUND_DENIED', `Outbound network destination not allowed: ${destination}\n${hint}`, errorCode, spinError);
  };

  // The policy's decision; a denial is thrown. The allowed event is published once per decision.
  const decide = (head: OutboundRequestHead): Exclude<OutboundDecision, { kind: 'denied' }> => {
    const allowedHosts = options.allowedHosts.get(head.componentId);
    if (allowedHosts === undefined) {
      throw new OutboundHttpError('RUNTIME_OUTBOUND_DENIED', `unknown component ${JSON.stringify(head.componentId)}`, { tag: 'HTTP-request-denied' }, 'destination-not-allowed');
    }
    const decision = decideOutbound(head, { allowedHosts, selfOrigin: options.selfOrigin?.(), componentIds });
    if (decision.kind === 'denied') return deny(head, decision.destination, decision.hint, decision.error, decision.spinError);
    if (outboundAllowedChannel.hasSubscribers) outboundAllowedChannel.publish({ app: options.app, componentId: head.componentId, destination: decision.url.origin } satisfies OutboundAllowedEvent);
    return decision;
  };

  // An IP literal in a blocked network is refused before connecting (names are checked once resolved, in filteredLookup).
  const refuseBlockedLiteral = (url: URL): void => {
    if (blocked !== undefined && isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0 && blocked.blocks(url.hostname)) {
      throw new OutboundHttpError(
        'RUNTIME_OUTBOUND_FAILED',
        `connection to ${url.host} refused: the address is in a blocked network ([outbound_networking] block_networks)`,
        { tag: 'destination-IP-prohibited' },
        'request-error',
      );
    }
  };

  // `release` frees the request's place in flight once its body is read, fails or is abandoned.
  const send = async (head: OutboundRequestHead, body: AsyncIterable<Uint8Array> | undefined, cancel: Cancellation | undefined, release: () => void): Promise<OutboundResponse> => {
    const decision = decide(head);
    const headers = head.headers.filter(([name]) => !DROPPED_HEADERS.has(name.toLowerCase()));

    if (decision.kind === 'chain') {
      if (options.dispatch === undefined) {
        throw new OutboundHttpError('RUNTIME_OUTBOUND_FAILED', 'service chaining is not available in this runtime', { tag: 'HTTP-request-denied' }, 'runtime-error');
      }
      const response = await options.dispatch(
        decision.componentId,
        { method: head.method, url: decision.url.href, headers: [['host', decision.url.host], ...headers], body: body ?? emptyBody() },
        cancel === undefined ? undefined : abortSignalOf(cancel),
      );
      return { status: response.status, headers: response.headers, body: releaseAfter(response.body, release) };
    }

    let agent: Agent;
    if (decision.kind === 'self') {
      // The listener itself (its bound address): block_networks is about leaving the host, not
      // this, and its certificate names the app's host, not the bound address we connect to.
      selfAgent ??= new (undici().Agent)({ connections, pipelining: pooling ? 1 : 0, connect: { rejectUnauthorized: false } });
      agent = selfAgent;
    } else {
      const host = decision.url.hostname;
      refuseBlockedLiteral(decision.url);
      const tls = decision.url.protocol === 'https:' ? options.clientTls?.forRequest(head.componentId, host) : undefined;
      agent = agentFor(head.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS, tls);
    }
    return dispatchRequest(
      agent,
      {
        origin: decision.url.origin,
        path: decision.url.pathname + decision.url.search,
        method: head.method as 'GET',
        headers: decision.kind === 'self' ? [['host', decision.url.host], ...headers].flat() : headers.flat(),
        body: body === undefined ? null : Readable.from(body, { objectMode: false }),
        headersTimeout: head.firstByteTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        bodyTimeout: head.betweenBytesTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        reset: !pooling,
      },
      decision.url.host,
      cancel,
      release,
    );
  };

  const limited = async (head: OutboundRequestHead, body: AsyncIterable<Uint8Array> | undefined, cancel?: Cancellation): Promise<OutboundResponse> => {
    if (inFlight >= maxInFlight) {
      throw new OutboundHttpError(
        'RUNTIME_OUTBOUND_FAILED',
        `too many outbound requests in flight (${maxInFlight}); wait for some to finish`,
        { tag: 'connection-limit-reached' },
        'too-many-requests',
      );
    }
    inFlight++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        inFlight--;
      }
    };
    try {
      return await send(head, body, cancel, release);
    } catch (err) {
      release();
      throw err;
    }
  };

  const lendable = async (head: OutboundTargetParts & { componentId: string; connectTimeoutMs?: number | undefined }, cancel: Cancellation): Promise<LendableHttpConnection | undefined> => {
    // A connection limit (runtime config `max_connections`, `max_total_connections`) keeps every
    // request on undici's path: a worker keeps its lent connections while idle, and each would
    // hold a permit the app's other requests (and its Redis, PostgreSQL, MQTT) wait for.
    if (options.lendHttpConnections === false || !pooling || options.connectionLimit !== undefined || head.scheme !== 'http') return undefined;
    const decision = decide({ ...head, method: 'GET', headers: [], pathWithQuery: '/' });
    // Self requests, service chaining and TLS keep to undici's path.
    if (decision.kind !== 'remote' || decision.url.protocol !== 'http:') return undefined;
    refuseBlockedLiteral(decision.url);
    const timeout = head.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = await connectLendable(decision.url, timeout, filteredLookup as unknown as LookupFunction, cancel).catch((err: unknown) => {
      throw failed(err, decision.url.host);
    });
    // The app itself may answer here, reached by an address rather than as `self` (its own
    // address, a Service IP, a NAT hairpin): the worker counts as waiting on the app while a
    // request on the connection is open (`guest/spin/http-lane.ts`), so the pool still grows.
    return { socket, host: decision.url.host };
  };

  return {
    send: limited,
    lendable,
    async close() {
      const all = [...agents.values(), ...(selfAgent === undefined ? [] : [selfAgent])];
      agents.clear();
      selfAgent = undefined;
      await Promise.all(all.map((a) => a.close()));
    },
  };
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

/** An AbortSignal that aborts with `cancel` (service chaining hands one to the executor). */
function abortSignalOf(cancel: Cancellation): AbortSignal {
  const controller = new AbortController();
  if (cancel.cancelled) controller.abort();
  else cancel.onCancel(() => controller.abort());
  return controller.signal;
}

/** Response bytes queued for the reader past which undici stops reading the connection. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * Sends a request with undici's `dispatch` rather than `request`: the response head resolves the
 * promise and the body is handed over as it arrives, without the stream, async-resource and
 * abort-signal objects `request` makes for every call (they were most of the main thread's own
 * work per bridged request; see bench/capabilities.ts).
 */
function dispatchRequest(agent: Agent, options: Undici.Dispatcher.DispatchOptions, host: string, cancel: Cancellation | undefined, release: () => void): Promise<OutboundResponse> {
  return new Promise((resolve, reject) => {
    if (cancel?.cancelled === true) {
      reject(failed(new (undici().errors.RequestAbortedError)(), host));
      return;
    }
    agent.dispatch(options, new UpstreamExchange(host, resolve, reject, cancel, release));
  });
}

/**
 * One request in flight: undici's handler, then the response body's async iterator. Failures
 * reach the caller already mapped to wasi:http codes, before the head (the promise rejects) or
 * while the body is read (the iterator rejects).
 */
class UpstreamExchange implements Undici.Dispatcher.DispatchHandler, AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array> {
  private readonly host: string;
  private resolveHead: ((response: OutboundResponse) => void) | undefined;
  private rejectHead: ((err: OutboundHttpError) => void) | undefined;
  private readonly stopCancel: (() => void) | undefined;
  private readonly release: () => void;
  private cancelled = false;
  private controller: Undici.Dispatcher.DispatchController | undefined;
  private readonly chunks: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private error: OutboundHttpError | undefined;
  private wake: (() => void) | undefined;

  constructor(host: string, resolve: (response: OutboundResponse) => void, reject: (err: OutboundHttpError) => void, cancel: Cancellation | undefined, release: () => void) {
    this.host = host;
    this.release = release;
    this.resolveHead = resolve;
    this.rejectHead = reject;
    this.stopCancel = cancel?.onCancel(() => {
      this.cancelled = true;
      this.controller?.abort(new (undici().errors.RequestAbortedError)());
    });
  }

  private settle(): void {
    this.stopCancel?.();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancelled) controller.abort(new (undici().errors.RequestAbortedError)());
  }

  onResponseStart(_controller: Undici.Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx informational heads are not the response.
    if (statusCode < 200 || this.resolveHead === undefined) return;
    const pairs: Array<[string, string]> = [];
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (typeof value === 'string') pairs.push([name, value]);
      else for (const v of value) pairs.push([name, v]);
    }
    const resolve = this.resolveHead;
    this.resolveHead = undefined;
    this.rejectHead = undefined;
    resolve({ status: statusCode, headers: pairs, body: this });
  }

  onResponseData(controller: Undici.Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= HIGH_WATER_BYTES) controller.pause();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.settle();
  }

  onResponseError(_controller: Undici.Dispatcher.DispatchController | undefined, err: Error): void {
    const mapped = failed(err, this.host);
    const reject = this.rejectHead;
    this.resolveHead = undefined;
    this.rejectHead = undefined;
    if (reject !== undefined) reject(mapped);
    else this.error = mapped;
    this.settle();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) {
      this.queued -= chunk.length;
      if (this.controller?.paused === true && this.queued < HIGH_WATER_BYTES) this.controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    // Read to its end, or failed: the request no longer counts as in flight.
    if (this.error !== undefined) {
      this.release();
      return Promise.reject(this.error);
    }
    if (this.ended) {
      this.release();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => this.next());
  }

  /** The reader stopped early: the rest of the response is not wanted, and its connection is not reused. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.ended && this.error === undefined) {
      this.ended = true;
      this.controller?.abort(new (undici().errors.RequestAbortedError)());
      this.settle();
    }
    this.chunks.length = 0;
    this.queued = 0;
    this.release();
    return Promise.resolve({ value: undefined, done: true });
  }
}

/** Counts a chained request as in flight until its body is read to the end, fails, or is abandoned. */
async function* releaseAfter(body: AsyncIterable<Uint8Array>, release: () => void): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } finally {
    release();
  }
}

/** Maps a connection or protocol failure to the wasi:http error code the guest sees. */
export function outboundErrorCode(err: unknown): WasiHttpErrorCode {
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const c = typeof code === 'string' ? code : typeof cause?.code === 'string' ? cause.code : undefined;
  switch (c) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { tag: 'connection-timeout' };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { tag: 'connection-read-timeout' };
    case 'ECONNREFUSED':
      return { tag: 'connection-refused' };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return { tag: 'connection-terminated' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { tag: 'destination-unavailable' };
    case BLOCKED:
      return { tag: 'destination-IP-prohibited' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return { tag: 'DNS-error', val: { rcode: 'address not available', infoCode: 0 } };
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return { tag: 'internal-error', val: 'request aborted' };
    default:
      if (typeof c === 'string' && c.startsWith('ERR_TLS') || typeof c === 'string' && /CERT|SSL|TLS/.test(c)) return { tag: 'TLS-protocol-error' };
      if (err instanceof undici().errors.ResponseContentLengthMismatchError) return { tag: 'HTTP-protocol-error' };
      return { tag: 'internal-error', val: err instanceof Error ? err.message : String(err) };
  }
}

function failed(err: unknown, host: string | undefined): OutboundHttpError {
  if (err instanceof OutboundHttpError) return err;
  const errorCode = outboundErrorCode(err);
  const where = host === undefined ? '' : ` to ${host}`;
  return new OutboundHttpError('RUNTIME_OUTBOUND_FAILED', `outbound request${where} failed: ${errorCode.tag}`, errorCode, 'request-error', { cause: err });
}

/**
 * Connects a socket that can be lent, within `timeoutMs`. No connection limit applies: nothing
 * is lent while one is configured (see `lendable` in {@link createOutboundHttp}).
 */
async function connectLendable(url: URL, timeoutMs: number, lookup: LookupFunction, cancel: Cancellation): Promise<LendableSocket> {
  const timedOut = (): Error => Object.assign(new Error(`connecting to ${url.host} timed out after ${timeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' });
  const socket = new LendableSocket();
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        stop();
        socket.removeListener('connect', onConnect);
        socket.removeListener('error', done);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onConnect = (): void => done();
      const timer = setTimeout(() => done(timedOut()), timeoutMs);
      const stop = cancel.onCancel(() => done(Object.assign(new Error('request aborted'), { code: 'UND_ERR_ABORTED' })));
      socket.once('connect', onConnect);
      socket.once('error', done);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      socket.connect({ host, port: url.port === '' ? 80 : Number(url.port), lookup: lookup as unknown as NetLookupFunction });
    });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.setNoDelay(true);
  // Until it is lent (and after), what fails on it shows in the worker's reads and writes; an
  // error with no listener would end the process.
  socket.on('error', () => {});
  return socket;
}
