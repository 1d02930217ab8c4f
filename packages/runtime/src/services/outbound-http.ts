import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
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
import { decideOutbound, type OutboundTargetParts } from './outbound-policy.js';
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
}

/** Outbound HTTP for every guest of an app, with one pool of keep-alive connections per process. */
export interface OutboundHttp {
  /**
   * Checks the request against the component's allow-list before any connection, then sends
   * it. Redirects are returned, never followed.
   * @throws OutboundHttpError `RUNTIME_OUTBOUND_DENIED` (refused by policy) or `RUNTIME_OUTBOUND_FAILED` (connection, timeout, DNS …), with the wasi:http `errorCode` for the guest
   */
  send(head: OutboundRequestHead, body?: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<OutboundResponse>;
  /** Closes every pooled connection. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 600_000;
/** Request headers the client sets itself (or that would desynchronise the connection). */
const DROPPED_HEADERS = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'expect']);

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

  const send = async (head: OutboundRequestHead, body: AsyncIterable<Uint8Array> | undefined, signal?: AbortSignal): Promise<OutboundResponse> => {
    const allowedHosts = options.allowedHosts.get(head.componentId);
    if (allowedHosts === undefined) {
      throw new OutboundHttpError('RUNTIME_OUTBOUND_DENIED', `unknown component ${JSON.stringify(head.componentId)}`, { tag: 'HTTP-request-denied' }, 'destination-not-allowed');
    }
    const decision = decideOutbound(head, { allowedHosts, selfOrigin: options.selfOrigin?.(), componentIds });
    if (decision.kind === 'denied') return deny(head, decision.destination, decision.hint, decision.error, decision.spinError);
    if (outboundAllowedChannel.hasSubscribers) outboundAllowedChannel.publish({ app: options.app, componentId: head.componentId, destination: decision.url.origin } satisfies OutboundAllowedEvent);
    const headers = head.headers.filter(([name]) => !DROPPED_HEADERS.has(name.toLowerCase()));

    if (decision.kind === 'chain') {
      if (options.dispatch === undefined) {
        throw new OutboundHttpError('RUNTIME_OUTBOUND_FAILED', 'service chaining is not available in this runtime', { tag: 'HTTP-request-denied' }, 'runtime-error');
      }
      const response = await options.dispatch(
        decision.componentId,
        { method: head.method, url: decision.url.href, headers: [['host', decision.url.host], ...headers], body: body ?? emptyBody() },
        signal,
      );
      return { status: response.status, headers: response.headers, body: response.body };
    }

    let agent: Agent;
    if (decision.kind === 'self') {
      // The listener itself (its bound address): block_networks is about leaving the host, not
      // this, and its certificate names the app's host, not the bound address we connect to.
      selfAgent ??= new (undici().Agent)({ connections, pipelining: pooling ? 1 : 0, connect: { rejectUnauthorized: false } });
      agent = selfAgent;
    } else {
      const host = decision.url.hostname;
      if (blocked !== undefined && isIP(host.replace(/^\[|\]$/g, '')) !== 0 && blocked.blocks(host)) {
        throw new OutboundHttpError(
          'RUNTIME_OUTBOUND_FAILED',
          `connection to ${decision.url.host} refused: the address is in a blocked network ([outbound_networking] block_networks)`,
          { tag: 'destination-IP-prohibited' },
          'request-error',
        );
      }
      const tls = decision.url.protocol === 'https:' ? options.clientTls?.forRequest(head.componentId, host) : undefined;
      agent = agentFor(head.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS, tls);
    }
    try {
      const response = await agent.request({
        origin: decision.url.origin,
        path: decision.url.pathname + decision.url.search,
        method: head.method as 'GET',
        headers: decision.kind === 'self' ? [['host', decision.url.host], ...headers].flat() : headers.flat(),
        body: body === undefined ? null : Readable.from(body, { objectMode: false }),
        headersTimeout: head.firstByteTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        bodyTimeout: head.betweenBytesTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        reset: !pooling,
        ...(signal === undefined ? {} : { signal }),
      });
      const responseHeaders: Array<[string, string]> = [];
      for (const [name, value] of Object.entries(response.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) responseHeaders.push([name, v]);
      }
      return { status: response.statusCode, headers: responseHeaders, body: mapBodyErrors(response.body) };
    } catch (err) {
      throw failed(err, decision.url.host);
    }
  };

  const limited = async (head: OutboundRequestHead, body: AsyncIterable<Uint8Array> | undefined, signal?: AbortSignal): Promise<OutboundResponse> => {
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
      const response = await send(head, body, signal);
      return { ...response, body: releaseAfter(response.body, release) };
    } catch (err) {
      release();
      throw err;
    }
  };

  return {
    send: limited,
    async close() {
      const all = [...agents.values(), ...(selfAgent === undefined ? [] : [selfAgent])];
      agents.clear();
      selfAgent = undefined;
      await Promise.all(all.map((a) => a.close()));
    },
  };
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

/** Counts a request as in flight until its body is read to the end, fails, or is abandoned. */
async function* releaseAfter(body: AsyncIterable<Uint8Array>, release: () => void): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } finally {
    release();
  }
}

async function* mapBodyErrors(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (err) {
    throw failed(err, undefined);
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
