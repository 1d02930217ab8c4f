// Test worker for key-value stores served over lent Redis connections: the worker's stores
// (guest/spin/key-value.ts) over its blocking channel, running the steps it was given on one
// label and posting each outcome.
import { Script, createContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { openWorkerKvStores } from '../src/guest/spin/key-value.js';
import type { KvWorkerConfig } from '../src/services/key-value.js';

/**
 * One step: a store operation with its arguments, `post` (tells the test, waits for its reply), or
 * `deadline` with a time in ms and then an operation: run under a vm timeout, as
 * `guest/serve-http.ts` runs a guest that has a deadline.
 */
export type KvLaneStep = [op: string, ...args: unknown[]];

const data = workerData as { endpoint: BridgeEndpoint; config: KvWorkerConfig; label: string; steps: KvLaneStep[] };
const bridge = createSyncBridge(data.endpoint);
const stores = openWorkerKvStores(data.config, bridge);
const store = stores.lookup(data.label) as unknown as Record<string, (...a: unknown[]) => unknown>;

const outcomes: unknown[] = [];
for (const [op, ...args] of data.steps) {
  if (op === 'post') {
    outcomes.push(bridge.call('test.step', args[0]));
    continue;
  }
  if (op === 'deadline') {
    const [ms, inner, ...rest] = args as [number, string, ...unknown[]];
    const context = createContext({ run: () => store[inner]?.(...rest) });
    try {
      outcomes.push({ ok: new Script('run()').runInContext(context, { timeout: ms }) });
    } catch (err) {
      outcomes.push({ error: { code: (err as { code?: unknown }).code } });
    }
    continue;
  }
  try {
    outcomes.push({ ok: store[op]?.(...args) });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    outcomes.push({ error: { code: e.code, message: e.message } });
  }
}
stores.close();
parentPort?.postMessage(outcomes);
