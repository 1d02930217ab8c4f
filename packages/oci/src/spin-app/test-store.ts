// Test helper (excluded from the build): a directory store keyed by digest, and app fixtures.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Digest } from './digest.js';
import type { AppBlobStore } from './unpack-app.js';
import type { PackagedApp } from './package-app.js';
import type { LockedAppJson } from './types.js';

export function dirStore(root: string): AppBlobStore & { putBlob(digest: string, bytes: Uint8Array): Promise<void> } {
  const pathOf = (digest: string, kind: string): string => join(root, kind, digest);
  return {
    async path(digest) {
      for (const kind of ['wasm', 'data']) {
        const path = pathOf(digest, kind);
        if ((await stat(path).catch(() => undefined))?.isFile() === true) return path;
      }
      return undefined;
    },
    async put(digest, content, options) {
      if (sha256Digest(content) !== digest) throw new Error(`digest mismatch for ${digest}`);
      const path = pathOf(digest, options?.kind ?? 'data');
      await mkdir(join(root, options?.kind ?? 'data'), { recursive: true });
      await writeFile(path, content);
      return { path };
    },
    async putBlob(digest, bytes) {
      await this.put(digest, bytes, { kind: 'data' });
    },
  };
}

/** Copies every blob of a packaged app into a store, as a pull would. */
export async function storePackaged(store: ReturnType<typeof dirStore>, packaged: PackagedApp): Promise<void> {
  for (const blob of [packaged.config, ...packaged.layers]) {
    const chunks: Buffer[] = [];
    for await (const chunk of blob.open()) chunks.push(Buffer.from(chunk));
    await store.put(blob.descriptor.digest, Buffer.concat(chunks), {
      kind: blob.descriptor.mediaType.endsWith('+wasm') ? 'wasm' : 'data',
    });
  }
  await packaged.dispose();
}

/** Writes an app's files under `dir` and returns its locked app. */
export async function writeApp(
  dir: string,
  spec: { components: { id: string; wasm: Uint8Array; files?: Record<string, Uint8Array | string> }[]; metadata?: Record<string, unknown> },
): Promise<LockedAppJson> {
  await mkdir(dir, { recursive: true });
  const components = [];
  for (const component of spec.components) {
    const wasmPath = join(dir, `${component.id}.wasm`);
    await writeFile(wasmPath, component.wasm);
    const entry: LockedAppJson['components'][number] = {
      id: component.id,
      source: { content_type: 'application/wasm', source: pathToFileURL(wasmPath).href },
    };
    if (component.files !== undefined) {
      const assets = join(dir, 'assets', component.id);
      for (const [path, content] of Object.entries(component.files)) {
        await mkdir(join(assets, path, '..'), { recursive: true });
        await writeFile(join(assets, path), content);
      }
      entry.files = [{ source: pathToFileURL(assets).href, path: '/' }];
    }
    components.push(entry);
  }
  return {
    spin_lock_version: 0,
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
