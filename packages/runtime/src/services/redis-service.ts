import { ConnectionLimit, type LimitedSemaphore, type Permit } from './connection-limit.js';
import { checkAddress, redactAddress, resolveAllowedAddress, type OutboundPolicy } from './outbound-address.js';
import { OwnedHandles } from './owned-handles.js';
import { RespConnection, RespServerError, type RespReply } from './resp-connection.js';
import { err, messageOf, ok, type Outcome } from './service-outcome.js';

/** `fermyon:spin/redis@2.0.0` `error` (the unversioned interface maps every failure to its one `error`). */
export type RedisError = { tag: 'invalid-address' } | { tag: 'too-many-connections' } | { tag: 'type-error' } | { tag: 'other'; val: string };
/** `redis-parameter` */
export type RedisParameter = { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };
/** `redis-result` */
export type RedisResult = { tag: 'nil' } | { tag: 'status'; val: string } | { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };

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
}

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
  /** The guest dropped its connection: back to the pool (unless its state changed) and the permit released. */
  drop(owner: string, handle: number): void;
  /** Drops everything `owner` holds (its request ended). */
  releaseOwner(owner: string): void;

  /** Connections open now: held by guests, and idle in the pool. */
  stats(): { held: number; idle: number };
  close(): Promise<void>;
}

/** Commands after which a connection keeps state another guest must not inherit. */
const STATEFUL = new Set(['SELECT', 'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'CLIENT', 'AUTH', 'HELLO', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR', 'RESET', 'READONLY', 'READWRITE', 'QUIT', 'SYNC', 'PSYNC', 'REPLCONF']);

interface Held {
  key: string;
  conn: RespConnection;
  permit: Permit;
  dirty: boolean;
}

/** Spin's limit on a reply held in host memory (spin_world::MAX_HOST_BUFFERED_BYTES). */
const MAX_REPLY_BYTES = 128 * 1024 * 1024;

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
  let closed = false;

  const connectTo = async (address: string): Promise<RespConnection> => {
    const url = new URL(address);
    const tls = url.protocol === 'rediss:';
    const host = url.hostname;
    const resolved = await resolveAllowedAddress(options, host);
    const dbText = url.pathname.replace(/^\//, '');
    const db = dbText === '' ? 0 : Number(dbText);
    if (!Number.isInteger(db) || db < 0) throw new TypeError(`invalid database number in the Redis address`);
    return RespConnection.connect({
      address: resolved,
      port: url.port === '' ? 6379 : Number(url.port),
      tls: tls ? { servername: host.replace(/^\[|\]$/g, '') } : undefined,
      username: url.username === '' ? undefined : decodeURIComponent(url.username),
      password: url.password === '' ? undefined : decodeURIComponent(url.password),
      db,
      connectTimeoutMs: options.connectTimeoutMs,
    });
  };

  const held = (owner: string, handle: number): Held | undefined => handles.get(owner, handle);
  const missing: Outcome<never, RedisError> = err({ tag: 'other', val: 'could not find connection for resource' });

  const run = async <T>(owner: string, handle: number, args: ReadonlyArray<string | Uint8Array | bigint>, map: (reply: RespReply) => T | RedisError): Promise<Outcome<T, RedisError>> => {
    const h = held(owner, handle);
    if (h === undefined) return missing;
    try {
      const reply = await h.conn.command(args);
      const value = map(reply);
      if (isRedisError(value)) return err(value);
      return ok(value);
    } catch (e) {
      if (e instanceof RespServerError && e.prefix === 'WRONGTYPE') return err({ tag: 'type-error' });
      return err({ tag: 'other', val: messageOf(e) });
    }
  };

  const release = (h: Held): void => {
    h.permit.release();
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

  return {
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
    publish: (owner, handle, channel, payload) => run(owner, handle, ['PUBLISH', channel, payload], () => undefined),
    get: (owner, handle, key) =>
      run(owner, handle, ['GET', key], (r) => {
        if (r.kind !== 'bulk') return typeError();
        if (r.value !== null && r.value.length > MAX_REPLY_BYTES) return tooLarge();
        return r.value ?? undefined;
      }),
    set: (owner, handle, key, value) => run(owner, handle, ['SET', key, value], () => undefined),
    incr: (owner, handle, key) => run(owner, handle, ['INCRBY', key, '1'], (r) => (r.kind === 'int' ? r.value : typeError())),
    del: (owner, handle, keys) => run(owner, handle, ['DEL', ...keys], (r) => (r.kind === 'int' ? Number(r.value) : typeError())),
    sadd: (owner, handle, key, values) => run(owner, handle, ['SADD', key, ...values], (r) => (r.kind === 'int' ? Number(r.value) : typeError())),
    srem: (owner, handle, key, values) => run(owner, handle, ['SREM', key, ...values], (r) => (r.kind === 'int' ? Number(r.value) : typeError())),
    smembers: (owner, handle, key) =>
      run(owner, handle, ['SMEMBERS', key], (r) => {
        if (r.kind !== 'array' || r.value === null) return typeError();
        const out: string[] = [];
        for (const item of r.value) {
          if (item.kind !== 'bulk' || item.value === null) return typeError();
          out.push(Buffer.from(item.value).toString('utf8'));
        }
        return out;
      }),
    execute(owner, handle, command, args) {
      const h = held(owner, handle);
      if (h !== undefined && STATEFUL.has(command.toUpperCase())) h.dirty = true;
      return run(owner, handle, [command, ...args.map((a) => a.val)], (r) => {
        const out: RedisResult[] = [];
        flatten(r, out);
        let size = 0;
        for (const item of out) size += item.tag === 'binary' || item.tag === 'status' ? item.val.length : 0;
        return size > MAX_REPLY_BYTES ? tooLarge() : out;
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
}

function typeError(): RedisError {
  return { tag: 'type-error' };
}

function tooLarge(): RedisError {
  return { tag: 'other', val: `query result exceeds limit of ${MAX_REPLY_BYTES} bytes` };
}

function isRedisError(value: unknown): value is RedisError {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value) && 'tag' in value;
}

/** Spin flattens nested arrays into one list of results (crates/factor-outbound-redis RedisResults). */
function flatten(reply: RespReply, out: RedisResult[]): void {
  switch (reply.kind) {
    case 'status':
      out.push({ tag: 'status', val: reply.value });
      return;
    case 'int':
      out.push({ tag: 'int64', val: reply.value });
      return;
    case 'bulk':
      out.push(reply.value === null ? { tag: 'nil' } : { tag: 'binary', val: reply.value });
      return;
    case 'array':
      if (reply.value === null) out.push({ tag: 'nil' });
      else for (const item of reply.value) flatten(item, out);
  }
}
