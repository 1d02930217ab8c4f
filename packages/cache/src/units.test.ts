import { describe, expect, it } from 'vitest';
import { formatSize, parseDuration, parseSize } from './units.js';

describe('parseSize', () => {
  it.each([
    ['1024', 1024],
    ['500M', 500 * 1024 ** 2],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['10GB', 10 * 1000 ** 3],
    ['2 k', 2048],
    ['0', 0],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'M', '-1G', '1X', '1.2.3M'])('rejects %j with CACHE_INVALID_ARGUMENT', (text) => {
    expect(() => parseSize(text)).toThrow(expect.objectContaining({ code: 'CACHE_INVALID_ARGUMENT' }));
  });
});

describe('parseDuration', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['12h', 12 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['1d12h', 36 * 3_600_000],
    ['2w', 14 * 86_400_000],
    ['500ms', 500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '7', 'd', '7 days', '1h-', 'abc'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'CACHE_INVALID_ARGUMENT' }));
  });
});

describe('formatSize', () => {
  it('uses binary units', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});
