// Each executor owns the registry of host interfaces it serves: an executor started with
// capabilities must not widen what a later executor without them accepts at load (a module-level
// registry once did exactly that), nor the other way round.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { createAppCapabilities } from '../services/app-capabilities.js';
import { createExecutor } from './create-executor.js';
import { buildGuest } from '../../test/test-guest-build.js';
import { testApp } from '../../test/test-app.js';

let dir: string;
let cache: Cache;
let app: LockedApp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-registry-'));
  cache = openCache({ root: join(dir, 'cache') });
  // A componentize-js guest importing fermyon:spin/key-value@2.0.0 and fermyon:spin/variables@2.0.0.
  app = testApp([{ id: 'guest', path: await buildGuest(), metadata: { key_value_stores: ['default'] } }]);
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadWithCapabilities(): Promise<void> {
  const capabilities = await createAppCapabilities({ app, keyValue: { stateDir: join(dir, 'state') } });
  try {
    const executor = await createExecutor({ app, cache, capabilities, workers: 1, logDir: null });
    await executor.close();
  } finally {
    await capabilities.close();
  }
}

describe('import registries are per executor', () => {
  it('refuses capability imports in an executor without capabilities, before and after one with them', async () => {
    const refusal = { code: 'RUNTIME_UNSUPPORTED_IMPORTS', message: expect.stringContaining('fermyon:spin/key-value@2.0.0') };
    await expect(createExecutor({ app, cache, workers: 1, logDir: null })).rejects.toMatchObject(refusal);
    await loadWithCapabilities();
    await expect(createExecutor({ app, cache, workers: 1, logDir: null })).rejects.toMatchObject(refusal);
    // …and the executor with capabilities still accepts them afterwards.
    // Preparing a componentize-js guest (transpile, resettable rewrite) takes seconds; more on a busy machine.
    await loadWithCapabilities();
  }, 300_000);
});
