// The supervisor of serving workers (pool/serving-workers.ts) on its own: what it does when a
// lost worker's replacement fails while the survivors serve. The threads are real worker threads
// running a small script that speaks the serve protocol (pool/job-protocol.ts) without HTTP, so a
// replacement can be made to fail a chosen number of times; serving itself is tested end to end in
// trigger/serve-from-workers.test.ts.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { RUNTIME_CHANNELS } from '../events.js';
import type { ServeHttpRequest } from './executor-types.js';
import type { ServeMessage } from './job-protocol.js';
import { ServingWorkers, type ServingHost } from './serving-workers.js';

// Answers `serve` like a serving worker: the first one "binds" (descriptor 100), a joiner listens
// on the donor's descriptor, unless the test set `fail` for it; `drain` is answered at once.
const SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', (msg) => {
  if (msg.type === 'serve') {
    if (workerData.fail) parentPort.postMessage({ type: 'serve-failed', code: 'RUNTIME_HTTP_LISTEN_FAILED', message: 'scripted failure ' + workerData.n });
    else parentPort.postMessage({ type: 'listening', fd: 'fd' in msg.listen ? msg.listen.fd : 100, address: '127.0.0.1', port: 4321 });
  } else if (msg.type === 'drain') parentPort.postMessage({ type: 'drained' });
});`;

interface Started {
  worker: Worker;
  at: number;
  listen: ServeMessage['listen'] | undefined;
}

/** A host whose threads fail their `serve` for the starts numbered in `failing` (0-based). */
function host(failing: Set<number>): ServingHost & { started: Started[] } {
  const started: Started[] = [];
  return {
    app: {},
    started,
    startServingThread(): Worker {
      const n = started.length;
      const worker = new Worker(SCRIPT, { eval: true, workerData: { fail: failing.has(n), n } });
      const entry: Started = { worker, at: performance.now(), listen: undefined };
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (msg: ServeMessage): void => {
        if (msg.type === 'serve') entry.listen = msg.listen;
        post(msg);
      };
      started.push(entry);
      return worker;
    },
    async stopThread(worker: Worker): Promise<void> {
      await worker.terminate();
    },
    appendLogs(): void {},
  };
}

const request = { app: {}, options: {} } as unknown as ServeHttpRequest;
const errors: unknown[] = [];
/** When each failure was reported (the back-off is measured from it, not from a thread's start). */
const errorsAt: number[] = [];
const onError = (message: unknown): void => {
  errors.push((message as { error: unknown }).error);
  errorsAt.push(performance.now());
};
let serving: ServingWorkers | undefined;

afterEach(async () => {
  unsubscribe(RUNTIME_CHANNELS.requestError, onError);
  errors.length = 0;
  errorsAt.length = 0;
  await serving?.close(0);
  serving = undefined;
});

async function until(check: () => boolean, ms: number): Promise<void> {
  for (const end = performance.now() + ms; !check() && performance.now() < end; ) await new Promise((r) => setTimeout(r, 10));
}

describe('ServingWorkers, a lost worker whose replacement fails', () => {
  it('tries again with a growing wait, reports each failure, and fills the slot from the survivor', async () => {
    // Starts 0 and 1 are the two workers; 2 and 3, the first two replacements, fail.
    const h = host(new Set([2, 3]));
    subscribe(RUNTIME_CHANNELS.requestError, onError);
    serving = new ServingWorkers(h, 2, request);
    await serving.start({ address: '127.0.0.1:0', findFreePort: false });
    expect(h.started).toHaveLength(2);
    expect(h.started[1]?.listen).toEqual({ fd: 100, bound: { address: '127.0.0.1', port: 4321 } });

    await h.started[0]?.worker.terminate();
    await until(() => h.started.length === 5, 10_000);
    expect(h.started).toHaveLength(5);
    // Each replacement listens through the survivor's descriptor, never by binding again.
    for (const s of h.started.slice(2)) expect(s.listen).toEqual({ fd: 100, bound: { address: '127.0.0.1', port: 4321 } });
    const [, , , second, third] = h.started.map((s) => s.at);
    // Started 1 s after the first failure was reported, 2 s after the second (timers may fire a
    // little early; the upper bound tells 2 s from the next step's 4 s on a slow machine).
    expect((second ?? 0) - (errorsAt[0] ?? 0)).toBeGreaterThanOrEqual(990);
    expect((second ?? 0) - (errorsAt[0] ?? 0)).toBeLessThan(1990);
    expect((third ?? 0) - (errorsAt[1] ?? 0)).toBeGreaterThanOrEqual(1990);
    expect((third ?? 0) - (errorsAt[1] ?? 0)).toBeLessThan(3990);
    expect(errors.map((e) => (e as Error).message)).toEqual(['scripted failure 2', 'scripted failure 3']);
    // Nothing more is started once the slot is filled.
    await new Promise((r) => setTimeout(r, 1200));
    expect(h.started).toHaveLength(5);
  }, 30_000);

  it('stops trying when closed during a wait, and close does not wait the wait out', async () => {
    const h = host(new Set([2, 3, 4, 5]));
    serving = new ServingWorkers(h, 2, request);
    await serving.start({ address: '127.0.0.1:0', findFreePort: false });
    await h.started[0]?.worker.terminate();
    await until(() => h.started.length === 3, 10_000);
    expect(h.started).toHaveLength(3);
    // In the 1 s wait after the failed replacement.
    await new Promise((r) => setTimeout(r, 100));
    const closing = performance.now();
    await serving.close(0);
    serving = undefined;
    expect(performance.now() - closing).toBeLessThan(800);
    await new Promise((r) => setTimeout(r, 1200));
    expect(h.started).toHaveLength(3);
  }, 30_000);
});
