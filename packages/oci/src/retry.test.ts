import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryableNetworkError, isRetryableStatus, retryPolicy } from './retry.js';

describe('backoffDelay', () => {
  it('grows exponentially with jitter inside [window/2, window]', () => {
    const low = retryPolicy({ minDelayMs: 100, maxDelayMs: 10_000, random: () => 0 });
    const high = retryPolicy({ minDelayMs: 100, maxDelayMs: 10_000, random: () => 0.999999 });
    expect([0, 1, 2, 3].map((a) => backoffDelay(low, a))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(high, a))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(high, 20)).toBe(10_000);
  });

  it('follows Retry-After in seconds or as a date, capped at maxDelayMs', () => {
    const policy = retryPolicy({ maxDelayMs: 5000, random: () => 0.5 });
    expect(backoffDelay(policy, 0, '2')).toBe(2000);
    expect(backoffDelay(policy, 0, '0')).toBe(0);
    expect(backoffDelay(policy, 0, '60')).toBe(5000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(backoffDelay(policy, 0, 'Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(backoffDelay(policy, 0, 'garbage')).toBeGreaterThan(0);
  });
});

describe('what is retried', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [501, false],
    [400, false],
    [401, false],
    [404, false],
  ])('status %d -> %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it('finds network codes through the cause chain', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableNetworkError(new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('z'), { code: 'OCI_DIGEST_MISMATCH' }))).toBe(false);
    expect(isRetryableNetworkError(new Error('plain'))).toBe(false);
  });
});
