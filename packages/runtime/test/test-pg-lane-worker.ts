// Test worker for lent PostgreSQL connections: a guest-shaped `spin:postgres/postgres@4.0.0`
// connection in a worker, over its blocking channel, running the steps it was given and posting
// each outcome.
import { parentPort, workerData } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { postgresImports } from '../src/guest/spin/postgres.js';
import { DISPOSE } from '../src/guest/spin/resource-dispose.js';
import { createServiceClient } from '../src/guest/spin/service-client.js';

/** One step: `query`/`execute` with a statement and parameters, `drop`, `open` (a new connection), or `post` (tells the test and waits for its reply). */
export type PgLaneStep = [op: string, ...args: unknown[]];

const data = workerData as { endpoint: BridgeEndpoint; address: string; steps: PgLaneStep[]; endRequest?: boolean };
const bridge = createSyncBridge(data.endpoint);
const client = createServiceClient(bridge, 'c');
client.beginRequest();
type Conn = Record<string | symbol, (...a: unknown[]) => unknown>;
const { Connection } = postgresImports(client, '4')['spin:postgres/postgres'] as { Connection: { open(address: string): Conn } };

const outcomes: unknown[] = [];
let conn = Connection.open(data.address);
for (const [op, ...args] of data.steps) {
  if (op === 'drop') {
    conn[DISPOSE]?.();
    outcomes.push('dropped');
    continue;
  }
  if (op === 'post') {
    outcomes.push(bridge.call('test.step', args[0]));
    continue;
  }
  try {
    if (op === 'open') {
      conn = Connection.open(data.address);
      outcomes.push('opened');
    } else outcomes.push({ ok: conn[op]?.(...args) });
  } catch (err) {
    outcomes.push({ error: (err as { payload?: unknown }).payload ?? String(err) });
  }
}
if (data.endRequest === true) client.endRequest();
parentPort?.postMessage(outcomes);
