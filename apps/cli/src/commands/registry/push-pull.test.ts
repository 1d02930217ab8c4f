import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry } from '@spinel/test-utils';
import type { TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// End-to-end: the built CLI (`pnpm --filter @spinel/cli build` first) against a real registry.
const exec = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../../bin/run.js');

let registry: TestRegistry;
let dir: string;
let lockPath: string;

async function spinel(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, SPINEL_CACHE_DIR: join(dir, 'cache'), XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_CONFIG: join(dir, 'docker'), ...env },
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-cli-registry-'));
  const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(4096, 1)]);
  await writeFile(join(dir, 'web.wasm'), wasm);
  await mkdir(join(dir, 'static'), { recursive: true });
  await writeFile(join(dir, 'static', 'index.html'), Buffer.alloc(1000, 'h'));
  await writeFile(join(dir, 'static', 'tiny.txt'), 'tiny');
  const locked = {
    spin_lock_version: 0,
    metadata: { name: 'cli-app', version: '0.1.0', authors: ['Ann'] },
    triggers: [{ id: 'trigger-web', trigger_type: 'http', trigger_config: { component: 'web', route: '/...' } }],
    components: [
      {
        id: 'web',
        source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'web.wasm')).href },
        files: [{ source: pathToFileURL(join(dir, 'static')).href, path: '/' }],
      },
    ],
  };
  lockPath = join(dir, 'spin.lock');
  await writeFile(lockPath, JSON.stringify(locked, null, 2));
});

afterAll(async () => {
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('spinel registry push / pull', () => {
  it('pushes a locked app and prints the digest; the same app pushed twice gives the same digest', async () => {
    const ref = `${registry.host}/cli/app:v1`;
    const first = await spinel(['registry', 'push', '-f', lockPath, '--annotation', 'custom=yes', ref], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(first.stderr).toMatch(/pushed sha256:[0-9a-f]{64}/);
    expect(first.code).toBe(0);
    const digest = /Pushed with digest (sha256:[0-9a-f]{64})/.exec(first.stdout)?.[1];
    expect(digest).toBeDefined();

    const second = await spinel(['oci', 'push', '-f', lockPath, '--annotation', 'custom=yes', ref, '--json'], { SOURCE_DATE_EPOCH: '1700000000' });
    expect(second.code).toBe(0);
    const json = JSON.parse(second.stdout) as { digest: string; totalSize: number; uploadedSize: number; blobs: { outcome: string }[] };
    expect(json.digest).toBe(digest);
    expect(json.uploadedSize).toBe(0);
    expect(json.blobs.every((b) => b.outcome === 'exists')).toBe(true);

    const manifest = (await (await fetch(`${registry.url}/v2/cli/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as {
      annotations: Record<string, string>;
    };
    expect(manifest.annotations).toMatchObject({ custom: 'yes', 'org.opencontainers.image.title': 'cli-app', 'org.opencontainers.image.created': '2023-11-14T22:13:20+00:00' });

    // --quiet: the digest alone on stdout, no progress; SPIN_OCI_ARCHIVE_LAYERS set to any value switches archive layers on.
    const quiet = await spinel(['registry', 'push', '-q', '-f', lockPath, `${registry.host}/cli/archived:v1`], { SOURCE_DATE_EPOCH: '1700000000', SPIN_OCI_ARCHIVE_LAYERS: '' });
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(quiet.stderr).toBe('');
    const archived = (await (await fetch(`${registry.url}/v2/cli/archived/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { layers: { mediaType: string }[] };
    expect(archived.layers.map((l) => l.mediaType)).toContain('application/vnd.wasm.content.bundle.v1.tar+gzip');
    const quietPull = await spinel(['registry', 'pull', '--quiet', ref]);
    expect(quietPull.stdout).toBe(`${digest}\n`);

    const pulled = await spinel(['registry', 'pull', ref]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain('Successfully pulled the app from the registry');
    expect(pulled.stdout).toContain(`Digest: ${digest}`);
    const manifestDir = join(dir, 'cache', 'registry', 'manifests', registry.host, 'cli', 'app', 'v1');
    expect((await stat(join(manifestDir, 'manifest.json'))).isFile()).toBe(true);
    expect(JSON.parse(await readFile(join(manifestDir, 'config.json'), 'utf8'))).toMatchObject({ metadata: { name: 'cli-app' } });

    const again = await spinel(['oci', 'pull', ref, '--json']);
    const pulledJson = JSON.parse(again.stdout) as { digest: string; downloadedSize: number };
    expect(pulledJson).toMatchObject({ digest, downloadedSize: 0 });
  });

  it('pushes to and pulls from an OCI layout directory', async () => {
    const pushed = await spinel(['registry', 'push', '-f', lockPath, 'oci-layout:./layout:v3', '--json']);
    expect(pushed.code).toBe(0);
    const { digest, reference } = JSON.parse(pushed.stdout) as { digest: string; reference: string };
    expect(reference).toBe(`oci-layout:${join(dir, 'layout')}:v3`);
    const index = JSON.parse(await readFile(join(dir, 'layout', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).toContain(digest);
    const pulled = await spinel(['registry', 'pull', 'oci:./layout:v3', '--cache-dir', join(dir, 'layout-cache')]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain(`Digest: ${digest}`);
  });

  it('reports bad input with a code and exit status 1', async () => {
    const badRef = await spinel(['registry', 'push', '-f', lockPath, 'Not A Reference']);
    expect(badRef.code).toBe(1);
    expect(badRef.stderr).toContain('Code: OCI_INVALID_REFERENCE');
    const badAnnotation = await spinel(['registry', 'push', '-f', lockPath, '--annotation', 'novalue', `${registry.host}/cli/app:v2`]);
    expect(badAnnotation.code).toBe(1);
    expect(badAnnotation.stderr).toContain('Code: OCI_ANNOTATION_INVALID');
    const missing = await spinel(['registry', 'pull', `${registry.host}/cli/nothing:v1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Code: OCI_MANIFEST_UNKNOWN');
  });
});
