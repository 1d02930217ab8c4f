import { sha256Digest } from '@spinel/cache';
import { InvalidReferenceError } from '../errors.js';
import { MediaType } from '../media-types.js';
import type { OciTarget } from '../target.js';
import { parseSemVer } from './version-requirement.js';

/** Options of {@link pushWasmPackage}. */
export interface PushWasmPackageOptions {
  /** The repository of the package (`<registry>/<namespace>/<name>`, as `pullWasmPackage` reads it). */
  target: OciTarget;
  /** The release: a semantic version, used as the tag. */
  version: string;
  /** The component's bytes. */
  wasm: Uint8Array;
  /** `created` of the config. @default the Unix epoch, so the same bytes give the same digest */
  created?: Date;
  signal?: AbortSignal;
}

/**
 * Publishes a Wasm component as a wasm OCI artifact (the CNCF TAG Runtime layout `wkg oci push`
 * writes: an `application/vnd.wasm.config.v0+json` config and one `application/wasm` layer),
 * tagged with its version, so `pullWasmPackage` and Spin's registry dependencies find it.
 *
 * @throws OciError `OCI_INVALID_REFERENCE` (a version that is not a semantic version), and the target's codes
 * @returns the manifest digest
 */
export async function pushWasmPackage(options: PushWasmPackageOptions): Promise<string> {
  if (parseSemVer(options.version) === undefined) {
    throw new InvalidReferenceError(`Invalid package version ${JSON.stringify(options.version)}: a release is tagged with a semantic version such as 1.2.3.`);
  }
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const wasm = Buffer.from(options.wasm);
  const layer = { mediaType: MediaType.Wasm, digest: sha256Digest(wasm), size: wasm.length };
  const config = Buffer.from(
    JSON.stringify({ created: (options.created ?? new Date(0)).toISOString(), architecture: 'wasm', os: 'wasip2', layerDigests: [layer.digest] }),
    'utf8',
  );
  const configDescriptor = { mediaType: MediaType.WasmConfig, digest: sha256Digest(config), size: config.length };
  await options.target.pushBlob(layer, wasm, signal);
  await options.target.pushBlob(configDescriptor, config, signal);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, artifactType: MediaType.WasmConfig, config: configDescriptor, layers: [layer] }), 'utf8');
  const pushed = await options.target.pushManifest(manifest, MediaType.OciManifest, options.version, signal);
  return pushed.digest;
}
