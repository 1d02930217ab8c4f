import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { openImageLayout } from './image-layout.js';
import { MediaType } from './media-types.js';
import { fetchImageManifest } from './platform.js';
import { createRegistryClient, type RegistryClient } from './registry-client.js';
import { openTarget } from './open-target.js';
import { parseTargetReference } from './target-reference.js';
import { collect, makeImage, pushImage } from './test-helpers.js';
import type { ImageIndex } from './types.js';

const run = promisify(execFile);

describe('OCI image layout', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spinel-oci-layout-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('round-trips an image: write, reopen, read by tag and digest', async () => {
    const root = join(dir, 'round-trip');
    await expect(openImageLayout(root)).rejects.toMatchObject({ code: 'OCI_LAYOUT_INVALID' });
    const layout = await openImageLayout(root, { create: true });
    const image = makeImage([5000, 20]);
    const pushed = await pushImage(layout, image, 'v1');
    await pushImage(layout, image, 'v2');
    const reopened = await openImageLayout(root);
    expect((await reopened.listTags()).sort()).toEqual(['v1', 'v2']);
    const byTag = await reopened.fetchManifest('v1');
    expect(byTag.descriptor.digest).toBe(pushed.digest);
    expect(byTag.bytes.equals(image.manifest)).toBe(true);
    expect((await reopened.fetchManifest(pushed.digest)).descriptor.mediaType).toBe(MediaType.OciManifest);
    for (const layer of image.layers) expect((await reopened.pullBlob(layer.descriptor, collect)).equals(layer.bytes)).toBe(true);
    expect(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    // Re-tagging replaces the entry instead of adding a second v1.
    await pushImage(layout, makeImage([1]), 'v1');
    const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as ImageIndex;
    expect(index.manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'v1')).toHaveLength(1);
  });

  it('refuses a corrupted blob and a wrong upload, storing nothing bad', async () => {
    const layout = await openImageLayout(join(dir, 'corrupt'), { create: true });
    const image = makeImage([100]);
    await pushImage(layout, image, 'v1');
    const layer = image.layers[0]!;
    await writeFile(layout.blobPath(layer.descriptor.digest), Buffer.alloc(100, 1));
    await expect(layout.pullBlob(layer.descriptor, collect)).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    const other = makeImage([10]).layers[0]!;
    await expect(layout.pushBlob(other.descriptor, Buffer.alloc(10, 7))).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    expect(await layout.hasBlob(other.descriptor)).toBe(false);
  });

  it('parses layout references', () => {
    expect(parseTargetReference('oci:/tmp/x:v1', { cwd: '/' })).toEqual({ kind: 'layout', path: '/tmp/x', tag: 'v1' });
    expect(parseTargetReference('./dir', { cwd: '/work' })).toEqual({ kind: 'layout', path: '/work/dir', tag: 'latest' });
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(parseTargetReference(`oci:rel/dir@${digest}`, { cwd: '/w' })).toEqual({ kind: 'layout', path: '/w/rel/dir', digest });
    expect(parseTargetReference('ghcr.io/a/b:1', { cwd: '/' })).toMatchObject({ kind: 'registry', reference: { registry: 'ghcr.io', repository: 'a/b', tag: '1' } });
  });
});

describe('copy between targets', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry();
    client = createRegistryClient({ retry: { minDelayMs: 1, maxDelayMs: 20 } });
    dir = await mkdtemp(join(tmpdir(), 'spinel-oci-copy-'));
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registry → layout → registry keeps every digest', async () => {
    const source = client.repository(`${registry.host}/copy/source`);
    const image = makeImage([1024 * 1024, 300, 7]);
    const pushed = await pushImage(source, image, 'v1');

    const layout = await openImageLayout(join(dir, 'l1'), { create: true });
    const toLayout = await copy(source, layout, 'v1');
    expect(toLayout.descriptor.digest).toBe(pushed.digest);
    expect(toLayout.copied).toBe(4);
    expect((await layout.fetchManifest('v1')).bytes.equals(image.manifest)).toBe(true);

    const back = client.repository(`${registry.host}/copy/back`);
    const toRegistry = await copy(layout, back, 'v1', { tag: 'restored' });
    expect(toRegistry.descriptor.digest).toBe(pushed.digest);
    const restored = await fetchImageManifest(back, 'restored');
    expect(restored.manifest.descriptor.digest).toBe(pushed.digest);
    for (const layer of image.layers) expect((await back.pullBlob(layer.descriptor, collect)).equals(layer.bytes)).toBe(true);

    // Copying again moves no bytes.
    const again = await copy(layout, back, 'v1', { tag: 'restored' });
    expect(again).toMatchObject({ copied: 0, skipped: 4 });
  });

  it('registry → registry on the same registry mounts instead of copying bytes', async () => {
    const source = client.repository(`${registry.host}/copy/mount-src`);
    const image = makeImage([4096, 10]);
    const pushed = await pushImage(source, image, 'v1');
    const dest = client.repository(`${registry.host}/copy/mount-dst`);
    const result = await copy(source, dest, 'v1');
    expect(result).toMatchObject({ copied: 0, skipped: 3 });
    expect((await dest.fetchManifest('v1')).descriptor.digest).toBe(pushed.digest);
  });

  it('copies an index with its children, and skopeo reads the layout we wrote', async () => {
    const source = client.repository(`${registry.host}/copy/index`);
    const a = await pushImage(source, makeImage([100]));
    const b = await pushImage(source, makeImage([200]));
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { ...a, platform: { os: 'wasi', architecture: 'wasm' } },
        { ...b, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    };
    const indexDesc = await source.pushManifest(Buffer.from(JSON.stringify(index)), MediaType.OciIndex, 'multi');
    const layoutDir = join(dir, 'index-layout');
    const layout = await openImageLayout(layoutDir, { create: true });
    const result = await copy(source, layout, 'multi');
    expect(result.descriptor.digest).toBe(indexDesc.digest);
    expect((await fetchImageManifest(layout, 'multi')).manifest.descriptor.digest).toBe(a.digest);

    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layoutDir}:multi`]);
    expect(JSON.parse(raw.stdout)).toEqual(index);
    const { target, reference } = await openTarget(`oci:${layoutDir}:multi`, { client, cwd: '/' });
    const back = client.repository(`${registry.host}/copy/index-back`);
    expect((await copy(target, back, reference)).descriptor.digest).toBe(indexDesc.digest);
  });
});
