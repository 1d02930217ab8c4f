/** A counting semaphore that bounds how many tasks run at once. */
export interface Semaphore {
  /** Run `task` when a slot is free; the slot is released when it settles. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Slots currently in use. */
  readonly active: number;
  /** Tasks waiting for a slot. */
  readonly pending: number;
}

/**
 * Create a semaphore with `limit` slots (at least 1).
 */
export function createSemaphore(limit: number): Semaphore {
  const max = Math.max(1, Math.floor(limit));
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active < max) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get pending() {
      return waiting.length;
    },
  };
}

/**
 * Map over items with at most `limit` in flight; results keep the input order. The first
 * rejection is thrown after every started task has settled (so nothing is left running).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const semaphore = createSemaphore(limit);
  let firstError: { error: unknown } | undefined;
  const results = new Array<R>(items.length);
  await Promise.all(
    items.map((item, index) =>
      semaphore.run(async () => {
        if (firstError) return;
        try {
          results[index] = await fn(item, index);
        } catch (err) {
          firstError ??= { error: err };
        }
      }),
    ),
  );
  if (firstError) throw firstError.error;
  return results;
}
