/**
 * `fermyon:spin/redis@2.0.0` (a `connection` resource) and Spin 1's unversioned
 * `fermyon:spin/redis` (functions taking the address each time), in jco's import shape, over
 * the main thread's Redis service. Both versions have the same import key in jco's glue, so one
 * object carries the resource class and the Spin 1 functions.
 */
import { failure } from '../wasi/result.js';
import type { RedisCommandOp, RedisError, RedisParameter, RedisResult } from '../../services/redis-commands.js';
import type { Outcome } from '../../services/service-outcome.js';
import { DISPOSE } from './resource-dispose.js';
import { RedisLane } from './redis-lane.js';
import { openLent, type LentOpened } from './lent-socket.js';
import type { ServiceClient } from './service-client.js';

function unwrap<T>(outcome: Outcome<T, RedisError>): T {
  if (!outcome.ok) throw failure(outcome.error);
  return outcome.value;
}

/** The import objects for a component's Redis interfaces. */
export function redisImports(client: ServiceClient): Record<string, Record<string, unknown>> {
  const call = <T>(op: string, args: unknown[]): Outcome<T, RedisError> => client.call<T, RedisError>('redis', op, args);
  class Connection {
    readonly #handle: number;
    readonly #lane: RedisLane | undefined;
    private constructor(opened: LentOpened<RedisLane>) {
      this.#handle = opened.handle;
      this.#lane = opened.lane;
    }
    static open(address: string): Connection {
      return new Connection(unwrap(openLent<RedisLane, RedisError>(client, 'redis', [address], (c, fd, guard) => new RedisLane(c, fd, guard))));
    }
    #run<T>(op: RedisCommandOp, args: unknown[]): T {
      const lane = this.#lane;
      return unwrap(lane !== undefined && lane.usable ? lane.run<T>(op, args) : call<T>(op, [this.#handle, ...args]));
    }
    publish(channel: string, payload: Uint8Array): void {
      this.#run('publish', [channel, payload]);
    }
    get(key: string): Uint8Array | undefined {
      return this.#run<Uint8Array | undefined>('get', [key]);
    }
    set(key: string, value: Uint8Array): void {
      this.#run('set', [key, value]);
    }
    incr(key: string): bigint {
      return this.#run<bigint>('incr', [key]);
    }
    del(keys: string[]): number {
      return this.#run<number>('del', [keys]);
    }
    sadd(key: string, values: string[]): number {
      return this.#run<number>('sadd', [key, values]);
    }
    smembers(key: string): string[] {
      return this.#run<string[]>('smembers', [key]);
    }
    srem(key: string, values: string[]): number {
      return this.#run<number>('srem', [key, values]);
    }
    execute(command: string, args: RedisParameter[]): RedisResult[] {
      return this.#run<RedisResult[]>('execute', [command, args]);
    }
    [DISPOSE](): void {
      this.#lane?.end();
      call('drop', [this.#handle]);
    }
  }

  /** Spin 1: every call opens a connection, runs, and closes it; any failure is the enum's `error`. */
  const once = <T>(address: string, op: string, args: unknown[]): T => {
    const opened = call<number>('open', [address]);
    if (!opened.ok) throw failure('error');
    client.opened();
    try {
      const r = call<T>(op, [opened.value, ...args]);
      if (!r.ok) throw failure('error');
      return r.value;
    } finally {
      call('drop', [opened.value]);
    }
  };

  return {
    'fermyon:spin/redis': {
      Connection,
      publish: (address: string, channel: string, payload: Uint8Array): void => void once(address, 'publish', [channel, payload]),
      get: (address: string, key: string): Uint8Array => once<Uint8Array | undefined>(address, 'get', [key]) ?? new Uint8Array(0),
      set: (address: string, key: string, value: Uint8Array): void => void once(address, 'set', [key, value]),
      incr: (address: string, key: string): bigint => once<bigint>(address, 'incr', [key]),
      del: (address: string, keys: string[]): bigint => BigInt(once<number>(address, 'del', [keys])),
      sadd: (address: string, key: string, values: string[]): bigint => BigInt(once<number>(address, 'sadd', [key, values])),
      smembers: (address: string, key: string): string[] => once<string[]>(address, 'smembers', [key]),
      srem: (address: string, key: string, values: string[]): bigint => BigInt(once<number>(address, 'srem', [key, values])),
      execute: (address: string, command: string, args: RedisParameter[]): RedisResult[] => once<RedisResult[]>(address, 'execute', [command, args]),
    },
    'fermyon:spin/redis-types': {},
  };
}
