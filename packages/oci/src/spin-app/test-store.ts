// Test helper (excluded from the build): a directory store keyed by digest, and app fixtures.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Digest } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import type { AppBlobStore } from './app-blob-store.js';
import type { PackagedApp } from './package-app.js';

/** A store that is not @spinel/cache: plain files under `<root>/<kind>/<digest>`, checked on put. */
export function dirStore(root: string): AppBlobStore & { putBlob(digest: string, bytes: Uint8Array): Promise<void>; path(digest: string): Promise<string | undefined> } {
  const pathOf = (digest: string, kind: string): string => join(root, kind, digest);
  const store = {
    async stat(digest: string) {
      for (const kind of ['wasm', 'data']) {
        const path = pathOf(digest, kind);
        const info = await stat(path).catch(() => undefined);
        if (info?.isFile() === true) return { path, size: info.size };
      }
      return undefined;
    },
    async path(digest: string) {
      return (await store.stat(digest))?.path;
    },
    async putBytes(digest: string, content: Uint8Array, options: { kind: 'wasm' | 'data' }) {
      if (sha256Digest(content) !== digest) throw new Error(`digest mismatch for ${digest}`);
      const path = pathOf(digest, options.kind);
      await mkdir(join(root, options.kind), { recursive: true });
      await writeFile(path, content);
      return { path };
    },
    async putStream(digest: string, source: AsyncIterable<Uint8Array>, options: { kind: 'wasm' | 'data' }) {
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(Buffer.from(chunk));
      return store.putBytes(digest, Buffer.concat(chunks), options);
    },
    async putBlob(digest: string, bytes: Uint8Array) {
      await store.putBytes(digest, bytes, { kind: 'data' });
    },
  };
  return store;
}

/** Copies every layer of a packaged app into a store, as a pull would; returns the locked-app bytes (Spin's config.json). */
export async function storePackaged(store: ReturnType<typeof dirStore>, packaged: PackagedApp): Promise<Buffer> {
  let config = Buffer.alloc(0);
  for (const blob of [packaged.config, ...packaged.layers]) {
    const chunks: Buffer[] = [];
    for await (const chunk of blob.open()) chunks.push(Buffer.from(chunk));
    const bytes = Buffer.concat(chunks);
    if (blob.descriptor.mediaType === 'application/vnd.fermyon.spin.application.v1+config') config = bytes;
    else await store.putBytes(blob.descriptor.digest, bytes, { kind: blob.descriptor.mediaType.endsWith('+wasm') ? 'wasm' : 'data' });
  }
  await packaged.dispose();
  return config;
}

/** A minimal valid core module (`(module)`) followed by `extra` bytes in a custom section, so sizes and digests differ. */
export function wasmBytes(extra = ''): Buffer {
  const payload = Buffer.from(extra);
  const name = Buffer.from('x');
  const section = Buffer.concat([Buffer.from([name.length]), name, payload]);
  return Buffer.concat([Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00]), leb(section.length), section]);
}

function leb(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return Buffer.from(out);
}

/** Writes an app's files under `dir` and returns its locked app. */
export async function writeApp(
  dir: string,
  spec: { components: { id: string; wasm: Uint8Array; files?: Record<string, Uint8Array | string> }[]; metadata?: Record<string, string | string[]> },
): Promise<LockedApp> {
  await mkdir(dir, { recursive: true });
  const components: LockedApp['components'] = [];
  for (const component of spec.components) {
    const wasmPath = join(dir, `${component.id}.wasm`);
    await writeFile(wasmPath, component.wasm);
    const entry: LockedApp['components'][number] = {
      id: component.id,
      source: { content_type: 'application/wasm', source: pathToFileURL(wasmPath).href },
    };
    if (component.files !== undefined) {
      const assets = join(dir, 'assets', component.id);
      await mkdir(assets, { recursive: true });
      for (const [path, content] of Object.entries(component.files)) {
        await mkdir(join(assets, path, '..'), { recursive: true });
        await writeFile(join(assets, path), content);
      }
      entry.files = [{ source: pathToFileURL(assets).href, path: '/' }];
    }
    components.push(entry);
  }
  return {
    metadata: { name: 'test-app', origin: pathToFileURL(join(dir, 'spin.toml')).href, ...(spec.metadata ?? {}) },
    triggers: spec.components.map((component) => ({
      id: `trigger-${component.id}`,
      trigger_type: 'http',
      trigger_config: { component: component.id, route: `/${component.id}/...` },
    })),
    components,
  };
}

export async function readText(url: string): Promise<string> {
  return readFile(new URL(url), 'utf8');
}
