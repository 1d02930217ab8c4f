import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockApp } from './lock-app.js';
import type { RegistryPackageRequest } from './lock-app.js';
import { parseManifest } from './parse-manifest.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-registry-sources-'));
  await writeFile(join(dir, 'app.wasm'), '\0asm\u0001\0\0\0');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const TOML = `spin_manifest_version = 2
[application]
name = "pkgs"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = { registry = "registry.test", package = "acme:web", version = "1.2.3" }
[component.web.dependencies]
"acme:greeting/greet@0.1.0" = "0.1"
"other:thing/iface" = { version = "2.0.0", registry = "registry.test", package = "acme:thing", inherit_configuration = true }
`;

describe('registry package sources', () => {
  it('asks the registry resolver: an exact version for a component, requirements for dependencies, the package from the name by default', async () => {
    const asked: RegistryPackageRequest[] = [];
    const app = await lockApp(parseManifest(TOML), {
      appDir: dir,
      registryResolver: async (request) => {
        asked.push(request);
        return { path: join(dir, `${request.package.replace(':', '-')}.wasm`) };
      },
    });
    expect(asked).toEqual(
      expect.arrayContaining([
        { registry: 'registry.test', package: 'acme:web', version: '=1.2.3' },
        { package: 'acme:greeting', version: '0.1' },
        { registry: 'registry.test', package: 'acme:thing', version: '2.0.0' },
      ]),
    );
    const web = app.components[0];
    expect(web?.source.source).toBe(`file://${join(dir, 'acme-web.wasm')}`);
    expect(web?.dependencies?.['other:thing/iface']).toEqual({ source: { content_type: 'application/wasm', source: `file://${join(dir, 'acme-thing.wasm')}` }, export: null, inherit: 'All' });
  });

  it('reports a failed fetch naming the package, the registry and the dependency', async () => {
    const err = await lockApp(parseManifest(TOML), {
      appDir: dir,
      registryResolver: async (request) => {
        if (request.package === 'acme:thing') throw Object.assign(new Error('No matching version found'), { code: 'OCI_PACKAGE_NOT_FOUND' });
        return { path: join(dir, 'app.wasm') };
      },
    }).then(
      () => ({ code: 'none', message: 'locked' }),
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toContain('MANIFEST_SOURCE_RESOLVE_FAILED');
    expect(err.message).toContain('acme:thing 2.0.0 from registry.test');
    expect(err.message).toContain('OCI_PACKAGE_NOT_FOUND');
  });

  it('refuses registry sources without a resolver', async () => {
    const err = await lockApp(parseManifest(TOML), { appDir: dir }).then(
      () => ({ message: 'locked' }),
      (e: unknown) => e as { message: string },
    );
    expect(err.message).toContain('MANIFEST_REGISTRY_UNSUPPORTED');
  });
});
