import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCredentials } from './credentials.js';
import { MediaType } from './media-types.js';
import { fetchImageManifest } from './platform.js';
import { createRegistryClient, type RegistryClient } from './registry-client.js';
import { blob, collect, makeImage, pushImage, randomBlob } from './test-helpers.js';
import type { ImageIndex } from './types.js';

const fastRetry = { minDelayMs: 1, maxDelayMs: 20 };

describe('registry client against docker-registry (no auth)', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry();
    client = createRegistryClient({ retry: fastRetry });
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });

  it('pushes blobs and a manifest, then pulls them back verified', async () => {
    const repo = client.repository(`${registry.host}/test/basic:v1`);
    const image = makeImage([3 * 1024 * 1024 + 17, 10, 1000]);
    const pushed = await pushImage(repo, image, 'v1');
    expect(pushed.digest).toMatch(/^sha256:/);

    const byTag = await repo.fetchManifest('v1');
    expect(byTag.descriptor.digest).toBe(pushed.digest);
    expect(byTag.bytes.equals(image.manifest)).toBe(true);
    const byDigest = await repo.fetchManifest(pushed.digest);
    expect(byDigest.descriptor.mediaType).toBe(MediaType.OciManifest);
    expect((await repo.resolve('v1')).digest).toBe(pushed.digest);

    for (const layer of image.layers) {
      const bytes = await repo.pullBlob(layer.descriptor, collect);
      expect(bytes.equals(layer.bytes)).toBe(true);
    }
    // A second push finds everything present.
    const again = await repo.pushBlob(image.layers[0]!.descriptor, image.layers[0]!.bytes);
    expect(again.outcome).toBe('exists');
  });

  it('uploads in chunks from a stream, honouring the chunk size', async () => {
    const chunked = createRegistryClient({ retry: fastRetry, upload: { mode: 'chunked', chunkSize: 64 * 1024 } });
    try {
      const repo = chunked.repository(`${registry.host}/test/chunked`);
      const b = randomBlob(64 * 1024 * 3 + 5);
      const progress: number[] = [];
      const result = await repo.pushBlob(
        b.descriptor,
        async function* () {
          for (let i = 0; i < b.bytes.length; i += 10_000) yield b.bytes.subarray(i, i + 10_000);
        },
        { onProgress: (n) => progress.push(n) },
      );
      expect(result.outcome).toBe('uploaded');
      expect(progress.at(-1)).toBe(b.descriptor.size);
      expect(progress.length).toBe(4);
      expect((await repo.pullBlob(b.descriptor, collect)).equals(b.bytes)).toBe(true);
    } finally {
      await chunked.close();
    }
  });

  it('mounts a blob from another repository of the same registry', async () => {
    const source = client.repository(`${registry.host}/test/mount-source`);
    const dest = client.repository(`${registry.host}/test/mount-dest`);
    const b = randomBlob(4096);
    await source.pushBlob(b.descriptor, b.bytes);
    const result = await dest.pushBlob(b.descriptor, b.bytes, { mountFrom: 'test/mount-source' });
    expect(result.outcome).toBe('mounted');
    expect(await dest.hasBlob(b.descriptor)).toBe(true);
  });

  it('falls back to uploading when the mount source does not have the blob', async () => {
    const dest = client.repository(`${registry.host}/test/mount-fallback`);
    const b = randomBlob(2048);
    const result = await dest.pushBlob(b.descriptor, b.bytes, { mountFrom: 'test/nowhere' });
    expect(result.outcome).toBe('uploaded');
    expect((await dest.pullBlob(b.descriptor, collect)).equals(b.bytes)).toBe(true);
  });

  it('lists tags across pages', async () => {
    const repo = client.repository(`${registry.host}/test/tags`);
    const image = makeImage([100]);
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushImage(repo, image, tag);
    const tags = await repo.listTags({ pageSize: 2 });
    expect(tags.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('chooses the wasi/wasm entry of an index', async () => {
    const repo = client.repository(`${registry.host}/test/index`);
    const wasm = makeImage([50]);
    const linux = makeImage([60]);
    const wasmDesc = await pushImage(repo, wasm);
    const linuxDesc = await pushImage(repo, linux);
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { ...linuxDesc, platform: { os: 'linux', architecture: 'amd64' } },
        { ...wasmDesc, platform: { os: 'wasi', architecture: 'wasm' } },
      ],
    };
    await repo.pushManifest(Buffer.from(JSON.stringify(index)), MediaType.OciIndex, 'multi');
    const resolved = await fetchImageManifest(repo, 'multi');
    expect(resolved.manifest.descriptor.digest).toBe(wasmDesc.digest);
    expect(resolved.image.layers[0]!.digest).toBe(wasm.layers[0]!.descriptor.digest);
    expect(resolved.index?.descriptor.mediaType).toBe(MediaType.OciIndex);
  });

  it('lists referrers through the tag-schema fallback', async () => {
    const repo = client.repository(`${registry.host}/test/referrers`);
    const subject = await pushImage(repo, makeImage([30]));
    const signature = makeImage([40]);
    const sigManifest = { ...signature.manifestJson, artifactType: 'application/vnd.example.signature', subject };
    const sigBytes = Buffer.from(JSON.stringify(sigManifest));
    await Promise.all([signature.config, ...signature.layers].map((b) => repo.pushBlob(b.descriptor, b.bytes)));
    const sigDesc = await repo.pushManifest(sigBytes, MediaType.OciManifest);
    const fallbackIndex: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ ...sigDesc, artifactType: 'application/vnd.example.signature' }],
    };
    await repo.pushManifest(Buffer.from(JSON.stringify(fallbackIndex)), MediaType.OciIndex, subject.digest.replace(':', '-'));
    const found = await repo.referrers(subject.digest);
    expect(found.map((d) => d.digest)).toEqual([sigDesc.digest]);
    expect(await repo.referrers(subject.digest, { artifactType: 'application/other' })).toEqual([]);
    expect(await repo.referrers(sigDesc.digest)).toEqual([]);
  });

  it('refuses manifests over the size limit and unknown references', async () => {
    const repo = client.repository(`${registry.host}/test/limits`);
    await pushImage(repo, makeImage([10]), 'small');
    const tiny = createRegistryClient({ maxManifestBytes: 100 });
    try {
      await expect(tiny.repository(`${registry.host}/test/limits`).fetchManifest('small')).rejects.toMatchObject({ code: 'OCI_MANIFEST_TOO_LARGE' });
    } finally {
      await tiny.close();
    }
    await expect(repo.fetchManifest('missing')).rejects.toMatchObject({ code: 'OCI_MANIFEST_UNKNOWN' });
    await expect(repo.pullBlob(randomBlob(5).descriptor, collect)).rejects.toMatchObject({ code: 'OCI_BLOB_UNKNOWN' });
  });
});

/** A fake registry for what a real one never does: lie about content, redirect elsewhere. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; host: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('registry client against a misbehaving registry', () => {
  const good = blob('the real content of the blob');
  const evil = Buffer.from('the fake content of the blob');
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, config: good.descriptor, layers: [] }));
  let storageHeaders: IncomingHttpHeaders | undefined;
  let storage: { server: Server; host: string };
  let fake: { server: Server; host: string };

  beforeAll(async () => {
    storage = await listen((req, res) => {
      storageHeaders = req.headers;
      res.writeHead(200, { 'content-length': String(good.bytes.length) }).end(good.bytes);
    });
    fake = await listen((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:hunter2-secret').toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
        return;
      }
      const url = req.url ?? '';
      if (url.includes('/blobs/') && url.includes('lying')) {
        res.writeHead(200, { 'content-length': String(evil.length) }).end(evil);
      } else if (url.includes('/blobs/') && url.includes('redirect')) {
        res.writeHead(307, { location: `http://${storage.host}/bucket/blob?sig=abc` }).end();
      } else if (url.includes('/manifests/')) {
        res.writeHead(200, { 'content-type': MediaType.OciManifest, 'docker-content-digest': `sha256:${'0'.repeat(64)}` }).end(manifestBytes);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  afterAll(async () => {
    fake?.server.close();
    storage?.server.close();
  });

  const clientFor = (): RegistryClient =>
    createRegistryClient({ retry: { retries: 0 }, credentials: staticCredentials({ [fake.host]: { kind: 'basic', username: 'alice', password: 'hunter2-secret' } }) });

  it('rejects a blob whose bytes do not match its digest, and the sink never sees a clean end', async () => {
    const client = clientFor();
    let committed = false;
    const err = await client
      .repository(`${fake.host}/lying/repo`)
      .pullBlob(good.descriptor, async (stream) => {
        await collect(stream);
        committed = true;
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    expect(committed).toBe(false);
    expect(String((err as Error).message)).not.toContain('hunter2-secret');
    await client.close();
  });

  it('reads a whole small blob only when it matches its digest, also through a redirect', async () => {
    const client = clientFor();
    await expect(client.repository(`${fake.host}/lying/repo`).readBlob(good.descriptor)).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    const bytes = await client.repository(`${fake.host}/redirect/repo`).readBlob(good.descriptor);
    expect(bytes.equals(good.bytes)).toBe(true);
    expect(storageHeaders).toBeDefined();
    expect(storageHeaders?.authorization).toBeUndefined();
    await client.close();
  });

  it('rejects a manifest whose bytes do not match the registry digest header', async () => {
    const client = clientFor();
    await expect(client.repository(`${fake.host}/any/repo`).fetchManifest('latest')).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    await client.close();
  });

  it('follows a redirect to blob storage without sending Authorization there', async () => {
    const client = clientFor();
    const bytes = await client.repository(`${fake.host}/redirect/repo`).pullBlob(good.descriptor, collect);
    expect(bytes.equals(good.bytes)).toBe(true);
    expect(storageHeaders).toBeDefined();
    expect(storageHeaders?.authorization).toBeUndefined();
    await client.close();
  });
});

describe('referrers API', () => {
  it('reads the referrers index page by page and filters by artifact type when the registry did not', async () => {
    const subject = `sha256:${'c'.repeat(64)}`;
    const ref = (n: number, artifactType: string): { mediaType: string; digest: string; size: number; artifactType: string } => ({
      mediaType: MediaType.OciManifest,
      digest: `sha256:${String(n).repeat(64)}`,
      size: 100 + n,
      artifactType,
    });
    const fake = await listen((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== `/v2/repo/referrers/${subject}`) {
        res.writeHead(404).end();
        return;
      }
      const page = url.searchParams.get('page') ?? '1';
      const body: ImageIndex = {
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: page === '1' ? [ref(1, 'application/sig'), ref(2, 'application/sbom')] : [ref(3, 'application/sig')],
      };
      const headers: Record<string, string> = { 'content-type': MediaType.OciIndex };
      if (page === '1') headers['link'] = `</v2/repo/referrers/${subject}?page=2>; rel="next"`;
      res.writeHead(200, headers).end(JSON.stringify(body));
    });
    const client = createRegistryClient({ retry: { retries: 0 } });
    try {
      const repo = client.repository(`${fake.host}/repo`);
      expect((await repo.referrers(subject)).map((d) => d.size)).toEqual([101, 102, 103]);
      expect((await repo.referrers(subject, { artifactType: 'application/sig' })).map((d) => d.size)).toEqual([101, 103]);
    } finally {
      await client.close();
      fake.server.close();
    }
  });
});
