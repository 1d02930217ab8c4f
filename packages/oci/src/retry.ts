import { setTimeout as sleep } from 'node:timers/promises';

/** How transient failures are retried. */
export interface RetryOptions {
  /** Attempts after the first. @default 4 */
  retries?: number;
  /** Base delay in ms for exponential backoff. @default 200 */
  minDelayMs?: number;
  /** Longest single wait in ms (also caps `Retry-After`). @default 10000 */
  maxDelayMs?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Wait function (tests may replace it). @default timers/promises setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resolved retry policy. */
export interface RetryPolicy {
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Fill in retry defaults. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    retries: options.retries ?? 4,
    minDelayMs: options.minDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms, signal) => sleep(ms, undefined, signal === undefined ? {} : { signal })),
  };
}

/**
 * Delay before retry number `attempt` (0-based): full jitter over an exponential window,
 * or the server's `Retry-After` (seconds or HTTP date) when given, capped at `maxDelayMs`.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfter?: string | null, now: number = Date.now()): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    let ms: number | undefined;
    if (Number.isFinite(seconds) && seconds >= 0) ms = seconds * 1000;
    else {
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) ms = Math.max(0, date - now);
    }
    if (ms !== undefined) return Math.min(policy.maxDelayMs, ms);
  }
  const window = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
  return Math.round(window / 2 + (policy.random() * window) / 2);
}

/** Statuses worth retrying: 408, 429 and 5xx except 501 and 505. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** True for connection-level failures (resets, timeouts, truncated bodies) worth retrying. */
export function isRetryableNetworkError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
    if ((current as { retryable?: unknown }).retryable === true) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * True when `err` or one of its causes says its source cannot be read again
 * (`sourceConsumed: true`): retrying the same upload is pointless, the caller starts over.
 */
export function isSourceConsumed(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    if ((current as { sourceConsumed?: unknown }).sourceConsumed === true) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
