/**
 * The app's HTTP listener: one port whose requests go to the version serving at the moment
 * each arrives (switching is one assignment), with the request metrics and the optional
 * request log, and a drain that loses no request the runner accepted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { AppVersion, RouteLabels } from './app-version.js';
import { RunnerError } from './errors.js';
import type { Logger } from './logger.js';
import type { RunnerMetrics } from './metrics.js';

/** The listener of the app's routes. */
export interface AppListener {
  /** Binds `host:port`; resolves with the origin (`http://0.0.0.0:3000`; the real port when 0 was asked).
   * @throws {RunnerError} `RUNNER_LISTEN` */
  listen(address: string): Promise<string>;
  /** The version that answers requests from now on; returns the one it replaces. */
  switchTo(version: AppVersion): AppVersion | undefined;
  readonly current: AppVersion | undefined;
  /** Requests being handled now, every version counted. */
  readonly inFlight: number;
  /**
   * Stops accepting connections, answers what was accepted (and what arrives on open
   * connections meanwhile, with `Connection: close`) for up to `timeoutMs`, then closes
   * every connection. The versions stay open: retire them after.
   */
  drain(timeoutMs: number): Promise<void>;
  readonly server: Server;
}

/** Options of {@link createAppListener}. */
export interface AppListenerOptions {
  metrics: RunnerMetrics;
  logger: Logger;
  /** One log line per request. @default false */
  logRequests?: boolean;
  /** How long connections idle at the start of a drain are kept for a request already on its way. @default 1000 */
  lingerMs?: number;
}

/** Creates the listener; nothing is bound until {@link AppListener.listen}. */
export function createAppListener(options: AppListenerOptions): AppListener {
  const { metrics, logger } = options;
  const lingerMs = options.lingerMs ?? 1000;
  let current: AppVersion | undefined;
  let inFlight = 0;
  let draining = false;
  let lastArrival = 0;
  const idleWaiters: Array<() => void> = [];
  // The gauge is read when scraped: nothing per request beyond the count kept here.
  metrics.onScrape(() => metrics.inFlight.set(inFlight));

  const server = createServer({ maxHeaderSize: 16 * 1024, keepAliveTimeout: 5000 });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const version = current;
    const started = performance.now();
    inFlight++;
    if (draining) {
      lastArrival = Date.now();
      res.setHeader('connection', 'close');
    }
    res.once('close', () => {
      inFlight--;
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const path = query < 0 ? url : url.slice(0, query);
      const labels = version?.labelsFor(path) ?? UNMATCHED;
      const status = res.writableFinished ? res.statusCode : 0;
      const seconds = (performance.now() - started) / 1000;
      metrics.requests.record(labels, status, seconds);
      if (options.logRequests === true) {
        logger.info('http.request', `${req.method ?? 'GET'} ${path} ${status === 0 ? 'aborted' : status}`, {
          method: req.method,
          path,
          status,
          component: labels.component,
          route: labels.route,
          duration_ms: Math.round(seconds * 1e6) / 1e3,
          digest: version?.digest,
        });
      }
      if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
    });
    if (version === undefined) {
      res.writeHead(503, { 'retry-after': '1', 'content-length': '0' }).end();
      return;
    }
    version.handle(req, res);
  });
  // A malformed request or a client going away must not take the server down (as the runtime's trigger).
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  return {
    server,
    get current() {
      return current;
    },
    get inFlight() {
      return inFlight;
    },
    async listen(address) {
      const { parseListenAddress, resolveListenHost } = await import('@spinel/runtime');
      const parsed = parseListenAddress(address);
      const host = await resolveListenHost(parsed.host);
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          server.off('listening', onListening);
          reject(new RunnerError('RUNNER_LISTEN', `Cannot listen on ${address} for the app: ${err.message}. Choose another --listen address.`, { cause: err }));
        };
        const onListening = (): void => {
          server.off('error', onError);
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen({ host, port: parsed.port, exclusive: true });
      });
      const bound = server.address() as AddressInfo;
      return `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
    },
    switchTo(version) {
      const previous = current;
      current = version;
      return previous;
    },
    async drain(timeoutMs) {
      draining = true;
      lastArrival = Date.now();
      // Stop accepting without http.Server.close(), which would also drop idle keep-alive
      // connections at once: a request a client sent just before the signal may be on its way
      // on one of them. Responses from now on carry `Connection: close`; connections still
      // open once nothing is in flight and no request came for the linger are closed.
      if (server.listening) NetServer.prototype.close.call(server);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = Date.now();
        if (now >= deadline) break;
        if (inFlight > 0) {
          await Promise.race([new Promise<void>((resolve) => idleWaiters.push(resolve)), sleep(deadline - now)]);
          continue;
        }
        const quiet = now - lastArrival;
        if (quiet < lingerMs) {
          await sleep(Math.min(lingerMs - quiet, deadline - now));
          continue;
        }
        // Timers run before the loop reads sockets: after a stall (a loaded machine) requests may
        // sit unread in socket buffers. setImmediate runs after that read, so they are seen here.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (inFlight === 0 && Date.now() - lastArrival >= lingerMs) break;
      }
      server.closeAllConnections();
    },
  };
}

/** The labels of a request no version answered (none was serving yet). */
const UNMATCHED: RouteLabels = { component: '', route: '' };

function sleep(ms: number): Promise<void> {
  // Not unref'd: a drain must keep the process alive until it ends.
  return new Promise((resolve) => setTimeout(resolve, ms));
}
