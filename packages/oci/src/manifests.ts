import { sha256Digest } from '@spinel/cache';
import { digestWithAlgorithmOf, isValidDigest } from './digest.js';
import { DigestMismatchError, ManifestTooLargeError, ManifestUnknownError, OciError } from './errors.js';
import { discard, dump, headerValue, mediaTypeOf, readBounded, responseError } from './http-response.js';
import { ALL_MANIFEST_TYPES, INDEX_MANIFEST_TYPES, MediaType } from './media-types.js';
import type { RepositoryContext } from './repository-context.js';
import { backoffDelay, isRetryableNetworkError } from './retry.js';
import type { FetchManifestOptions } from './target.js';
import type { TransportResponse } from './transport.js';
import type { Descriptor, FetchedManifest } from './types.js';

// Manifests of a registry repository: resolve (HEAD), fetch (verified), push.

/**
 * Resolve a tag or digest to a descriptor with a HEAD request (no manifest body).
 *
 * @throws OciError `OCI_MANIFEST_UNKNOWN`
 */
export async function resolve(ctx: RepositoryContext, reference: string, options: { signal?: AbortSignal; accept?: readonly string[] } = {}): Promise<Descriptor> {
  const res = await ctx.send({
    method: 'HEAD',
    path: `/v2/${ctx.repository}/manifests/${reference}`,
    headers: { accept: (options.accept ?? ALL_MANIFEST_TYPES).join(', ') },
    scopes: ctx.pullScopes,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  await dump(res);
  if (res.status === 404) throw new ManifestUnknownError(`${ctx.description}:${reference}`);
  if (res.status !== 200) throw await responseError(res, `resolving ${ctx.description}:${reference}`, ctx.registry);
  const digest = headerValue(res.headers['docker-content-digest']) ?? (isValidDigest(reference) ? reference : undefined);
  if (digest === undefined || !isValidDigest(digest)) {
    // Without a digest header the only way to know the digest is to fetch the manifest.
    return (await fetchManifest(ctx, reference, options)).descriptor;
  }
  if (isValidDigest(reference) && digest !== reference) throw new DigestMismatchError(`manifest ${ctx.description}@${reference}`, reference, digest);
  return {
    mediaType: mediaTypeOf(res.headers['content-type']) ?? MediaType.OciManifest,
    digest,
    size: Number(headerValue(res.headers['content-length']) ?? 0),
  };
}

/** Fetch a manifest, verified against its digest whenever one is known; see `OciTarget.fetchManifest`. */
export async function fetchManifest(ctx: RepositoryContext, reference: string, options: FetchManifestOptions = {}): Promise<FetchedManifest> {
  const max = options.maxBytes ?? ctx.settings.maxManifestBytes;
  const where = isValidDigest(reference) ? `${ctx.description}@${reference}` : `${ctx.description}:${reference}`;
  for (let attempt = 0; ; attempt++) {
    const res = await ctx.send({
      method: 'GET',
      path: `/v2/${ctx.repository}/manifests/${reference}`,
      headers: { accept: (options.accept ?? ALL_MANIFEST_TYPES).join(', ') },
      scopes: ctx.pullScopes,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (res.status === 404) {
      await dump(res);
      throw new ManifestUnknownError(where);
    }
    if (res.status !== 200) throw await responseError(res, `fetching manifest ${where}`, ctx.registry);
    const declared = Number(headerValue(res.headers['content-length']));
    if (Number.isFinite(declared) && declared > max) {
      discard(res.body);
      throw new ManifestTooLargeError(`manifest ${where}`, max);
    }
    let bytes: Buffer;
    try {
      bytes = await readBounded(res.body, max, `manifest ${where}`);
    } catch (err) {
      if (!(err instanceof OciError) && attempt < ctx.transport.retry.retries && isRetryableNetworkError(err)) {
        await ctx.transport.retry.sleep(backoffDelay(ctx.transport.retry, attempt));
        continue;
      }
      throw err;
    }
    return manifestFromResponse(bytes, reference, where, res);
  }
}

/** Store a manifest (under `tag` when given), checking the digest the registry reports. */
export async function pushManifest(ctx: RepositoryContext, bytes: Uint8Array, mediaType: string, tag?: string, options: { signal?: AbortSignal } = {}): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const res = await ctx.send({
    method: 'PUT',
    path: `/v2/${ctx.repository}/manifests/${tag ?? digest}`,
    headers: { 'content-type': mediaType, 'content-length': String(body.byteLength) },
    body,
    scopes: ctx.pushScopes,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await responseError(res, `pushing manifest to ${ctx.description}`, ctx.registry);
  await dump(res);
  const returned = headerValue(res.headers['docker-content-digest']);
  if (returned !== undefined && returned.length > 0) {
    const ours = isValidDigest(returned) ? digestWithAlgorithmOf(returned, bytes) : digest;
    if (returned !== ours) throw new DigestMismatchError(`manifest pushed to ${ctx.description}`, ours, returned);
  }
  return { mediaType, digest, size: bytes.byteLength };
}

function manifestFromResponse(bytes: Buffer, reference: string, where: string, res: TransportResponse): FetchedManifest {
  const header = headerValue(res.headers['docker-content-digest']);
  if (isValidDigest(reference)) {
    const actual = digestWithAlgorithmOf(reference, bytes);
    if (actual !== reference) throw new DigestMismatchError(`manifest ${where}`, reference, actual);
  } else if (header !== undefined && isValidDigest(header)) {
    const actual = digestWithAlgorithmOf(header, bytes);
    if (actual !== header) throw new DigestMismatchError(`manifest ${where}`, header, actual);
  }
  let mediaType = mediaTypeOf(res.headers['content-type']);
  if (mediaType === undefined || !ALL_MANIFEST_TYPES.includes(mediaType)) {
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
      if (typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
      else mediaType = Array.isArray(parsed.manifests) ? INDEX_MANIFEST_TYPES[0] : MediaType.OciManifest;
    } catch {
      mediaType ??= MediaType.OciManifest;
    }
  }
  const digest = isValidDigest(reference) ? reference : sha256Digest(bytes);
  return { descriptor: { mediaType: mediaType ?? MediaType.OciManifest, digest, size: bytes.byteLength }, bytes };
}
