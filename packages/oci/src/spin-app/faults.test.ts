import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache, verifyCache } from '@spinel/cache';
import { startFaultProxy, startRegistry } from '@spinel/test-utils';
import type { FaultProxy, TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../registry-client.js';
import { sha256Digest } from '@spinel/cache';
import { pullApp } from './pull-app.js';
import { pushApp } from './push-app.js';
import { writeApp } from './test-store.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-app-faults-'));
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('push and pull of an app through a faulty connection', () => {
  it('finish with correct digests and leave nothing corrupt in the cache', async () => {
    proxy = await startFaultProxy({ target: registry.host, uploadFaults: ['drop', 500, 429], downloadFaults: ['drop', 500, 429] });
    const client = createRegistryClient({ retry: { minDelayMs: 1, maxDelayMs: 20, retries: 5 } });
    try {
      const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(600_000, 5)]);
      const files = { 'a.html': Buffer.alloc(3000, 'a'), 'b.css': Buffer.alloc(900, 'b') };
      const app = await writeApp(join(dir, 'app'), { components: [{ id: 'web', wasm, files }] });
      const target = client.repository(`${proxy.host}/faults/app`);
      const pushed = await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
      expect(pushed.digest).toBe(pushed.packaged.manifestDigest);

      const cache = openCache({ root: join(dir, 'cache'), fsync: false });
      const pulled = await pullApp({ target, reference: 'v1', store: cache, origin: 'faults', workDir: join(dir, 'work') });
      expect(pulled.digest).toBe(pushed.digest);
      expect(pulled.lockedApp.components[0]?.source.digest).toBe(sha256Digest(wasm));
      expect(proxy.injected).toBeGreaterThanOrEqual(2 * 3 * 3); // every fault, for at least three blobs each way
      const report = await verifyCache(cache, { remove: false });
      expect(report.corrupt).toEqual([]);
      // Every layer but the locked app (kept as config.json where Spin keeps it; the image config is not needed).
      expect(report.checked).toBeGreaterThanOrEqual(pushed.blobs.length - 2);
      // No temporary files left behind by the failed attempts.
      for (const kind of ['wasm', 'data']) {
        const names = await readdir(join(dir, 'cache', 'registry', kind));
        expect(names.every((name) => name.startsWith('sha256:'))).toBe(true);
      }
    } finally {
      await client.close();
    }
  });
});
