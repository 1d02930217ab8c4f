import type { Readable } from 'node:stream';
import { digestWithAlgorithmOf, isValidDigest, sha256Digest } from './digest.js';
import {
  BlobUnknownError,
  DigestMismatchError,
  ManifestTooLargeError,
  ManifestUnknownError,
  OciError,
  SizeMismatchError,
  UploadFailedError,
} from './errors.js';
import { headerValue, readLimited, RegistryTransport, responseError, type RequestBody, type TransportOptions, type TransportResponse } from './http.js';
import { ALL_MANIFEST_TYPES, DEFAULT_MAX_MANIFEST_BYTES, INDEX_MANIFEST_TYPES, MediaType } from './media-types.js';
import { parseReference, type Reference } from './reference.js';
import { backoffDelay, isRetryableNetworkError, isSourceConsumed } from './retry.js';
import { createSemaphore, type Semaphore } from './semaphore.js';
import type { BlobSource, FetchManifestOptions, OciTarget, PullBlobOptions, PushBlobOptions, PushBlobResult } from './target.js';
import type { Descriptor, FetchedManifest, ImageIndex } from './types.js';
import { verifyingStream } from './verify-stream.js';

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
  /** Blob downloads, and separately blob uploads, in flight at once across the client. @default 8 */
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
  // Pulls and pushes have separate slots, so a copy that pushes from inside a pull never waits on itself.
  const settings: RepositorySettings = {
    transport,
    pullSlots: createSemaphore(options.concurrency ?? 8),
    pushSlots: createSemaphore(options.concurrency ?? 8),
    uploadMode: options.upload?.mode ?? 'auto',
    chunkSize: options.upload?.chunkSize ?? 8 * 1024 * 1024,
    monolithicMaxBytes: options.upload?.monolithicMaxBytes ?? 256 * 1024 * 1024,
    maxManifestBytes: options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
  };
  return {
    transport,
    repository(ref) {
      const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
      return new RegistryRepository(settings, parsed.registry, parsed.repository);
    },
    checkAccess: (registry) => transport.checkAccess(registry),
    close: () => transport.close(),
  };
}

interface RepositorySettings {
  transport: RegistryTransport;
  pullSlots: Semaphore;
  pushSlots: Semaphore;
  uploadMode: 'auto' | 'monolithic' | 'chunked';
  chunkSize: number;
  monolithicMaxBytes: number;
  maxManifestBytes: number;
}

/** Raised inside an upload strategy when the registry rejects that way of uploading. */
class StrategyRejected extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

/** One repository of a registry, as an {@link OciTarget}. */
export class RegistryRepository implements OciTarget {
  readonly description: string;
  readonly #s: RepositorySettings;
  readonly #pull: string[];
  readonly #push: string[];

  constructor(
    settings: RepositorySettings,
    readonly registry: string,
    readonly repository: string,
  ) {
    this.#s = settings;
    this.description = `${registry}/${repository}`;
    this.#pull = [`repository:${repository}:pull`];
    this.#push = [`repository:${repository}:pull,push`];
  }

  #send(options: Omit<Parameters<RegistryTransport['send']>[0], 'registry'>): Promise<TransportResponse> {
    return this.#s.transport.send({ ...options, registry: this.registry });
  }

  /**
   * Resolve a tag or digest to a descriptor with a HEAD request (no manifest body).
   *
   * @throws OciError `OCI_MANIFEST_UNKNOWN`
   */
  async resolve(reference: string, options: { signal?: AbortSignal; accept?: readonly string[] } = {}): Promise<Descriptor> {
    const res = await this.#send({
      method: 'HEAD',
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { accept: (options.accept ?? ALL_MANIFEST_TYPES).join(', ') },
      scopes: this.#pull,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await res.body.dump().catch(() => undefined);
    if (res.status === 404) throw new ManifestUnknownError(`${this.description}:${reference}`);
    if (res.status !== 200) throw await responseError(res, `resolving ${this.description}:${reference}`, this.registry);
    const digest = headerValue(res.headers['docker-content-digest']) ?? (isValidDigest(reference) ? reference : undefined);
    if (digest === undefined || !isValidDigest(digest)) {
      // Without a digest header the only way to know the digest is to fetch the manifest.
      return (await this.fetchManifest(reference, options)).descriptor;
    }
    if (isValidDigest(reference) && digest !== reference) throw new DigestMismatchError(`manifest ${this.description}@${reference}`, reference, digest);
    return {
      mediaType: mediaTypeOf(res.headers['content-type']) ?? MediaType.OciManifest,
      digest,
      size: Number(headerValue(res.headers['content-length']) ?? 0),
    };
  }

  async fetchManifest(reference: string, options: FetchManifestOptions = {}): Promise<FetchedManifest> {
    const max = options.maxBytes ?? this.#s.maxManifestBytes;
    const where = isValidDigest(reference) ? `${this.description}@${reference}` : `${this.description}:${reference}`;
    for (let attempt = 0; ; attempt++) {
      const res = await this.#send({
        method: 'GET',
        path: `/v2/${this.repository}/manifests/${reference}`,
        headers: { accept: (options.accept ?? ALL_MANIFEST_TYPES).join(', ') },
        scopes: this.#pull,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (res.status === 404) {
        await res.body.dump().catch(() => undefined);
        throw new ManifestUnknownError(where);
      }
      if (res.status !== 200) throw await responseError(res, `fetching manifest ${where}`, this.registry);
      const declared = Number(headerValue(res.headers['content-length']));
      if (Number.isFinite(declared) && declared > max) {
        discard(res.body);
        throw new ManifestTooLargeError(`manifest ${where}`, max);
      }
      let bytes: Buffer;
      try {
        bytes = await readBounded(res.body, max, `manifest ${where}`);
      } catch (err) {
        if (!(err instanceof OciError) && attempt < this.#s.transport.retry.retries && isRetryableNetworkError(err)) {
          await this.#s.transport.retry.sleep(backoffDelay(this.#s.transport.retry, attempt));
          continue;
        }
        throw err;
      }
      return manifestFromResponse(bytes, reference, where, res);
    }
  }

  async pushManifest(bytes: Uint8Array, mediaType: string, tag?: string, options: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const res = await this.#send({
      method: 'PUT',
      path: `/v2/${this.repository}/manifests/${tag ?? digest}`,
      headers: { 'content-type': mediaType, 'content-length': String(body.byteLength) },
      body,
      scopes: this.#push,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await responseError(res, `pushing manifest to ${this.description}`, this.registry);
    await res.body.dump().catch(() => undefined);
    const returned = headerValue(res.headers['docker-content-digest']);
    if (returned !== undefined && returned.length > 0) {
      const ours = isValidDigest(returned) ? digestWithAlgorithmOf(returned, bytes) : digest;
      if (returned !== ours) throw new DigestMismatchError(`manifest pushed to ${this.description}`, ours, returned);
    }
    return { mediaType, digest, size: bytes.byteLength };
  }

  async hasBlob(descriptor: Descriptor, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const res = await this.#send({
      method: 'HEAD',
      path: `/v2/${this.repository}/blobs/${descriptor.digest}`,
      scopes: this.#pull,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await res.body.dump().catch(() => undefined);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await responseError(res, `checking blob ${descriptor.digest} in ${this.description}`, this.registry);
  }

  pullBlob<T>(descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options: PullBlobOptions = {}): Promise<T> {
    return this.#s.pullSlots.run(() => this.#pullBlob(descriptor, consume, options));
  }

  async #pullBlob<T>(descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options: PullBlobOptions): Promise<T> {
    const what = `blob ${descriptor.digest} from ${this.description}`;
    const retry = this.#s.transport.retry;
    for (let attempt = 0; ; attempt++) {
      const res = await this.#send({
        method: 'GET',
        path: `/v2/${this.repository}/blobs/${descriptor.digest}`,
        scopes: this.#pull,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (res.status === 404) {
        await res.body.dump().catch(() => undefined);
        throw new BlobUnknownError(this.description, descriptor.digest);
      }
      if (res.status !== 200) throw await responseError(res, `fetching ${what}`, this.registry);
      const declared = Number(headerValue(res.headers['content-length']));
      if (Number.isFinite(declared) && declared !== descriptor.size && headerValue(res.headers['content-length']) !== undefined) {
        discard(res.body);
        throw new SizeMismatchError(what, descriptor.size, declared);
      }
      const stream = verifyingStream(what, this.#resumable(res, descriptor, options.signal), descriptor, options.onProgress);
      try {
        return await consume(stream);
      } catch (err) {
        discard(stream);
        discard(res.body);
        if (options.signal?.aborted) throw err;
        if (attempt < retry.retries && isRetryableNetworkError(err)) {
          await retry.sleep(backoffDelay(retry, attempt), options.signal);
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * The body of a blob GET that survives dropped connections: after a reset it asks for the
   * rest with `Range` and carries on (a registry that ignores `Range` sends everything again
   * and the bytes already delivered are skipped), so the consumer sees one stream.
   */
  async *#resumable(first: TransportResponse, descriptor: Descriptor, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const retry = this.#s.transport.retry;
    let res = first;
    let received = 0;
    let skip = 0;
    for (let attempt = 0; ; ) {
      try {
        for await (const piece of res.body as AsyncIterable<Buffer>) {
          let chunk = piece;
          if (skip > 0) {
            const dropped = Math.min(skip, chunk.byteLength);
            skip -= dropped;
            chunk = chunk.subarray(dropped);
            if (chunk.byteLength === 0) continue;
          }
          received += chunk.byteLength;
          yield chunk;
        }
        return;
      } catch (err) {
        if (signal?.aborted || attempt >= retry.retries || received === 0 || received >= descriptor.size || !isRetryableNetworkError(err)) throw err;
        attempt++;
        await retry.sleep(backoffDelay(retry, attempt - 1), signal);
        res = await this.#send({
          method: 'GET',
          path: `/v2/${this.repository}/blobs/${descriptor.digest}`,
          headers: { range: `bytes=${received}-` },
          scopes: this.#pull,
          ...(signal === undefined ? {} : { signal }),
        });
        const range = /^bytes (\d+)-/.exec(headerValue(res.headers['content-range']) ?? '');
        if (res.status === 206 && range !== null && Number(range[1]) === received) skip = 0;
        else if (res.status === 200) skip = received;
        else {
          discard(res.body);
          throw err;
        }
      }
    }
  }

  /**
   * Try a cross-repository mount only: `true` when the registry mounted the blob from
   * `fromRepository`; `false` (after cancelling the upload session it opened) when it could not.
   */
  async mountBlob(descriptor: Descriptor, fromRepository: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const started = await this.#startUpload(descriptor, fromRepository, options.signal);
    if (started === 'mounted') return true;
    const res = await this.#send({ method: 'DELETE', path: started.location, scopes: this.#push, retry: false }).catch(() => undefined);
    await res?.body.dump().catch(() => undefined);
    return false;
  }

  pushBlob(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
    return this.#s.pushSlots.run(() => this.#pushBlob(descriptor, source, options));
  }

  async #pushBlob(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions): Promise<PushBlobResult> {
    if (await this.hasBlob(descriptor, options)) return { outcome: 'exists' };
    const retry = this.#s.transport.retry;
    let mountFrom = options.mountFrom !== undefined && options.mountFrom !== this.repository ? options.mountFrom : undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retry.retries; attempt++) {
      try {
        let location: string;
        if (mountFrom !== undefined) {
          const mounted = await this.#startUpload(descriptor, mountFrom, options.signal);
          if (mounted === 'mounted') return { outcome: 'mounted' };
          location = mounted.location;
          // Registries that cannot mount answer with a fresh upload session: use it.
          mountFrom = undefined;
          return { outcome: await this.#uploadWithFallback(descriptor, source, options, location) };
        }
        return { outcome: await this.#uploadWithFallback(descriptor, source, options, undefined) };
      } catch (err) {
        lastError = err;
        if (isSourceConsumed(err)) throw err;
        if (err instanceof OciError && !(err as { retryable?: boolean }).retryable) throw err;
        if (options.signal?.aborted || !isRetryableNetworkError(err)) break;
        await retry.sleep(backoffDelay(retry, attempt), options.signal);
      }
    }
    if (lastError instanceof OciError) throw lastError;
    throw new UploadFailedError(`uploading blob ${descriptor.digest} to ${this.description} failed after retries. Check the network and retry.`, { cause: lastError });
  }

  async #uploadWithFallback(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, session: string | undefined): Promise<'uploaded'> {
    const mode = this.#s.uploadMode;
    const first: 'monolithic' | 'chunked' = mode === 'chunked' || (mode === 'auto' && descriptor.size > this.#s.monolithicMaxBytes) ? 'chunked' : 'monolithic';
    try {
      await this.#upload(first, descriptor, source, options, session);
      return 'uploaded';
    } catch (err) {
      if (!(err instanceof StrategyRejected)) throw err;
      if (mode !== 'auto') throw err.original;
      const other = first === 'monolithic' ? 'chunked' : 'monolithic';
      try {
        await this.#upload(other, descriptor, source, options, undefined);
      } catch (second) {
        if (second instanceof StrategyRejected) throw second.original;
        throw second;
      }
      return 'uploaded';
    }
  }

  async #upload(strategy: 'monolithic' | 'chunked', descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, session: string | undefined): Promise<void> {
    let start = session === undefined ? await this.#startUpload(descriptor, undefined, options.signal) : { location: session, minChunk: 0 };
    if (start === 'mounted') start = await this.#startUpload(descriptor, undefined, options.signal);
    if (start === 'mounted') return;
    if (strategy === 'monolithic') await this.#uploadMonolithic(descriptor, source, options, start.location);
    else await this.#uploadChunked(descriptor, source, options, start.location, Math.max(this.#s.chunkSize, start.minChunk));
  }

  /** POST an upload session (or a mount). */
  async #startUpload(descriptor: Descriptor, mountFrom: string | undefined, signal: AbortSignal | undefined): Promise<'mounted' | { location: string; minChunk: number }> {
    const query = mountFrom === undefined ? '' : `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(mountFrom)}`;
    const res = await this.#send({
      method: 'POST',
      path: `/v2/${this.repository}/blobs/uploads/${query}`,
      headers: { 'content-length': '0' },
      scopes: mountFrom === undefined ? this.#push : [...this.#push, `repository:${mountFrom}:pull`],
      ...(signal === undefined ? {} : { signal }),
    });
    if (res.status === 201 && mountFrom !== undefined) {
      await res.body.dump().catch(() => undefined);
      return 'mounted';
    }
    const location = headerValue(res.headers['location']);
    if (res.status !== 202 || location === undefined) throw await responseError(res, `starting an upload of ${descriptor.digest} to ${this.description}`, this.registry);
    await res.body.dump().catch(() => undefined);
    const minChunk = Number(headerValue(res.headers['oci-chunk-min-length']) ?? 0);
    return { location: new URL(location, res.url).toString(), minChunk: Number.isFinite(minChunk) ? minChunk : 0 };
  }

  async #uploadMonolithic(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, location: string): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', descriptor.digest);
    const res = await this.#send({
      method: 'PUT',
      path: url.toString(),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
      body: withProgress(source, descriptor.size, options.onProgress),
      scopes: this.#push,
      retry: false,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await this.#finishUpload(res, descriptor);
  }

  async #uploadChunked(descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, location: string, chunkSize: number): Promise<void> {
    let url = location;
    let offset = 0;
    for await (const chunk of chunks(source, chunkSize)) {
      url = await this.#patchChunk(url, chunk, offset, descriptor, options);
      offset += chunk.byteLength;
      options.onProgress?.(offset, descriptor.size);
    }
    if (offset !== descriptor.size) throw new SizeMismatchError(`blob ${descriptor.digest} being pushed`, descriptor.size, offset);
    const final = new URL(url);
    final.searchParams.set('digest', descriptor.digest);
    const res = await this.#send({
      method: 'PUT',
      path: final.toString(),
      headers: { 'content-length': '0' },
      scopes: this.#push,
      retry: false,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await this.#finishUpload(res, descriptor);
  }

  /**
   * PATCH one chunk. After a dropped connection, 5xx or 429 the upload session is asked how
   * far it got (`GET` → `Range`) and only the missing part of the chunk is sent again, so a
   * large upload does not start over. Returns the session's next location.
   */
  async #patchChunk(location: string, chunk: Buffer, offset: number, descriptor: Descriptor, options: PushBlobOptions): Promise<string> {
    const retry = this.#s.transport.retry;
    let url = location;
    let start = 0;
    for (let attempt = 0; ; attempt++) {
      let failure: unknown;
      try {
        const res = await this.#send({
          method: 'PATCH',
          path: url,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(chunk.byteLength - start),
            'content-range': `${offset + start}-${offset + chunk.byteLength - 1}`,
          },
          body: chunk.subarray(start),
          scopes: this.#push,
          retry: false,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        const next = headerValue(res.headers['location']);
        if (res.status === 202 && next !== undefined) {
          await res.body.dump().catch(() => undefined);
          return new URL(next, res.url).toString();
        }
        const err = await responseError(res, `uploading a chunk of ${descriptor.digest} to ${this.description}`, this.registry);
        if (isStrategyRejection(res.status)) throw new StrategyRejected(err);
        failure = retryableIfTransient(err, res.status);
        if (!(failure as { retryable?: boolean }).retryable) throw failure;
      } catch (err) {
        if (err instanceof StrategyRejected || !isRetryableNetworkError(err)) throw err;
        failure = err;
      }
      if (attempt >= retry.retries || options.signal?.aborted) throw failure;
      await retry.sleep(backoffDelay(retry, attempt), options.signal);
      const status = await this.#uploadStatus(url, options.signal);
      const landed = status === undefined ? -1 : status.received - offset;
      if (status === undefined || landed < 0 || landed > chunk.byteLength) throw failure;
      url = status.location;
      start = landed;
      if (start === chunk.byteLength) return url;
    }
  }

  /** How many bytes an upload session holds (`GET` on its location), or undefined if unknown. */
  async #uploadStatus(location: string, signal: AbortSignal | undefined): Promise<{ received: number; location: string } | undefined> {
    const res = await this.#send({ method: 'GET', path: location, scopes: this.#push, ...(signal === undefined ? {} : { signal }) }).catch(() => undefined);
    if (!res) return undefined;
    await res.body.dump().catch(() => undefined);
    const range = /^(?:bytes=)?(\d+)-(\d+)$/.exec(headerValue(res.headers['range']) ?? '');
    const next = headerValue(res.headers['location']);
    if ((res.status !== 204 && res.status !== 202) || range === null) return undefined;
    // "0-0" is how registries say "nothing yet" (it cannot tell one byte from none).
    const end = Number(range[2]);
    const received = end === 0 ? 0 : end + 1;
    return { received, location: next === undefined ? location : new URL(next, res.url).toString() };
  }

  async #finishUpload(res: TransportResponse, descriptor: Descriptor): Promise<void> {
    if (res.status !== 201 && res.status !== 204) {
      const err = await responseError(res, `finishing the upload of ${descriptor.digest} to ${this.description}`, this.registry);
      if (isStrategyRejection(res.status)) throw new StrategyRejected(err);
      throw retryableIfTransient(err, res.status);
    }
    await res.body.dump().catch(() => undefined);
    const returned = headerValue(res.headers['docker-content-digest']);
    if (returned !== undefined && returned.length > 0 && returned !== descriptor.digest) {
      throw new DigestMismatchError(`blob pushed to ${this.description}`, descriptor.digest, returned);
    }
  }

  async listTags(options: { signal?: AbortSignal; pageSize?: number } = {}): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${this.repository}/tags/list?n=${options.pageSize ?? 1000}`;
    for (let page = 0; path !== undefined && page < 10_000; page++) {
      const res = await this.#send({ method: 'GET', path, scopes: this.#pull, ...(options.signal === undefined ? {} : { signal: options.signal }) });
      if (res.status === 404) {
        await res.body.dump().catch(() => undefined);
        return tags;
      }
      if (res.status !== 200) throw await responseError(res, `listing tags of ${this.description}`, this.registry);
      const text = await readLimited(res.body, 16 * 1024 * 1024);
      const parsed = JSON.parse(text) as { tags?: unknown };
      if (Array.isArray(parsed.tags)) for (const t of parsed.tags) if (typeof t === 'string') tags.push(t);
      path = nextLink(headerValue(res.headers['link']), res.url);
    }
    return tags;
  }

  async referrers(digest: string, options: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
    const result: Descriptor[] = [];
    const query = options.artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(options.artifactType)}`;
    let path: string | undefined = `/v2/${this.repository}/referrers/${digest}${query}`;
    let filtered = false;
    for (let page = 0; path !== undefined && page < 1000; page++) {
      const res = await this.#send({
        method: 'GET',
        path,
        headers: { accept: MediaType.OciIndex },
        scopes: this.#pull,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const type = mediaTypeOf(res.headers['content-type']);
      if (page === 0 && (res.status === 404 || (res.status === 200 && type !== MediaType.OciIndex))) {
        // No referrers API: fall back to the tag schema (`sha256-<hex>`).
        await res.body.dump().catch(() => undefined);
        return this.#referrersFromTag(digest, options);
      }
      if (res.status !== 200) throw await responseError(res, `listing referrers of ${digest} in ${this.description}`, this.registry);
      filtered ||= headerValue(res.headers['oci-filters-applied'])?.includes('artifactType') ?? false;
      const index = JSON.parse(await readLimited(res.body, this.#s.maxManifestBytes)) as ImageIndex;
      result.push(...(index.manifests ?? []));
      path = nextLink(headerValue(res.headers['link']), res.url);
    }
    return options.artifactType === undefined || filtered ? result : result.filter((d) => d.artifactType === options.artifactType);
  }

  async #referrersFromTag(digest: string, options: { artifactType?: string; signal?: AbortSignal }): Promise<Descriptor[]> {
    const tag = digest.replace(':', '-');
    let fetched: FetchedManifest;
    try {
      fetched = await this.fetchManifest(tag, { accept: [MediaType.OciIndex], ...(options.signal === undefined ? {} : { signal: options.signal }) });
    } catch (err) {
      if (err instanceof ManifestUnknownError) return [];
      throw err;
    }
    const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
    const manifests = Array.isArray(index.manifests) ? index.manifests : [];
    return options.artifactType === undefined ? manifests : manifests.filter((d) => d.artifactType === options.artifactType);
  }
}

function isStrategyRejection(status: number): boolean {
  // 401/403/404/429/5xx mean something other than "this upload method is not supported".
  return status >= 400 && status < 500 && ![401, 403, 404, 408, 429].includes(status);
}

function retryableIfTransient(err: Error, status: number): Error {
  if (status === 429 || status === 408 || status >= 500) (err as { retryable?: boolean }).retryable = true;
  return err;
}

/** The path of the `rel="next"` entry of a `Link` header. */
function nextLink(link: string | undefined, base: URL): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (m?.[1]) {
      const url = new URL(m[1], base);
      return url.origin === base.origin ? `${url.pathname}${url.search}` : undefined;
    }
  }
  return undefined;
}

function mediaTypeOf(value: string | string[] | undefined): string | undefined {
  const v = headerValue(value);
  if (!v) return undefined;
  return v.split(';')[0]?.trim();
}

async function readBounded(body: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.byteLength;
    if (length > max) {
      discard(body);
      throw new ManifestTooLargeError(what, max);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, length);
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

function withProgress(source: BlobSource, total: number, onProgress: PushBlobOptions['onProgress']): RequestBody {
  if (!onProgress) return source;
  return () => {
    const opened = typeof source === 'function' ? source() : [source];
    async function* counted(): AsyncGenerator<Uint8Array> {
      let sent = 0;
      for await (const chunk of opened as AsyncIterable<Uint8Array>) {
        sent += chunk.byteLength;
        onProgress?.(sent, total);
        yield chunk;
      }
    }
    return counted();
  };
}

/** Slice a blob source into chunks of exactly `size` bytes (the last may be shorter). */
async function* chunks(source: BlobSource, size: number): AsyncGenerator<Buffer> {
  if (typeof source !== 'function') {
    const all = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let i = 0; i < all.byteLength; i += size) yield all.subarray(i, Math.min(all.byteLength, i + size));
    return;
  }
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const piece of source() as AsyncIterable<Uint8Array>) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (pendingLength + buf.byteLength >= size) {
      const take = size - pendingLength;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending, size);
      buf = buf.subarray(take);
      pending = [];
      pendingLength = 0;
    }
    if (buf.byteLength > 0) {
      pending.push(Buffer.from(buf));
      pendingLength += buf.byteLength;
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending, pendingLength);
}

/** Stop reading a body we no longer want, without an unhandled 'error' event. */
function discard(stream: Readable): void {
  stream.on('error', () => undefined);
  stream.destroy();
}
