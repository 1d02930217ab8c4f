import { startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from './registry-client.js';
import { collect, randomBlob } from './test-helpers.js';

const fastRetry = { minDelayMs: 1, maxDelayMs: 20 };

describe('upload strategies against registries that refuse one of them', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });
  afterAll(async () => registry?.stop());

  it('falls back to chunked when monolithic PUTs are refused', async () => {
    proxy = await startFaultProxy({ target: registry.host, rejectMonolithic: true });
    const client = createRegistryClient({ retry: fastRetry, upload: { chunkSize: 100_000 } });
    const repo = client.repository(`${proxy.host}/strategy/mono-refused`);
    const b = randomBlob(250_000);
    expect((await repo.pushBlob(b.descriptor, b.bytes)).outcome).toBe('uploaded');
    expect((await repo.pullBlob(b.descriptor, collect)).equals(b.bytes)).toBe(true);
    expect(proxy.requests.filter((r) => r.outcome === 405)).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.method === 'PATCH')).toHaveLength(3);
    await client.close();
  });

  it('falls back to monolithic when chunk PATCHes are refused', async () => {
    proxy = await startFaultProxy({ target: registry.host, rejectChunked: true });
    const client = createRegistryClient({ retry: fastRetry, upload: { monolithicMaxBytes: 1000, chunkSize: 100_000 } });
    const repo = client.repository(`${proxy.host}/strategy/chunks-refused`);
    const b = randomBlob(250_000);
    expect((await repo.pushBlob(b.descriptor, b.bytes)).outcome).toBe('uploaded');
    expect((await repo.pullBlob(b.descriptor, collect)).equals(b.bytes)).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.contentLength === 250_000)).toHaveLength(1);
    await client.close();
  });

  it('raises the chunk size to OCI-Chunk-Min-Length', async () => {
    proxy = await startFaultProxy({ target: registry.host, chunkMinLength: 300_000 });
    const client = createRegistryClient({ retry: fastRetry, upload: { mode: 'chunked', chunkSize: 64 * 1024 } });
    const repo = client.repository(`${proxy.host}/strategy/min-chunk`);
    const b = randomBlob(700_000);
    await repo.pushBlob(b.descriptor, b.bytes);
    const patches = proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.contentLength);
    expect(patches).toEqual([300_000, 300_000, 100_000]);
    expect((await repo.pullBlob(b.descriptor, collect)).equals(b.bytes)).toBe(true);
    await client.close();
  });

  it('fails with a coded error when the registry refuses both ways', async () => {
    proxy = await startFaultProxy({ target: registry.host, rejectChunked: true, rejectMonolithic: true });
    const client = createRegistryClient({ retry: fastRetry });
    const b = randomBlob(5000);
    await expect(client.repository(`${proxy.host}/strategy/none`).pushBlob(b.descriptor, b.bytes)).rejects.toMatchObject({ code: 'OCI_REGISTRY_ERROR' });
    await client.close();
  });
});

describe('resuming a chunked upload', () => {
  it('asks the session how far it got and sends only the rest after drops, 500 and 429', async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy({ target: registry.host, chunkFaults: ['drop', 500, 429] });
    const client = createRegistryClient({ retry: { retries: 5, minDelayMs: 1, maxDelayMs: 20 }, upload: { mode: 'chunked', chunkSize: 200_000 } });
    try {
      const repo = client.repository(`${proxy.host}/resume/chunks`);
      const b = randomBlob(450_000);
      expect((await repo.pushBlob(b.descriptor, b.bytes)).outcome).toBe('uploaded');
      expect((await repo.pullBlob(b.descriptor, collect)).equals(b.bytes)).toBe(true);
      // One session (one POST) for the whole blob: the faults were absorbed chunk by chunk.
      expect(proxy.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      expect(proxy.injected).toBe(9);
    } finally {
      await client.close();
      await proxy.stop();
      await registry.stop();
    }
  });
});
