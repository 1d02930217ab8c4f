import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A fault injected once: drop the connection half-way through the body, or answer a status. */
export type BlobFault = 'drop' | 500 | 429;

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** `host:port` of the registry behind the proxy. */
  target: string;
  /**
   * Faults for blob downloads (`GET /v2/<repo>/blobs/<digest>`): the n-th request for a
   * digest gets the n-th fault; later requests pass through.
   */
  downloadFaults?: readonly BlobFault[];
  /** Faults for the request that completes a blob upload (`PUT …?digest=<digest>`), by digest as above. */
  uploadFaults?: readonly BlobFault[];
  /** Faults for chunk PATCHes, by upload session and `Content-Range`, as above. */
  chunkFaults?: readonly BlobFault[];
  /** Faults for manifest GETs and PUTs, by path, as above. */
  manifestFaults?: readonly BlobFault[];
  /** Answer 405 to monolithic uploads (a PUT carrying the blob), as registries without them do. */
  rejectMonolithic?: boolean;
  /** Answer 405 to chunk PATCHes, as registries without chunked uploads do. */
  rejectChunked?: boolean;
  /** Add `OCI-Chunk-Min-Length` to the answers that open upload sessions. */
  chunkMinLength?: number;
}

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** Status sent, or `drop`. */
  outcome: number | 'drop';
  /** The request's `Content-Length`, when it had one. */
  contentLength?: number;
}

/** A running fault-injecting proxy. */
export interface FaultProxy {
  /** `127.0.0.1:<port>`: use it as the registry host. */
  host: string;
  port: number;
  /** Every request seen, in order. */
  readonly requests: readonly ProxiedRequest[];
  /** How many faults were injected. */
  readonly injected: number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of a test registry that injects faults once per blob: connections
 * dropped mid-body, 500, 429 with `Retry-After: 0`. The `Host` header is kept so the
 * registry's `Location` URLs point back at the proxy.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const [targetHost = '127.0.0.1', targetPort = '80'] = options.target.split(':');
  const seen = new Map<string, number>();
  const requests: ProxiedRequest[] = [];
  let injected = 0;
  const sockets = new Set<Socket>();

  const pickFault = (key: string, faults: readonly BlobFault[] | undefined): BlobFault | undefined => {
    if (!faults || faults.length === 0) return undefined;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return faults[n];
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    let fault: BlobFault | undefined;
    let faultOnResponse = false;
    const blob = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const digestParam = url.searchParams.get('digest');
    if (method === 'GET' && blob?.[1]) {
      fault = pickFault(`get ${blob[1]}`, options.downloadFaults);
      faultOnResponse = true;
    } else if (method === 'PUT' && digestParam && /\/blobs\/uploads\//.test(url.pathname)) {
      fault = pickFault(`put ${digestParam}`, options.uploadFaults);
    } else if (method === 'PATCH' && /\/blobs\/uploads\/./.test(url.pathname)) {
      fault = pickFault(`patch ${url.pathname} ${String(req.headers['content-range'])}`, options.chunkFaults);
    } else if ((method === 'GET' || method === 'PUT') && /\/manifests\//.test(url.pathname)) {
      fault = pickFault(`${method} ${url.pathname}`, options.manifestFaults);
      faultOnResponse = method === 'GET';
    }
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const record = (outcome: number | 'drop'): void => {
      requests.push({ method, path: url.pathname, outcome, ...(length === undefined ? {} : { contentLength: length }) });
    };
    const isUpload = /\/blobs\/uploads\/./.test(url.pathname);
    if ((options.rejectMonolithic && method === 'PUT' && isUpload && (length ?? 0) > 0) || (options.rejectChunked && method === 'PATCH' && isUpload)) {
      record(405);
      req.resume();
      req.on('end', () => {
        res.writeHead(405, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: 'this upload method is switched off by the test proxy' }] }));
      });
      return;
    }

    if (fault === 500 || fault === 429) {
      injected++;
      record(fault);
      req.resume();
      req.on('end', () => {
        res.writeHead(fault, { 'content-type': 'application/json', ...(fault === 429 ? { 'retry-after': '0' } : {}) });
        res.end(JSON.stringify({ errors: [{ code: fault === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: 'injected by the test proxy' }] }));
      });
      return;
    }
    if (fault === 'drop' && !faultOnResponse) {
      // Let part of the upload through, then cut the connection.
      injected++;
      record('drop');
      let received = 0;
      const limit = Number(req.headers['content-length'] ?? 0) / 2;
      req.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received >= limit) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }

    const upstream = httpRequest(
      { host: targetHost, port: Number(targetPort), method, path: req.url, headers: req.headers },
      (up) => {
        if (fault === 'drop') {
          injected++;
          record('drop');
          const length = Number(up.headers['content-length'] ?? 0);
          res.writeHead(up.statusCode ?? 502, up.headers);
          let sent = 0;
          const half = Math.max(1, Math.floor(length / 2));
          up.on('data', (chunk: Buffer) => {
            if (sent >= half) return;
            const part = chunk.subarray(0, half - sent);
            sent += part.byteLength;
            res.write(part);
            if (sent >= half) {
              up.destroy();
              // Give the bytes a moment to leave, then cut the client connection mid-body.
              setTimeout(() => res.socket?.destroy(), 10);
            }
          });
          up.on('end', () => res.socket?.destroy());
          return;
        }
        record(up.statusCode ?? 502);
        const headers = { ...up.headers };
        if (options.chunkMinLength !== undefined && method === 'POST' && up.statusCode === 202) headers['oci-chunk-min-length'] = String(options.chunkMinLength);
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      record(502);
      if (!res.headersSent) res.writeHead(502).end();
      else res.socket?.destroy();
    });
    req.pipe(upstream);
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get injected() {
      return injected;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
