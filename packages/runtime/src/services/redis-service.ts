import type { ServerCall } from '../channel/bridge-server.js';
import { ConnectionLimit, type LimitedSemaphore, type Permit } from './connection-limit.js';
import { checkAddress, redactAddress, resolveAllowedAddress, type OutboundPolicy } from './outbound-address.js';
import { OwnedHandles } from './owned-handles.js';
import { changesSession, redisCommand, redisFailure, redisReplyValue, type RedisCommandOp, type RedisError, type RedisParameter, type RedisResult } from './redis-commands.js';
import { RespConnection, respConnectOptions } from './resp-connection.js';
import { err, messageOf, ok, type Outcome } from './service-outcome.js';

export type { RedisError, RedisParameter, RedisResult } from './redis-commands.js';

/** Options of {@link createRedisService}. */
export interface RedisServiceOptions extends OutboundPolicy {
  /** `[outbound_redis] max_connections`. @default unlimited */
  maxConnections?: number | undefined;
  /** `[outbound_networking] max_total_connections`, shared with the other services. */
  globalLimit?: LimitedSemaphore | undefined;
  /** Idle connections kept per address for the next `open`. @default 16 */
  maxIdlePerAddress?: number;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Whether a worker may write its commands on a connection itself ({@link RedisService.lend}).
   * @default true
   */
  lending?: boolean;
}

/**
 * What a worker gets first on an {@link RedisService.openLent} call: the connection's handle and,
 * when it is lent, the socket's descriptor and the write guard the worker must hold.
 */
export interface RedisOpenedGrant {
  handle: number;
  fd?: number;
  guard?: SharedArrayBuffer;
}

/** What a worker sends on a lending call: bytes it could not write itself, or that it ends with no command in flight. */
export type RedisLendingInput = Uint8Array | { clean: true };

/** Outbound Redis for every guest of one app: allow-list first, then pooled connections. */
export interface RedisService {
  /** Checks `address` against the component's allow-list, takes a permit and a connection. */
  open(owner: string, componentId: string, address: string, signal?: AbortSignal): Promise<Outcome<number, RedisError>>;
  publish(owner: string, handle: number, channel: string, payload: Uint8Array): Promise<Outcome<void, RedisError>>;
  get(owner: string, handle: number, key: string): Promise<Outcome<Uint8Array | undefined, RedisError>>;
  set(owner: string, handle: number, key: string, value: Uint8Array): Promise<Outcome<void, RedisError>>;
  incr(owner: string, handle: number, key: string): Promise<Outcome<bigint, RedisError>>;
  del(owner: string, handle: number, keys: readonly string[]): Promise<Outcome<number, RedisError>>;
  sadd(owner: string, handle: number, key: string, values: readonly string[]): Promise<Outcome<number, RedisError>>;
  smembers(owner: string, handle: number, key: string): Promise<Outcome<string[], RedisError>>;
  srem(owner: string, handle: number, key: string, values: readonly string[]): Promise<Outcome<number, RedisError>>;
  execute(owner: string, handle: number, command: string, args: readonly RedisParameter[]): Promise<Outcome<RedisResult[], RedisError>>;
  /**
   * {@link RedisService.open}, lending the connection to the calling worker for as long as `call`
   * runs: the call's first push is a {@link RedisOpenedGrant}; the worker writes commands and
   * reads replies itself (`channel/socket-lane.ts`), and a later push says the connection failed
   * (`{ failed }`). The lending ends, and the
   * connection is the main thread's again, when the worker cancels the call (or its channel
   * closes) or the connection is released. A connection that cannot be lent (TLS, lending off)
   * is pushed without `fd` and the call ends: the worker sends each operation as a call. An open
   * that fails is the call's error outcome.
   */
  openLent(owner: string, componentId: string, address: string, call: Pick<ServerCall, 'push' | 'incoming' | 'signal'>): Promise<Outcome<void, RedisError>>;
  /** Whether connections may be lent; see {@link RedisServiceOptions.lending}. */
  lending: boolean;
  /** The guest dropped its connection: back to the pool (unless its state changed) and the permit released. */
  drop(owner: string, handle: number): void;
  /** Drops everything `owner` holds (its request ended). */
  releaseOwner(owner: string): void;

  /** Connections open now: held by guests, and idle in the pool. */
  stats(): { held: number; idle: number };
  close(): Promise<void>;
}

interface Held {
  key: string;
  conn: RespConnection;
  permit: Permit;
  dirty: boolean;
  /** While lent to the worker: whether it said it has no command in flight (then the connection may be pooled). */
  lent?: { clean: boolean; end(): void } | undefined;
}

/**
 * Creates the Redis service of one app. Connections are pooled per address within this app
 * only; a connection whose session state a guest changed (SELECT, MULTI, CLIENT …) is closed
 * instead of being pooled.
 */
export function createRedisService(options: RedisServiceOptions): RedisService {
  const limit = new ConnectionLimit(options.maxConnections, options.globalLimit);
  const handles = new OwnedHandles<Held>();
  const idle = new Map<string, RespConnection[]>();
  const maxIdle = options.maxIdlePerAddress ?? 16;
  let lending = options.lending ?? true;
  let closed = false;

  const connectTo = async (address: string): Promise<RespConnection> => {
    const url = new URL(address);
    const resolved = await resolveAllowedAddress(options, url.hostname);
    return RespConnection.connect(respConnectOptions(url, resolved, options.connectTimeoutMs));
  };

  const held = (owner: string, handle: number): Held | undefined => handles.get(owner, handle);
  const missing: Outcome<never, RedisError> = err({ tag: 'other', val: 'could not find connection for resource' });

  const run = async (owner: string, handle: number, op: RedisCommandOp, args: readonly unknown[]): Promise<Outcome<never, RedisError>> => {
    const h = held(owner, handle);
    if (h === undefined) return missing;
    try {
      const result = redisReplyValue(op, await h.conn.command(redisCommand(op, args)));
      return 'error' in result ? err(result.error) : (ok(result.value) as Outcome<never, RedisError>);
    } catch (e) {
      return err(redisFailure(e));
    }
  };

  const release = (h: Held): void => {
    h.permit.release();
    if (h.lent !== undefined) {
      if (!h.lent.clean) h.dirty = true;
      h.lent.end();
    }
    if (h.dirty || !h.conn.open || closed) {
      h.conn.close();
      return;
    }
    let list = idle.get(h.key);
    if (list === undefined) {
      list = [];
      idle.set(h.key, list);
    }
    if (list.length >= maxIdle) h.conn.close();
    else list.push(h.conn);
  };

  const service: RedisService = {
    async open(owner, componentId, address, signal) {
      let url: URL;
      try {
        url = new URL(address);
      } catch {
        return err({ tag: 'invalid-address' });
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return err({ tag: 'invalid-address' });
      const check = checkAddress(options, componentId, address, 'redis');
      if (!check.allowed) return err({ tag: 'invalid-address' });
      let permit: Permit;
      try {
        permit = await limit.acquire(signal);
      } catch {
        return err({ tag: 'too-many-connections' });
      }
      try {
        const pool = idle.get(address);
        let conn = pool?.pop();
        while (conn !== undefined && !conn.open) conn = pool?.pop();
        conn ??= await connectTo(address);
        if (signal?.aborted === true || closed) {
          conn.close();
          permit.release();
          return err({ tag: 'other', val: 'cancelled' });
        }
        return ok(handles.add(owner, { key: address, conn, permit, dirty: false }));
      } catch (e) {
        permit.release();
        return err({ tag: 'other', val: `cannot connect to ${redactAddress(address)}: ${messageOf(e)}` });
      }
    },
    publish: (owner, handle, channel, payload) => run(owner, handle, 'publish', [channel, payload]),
    get: (owner, handle, key) => run(owner, handle, 'get', [key]),
    set: (owner, handle, key, value) => run(owner, handle, 'set', [key, value]),
    incr: (owner, handle, key) => run(owner, handle, 'incr', [key]),
    del: (owner, handle, keys) => run(owner, handle, 'del', [keys]),
    sadd: (owner, handle, key, values) => run(owner, handle, 'sadd', [key, values]),
    srem: (owner, handle, key, values) => run(owner, handle, 'srem', [key, values]),
    smembers: (owner, handle, key) => run(owner, handle, 'smembers', [key]),
    execute(owner, handle, command, args) {
      const h = held(owner, handle);
      if (h !== undefined && changesSession(command)) h.dirty = true;
      return run(owner, handle, 'execute', [command, args]);
    },
    get lending() {
      return lending;
    },
    set lending(on: boolean) {
      lending = on;
    },
    async openLent(owner, componentId, address, call) {
      const opened = await service.open(owner, componentId, address, call.signal);
      if (!opened.ok) return opened;
      const handle = opened.value;
      const h = held(owner, handle);
      const grant = lending && h !== undefined ? h.conn.lend((error) => call.push({ failed: messageOf(error) })) : undefined;
      if (h === undefined || grant === undefined) {
        call.push({ handle } satisfies RedisOpenedGrant);
        return ok(undefined);
      }
      return new Promise((resolve) => {
        const lent = {
          clean: false,
          end: (): void => {
            if (h.lent !== lent) return;
            h.lent = undefined;
            h.conn.reclaim(lent.clean && !h.dirty);
            call.signal.removeEventListener('abort', lent.end);
            resolve(ok(undefined));
          },
        };
        h.lent = lent;
        call.push({ handle, fd: grant.fd, guard: grant.guard.buffer as SharedArrayBuffer } satisfies RedisOpenedGrant);
        if (call.signal.aborted) lent.end();
        else call.signal.addEventListener('abort', lent.end, { once: true });
        void (async () => {
          for await (const input of call.incoming as AsyncIterable<RedisLendingInput>) {
            if (input instanceof Uint8Array) h.conn.writeLent(input);
            else if (input.clean === true) lent.clean = true;
            // A command the worker wrote may change the session: it says so by not ending clean.
          }
        })();
      });
    },
    drop(owner, handle) {
      const h = handles.remove(owner, handle);
      if (h !== undefined) release(h);
    },
    releaseOwner(owner) {
      for (const h of handles.removeOwner(owner)) release(h);
    },

    stats() {
      let n = 0;
      for (const list of idle.values()) n += list.length;
      return { held: handles.size, idle: n };
    },
    async close() {
      closed = true;
      for (const h of handles.removeAll()) release(h);
      for (const list of idle.values()) for (const c of list) c.close();
      idle.clear();
    },
  };
  return service;
}
