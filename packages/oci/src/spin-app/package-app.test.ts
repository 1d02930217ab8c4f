import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageApp } from './package-app.js';
import { sha256Digest } from '@spinel/cache';
import { LOCKED_APP_DIGEST_LABEL, MediaType } from '../media-types.js';
import { dirStore, storePackaged, writeApp } from './test-store.js';
import { unpackApp } from './unpack-app.js';
import { readTarGz } from './archive-reader.js';
import { lockManifestFile, type LockedApp } from '@spinel/manifest';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-pack-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const wasmA = Buffer.from('\0asm\u0001\0\0\0component-a');
const wasmB = Buffer.from('\0asm\u0001\0\0\0component-b');
const big = (seed: string, size = 200): Buffer => Buffer.alloc(size, seed);
const mediaTypes = (layers: { descriptor: { mediaType: string } }[]): string[] => layers.map((l) => l.descriptor.mediaType);

async function blobText(blob: { open(): AsyncIterable<Uint8Array> }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of blob.open()) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

describe('packageApp', () => {
  it('pushes one wasm layer per component and the locked app last', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }, { id: 'b', wasm: wasmB }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(mediaTypes(packaged.layers)).toEqual([MediaType.WasmLayer, MediaType.WasmLayer, MediaType.SpinLockedApp]);
    expect(packaged.layers[0]?.descriptor).toEqual({ mediaType: MediaType.WasmLayer, digest: sha256Digest(wasmA), size: wasmA.length });
    // Sources of at most 128 bytes are inlined as well as pushed, as Spin's content_ref_for_layer does.
    expect(packaged.lockedApp.components[0]?.source).toEqual({ content_type: 'application/wasm', inline: new Uint8Array(wasmA), digest: sha256Digest(wasmA) });
    const bigWasm = Buffer.concat([wasmA, Buffer.alloc(200)]);
    const large = await packageApp(await writeApp(join(dir, 'large'), { components: [{ id: 'a', wasm: bigWasm }] }), { sourceDateEpoch: 0 });
    expect(large.lockedApp.components[0]?.source).toEqual({ content_type: 'application/wasm', digest: sha256Digest(bigWasm) });
    expect(packaged.lockedApp.metadata?.['origin']).toBeUndefined();
    // The original is not modified.
    expect(app.components[0]?.source.source).toMatch(/^file:/);
  });

  it('writes a manifest\'s float trigger setting as Spin does (`1.0`), not as an integer', async () => {
    await writeFile(join(dir, 'a.wasm'), wasmA);
    await writeFile(
      join(dir, 'spin.toml'),
      'spin_manifest_version = 2\n[application]\nname = "floats"\n[[trigger.cron]]\ncomponent = "a"\nrate = 1.0\ncount = 2\n[component.a]\nsource = "a.wasm"\n',
    );
    const packaged = await packageApp(await lockManifestFile(join(dir, 'spin.toml'), { workingDir: dir }), { sourceDateEpoch: 0 });
    const lockedLayer = packaged.layers.at(-1);
    expect(lockedLayer?.descriptor.mediaType).toBe(MediaType.SpinLockedApp);
    expect(await blobText(lockedLayer as { open(): AsyncIterable<Uint8Array> })).toContain('"trigger_config":{"component":"a","count":2,"rate":1.0}');
  });

  it('deduplicates identical components and files', async () => {
    const same = big('x');
    const app = await writeApp(dir, {
      components: [
        { id: 'a', wasm: wasmA, files: { 'one.txt': same, 'sub/two.txt': same } },
        { id: 'b', wasm: wasmA, files: { 'three.txt': same } },
      ],
    });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(mediaTypes(packaged.layers)).toEqual([MediaType.WasmLayer, MediaType.DataLayer, MediaType.SpinLockedApp]);
    // Listed in the file system's order, as Spin's walk lists them.
    expect([...(packaged.lockedApp.components[0]?.files ?? [])].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { digest: sha256Digest(same), path: 'one.txt' },
      { digest: sha256Digest(same), path: 'sub/two.txt' },
    ]);
  });

  it('inlines files of at most 128 bytes (unpadded base64) and does not push them', async () => {
    const small = Buffer.alloc(128, 'a'); // base64 of 128 bytes has padding to strip
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files: { 'small.txt': small, 'big.txt': big('b', 129) } }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(mediaTypes(packaged.layers)).toEqual([MediaType.WasmLayer, MediaType.DataLayer, MediaType.SpinLockedApp]);
    const files = packaged.lockedApp.components[0]?.files ?? [];
    const inlined = files.find((f) => f.path === 'small.txt');
    expect(Buffer.from(inlined?.inline ?? []).equals(small)).toBe(true);
    expect(inlined?.digest).toBe(sha256Digest(small));
    // Serialised as unpadded base64 in the pushed locked app.
    const pushed = await blobText(packaged.layers.at(-1) ?? packaged.config);
    expect(pushed).toContain(`"inline":"${small.toString('base64').replace(/=+$/, '')}"`);
    expect(files.find((f) => f.path === 'big.txt')?.inline).toBeUndefined();
  });

  it('holds the bytes of small files it read, so a push sends what was hashed; larger files are read again from disk', async () => {
    const small = big('s', 64 * 1024);
    const large = big('l', 64 * 1024 + 1);
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files: { 'small.txt': small, 'large.txt': large } }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    const layerOf = (content: Buffer): (typeof packaged.layers)[number] | undefined => packaged.layers.find((l) => l.descriptor.digest === sha256Digest(content));
    expect(layerOf(small)?.bytes?.equals(small)).toBe(true);
    expect(layerOf(large)?.bytes).toBeUndefined();
    expect(layerOf(large)?.path).toBe(join(dir, 'assets', 'a', 'large.txt'));
    // Changed on disk after packaging: the held layer still yields the bytes its digest names.
    await writeFile(join(dir, 'assets', 'a', 'small.txt'), big('t', 64 * 1024));
    expect(await blobText(layerOf(small) as { open(): AsyncIterable<Uint8Array> })).toBe(small.toString('utf8'));
  });

  it('inlines nothing with a threshold of 0 (one layer per file)', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files: { 'a.txt': 'a', 'b.txt': 'b' } }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0, inlineMaxSize: 0 });
    expect(mediaTypes(packaged.layers).filter((t) => t === MediaType.DataLayer)).toHaveLength(2);
  });

  it('mounts below a sub-path keep the guest path', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files: { 'x/y.txt': big('y') } }] });
    const component = app.components[0];
    if (component?.files?.[0] !== undefined) component.files[0].path = '/static';
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(packaged.lockedApp.components[0]?.files?.[0]?.path).toBe('static/x/y.txt');
  });

  it('switches to archive layers when more than 500 layers would result; the archive holds every file, as Spin\'s does', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 520; i += 1) files[`f${String(i).padStart(3, '0')}.txt`] = big(`${i % 10}`, 200 + i);
    files['plugin.wasm'] = big('w', 300);
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(packaged.archived).toBe(true);
    expect(mediaTypes(packaged.layers)).toEqual([MediaType.WasmLayer, MediaType.ArchiveLayer, MediaType.SpinLockedApp]);
    const archive = packaged.layers[1];
    const names: string[] = [];
    const directories: string[] = [];
    expect(archive?.path).toBeDefined();
    for await (const entry of readTarGz(archive?.open() ?? Buffer.alloc(0))) {
      if (entry.type === 'directory') {
        directories.push(entry.path);
        continue;
      }
      names.push(entry.path);
      expect(sha256Digest(entry.data)).toBe(sha256Digest(files[entry.path] ?? Buffer.alloc(0)));
    }
    expect(names).toHaveLength(521);
    expect(names).toContain('plugin.wasm');
    // GNU headers ("ustar  \0"), the directory itself first, as tar-rs append_dir_all writes it.
    const { gunzipSync } = await import('node:zlib');
    const { readFile } = await import('node:fs/promises');
    const tar = gunzipSync(await readFile(archive?.path ?? ''));
    expect(tar.toString('latin1', 257, 265)).toBe('ustar  \u0000');
    expect(tar.toString('latin1', 0, 2)).toBe('.\u0000');
    expect(tar.toString('latin1', 156, 157)).toBe('5');
    // The locked app still lists every file with its own digest.
    expect(packaged.lockedApp.components[0]?.files).toHaveLength(521);
    await packaged.dispose();
    await expect(stat(archive?.path ?? '')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stays in simple mode at exactly 499 content layers', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 498; i += 1) files[`f${i}.txt`] = big('z', 200 + i);
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(packaged.archived).toBe(false);
    expect(packaged.layers).toHaveLength(500);
  });

  it('archives when asked, subdirectories as entries and small files too', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files: { 'a.txt': big('a'), 'sub/tiny.txt': 't' } }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0, archiveLayers: true });
    expect(mediaTypes(packaged.layers)).toEqual([MediaType.WasmLayer, MediaType.ArchiveLayer, MediaType.SpinLockedApp]);
    const entries: string[] = [];
    for await (const entry of readTarGz(packaged.layers[1]?.open() ?? Buffer.alloc(0))) entries.push(`${entry.type} ${entry.path}`);
    expect(entries.sort()).toEqual(['directory sub', 'file a.txt', 'file sub/tiny.txt']);
    // The small file is inlined in the locked app as well as archived.
    expect(packaged.lockedApp.components[0]?.files?.find((f) => f.path === 'sub/tiny.txt')?.inline).toBeDefined();
    await packaged.dispose();
  });

  it('writes the image config with platform and the locked-app digest label', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }] });
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    const config = JSON.parse(await blobText(packaged.config)) as Record<string, unknown>;
    const lockedDigest = packaged.layers.at(-1)?.descriptor.digest;
    expect(config).toEqual({
      architecture: 'wasm',
      os: 'Wasip1',
      config: { Labels: { [LOCKED_APP_DIGEST_LABEL]: lockedDigest } },
      rootfs: { type: 'layers', diff_ids: [] },
    });
    expect(packaged.manifest.config.mediaType).toBe(MediaType.OciConfig);
    const locked = JSON.parse(await blobText(packaged.layers.at(-1) ?? packaged.config)) as LockedApp;
    expect(Object.keys(locked)).toEqual(['spin_lock_version', 'metadata', 'triggers', 'components']);
  });

  it('infers annotations, lets explicit ones win, and pins created to SOURCE_DATE_EPOCH', async () => {
    const app = await writeApp(dir, {
      components: [{ id: 'a', wasm: wasmA }],
      metadata: { description: 'Demo', version: '1.2.0', authors: ['Ann <a@x>', 'Bob'] },
    });
    const packaged = await packageApp(app, { sourceDateEpoch: '1700000000', annotations: { 'org.opencontainers.image.version': 'override', custom: 'v' } });
    expect(packaged.manifest.annotations).toEqual({
      'org.opencontainers.image.title': 'test-app',
      'org.opencontainers.image.description': 'Demo',
      'org.opencontainers.image.version': 'override',
      'org.opencontainers.image.authors': 'Ann <a@x>, Bob',
      'org.opencontainers.image.created': '2023-11-14T22:13:20+00:00',
      custom: 'v',
    });
  });

  it('gives the same manifest digest for the same app and epoch, and another for another epoch', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA, files: { 'a.txt': big('a') } }] });
    const one = await packageApp(app, { sourceDateEpoch: 42, archiveLayers: true });
    const two = await packageApp(app, { sourceDateEpoch: 42, archiveLayers: true });
    const three = await packageApp(app, { sourceDateEpoch: 43, archiveLayers: true });
    expect(two.manifestDigest).toBe(one.manifestDigest);
    expect(three.manifestDigest).not.toBe(one.manifestDigest);
    expect(one.manifestDigest).toBe(sha256Digest(one.manifestBytes));
    // Canonical JSON: sorted keys, no whitespace, no top-level mediaType (as Spin writes).
    expect(one.manifestBytes.toString()).toMatch(/^\{"annotations":\{.*\},"config":\{"digest":/);
    expect(one.manifestBytes.toString()).not.toContain('\n');
    await Promise.all([one.dispose(), two.dispose(), three.dispose()]);
  });

  it('uses the clock when no epoch is given', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }] });
    const packaged = await packageApp(app, { now: () => new Date('2025-01-02T03:04:05.678Z') });
    // chrono's to_rfc3339(), as Spin writes it: +00:00, fractional seconds only when there are some.
    expect(packaged.manifest.annotations?.['org.opencontainers.image.created']).toBe('2025-01-02T03:04:05.678+00:00');
  });

  it('pushes component and trigger dependencies as wasm layers with digest references', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }] });
    const { writeFile } = await import('node:fs/promises');
    const { pathToFileURL } = await import('node:url');
    const depPath = join(dir, 'dep.wasm');
    const middlewarePath = join(dir, 'mw.wasm');
    await writeFile(depPath, wasmB);
    await writeFile(middlewarePath, Buffer.from('\0asm\u0001\0\0\0middleware'));
    const component = app.components[0];
    if (component === undefined) throw new Error('no component');
    component.dependencies = { 'my:dep/x': { source: { content_type: 'application/wasm', source: pathToFileURL(depPath).href }, export: null } };
    component.trigger_dependencies = { middleware: [{ source: { content_type: 'application/wasm', source: pathToFileURL(middlewarePath).href }, export: null }] };
    (app.triggers[0] ?? { trigger_dependencies: {} }).trigger_dependencies = { middleware: [{ source: { content_type: 'application/wasm', source: pathToFileURL(middlewarePath).href }, export: null }] };
    const packaged = await packageApp(app, { sourceDateEpoch: 0 });
    expect(mediaTypes(packaged.layers)).toEqual([MediaType.WasmLayer, MediaType.WasmLayer, MediaType.WasmLayer, MediaType.SpinLockedApp]);
    expect(packaged.lockedApp.components[0]?.dependencies?.['my:dep/x']?.source.digest).toBe(sha256Digest(wasmB));
    expect(await blobText(packaged.layers.at(-1) ?? packaged.config)).not.toContain('file:');
    // And back: every dependency source resolves into the cache.
    const store = dirStore(join(dir, 'cache'));
    const config = await storePackaged(store, packaged);
    const { lockedApp } = await unpackApp({ manifest: packaged.manifest, config, store, reference: 'r', digest: packaged.manifestDigest, workDir: join(dir, 'w') });
    expect(lockedApp.triggers[0]?.trigger_dependencies?.['middleware']?.[0]?.source.source).toContain(join(dir, 'cache'));
    expect(lockedApp.components[0]?.dependencies?.['my:dep/x']?.source.source).toContain(join(dir, 'cache'));
  });

  it('composes a component with middleware into one layer when asked, as Spin does: both tables gone, metadata and host requirements kept', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }, { id: 'b', wasm: wasmB }] });
    const { writeFile } = await import('node:fs/promises');
    const { pathToFileURL } = await import('node:url');
    const middlewarePath = join(dir, 'mw.wasm');
    await writeFile(middlewarePath, Buffer.from('\0asm\u000d\0\u0001\0middleware'));
    const [a, b] = app.components;
    if (a === undefined || b === undefined) throw new Error('no component');
    a.trigger_dependencies = { middleware: [{ source: { content_type: 'application/wasm', source: pathToFileURL(middlewarePath).href }, export: null }] };
    a.metadata = { 'resolve-trigger-dependencies-using': 'http' };
    a.host_requirements = { middleware: 'required' };
    // An empty list is composed too (Spin's trigger returns the component as it is) and cleared.
    b.trigger_dependencies = { middleware: [] };
    const asked: string[] = [];
    const composed = Buffer.concat([wasmA, big('m', 400)]);
    const packaged = await packageApp(app, {
      sourceDateEpoch: 0,
      composeDependencies: async (c) => {
        asked.push(`${c.id}:${(c.trigger_dependencies?.['middleware'] ?? []).length}`);
        return c.id === 'a' ? composed : wasmB;
      },
    });
    expect(asked).toEqual(['a:1', 'b:0']);
    expect(packaged.layers.map((l) => l.descriptor.digest)).toEqual([sha256Digest(composed), sha256Digest(wasmB), packaged.layers.at(-1)?.descriptor.digest]);
    const [pa, pb] = packaged.lockedApp.components;
    expect(pa?.source).toEqual({ content_type: 'application/wasm', digest: sha256Digest(composed) });
    expect(pa?.trigger_dependencies).toBeUndefined();
    expect(pb?.trigger_dependencies).toBeUndefined();
    expect(pa?.metadata).toEqual({ 'resolve-trigger-dependencies-using': 'http' });
    expect(pa?.host_requirements).toEqual({ middleware: 'required' });
    expect(await blobText(packaged.layers.at(-1) ?? packaged.config)).not.toContain('trigger_dependencies');
  });

  it('refuses to compose middleware left on a trigger (a lock shape Spin never writes)', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }] });
    const { pathToFileURL } = await import('node:url');
    (app.triggers[0] ?? { trigger_dependencies: {} }).trigger_dependencies = { middleware: [{ source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'mw.wasm')).href }, export: null }] };
    const err = await packageApp(app, { composeDependencies: async () => wasmA }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_APP_INVALID' });
    expect((err as Error).message).toContain('lock the app again');
  });

  it('composes a component with its dependencies into one layer when asked (--compose), leaving the others alone', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }, { id: 'b', wasm: wasmB }] });
    const { writeFile } = await import('node:fs/promises');
    const { pathToFileURL } = await import('node:url');
    const depPath = join(dir, 'dep.wasm');
    await writeFile(depPath, Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), big('d', 300)]));
    const a = app.components[0];
    if (a === undefined) throw new Error('no component');
    a.dependencies = { 'my:dep/x': { source: { content_type: 'application/wasm', source: pathToFileURL(depPath).href }, export: null } };
    const asked: string[] = [];
    // Stands for the runtime's composition: what matters here is what is pushed in its place.
    const composed = Buffer.concat([wasmA, big('c', 400)]);
    const packaged = await packageApp(app, {
      sourceDateEpoch: 0,
      composeDependencies: async (component) => {
        asked.push(`${component.id}:${Object.keys(component.dependencies ?? {}).join()}:${component.source.source ?? ''}`);
        return composed;
      },
    });
    expect(asked).toEqual([`a:my:dep/x:${a.source.source ?? ''}`]);
    expect(packaged.layers.map((l) => l.descriptor.digest)).toEqual([sha256Digest(composed), sha256Digest(wasmB), packaged.layers.at(-1)?.descriptor.digest]);
    expect(packaged.lockedApp.components[0]?.source).toEqual({ content_type: 'application/wasm', digest: sha256Digest(composed) });
    expect(packaged.lockedApp.components[0]?.dependencies).toBeUndefined();
    // The caller's app is untouched.
    expect(Object.keys(app.components[0]?.dependencies ?? {})).toEqual(['my:dep/x']);
  });

  it('refuses a missing source with a coded error', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }] });
    const component = app.components[0];
    if (component !== undefined) component.source.source = 'file:///nonexistent/x.wasm';
    await expect(packageApp(app)).rejects.toMatchObject({ code: 'OCI_APP_SOURCE' });
    if (component !== undefined) component.source = { content_type: 'application/wasm', source: 'https://example.com/x.wasm' };
    await expect(packageApp(app)).rejects.toMatchObject({ code: 'OCI_APP_INVALID' });
  });

  it('refuses a component or dependency source that is not Wasm, as Spin does', async () => {
    const text = await writeApp(join(dir, 'text'), { components: [{ id: 'a', wasm: Buffer.from('hello, I am not a component') }] });
    await expect(packageApp(text)).rejects.toMatchObject({ code: 'OCI_APP_NOT_WASM', message: expect.stringContaining('Component a source is not a valid .wasm file') as string });
    // WAT text is accepted, as Spin accepts it.
    const wat = await writeApp(join(dir, 'wat'), { components: [{ id: 'a', wasm: Buffer.from(';; a comment\n(module)') }] });
    await expect(packageApp(wat)).resolves.toMatchObject({ archived: false });
    const app = await writeApp(join(dir, 'dep'), { components: [{ id: 'a', wasm: wasmA }] });
    const { writeFile } = await import('node:fs/promises');
    const { pathToFileURL } = await import('node:url');
    await writeFile(join(dir, 'dep.txt'), 'not wasm');
    const component = app.components[0];
    if (component === undefined) throw new Error('no component');
    component.dependencies = { 'my:dep/x': { source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'dep.txt')).href }, export: null } };
    await expect(packageApp(app)).rejects.toMatchObject({ code: 'OCI_APP_NOT_WASM', message: expect.stringContaining('dependency my:dep/x for component a is not a valid .wasm file') as string });
  });

  it('refuses a malformed SOURCE_DATE_EPOCH', async () => {
    const app = await writeApp(dir, { components: [{ id: 'a', wasm: wasmA }] });
    await expect(packageApp(app, { sourceDateEpoch: 'yesterday' })).rejects.toMatchObject({ code: 'OCI_APP_INVALID' });
  });
});

describe('packageApp reads only regular files inside the app', () => {
  it('refuses a file link out of the files directory (absolute, relative, chained) and skips one that stays inside, as Spin does', async () => {
    const { symlink, writeFile, mkdir } = await import('node:fs/promises');
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'the secret, long enough not to be inlined '.repeat(8));
    const app = await writeApp(join(dir, 'app'), { components: [{ id: 'a', wasm: wasmA, files: { 'index.html': big('i'), 'img/logo.png': big('p') } }] });
    const assets = join(dir, 'app', 'assets', 'a');
    await symlink('img/logo.png', join(assets, 'logo.png'));
    const inside = await packageApp(app, { sourceDateEpoch: 0 });
    expect(inside.lockedApp.components[0]?.files?.map((f) => f.path).sort()).toEqual(['img/logo.png', 'index.html']);

    for (const [name, target] of [
      ['abs', join(outside, 'secret.txt')],
      ['rel', '../../../outside/secret.txt'],
      ['chain', 'hop'],
    ] as const) {
      if (name === 'chain') await symlink(join(outside, 'secret.txt'), join(assets, 'hop'));
      await symlink(target, join(assets, name));
      const err = await packageApp(app, { sourceDateEpoch: 0 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'OCI_APP_LINK_OUTSIDE' });
      expect((err as Error).message).toContain(`'${name}' in ${assets} is a symbolic link to '${target}'`);
      await rm(join(assets, name));
      if (name === 'chain') await rm(join(assets, 'hop'));
    }
  });

  it('refuses /dev/zero and a FIFO as sources and a socket among the files, before reading them', async () => {
    const { execFileSync } = await import('node:child_process');
    const { createServer } = await import('node:net');
    const app = await writeApp(join(dir, 'app'), { components: [{ id: 'a', wasm: wasmA, files: { 'x.txt': 'x' } }] });
    const zero = structuredClone(app);
    zero.components[0]!.source = { content_type: 'application/wasm', source: 'file:///dev/zero' };
    await expect(packageApp(zero)).rejects.toMatchObject({ code: 'OCI_APP_NOT_REGULAR_FILE', message: expect.stringContaining('is a character device') });
    const fifo = join(dir, 'pipe.wasm');
    execFileSync('mkfifo', [fifo]);
    const piped = structuredClone(app);
    piped.components[0]!.source = { content_type: 'application/wasm', source: `file://${fifo}` };
    await expect(packageApp(piped)).rejects.toMatchObject({ code: 'OCI_APP_NOT_REGULAR_FILE', message: expect.stringContaining('named pipe') });
    const server = createServer();
    await new Promise<void>((done) => server.listen(join(dir, 'app', 'assets', 'a', 'sock'), done));
    try {
      // A socket in a files directory is not a regular file: walked past, as Spin's walk does; named directly, refused.
      const direct = structuredClone(app);
      direct.components[0]!.files = [{ source: `file://${join(dir, 'app', 'assets', 'a', 'sock')}`, path: '/sock' }];
      await expect(packageApp(direct)).rejects.toMatchObject({ code: 'OCI_APP_NOT_REGULAR_FILE', message: expect.stringContaining('/sock/) is a socket, not a regular file') });
      expect((await packageApp(app)).lockedApp.components[0]?.files?.map((f) => f.path)).toEqual(['x.txt']);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('refuses sources and files over the limits', async () => {
    const app = await writeApp(join(dir, 'app'), { components: [{ id: 'a', wasm: wasmA, files: { 'big.bin': big('b', 4096) } }] });
    await expect(packageApp(app, { maxSourceBytes: 4 })).rejects.toMatchObject({ code: 'OCI_APP_TOO_LARGE' });
    await expect(packageApp(app, { maxFileBytes: 1024 })).rejects.toMatchObject({ code: 'OCI_APP_TOO_LARGE', message: expect.stringContaining('4096 bytes, more than the 1024 allowed') });
  });
});
