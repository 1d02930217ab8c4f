import { DigestMismatchError, OciError, SizeMismatchError, UploadFailedError } from './errors.js';
import { dump, headerValue, responseError } from './http-response.js';
import { hasBlob } from './blob-download.js';
import type { RepositoryContext } from './repository-context.js';
import { backoffDelay, isRetryableNetworkError, isRetryableStatus, isSourceConsumed } from './retry.js';
import type { BlobSource, PushBlobOptions, PushBlobResult } from './target.js';
import type { RequestBody, TransportResponse } from './transport.js';
import type { Descriptor } from './types.js';

// Blob uploads to a registry repository: cross-repository mounts, monolithic and chunked
// uploads falling back to each other, chunk resume, retries of the whole blob.

/** Raised inside an upload strategy when the registry rejects that way of uploading. */
class StrategyRejected extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

/**
 * Try a cross-repository mount only: `true` when the registry mounted the blob from
 * `fromRepository`; `false` (after cancelling the upload session it opened) when it could not.
 */
export async function mountBlob(ctx: RepositoryContext, descriptor: Descriptor, fromRepository: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const started = await startUpload(ctx, descriptor, fromRepository, options.signal);
  if (started === 'mounted') return true;
  const res = await ctx.send({ method: 'DELETE', path: started.location, scopes: ctx.pushScopes, retry: false }).catch(() => undefined);
  if (res !== undefined) await dump(res);
  return false;
}

/** Upload a blob unless the repository has it; see `OciTarget.pushBlob`. */
export async function pushBlob(ctx: RepositoryContext, descriptor: Descriptor, source: BlobSource, options: PushBlobOptions): Promise<PushBlobResult> {
  if (options.checkExists !== false && (await hasBlob(ctx, descriptor, options))) return { outcome: 'exists' };
  const retry = ctx.transport.retry;
  let mountFrom = options.mountFrom !== undefined && options.mountFrom !== ctx.repository ? options.mountFrom : undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retry.retries; attempt++) {
    try {
      let location: string;
      if (mountFrom !== undefined) {
        const mounted = await startUpload(ctx, descriptor, mountFrom, options.signal);
        if (mounted === 'mounted') return { outcome: 'mounted' };
        location = mounted.location;
        // Registries that cannot mount answer with a fresh upload session: use it.
        mountFrom = undefined;
        return { outcome: await uploadWithFallback(ctx, descriptor, source, options, location) };
      }
      return { outcome: await uploadWithFallback(ctx, descriptor, source, options, undefined) };
    } catch (err) {
      lastError = err;
      if (isSourceConsumed(err)) throw err;
      if (err instanceof OciError && !err.retryable) throw err;
      if (options.signal?.aborted || !isRetryableNetworkError(err)) break;
      await retry.sleep(backoffDelay(retry, attempt), options.signal);
    }
  }
  if (lastError instanceof OciError) throw lastError;
  throw new UploadFailedError(`uploading blob ${descriptor.digest} to ${ctx.description} failed after retries. Check the network and retry.`, { cause: lastError });
}

async function uploadWithFallback(ctx: RepositoryContext, descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, session: string | undefined): Promise<'uploaded'> {
  const mode = ctx.settings.uploadMode;
  const first: 'monolithic' | 'chunked' = mode === 'chunked' || (mode === 'auto' && descriptor.size > ctx.settings.monolithicMaxBytes) ? 'chunked' : 'monolithic';
  try {
    await upload(ctx, first, descriptor, source, options, session);
    return 'uploaded';
  } catch (err) {
    if (!(err instanceof StrategyRejected)) throw err;
    if (mode !== 'auto') throw err.original;
    const other = first === 'monolithic' ? 'chunked' : 'monolithic';
    try {
      await upload(ctx, other, descriptor, source, options, undefined);
    } catch (second) {
      if (second instanceof StrategyRejected) throw second.original;
      throw second;
    }
    return 'uploaded';
  }
}

async function upload(ctx: RepositoryContext, strategy: 'monolithic' | 'chunked', descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, session: string | undefined): Promise<void> {
  let start = session === undefined ? await startUpload(ctx, descriptor, undefined, options.signal) : { location: session, minChunk: 0 };
  if (start === 'mounted') start = await startUpload(ctx, descriptor, undefined, options.signal);
  if (start === 'mounted') return;
  if (strategy === 'monolithic') await uploadMonolithic(ctx, descriptor, source, options, start.location);
  else await uploadChunked(ctx, descriptor, source, options, start.location, Math.max(ctx.settings.chunkSize, start.minChunk));
}

/** POST an upload session (or a mount). */
async function startUpload(ctx: RepositoryContext, descriptor: Descriptor, mountFrom: string | undefined, signal: AbortSignal | undefined): Promise<'mounted' | { location: string; minChunk: number }> {
  const query = mountFrom === undefined ? '' : `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(mountFrom)}`;
  const res = await ctx.send({
    method: 'POST',
    path: `/v2/${ctx.repository}/blobs/uploads/${query}`,
    headers: { 'content-length': '0' },
    scopes: mountFrom === undefined ? ctx.pushScopes : [...ctx.pushScopes, `repository:${mountFrom}:pull`],
    ...(signal === undefined ? {} : { signal }),
  });
  if (res.status === 201 && mountFrom !== undefined) {
    await dump(res);
    return 'mounted';
  }
  const location = headerValue(res.headers['location']);
  if (res.status !== 202 || location === undefined) throw await responseError(res, `starting an upload of ${descriptor.digest} to ${ctx.description}`, ctx.registry);
  await dump(res);
  const minChunk = Number(headerValue(res.headers['oci-chunk-min-length']) ?? 0);
  return { location: new URL(location, res.url).toString(), minChunk: Number.isFinite(minChunk) ? minChunk : 0 };
}

async function uploadMonolithic(ctx: RepositoryContext, descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, location: string): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', descriptor.digest);
  const res = await ctx.send({
    method: 'PUT',
    path: url.toString(),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
    body: withProgress(source, descriptor.size, options.onProgress),
    scopes: ctx.pushScopes,
    retry: false,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  await finishUpload(ctx, res, descriptor);
}

async function uploadChunked(ctx: RepositoryContext, descriptor: Descriptor, source: BlobSource, options: PushBlobOptions, location: string, chunkSize: number): Promise<void> {
  let url = location;
  let offset = 0;
  for await (const chunk of chunks(source, chunkSize)) {
    url = await patchChunk(ctx, url, chunk, offset, descriptor, options);
    offset += chunk.byteLength;
    options.onProgress?.(offset, descriptor.size);
  }
  if (offset !== descriptor.size) throw new SizeMismatchError(`blob ${descriptor.digest} being pushed`, descriptor.size, offset);
  const final = new URL(url);
  final.searchParams.set('digest', descriptor.digest);
  const res = await ctx.send({
    method: 'PUT',
    path: final.toString(),
    headers: { 'content-length': '0' },
    scopes: ctx.pushScopes,
    retry: false,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  await finishUpload(ctx, res, descriptor);
}

/**
 * PATCH one chunk. After a dropped connection, 5xx or 429 the upload session is asked how
 * far it got (`GET` → `Range`) and only the missing part of the chunk is sent again, so a
 * large upload does not start over. Returns the session's next location.
 */
async function patchChunk(ctx: RepositoryContext, location: string, chunk: Buffer, offset: number, descriptor: Descriptor, options: PushBlobOptions): Promise<string> {
  const retry = ctx.transport.retry;
  let url = location;
  let start = 0;
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      const res = await ctx.send({
        method: 'PATCH',
        path: url,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.byteLength - start),
          'content-range': `${offset + start}-${offset + chunk.byteLength - 1}`,
        },
        body: chunk.subarray(start),
        scopes: ctx.pushScopes,
        retry: false,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const next = headerValue(res.headers['location']);
      if (res.status === 202 && next !== undefined) {
        await dump(res);
        return new URL(next, res.url).toString();
      }
      const err = await responseError(res, `uploading a chunk of ${descriptor.digest} to ${ctx.description}`, ctx.registry, { retryable: isRetryableStatus(res.status) });
      if (isStrategyRejection(res.status)) throw new StrategyRejected(err);
      if (!err.retryable) throw err;
      failure = err;
    } catch (err) {
      if (err instanceof StrategyRejected || !isRetryableNetworkError(err)) throw err;
      failure = err;
    }
    if (attempt >= retry.retries || options.signal?.aborted) throw failure;
    await retry.sleep(backoffDelay(retry, attempt), options.signal);
    const status = await uploadStatus(ctx, url, options.signal);
    const landed = status === undefined ? -1 : status.received - offset;
    if (status === undefined || landed < 0 || landed > chunk.byteLength) throw failure;
    url = status.location;
    start = landed;
    if (start === chunk.byteLength) return url;
  }
}

/** How many bytes an upload session holds (`GET` on its location), or undefined if unknown. */
async function uploadStatus(ctx: RepositoryContext, location: string, signal: AbortSignal | undefined): Promise<{ received: number; location: string } | undefined> {
  const res = await ctx.send({ method: 'GET', path: location, scopes: ctx.pushScopes, ...(signal === undefined ? {} : { signal }) }).catch(() => undefined);
  if (!res) return undefined;
  await dump(res);
  const range = /^(?:bytes=)?(\d+)-(\d+)$/.exec(headerValue(res.headers['range']) ?? '');
  const next = headerValue(res.headers['location']);
  if ((res.status !== 204 && res.status !== 202) || range === null) return undefined;
  // "0-0" is how registries say "nothing yet" (it cannot tell one byte from none).
  const end = Number(range[2]);
  const received = end === 0 ? 0 : end + 1;
  return { received, location: next === undefined ? location : new URL(next, res.url).toString() };
}

async function finishUpload(ctx: RepositoryContext, res: TransportResponse, descriptor: Descriptor): Promise<void> {
  if (res.status !== 201 && res.status !== 204) {
    const err = await responseError(res, `finishing the upload of ${descriptor.digest} to ${ctx.description}`, ctx.registry, { retryable: isRetryableStatus(res.status) });
    if (isStrategyRejection(res.status)) throw new StrategyRejected(err);
    throw err;
  }
  await dump(res);
  const returned = headerValue(res.headers['docker-content-digest']);
  if (returned !== undefined && returned.length > 0 && returned !== descriptor.digest) {
    throw new DigestMismatchError(`blob pushed to ${ctx.description}`, descriptor.digest, returned);
  }
}

function isStrategyRejection(status: number): boolean {
  // 401/403/404/429/5xx mean something other than "this upload method is not supported".
  return status >= 400 && status < 500 && ![401, 403, 404, 408, 429].includes(status);
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

