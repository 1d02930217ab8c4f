import { createHash } from 'node:crypto';
import { CacheInvalidDigestError } from './errors.js';

/** A parsed content digest. Only sha256 is accepted, as in Spin and OCI in practice. */
export interface ParsedDigest {
  algorithm: 'sha256';
  /** 64 lowercase hex digits. */
  hex: string;
  /** The canonical string, `sha256:<hex>`. */
  digest: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses and validates `sha256:<64 lowercase hex>`.
 * @throws CACHE_INVALID_DIGEST with the reason (algorithm, characters, length).
 */
export function parseDigest(digest: string): ParsedDigest {
  if (typeof digest !== 'string') throw new CacheInvalidDigestError(String(digest), 'not a string');
  const colon = digest.indexOf(':');
  if (colon < 0) throw new CacheInvalidDigestError(digest, "must start with 'sha256:'");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm !== 'sha256') {
    throw new CacheInvalidDigestError(digest, `unsupported algorithm ${JSON.stringify(algorithm)}; must start with 'sha256:'`);
  }
  if (hex.length !== 64) throw new CacheInvalidDigestError(digest, `hex part has ${hex.length} characters, not 64`);
  if (!HEX64.test(hex)) {
    const reason = /^[0-9a-fA-F]{64}$/.test(hex) ? 'hex digits must be lowercase' : 'hex part has a character that is not 0-9 or a-f';
    throw new CacheInvalidDigestError(digest, reason);
  }
  return { algorithm: 'sha256', hex, digest };
}

/** True when `digest` is a valid `sha256:<64 lowercase hex>` string. */
export function isDigest(digest: unknown): digest is string {
  return typeof digest === 'string' && digest.startsWith('sha256:') && HEX64.test(digest.slice(7));
}

/** The `sha256:<hex>` digest of some bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * The file name a digest is stored under: the digest verbatim, with `:` replaced by `_` on
 * Windows (as Spin does).
 * @throws CACHE_INVALID_DIGEST
 */
export function digestFileName(digest: string, platform: NodeJS.Platform = process.platform): string {
  const { digest: canonical } = parseDigest(digest);
  return platform === 'win32' ? canonical.replace(':', '_') : canonical;
}

/** The digest a cache file name stands for, or undefined when the name is not a digest. */
export function digestFromFileName(name: string): string | undefined {
  const digest = name.startsWith('sha256_') ? `sha256:${name.slice(7)}` : name;
  return isDigest(digest) ? digest : undefined;
}
