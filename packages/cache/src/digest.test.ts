import { describe, expect, it } from 'vitest';
import { digestFileName, digestFromFileName, isDigest, parseDigest, sha256Digest } from './digest.js';
import { CacheInvalidDigestError } from './errors.js';

const HEX = 'a'.repeat(64);

describe('parseDigest', () => {
  it('accepts sha256 with 64 lowercase hex digits', () => {
    expect(parseDigest(`sha256:${HEX}`)).toEqual({ algorithm: 'sha256', hex: HEX, digest: `sha256:${HEX}` });
  });

  it.each([
    ['', "must start with 'sha256:'"],
    [HEX, "must start with 'sha256:'"],
    [`sha512:${HEX}`, 'unsupported algorithm'],
    [`SHA256:${HEX}`, 'unsupported algorithm'],
    [`sha256:${HEX.slice(1)}`, '63 characters'],
    [`sha256:${HEX}0`, '65 characters'],
    [`sha256:${'A'.repeat(64)}`, 'lowercase'],
    [`sha256:${'g'.repeat(64)}`, 'not 0-9 or a-f'],
    [`sha256:../${'a'.repeat(61)}`, 'not 0-9 or a-f'],
  ])('rejects %j with a coded error', (input, reason) => {
    let error: unknown;
    try {
      parseDigest(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CacheInvalidDigestError);
    expect((error as CacheInvalidDigestError).code).toBe('CACHE_INVALID_DIGEST');
    expect((error as Error).message).toContain(reason);
  });

  it('isDigest agrees with parseDigest', () => {
    expect(isDigest(`sha256:${HEX}`)).toBe(true);
    expect(isDigest(`sha256:${HEX.toUpperCase()}`)).toBe(false);
    expect(isDigest(42)).toBe(false);
  });
});

describe('file names', () => {
  it('keeps the digest verbatim, with ":" as "_" on Windows, and maps back', () => {
    expect(digestFileName(`sha256:${HEX}`, 'linux')).toBe(`sha256:${HEX}`);
    expect(digestFileName(`sha256:${HEX}`, 'win32')).toBe(`sha256_${HEX}`);
    expect(digestFromFileName(`sha256_${HEX}`)).toBe(`sha256:${HEX}`);
    expect(digestFromFileName(`sha256:${HEX}`)).toBe(`sha256:${HEX}`);
    expect(digestFromFileName('.spinel-tmp-1-abc')).toBeUndefined();
  });

  it('hashes bytes to the known sha256 of "hello"', () => {
    expect(sha256Digest(Buffer.from('hello'))).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });
});
