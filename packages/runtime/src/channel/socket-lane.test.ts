import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Script, createContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { closeLane, createLaneGuard, laneClosed, laneEnter, laneHeld, laneLeave, releaseAbandonedLanes } from './socket-lane.js';

/** A worker thread that takes the guard, holds it `holdMs`, and gives it back (as a lane's system call does). */
function holdInWorker(guard: Int32Array, holdMs: number): { held: Promise<void>; done: Promise<unknown> } {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const lane = new URL('./socket-lane.ts', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = await import('node:worker_threads');
    (await import(${JSON.stringify(tsxApi)})).register();
    const { laneEnter, laneLeave } = await import(${JSON.stringify(lane)});
    if (!laneEnter(workerData.guard)) throw new Error('not entered');
    parentPort.postMessage('held');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
    laneLeave(workerData.guard);
  `;
  const worker = new Worker(`import(${JSON.stringify(`data:text/javascript,${encodeURIComponent(code)}`)})`, { eval: true, workerData: { guard, holdMs } });
  return {
    held: new Promise((resolve) => worker.once('message', () => resolve())),
    done: new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', resolve);
    }),
  };
}

describe('socket lane guard', () => {
  it('is left busy by a guest stopped at its deadline inside a lane call, until the worker releases what it abandoned', () => {
    const guard = createLaneGuard();
    // What serve-http.ts does with a guest past its deadline: a node:vm timeout stops it, and
    // its `finally` blocks (laneHeld's among them) never run.
    const context = createContext({ run: () => laneHeld(guard, () => { for (;;); }) });
    expect(() => new Script('run()').runInContext(context, { timeout: 50 })).toThrow(expect.objectContaining({ code: 'ERR_SCRIPT_EXECUTION_TIMEOUT' }));
    // Still busy: the main thread's close would now wait its full second.
    expect(laneHeld(guard, () => 'ran')).toBeUndefined();

    releaseAbandonedLanes();
    const started = Date.now();
    closeLane(guard);
    expect(Date.now() - started).toBeLessThan(500);
    expect(laneClosed(guard)).toBe(true);
    expect(laneHeld(guard, () => 'ran')).toBeUndefined();
  });

  it('closing waits for a call in progress on another thread, and is woken as soon as it ends', async () => {
    const guard = createLaneGuard();
    const holder = holdInWorker(guard, 200);
    await holder.held;
    const started = Date.now();
    closeLane(guard);
    const waited = Date.now() - started;
    // Held about 200 ms from when the worker took it; woken by the worker, not after the full second.
    expect(waited).toBeGreaterThan(100);
    expect(waited).toBeLessThan(900);
    expect(laneClosed(guard)).toBe(true);
    expect(laneEnter(guard)).toBe(false);
    await holder.done;
    expect(laneClosed(guard)).toBe(true);
  });

  it('enter and leave free the guard for the next call and for closing', () => {
    const guard = createLaneGuard();
    expect(laneEnter(guard)).toBe(true);
    expect(laneEnter(guard)).toBe(false);
    laneLeave(guard);
    expect(laneEnter(guard)).toBe(true);
    laneLeave(guard);
    const started = Date.now();
    closeLane(guard);
    expect(Date.now() - started).toBeLessThan(500);
    expect(laneEnter(guard)).toBe(false);
  });

  it('leaves a guard that is not held alone', () => {
    const guard = createLaneGuard();
    expect(laneHeld(guard, () => 'ran')).toBe('ran');
    releaseAbandonedLanes();
    expect(laneHeld(guard, () => 'again')).toBe('again');
    closeLane(guard);
    expect(laneClosed(guard)).toBe(true);
  });
});
