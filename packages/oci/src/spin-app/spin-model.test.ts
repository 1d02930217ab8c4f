import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, opendir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LockedApp } from '@spinel/manifest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageApp } from './package-app.js';
import { wasmBytes } from './test-store.js';

// A model of Spin's packaging, written from Spin's source (`crates/oci/src/client.rs`:
// push_locked_core, assemble_layers_uncomposed, push_file_layers, content_ref_for_layer,
// all_annotations; `crates/locked-app/src/locked.rs` for the serde shape; oci-client's
// `OciImageManifest::build`, `ConfigFile` and the olpc_cjson formatter for the manifest).
// It shares no code with the implementation: same app in, same digests out.

const sha = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** serde_json compact output of a JSON value whose objects are already in serde's order. */
const serde = (value: unknown): string => JSON.stringify(value);
/** serde_json `Map` (a BTreeMap): keys in byte order. */
function btree(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const v = o[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? btree(v as Record<string, unknown>) : v;
  }
  return out;
}
/** olpc_cjson: sorted keys, only `"` and `\` escaped. */
function olpc(value: unknown): string {
  if (typeof value === 'string') return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map(olpc).join(',')}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${olpc(k)}:${olpc(o[k])}`).join(',')}}`;
}
/** walkdir without sorting or following links: depth first, entries in the file system's order. */
async function walkdir(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of await opendir(join(root, prefix))) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isFile()) out.push(rel);
    else if (entry.isDirectory()) out.push(...(await walkdir(root, rel)));
  }
  return out;
}

interface ModelLayer {
  mediaType: string;
  data: Buffer;
}

async function spinModel(spec: {
  metadata: Record<string, unknown>;
  components: { id: string; wasm: Buffer; deps: Record<string, Buffer>; filesDir?: string; env?: Record<string, string> }[];
  triggers: { id: string; trigger_type: string; trigger_config: Record<string, unknown> }[];
  created: string;
  explicit: Record<string, string>;
}): Promise<{ locked: Buffer; config: Buffer; manifest: Buffer }> {
  const layers: ModelLayer[] = [];
  const contentRef = (data: Buffer): Record<string, unknown> => (data.length <= 128 ? { inline: b64(data), digest: sha(data) } : { digest: sha(data) });
  const components = [];
  for (const c of spec.components) {
    layers.push({ mediaType: 'application/vnd.wasm.content.layer.v1+wasm', data: c.wasm });
    const deps: Record<string, unknown> = {};
    for (const name of Object.keys(c.deps).sort()) {
      const data = c.deps[name] as Buffer;
      deps[name] = { source: { content_type: 'application/wasm', ...contentRef(data) }, export: null };
      layers.push({ mediaType: 'application/vnd.wasm.content.layer.v1+wasm', data });
    }
    const files = [];
    if (c.filesDir !== undefined) {
      for (const rel of await walkdir(c.filesDir)) {
        const data = await readFile(join(c.filesDir, rel));
        const ref = contentRef(data);
        files.push({ ...ref, path: rel });
        if (!('inline' in ref)) layers.push({ mediaType: 'application/vnd.wasm.content.layer.v1+data', data });
      }
    }
    components.push({
      id: c.id,
      source: { content_type: 'application/wasm', ...contentRef(c.wasm) },
      ...(c.env === undefined ? {} : { env: btree(c.env) }),
      ...(files.length === 0 ? {} : { files }),
      ...(Object.keys(deps).length === 0 ? {} : { dependencies: deps }),
    });
  }
  // `unique()` on (data, media type, annotations), first kept.
  const unique = layers.filter((l, i) => layers.findIndex((m) => m.mediaType === l.mediaType && m.data.equals(l.data)) === i);
  const metadata = { ...spec.metadata };
  delete metadata['origin'];
  const lockedApp = {
    spin_lock_version: 0,
    metadata: btree(metadata),
    triggers: spec.triggers.map((t) => ({ id: t.id, trigger_type: t.trigger_type, trigger_config: btree(t.trigger_config) })),
    components,
  };
  const locked = Buffer.from(serde(lockedApp));
  unique.push({ mediaType: 'application/vnd.fermyon.spin.application.v1+config', data: locked });
  const config = Buffer.from(
    serde({ architecture: 'wasm', os: 'Wasip1', config: { Labels: { 'com.fermyon.spin.lockedAppDigest': sha(locked) } }, rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const annotations: Record<string, string> = { ...spec.explicit };
  const infer = (k: string, v: unknown): void => {
    if (typeof v === 'string' && !(k in annotations)) annotations[k] = v;
  };
  const authors = spec.metadata['authors'] as string[] | undefined;
  if (authors !== undefined && authors.length > 0) infer('org.opencontainers.image.authors', authors.join(', '));
  infer('org.opencontainers.image.title', spec.metadata['name']);
  infer('org.opencontainers.image.description', spec.metadata['description']);
  infer('org.opencontainers.image.version', spec.metadata['version']);
  infer('org.opencontainers.image.created', spec.created);
  const manifest = Buffer.from(
    olpc({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: unique.map((l) => ({ mediaType: l.mediaType, digest: sha(l.data), size: l.data.length })),
      annotations,
    }),
  );
  return { locked, config, manifest };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-spin-model-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Spin's packaging, modelled from its source", () => {
  it('gives the locked-app layer, config and manifest the digests Spin would', async () => {
    const big = wasmBytes('x'.repeat(4000));
    const tiny = wasmBytes('t'); // under 128 bytes: inlined and pushed
    const depB = wasmBytes('b'.repeat(300));
    const depA = wasmBytes('a'.repeat(200));
    const files = join(dir, 'assets', 'web');
    await mkdir(join(files, 'css', 'deep'), { recursive: true });
    const content: Record<string, string | Buffer> = {
      'index.html': 'h'.repeat(1000),
      'robots.txt': 'small',
      'css/site.css': Buffer.alloc(500, 'c'),
      'css/deep/zz.css': Buffer.alloc(500, 'c'), // same bytes: one layer
      'css/deep/a b\\c.txt': 'q'.repeat(300),
      'empty': '',
    };
    for (const [path, data] of Object.entries(content)) await writeFile(join(files, path), data);
    await writeFile(join(dir, 'web.wasm'), big);
    await writeFile(join(dir, 'tiny.wasm'), tiny);
    await writeFile(join(dir, 'depb.wasm'), depB);
    await writeFile(join(dir, 'depa.wasm'), depA);
    const metadata = {
      origin: pathToFileURL(join(dir, 'spin.toml')).href,
      version: '1.0.0',
      name: 'model-app',
      description: 'line one\nline "two" \\ ü 😀',
      authors: ['Ann <a@x>', 'Bob'],
      triggers: { http: { base: '/' } },
      trigger: { type: 'http', base: '/' },
    };
    const triggers = [
      { id: 'trigger-web', trigger_type: 'http', trigger_config: { route: '/...', component: 'web' } },
      { id: 'trigger-tiny', trigger_type: 'http', trigger_config: { route: '/tiny', component: 'tiny' } },
    ];
    const app: LockedApp = {
      metadata,
      triggers,
      components: [
        {
          id: 'web',
          source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'web.wasm')).href },
          env: { ZED: '1', ALPHA: '2' },
          files: [{ source: pathToFileURL(files).href, path: '/' }],
          dependencies: {
            'my:dep/b': { source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'depb.wasm')).href }, export: null },
            'my:dep/a': { source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'depa.wasm')).href }, export: null },
          },
        },
        { id: 'tiny', source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'tiny.wasm')).href } },
      ],
    };
    const explicit = { 'org.opencontainers.image.version': 'explicit', 'com.example.z': 'z' };
    const packaged = await packageApp(app, { sourceDateEpoch: 1700000000, annotations: explicit });
    const model = await spinModel({
      metadata,
      triggers,
      components: [
        { id: 'web', wasm: big, deps: { 'my:dep/b': depB, 'my:dep/a': depA }, filesDir: files, env: { ZED: '1', ALPHA: '2' } },
        { id: 'tiny', wasm: tiny, deps: {} },
      ],
      created: '2023-11-14T22:13:20+00:00',
      explicit,
    });
    const lockedLayer = packaged.layers.at(-1);
    const chunks: Buffer[] = [];
    for await (const chunk of lockedLayer?.open() ?? []) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe(model.locked.toString());
    expect(packaged.config.bytes?.toString()).toBe(model.config.toString());
    expect(packaged.manifestBytes.toString()).toBe(model.manifest.toString());
    expect(packaged.manifestDigest).toBe(sha(model.manifest));
    await packaged.dispose();
  });
});
