import type { Readable } from 'node:stream';
import { DigestVerifier } from './digest.js';
import { BlobUnknownError, SizeMismatchError } from './errors.js';
import { discard, dump, headerValue, responseError } from './http-response.js';
import type { RepositoryContext } from './repository-context.js';
import { backoffDelay, isRetryableNetworkError } from './retry.js';
import type { PullBlobOptions } from './target.js';
import type { TransportResponse } from './transport.js';
import type { Descriptor } from './types.js';
import { verifyingStream } from './verify-stream.js';

// Blob downloads from a registry repository: existence checks, verified and resumable pulls.

/** Whether the repository has the blob (HEAD). */
export async function hasBlob(ctx: RepositoryContext, descriptor: Descriptor, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const res = await ctx.send({
    method: 'HEAD',
    path: `/v2/${ctx.repository}/blobs/${descriptor.digest}`,
    scopes: ctx.pullScopes,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  await dump(res);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await responseError(res, `checking blob ${descriptor.digest} in ${ctx.description}`, ctx.registry);
}

/** The response to a blob GET once it is known to be the blob: 200, of the descriptor's length if one is declared. */
async function getBlob(ctx: RepositoryContext, descriptor: Descriptor, what: string, signal: AbortSignal | undefined): Promise<TransportResponse> {
  const res = await ctx.send({
    method: 'GET',
    path: `/v2/${ctx.repository}/blobs/${descriptor.digest}`,
    scopes: ctx.pullScopes,
    ...(signal === undefined ? {} : { signal }),
  });
  if (res.status === 404) {
    await dump(res);
    throw new BlobUnknownError(ctx.description, descriptor.digest);
  }
  if (res.status !== 200) throw await responseError(res, `fetching ${what}`, ctx.registry);
  const declared = Number(headerValue(res.headers['content-length']));
  if (Number.isFinite(declared) && declared !== descriptor.size) {
    discard(res.body);
    throw new SizeMismatchError(what, descriptor.size, declared);
  }
  return res;
}

/**
 * A whole blob in memory, verified as it arrives; a dropped connection fetches it again.
 * For small blobs: no stream is made for it, which is most of a small GET's cost on our side.
 */
export async function readBlob(ctx: RepositoryContext, descriptor: Descriptor, options: PullBlobOptions): Promise<Buffer> {
  const what = `blob ${descriptor.digest} from ${ctx.description}`;
  const retry = ctx.transport.retry;
  for (let attempt = 0; ; attempt++) {
    const res = await getBlob(ctx, descriptor, what, options.signal);
    try {
      const verifier = new DigestVerifier(what, descriptor.digest, descriptor.size);
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) {
        verifier.update(chunk);
        options.onProgress?.(verifier.length, descriptor.size);
        chunks.push(chunk);
      }
      // A short read means the connection ended early: retryable.
      if (verifier.length < descriptor.size) throw new SizeMismatchError(what, descriptor.size, verifier.length, { retryable: true });
      verifier.finish();
      return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, descriptor.size);
    } catch (err) {
      res.body.destroy();
      if (options.signal?.aborted || attempt >= retry.retries || !isRetryableNetworkError(err)) throw err;
      await retry.sleep(backoffDelay(retry, attempt), options.signal);
    }
  }
}

/** Stream a blob, verified and resumed after drops; see `OciTarget.pullBlob`. */
export async function pullBlob<T>(ctx: RepositoryContext, descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options: PullBlobOptions): Promise<T> {
  const what = `blob ${descriptor.digest} from ${ctx.description}`;
  const retry = ctx.transport.retry;
  for (let attempt = 0; ; attempt++) {
    const res = await getBlob(ctx, descriptor, what, options.signal);
    const stream = verifyingStream(what, resumable(ctx, res, descriptor, options.signal), descriptor, options.onProgress);
    try {
      const consumed = await consume(stream);
      // A consumer may return without reading (a cache finding the blob already stored,
      // written meanwhile by another process): the body is then still on the connection, and
      // left there it holds that connection forever, so closing the client never completes.
      if (!res.body.readableEnded) discard(res.body);
      return consumed;
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
async function* resumable(ctx: RepositoryContext, first: TransportResponse, descriptor: Descriptor, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const retry = ctx.transport.retry;
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
      res = await ctx.send({
        method: 'GET',
        path: `/v2/${ctx.repository}/blobs/${descriptor.digest}`,
        headers: { range: `bytes=${received}-` },
        scopes: ctx.pullScopes,
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
