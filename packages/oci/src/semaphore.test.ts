import { describe, expect, it } from 'vitest';
import { createSemaphore, mapLimit } from './semaphore.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('semaphore', () => {
  it('never runs more than its limit at once', async () => {
    const semaphore = createSemaphore(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        semaphore.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await tick();
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(semaphore.active).toBe(0);
    expect(semaphore.pending).toBe(0);
  });

  it('releases the slot when a task throws', async () => {
    const semaphore = createSemaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await semaphore.run(() => Promise.resolve(42))).toBe(42);
  });
});

describe('mapLimit', () => {
  it('keeps input order', async () => {
    const out = await mapLimit([5, 1, 3], 2, async (n) => {
      for (let i = 0; i < n; i++) await tick();
      return n * 2;
    });
    expect(out).toEqual([10, 2, 6]);
  });

  it('throws the first error after started tasks settle, starting no new ones', async () => {
    const started: number[] = [];
    const err = await mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error(`failed ${n}`);
      return n;
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('failed 1');
    expect(started.length).toBeLessThan(6);
  });
});
