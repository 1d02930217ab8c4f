import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '@spinel/cache';
import { MediaType } from '../media-types.js';
import { packageApp } from './package-app.js';
import { writeTarGz } from './archive-writer.js';
import { dirStore, storePackaged, writeApp } from './test-store.js';
import { componentIdFromReference, unpackApp } from './unpack-app.js';
import type { ImageManifest } from '../types.js';

let dir: string;
let store: ReturnType<typeof dirStore>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-unpack-'));
  store = dirStore(join(dir, 'cache'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const wasm = Buffer.from('\0asm\u0001\0\0\0component');
const ref = 'localhost:5000/demo/app:v1';

describe('unpackApp', () => {
  it('round-trips a packaged app: sources into the cache, files materialised per component', async () => {
    const files = { 'index.html': Buffer.alloc(300, 'h'), 'tiny.txt': 'tiny', 'sub/dir/deep.css': Buffer.alloc(200, 'c') };
    const app = await writeApp(join(dir, 'src'), { components: [{ id: 'web', wasm, files }, { id: 'api', wasm }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    const config = await storePackaged(store, packaged);
    const { lockedApp, format } = await unpackApp({ manifest: packaged.manifest, config, store, reference: ref, digest: packaged.manifestDigest, workDir: join(dir, 'work') });
    expect(format).toBe('spin');
    expect(lockedApp.metadata?.['origin']).toBe(`vnd.fermyon.origin-oci:${ref}`);
    expect(lockedApp.metadata?.['oci_image_digest']).toBe(packaged.manifestDigest);
    const web = lockedApp.components[0];
    expect(web?.source.digest).toBe(sha256Digest(wasm));
    expect(await readFile(fileURLToPath(web?.source.source ?? ''))).toEqual(wasm);
    expect(web?.files).toEqual([{ source: expect.stringMatching(/assets\/web$/) as string, path: '/' }]);
    const assets = fileURLToPath(web?.files?.[0]?.source ?? '');
    expect(await readFile(join(assets, 'index.html'))).toEqual(files['index.html']);
    expect(await readFile(join(assets, 'tiny.txt'), 'utf8')).toBe('tiny');
    expect(await readFile(join(assets, 'sub/dir/deep.css'))).toEqual(files['sub/dir/deep.css']);
    expect(lockedApp.components[1]?.files).toBeUndefined();
  });

  it('unpacks archive layers into the cache, one blob per file', async () => {
    // Archive mode asked for, as SPIN_OCI_ARCHIVE_LAYERS does: a few files show the expansion;
    // the switch past the layer cap is package-app.test's (files cost ~1 ms each to create here).
    const files: Record<string, Buffer> = { 'a.txt': Buffer.alloc(300, 'a'), 'sub/b.css': Buffer.alloc(200, 'b'), 'sub/deeper/c.js': Buffer.alloc(2000, 'c'), 'tiny.txt': Buffer.from('tiny') };
    const app = await writeApp(join(dir, 'src'), { components: [{ id: 'web', wasm, files }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0, archiveLayers: true });
    expect(packaged.archived).toBe(true);
    expect(packaged.manifest.layers.filter((layer) => layer.mediaType === MediaType.ArchiveLayer)).toHaveLength(1);
    const config = await storePackaged(store, packaged);
    for (const bytes of Object.values(files)) expect(await store.path(sha256Digest(bytes))).toBeUndefined();
    const { lockedApp } = await unpackApp({ manifest: packaged.manifest, config, store, reference: ref, digest: packaged.manifestDigest, workDir: join(dir, 'work') });
    const assets = fileURLToPath(lockedApp.components[0]?.files?.[0]?.source ?? '');
    for (const [name, bytes] of Object.entries(files)) {
      expect(await store.path(sha256Digest(bytes))).toBeDefined();
      expect(await readFile(join(assets, name))).toEqual(bytes);
    }
  });

  it('never leaves a stored file that no longer matches its digest in the app, small (read once) or large (copied, then hashed)', async () => {
    const { open } = await import('node:fs/promises');
    const { existsSync } = await import('node:fs');
    for (const [name, bytes] of [['small.txt', Buffer.alloc(4000, 's')], ['large.bin', Buffer.alloc(1024 * 1024 + 1, 'l')]] as const) {
      const digest = sha256Digest(bytes);
      await store.putBytes(digest, bytes, { kind: 'data' });
      await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
      const handle = await open((await store.path(digest)) ?? '', 'r+');
      await handle.write(Buffer.from('X'), 0, 1, 100);
      await handle.close();
      const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) }, files: [{ digest, path: name }] }] };
      const lockedBytes = Buffer.from(JSON.stringify(locked));
      const manifest: ImageManifest = {
        schemaVersion: 2,
        config: { mediaType: MediaType.OciConfig, digest: sha256Digest(Buffer.from('{}')), size: 2 },
        layers: [{ mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length }],
      };
      const removed: string[] = [];
      const workDir = join(dir, `w-${name}`);
      // A copy from an earlier unpack into the same directory must go too.
      await mkdir(join(workDir, 'assets', 'x'), { recursive: true });
      await writeFile(join(workDir, 'assets', 'x', name), bytes);
      const withRemove = { ...store, remove: async (d: string) => void removed.push(d) };
      await expect(unpackApp({ manifest, config: lockedBytes, store: withRemove, reference: ref, digest: 'sha256:' + '9'.repeat(64), workDir })).rejects.toMatchObject({ code: 'OCI_ARTIFACT_BLOB_CORRUPT' });
      expect(removed).toEqual([digest]);
      expect(existsSync(join(workDir, 'assets', 'x', name))).toBe(false);
    }
  });

  it('writes the last of two files mounted at one path, as writing them in order does', async () => {
    const big = Buffer.alloc(300_000, 'b');
    await store.putBytes(sha256Digest(big), big, { kind: 'data' });
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    // The first is slower to write (read from the store, hashed); it must not land last.
    const files = [{ digest: sha256Digest(big), path: 'same.txt' }, { inline: 'aGk', path: './same.txt' }];
    const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) }, files }] };
    const lockedBytes = Buffer.from(JSON.stringify(locked));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.OciConfig, digest: sha256Digest(Buffer.from('{}')), size: 2 },
      layers: [{ mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length }],
    };
    const { lockedApp } = await unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + 'a'.repeat(64), workDir: join(dir, 'w') });
    const assets = fileURLToPath(lockedApp.components[0]?.files?.[0]?.source ?? '');
    expect(await readFile(join(assets, 'same.txt'), 'utf8')).toBe('hi');
  });

  it('reads a pre-2.0 artifact with the locked app as the config blob', async () => {
    const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) }, files: [{ inline: 'aGk', path: 'hi.txt' }] }] };
    const lockedBytes = Buffer.from(JSON.stringify(locked));
    await store.putBytes(sha256Digest(lockedBytes), lockedBytes, { kind: 'data' });
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length },
      layers: [{ mediaType: MediaType.WasmLayer, digest: sha256Digest(wasm), size: wasm.length }],
    };
    const { lockedApp, format } = await unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + '0'.repeat(64), workDir: join(dir, 'work') });
    expect(format).toBe('spin');
    const assets = fileURLToPath(lockedApp.components[0]?.files?.[0]?.source ?? '');
    expect(await readFile(join(assets, 'hi.txt'), 'utf8')).toBe('hi');
  });

  it('runs a single-layer CNCF Wasm artifact as one component on /...', async () => {
    const config = Buffer.from('{"architecture":"wasm","os":"wasip2","layerDigests":[]}');
    await store.putBytes(sha256Digest(config), config, { kind: 'data' });
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.WasmConfig, digest: sha256Digest(config), size: config.length },
      layers: [{ mediaType: MediaType.Wasm, digest: sha256Digest(wasm), size: wasm.length }],
    };
    const { lockedApp, format } = await unpackApp({ manifest, store, config, reference: 'ghcr.io/me/Hello_World:1.0', digest: 'sha256:' + '1'.repeat(64), workDir: join(dir, 'work') });
    expect(format).toBe('wasm');
    expect(lockedApp.components).toHaveLength(1);
    expect(lockedApp.components[0]?.id).toBe('hello-world');
    expect(lockedApp.triggers).toEqual([{ id: 'trigger-hello-world', trigger_type: 'http', trigger_config: { component: 'hello-world', route: '/...' } }]);
    expect(await readFile(fileURLToPath(lockedApp.components[0]?.source.source ?? ''))).toEqual(wasm);
  });

  it('refuses a multi-layer artifact that is not a Spin app', async () => {
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Digest(Buffer.from('{}')), size: 2 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256Digest(Buffer.from('a')), size: 1 },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256Digest(Buffer.from('b')), size: 1 },
      ],
    };
    await expect(unpackApp({ manifest, config: Buffer.from('{}'), store, reference: ref, digest: 'sha256:' + '2'.repeat(64), workDir: dir })).rejects.toMatchObject({
      code: 'OCI_ARTIFACT_UNSUPPORTED',
      message: expect.stringContaining('found 2 layers') as string,
    });
  });

  it('refuses file paths that escape the component directory', async () => {
    const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) }, files: [{ inline: 'aGk', path: '../../evil' }] }] };
    const lockedBytes = Buffer.from(JSON.stringify(locked));
    await store.putBytes(sha256Digest(lockedBytes), lockedBytes, { kind: 'data' });
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.OciConfig, digest: sha256Digest(Buffer.from('{}')), size: 2 },
      layers: [{ mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length }],
    };
    await expect(unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + '3'.repeat(64), workDir: join(dir, 'w') })).rejects.toMatchObject({ code: 'OCI_APP_INVALID' });
  });

  it('refuses an archive layer with a symlink, and one with ..', async () => {
    const archive = writeTarGz([{ path: 'x', data: Buffer.from('y') }]);
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const tar = gunzipSync(archive);
    tar.write('2', 156, 1, 'ascii');
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i += 1) sum += tar[i] ?? 0;
    tar.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
    const evil = gzipSync(tar);
    const traversal = writeTarGz([{ path: '../../etc/x', data: Buffer.from('y') }]);
    for (const [bytes, code] of [[evil, 'OCI_ARCHIVE_ENTRY_TYPE'], [traversal, 'OCI_UNSAFE_PATH']] as const) {
      await store.putBytes(sha256Digest(bytes), bytes, { kind: 'data' });
      const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) }, files: [{ digest: sha256Digest(Buffer.from('missing')), path: 'x' }] }] };
      const lockedBytes = Buffer.from(JSON.stringify(locked));
      await store.putBytes(sha256Digest(lockedBytes), lockedBytes, { kind: 'data' });
      await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
      const manifest: ImageManifest = {
        schemaVersion: 2,
        config: { mediaType: MediaType.OciConfig, digest: sha256Digest(Buffer.from('{}')), size: 2 },
        layers: [
          { mediaType: MediaType.ArchiveLayer, digest: sha256Digest(bytes), size: bytes.length },
          { mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length },
        ],
      };
      await expect(unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + '4'.repeat(64), workDir: join(dir, 'w') })).rejects.toMatchObject({ code });
    }
    await writeFile(join(dir, 'probe'), '');
  });

  it('never follows a source URL named by the artifact', async () => {
    const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', source: 'file:///etc/passwd' } }] };
    const lockedBytes = Buffer.from(JSON.stringify(locked));
    await store.putBytes(sha256Digest(lockedBytes), lockedBytes, { kind: 'data' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.OciConfig, digest: sha256Digest(Buffer.from('{}')), size: 2 },
      layers: [{ mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length }],
    };
    await expect(unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + '5'.repeat(64), workDir: join(dir, 'w') })).rejects.toMatchObject({ code: 'OCI_APP_INVALID' });
    // With a digest as well, the cache blob is used, not the URL.
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    const withDigest = { ...locked, components: [{ id: 'x', source: { content_type: 'application/wasm', source: 'file:///etc/passwd', digest: sha256Digest(wasm) } }] };
    const withDigestBytes = Buffer.from(JSON.stringify(withDigest));
    await store.putBytes(sha256Digest(withDigestBytes), withDigestBytes, { kind: 'data' });
    const second: ImageManifest = { ...manifest, layers: [{ mediaType: MediaType.SpinLockedApp, digest: sha256Digest(withDigestBytes), size: withDigestBytes.length }] };
    const { lockedApp } = await unpackApp({ manifest: second, config: withDigestBytes, store, reference: ref, digest: 'sha256:' + '6'.repeat(64), workDir: join(dir, 'w') });
    expect(lockedApp.components[0]?.source.source).not.toContain('/etc/passwd');
    expect(await readFile(fileURLToPath(lockedApp.components[0]?.source.source ?? ''))).toEqual(wasm);
  });

  it('reads a config blob holding a locked app as one, whatever its media type (as Spin does)', async () => {
    const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) } }] };
    const lockedBytes = Buffer.from(JSON.stringify(locked));
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Digest(lockedBytes), size: lockedBytes.length },
      layers: [
        { mediaType: MediaType.WasmLayer, digest: sha256Digest(wasm), size: wasm.length },
        { mediaType: MediaType.WasmLayer, digest: sha256Digest(wasm), size: wasm.length },
      ],
    };
    const { lockedApp, format } = await unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + '7'.repeat(64), workDir: join(dir, 'w') });
    expect(format).toBe('spin');
    expect(lockedApp.components[0]?.source.digest).toBe(sha256Digest(wasm));
  });

  it('materialises file names holding a backslash, legal on Unix as in Spin', async () => {
    const locked = { spin_lock_version: 0, triggers: [], components: [{ id: 'x', source: { content_type: 'application/wasm', digest: sha256Digest(wasm) }, files: [{ inline: 'aGk', path: 'dir\\name.txt' }] }] };
    const lockedBytes = Buffer.from(JSON.stringify(locked));
    await store.putBytes(sha256Digest(wasm), wasm, { kind: 'wasm' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      config: { mediaType: MediaType.OciConfig, digest: sha256Digest(Buffer.from('{}')), size: 2 },
      layers: [{ mediaType: MediaType.SpinLockedApp, digest: sha256Digest(lockedBytes), size: lockedBytes.length }],
    };
    const { lockedApp } = await unpackApp({ manifest, config: lockedBytes, store, reference: ref, digest: 'sha256:' + '8'.repeat(64), workDir: join(dir, 'w') });
    const assets = fileURLToPath(lockedApp.components[0]?.files?.[0]?.source ?? '');
    expect(await readFile(join(assets, 'dir\\name.txt'), 'utf8')).toBe('hi');
  });

  it('derives component ids from references', () => {
    expect(componentIdFromReference('localhost:5000/a/b/my_app:v1')).toBe('my-app');
    expect(componentIdFromReference('ghcr.io/x/123@sha256:abc')).toBe('app-123');
  });
});
