import { Readable } from 'node:stream';
import { DigestVerifier } from './digest.js';
import { SizeMismatchError } from './errors.js';
import type { ProgressCallback } from './target.js';
import type { Descriptor } from './types.js';

/**
 * Wrap a byte stream so it is hashed while it flows: the returned stream errors instead of
 * ending when the digest or size is wrong (or it is too long, as soon as that is seen).
 */
export function verifyingStream(what: string, source: AsyncIterable<Uint8Array>, descriptor: Descriptor, onProgress?: ProgressCallback): Readable {
  const verifier = new DigestVerifier(what, descriptor.digest, descriptor.size);
  async function* verified(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      verifier.update(chunk);
      onProgress?.(verifier.length, descriptor.size);
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    // A short read means the connection ended early: retryable, so the pull starts again.
    if (verifier.length < descriptor.size) throw new SizeMismatchError(what, descriptor.size, verifier.length, { retryable: true });
    verifier.finish();
  }
  return Readable.from(verified(), { objectMode: false });
}
