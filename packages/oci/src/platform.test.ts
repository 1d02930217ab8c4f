import { describe, expect, it } from 'vitest';
import { MediaType } from './media-types.js';
import { parseManifestJson, selectPlatform } from './platform.js';
import type { Descriptor, ImageIndex } from './types.js';

const entry = (n: number, os: string, architecture: string): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest: `sha256:${String(n).repeat(64)}`,
  size: n,
  platform: { os, architecture },
});
const index = (...manifests: Descriptor[]): ImageIndex => ({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests });

describe('selectPlatform', () => {
  it('prefers the exact wasi/wasm entry', () => {
    expect(selectPlatform(index(entry(1, 'linux', 'amd64'), entry(2, 'wasip2', 'wasm'), entry(3, 'wasi', 'wasm')))?.size).toBe(3);
  });
  it('accepts wasip1/wasip2 entries when there is no plain wasi one', () => {
    expect(selectPlatform(index(entry(1, 'linux', 'amd64'), entry(2, 'wasip2', 'wasm')))?.size).toBe(2);
  });
  it('finds nothing for an index without Wasm', () => {
    expect(selectPlatform(index(entry(1, 'linux', 'amd64'), entry(2, 'linux', 'arm64')))).toBeUndefined();
  });
  it('selects other platforms on request', () => {
    expect(selectPlatform(index(entry(1, 'linux', 'amd64'), entry(2, 'linux', 'arm64')), { os: 'linux', architecture: 'arm64' })?.size).toBe(2);
  });
});

describe('parseManifestJson', () => {
  it.each([
    ['not json', '{'],
    ['an array', '[]'],
    ['schema 1', '{"schemaVersion":1,"layers":[]}'],
    ['no layers', '{"schemaVersion":2}'],
    ['a bad descriptor', '{"schemaVersion":2,"config":{"mediaType":"a","digest":"d"},"layers":[]}'],
    ['a negative size', '{"schemaVersion":2,"config":{"mediaType":"a","digest":"d","size":-1},"layers":[]}'],
  ])('rejects %s with OCI_MANIFEST_INVALID', (_name, text) => {
    expect(() => parseManifestJson(Buffer.from(text), 'm')).toThrow(expect.objectContaining({ code: 'OCI_MANIFEST_INVALID' }));
  });
});
