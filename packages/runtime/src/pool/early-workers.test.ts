import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EarlyWorkers, HELD_AFTER_READY_MS } from './early-workers.js';

/** A thread that echoes every message (or exits at once when `dies`); a message carrying a port gets 'pong' posted on it. */
function thread(dies = false): Worker {
  const code = dies
    ? 'process.exit(3)'
    : "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => { if (m && m.port) { m.port.postMessage('pong'); m.port = undefined; } parentPort.postMessage(m); });";
  return new Worker(code, { eval: true });
}

/** Counts the threads `start` made. */
function counted(dies: (n: number) => boolean = () => false): { start: () => Worker; threads: Worker[] } {
  const threads: Worker[] = [];
  return {
    threads,
    start: () => {
      const w = thread(dies(threads.length));
      threads.push(w);
      return w;
    },
  };
}

async function echoes(w: Worker, value: unknown): Promise<void> {
  const answer = once(w, 'message');
  w.postMessage(value);
  expect((await answer)[0]).toEqual(value);
}

/** Collects what a thread sends. */
function heard(w: Worker): unknown[] {
  const got: unknown[] = [];
  w.on('message', (m) => got.push(m));
  return got;
}

const ONE = { type: 'init', components: [{ id: 'one' }] };
const TWO = { type: 'init', components: [{ id: 'one' }, { id: 'two' }] };
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('EarlyWorkers', () => {
  it('starts every thread at once and hands them over alive, then new ones', async () => {
    const { start, threads } = counted();
    const early = new EarlyWorkers(2, start);
    expect(threads).toHaveLength(2);
    const [a, b] = [early.take(), early.take()];
    expect(a).toBe(threads[0]);
    await echoes(a, 'ping');
    await echoes(a, { type: 'end', job: 1 });
    await echoes(b, 'ping');
    // Past the threads started ahead, each take starts one.
    const c = early.take();
    expect(threads).toHaveLength(3);
    await echoes(c, 'ping');
    for (const w of [a, b, c]) await w.terminate();
  }, 30_000);

  it('for one component, holds the others\' messages until the first has ended its first job', async () => {
    const { start } = counted();
    const early = new EarlyWorkers(3, start);
    const [a, b, c] = [early.take(), early.take(), early.take()];
    const fromB = heard(b);
    // What is held keeps its transfer list.
    const { port1, port2 } = new MessageChannel();
    const pong = once(port1, 'message');
    b.postMessage({ ...ONE, port: port2 }, [port2]);
    c.postMessage(ONE);
    await echoes(a, 'booted');
    await pause(200);
    expect(fromB).toEqual([]);
    // The first job's end (here echoed by the thread) hands the others what was posted.
    const cAnswer = once(c, 'message');
    await echoes(a, { type: 'end', job: 1 });
    expect((await cAnswer)[0]).toEqual(ONE);
    expect((await pong)[0]).toBe('pong');
    port1.close();
    for (let i = 0; i < 600 && fromB.length === 0; i++) await pause(50);
    expect(fromB).toEqual([{ ...ONE, port: undefined }]);
    await echoes(b, 'then as posted');
    expect(fromB).toEqual([{ ...ONE, port: undefined }, 'then as posted']);
    for (const w of [a, b, c]) await w.terminate();
  }, 30_000);

  it(`releases them ${HELD_AFTER_READY_MS} ms after the first is ready when no job has ended`, async () => {
    const { start } = counted();
    const early = new EarlyWorkers(2, start);
    const [a, b] = [early.take(), early.take()];
    const bAnswer = once(b, 'message');
    b.postMessage(ONE);
    await echoes(a, { type: 'ready' });
    expect((await bAnswer)[0]).toEqual(ONE);
    for (const w of [a, b]) await w.terminate();
  }, 30_000);

  it('holds nothing for an app of several components', async () => {
    const { start } = counted();
    const early = new EarlyWorkers(2, start);
    const [a, b] = [early.take(), early.take()];
    await echoes(b, TWO);
    await echoes(b, 'direct');
    for (const w of [a, b]) await w.terminate();
  }, 30_000);

  it('releases them at once when the first is lost, and never hands over a dead thread', async () => {
    const { start, threads } = counted((n) => n === 0);
    const early = new EarlyWorkers(2, start);
    await once(threads[0] as Worker, 'exit');
    const second = early.take();
    await echoes(second, ONE);
    // The dead one is not counted as handed over: the next take starts a thread.
    const fresh = early.take();
    expect(threads).toHaveLength(3);
    for (const w of [second, fresh]) {
      await echoes(w, 'alive');
      await w.terminate();
    }
  }, 30_000);

  it('releases them at once when the pool asks for more threads than it was made for', async () => {
    const { start } = counted();
    const early = new EarlyWorkers(2, start);
    const [a, b] = [early.take(), early.take()];
    const bAnswer = once(b, 'message');
    b.postMessage(ONE);
    const extra = early.take();
    expect((await bAnswer)[0]).toEqual(ONE);
    for (const w of [a, b, extra]) await w.terminate();
  }, 30_000);

  it('stops the threads never taken', async () => {
    const { start, threads } = counted();
    const early = new EarlyWorkers(2, start);
    const exited = threads.map((w) => once(w, 'exit'));
    await early.discard();
    await Promise.all(exited);
  }, 30_000);
});
