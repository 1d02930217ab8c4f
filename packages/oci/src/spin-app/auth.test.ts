import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { startRegistry } from '@spinel/test-utils';
import type { TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCredentials } from '../credentials.js';
import { createRegistryClient } from '../registry-client.js';
import { pullApp } from './pull-app.js';
import { pushApp } from './push-app.js';
import { writeApp } from './test-store.js';

let dir: string;
const registries: TestRegistry[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-app-auth-'));
});
afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('apps through registries that require credentials', () => {
  it.each(['htpasswd', 'token'] as const)('pushes and pulls an app with %s auth, and is refused without credentials', async (auth) => {
    const registry = await startRegistry({ auth });
    registries.push(registry);
    const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(20_000, 7)]);
    const app = await writeApp(join(dir, auth), { components: [{ id: 'web', wasm, files: { 'a.txt': Buffer.alloc(500, 'a') } }] });
    const anonymous = createRegistryClient();
    const client = createRegistryClient({ credentials: staticCredentials({ [registry.host]: { kind: 'basic', username: 'testuser', password: 'testpassword' } }) });
    try {
      await expect(pushApp(app, { target: anonymous.repository(`${registry.host}/auth/app`), tag: 'v1', sourceDateEpoch: 0 })).rejects.toMatchObject({
        code: expect.stringMatching(/^OCI_(UNAUTHORIZED|DENIED|AUTH_FAILED)$/) as string,
      });
      const pushed = await pushApp(app, { target: client.repository(`${registry.host}/auth/app`), tag: 'v1', sourceDateEpoch: 0 });
      const pulled = await pullApp({
        target: client.repository(`${registry.host}/auth/app`),
        reference: 'v1',
        store: openCache({ root: join(dir, `cache-${auth}`), fsync: false }),
        origin: `${registry.host}/auth/app:v1`,
        workDir: join(dir, `work-${auth}`),
      });
      expect(pulled.digest).toBe(pushed.digest);
    } finally {
      await anonymous.close();
      await client.close();
    }
  });
});
