/** What the lent-connection tests (services/redis-lane.test.ts, services/pg-lane.test.ts) share: the channel and the worker. */
import type { Worker } from 'node:worker_threads';
import { createBridgeServer, type BridgeServer } from '../src/channel/bridge-server.js';
import { OUTBOUND_SERVICES_METHOD, outboundServicesHandler, type OutboundServices, type ServiceCallArgs } from '../src/services/services-bridge.js';
import { firstMessage, startTsWorker } from './test-start-worker.js';

/** Undone after each test, last first. */
export type Cleanups = Array<() => unknown>;

/**
 * `service` as the only outbound service on a channel (its `test.step` method calls `onStep`);
 * `ops` records every operation that reached the main thread.
 */
export function serveOnChannel(kind: 'redis' | 'pg', service: { close(): unknown }, cleanups: Cleanups, onStep: (what: unknown) => unknown = () => null): { bridge: BridgeServer; ops: string[] } {
  const none = { releaseOwner: () => undefined };
  const serve = outboundServicesHandler({ redis: none, pg: none, mysql: none, mqtt: none, [kind]: service } as unknown as OutboundServices);
  const ops: string[] = [];
  const bridge = createBridgeServer({
    [OUTBOUND_SERVICES_METHOD]: (args, call) => {
      ops.push((args as ServiceCallArgs).op);
      return serve(args, call);
    },
    'test.step': onStep,
  });
  cleanups.push(() => service.close(), () => bridge.close());
  return { bridge, ops };
}

/** The test worker `file` (under test/) on a new endpoint of `bridge`, given `data`; `outcomes` is its one message. */
export function runLaneWorker(file: string, bridge: BridgeServer, data: Record<string, unknown>, cleanups: Cleanups): { worker: Worker; outcomes: Promise<unknown[]> } {
  const endpoint = bridge.connect();
  const worker = startTsWorker(file, { endpoint, ...data }, [endpoint.port]);
  cleanups.push(() => worker.terminate());
  const outcomes = firstMessage<unknown[]>(worker);
  outcomes.catch(() => undefined); // a test that stops the worker never awaits it
  return { worker, outcomes };
}
