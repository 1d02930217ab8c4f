import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { createBridgeServer, type BridgeHandler, type BridgeServer, type BridgeServerOptions, type WorkerConnection } from './bridge-server.js';
import { MessageChannel } from 'node:worker_threads';
import { SIGNAL_BYTES, SIGNAL_COUNTER, type BridgeEndpoint, type ToServer, type ToWorker } from './bridge-protocol.js';
import { firstMessage, startTsWorker } from '../../test/test-start-worker.js';

const servers: BridgeServer[] = [];
const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.terminate();
  for (const s of servers.splice(0)) s.close();
});

function serve(handlers: Record<string, BridgeHandler>, options?: BridgeServerOptions): BridgeServer {
  const server = createBridgeServer(handlers, options);
  servers.push(server);
  return server;
}

function run<T>(server: BridgeServer, scenario: string, args?: unknown): { worker: Worker; result: Promise<T>; endpoint: BridgeEndpoint } {
  const endpoint = server.connect();
  const worker = startTsWorker('./test-bridge-worker.ts', { endpoint, scenario, args }, [endpoint.port]);
  workers.push(worker);
  const result = firstMessage<T>(worker);
  result.catch(() => undefined); // a test that terminates the worker never awaits it
  return { worker, result, endpoint };
}

/** Messages the serving side has sent on a connection (each one wakes a worker that sleeps). */
function messagesSent(endpoint: BridgeEndpoint): number {
  return Atomics.load(new Int32Array(endpoint.signal), SIGNAL_COUNTER);
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

  it('hands input to onInput and runs onCancel listeners on cancel, without making a signal', async () => {
    const inputs: unknown[] = [];
    let cancelledBefore: boolean | undefined;
    let cancelledAfter: boolean | undefined;
    let removedRan = false;
    const server = serve({
      upload: (_args, call) =>
        new Promise((resolve) => {
          call.onInput((part) => {
            inputs.push(part);
            if (part === null) resolve(inputs.slice(0, -1).join('+'));
          });
        }),
      forever: (_args, call) =>
        new Promise((resolve) => {
          cancelledBefore = call.cancelled;
          // Removed at once: it must not run.
          call.onCancel(() => (removedRan = true))();
          call.onCancel(() => {
            cancelledAfter = call.cancelled;
            resolve(undefined);
          });
        }),
      echo: (args) => args,
    });
    expect(await run(server, 'upload', ['a', 'b']).result).toBe('a+b');
    expect(await run(server, 'cancel').result).toBe('after cancel');
    expect([cancelledBefore, cancelledAfter, removedRan]).toEqual([false, true, false]);
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

  it('reads the waits a worker counts itself on its connection, apart from its calls, until the connection closes', async () => {
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    const server = serve({ probe: () => ({ waits: connection.waits(), calls: connection.activeCalls() }), forever: () => new Promise(() => entered()) });
    // Read by the probe only once the worker runs.
    const connection: WorkerConnection = server.connectWorker();
    const worker = startTsWorker('./test-bridge-worker.ts', { endpoint: connection.endpoint, scenario: 'waiting' }, [connection.endpoint.port]);
    workers.push(worker);
    // Each probe sees itself as the one call running.
    expect(await firstMessage(worker)).toEqual({ both: { waits: 2, calls: 1 }, one: { waits: 1, calls: 1 } });
    await started;
    expect([connection.waits(), connection.activeCalls(), server.activeCalls]).toEqual([1, 1, 1]);
    // A worker stopped while it still counts a wait counts nothing once its connection closed.
    await worker.terminate();
    await delay(50);
    expect([connection.waits(), server.activeCalls]).toEqual([0, 0]);
  });

  it('wakes a blocked worker with RUNTIME_BRIDGE_CLOSED when the serving side closes', async () => {
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    const server = serve({ forever: () => new Promise(() => entered()) });
    const { worker, result } = run<{ code: string }>(server, 'blocked-forever');
    // Listened for from the start: the worker can exit before the result's await returns here.
    const exited = once(worker, 'exit').catch(() => undefined);
    await started;
    server.close();
    expect(await result).toEqual({ code: 'RUNTIME_BRIDGE_CLOSED' });
    await exited;
  });

  it('sends the events of one turn as one message, in order, and each at once when coalescing is off', async () => {
    const handlers: Record<string, BridgeHandler> = {
      stream: (args, call) => {
        for (let i = 0; i < (args as number); i++) call.push(`part ${i}`);
        return 'end';
      },
    };
    const together = run(serve(handlers), 'stream', 3);
    expect(await together.result).toEqual({ pushes: ['part 0', 'part 1', 'part 2'], result: 'end' });
    expect(messagesSent(together.endpoint)).toBe(1);
    const apart = run(serve(handlers, { coalesce: false }), 'stream', 3);
    expect(await apart.result).toEqual({ pushes: ['part 0', 'part 1', 'part 2'], result: 'end' });
    expect(messagesSent(apart.endpoint)).toBe(4);
  });

  it('delivers a push at the end of its turn while the handler still runs, moved buffers included', async () => {
    let finish!: (value: string) => void;
    const server = serve({
      held: (_args, call) => {
        const bytes = new Uint8Array([7, 8, 9]);
        call.push(bytes, [bytes.buffer]);
        return new Promise((resolve) => (finish = resolve));
      },
    });
    const endpoint = server.connect();
    const worker = startTsWorker('./test-bridge-worker.ts', { endpoint, scenario: 'push-then-wait' }, [endpoint.port]);
    workers.push(worker);
    const messages: unknown[] = [];
    const done = new Promise<unknown>((resolve, reject) => {
      worker.on('message', (m: unknown) => {
        messages.push(m);
        if (messages.length === 1) finish('finished'); // only once the worker has the push
        else resolve(m);
      });
      worker.once('error', reject);
    });
    expect(await done).toEqual({ pushes: [new Uint8Array([7, 8, 9])], result: 'finished' });
    expect(messages[0]).toEqual({ pushed: new Uint8Array([7, 8, 9]) });
  });

  it('sends no input for a call whose end arrived with its pushes, and sends it while the call runs', async () => {
    // The serving side played by hand, to see every message the worker sends.
    const serveByHand = (reply: (id: number, post: (m: ToWorker) => void, port: MessageChannel['port1']) => void): { endpoint: BridgeEndpoint; received: ToServer[] } => {
      const { port1, port2 } = new MessageChannel();
      const signal = new SharedArrayBuffer(SIGNAL_BYTES);
      const cells = new Int32Array(signal);
      const received: ToServer[] = [];
      const post = (m: ToWorker): void => {
        port1.postMessage(m);
        Atomics.add(cells, SIGNAL_COUNTER, 1);
        Atomics.notify(cells, SIGNAL_COUNTER);
      };
      port1.on('message', (m: ToServer) => {
        received.push(m);
        if (m.t === 'call') reply(m.id, post, port1);
      });
      port1.unref();
      return { endpoint: { port: port2, signal }, received };
    };
    const start = (endpoint: BridgeEndpoint): Promise<unknown> => {
      const worker = startTsWorker('./test-bridge-worker.ts', { endpoint, scenario: 'ack-each-push' }, [endpoint.port]);
      workers.push(worker);
      return firstMessage(worker);
    };

    const ended = serveByHand((id, post) => post({ t: 'batch', events: [{ t: 'push', id, data: 'chunk' }, { t: 'done', id, ok: true, value: 'end' }] }));
    expect(await start(ended.endpoint)).toEqual({ pushes: ['chunk'], result: 'end' });
    await delay(100);
    expect(ended.received.map((m) => m.t)).toEqual(['call']);

    const running = serveByHand((id, post, port) => {
      post({ t: 'push', id, data: 'chunk' });
      port.once('message', () => post({ t: 'done', id, ok: true, value: 'end' }));
    });
    expect(await start(running.endpoint)).toEqual({ pushes: ['chunk'], result: 'end' });
    expect(running.received).toEqual([{ t: 'call', id: 1, method: 'fetch', args: undefined }, { t: 'data', id: 1, data: { ack: 'chunk' } }]);
  });
  it('answers many sequential calls in order, and a worker waiting on a slow reply sleeps instead of polling', async () => {
    const server = serve({
      echo: (args) => args,
      slow: async (args) => {
        await delay(1500);
        return args;
      },
    });
    expect(await run(server, 'echo-many', 200).result).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // A worker that polled for its reply would be on the CPU for much of the 1.5 s.
    const result = await run<{ value: unknown; cpuMs: number; wallMs: number }>(server, 'cpu-during-call', 'slow reply').result;
    expect(result.value).toBe('slow reply');
    expect(result.wallMs).toBeGreaterThanOrEqual(1400);
    expect(result.cpuMs).toBeLessThan(100);
  });
});
