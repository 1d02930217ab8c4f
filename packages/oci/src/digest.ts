import { createHash, type Hash } from 'node:crypto';
import { DigestMismatchError, InvalidDigestError, SizeMismatchError } from './errors.js';

// sha256 of bytes comes from @spinel/cache (`sha256Digest`), the one place it is defined;
// what is here is what OCI adds: sha512 digests and verification with coded errors.

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when `digest` is `sha256:<64 hex>` or `sha512:<128 hex>`. */
export function isValidDigest(digest: string): boolean {
  return DIGEST.test(digest);
}

/**
 * Check a digest string and return its algorithm and hex part.
 *
 * @throws OciError `OCI_INVALID_DIGEST`
 */
export function parseDigest(digest: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  if (!isValidDigest(digest)) throw new InvalidDigestError(`"${digest}" is not a valid digest; expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>.`);
  const colon = digest.indexOf(':');
  return { algorithm: digest.slice(0, colon) as 'sha256' | 'sha512', hex: digest.slice(colon + 1) };
}

/** The digest of `bytes` with the algorithm of `like` (sha256 or sha512). */
export function digestWithAlgorithmOf(like: string, bytes: Uint8Array): string {
  const { algorithm } = parseDigest(like);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Verify bytes against an expected digest and size.
 *
 * @throws OciError `OCI_DIGEST_MISMATCH`, `OCI_SIZE_MISMATCH`
 */
export function verifyBytes(what: string, bytes: Uint8Array, digest: string, size?: number): void {
  if (size !== undefined && bytes.byteLength !== size) throw new SizeMismatchError(what, size, bytes.byteLength);
  const actual = digestWithAlgorithmOf(digest, bytes);
  if (actual !== digest) throw new DigestMismatchError(what, digest, actual);
}

/** Incremental verifier: feed chunks, then `finish()` throws if digest or size is wrong. */
export class DigestVerifier {
  readonly #hash: Hash;
  readonly #algorithm: string;
  #length = 0;

  constructor(
    readonly what: string,
    readonly digest: string,
    readonly size?: number,
  ) {
    this.#algorithm = parseDigest(digest).algorithm;
    this.#hash = createHash(this.#algorithm);
  }

  /** Bytes seen so far. */
  get length(): number {
    return this.#length;
  }

  /** Add a chunk. @throws OciError `OCI_SIZE_MISMATCH` as soon as the content is too long. */
  update(chunk: Uint8Array): void {
    this.#length += chunk.byteLength;
    if (this.size !== undefined && this.#length > this.size) throw new SizeMismatchError(this.what, this.size, this.#length);
    this.#hash.update(chunk);
  }

  /** @throws OciError `OCI_SIZE_MISMATCH`, `OCI_DIGEST_MISMATCH` */
  finish(): void {
    if (this.size !== undefined && this.#length !== this.size) throw new SizeMismatchError(this.what, this.size, this.#length);
    const actual = `${this.#algorithm}:${this.#hash.digest('hex')}`;
    if (actual !== this.digest) throw new DigestMismatchError(this.what, this.digest, actual);
  }
}
