import type { ServerCall } from '../channel/bridge-server.js';
import type { MqttService } from './mqtt-service.js';
import type { MysqlService } from './mysql-service.js';
import type { PostgresService } from './postgres-service.js';
import type { RedisService } from './redis-service.js';
import { err, type Outcome } from './service-outcome.js';

/** Channel method name of every outbound service call. */
export const OUTBOUND_SERVICES_METHOD = 'outbound.services';

/** One call from a worker: which service and operation, on whose behalf. */
export interface ServiceCallArgs {
  service: 'redis' | 'pg' | 'mysql' | 'mqtt';
  op: string;
  /** The worker's request scope; handles belong to it. */
  owner: string;
  /** The calling component (its allow-list applies to `open`). */
  componentId: string;
  args: unknown[];
}

/** The app's outbound services, as the channel handler reaches them. */
export interface OutboundServices {
  redis: RedisService;
  pg: PostgresService;
  mysql: MysqlService;
  mqtt: MqttService;
}

/**
 * Serves {@link OUTBOUND_SERVICES_METHOD}: runs the operation and returns its outcome (the
 * interface's error is a value, never a thrown error, so the guest gets it and does not trap).
 * `signal` aborts a wait for a connection permit when the worker's call is cancelled.
 */
export function outboundServicesHandler(services: OutboundServices): (rawArgs: unknown, call: ServerCall) => Promise<Outcome<unknown, unknown>> | Outcome<unknown, unknown> {
  const releaseOwner = (owner: string): void => {
    for (const s of [services.redis, services.pg, services.mysql, services.mqtt]) s.releaseOwner(owner);
  };
  // A request's handles are released when its lease ends, but a worker that dies after an open
  // and before starting the lease leaves them with no lease: until the lease starts, the
  // worker's connection closing releases them. Per connection, the owners with no lease yet.
  const unleased = new WeakMap<AbortSignal, Set<string>>();
  const opening = (call: ServerCall, owner: string): void => {
    const worker = call.connection;
    let owners = unleased.get(worker);
    if (owners === undefined) {
      const mine = new Set<string>();
      owners = mine;
      unleased.set(worker, mine);
      const release = (): void => {
        for (const o of mine) releaseOwner(o);
        mine.clear();
      };
      if (worker.aborted) queueMicrotask(release);
      else worker.addEventListener('abort', release, { once: true });
    }
    owners.add(owner);
  };
  const leased = (call: ServerCall, owner: string): void => {
    unleased.get(call.connection)?.delete(owner);
  };
  /**
   * An open that failed holds nothing: the owner needs no releasing for it (an earlier open of the
   * request has its lease). One that succeeded after the worker's connection closed is released at once.
   */
  const opened = <T extends Outcome<unknown, unknown>>(call: ServerCall, owner: string, outcome: Promise<T>): Promise<T> =>
    outcome.then((o) => {
      if (!o.ok) leased(call, owner);
      else if (call.connection.aborted) releaseOwner(owner);
      return o;
    });

  return (rawArgs, call) => {
    const { service, op, owner, componentId, args } = rawArgs as ServiceCallArgs;
    const a = args as [never, never, never, never];
    if (op === 'open' || op === 'open-lent') opening(call, owner);
    switch (service) {
      case 'redis': {
        const s = services.redis;
        switch (op) {
          case 'open':
            return opened(call, owner, s.open(owner, componentId, a[0], call.signal));
          case 'drop':
            s.drop(owner, a[0]);
            return { ok: true, value: undefined };
          case 'open-lent':
            return opened(call, owner, s.openLent(owner, componentId, a[0], call));
          case 'publish':
          case 'get':
          case 'set':
          case 'incr':
          case 'del':
          case 'sadd':
          case 'smembers':
          case 'srem':
          case 'execute':
            return (s[op] as (...x: unknown[]) => Promise<Outcome<unknown, unknown>>)(owner, ...a);
        }
        break;
      }
      case 'pg': {
        const s = services.pg;
        switch (op) {
          case 'open':
            return opened(call, owner, s.open(owner, componentId, a[0], { caRoot: a[1], signal: call.signal }));
          case 'open-lent':
            return opened(call, owner, s.openLent(owner, componentId, a[0], a[1], call));
          case 'check-ca-root':
            return s.checkCaRoot(a[0]);
          case 'query':
            return s.query(owner, a[0], a[1], a[2]);
          case 'execute':
            return s.execute(owner, a[0], a[1], a[2]);
          case 'drop':
            s.drop(owner, a[0]);
            return { ok: true, value: undefined };
        }
        break;
      }
      case 'mysql': {
        const s = services.mysql;
        switch (op) {
          case 'open':
            return opened(call, owner, s.open(owner, componentId, a[0], call.signal));
          case 'query':
            return s.query(owner, a[0], a[1], a[2]);
          case 'execute':
            return s.execute(owner, a[0], a[1], a[2]);
          case 'drop':
            s.drop(owner, a[0]);
            return { ok: true, value: undefined };
        }
        break;
      }
      case 'mqtt': {
        const s = services.mqtt;
        switch (op) {
          case 'open':
            return opened(call, owner, s.open(owner, componentId, a[0], a[1], a[2], a[3], call.signal));
          case 'publish':
            return s.publish(owner, a[0], a[1], a[2], a[3]);
          case 'drop':
            s.drop(owner, a[0]);
            return { ok: true, value: undefined };
        }
        break;
      }
    }
    if (op === 'lease') {
      // Held open by a request from its first connection on: when the request ends the worker
      // cancels it, and when the worker stops (or is terminated at a deadline) its channel closes;
      // either way the call is aborted and everything the request still holds is released.
      leased(call, owner);
      return new Promise((resolve) => {
        const release = (): void => {
          leased(call, owner); // opened after the lease started
          releaseOwner(owner);
          resolve({ ok: true, value: undefined });
        };
        if (call.signal.aborted) release();
        else call.signal.addEventListener('abort', release, { once: true });
      });
    }
    return err({ tag: 'other', val: `unknown outbound service operation ${service}.${op}` });
  };
}
