/**
 * The admin listener, on its own port so probes and scrapes never queue behind app traffic
 * and the app's routes never shadow them: `/livez`, `/readyz`, `/metrics`.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Admin paths, as the Kubernetes probes and the Prometheus scrape name them. */
export const ADMIN_PATHS = { live: '/livez', ready: '/readyz', metrics: '/metrics' } as const;

/** Why the runner is or is not ready. */
export interface Readiness {
  ready: boolean;
  /** One line: what it waits for (`pulling ghcr.io/org/app:1`), or what serves (`serving sha256:…`). */
  detail: string;
}

/** Options of {@link createAdminServer}. */
export interface AdminServerOptions {
  readiness: () => Readiness;
  registry: Registry;
}

/**
 * An HTTP server answering the admin paths (GET/HEAD only): `/livez` 200 while the process
 * runs; `/readyz` 200 or 503 with the reason; `/metrics` in Prometheus text format.
 */
export function createAdminServer(options: AdminServerOptions): Server {
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0' }).end();
      return;
    }
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === ADMIN_PATHS.live) return text(200, 'ok\n');
    if (path === ADMIN_PATHS.ready) {
      const state = options.readiness();
      return text(state.ready ? 200 : 503, `${state.ready ? 'ready' : 'not ready'}: ${state.detail}\n`);
    }
    if (path === ADMIN_PATHS.metrics) {
      options.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': options.registry.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        })
        .catch((err: unknown) => text(500, `metrics failed: ${(err as Error).message}\n`));
      return;
    }
    text(404, `not found; admin paths: ${Object.values(ADMIN_PATHS).join(', ')}\n`);
  });
  return server;
}
