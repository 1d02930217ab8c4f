import type { Readable } from 'node:stream';
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

/** Stream a blob, verified and resumed after drops; see `OciTarget.pullBlob`. */
export async function pullBlob<T>(ctx: RepositoryContext, descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options: PullBlobOptions): Promise<T> {
  const what = `blob ${descriptor.digest} from ${ctx.description}`;
  const retry = ctx.transport.retry;
  for (let attempt = 0; ; attempt++) {
    const res = await ctx.send({
      method: 'GET',
      path: `/v2/${ctx.repository}/blobs/${descriptor.digest}`,
      scopes: ctx.pullScopes,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (res.status === 404) {
      await dump(res);
      throw new BlobUnknownError(ctx.description, descriptor.digest);
    }
    if (res.status !== 200) throw await responseError(res, `fetching ${what}`, ctx.registry);
    const declared = Number(headerValue(res.headers['content-length']));
    if (Number.isFinite(declared) && declared !== descriptor.size && headerValue(res.headers['content-length']) !== undefined) {
      discard(res.body);
      throw new SizeMismatchError(what, descriptor.size, declared);
    }
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
