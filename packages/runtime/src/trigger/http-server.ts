/**
 * The HTTP trigger (Spin's `crates/trigger-http/src/server.rs`): a node:http(s) server that routes requests to an
 * app's components through an {@link Executor}, answers Spin's well-known endpoints and
 * static responses itself, and enforces size limits, a bound on in-flight requests and
 * deadlines. It never prints; errors are published on diagnostics channels.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import type { ClientGone, ExecuteOptions, Executor, GuestResponse, WorkerServing } from '../pool/executor-types.js';
import { EMPTY_BODY, hasBody, pullBody } from './request-body.js';
import { send } from './respond.js';
import { dispatchWagi } from './wagi-dispatch.js';
import { ListenError } from '../errors.js';
import { notFoundChannel, requestErrorChannel, RUNTIME_CHANNELS, type NotFoundEvent, type RequestErrorEvent } from '../events.js';
import { duplicateListener, type BoundAddress } from './duplicate-listener.js';
import { bindServer, DEFAULT_LISTEN, parseListenAddress } from './listen-address.js';
import { formatSocketAddress, guestHeaders, type RequestContext } from './request-metadata.js';
import { Router, WELL_KNOWN_PREFIX } from './router.js';
import { formatStartup, type AvailableRoute, type OutputFormat } from './startup-output.js';
import { readHttpTriggers, type HttpApp } from './trigger-config.js';

const log = debuglog('spinel:http');

/** Published when a request fails inside the runtime (`{ app, componentId, error }`); Spin logs these as `Error processing request`. */
export const REQUEST_ERROR_CHANNEL = RUNTIME_CHANNELS.requestError;
/** Published when a request matches no route (`{ app, path }`). */
export const NOT_FOUND_CHANNEL = RUNTIME_CHANNELS.notFound;

/** Options of {@link createHttpTrigger}. */
export interface HttpTriggerOptions {
  app: HttpApp;
  executor: Executor;
  /** Per-request deadline handed to the executor. @default none */
  requestTimeoutMs?: number;
  /** Largest request header block; larger gets 431. @default 16384 */
  maxHeaderBytes?: number;
  /** Largest request body; larger gets 413. @default 64 MiB */
  maxBodyBytes?: number;
  /** Requests handled at once; beyond it the answer is 503 with `Retry-After`. @default 1024 */
  maxConcurrentRequests?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  /** Environment added to every component's (the CLI's `--env`); WAGI modules get it before their CGI variables. */
  env?: Readonly<Record<string, string>>;
  /** Keep-alive idle timeout of connections. @default 5000 */
  keepAliveTimeoutMs?: number;
  /**
   * Serve from the executor's worker threads: each runs this trigger itself on one shared
   * listening socket and runs the guests inline, so the main thread never handles a request
   * (guest/serve-http.ts, pool/serving-workers.ts). Request bodies are read whole before the guest
   * starts and responses are sent whole; `maxConcurrentRequests` counts per worker; a guest
   * blocked on a capability call holds its worker's other connections. `handle()` still serves on
   * the main thread. Ignored for an executor that cannot serve (an app of static responses only).
   * @default false
   */
  serveFromWorkers?: boolean;
}

/** Options of {@link HttpTrigger.listen}. */
export interface ListenOptions {
  /** `host:port`. @default "127.0.0.1:3000" */
  listen?: string;
  /** On EADDRINUSE try the next ports. @default false */
  findFreePort?: boolean;
  /**
   * Listen on the listening socket that has this descriptor in this process instead of an address
   * (a serving worker joining the others, guest/serve-http.ts). The server listens on a descriptor
   * of its own for that socket (trigger/duplicate-listener.ts), so closing it never closes `fd`.
   */
  fd?: number;
  /** With `fd`: the address that socket must be bound to (its number came from another thread, and may have been reused). */
  expect?: BoundAddress;
}

/** A serving HTTP trigger. */
export interface HttpTrigger {
  /** Starts listening; resolves with the base URL (e.g. `http://127.0.0.1:3000`).
   * @throws {ListenError} `RUNTIME_HTTP_ADDRESS_IN_USE`, `RUNTIME_HTTP_LISTEN_FAILED`, `RUNTIME_HTTP_INVALID_LISTEN` */
  listen(options?: ListenOptions): Promise<string>;
  /** The routes Spin would list at start-up, in manifest order. */
  routes(): AvailableRoute[];
  /** What Spin logs as errors at start-up: duplicated routes, routes under `/.well-known/spin/`. */
  warnings(): string[];
  /** Spin's start-up text for the listening server. */
  startupText(format?: OutputFormat): string;
  /** The listener's own origin (`http://127.0.0.1:3000`): the target of `self` requests, never taken from a `Host` header. */
  readonly selfOrigin: string | undefined;
  /** Requests being handled now (those given to {@link HttpTrigger.handle} included). */
  readonly inFlight: number;
  /**
   * Answers a request that another server received (a host that keeps its own listener, as
   * spinel-runner does to serve two versions of an app on one port during a switch). It counts
   * in `inFlight` and `close()` waits for it; the connection stays the other server's.
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** How a request path is routed, for metrics labels: the component (undefined for static responses and Spin's endpoints) and the manifest's route pattern; undefined when no route matches. */
  routeOf(path: string): RouteLabels | undefined;
  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`, then cuts them), closes idle connections. The executor stays open. */
  close(timeoutMs?: number): Promise<void>;
  /** The underlying server (for tests and embedding). */
  readonly server: http.Server | https.Server;
}

/** What {@link HttpTrigger.routeOf} tells of a path. */
export interface RouteLabels {
  /** The component that answers; undefined for a static response or one of Spin's `/.well-known/spin/` endpoints. */
  componentId: string | undefined;
  /** The route as the manifest writes it (`/api/...`); `/.well-known/spin/...` for Spin's endpoints. */
  route: string;
}

const WELL_KNOWN_LABELS: RouteLabels = { componentId: undefined, route: `${WELL_KNOWN_PREFIX}...` };

/**
 * Builds the trigger for an app: reads its `http` triggers and builds the router (so a
 * bad route fails here, before listening).
 * @throws {RouteError} `RUNTIME_HTTP_INVALID_ROUTE`, `RUNTIME_HTTP_INVALID_TRIGGER`
 */
export function createHttpTrigger(options: HttpTriggerOptions): HttpTrigger {
  const entries = readHttpTriggers(options.app);
  const router = Router.build(entries.map((e) => ({ id: e.id, route: e.route, value: e.handler })));
  const descriptions = new Map(entries.map((e) => [e.id, e.description]));
  const componentEnv = new Map(options.app.components.map((c) => [c.id, c.env ?? {}]));
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const maxConcurrent = options.maxConcurrentRequests ?? 1024;
  const scheme = options.tls === undefined ? 'http' : 'https';
  const info = appInfo(options.app);
  let inFlight = 0;
  let baseUrl: string | undefined;
  /** The executor's serving workers, in the `serveFromWorkers` mode once listening. */
  let serving: WorkerServing | undefined;
  let draining = false;
  const idle: Array<() => void> = [];

  const serverOptions: http.ServerOptions = { maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024, keepAliveTimeout: options.keepAliveTimeoutMs ?? 5000 };
  let server: http.Server | https.Server;
  try {
    server =
      options.tls === undefined
        ? http.createServer(serverOptions)
        : https.createServer({ ...serverOptions, cert: toBuf(options.tls.cert), key: toBuf(options.tls.key) });
  } catch (err) {
    throw new ListenError('RUNTIME_HTTP_TLS', `The TLS certificate or key cannot be used (${(err as Error).message}); pass a PEM certificate with --tls-cert and its PKCS#8 PEM key with --tls-key.`, { cause: err });
  }

  function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    inFlight++;
    handle(req, res)
      .catch((err: unknown) => {
        log('request failed after the response started: %s', (err as Error).message);
        res.destroy();
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0) for (const f of idle.splice(0)) f();
      });
  }
  // The trigger's own listener: while it drains, responses close their connections (requests
  // a host hands over through `handle()` keep the host's connection rules).
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (draining) res.setHeader('connection', 'close');
    serve(req, res);
  };
  server.on('request', onRequest);
  // CONNECT (authority-form target) is answered like any request, as Spin's hyper server does:
  // its path is empty, so it is routed like `/`; the connection is closed after the answer and
  // never becomes a tunnel. (Without a listener node would close the socket unanswered.)
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    socket.on('error', () => socket.destroy());
    onRequest(req, res);
  });
  // A client that disconnects mid-request must not take the server down.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // RFC 9112 §3.2: a request with more than one Host field is answered 400.
    if (hostFields(req.rawHeaders) > 1) {
      res.setHeader('connection', 'close');
      return send(res, 400, [], undefined);
    }
    const connect = req.method === 'CONNECT';
    const target = req.url ?? '/';
    const pathAndQuery = connect ? '' : target.startsWith('/') ? target : safePathOf(target);
    const q = pathAndQuery.indexOf('?');
    const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);

    if (path.startsWith(WELL_KNOWN_PREFIX)) {
      const rest = path.slice(WELL_KNOWN_PREFIX.length);
      if (rest === 'health') return send(res, 200, [], 'OK');
      if (rest === 'info') return send(res, 200, [['content-type', 'application/json']], JSON.stringify(info, null, 2));
      return send(res, 404, [], undefined);
    }
    const match = router.route(path);
    if (match === undefined) {
      if (notFoundChannel.hasSubscribers) notFoundChannel.publish({ app: options.app, path } satisfies NotFoundEvent);
      return send(res, 404, [], undefined);
    }
    if (inFlight > maxConcurrent) return send(res, 503, [['retry-after', '1']], undefined);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      res.setHeader('connection', 'close');
      return send(res, 413, [], undefined);
    }
    const handler = match.value;
    if (handler.kind === 'static') {
      const r = handler.response;
      return send(res, r.status, r.headers, r.body);
    }
    const ctx: RequestContext = {
      scheme,
      host: req.headers.host,
      pathAndQuery,
      clientAddress: req.socket.remoteAddress ?? '0.0.0.0',
      clientPort: req.socket.remotePort ?? 0,
    };
    // The client went away when the response closes unfinished. The executor is told through
    // `clientGone`; an AbortSignal (which costs more to make and listen to than routing the
    // request) is made only for an executor that asks for `signal`.
    const clientGone = goneWhenClosedEarly(res);
    let signal: AbortSignal | undefined;
    // The timeout runs from when the guest starts: time spent waiting for a worker is bounded apart.
    const execOptions: ExecuteOptions = {
      clientGone,
      get signal(): AbortSignal {
        return (signal ??= signalOf(clientGone));
      },
      ...(options.requestTimeoutMs !== undefined ? { timeoutMs: options.requestTimeoutMs } : {}),
    };
    // A CONNECT request has no body (its connection would carry the tunnel).
    const body = connect || !hasBody(req) ? EMPTY_BODY : pullBody(req, maxBody);
    try {
      if (handler.kind === 'wagi') {
        const response = await dispatchWagi({ executor: options.executor, componentEnv, env: options.env ?? {} }, req, handler, match, ctx, body, execOptions);
        return send(res, response.status, response.headers, response.body);
      }
      const url = `${scheme}://${req.headers.host ?? baseUrl?.replace(/^https?:\/\//, '') ?? 'localhost'}${pathAndQuery}`;
      const response = await options.executor.handle(
        handler.componentId,
        { method: req.method ?? 'GET', url, headers: guestHeaders(req.rawHeaders, match, ctx), body },
        execOptions,
      );
      await writeGuestResponse(res, response, handler.componentId, req.method === 'HEAD');
    } catch (err) {
      if (body.tooLarge()) {
        res.setHeader('connection', 'close');
        if (!res.headersSent) return send(res, 413, [], undefined);
      }
      if ((err as { code?: unknown }).code === 'RUNTIME_QUEUE_TIMEOUT' && !res.headersSent) return send(res, 503, [['retry-after', '1']], undefined);
      if (requestErrorChannel.hasSubscribers) requestErrorChannel.publish({ app: options.app, componentId: handler.componentId, error: err } satisfies RequestErrorEvent);
      log('Error processing request for %s: %s', handler.componentId, (err as Error).message);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      return send(res, 500, [], undefined);
    } finally {
      // Whatever the guest did not read (or never got to read) flows past unkept, so the
      // connection can carry the next request and a client still sending is not stalled.
      body.discard();
    }
  }

  async function writeGuestResponse(res: http.ServerResponse, response: GuestResponse, componentId: string, head: boolean): Promise<void> {
    if (!Number.isInteger(response.status) || response.status < 100 || response.status > 599) {
      throw new Error(`Component '${componentId}' answered with invalid status ${response.status}.`);
    }
    const complete = response.complete;
    if (complete !== undefined) {
      // The guest finished before anything was sent: one write, with Content-Length (so HTTP/1.0
      // keep-alive clients keep their connection), unless the guest framed the body itself.
      const flat: string[] = [];
      let framed = false;
      for (const [k, v] of response.headers) {
        flat.push(k, v);
        if (k.length === 14 || k.length === 17) framed ||= /^(content-length|transfer-encoding)$/i.test(k);
      }
      const status = response.status;
      if (!framed && !head && status !== 204 && status !== 304 && status >= 200) flat.push('content-length', String(complete.length));
      res.writeHead(status, flat);
      res.end(complete.length === 0 ? undefined : complete);
      return;
    }
    const iterator = response.body[Symbol.asyncIterator]();
    // Wait for the first chunk before committing the status, so a guest that fails at once still gets a clean 500.
    let first = await iterator.next();
    const flat: string[] = [];
    for (const [k, v] of response.headers) flat.push(k, v);
    res.writeHead(response.status, flat);
    while (first.done !== true) {
      if (!res.write(first.value)) {
        if (res.destroyed) break;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
      if (res.destroyed) break;
      first = await iterator.next();
    }
    if (res.destroyed) {
      await iterator.return?.();
      return;
    }
    res.end();
  }

  // One labels object per route, made on first use (metrics read them on every request).
  const labels = new Map<object, RouteLabels>();

  const trigger: HttpTrigger = {
    server,
    handle: serve,
    routeOf(path) {
      if (path.startsWith(WELL_KNOWN_PREFIX)) return WELL_KNOWN_LABELS;
      const match = router.route(path);
      if (match === undefined) return undefined;
      let found = labels.get(match.route);
      if (found === undefined) {
        found = { componentId: match.value.kind === 'static' ? undefined : match.value.componentId, route: match.route.raw };
        labels.set(match.route, found);
      }
      return found;
    },
    get inFlight() {
      return inFlight + (serving?.inFlight() ?? 0);
    },
    get selfOrigin() {
      return baseUrl;
    },
    async listen(listenOptions: ListenOptions = {}): Promise<string> {
      const address = parseListenAddress(listenOptions.listen ?? DEFAULT_LISTEN);
      if (options.serveFromWorkers === true && options.executor.serveHttp !== undefined && listenOptions.fd === undefined) {
        const { app, executor: _executor, serveFromWorkers: _mode, ...crossing } = options;
        serving = await options.executor.serveHttp({ app, options: crossing, address: listenOptions.listen ?? DEFAULT_LISTEN, findFreePort: listenOptions.findFreePort ?? false });
        baseUrl = `${scheme}://${formatSocketAddress(serving.address, serving.port)}`;
        return baseUrl;
      }
      if (listenOptions.fd !== undefined) await listenOnDescriptor(server, listenOptions.fd, listenOptions.expect);
      else await bindServer(server, address, listenOptions.findFreePort ?? false);
      const bound = server.address() as AddressInfo;
      baseUrl = `${scheme}://${formatSocketAddress(bound.address, bound.port)}`;
      return baseUrl;
    },
    routes(): AvailableRoute[] {
      return router.routes().map((r) => {
        const description = descriptions.get(r.id);
        return description === undefined ? r : { ...r, description };
      });
    },
    warnings(): string[] {
      const out: string[] = [];
      if (router.duplicates.length > 0) {
        out.push('The following component routes are duplicates and will never be used:');
        for (const d of router.duplicates) out.push(`  ${d.replacedId}: ${d.route} (duplicate of ${d.effectiveId})`);
      }
      if (router.containsReservedRoute()) {
        out.push(`Routes under ${WELL_KNOWN_PREFIX} are handled by the Spin runtime and will never be reached`);
      }
      return out;
    },
    startupText(format: OutputFormat = 'plain'): string {
      return formatStartup(baseUrl ?? `${scheme}://${DEFAULT_LISTEN}`, trigger.routes(), format);
    },
    async close(timeoutMs = 30_000): Promise<void> {
      draining = true;
      const workers = serving?.close(timeoutMs);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => idle.push(resolve)),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
      await workers;
    },
  };
  return trigger;
}

/** Listens on an already listening socket's descriptor (another thread bound it). */
async function listenOnDescriptor(server: http.Server | https.Server, fd: number, expected: BoundAddress | undefined): Promise<void> {
  // Its own descriptor of the socket, never the shared number (see duplicate-listener.ts).
  const handle = await duplicateListener(fd, expected);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      handle.close();
      reject(new ListenError('RUNTIME_HTTP_LISTEN_FAILED', `Cannot listen on the shared socket (descriptor ${fd}): ${err.message}.`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(handle, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** "The client went away": `res` closed before it finished. */
function goneWhenClosedEarly(res: http.ServerResponse): ClientGone {
  let gone = false;
  let listeners: Array<() => void> | undefined;
  res.once('close', () => {
    if (res.writableFinished) return;
    gone = true;
    const waiting = listeners ?? [];
    listeners = undefined;
    for (const listener of waiting) listener();
  });
  return {
    get gone() {
      return gone;
    },
    onGone(listener) {
      (listeners ??= []).push(listener);
      return () => {
        const i = listeners?.indexOf(listener) ?? -1;
        if (i >= 0) listeners?.splice(i, 1);
      };
    },
  };
}

/** An AbortSignal aborted when `gone` says the client went away. */
function signalOf(gone: ClientGone): AbortSignal {
  const controller = new AbortController();
  if (gone.gone) controller.abort();
  else gone.onGone(() => controller.abort());
  return controller.signal;
}

function hostFields(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.length === 4 && raw[i]?.toLowerCase() === 'host') n++;
  return n;
}


function safePathOf(target: string): string {
  try {
    const u = new URL(target);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}

function appInfo(app: HttpApp): { name: string; version?: string; oci_image_digest?: string } {
  const md = app.metadata ?? {};
  return {
    name: typeof md.name === 'string' ? md.name : '',
    ...(typeof md.version === 'string' ? { version: md.version } : {}),
    ...(typeof md.oci_image_digest === 'string' ? { oci_image_digest: md.oci_image_digest } : {}),
  };
}

function toBuf(v: string | Uint8Array): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
