// Wasm packages (Spin's registry dependencies) against a real registry: published as wasm OCI
// artifacts, resolved by version requirement, verified into a blob store.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient, type RegistryClient } from '../registry-client.js';
import { dirStore } from '../spin-app/test-store.js';
import { pullWasmPackage } from './pull-wasm-package.js';
import { pushWasmPackage } from './push-wasm-package.js';

let registry: TestRegistry;
let client: RegistryClient;
let dir: string;
const wasm = (tag: string): Buffer => Buffer.concat([Buffer.from('\0asm\r\0\u0001\0'), Buffer.from(tag)]);

beforeAll(async () => {
  registry = await startRegistry();
  client = createRegistryClient({});
  dir = await mkdtemp(join(tmpdir(), 'spinel-wasm-package-'));
  const target = client.repository(`${registry.host}/acme/greeter`);
  for (const version of ['0.1.0', '0.1.4', '0.2.0', '1.0.0-rc.1']) await pushWasmPackage({ target, version, wasm: wasm(version) });
  // A release that is not a Wasm package: no layers.
  const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
  await target.pushBlob(empty, Buffer.from('{}'));
  await target.pushManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: empty, layers: [] })), 'application/vnd.oci.image.manifest.v1+json', '0.3.0');
}, 120_000);

afterAll(async () => {
  await client?.close();
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('pullWasmPackage', () => {
  it('chooses the highest release satisfying the requirement and stores its verified Wasm', async () => {
    const store = dirStore(join(dir, 'store1'));
    const pulled = await pullWasmPackage({ registry: registry.host, package: 'acme:greeter', version: '0.1', store, client });
    expect(pulled.version).toBe('0.1.4');
    expect(pulled.reference).toBe(`${registry.host}/acme/greeter:0.1.4`);
    expect(await readFile(pulled.path)).toEqual(wasm('0.1.4'));
    const exact = await pullWasmPackage({ registry: registry.host, package: 'acme:greeter', version: '=0.1.0', store, client });
    expect(await readFile(exact.path)).toEqual(wasm('0.1.0'));
  });

  it('says which versions exist when none satisfies the requirement', async () => {
    const err = await pullWasmPackage({ registry: registry.host, package: 'acme:greeter', version: '2', store: dirStore(join(dir, 'store2')), client }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('OCI_PACKAGE_NOT_FOUND');
    expect(err?.message).toContain('acme:greeter 2');
    expect(err?.message).toContain('0.1.4');
  });

  it('refuses an artifact that is not one Wasm layer, and malformed names and requirements', async () => {
    const store = dirStore(join(dir, 'store3'));
    const notWasm = await pullWasmPackage({ registry: registry.host, package: 'acme:greeter', version: '=0.3.0', store, client }).then(
      () => undefined,
      (e: unknown) => e as { code: string },
    );
    expect(notWasm?.code).toBe('OCI_ARTIFACT_UNSUPPORTED');
    await expect(pullWasmPackage({ registry: registry.host, package: 'greeter', version: '1', store, client })).rejects.toMatchObject({ code: 'OCI_INVALID_REFERENCE' });
    await expect(pullWasmPackage({ registry: registry.host, package: 'acme:greeter', version: 'newest', store, client })).rejects.toMatchObject({ code: 'OCI_INVALID_REFERENCE' });
  });
});
