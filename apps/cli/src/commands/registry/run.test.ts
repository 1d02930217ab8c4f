import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createRegistryClient } from '@spinel/oci';
import { startRegistry, watComponent } from '@spinel/test-utils';
import type { TestRegistry } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, serve, SPINEL_BIN, type ServingRun } from '../../test-spinel.js';

// End-to-end: `spinel registry run` (= `spinel up -f REF`) serves apps pulled from a registry.
const exec = promisify(execFile);

let registry: TestRegistry;
let dir: string;
let hello: string;

beforeAll(async () => {
  [registry, hello] = await Promise.all([startRegistry(), watComponent('hello')]);
  dir = await mkdtemp(join(tmpdir(), 'spinel-registry-run-'));
}, 180_000);
afterEach(killSpinels);
afterAll(async () => {
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ ...process.env, SPINEL_CACHE_DIR: join(dir, 'cache'), XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_CONFIG: join(dir, 'docker') });

function run(args: string[]): Promise<ServingRun> {
  return serve(['registry', 'run', ...args], dir, env());
}

describe('spinel registry run', () => {
  it('runs a Spin app pushed by spinel, with its files', async () => {
    await writeFile(join(dir, 'page.txt'), Buffer.alloc(500, 'p'));
    const locked = {
      spin_lock_version: 0,
      metadata: { name: 'run-app' },
      triggers: [{ id: 'trigger-hello', trigger_type: 'http', trigger_config: { component: 'hello', route: '/...' } }],
      components: [
        {
          id: 'hello',
          source: { content_type: 'application/wasm', source: pathToFileURL(hello).href },
          files: [{ source: pathToFileURL(join(dir, 'page.txt')).href, path: '/page.txt' }],
        },
      ],
    };
    await writeFile(join(dir, 'spin.lock'), JSON.stringify(locked));
    const ref = `${registry.host}/run/app:v1`;
    await exec(process.execPath, [SPINEL_BIN, 'registry', 'push', '-f', join(dir, 'spin.lock'), ref], { cwd: dir, env: env() });
    const served = await run([ref, '--listen', '127.0.0.1:0', '--state-dir', '']);
    const res = await fetch(`${served.base}/anything`);
    expect([res.status, await res.text()]).toEqual([200, 'hello from wat\n']);
  });

  it('pushes a spin.toml with --build (component built, files copied) and runs it', async () => {
    const app = join(dir, 'toml-app');
    await mkdir(join(app, 'static'), { recursive: true });
    await writeFile(join(app, 'static', 'index.html'), Buffer.alloc(300, 'i'));
    await writeFile(
      join(app, 'spin.toml'),
      [
        'spin_manifest_version = 2',
        '[application]',
        'name = "toml-app"',
        'version = "1.2.3"',
        '[[trigger.http]]',
        'route = "/..."',
        'component = "web"',
        '[component.web]',
        'source = "web.wasm"',
        'files = [{ source = "static", destination = "/" }]',
        '[component.web.build]',
        `command = "cp ${hello} web.wasm"`,
        '',
      ].join('\n'),
    );
    const ref = `${registry.host}/run/toml:v1`;
    const pushed = await exec(process.execPath, [SPINEL_BIN, 'registry', 'push', '--build', '-f', app, ref, '--json'], { cwd: dir, env: env() });
    const json = JSON.parse(pushed.stdout) as { blobs: { mediaType: string }[] };
    expect(json.blobs.map((b) => b.mediaType).sort()).toEqual([
      'application/vnd.fermyon.spin.application.v1+config',
      'application/vnd.oci.image.config.v1+json',
      'application/vnd.wasm.content.layer.v1+data',
      'application/vnd.wasm.content.layer.v1+wasm',
    ]);
    const manifest = (await (await fetch(`${registry.url}/v2/run/toml/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as {
      annotations: Record<string, string>;
    };
    expect(manifest.annotations).toMatchObject({ 'org.opencontainers.image.title': 'toml-app', 'org.opencontainers.image.version': '1.2.3' });
    const served = await run([ref, '--listen', '127.0.0.1:0', '--state-dir', '']);
    const res = await fetch(`${served.base}/`);
    expect([res.status, await res.text()]).toEqual([200, 'hello from wat\n']);
  });

  it('runs a single-layer Wasm artifact (as `wkg oci push` writes it) on /...', async () => {
    const wasm = await readFile(hello);
    const config = Buffer.from(JSON.stringify({ architecture: 'wasm', os: 'wasip2', layerDigests: [] }));
    const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const client = createRegistryClient();
    try {
      const repo = client.repository(`${registry.host}/run/bare`);
      const wasmDescriptor = { mediaType: 'application/wasm', digest: digest(wasm), size: wasm.length };
      const configDescriptor = { mediaType: 'application/vnd.wasm.config.v0+json', digest: digest(config), size: config.length };
      await repo.pushBlob(wasmDescriptor, wasm);
      await repo.pushBlob(configDescriptor, config);
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: [wasmDescriptor] }));
      await repo.pushManifest(manifest, 'application/vnd.oci.image.manifest.v1+json', '0.1.0');
    } finally {
      await client.close();
    }
    const served = await run([`${registry.host}/run/bare:0.1.0`, '--listen', '127.0.0.1:0', '--state-dir', '']);
    const res = await fetch(`${served.base}/some/path`);
    expect([res.status, await res.text()]).toEqual([200, 'hello from wat\n']);
  });
  it('never runs a cached blob changed on disk: a same-size byte flip is refused before it runs and the blob is pulled again', async () => {
    const ref = `${registry.host}/run/tampered:v1`;
    const locked = {
      spin_lock_version: 0,
      metadata: { name: 'tampered' },
      triggers: [{ id: 'trigger-hello', trigger_type: 'http', trigger_config: { component: 'hello', route: '/...' } }],
      components: [{ id: 'hello', source: { content_type: 'application/wasm', source: pathToFileURL(hello).href } }],
    };
    await writeFile(join(dir, 'tampered.lock'), JSON.stringify(locked));
    await exec(process.execPath, [SPINEL_BIN, 'registry', 'push', '-f', join(dir, 'tampered.lock'), ref], { cwd: dir, env: env() });
    const first = await run([ref, '--listen', '127.0.0.1:0', '--state-dir', '']);
    expect(await (await fetch(`${first.base}/`)).text()).toBe('hello from wat\n');
    killSpinels();
    // The attacker's edit: the response text inside the cached component, same size, same file.
    const wasm = await readFile(hello);
    const blob = join(dir, 'cache', 'registry', 'wasm', `sha256:${createHash('sha256').update(wasm).digest('hex')}`);
    const cached = await readFile(blob);
    const at = cached.indexOf('hello from wat');
    expect(at).toBeGreaterThan(0);
    cached[at] = 'j'.charCodeAt(0);
    await writeFile(blob, cached);
    const second = await run([ref, '--listen', '127.0.0.1:0', '--state-dir', '']);
    expect(await (await fetch(`${second.base}/`)).text()).toBe('hello from wat\n');
    expect(second.output()).toContain('does not match its digest');
    expect(second.output()).toContain('fetching it again');
    expect((await readFile(blob)).equals(wasm)).toBe(true);
  });
});
