import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from './media-types.js';
import { createRegistryClient } from './registry-client.js';
import { makeImage, pushImage } from './test-helpers.js';

const fastRetry = { retries: 5, minDelayMs: 1, maxDelayMs: 20 };

describe('transfers through a proxy that drops connections and answers 500/429 once per blob', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let cacheRoot: string;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy({
      target: registry.host,
      downloadFaults: ['drop', 500, 429],
      uploadFaults: ['drop', 500, 429],
      manifestFaults: [500, 429],
    });
    cacheRoot = await mkdtemp(join(tmpdir(), 'spinel-oci-faults-'));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (cacheRoot) await rm(cacheRoot, { recursive: true, force: true });
  });

  for (const mode of ['monolithic', 'chunked'] as const) {
    it(`push (${mode}) and pull finish with correct digests and nothing corrupt in the cache`, async () => {
      const client = createRegistryClient({ retry: fastRetry, upload: { mode, chunkSize: 256 * 1024 } });
      const repo = client.repository(`${proxy.host}/faults/${mode}`);
      const image = makeImage([2 * 1024 * 1024 + 3, 300 * 1024, 50]);
      const injectedBefore = proxy.injected;
      const pushed = await pushImage(repo, image, 'v1');
      expect(pushed.digest).toMatch(/^sha256:/);

      // The registry behind the proxy holds exactly what we pushed.
      const direct = createRegistryClient({ retry: fastRetry }).repository(`${registry.host}/faults/${mode}`);
      const stored = await direct.fetchManifest('v1');
      expect(stored.bytes.equals(image.manifest)).toBe(true);

      const fetched = await repo.fetchManifest('v1');
      expect(fetched.descriptor.digest).toBe(pushed.digest);
      const cache = openCache({ root: join(cacheRoot, mode) });
      for (const layer of [image.config, ...image.layers]) {
        const put = await repo.pullBlob(layer.descriptor, (stream) => cache.putStream(layer.descriptor.digest, stream, { size: layer.descriptor.size }));
        expect(put.digest).toBe(layer.descriptor.digest);
        const onDisk = await readFile(put.path);
        expect(`sha256:${createHash('sha256').update(onDisk).digest('hex')}`).toBe(layer.descriptor.digest);
      }
      expect(proxy.injected - injectedBefore).toBeGreaterThanOrEqual(20);
      expect(proxy.requests.some((r) => r.outcome === 'drop')).toBe(true);

      // Every file in the cache's blob directories is named by its content's digest.
      const dataDir = join(cacheRoot, mode, 'registry', 'data');
      for (const name of await readdir(dataDir)) {
        const bytes = await readFile(join(dataDir, name));
        expect(name.replace('_', ':')).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      }
      await client.close();
    });
  }

  it('pushes a manifest despite a 500 and a 429', async () => {
    const client = createRegistryClient({ retry: fastRetry });
    const repo = client.repository(`${proxy.host}/faults/manifest`);
    const image = makeImage([10]);
    const pushed = await pushImage(repo, image, 'm1');
    expect((await repo.fetchManifest('m1')).descriptor.digest).toBe(pushed.digest);
    expect(pushed.mediaType).toBe(MediaType.OciManifest);
    await client.close();
  });
});

describe('copy between two registries through faulty proxies', () => {
  it('restarts the pull when the upload fails after the stream was read, keeping every digest', async () => {
    const a = await startRegistry();
    const b = await startRegistry();
    const from = await startFaultProxy({ target: a.host, downloadFaults: ['drop', 500] });
    const to = await startFaultProxy({ target: b.host, uploadFaults: ['drop', 429] });
    const client = createRegistryClient({ retry: fastRetry });
    try {
      const image = makeImage([600 * 1024, 1000]);
      const pushed = await pushImage(client.repository(`${a.host}/copy/src`), image, 'v1');
      const { copy } = await import('./copy.js');
      const result = await copy(client.repository(`${from.host}/copy/src`), client.repository(`${to.host}/copy/dst`), 'v1');
      expect(result.descriptor.digest).toBe(pushed.digest);
      expect(result.copied).toBe(3);
      const dest = client.repository(`${b.host}/copy/dst`);
      expect((await dest.fetchManifest('v1')).bytes.equals(image.manifest)).toBe(true);
      for (const layer of image.layers) {
        const bytes = await dest.pullBlob(layer.descriptor, async (s) => {
          const chunks: Buffer[] = [];
          for await (const c of s) chunks.push(c as Buffer);
          return Buffer.concat(chunks);
        });
        expect(bytes.equals(layer.bytes)).toBe(true);
      }
      expect(from.injected).toBeGreaterThanOrEqual(6);
      expect(to.injected).toBeGreaterThanOrEqual(6);
    } finally {
      await client.close();
      await from.stop();
      await to.stop();
      await a.stop();
      await b.stop();
    }
  });
});

describe('resuming a dropped download', () => {
  it('asks for the rest with Range, so the consumer sees one unbroken verified stream', async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy({ target: registry.host, downloadFaults: ['drop'] });
    const client = createRegistryClient({ retry: fastRetry });
    try {
      const image = makeImage([1024 * 1024 + 11]);
      await pushImage(client.repository(`${registry.host}/resume/app`), image, 'v1');
      const layer = image.layers[0]!;
      let consumed = 0;
      const bytes = await client.repository(`${proxy.host}/resume/app`).pullBlob(layer.descriptor, async (stream) => {
        consumed++;
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      });
      expect(bytes.equals(layer.bytes)).toBe(true);
      expect(consumed).toBe(1);
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).map((r) => r.outcome)).toEqual(['drop', 206]);
    } finally {
      await client.close();
      await proxy.stop();
      await registry.stop();
    }
  });
});
