/**
 * A Redis key-value store served from the worker over a connection the main thread lends it
 * (`services/key-value.ts`, op `lend`): the worker sends the commands and reads the replies
 * itself (`redis-lane.ts`), so a get or a set wakes only Redis and this worker, where a bridge
 * call also woke the main thread twice. The commands and the key layout are those of kv-wit's
 * Redis store (`packages/kv-wit/src/redis-store.ts`: keys unprefixed in the URL's database,
 * values as they are), so what one path writes the other reads. Operations whose encoding lives
 * in kv-wit (list-keys' cursors, all-keys, the Lua of increment and compare-and-swap) stay calls
 * to the main thread's store, as does everything when the connection cannot be lent (TLS).
 */
import { KvBackendError, checkKey, checkValue, type KeyValueEntry, type KvLimits, type KvStoreSync } from '@spinel/kv-wit';
import type { SyncBridge } from '../../channel/sync-bridge.js';
import { KV_BRIDGE_METHOD, type KvBridgeArgs } from '../../services/key-value.js';
import type { KvLendGrant } from '../../services/key-value-lending.js';
import { RespServerError, type RespArg, type RespReply } from '../../services/resp-wire.js';
import { RedisLane } from './redis-lane.js';

/** A store over a lent connection, `fallback` for the rest; `end` gives the connection back. */
export interface LentKvStore extends KvStoreSync {
  end(): void;
}

/**
 * The store of Redis label `label` (`where`: its redacted URL, for messages), checking keys and
 * values against `limits` (the main thread's store's, from the worker's config). The connection is
 * asked for at the first operation and kept for the worker's life; one that broke is replaced at
 * the next operation, and a command whose connection broke under it is sent once more on a new
 * one (every command sent here is idempotent).
 */
export function lentKvStore(bridge: SyncBridge, label: string, where: string, fallback: KvStoreSync, limits: KvLimits): LentKvStore {
  let lane: RedisLane | undefined;
  /** The main thread said this label's connection cannot be lent (TLS): every operation is a call. */
  let lendable = true;
  const failed = (message: string, cause?: unknown): KvBackendError => new KvBackendError(`Redis key-value store "${label}" (${where}) failed: ${message}`, cause);

  const currentLane = (): RedisLane | undefined => {
    if (lane?.usable === true) return lane;
    lane?.end();
    lane = undefined;
    if (!lendable) return undefined;
    const call = bridge.start(KV_BRIDGE_METHOD, { label, op: 'lend', args: [] } satisfies KvBridgeArgs);
    const first = call.next();
    if (first?.kind === 'push') {
      const grant = first.data as KvLendGrant;
      if (grant.fd !== undefined && grant.guard !== undefined) {
        const made = new RedisLane(call, grant.fd, grant.guard);
        if (made.usable) return (lane = made);
        made.end();
        lendable = false;
        return undefined;
      }
    }
    call.cancel();
    if (first?.kind === 'error') throw failed(first.error.message, first.error);
    lendable = false;
    return undefined;
  };

  /** The reply of `args` on the lent connection, or undefined when there is none (then the caller asks `fallback`). */
  const command = (args: readonly RespArg[]): RespReply | undefined => {
    for (let attempt = 0; ; attempt++) {
      const now = currentLane();
      if (now === undefined) return undefined;
      try {
        return now.command(args);
      } catch (e) {
        if (e instanceof RespServerError) throw failed(e.message, e);
        // The connection broke (closed, reset, written to after the server left): a new one, once.
        now.end();
        lane = undefined;
        if (attempt > 0) throw failed(e instanceof Error ? e.message : String(e), e);
      }
    }
  };

  return {
    label,
    get(key) {
      checkKey(key, limits);
      const reply = command(['GET', key]);
      return reply === undefined ? fallback.get(key) : bulkValue(reply);
    },
    set(key, value) {
      checkKey(key, limits);
      checkValue(value, limits);
      if (command(['SET', key, value]) === undefined) fallback.set(key, value);
    },
    delete(key) {
      checkKey(key, limits);
      if (command(['DEL', key]) === undefined) fallback.delete(key);
    },
    exists(key) {
      checkKey(key, limits);
      const reply = command(['EXISTS', key]);
      return reply === undefined ? fallback.exists(key) : reply.kind === 'int' && reply.value === 1n;
    },
    getMany(keys) {
      for (const key of keys) checkKey(key, limits);
      if (keys.length === 0) return [];
      const reply = command(['MGET', ...keys]);
      if (reply === undefined) return fallback.getMany(keys);
      const values = reply.kind === 'array' ? (reply.value ?? []) : [];
      return keys.map((key, i): KeyValueEntry => [key, bulkValue(values[i])]);
    },
    setMany(entries) {
      for (const [key, value] of entries) {
        checkKey(key, limits);
        checkValue(value, limits);
      }
      if (entries.length === 0) return;
      // MSET: all-or-nothing and in order (a later pair for a key wins), as kv-wit's MULTI of SETs.
      if (command(['MSET', ...entries.flat()]) === undefined) fallback.setMany(entries);
    },
    deleteMany(keys) {
      for (const key of keys) checkKey(key, limits);
      if (keys.length === 0) return;
      if (command(['DEL', ...keys]) === undefined) fallback.deleteMany(keys);
    },
    getKeys: () => fallback.getKeys(),
    listKeys: (options) => fallback.listKeys(options),
    increment: (key, delta) => fallback.increment(key, delta),
    compareAndSwap: (key, expected, value) => fallback.compareAndSwap(key, expected, value),
    end() {
      lane?.end();
      lane = undefined;
    },
  };
}

function bulkValue(reply: RespReply | undefined): Uint8Array | undefined {
  return reply?.kind === 'bulk' && reply.value !== null ? reply.value : undefined;
}
