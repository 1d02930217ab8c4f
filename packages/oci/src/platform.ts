import { ManifestInvalidError, NoMatchingPlatformError } from './errors.js';
import { INDEX_MANIFEST_TYPES, IMAGE_MANIFEST_TYPES } from './media-types.js';
import type { FetchManifestOptions, OciTarget } from './target.js';
import type { Descriptor, FetchedManifest, ImageIndex, ImageManifest, Platform } from './types.js';

/** The platform Wasm artifacts use in an index (image-spec: `os: wasi`, `architecture: wasm`). */
export const WASM_PLATFORM: Platform = { os: 'wasi', architecture: 'wasm' };

/**
 * Parse manifest bytes as JSON and check its basic shape.
 *
 * @throws OciError `OCI_MANIFEST_INVALID`
 */
export function parseManifestJson(bytes: Uint8Array, what: string): ImageManifest | ImageIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ManifestInvalidError(`${what} is not valid JSON; it cannot be used.`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ManifestInvalidError(`${what} is not a JSON object.`);
  const m = parsed as Record<string, unknown>;
  if (m['schemaVersion'] !== 2) throw new ManifestInvalidError(`${what} has schemaVersion ${String(m['schemaVersion'])}; only 2 is supported.`);
  if (Array.isArray(m['manifests'])) {
    for (const d of m['manifests']) checkDescriptor(d, what);
    return parsed as ImageIndex;
  }
  if (!Array.isArray(m['layers'])) throw new ManifestInvalidError(`${what} has neither layers nor manifests.`);
  checkDescriptor(m['config'], what);
  for (const d of m['layers']) checkDescriptor(d, what);
  return parsed as ImageManifest;
}

function checkDescriptor(value: unknown, what: string): asserts value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    typeof d.mediaType !== 'string' ||
    typeof d.digest !== 'string' ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw new ManifestInvalidError(`${what} has a malformed descriptor (mediaType, digest and size are required).`);
  }
}

/** True when the manifest (by media type or shape) is an index. */
export function isIndex(fetched: FetchedManifest, parsed: ImageManifest | ImageIndex): parsed is ImageIndex {
  return INDEX_MANIFEST_TYPES.includes(fetched.descriptor.mediaType) || Array.isArray((parsed as ImageIndex).manifests);
}

/**
 * Pick the entry of an index for a platform; `undefined` when none matches. For the Wasm
 * platform an exact `wasi`/`wasm` entry wins, then `wasip1`/`wasip2`-style ones.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform = WASM_PLATFORM): Descriptor | undefined {
  const os = wanted.os.toLowerCase();
  const arch = wanted.architecture.toLowerCase();
  const entries = index.manifests.filter((d) => d.platform !== undefined && d.platform.architecture.toLowerCase() === arch);
  const exact = entries.filter((d) => d.platform?.os.toLowerCase() === os);
  const loose = os === 'wasi' ? entries.filter((d) => /^wasip\d+$/.test(d.platform?.os.toLowerCase() ?? '')) : [];
  const matches = exact.length > 0 ? exact : loose;
  return matches.find((d) => IMAGE_MANIFEST_TYPES.includes(d.mediaType)) ?? matches[0];
}

/** An image manifest and how it was reached. */
export interface ResolvedImage {
  /** The image manifest as fetched (verified). */
  manifest: FetchedManifest;
  /** Its parsed JSON. */
  image: ImageManifest;
  /** The index it was chosen from, when the reference named an index. */
  index?: FetchedManifest;
}

/**
 * Fetch the image manifest a reference names; when it names an index, choose the entry for
 * `platform` (default `wasi`/`wasm`) and fetch that by digest.
 *
 * @throws OciError `OCI_NO_MATCHING_PLATFORM`, `OCI_MANIFEST_INVALID`, and those of `fetchManifest`
 */
export async function fetchImageManifest(
  target: OciTarget,
  reference: string,
  options: FetchManifestOptions & { platform?: Platform } = {},
): Promise<ResolvedImage> {
  const first = await target.fetchManifest(reference, options);
  const parsed = parseManifestJson(first.bytes, `manifest ${target.description}:${reference}`);
  if (!isIndex(first, parsed)) return { manifest: first, image: parsed };
  const wanted = options.platform ?? WASM_PLATFORM;
  const entry = selectPlatform(parsed, wanted);
  if (!entry) throw new NoMatchingPlatformError(`${target.description}:${reference}`, `${wanted.os}/${wanted.architecture}`);
  const manifest = await target.fetchManifest(entry.digest, options);
  if (manifest.bytes.byteLength !== entry.size) {
    throw new ManifestInvalidError(`manifest ${entry.digest} is ${manifest.bytes.byteLength} bytes but the index says ${entry.size}.`);
  }
  const image = parseManifestJson(manifest.bytes, `manifest ${target.description}@${entry.digest}`);
  if (isIndex(manifest, image)) throw new ManifestInvalidError(`${target.description}@${entry.digest} is a nested index; an image manifest was expected.`);
  return { manifest, image, index: first };
}
