// Test worker for lent Redis connections: a guest-shaped `fermyon:spin/redis@2.0.0` connection in
// a worker, over its blocking channel, running the steps it was given and posting each outcome.
import { parentPort, workerData } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { redisImports } from '../src/guest/spin/redis.js';
import { DISPOSE } from '../src/guest/spin/resource-dispose.js';
import { createServiceClient } from '../src/guest/spin/service-client.js';

/**
 * One step: an operation of the connection with its arguments (`drop` drops it; `post` tells the
 * test and waits for its reply; `idle` gives how many times the worker was about to block so far,
 * when a worker flushes the response it holds back; `sleep` blocks the worker for `args[0]` ms).
 */
export type LaneStep = [op: string, ...args: unknown[]];

const data = workerData as { endpoint: BridgeEndpoint; address: string; steps: LaneStep[]; endRequest?: boolean };
let idle = 0;
const bridge = createSyncBridge(data.endpoint, { beforeWait: () => idle++ });
const client = createServiceClient(bridge, 'c');
client.beginRequest();
const redis = redisImports(client)['fermyon:spin/redis'] as { Connection: { open(address: string): Record<string | symbol, (...a: unknown[]) => unknown> } };

const outcomes: unknown[] = [];
const conn = redis.Connection.open(data.address);
for (const [op, ...args] of data.steps) {
  if (op === 'drop') {
    conn[DISPOSE]?.();
    outcomes.push('dropped');
    continue;
  }
  if (op === 'idle') {
    outcomes.push(idle);
    continue;
  }
  if (op === 'sleep') {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(args[0]));
    outcomes.push('slept');
    continue;
  }
  if (op === 'post') {
    // Tells the test where the worker is; the test answers over the channel (a call it serves).
    outcomes.push(bridge.call('test.step', args[0]));
    continue;
  }
  try {
    outcomes.push({ ok: conn[op]?.(...args) });
  } catch (err) {
    outcomes.push({ error: (err as { payload?: unknown }).payload ?? String(err) });
  }
}
if (data.endRequest === true) client.endRequest();
parentPort?.postMessage(outcomes);
