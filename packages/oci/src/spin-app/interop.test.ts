import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openCache } from '@spinel/cache';
import { startRegistry } from '@spinel/test-utils';
import type { TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../registry-client.js';
import type { RegistryClient } from '../registry-client.js';
import { sha256Digest } from '@spinel/cache';
import { pullApp } from './pull-app.js';
import { pushApp } from './push-app.js';
import { writeApp } from './test-store.js';

// skopeo is an independent OCI client: if it copies our artifacts and we read its copies
// with every digest intact, what we write is what the spec (and registries) expect.
const exec = promisify(execFile);
const tlsOff = ['--src-tls-verify=false', '--dest-tls-verify=false'];

let registry: TestRegistry;
let dir: string;
let client: RegistryClient;

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-interop-'));
  client = createRegistryClient();
});
afterAll(async () => {
  await client?.close();
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('interoperability with skopeo', () => {
  it.each([false, true])('skopeo copies our app to another repository and back, and we pull it intact (archive layers: %s)', async (archiveLayers) => {
    const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(50_000, 3)]);
    const files = { 'index.html': Buffer.alloc(2000, 'i'), 'a/b/c.css': Buffer.alloc(300, 'c'), 'robots.txt': 'User-agent: *' };
    const app = await writeApp(join(dir, `app-${archiveLayers}`), { components: [{ id: 'web', wasm, files }] });
    const repo = `spinel/interop-${archiveLayers ? 'archive' : 'simple'}`;
    const pushed = await pushApp(app, { target: client.repository(`${registry.host}/${repo}`), tag: 'v1', sourceDateEpoch: 0, archiveLayers });

    const raw = await exec('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/${repo}:v1`]);
    expect(Buffer.from(raw.stdout).equals(pushed.packaged.manifestBytes)).toBe(true);
    const inspected = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/${repo}:v1`]);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ Digest: pushed.digest, Architecture: 'wasm' });

    await exec('skopeo', ['copy', ...tlsOff, `docker://${registry.host}/${repo}:v1`, `docker://${registry.host}/${repo}-copy:v1`]);
    await exec('skopeo', ['copy', ...tlsOff, `docker://${registry.host}/${repo}-copy:v1`, `docker://${registry.host}/${repo}-back:v1`]);

    const cache = openCache({ root: join(dir, `cache-${archiveLayers}`), fsync: false });
    const pulled = await pullApp({
      target: client.repository(`${registry.host}/${repo}-back`),
      reference: 'v1',
      store: cache,
      origin: `${registry.host}/${repo}-back:v1`,
      workDir: join(dir, `work-${archiveLayers}`),
    });
    expect(pulled.digest).toBe(pushed.digest);
    expect(pulled.manifestBytes.equals(pushed.packaged.manifestBytes)).toBe(true);
    const web = pulled.lockedApp.components[0];
    expect(sha256Digest(await readFile(fileURLToPath(web?.source.source ?? '')))).toBe(sha256Digest(wasm));
    const assets = fileURLToPath(web?.files?.[0]?.source ?? '');
    for (const [path, content] of Object.entries(files)) {
      expect(sha256Digest(await readFile(join(assets, path)))).toBe(sha256Digest(Buffer.from(content)));
    }
  });

  it('skopeo copies our app into an OCI layout directory with the same manifest digest', async () => {
    const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(1000, 4)]);
    const app = await writeApp(join(dir, 'app-layout'), { components: [{ id: 'api', wasm }] });
    const pushed = await pushApp(app, { target: client.repository(`${registry.host}/spinel/layout`), tag: 'v1', sourceDateEpoch: 0 });
    const layout = join(dir, 'layout');
    await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/spinel/layout:v1`, `oci:${layout}:v1`]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).toContain(pushed.digest);
  });
});
