import { randomUUID } from 'node:crypto';
import type { SyncBridge } from '../../channel/sync-bridge.js';
import { OUTBOUND_SERVICES_METHOD, type ServiceCallArgs } from '../../services/services-bridge.js';
import type { Outcome } from '../../services/service-outcome.js';

/** The part of the worker's blocking channel the service client needs. */
export type BlockingCall = Pick<SyncBridge, 'call' | 'start'>;

/**
 * A component's way to the app's outbound services from a worker: each call blocks the worker
 * until the main thread has the outcome. Handles belong to the current request; those a guest
 * leaves open are released when the request ends.
 */
export interface ServiceClient {
  call<T, E>(service: ServiceCallArgs['service'], op: string, args: unknown[]): Outcome<T, E>;
  /** Records a handle the guest now holds (released at the end of the request if not dropped). */
  opened(): void;
  /** Starts a long call of this request (a lent connection); `onEnd` runs when the request ends, before its handles are released. */
  startLong(service: ServiceCallArgs['service'], op: string, args: unknown[], onEnd: () => void): ReturnType<SyncBridge['start']>;
  beginRequest(): void;
  endRequest(): void;
}

const workerToken = randomUUID();
let nextClient = 1;

/** A client for one component's imports in this worker. */
export function createServiceClient(channel: BlockingCall, componentId: string): ServiceClient {
  const clientId = nextClient++;
  let request = 0;
  let lease: { cancel(): void } | undefined;
  let longCalls: Array<() => void> = [];
  let ownerText = `${workerToken}/${clientId}/${request}`;
  const owner = (): string => ownerText;
  const end = (): void => {
    // Lent connections go back first (cleanly, with nothing in flight), then the rest is released.
    const ending = longCalls;
    longCalls = [];
    for (const onEnd of ending) {
      try {
        onEnd();
      } catch {
        // The channel is closed: the main thread has taken everything back itself.
      }
    }
    // Cancelling the lease releases, on the main thread, whatever the request did not drop.
    lease?.cancel();
    lease = undefined;
    request++;
    ownerText = `${workerToken}/${clientId}/${request}`;
  };
  return {
    call<T, E>(service: ServiceCallArgs['service'], op: string, args: unknown[]): Outcome<T, E> {
      return channel.call<Outcome<T, E>>(OUTBOUND_SERVICES_METHOD, { service, op, owner: owner(), componentId, args } satisfies ServiceCallArgs);
    },
    opened() {
      if (lease !== undefined) return;
      try {
        lease = channel.start(OUTBOUND_SERVICES_METHOD, { service: 'redis', op: 'lease', owner: owner(), componentId, args: [] } satisfies ServiceCallArgs);
      } catch {
        // The channel is closed: the main thread released everything itself.
      }
    },
    startLong(service, op, args, onEnd) {
      const call = channel.start(OUTBOUND_SERVICES_METHOD, { service, op, owner: owner(), componentId, args } satisfies ServiceCallArgs);
      longCalls.push(onEnd);
      return call;
    },
    beginRequest: end,
    endRequest: end,
  };
}
