import { createHash, randomBytes } from 'node:crypto';
import { MediaType } from './media-types.js';
import type { OciTarget } from './target.js';
import type { Descriptor, ImageManifest } from './types.js';

/** A blob and its descriptor, for tests. */
export interface TestBlob {
  bytes: Buffer;
  descriptor: Descriptor;
}

export function blob(bytes: Buffer | string, mediaType = 'application/octet-stream'): TestBlob {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { bytes: b, descriptor: { mediaType, digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, size: b.byteLength } };
}

export function randomBlob(size: number, mediaType = 'application/vnd.wasm.content.layer.v1+wasm'): TestBlob {
  return blob(randomBytes(size), mediaType);
}

/** An image with random layers, ready to push. */
export function makeImage(layerSizes: readonly number[]): { config: TestBlob; layers: TestBlob[]; manifest: Buffer; manifestJson: ImageManifest } {
  const config = blob(JSON.stringify({ architecture: 'wasm', os: 'wasip1', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }), MediaType.OciConfig);
  const layers = layerSizes.map((s) => randomBlob(s));
  const manifestJson: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
  };
  return { config, layers, manifest: Buffer.from(JSON.stringify(manifestJson)), manifestJson };
}

/** Push every blob then the manifest. */
export async function pushImage(target: OciTarget, image: ReturnType<typeof makeImage>, tag?: string): Promise<Descriptor> {
  await Promise.all([image.config, ...image.layers].map((b) => target.pushBlob(b.descriptor, b.bytes)));
  return target.pushManifest(image.manifest, MediaType.OciManifest, tag);
}

/** Read a whole stream into a buffer. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
