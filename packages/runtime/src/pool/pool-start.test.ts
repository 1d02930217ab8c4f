import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { ExecutorError } from '../errors.js';
import { startWorker, WorkerPool, type PoolOptions } from './worker-pool.js';

/** A thread that takes the pool's init and never answers it (a worker still booting). */
function neverReady(): Worker {
  return new Worker("require('node:worker_threads').parentPort.on('message', () => {});", { eval: true });
}

/** A thread that fails as it starts. */
function failing(): Worker {
  return new Worker("throw new Error('no such worker');", { eval: true });
}

function pool(workers: number, start: () => Worker): WorkerPool {
  const options: PoolOptions = {
    app: {},
    prepared: [],
    workers,
    maxWorkers: workers,
    requestTimeoutMs: undefined,
    queueTimeoutMs: 10_000,
    instanceReuse: 1,
    glueGenerations: 1,
    logDir: null,
    onGuestOutput: undefined,
    capabilities: undefined,
    startWorker: start,
  };
  return new WorkerPool(options);
}

describe('starting a pool', () => {
  it('is ready once one worker is, while the others still boot', async () => {
    let n = 0;
    // The first thread never gets ready; the second is a real worker.
    const p = pool(2, () => (n++ === 0 ? neverReady() : startWorker()));
    await p.start();
    expect(p.stats().workers).toBe(2);
    await p.close();
  }, 60_000);

  it('fails only when every worker failed to start', async () => {
    const p = pool(2, failing);
    let code: string | undefined;
    try {
      await p.start();
    } catch (err) {
      code = (err as ExecutorError).code;
    }
    expect(code).toBe('RUNTIME_WORKER_FAILED');
  }, 60_000);
});
