/**
 * What each operation of `fermyon:spin/redis@2.0.0`'s `connection` sends and how its reply becomes
 * the interface's value or error. No I/O: the main thread's Redis service and a worker writing on
 * a lent connection (`guest/spin/redis-lane.ts`) both go through it, so a guest gets the same
 * results either way.
 */
import { RespServerError, type RespArg, type RespReply } from './resp-wire.js';
import { messageOf } from './service-outcome.js';

/** `fermyon:spin/redis@2.0.0` `error` (the unversioned interface maps every failure to its one `error`). */
export type RedisError = { tag: 'invalid-address' } | { tag: 'too-many-connections' } | { tag: 'type-error' } | { tag: 'other'; val: string };
/** `redis-parameter` */
export type RedisParameter = { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };
/** `redis-result` */
export type RedisResult = { tag: 'nil' } | { tag: 'status'; val: string } | { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };

/** The connection's operations that run one command. */
export type RedisCommandOp = 'publish' | 'get' | 'set' | 'incr' | 'del' | 'sadd' | 'srem' | 'smembers' | 'execute';

/** Spin's limit on a reply held in host memory (spin_world::MAX_HOST_BUFFERED_BYTES). */
export const MAX_REPLY_BYTES = 128 * 1024 * 1024;

/** Commands after which a connection keeps state another guest must not inherit. */
const STATEFUL = new Set(['SELECT', 'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'CLIENT', 'AUTH', 'HELLO', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR', 'RESET', 'READONLY', 'READWRITE', 'QUIT', 'SYNC', 'PSYNC', 'REPLCONF']);

/** Whether `execute(command, …)` leaves session state on the connection (it is closed, not pooled, after). */
export function changesSession(command: string): boolean {
  return STATEFUL.has(command.toUpperCase());
}

/** The command an operation sends; `args` are the operation's arguments after the connection. */
export function redisCommand(op: RedisCommandOp, args: readonly unknown[]): RespArg[] {
  const a = args as [never, never];
  switch (op) {
    case 'publish':
      return ['PUBLISH', a[0], a[1]];
    case 'get':
      return ['GET', a[0]];
    case 'set':
      return ['SET', a[0], a[1]];
    case 'incr':
      return ['INCRBY', a[0], '1'];
    case 'del':
      return ['DEL', ...(a[0] as readonly string[])];
    case 'sadd':
      return ['SADD', a[0], ...(a[1] as readonly string[])];
    case 'srem':
      return ['SREM', a[0], ...(a[1] as readonly string[])];
    case 'smembers':
      return ['SMEMBERS', a[0]];
    case 'execute':
      return [a[0] as string, ...(a[1] as readonly RedisParameter[]).map((p) => p.val)];
  }
}

/** The interface's value for an operation's reply, or its error when the reply has the wrong shape. */
export function redisReplyValue(op: RedisCommandOp, r: RespReply): { value: unknown } | { error: RedisError } {
  switch (op) {
    case 'publish':
    case 'set':
      return { value: undefined };
    case 'get':
      if (r.kind !== 'bulk') return typeError();
      if (r.value !== null && r.value.length > MAX_REPLY_BYTES) return tooLarge();
      return { value: r.value ?? undefined };
    case 'incr':
      return r.kind === 'int' ? { value: r.value } : typeError();
    case 'del':
    case 'sadd':
    case 'srem':
      return r.kind === 'int' ? { value: Number(r.value) } : typeError();
    case 'smembers': {
      if (r.kind !== 'array' || r.value === null) return typeError();
      const out: string[] = [];
      for (const item of r.value) {
        if (item.kind !== 'bulk' || item.value === null) return typeError();
        out.push(Buffer.from(item.value).toString('utf8'));
      }
      return { value: out };
    }
    case 'execute': {
      const out: RedisResult[] = [];
      flatten(r, out);
      let size = 0;
      for (const item of out) size += item.tag === 'binary' || item.tag === 'status' ? item.val.length : 0;
      return size > MAX_REPLY_BYTES ? tooLarge() : { value: out };
    }
  }
}

/** The interface's error for a failed command: `type-error` for WRONGTYPE, else `other` with the message. */
export function redisFailure(e: unknown): RedisError {
  if (e instanceof RespServerError && e.prefix === 'WRONGTYPE') return { tag: 'type-error' };
  return { tag: 'other', val: messageOf(e) };
}

function typeError(): { error: RedisError } {
  return { error: { tag: 'type-error' } };
}

function tooLarge(): { error: RedisError } {
  return { error: { tag: 'other', val: `query result exceeds limit of ${MAX_REPLY_BYTES} bytes` } };
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
