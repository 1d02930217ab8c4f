// Test worker: opens outbound connections with bare channel calls — no lease started, as a worker
// that dies between an open and its lease leaves them — tells the test, then waits to be stopped.
import { parentPort, workerData } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { OUTBOUND_SERVICES_METHOD, type ServiceCallArgs } from '../src/services/services-bridge.js';

const data = workerData as { endpoint: BridgeEndpoint; opens: Array<Pick<ServiceCallArgs, 'service' | 'args'>> };
const bridge = createSyncBridge(data.endpoint);
const outcomes = data.opens.map(({ service, args }) => bridge.call(OUTBOUND_SERVICES_METHOD, { service, op: 'open', owner: 'dies-before-lease/1/0', componentId: 'c', args } satisfies ServiceCallArgs));
parentPort?.postMessage(outcomes);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
