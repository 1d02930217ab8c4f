import { mkdtemp, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCache } from '@spinel/cache';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { startRegistry } from '@spinel/test-utils';
import type { TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../registry-client.js';
import type { RegistryClient } from '../registry-client.js';
import { sha256Digest } from '@spinel/cache';
import { MediaType } from '../media-types.js';
import { pullApp, pullArtifact } from './pull-app.js';
import { packageApp } from './package-app.js';
import { pushApp, pushPackaged } from './push-app.js';
import { writeApp } from './test-store.js';

let registry: TestRegistry;
let dir: string;
let client: RegistryClient;
const requests: string[] = [];

function countingAgent(): Dispatcher {
  return new Agent({ connections: 16 }).compose((dispatch) => (opts, handler) => {
    requests.push(`${opts.method} ${String(opts.path).split('?')[0]}`);
    return dispatch(opts, handler);
  });
}

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-push-pull-'));
  client = createRegistryClient({ dispatcher: countingAgent() });
});
afterAll(async () => {
  await client?.close();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

const wasmA = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(300_000, 'a')]);
const wasmB = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(1000, 'b')]);

describe('pushApp / pullApp against a real registry', () => {
  it('pushes, pulls and unpacks with digests intact; a warm pull makes one manifest request and no blob request', async () => {
    const files = { 'index.html': Buffer.alloc(5000, 'h'), 'small.txt': 'small', 'css/site.css': Buffer.alloc(400, 'c') };
    const app = await writeApp(join(dir, 'app1'), { components: [{ id: 'web', wasm: wasmA, files }, { id: 'api', wasm: wasmB }] });
    const target = client.repository(`${registry.host}/spinel/app1`);
    const pushed = await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
    expect(pushed.digest).toBe(pushed.packaged.manifestDigest);
    expect(pushed.blobs.every((b) => b.outcome === 'uploaded')).toBe(true);
    // Inlined small.txt is not pushed: config + 2 wasm + 2 data + locked app.
    expect(pushed.blobs).toHaveLength(6);

    const again = await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
    expect(again.digest).toBe(pushed.digest);
    expect(again.blobs.every((b) => b.outcome === 'exists')).toBe(true);
    expect(again.uploadedSize).toBe(0);

    const cache = openCache({ root: join(dir, 'cache') });
    const pulled = await pullApp({
      target,
      reference: 'v1',
      store: cache,
      origin: `${registry.host}/spinel/app1:v1`,
      spinCacheLocation: { registry: registry.host, repository: 'spinel/app1', tag: 'v1' },
      workDir: join(dir, 'work1'),
    });
    expect(pulled.digest).toBe(pushed.digest);
    expect(pulled.format).toBe('spin');
    expect(pulled.lockedApp.metadata?.origin).toBe(`vnd.fermyon.origin-oci:${registry.host}/spinel/app1:v1`);
    expect(pulled.lockedApp.metadata?.oci_image_digest).toBe(pushed.digest);
    const web = pulled.lockedApp.components.find((c) => c.id === 'web');
    expect(web?.source.digest).toBe(sha256Digest(wasmA));
    expect(sha256Digest(await readFile(fileURLToPath(web?.source.source ?? '')))).toBe(sha256Digest(wasmA));
    const assets = fileURLToPath(web?.files?.[0]?.source ?? '');
    expect(await readFile(join(assets, 'index.html'))).toEqual(files['index.html']);
    expect(await readFile(join(assets, 'small.txt'), 'utf8')).toBe('small');
    expect(await readFile(join(assets, 'css/site.css'))).toEqual(files['css/site.css']);
    // Spin's cache layout: manifest.json and the locked app as config.json.
    const stored = await cache.readManifest({ registry: registry.host, repository: 'spinel/app1', tag: 'v1' });
    expect(stored?.manifest.equals(pushed.packaged.manifestBytes)).toBe(true);
    expect(JSON.parse(stored?.config?.toString() ?? '{}')).toMatchObject({ spin_lock_version: 0 });

    // The locked-app layer is kept only as config.json: Spin, finding it under data/, would skip
    // writing its own config.json and then fail to load the app from a shared cache.
    const lockedLayer = pushed.packaged.layers.at(-1)?.descriptor;
    expect(lockedLayer?.mediaType).toBe(MediaType.SpinLockedApp);
    expect(await cache.stat(lockedLayer?.digest ?? '')).toBeUndefined();
    expect(stored?.config?.equals(await readFile(join(dir, 'cache', 'registry', 'manifests', registry.host, 'spinel', 'app1', 'v1', 'config.json')))).toBe(true);

    requests.length = 0;
    const warm = await pullApp({
      target,
      reference: 'v1',
      store: cache,
      origin: 'x',
      spinCacheLocation: { registry: registry.host, repository: 'spinel/app1', tag: 'v1' },
      workDir: join(dir, 'work2'),
    });
    expect(warm.digest).toBe(pushed.digest);
    expect(warm.blobs.every((b) => b.outcome === 'cached' || b.outcome === 'not-needed')).toBe(true);
    expect(requests.filter((r) => r.includes('/manifests/'))).toEqual(['GET /v2/spinel/app1/manifests/v1']);
    expect(requests.filter((r) => r.includes('/blobs/'))).toEqual([]);
  });

  it('requests per pushed blob: a small new blob POST and PUT (no HEAD), a large one HEAD first; blobs the tag lists are not asked about', async () => {
    const pushRequests = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const r of requests) {
        const [method, path = ''] = r.split(' ');
        const kind = path.includes('/manifests/') ? 'manifest' : path.includes('/blobs/uploads/') ? 'upload' : path.includes('/blobs/') ? 'blob' : 'other';
        counts[`${method} ${kind}`] = (counts[`${method} ${kind}`] ?? 0) + 1;
      }
      return counts;
    };
    const wasmLarge = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(200_000, 'L')]);
    const files = { 'a.html': Buffer.alloc(3000, 'a'), 'b.css': Buffer.alloc(2000, 'b'), 'c.js': Buffer.alloc(1000, 'c') };
    const app = await writeApp(join(dir, 'app-requests'), { components: [{ id: 'web', wasm: wasmLarge, files }] });
    const target = client.repository(`${registry.host}/spinel/requests`);

    requests.length = 0;
    const first = await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
    // config, 3 files, locked app: small; the component: large (asked about first).
    expect(first.blobs).toHaveLength(6);
    expect(first.blobs.every((b) => b.outcome === 'uploaded')).toBe(true);
    expect(pushRequests()).toEqual({ 'GET manifest': 1, 'HEAD blob': 1, 'POST upload': 6, 'PUT upload': 6, 'PUT manifest': 1 });

    // The same app again: the tag's manifest lists every blob, so no blob request at all.
    requests.length = 0;
    const again = await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
    expect(again.digest).toBe(first.digest);
    expect(again.blobs.every((b) => b.outcome === 'exists')).toBe(true);
    expect(pushRequests()).toEqual({ 'GET manifest': 1, 'PUT manifest': 1 });

    // One file changed: it, the locked app and the config are sent; the rest is not asked about.
    const changed = await writeApp(join(dir, 'app-requests'), { components: [{ id: 'web', wasm: wasmLarge, files: { ...files, 'c.js': Buffer.alloc(1000, 'C') } }] });
    requests.length = 0;
    const third = await pushApp(changed, { target, tag: 'v1', sourceDateEpoch: 0 });
    expect(third.blobs.filter((b) => b.outcome === 'uploaded')).toHaveLength(3);
    expect(pushRequests()).toEqual({ 'GET manifest': 1, 'POST upload': 3, 'PUT upload': 3, 'PUT manifest': 1 });

    // A blob the tag lists deleted from the repository since: the registry refuses the manifest,
    // and the push sends the listed blobs the normal way (asking first) and succeeds.
    const page = third.blobs.find((b) => b.descriptor.size === 3000)?.descriptor.digest ?? '';
    const deleted = await fetch(`${registry.url}/v2/spinel/requests/blobs/${page}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);
    const repaired = await pushApp(changed, { target, tag: 'v1', sourceDateEpoch: 0 });
    expect(repaired.digest).toBe(third.digest);
    expect(repaired.blobs.find((b) => b.descriptor.digest === page)?.outcome).toBe('uploaded');
    expect((await fetch(`${registry.url}/v2/spinel/requests/blobs/${page}`, { method: 'HEAD' })).status).toBe(200);
  });

  it('a pull starts the largest layers first', async () => {
    const large = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(150_000, 'z')]);
    // Spin lists each component's files after it: here the largest layer comes last.
    const app = await writeApp(join(dir, 'app-order'), {
      components: [
        { id: 'a', wasm: wasmB, files: { 'x.txt': Buffer.alloc(2000, 'x'), 'y.txt': Buffer.alloc(3000, 'y') } },
        { id: 'b', wasm: large },
      ],
    });
    const target = client.repository(`${registry.host}/spinel/order`);
    const pushed = await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
    const layers = pushed.packaged.manifest.layers.filter((l) => l.mediaType !== MediaType.SpinLockedApp);
    expect(layers.at(-1)?.size).toBe(large.length);
    requests.length = 0;
    await pullArtifact({ target, reference: 'v1', store: openCache({ root: join(dir, 'cache-order'), fsync: false }), concurrency: 1 });
    const fetched = requests.filter((r) => r.startsWith('GET') && r.includes('/blobs/')).map((r) => r.split('/blobs/')[1]);
    const bySize = [...layers].sort((a, b) => b.size - a.size).map((l) => l.digest);
    expect(fetched.filter((digest) => bySize.includes(digest ?? ''))).toEqual(bySize);
  });

  it('round-trips an app with archive layers through the registry', async () => {
    // Archive mode asked for (SPIN_OCI_ARCHIVE_LAYERS): a few files show the round trip; the
    // switch past the layer cap is package-app.test's (505 files took ~10 s here under load).
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 5; i += 1) files[i === 4 ? 'sub/page4.txt' : `page${i}.txt`] = Buffer.from(String(i).padEnd(200, '#'));
    const app = await writeApp(join(dir, 'app2'), { components: [{ id: 'site', wasm: wasmB, files }] });
    const target = client.repository(`${registry.host}/spinel/app2`);
    const pushed = await pushApp(app, { target, tag: 'latest', sourceDateEpoch: 0, archiveLayers: true });
    expect(pushed.packaged.manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.WasmLayer,
      MediaType.ArchiveLayer,
      MediaType.SpinLockedApp,
    ]);
    const cache = openCache({ root: join(dir, 'cache2'), fsync: false });
    const artifact = await pullArtifact({ target, reference: 'latest', store: cache });
    expect(artifact.digest).toBe(pushed.digest);
    // Every archived file is in the cache under its own digest, as Spin stores them.
    for (const bytes of Object.values(files)) expect(await cache.has(sha256Digest(bytes))).toBe(true);
    const pulled = await pullApp({ target, reference: pushed.digest, store: cache, origin: 'o', workDir: join(dir, 'work3') });
    const assets = fileURLToPath(pulled.lockedApp.components[0]?.files?.[0]?.source ?? '');
    for (const [name, bytes] of Object.entries(files)) expect(await readFile(join(assets, name))).toEqual(bytes);
  });

  it('a stored file flipped on disk (same size) is removed and fetched again, never handed to the guest', async () => {
    const { open } = await import('node:fs/promises');
    const page = Buffer.alloc(4000, 'p');
    const app = await writeApp(join(dir, 'app-tamper'), { components: [{ id: 'web', wasm: wasmB, files: { 'page.html': page } }] });
    const target = client.repository(`${registry.host}/spinel/tamper`);
    await pushApp(app, { target, tag: 'v1', sourceDateEpoch: 0 });
    const cache = openCache({ root: join(dir, 'cache-tamper'), fsync: false });
    const spinCacheLocation = { registry: registry.host, repository: 'spinel/tamper', tag: 'v1' };
    const first = await pullApp({ target, reference: 'v1', store: cache, origin: 'o', spinCacheLocation, workDir: join(dir, 'work-tamper-1') });
    expect(first.downloadedSize).toBeGreaterThan(0);
    const stored = await cache.stat(sha256Digest(page));
    const handle = await open(stored?.path ?? '', 'r+');
    await handle.write(Buffer.from('X'), 0, 1, 100);
    await handle.close();
    expect((await cache.stat(sha256Digest(page)))?.size).toBe(page.length);

    requests.length = 0;
    const second = await pullApp({ target, reference: 'v1', store: cache, origin: 'o', spinCacheLocation, workDir: join(dir, 'work-tamper-2') });
    const assets = fileURLToPath(second.lockedApp.components[0]?.files?.[0]?.source ?? '');
    expect((await readFile(join(assets, 'page.html'))).equals(page)).toBe(true);
    // Fetched again from the registry: exactly that blob.
    expect(requests.filter((r) => r.includes('/blobs/'))).toEqual([`GET /v2/spinel/tamper/blobs/${sha256Digest(page)}`]);
    expect(sha256Digest(await readFile((await cache.stat(sha256Digest(page)))?.path ?? ''))).toBe(sha256Digest(page));

    // A store that cannot remove the blob gets the coded error instead of the tampered bytes.
    const handle2 = await open((await cache.stat(sha256Digest(page)))?.path ?? '', 'r+');
    await handle2.write(Buffer.from('Y'), 0, 1, 200);
    await handle2.close();
    const noRemove = { stat: cache.stat.bind(cache), putStream: cache.putStream.bind(cache), putBytes: cache.putBytes.bind(cache) };
    const err = await pullApp({ target, reference: 'v1', store: noRemove, origin: 'o', workDir: join(dir, 'work-tamper-3') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_ARTIFACT_BLOB_CORRUPT', retryable: true });
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'work-tamper-3', 'assets', 'web', 'page.html'))).toBe(false);
  });
  it('a blob another process stored between the check and the write: its body is dropped and the client still closes', async () => {
    const files = { 'a.bin': Buffer.alloc(150_000, 'a'), 'b.bin': Buffer.alloc(200_000, 'b'), 'c.bin': Buffer.alloc(3 * 1024 * 1024, 'c') };
    const app = await writeApp(join(dir, 'app-race'), { components: [{ id: 'web', wasm: wasmB, files }] });
    await pushApp(app, { target: client.repository(`${registry.host}/spinel/race`), tag: 'v1', sourceDateEpoch: 0 });
    const cache = openCache({ root: join(dir, 'cache-race') });
    // As the cache answers when another process wrote the blob after this one looked for it:
    // "already stored", without reading the stream.
    const racing = {
      stat: async () => undefined,
      putBytes: cache.putBytes.bind(cache),
      putStream: async (digest: string, source: AsyncIterable<Uint8Array>, options: { kind: 'wasm' | 'data' }) => {
        const bytes = [wasmB, ...Object.values(files)].find((b) => sha256Digest(b) === digest);
        if (bytes === undefined) return cache.putStream(digest, source, options);
        (source as { destroy?: () => void }).destroy?.();
        return cache.putBytes(digest, bytes, options);
      },
    };
    const own = createRegistryClient();
    const pulled = await pullArtifact({ target: own.repository(`${registry.host}/spinel/race`), reference: 'v1', store: racing, concurrency: 4 });
    expect(pulled.blobs.some((b) => b.outcome === 'downloaded')).toBe(true);
    // With such a body left on its connection, close() waited for it forever.
    const closed = await Promise.race([own.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 20 s'), 20_000))]);
    expect(closed).toBe('closed');
  });

  it('a file swapped after packaging (a link to another file, a file renamed over it, a write, one with its mtime put back, a removal) is refused at upload and none of it is sent', async () => {
    // Files over 64 KiB and Wasm sources are read again from disk at upload.
    const page = Buffer.alloc(100_000, 'p');
    const wasm = Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), Buffer.alloc(150_000, 'w')]);
    const secret = Buffer.alloc(page.length, 's');
    await writeFile(join(dir, 'secret.bin'), secret);
    const blobStatus = async (repo: string, bytes: Buffer): Promise<number> =>
      (await fetch(`${registry.url}/v2/spinel/${repo}/blobs/${sha256Digest(bytes)}`, { method: 'HEAD' })).status;
    const cases: { repo: string; before?: (appDir: string) => Promise<void>; swap: (appDir: string) => Promise<void>; sent: Buffer }[] = [
      {
        repo: 'swap-link',
        swap: async (appDir) => {
          await rm(join(appDir, 'assets/web/page.bin'));
          await symlink(join(dir, 'secret.bin'), join(appDir, 'assets/web/page.bin'));
        },
        sent: secret,
      },
      {
        repo: 'swap-rename',
        swap: async (appDir) => {
          await writeFile(join(appDir, 'other.wasm'), Buffer.concat([wasm.subarray(0, 8), Buffer.alloc(150_000, 'o')]));
          await rename(join(appDir, 'other.wasm'), join(appDir, 'web.wasm'));
        },
        sent: Buffer.concat([wasm.subarray(0, 8), Buffer.alloc(150_000, 'o')]),
      },
      {
        repo: 'swap-write',
        swap: async (appDir) => {
          // Same inode and size, new bytes and mtime.
          await writeFile(join(appDir, 'assets/web/page.bin'), Buffer.alloc(page.length, 'q'));
          await utimes(join(appDir, 'assets/web/page.bin'), new Date(), new Date(Date.now() + 5000));
        },
        sent: Buffer.alloc(page.length, 'q'),
      },
      {
        repo: 'swap-write-same-mtime',
        // Same inode, size and modification time (put back after the write): only the change time moved.
        before: async (appDir) => utimes(join(appDir, 'assets/web/page.bin'), 1_000_000, 1_000_000),
        swap: async (appDir) => {
          await writeFile(join(appDir, 'assets/web/page.bin'), Buffer.alloc(page.length, 'r'));
          await utimes(join(appDir, 'assets/web/page.bin'), 1_000_000, 1_000_000);
        },
        sent: Buffer.alloc(page.length, 'r'),
      },
      {
        repo: 'swap-removed',
        // Removed: named as a changed file, not as a registry that cannot be reached.
        swap: async (appDir) => rm(join(appDir, 'assets/web/page.bin')),
        sent: page,
      },
    ];
    for (const { repo, before, swap, sent } of cases) {
      const appDir = join(dir, `app-${repo}`);
      const app = await writeApp(appDir, { components: [{ id: 'web', wasm, files: { 'page.bin': page } }] });
      await before?.(appDir);
      const packaged = await packageApp(app, { sourceDateEpoch: 0 });
      await swap(appDir);
      const target = client.repository(`${registry.host}/spinel/${repo}`);
      await expect(pushPackaged(packaged, { target, tag: 'v1' }), repo).rejects.toMatchObject({ code: 'OCI_APP_FILE_CHANGED' });
      expect(await blobStatus(repo, sent), repo).toBe(404);
      expect((await fetch(`${registry.url}/v2/spinel/${repo}/manifests/v1`, { method: 'HEAD' })).status, repo).toBe(404);
    }

    // Unchanged, with a Wasm source that is a link (followed at packaging, and again at upload): pushed.
    const appDir = join(dir, 'app-unswapped');
    const app = await writeApp(appDir, { components: [{ id: 'web', wasm, files: { 'page.bin': page } }] });
    await rename(join(appDir, 'web.wasm'), join(appDir, 'built.wasm'));
    await symlink('built.wasm', join(appDir, 'web.wasm'));
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    const pushed = await pushPackaged(packaged, { target: client.repository(`${registry.host}/spinel/unswapped`), tag: 'v1' });
    expect(pushed.blobs.every((b) => b.outcome === 'uploaded')).toBe(true);
    expect(await blobStatus('unswapped', page)).toBe(200);
    expect(await blobStatus('unswapped', wasm)).toBe(200);
  });
});
