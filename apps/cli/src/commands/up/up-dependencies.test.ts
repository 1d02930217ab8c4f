// Component dependencies as a user meets them: a spin.toml with local, URL, registry-package and
// inherited dependencies served by `spinel up`, then pushed (composed, and with --compose=false) to a real
// registry and served again from it with `spinel up -f <reference>`.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryClient, pushWasmPackage } from '@spinel/oci';
import { startRegistry, writeDependencyGuest, type TestRegistry } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, spawnSpinel, startUp } from '../../test-spinel.js';

afterEach(killSpinels);

let dir: string;
let registry: TestRegistry;
let files: Server;
let filesOrigin: string;
let fileRequests = 0;
let renamedDigest: string;

function env(): NodeJS.ProcessEnv {
  return { ...process.env, SPINEL_CACHE_DIR: join(dir, 'cache'), XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_CONFIG: join(dir, 'docker') };
}

/** Starts `spinel up` and waits for its base URL (or its exit). */
const up = (args: string[], cwd: string): ReturnType<typeof startUp> => startUp(args, cwd, env());

/** Runs `spinel ARGS` in the test directory to its end. */
async function spinel(args: string[]): Promise<{ code: number | null; out: string }> {
  const run = spawnSpinel(args, dir, env());
  return { code: await run.exited, out: run.output() };
}

const ROUTES = { '/local': 'hello, world', '/url': 'hi, world', '/registry': 'hello, world', '/inherit': 'from-variable|from-file', '/plain': '-|-' } as const;

function manifest(urlDigest: string): string {
  return `spin_manifest_version = 2

[application]
name = "deps"
version = "0.1.0"

[variables]
greeting = { default = "from-variable" }

[[trigger.http]]
route = "/local/..."
component = "local"

[[trigger.http]]
route = "/url/..."
component = "url"

[[trigger.http]]
route = "/registry/..."
component = "registry"

[[trigger.http]]
route = "/inherit/..."
component = "inherit"

[[trigger.http]]
route = "/plain/..."
component = "plain"

[component.local]
source = "app.wasm"
[component.local.dependencies]
"spinel:greeting/greet" = { path = "greeter.wasm" }

[component.url]
source = "app.wasm"
[component.url.dependencies]
"spinel:greeting/greet@0.1.0" = { url = "${filesOrigin}/renamed.wasm", digest = "${urlDigest}", export = "spinel:other/hello@0.1.0" }

[component.registry]
source = "app.wasm"
[component.registry.dependencies]
"spinel:greeting/greet" = { version = "0.1", registry = "${registry.host}", package = "spinel:greeter" }

[component.inherit]
source = "app.wasm"
files = [{ source = "assets", destination = "/" }]
variables = { greeting = "{{ greeting }}" }
dependencies_inherit_configuration = true
[component.inherit.dependencies]
"spinel:greeting/greet" = { path = "reader.wasm" }

[component.plain]
source = "app.wasm"
files = [{ source = "assets", destination = "/" }]
variables = { greeting = "{{ greeting }}" }
[component.plain.dependencies]
"spinel:greeting/greet" = { path = "reader.wasm" }
`;
}

async function answers(base: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of Object.keys(ROUTES)) {
    const res = await fetch(`${base}${path}`);
    out[path] = `${res.status} ${await res.text()}`;
  }
  return out;
}

const EXPECTED = Object.fromEntries(Object.entries(ROUTES).map(([p, body]) => [p, `200 ${body}`]));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-up-deps-'));
  const served = join(dir, 'served');
  await mkdir(served, { recursive: true });
  for (const g of ['app', 'greeter', 'reader'] as const) await writeDependencyGuest(g, dir);
  const renamed = await writeDependencyGuest('renamed', served);
  renamedDigest = `sha256:${createHash('sha256').update(await readFile(renamed)).digest('hex')}`;
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'assets', 'greeting.txt'), 'from-file');
  files = createServer((req, res) => {
    fileRequests++;
    readFile(join(served, (req.url ?? '/').slice(1))).then(
      (b) => res.end(b),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesOrigin = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
  registry = await startRegistry();
  // The registry dependency: published as a wasm OCI artifact, two releases of which 0.1 picks the newer.
  const client = createRegistryClient({});
  try {
    const target = client.repository(`${registry.host}/spinel/greeter`);
    await pushWasmPackage({ target, version: '0.1.0', wasm: await readFile(join(served, 'renamed.wasm')) });
    await pushWasmPackage({ target, version: '0.1.2', wasm: await readFile(join(dir, 'greeter.wasm')) });
    await pushWasmPackage({ target, version: '0.2.0', wasm: await readFile(join(served, 'renamed.wasm')) });
  } finally {
    await client.close();
  }
  await writeFile(join(dir, 'spin.toml'), manifest(renamedDigest));
}, 180_000);

afterAll(async () => {
  await registry?.stop();
  await new Promise((r) => files?.close(r));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('spinel up and registry push with component dependencies', () => {
  it('serves local, URL (fetched once into the cache) and inherited dependencies', async () => {
    const s = await up([], dir);
    expect(s.base, s.output()).toBeDefined();
    expect(await answers(s.base as string)).toEqual(EXPECTED);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(fileRequests).toBe(1);
    // The URL dependency now comes from the cache: no second download.
    const again = await up([], dir);
    expect(await answers(again.base as string)).toEqual(EXPECTED);
    again.child.kill('SIGTERM');
    await again.exited;
    expect(fileRequests).toBe(1);
  }, 300_000);

  it('refuses to start when a URL dependency does not match its digest, naming the component, dependency and URL', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad, { recursive: true });
    const wrong = `sha256:${'0'.repeat(64)}`;
    await writeFile(join(bad, 'spin.toml'), manifest(wrong).replaceAll('"app.wasm"', JSON.stringify(join(dir, 'app.wasm'))).replaceAll('"greeter.wasm"', JSON.stringify(join(dir, 'greeter.wasm'))).replaceAll('"reader.wasm"', JSON.stringify(join(dir, 'reader.wasm'))));
    await mkdir(join(bad, 'assets'), { recursive: true });
    const s = await up([], bad);
    expect(s.base).toBeUndefined();
    expect(await s.exited).toBe(1);
    const out = s.output();
    expect(out).toContain('MANIFEST_SOURCE_RESOLVE_FAILED');
    expect(out).toContain(`${filesOrigin}/renamed.wasm`);
    expect(out).toContain('`url`');
    expect(out).toContain('spinel:greeting/greet@0.1.0');
    expect(out).toContain(wrong);
  }, 120_000);

  for (const compose of [true, false]) {
    it(`pushes ${compose ? 'composed (the default)' : 'with --compose=false'} and serves the same answers from the registry`, async () => {
      const ref = `${registry.host}/deps/app:${compose ? 'composed' : 'layers'}`;
      const pushed = await spinel(['registry', 'push', '--insecure', ...(compose ? [] : ['--compose=false']), ref]);
      expect(pushed.code, pushed.out).toBe(0);
      const repo = `${registry.url}/v2/deps/app`;
      const image = (await (await fetch(`${repo}/manifests/${compose ? 'composed' : 'layers'}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as {
        layers: { mediaType: string; digest: string }[];
      };
      const lockedLayer = image.layers.at(-1) as { digest: string };
      const locked = (await (await fetch(`${repo}/blobs/${lockedLayer.digest}`)).json()) as { components: { id: string; dependencies?: unknown }[] };
      const withDeps = locked.components.filter((c) => c.dependencies !== undefined).map((c) => c.id);
      expect(withDeps).toEqual(compose ? [] : ['local', 'url', 'registry', 'inherit', 'plain']);
      const s = await up(['-f', ref, '--insecure'], dir);
      expect(s.base, s.output()).toBeDefined();
      expect(await answers(s.base as string)).toEqual(EXPECTED);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }, 300_000);
  }
});
