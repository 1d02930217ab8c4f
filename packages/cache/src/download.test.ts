import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from './cache.js';
import type { Cache } from './cache.js';
import { sha256Digest } from './digest.js';
import { createUrlResolver, downloadToCache } from './download.js';
import type { CacheError } from './errors.js';

const BODY = Buffer.from('\0asm component bytes '.repeat(4096));
const DIGEST = sha256Digest(BODY);

type Handler = (req: IncomingMessage, res: ServerResponse, count: number) => void;
let server: Server;
let base: string;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
let root: string;
let cache: Cache;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const count = (hits.get(path) ?? 0) + 1;
    hits.set(path, count);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    handler(req, res, count);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(async () => {
  routes.clear();
  hits.clear();
  root = await mkdtemp(join(tmpdir(), 'spinel-cache-dl-'));
  cache = openCache({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const serveBody: Handler = (_req, res) => {
  res.setHeader('content-length', BODY.length);
  res.end(BODY);
};

async function caught(promise: Promise<unknown>): Promise<CacheError> {
  try {
    await promise;
  } catch (err) {
    return err as CacheError;
  }
  throw new Error('expected a rejection');
}

const fast = { retryDelayMs: 1, maxRetryDelayMs: 5 };

describe('downloadToCache', () => {
  it('follows redirects (relative and absolute) and stores the verified body under wasm/', async () => {
    routes.set('/r1', (_req, res) => {
      res.writeHead(302, { location: '/r2' }).end();
    });
    routes.set('/r2', (_req, res) => {
      res.writeHead(301, { location: `${base}/blob` }).end('moved');
    });
    routes.set('/blob', serveBody);
    const result = await downloadToCache({ cache, url: `${base}/r1`, digest: DIGEST });
    expect(result).toMatchObject({ digest: DIGEST, size: BODY.length, kind: 'wasm', existed: false });
    expect(relative(root, result.path)).toBe(join('registry', 'wasm', DIGEST));
    expect((await cache.readBytes(DIGEST, { verify: 'full' })).equals(BODY)).toBe(true);
    expect([hits.get('/r1'), hits.get('/r2'), hits.get('/blob')]).toEqual([1, 1, 1]);
  });

  it('gives up after the redirect bound with CACHE_TOO_MANY_REDIRECTS', async () => {
    routes.set('/loop', (_req, res) => {
      res.writeHead(307, { location: '/loop' }).end();
    });
    const error = await caught(downloadToCache({ cache, url: `${base}/loop`, digest: DIGEST, maxRedirects: 3 }));
    expect(error.code).toBe('CACHE_TOO_MANY_REDIRECTS');
    expect(hits.get('/loop')).toBe(4);
  });

  it('retries a 500 and then succeeds', async () => {
    routes.set('/flaky', (req, res, count) => {
      if (count <= 2) {
        res.statusCode = 500;
        res.end('boom');
        return;
      }
      serveBody(req, res, count);
    });
    const result = await downloadToCache({ cache, url: `${base}/flaky`, digest: DIGEST, ...fast });
    expect(result.existed).toBe(false);
    expect(hits.get('/flaky')).toBe(3);
  });

  it('retries a connection reset in the middle of the body', async () => {
    routes.set('/reset', (req, res, count) => {
      if (count === 1) {
        res.setHeader('content-length', BODY.length);
        res.write(BODY.subarray(0, 1000), () => req.socket.destroy());
        return;
      }
      serveBody(req, res, count);
    });
    const result = await downloadToCache({ cache, url: `${base}/reset`, digest: DIGEST, ...fast });
    expect(result.size).toBe(BODY.length);
    expect(hits.get('/reset')).toBe(2);
    expect((await readdir(join(root, 'registry', 'wasm'))).sort()).toEqual([DIGEST]);
  });

  it('retries when the server does not answer in time', async () => {
    routes.set('/slow', (req, res, count) => {
      if (count === 1) return; // never answers
      serveBody(req, res, count);
    });
    const result = await downloadToCache({ cache, url: `${base}/slow`, digest: DIGEST, headersTimeoutMs: 200, ...fast });
    expect(result.size).toBe(BODY.length);
    expect(hits.get('/slow')).toBe(2);
  });

  it('fails with the status after the retries when the server keeps failing', async () => {
    routes.set('/down', (_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const error = await caught(downloadToCache({ cache, url: `${base}/down`, digest: DIGEST, retries: 2, ...fast }));
    expect(error.code).toBe('CACHE_DOWNLOAD_FAILED');
    expect(error.message).toContain('503');
    expect((error as CacheError & { status?: number }).status).toBe(503);
    expect(hits.get('/down')).toBe(3);
  });

  it('does not retry a 404', async () => {
    const error = await caught(downloadToCache({ cache, url: `${base}/missing`, digest: DIGEST, ...fast }));
    expect(error.code).toBe('CACHE_DOWNLOAD_FAILED');
    expect(error.message).toContain('404');
    expect(hits.get('/missing')).toBe(1);
  });

  it('refuses wrong content with CACHE_DIGEST_MISMATCH naming both digests, stores nothing, does not retry', async () => {
    const other = Buffer.from('not the component');
    routes.set('/wrong', (_req, res) => {
      res.end(other);
    });
    const error = await caught(downloadToCache({ cache, url: `${base}/wrong`, digest: DIGEST, ...fast }));
    expect(error.code).toBe('CACHE_DIGEST_MISMATCH');
    expect(error.message).toContain(DIGEST);
    expect(error.message).toContain(sha256Digest(other));
    expect(hits.get('/wrong')).toBe(1);
    expect(await entriesOf(join(root, 'registry', 'wasm'))).toEqual([]);
  });

  it('makes no request for a cached digest', async () => {
    routes.set('/blob', serveBody);
    const resolve = createUrlResolver({ cache });
    const first = await resolve(`${base}/blob`, DIGEST);
    const second = await resolve(`${base}/blob`, DIGEST);
    const elsewhere = await resolve('http://127.0.0.1:1/unreachable.wasm', DIGEST);
    expect(first).toBe(join(root, 'registry', 'wasm', DIGEST));
    expect([second, elsewhere]).toEqual([first, first]);
    expect(hits.get('/blob')).toBe(1);
  });

  it('downloads again when the cached copy is corrupt', async () => {
    routes.set('/blob', serveBody);
    const { path } = await downloadToCache({ cache, url: `${base}/blob`, digest: DIGEST });
    const corrupt = Buffer.from(BODY);
    corrupt[5] = 0x7f;
    await writeFile(path, corrupt);
    await downloadToCache({ cache, url: `${base}/blob`, digest: DIGEST });
    expect(hits.get('/blob')).toBe(2);
    expect((await cache.readBytes(DIGEST, { verify: 'full' })).equals(BODY)).toBe(true);
  });

  it('refuses a body over the size cap, declared or streamed', async () => {
    routes.set('/blob', serveBody);
    routes.set('/chunked', (_req, res) => {
      res.write(BODY.subarray(0, 40_000));
      res.end(BODY.subarray(40_000));
    });
    const declared = await caught(downloadToCache({ cache, url: `${base}/blob`, digest: DIGEST, maxBytes: 1000 }));
    expect(declared.code).toBe('CACHE_TOO_LARGE');
    const streamed = await caught(downloadToCache({ cache, url: `${base}/chunked`, digest: DIGEST, maxBytes: 50_000 }));
    expect(streamed.code).toBe('CACHE_TOO_LARGE');
    expect(await entriesOf(join(root, 'registry', 'wasm'))).toEqual([]);
  });

  it('keeps credentials and query tokens out of error messages', async () => {
    const url = `${base.replace('http://', 'http://alice:s3cret@')}/missing?token=hunter2`;
    const error = await caught(downloadToCache({ cache, url, digest: DIGEST, ...fast }));
    expect(error.code).toBe('CACHE_DOWNLOAD_FAILED');
    expect(error.message).not.toContain('s3cret');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('/missing');
  });

  it('rejects other URL schemes and bad digests before any request', async () => {
    expect((await caught(downloadToCache({ cache, url: 'file:///etc/passwd', digest: DIGEST }))).code).toBe('CACHE_DOWNLOAD_FAILED');
    expect((await caught(downloadToCache({ cache, url: `${base}/blob`, digest: 'sha256:abc' }))).code).toBe('CACHE_INVALID_DIGEST');
    expect(hits.size).toBe(0);
  });

  it('stops at once when aborted mid-body: no retry, nothing stored', async () => {
    routes.set('/stall', (_req, res) => {
      res.setHeader('content-length', BODY.length);
      res.write(BODY.subarray(0, 1000));
    });
    const controller = new AbortController();
    const pending = downloadToCache({ cache, url: `${base}/stall`, digest: DIGEST, signal: controller.signal, ...fast });
    while (hits.get('/stall') === undefined) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(hits.get('/stall')).toBe(1);
    expect(await entriesOf(join(root, 'registry', 'wasm'))).toEqual([]);
  });

  it('sends requests through the injected dispatcher', async () => {
    routes.set('/blob', serveBody);
    let dispatched = 0;
    class CountingAgent extends Agent {
      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        dispatched += 1;
        return super.dispatch(options, handler);
      }
    }
    const dispatcher = new CountingAgent();
    try {
      await downloadToCache({ cache, url: `${base}/blob`, digest: DIGEST, dispatcher });
    } finally {
      await dispatcher.close();
    }
    expect(dispatched).toBe(1);
  });
});

/** The names in a directory; none when it was never created (a refused small put writes nothing at all). */
async function entriesOf(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  });
}
