import { CacheInvalidArgumentError } from './errors.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4,
};

/**
 * Parses a size such as `500M`, `1.5GiB`, `10GB` or `1048576` into bytes (`K`/`M`/`G`/`T`
 * and `KiB`… are powers of 1024, `KB`/`MB`… powers of 1000).
 * @throws CACHE_INVALID_ARGUMENT
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined) {
    throw new CacheInvalidArgumentError(`invalid size ${JSON.stringify(text)}; use a number with an optional unit such as 500M, 2G or 10GB`);
  }
  return Math.floor(Number(match[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/**
 * Parses a duration such as `30m`, `12h`, `7d`, `2w` or `1d12h` into milliseconds.
 * @throws CACHE_INVALID_ARGUMENT
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match !== null; match = part.exec(trimmed)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
    consumed = part.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw new CacheInvalidArgumentError(`invalid duration ${JSON.stringify(text)}; use a number with a unit (ms, s, m, h, d, w) such as 30m, 12h or 7d`);
  }
  return Math.floor(total);
}

/** A byte count for people: `1.5 MiB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < units.length - 1) {
    value /= 1024;
    index += 1;
  }
  return index === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[index]}`;
}
