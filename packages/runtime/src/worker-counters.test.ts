import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CounterTotals, counterAdder, createSharedCounters } from './worker-counters.js';

describe('shared counters', () => {
  it('adds up what several worker threads count at once', async () => {
    const buffer = createSharedCounters(2);
    const totals = new CounterTotals(buffer);
    // Plain JS in the workers (Atomics.add on the same buffer), as counterAdder does.
    const code = `const { workerData, parentPort } = require('node:worker_threads');
      const view = new Uint32Array(workerData);
      for (let i = 0; i < 50000; i++) { Atomics.add(view, 0, 1); if (i % 2 === 0) Atomics.add(view, 1, 3); }
      parentPort.postMessage('done');`;
    await Promise.all(
      Array.from({ length: 3 }, () => {
        const worker = new Worker(code, { eval: true, workerData: buffer });
        return new Promise<void>((resolve, reject) => {
          worker.once('message', () => void worker.terminate().then(() => resolve()));
          worker.once('error', reject);
        });
      }),
    );
    expect(totals.read()).toEqual([150_000, 225_000]);
  });

  it('keeps totals right across a wrap of the 32-bit value, and ignores indexes out of range', () => {
    const buffer = createSharedCounters(1);
    const view = new Uint32Array(buffer);
    const add = counterAdder(buffer);
    view[0] = 2 ** 32 - 2;
    const totals = new CounterTotals(buffer);
    expect(totals.read()).toEqual([2 ** 32 - 2]);
    add(0, 5);
    add(7);
    add(-1);
    expect(view[0]).toBe(3);
    expect(totals.read()).toEqual([2 ** 32 + 3]);
    expect(() => counterAdder(undefined)(0)).not.toThrow();
  });
});
