// HTTP middleware at push, as a user meets it: a spin.toml whose trigger has
// `dependencies.middleware` (WASI 0.3 components built here from WAT), pushed to a real registry
// composed (the default, as Spin: one wasm layer holding the chain, no trigger dependencies left)
// and with --compose=false (one layer per middleware), then started with `spinel up -f`, which
// refuses it clearly: the chain is WASI 0.3, which spinel cannot run on Node 20.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentWit } from '@bytecodealliance/jco';
import { middlewareGuest, startRegistry, watComponent, type TestRegistry } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, spawnSpinel, spawnUp } from '../../test-spinel.js';

let dir: string;
let registry: TestRegistry;
const bytes: Record<'app' | 'outer' | 'inner', Uint8Array> = { app: new Uint8Array(), outer: new Uint8Array(), inner: new Uint8Array() };

function env(): NodeJS.ProcessEnv {
  return { ...process.env, SPINEL_CACHE_DIR: join(dir, 'cache'), XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_CONFIG: join(dir, 'docker') };
}

async function spinel(args: string[]): Promise<{ code: number | null; out: string }> {
  const run = spawnSpinel(args, dir, env());
  const code = await run.exited;
  return { code, out: run.output() };
}

const MANIFEST = `spin_manifest_version = 2

[application]
name = "with-middleware"
version = "0.1.0"

[[trigger.http]]
route = "/..."
component = "web"
dependencies.middleware = [{ path = "outer.wasm" }, { path = "inner.wasm", inherit_configuration = ["environment"] }]

[[trigger.http]]
route = "/plain"
component = "plain"

[component.web]
source = "app.wasm"

[component.plain]
source = "plain.wasm"
`;

interface Image {
  layers: { mediaType: string; digest: string; size: number }[];
}
interface PushedLock {
  must_understand?: string[];
  triggers: { id: string; trigger_dependencies?: unknown }[];
  components: { id: string; source: { digest: string }; trigger_dependencies?: Record<string, { source: { digest: string }; inherit?: unknown }[]>; metadata?: Record<string, unknown>; host_requirements?: Record<string, unknown> }[];
}

async function pushed(tag: string): Promise<{ image: Image; locked: PushedLock; blob: (digest: string) => Promise<Buffer> }> {
  const repo = `${registry.url}/v2/mw/app`;
  const image = (await (await fetch(`${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as Image;
  const blob = async (digest: string): Promise<Buffer> => Buffer.from(await (await fetch(`${repo}/blobs/${digest}`)).arrayBuffer());
  const locked = JSON.parse((await blob((image.layers.at(-1) as { digest: string }).digest)).toString()) as PushedLock;
  return { image, locked, blob };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-push-middleware-'));
  bytes.app = await middlewareGuest('app');
  bytes.outer = await middlewareGuest('middleware-outer');
  bytes.inner = await middlewareGuest('middleware-inner');
  await writeFile(join(dir, 'app.wasm'), bytes.app);
  await writeFile(join(dir, 'outer.wasm'), bytes.outer);
  await writeFile(join(dir, 'inner.wasm'), bytes.inner);
  const { readFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'plain.wasm'), await readFile(await watComponent('hello')));
  await writeFile(join(dir, 'spin.toml'), MANIFEST);
  registry = await startRegistry();
}, 180_000);
afterEach(() => killSpinels());
afterAll(async () => {
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('registry push with HTTP middleware', () => {
  it('composes the chain into the component\'s one wasm layer by default, as Spin pushes it', async () => {
    const result = await spinel(['registry', 'push', '--insecure', `${registry.host}/mw/app:composed`]);
    expect(result.code, result.out).toBe(0);
    const { image, locked, blob } = await pushed('composed');
    // One wasm layer per component (the composed chain, then plain), then the locked app.
    expect(image.layers.map((l) => l.mediaType)).toEqual(['application/vnd.wasm.content.layer.v1+wasm', 'application/vnd.wasm.content.layer.v1+wasm', 'application/vnd.fermyon.spin.application.v1+config']);
    const web = locked.components.find((c) => c.id === 'web');
    expect(web?.source.digest).toBe(image.layers[0]?.digest);
    expect(web?.trigger_dependencies).toBeUndefined();
    // What Spin's lock added stays: the trigger to compose with, and the host requirement.
    expect(web?.metadata).toMatchObject({ 'resolve-trigger-dependencies-using': 'http' });
    expect(web?.host_requirements).toEqual({ middleware: 'required' });
    expect(locked.must_understand).toEqual(['component_host_requirements']);
    expect(locked.triggers.every((t) => t.trigger_dependencies === undefined)).toBe(true);
    // The layer is the chain: each input nested whole, one handler exported, the outer
    // middleware's client denied (not imported), its environment kept for the component and the inner one.
    const composed = await blob(web?.source.digest as string);
    for (const input of [bytes.app, bytes.outer, bytes.inner]) expect(composed.includes(Buffer.from(input))).toBe(true);
    const wit = await componentWit(composed);
    expect(wit).toContain('export wasi:http/handler@0.3.0;');
    expect(wit).not.toContain('import wasi:http/handler@0.3.0;');
    expect(wit).not.toContain('wasi:http/client@0.3.0');
    expect(wit).toContain('import wasi:cli/environment@0.3.0;');
  }, 300_000);

  it('pushes one layer per middleware with --compose=false, the trigger dependencies pointing at them', async () => {
    const result = await spinel(['registry', 'push', '--insecure', '--compose=false', `${registry.host}/mw/app:layers`]);
    expect(result.code, result.out).toBe(0);
    const { image, locked } = await pushed('layers');
    const web = locked.components.find((c) => c.id === 'web');
    const middleware = web?.trigger_dependencies?.['middleware'] ?? [];
    expect(middleware).toHaveLength(2);
    const digests = image.layers.map((l) => l.digest);
    for (const m of middleware) expect(digests).toContain(m.source.digest);
    expect(middleware[1]?.inherit).toEqual({ Some: ['environment'] });
  }, 300_000);

  it('refuses to push a chain whose component is not a wasi:http 0.3 handler, naming it', async () => {
    const bad = await mkdtemp(join(dir, 'bad-'));
    await writeFile(join(bad, 'app.wasm'), await (await import('node:fs/promises')).readFile(join(dir, 'plain.wasm')));
    await writeFile(join(bad, 'outer.wasm'), bytes.outer);
    await writeFile(join(bad, 'inner.wasm'), bytes.inner);
    await writeFile(join(bad, 'plain.wasm'), await (await import('node:fs/promises')).readFile(join(dir, 'plain.wasm')));
    await writeFile(join(bad, 'spin.toml'), MANIFEST);
    const result = await spinel(['registry', 'push', '--insecure', '-f', bad, `${registry.host}/mw/app:bad`]);
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('RUNTIME_MIDDLEWARE_INVALID');
    expect(result.out).toContain("Component 'web' has HTTP middleware but does not export wasi:http/handler@0.3.0");
  }, 300_000);

  for (const tag of ['composed', 'layers'] as const) {
    it(`refuses to start the ${tag} artifact with spinel up -f, saying why (WASI 0.3), without crashing`, async () => {
      const run = spawnUp(['-f', `${registry.host}/mw/app:${tag}`, '--insecure'], dir, env());
      const code = await run.exited;
      const out = run.output();
      expect(code, out).toBe(1);
      expect(out).toContain('RUNTIME_MIDDLEWARE_INVALID');
      expect(out).toContain(tag === 'composed' ? "Component 'web' requires HTTP middleware" : "has HTTP middleware");
      expect(out).toContain('wasi:http/handler@0.3.0');
      expect(out).not.toMatch(/\n\s+at /);
    }, 300_000);
  }
});
