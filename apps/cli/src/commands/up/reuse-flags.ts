import { CliError } from '../../errors.js';

/** A value or Spin's range `a..b` (Spin picks a value in the range for each new instance). */
export interface SpinRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Parses Spin's `--max-instance-reuse-count` / `--max-instance-concurrent-reuse-count` value:
 * a positive integer or a range `a..b`.
 *
 * @throws {CliError} `CLI_INVALID_FLAG`
 */
export function parseCountRange(flag: string, value: string): SpinRange {
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(value);
  const min = m === null ? NaN : Number(m[1]);
  const max = m === null ? NaN : Number(m[2] ?? m[1]);
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 1 || max < min) {
    throw new CliError('CLI_INVALID_FLAG', `Invalid --${flag} '${value}': give a positive count (4) or a range (1..8).`);
  }
  return { min, max };
}

/**
 * Parses Spin's duration or duration range (`--idle-instance-timeout 1s`, `500ms..2s`): a number
 * is seconds; suffixes `s`, `ms`, `us`/`μs`, `ns`. Returns milliseconds.
 *
 * @throws {CliError} `CLI_INVALID_FLAG`
 */
export function parseDurationRange(flag: string, value: string): SpinRange {
  const parts = value.split('..');
  if (parts.length > 2) throw invalidDuration(flag, value);
  const [low, high] = parts.map((p) => durationMs(p.trim()));
  const min = low ?? NaN;
  const max = high ?? min;
  if (Number.isNaN(min) || Number.isNaN(max) || max < min) throw invalidDuration(flag, value);
  return { min, max };
}

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|ms|us|μs|ns)?$/.exec(text);
  if (m === null) return NaN;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'ms':
      return n;
    case 'us':
    case 'μs':
      return n / 1000;
    case 'ns':
      return n / 1e6;
    default:
      return n * 1000;
  }
}

function invalidDuration(flag: string, value: string): CliError {
  return new CliError('CLI_INVALID_FLAG', `Invalid --${flag} '${value}': give a duration (1s, 500ms, 250us) or a range (1s..5s).`);
}
