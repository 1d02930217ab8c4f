import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { createBridgeServer, type BridgeHandler, type BridgeServer } from './bridge-server.js';
import { firstMessage, startTsWorker } from '../../test/test-start-worker.js';

const servers: BridgeServer[] = [];
const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.terminate();
  for (const s of servers.splice(0)) s.close();
});

function serve(handlers: Record<string, BridgeHandler>): BridgeServer {
  const server = createBridgeServer(handlers);
  servers.push(server);
  return server;
}

function run<T>(server: BridgeServer, scenario: string, args?: unknown): { worker: Worker; result: Promise<T> } {
  const endpoint = server.connect();
  const worker = startTsWorker('./test-bridge-worker.ts', { endpoint, scenario, args }, [endpoint.port]);
  workers.push(worker);
  const result = firstMessage<T>(worker);
  result.catch(() => undefined); // a test that terminates the worker never awaits it
  return { worker, result };
}

describe('blocking bridge over real worker threads', () => {
  it('returns a handler result to the blocked worker, bytes included', async () => {
    const server = serve({ echo: (args) => ({ got: args, bytes: new Uint8Array([1, 2, 3]) }) });
    const { result } = run(server, 'echo', { a: 'x', n: 5 });
    expect(await result).toEqual({ got: { a: 'x', n: 5 }, bytes: new Uint8Array([1, 2, 3]) });
  });

  it('blocks the worker thread (no event-loop turn) and lets many workers wait at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let release!: () => void;
    const allIn = new Promise<void>((resolve) => (release = resolve));
    const server = serve({
      sleep: async (args) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (inFlight === 4) release();
        // Every call waits until all four are in flight: they would deadlock if served one by one.
        await allIn;
        inFlight--;
        return args;
      },
    });
    const runs = [1, 2, 3, 4].map((n) => run<{ value: number; tickedWhileBlocked: boolean }>(server, 'sleep', n));
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.map((r) => r.value)).toEqual([1, 2, 3, 4]);
    expect(results.every((r) => !r.tickedWhileBlocked)).toBe(true);
    expect(maxInFlight).toBe(4);
  });

  it('rethrows a handler failure with its code', async () => {
    const server = serve({
      fail: () => {
        throw Object.assign(new Error('upstream said no'), { code: 'UPSTREAM_NO' });
      },
    });
    expect(await run(server, 'fail').result).toEqual({ code: 'RUNTIME_BRIDGE_CALL_FAILED', remoteCode: 'UPSTREAM_NO', message: 'upstream said no' });
  });

  it('streams pushes before the result, and carries uploads from the worker', async () => {
    const server = serve({
      stream: async (args, call) => {
        for (let i = 0; i < (args as number); i++) {
          call.push(`part ${i}`);
          await delay(1);
        }
        return 'end';
      },
      upload: async (_args, call) => {
        const parts: unknown[] = [];
        for await (const part of call.incoming) {
          if (part === null) break;
          parts.push(part);
        }
        return parts.join('+');
      },
    });
    expect(await run(server, 'stream', 3).result).toEqual({ pushes: ['part 0', 'part 1', 'part 2'], result: 'end' });
    expect(await run(server, 'upload', ['a', 'b', 'c']).result).toBe('a+b+c');
  });

  it('aborts a cancelled call and keeps the connection usable', async () => {
    let aborted = false;
    const server = serve({
      forever: (_args, call) =>
        new Promise((resolve) => {
          call.signal.addEventListener('abort', () => {
            aborted = true;
            resolve(undefined);
          });
        }),
      echo: (args) => args,
    });
    expect(await run(server, 'cancel').result).toBe('after cancel');
    expect(aborted).toBe(true);
    expect(server.activeCalls).toBe(0);
  });

  it('aborts the calls of a worker that is terminated while blocked', async () => {
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    let aborted!: () => void;
    const abortedOnce = new Promise<void>((resolve) => (aborted = resolve));
    const serverHandlers: Record<string, BridgeHandler> = {
      forever: (_args, call) =>
        new Promise(() => {
          entered();
          call.signal.addEventListener('abort', () => aborted());
        }),
    };
    const server = serve(serverHandlers);
    const { worker } = run(server, 'blocked-forever');
    await started;
    await worker.terminate();
    await abortedOnce;
    expect(server.activeCalls).toBe(0);
  });

  it('wakes a blocked worker with RUNTIME_BRIDGE_CLOSED when the serving side closes', async () => {
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    const server = serve({ forever: () => new Promise(() => entered()) });
    const { worker, result } = run<{ code: string }>(server, 'blocked-forever');
    await started;
    server.close();
    expect(await result).toEqual({ code: 'RUNTIME_BRIDGE_CLOSED' });
    await once(worker, 'exit').catch(() => undefined);
  });
});
