import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EarlyWorkers } from './early-workers.js';

/** A thread that waits for a message and echoes it (or exits at once when `dies`). */
function thread(dies = false): Worker {
  const code = dies ? 'process.exit(3)' : "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));";
  return new Worker(code, { eval: true });
}

describe('EarlyWorkers', () => {
  it('hands over the threads it started, alive, then new ones', async () => {
    const started: Worker[] = [];
    const early = new EarlyWorkers(2, () => {
      const w = thread();
      started.push(w);
      return w;
    });
    expect(started).toHaveLength(2);
    const a = early.take();
    const b = early.take();
    expect([a, b]).toEqual(started);
    // Past the threads started ahead, each take starts one.
    const c = early.take();
    expect(started).toHaveLength(3);
    for (const w of [a, b, c]) {
      w.postMessage('ping');
      expect((await once(w, 'message'))[0]).toBe('ping');
      await w.terminate();
    }
  }, 30_000);

  it('never hands over a thread that died before it was taken', async () => {
    let n = 0;
    const early = new EarlyWorkers(2, () => thread(n++ === 0));
    const [first, second] = (early as unknown as { waiting: Array<{ worker: Worker }> }).waiting.map((e) => e.worker) as [Worker, Worker];
    await once(first, 'exit');
    expect(early.take()).toBe(second);
    // The dead one is not counted as handed over: the next take starts a thread.
    const fresh = early.take();
    expect(n).toBe(3);
    for (const w of [second, fresh]) {
      w.postMessage('alive');
      expect((await once(w, 'message'))[0]).toBe('alive');
      await w.terminate();
    }
  }, 30_000);

  it('stops the threads never taken', async () => {
    const early = new EarlyWorkers(1, () => thread());
    const left = (early as unknown as { waiting: Array<{ worker: Worker }> }).waiting[0]?.worker as Worker;
    const exited = once(left, 'exit');
    await early.discard();
    await exited;
  }, 30_000);
});
