import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedApp } from '@spinel/manifest';
import { createRegistryClient, type RegistryClientOptions } from '../registry-client.js';
import { MediaType } from '../media-types.js';
import type { OciTarget, PullBlobOptions } from '../target.js';
import type { Descriptor } from '../types.js';
import type { AppBlobStore } from './app-blob-store.js';
import { pullArtifact } from './pull-app.js';
import { pushApp } from './push-app.js';
import { wasmBytes, writeApp } from './test-store.js';

// How many blob downloads a pull keeps in flight with the defaults (the client's own limit,
// its own Agent's connections and pullArtifact's limit together), observed at a loopback
// proxy in front of a real registry. The proxy holds blob GETs until as many as expected are
// open at once (or a generous fallback passes), so the count does not depend on timing: a
// lower effective limit shows as a lower maximum, a missing one as a higher.

const FILES = 48;
let registry: TestRegistry;
let dir: string;
let app: LockedApp;

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-pull-concurrency-'));
  const files: Record<string, string> = {};
  // Each file above the 128-byte inline threshold, so each is a layer of its own.
  for (let i = 0; i < FILES; i++) files[`f-${i}.txt`] = `${i}:`.padEnd(200 + i, 'x');
  app = await writeApp(join(dir, 'app'), { components: [{ id: 'web', wasm: wasmBytes('concurrency'), files }] });
  const client = createRegistryClient();
  try {
    await pushApp(app, { target: client.repository(`${registry.host}/spinel/many`), tag: 'v1', sourceDateEpoch: 0 });
  } finally {
    await client.close();
  }
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('blob downloads in flight during a pull', () => {
  it('are 32 with the defaults', async () => {
    expect(await maxInFlight(32, {}, {})).toBe(32);
  }, 120_000);

  it('follow the client option when it is lower', async () => {
    expect(await maxInFlight(4, { concurrency: 4 }, {})).toBe(4);
  }, 120_000);

  it('follow the pull option when it is lower', async () => {
    expect(await maxInFlight(6, {}, { concurrency: 6 })).toBe(6);
  }, 120_000);
});

describe('blob uploads in flight during a push', () => {
  it('are 16 with the defaults', async () => {
    expect(await maxInFlight(16, {}, {}, 'push')).toBe(16);
  }, 120_000);

  it('follow the push option when it is lower', async () => {
    expect(await maxInFlight(3, {}, { concurrency: 3 }, 'push')).toBe(3);
  }, 120_000);
});

describe('small layers during a pull', () => {
  it('free their download slot before the store writes them, with at most twice the limit waiting', async () => {
    // Two downloads at once and a store that writes nothing until four layers wait in it:
    // held through the store's write, the two slots would never let a third layer reach the
    // store, and the pull would wait forever (the race below reports that).
    const concurrency = 2;
    const cache = openCache({ root: join(dir, `cache-slots-${Math.random().toString(36).slice(2)}`) });
    let downloaded = 0;
    let opened: () => void = () => undefined;
    const enoughWaiting = new Promise<void>((resolve) => (opened = resolve));
    let waiting = 0;
    let maxWaiting = 0;
    const store: AppBlobStore = {
      stat: (digest) => cache.stat(digest),
      putBytes: (digest, bytes, options) => cache.putBytes(digest, bytes, options),
      async putStream(digest, source, options) {
        waiting++;
        maxWaiting = Math.max(maxWaiting, waiting);
        if (waiting === 2 * concurrency) opened();
        try {
          await enoughWaiting;
          return await cache.putStream(digest, source, options);
        } finally {
          waiting--;
        }
      },
    };
    const client = createRegistryClient();
    const repository = client.repository(`${registry.host}/spinel/many`);
    const countingPullBlob = async <T>(descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options?: PullBlobOptions): Promise<T> => {
      const result = await repository.pullBlob(descriptor, consume, options);
      downloaded++;
      return result;
    };
    const countingReadBlob = async (descriptor: Descriptor, options?: PullBlobOptions): Promise<Buffer> => {
      const result = await repository.readBlob(descriptor, options);
      downloaded++;
      return result;
    };
    // The repository with its downloads counted (a Proxy: its methods use private fields).
    const target: OciTarget = new Proxy(repository, {
      get(object, property) {
        if (property === 'pullBlob') return countingPullBlob;
        if (property === 'readBlob') return countingReadBlob;
        const value: unknown = Reflect.get(object, property, object);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const pulled = await Promise.race([
        pullArtifact({ target, reference: 'v1', store, concurrency }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the pull stalled: download slots were held while the store waited')), 20_000))),
      ]);
      expect(pulled.blobs.filter((b) => b.outcome === 'downloaded').length).toBeGreaterThan(FILES);
      expect(downloaded).toBeGreaterThan(FILES);
      expect(maxWaiting).toBe(2 * concurrency);
      // Every layer is stored (the locked app is kept only as Spin's config.json, not as a blob).
      for (const layer of pulled.manifest.layers.filter((l) => l.mediaType !== MediaType.SpinLockedApp)) {
        expect((await cache.stat(layer.digest))?.size).toBe(layer.size);
      }
    } finally {
      clearTimeout(timer);
      await client.close();
    }
  }, 60_000);
});

/**
 * Pulls the app through a counting proxy and returns the most blob GETs it saw open at once;
 * or pushes it, counting the upload sessions being opened (each upload's first request).
 */
async function maxInFlight(expected: number, clientOptions: RegistryClientOptions, options: { concurrency?: number }, mode: 'pull' | 'push' = 'pull'): Promise<number> {
  let inFlight = 0;
  let max = 0;
  let release: () => void = () => undefined;
  const barrier = new Promise<void>((resolve) => (release = resolve));
  // Only a fallback: with the expected limit the barrier opens as soon as that many are open.
  const fallback = setTimeout(release, 15_000);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const isBlob = mode === 'pull' ? req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') : req.method === 'POST' && /\/blobs\/uploads\/$/.test(req.url ?? '');
    const forward = (): void => {
      const upstream = httpRequest(
        { host: '127.0.0.1', port: registry.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (!isBlob) return forward();
    inFlight++;
    max = Math.max(max, inFlight);
    res.on('finish', () => inFlight--);
    res.on('close', () => {
      if (!res.writableFinished) inFlight--;
    });
    if (inFlight >= expected) release();
    void barrier.then(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createRegistryClient(clientOptions);
  try {
    const suffix = Math.random().toString(36).slice(2);
    if (mode === 'push') {
      const pushed = await pushApp(app, { target: client.repository(`${host}/spinel/pushed-${suffix}`), tag: 'v1', sourceDateEpoch: 0, ...options });
      expect(pushed.blobs.filter((b) => b.outcome === 'uploaded').length).toBeGreaterThan(FILES);
      return max;
    }
    const pulled = await pullArtifact({
      target: client.repository(`${host}/spinel/many`),
      reference: 'v1',
      store: openCache({ root: join(dir, `cache-${expected}-${suffix}`) }),
      ...options,
    });
    expect(pulled.blobs.filter((b) => b.outcome === 'downloaded').length).toBeGreaterThan(FILES);
    return max;
  } finally {
    clearTimeout(fallback);
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
