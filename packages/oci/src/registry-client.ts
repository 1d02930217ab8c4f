import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { hasBlob, pullBlob, readBlob } from './blob-download.js';
import { mountBlob, pushBlob } from './blob-upload.js';
import { fetchManifest, pushManifest, resolve } from './manifests.js';
import { DEFAULT_MAX_MANIFEST_BYTES } from './media-types.js';
import { parseReference, type Reference } from './reference.js';
import type { RepositoryContext, RepositorySettings } from './repository-context.js';
import { listTags, referrers } from './tags-referrers.js';
import { DOWNLOAD_CONCURRENCY, UPLOAD_CONCURRENCY } from './transfer-limits.js';
import type { BlobSource, FetchManifestOptions, OciTarget, PullBlobOptions, PushBlobOptions, PushBlobResult } from './target.js';
import { RegistryTransport, type SendOptions, type TransportOptions, type TransportResponse } from './transport.js';
import type { Descriptor, FetchedManifest } from './types.js';

/** How blobs are uploaded. */
export interface UploadOptions {
  /**
   * `monolithic`: one PUT with the whole blob; `chunked`: PATCH in chunks then PUT;
   * `auto`: monolithic up to `monolithicMaxBytes`, chunked above, each falling back to the
   * other when the registry rejects it.
   * @default 'auto'
   */
  mode?: 'auto' | 'monolithic' | 'chunked';
  /** Chunk size for chunked uploads (raised to the registry's `OCI-Chunk-Min-Length`). @default 8 MiB */
  chunkSize?: number;
  /** Largest blob `auto` sends in one PUT. @default 256 MiB */
  monolithicMaxBytes?: number;
}

/** Options of {@link createRegistryClient}. */
export interface RegistryClientOptions extends TransportOptions {
  /**
   * Blob downloads, and separately blob uploads, in flight at once across the client (when
   * set, it bounds both).
   * @default 32 downloads, 16 uploads
   */
  concurrency?: number;
  upload?: UploadOptions;
  /** Largest manifest accepted. @default 4 MiB */
  maxManifestBytes?: number;
}

/** A client for OCI distribution registries. Create with {@link createRegistryClient}. */
export interface RegistryClient {
  /** The HTTP layer (auth, retries); shared by every repository of this client. */
  readonly transport: RegistryTransport;
  /** A repository as an {@link OciTarget}; takes a parsed reference, its text, or `{ registry, repository }`. */
  repository(ref: Reference | string | { registry: string; repository: string }): RegistryRepository;
  /**
   * Check that the registry answers `/v2/` with the configured credentials.
   *
   * @throws OciError `OCI_UNAUTHORIZED`, `OCI_AUTH_FAILED`, `OCI_NETWORK`, `OCI_REGISTRY_ERROR`
   */
  checkAccess(registry: string): Promise<void>;
  /** Release connections (only when the client created its own dispatcher). */
  close(): Promise<void>;
}

/**
 * Create a registry client: undici with keep-alive (or your `dispatcher`), credentials from
 * `credentials`, HTTPS unless `insecure` or the registry is on loopback, bounded parallel
 * blob transfers, retries with backoff and jitter.
 */
export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const transport = new RegistryTransport(options);
  const settings: RepositorySettings = {
    pullLimit: pLimit(Math.max(1, options.concurrency ?? DOWNLOAD_CONCURRENCY)),
    pushLimit: pLimit(Math.max(1, options.concurrency ?? UPLOAD_CONCURRENCY)),
    uploadMode: options.upload?.mode ?? 'auto',
    chunkSize: options.upload?.chunkSize ?? 8 * 1024 * 1024,
    monolithicMaxBytes: options.upload?.monolithicMaxBytes ?? 256 * 1024 * 1024,
    maxManifestBytes: options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
  };
  return {
    transport,
    repository(ref) {
      const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
      return new RegistryRepository(transport, settings, parsed.registry, parsed.repository);
    },
    checkAccess: (registry) => transport.checkAccess(registry),
    close: () => transport.close(),
  };
}

/**
 * One repository of a registry, as an {@link OciTarget}. The protocol lives in
 * `manifests.ts`, `blob-download.ts`, `blob-upload.ts` and `tags-referrers.ts`; this class
 * binds it to one repository and bounds blob transfers per client.
 */
export class RegistryRepository implements OciTarget {
  readonly description: string;
  readonly #ctx: RepositoryContext;

  /** @internal use `client.repository()` */
  constructor(
    transport: RegistryTransport,
    settings: RepositorySettings,
    readonly registry: string,
    readonly repository: string,
  ) {
    this.description = `${registry}/${repository}`;
    this.#ctx = {
      transport,
      settings,
      registry,
      repository,
      description: this.description,
      pullScopes: [`repository:${repository}:pull`],
      pushScopes: [`repository:${repository}:pull,push`],
      send: (send: Omit<SendOptions, 'registry'>): Promise<TransportResponse> => transport.send({ ...send, registry }),
    };
  }

  /**
   * Resolve a tag or digest to a descriptor with a HEAD request (no manifest body).
   *
   * @throws OciError `OCI_MANIFEST_UNKNOWN`
   */
  resolve(reference: string, options: { signal?: AbortSignal; accept?: readonly string[] } = {}): Promise<Descriptor> {
    return resolve(this.#ctx, reference, options);
  }

  fetchManifest(reference: string, options: FetchManifestOptions = {}): Promise<FetchedManifest> {
    return fetchManifest(this.#ctx, reference, options);
  }

  pushManifest(bytes: Uint8Array, mediaType: string, tag?: string, options: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    return pushManifest(this.#ctx, bytes, mediaType, tag, options);
  }

  hasBlob(descriptor: Descriptor, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return hasBlob(this.#ctx, descriptor, options);
  }

  pullBlob<T>(descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options: PullBlobOptions = {}): Promise<T> {
    return this.#ctx.settings.pullLimit(() => pullBlob(this.#ctx, descriptor, consume, options));
  }

  readBlob(descriptor: Descriptor, options: PullBlobOptions = {}): Promise<Buffer> {
    return this.#ctx.settings.pullLimit(() => readBlob(this.#ctx, descriptor, options));
  }

  /**
   * Try a cross-repository mount only: `true` when the registry mounted the blob from
   * `fromRepository`; `false` (after cancelling the upload session it opened) when it could not.
   */
  mountBlob(descriptor: Descriptor, fromRepository: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return mountBlob(this.#ctx, descriptor, fromRepository, options);
  }

  pushBlob(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
    return this.#ctx.settings.pushLimit(() => pushBlob(this.#ctx, descriptor, source, options));
  }

  listTags(options: { signal?: AbortSignal; pageSize?: number } = {}): Promise<string[]> {
    return listTags(this.#ctx, options);
  }

  referrers(digest: string, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
    return referrers(this.#ctx, digest, options);
  }
}
