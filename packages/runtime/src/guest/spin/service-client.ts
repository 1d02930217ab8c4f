import { randomUUID } from 'node:crypto';
import { OUTBOUND_SERVICES_METHOD, type ServiceCallArgs } from '../../services/services-bridge.js';
import type { Outcome } from '../../services/service-outcome.js';

/** The part of the worker's blocking channel the service client needs. */
export interface BlockingCall {
  call<T = unknown>(method: string, args?: unknown): T;
  start(method: string, args?: unknown): { cancel(): void };
}

/**
 * A component's way to the app's outbound services from a worker: each call blocks the worker
 * until the main thread has the outcome. Handles belong to the current request; those a guest
 * leaves open are released when the request ends.
 */
export interface ServiceClient {
  call<T, E>(service: ServiceCallArgs['service'], op: string, args: unknown[]): Outcome<T, E>;
  /** Records a handle the guest now holds (released at the end of the request if not dropped). */
  opened(): void;
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
  const owner = (): string => `${workerToken}/${clientId}/${request}`;
  const end = (): void => {
    // Cancelling the lease releases, on the main thread, whatever the request did not drop.
    lease?.cancel();
    lease = undefined;
    request++;
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
    beginRequest: end,
    endRequest: end,
  };
}
