import { createRequire } from 'node:module';
import { debuglog } from 'node:util';
import type { Redis } from 'ioredis';
import type * as IoRedis from 'ioredis';
import { decodeCursor, encodeCursor } from './cursor.js';
import {
  KvBackendError,
  KvCounterOverflowError,
  KvError,
  KvInvalidArgumentError,
  KvNotACounterError,
  KvStoreClosedError,
  redactUrl,
} from './errors.js';
import { encodeCounter } from './counter.js';
import { checkKey, checkValue, listLimit, resolveLimits } from './limits.js';
import type { KvLimits } from './limits.js';
import type { KeyPage, KeyValueEntry, KvStore, ListKeysOptions } from './store.js';

const debug = debuglog('spinel:kv');

/** Options of {@link openRedisKvStore}. */
export interface RedisKvStoreOptions {
  /** The label this store answers to. @default 'default' */
  label?: string;
  /** Key and value size limits. @default DEFAULT_KV_LIMITS */
  limits?: Partial<KvLimits>;
  /** Give up connecting after this long. @default 10000 */
  connectTimeoutMs?: number;
}

// Counters are Spin's 8-byte little-endian i64, added byte by byte in Lua: Redis's Lua
// numbers are doubles and would lose precision past 2^53. Overflow is refused, not wrapped.
const INCREMENT_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur then cur = string.rep(string.char(0), 8) end
if #cur ~= 8 then return redis.error_reply('SPINEL_NOT_A_COUNTER ' .. #cur) end
local d = ARGV[1]
local out = {}
local carry = 0
for i = 1, 8 do
  local s = string.byte(cur, i) + string.byte(d, i) + carry
  out[i] = s % 256
  carry = math.floor(s / 256)
end
local sa = string.byte(cur, 8) >= 128
local sd = string.byte(d, 8) >= 128
local sr = out[8] >= 128
if sa == sd and sr ~= sa then return redis.error_reply('SPINEL_OVERFLOW') end
local res = string.char(unpack(out))
redis.call('SET', KEYS[1], res)
return res
`;

// ARGV[1]: '1' when a value is expected (ARGV[2]), '0' when the key is expected absent.
const CAS_LUA = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

/** ioredis, once a Redis store was opened. */
let ioredis: typeof IoRedis | undefined;

interface ScriptedRedis extends Redis {
  spinelIncrementBuffer(key: string, delta: Buffer): Promise<Buffer>;
  spinelCas(key: string, mode: string, expected: Buffer, value: Buffer): Promise<number>;
}

interface ScanState {
  c: string;
  k: string[];
}

const isScanState = (s: unknown): s is ScanState =>
  typeof s === 'object' && s !== null && typeof (s as ScanState).c === 'string' && /^\d+$/.test((s as ScanState).c)
  && Array.isArray((s as ScanState).k) && (s as ScanState).k.every((k) => typeof k === 'string');

/**
 * Opens a Redis-backed store (Spin's `type = "redis"`). Keys are stored unprefixed in the
 * URL's database, as Spin does, so several labels with one URL share keys.
 * @param url `redis://[user:password@]host:port[/db]` (or `rediss://`)
 */
export function openRedisKvStore(url: string, options: RedisKvStoreOptions = {}): RedisKvStore {
  return new RedisKvStore(url, options);
}

/**
 * A store in Redis through ioredis: SCAN (never KEYS) for listing, MGET for get-many, a
 * MULTI pipeline for set-many/delete-many, Lua scripts for increment and compare-and-swap
 * so both are atomic on the server. Asynchronous only.
 */
export class RedisKvStore implements KvStore {
  readonly label: string;
  readonly #client: ScriptedRedis;
  readonly #limits: KvLimits;
  readonly #where: string;
  #closed = false;

  constructor(url: string, options: RedisKvStoreOptions = {}) {
    this.label = options.label ?? 'default';
    this.#limits = resolveLimits(options.limits);
    this.#where = redactUrl(url);
    let client: Redis;
    try {
      // Loaded with the first Redis store, not with the package: most apps use none.
      ioredis ??= createRequire(import.meta.url)('ioredis') as typeof IoRedis;
      client = new ioredis.Redis(url, {
        lazyConnect: true,
        connectTimeout: options.connectTimeoutMs ?? 10_000,
        maxRetriesPerRequest: 2,
      });
    } catch (err) {
      throw new KvBackendError(`invalid Redis url ${this.#where}; expected redis://host:port`, err);
    }
    // Without a listener ioredis prints connection errors itself; commands still fail with them.
    client.on('error', (err: Error) => debug('redis %s: %s', this.#where, err.message));
    client.defineCommand('spinelIncrement', { numberOfKeys: 1, lua: INCREMENT_LUA });
    client.defineCommand('spinelCas', { numberOfKeys: 1, lua: CAS_LUA });
    this.#client = client as ScriptedRedis;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key, this.#limits);
    return (await this.#run(() => this.#client.getBuffer(key))) ?? undefined;
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    checkKey(key, this.#limits);
    checkValue(value, this.#limits);
    await this.#run(() => this.#client.set(key, asBuffer(value)));
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.#limits);
    await this.#run(() => this.#client.del(key));
  }

  async exists(key: string): Promise<boolean> {
    checkKey(key, this.#limits);
    return (await this.#run(() => this.#client.exists(key))) === 1;
  }

  async getKeys(): Promise<string[]> {
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#run(() => this.#client.scan(cursor, 'COUNT', 1000));
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== '0');
    return [...keys];
  }

  /**
   * One page of keys through SCAN MATCH. Keys a SCAN batch returns beyond the page are
   * carried in the cursor, so pages never exceed the limit. Redis's guarantee holds: a key
   * present for the whole listing is returned, possibly more than once if Redis rehashes.
   */
  async listKeys(options: ListKeysOptions = {}): Promise<KeyPage> {
    const prefix = options.prefix ?? '';
    const limit = listLimit(options.limit);
    const state = options.cursor === undefined ? undefined : decodeCursor(options.cursor, 'redis', prefix, isScanState);
    const pending = state === undefined ? [] : [...state.k];
    let scan = state?.c ?? '0';
    let started = state !== undefined;
    const keys = pending.splice(0, limit);
    const pattern = `${escapeGlob(prefix)}*`;
    while (keys.length < limit && !(started && scan === '0')) {
      const count = Math.max(limit - keys.length, 10);
      const [next, batch] = await this.#run(() => this.#client.scan(scan, 'MATCH', pattern, 'COUNT', count));
      started = true;
      scan = next;
      const room = limit - keys.length;
      keys.push(...batch.slice(0, room));
      pending.push(...batch.slice(room));
    }
    const done = scan === '0' && pending.length === 0;
    return { keys, cursor: done ? undefined : encodeCursor('redis', prefix, { c: scan, k: pending }) };
  }

  async getMany(keys: readonly string[]): Promise<KeyValueEntry[]> {
    for (const key of keys) checkKey(key, this.#limits);
    if (keys.length === 0) return [];
    const values = await this.#run(() => this.#client.mgetBuffer(...keys));
    return keys.map((key, i) => [key, values[i] ?? undefined]);
  }

  async setMany(entries: ReadonlyArray<readonly [string, Uint8Array]>): Promise<void> {
    for (const [key, value] of entries) {
      checkKey(key, this.#limits);
      checkValue(value, this.#limits);
    }
    if (entries.length === 0) return;
    await this.#run(async () => {
      const multi = this.#client.multi();
      for (const [key, value] of entries) multi.set(key, asBuffer(value));
      checkExec(await multi.exec());
    });
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) checkKey(key, this.#limits);
    if (keys.length === 0) return;
    await this.#run(async () => {
      const multi = this.#client.multi();
      for (const key of keys) multi.del(key);
      checkExec(await multi.exec());
    });
  }

  async increment(key: string, delta: bigint): Promise<bigint> {
    checkKey(key, this.#limits);
    if (typeof delta !== 'bigint') throw new KvInvalidArgumentError(`delta must be a bigint, got ${typeof delta}`);
    const encoded = Buffer.from(encodeCounter(BigInt.asIntN(64, delta)));
    if (BigInt.asIntN(64, delta) !== delta) throw new KvCounterOverflowError(key);
    try {
      const result = await this.#run(() => this.#client.spinelIncrementBuffer(key, encoded));
      return result.readBigInt64LE(0);
    } catch (err) {
      const message = err instanceof KvBackendError && err.cause instanceof Error ? err.cause.message : '';
      const notCounter = /SPINEL_NOT_A_COUNTER (\d+)/.exec(message);
      if (notCounter !== null) throw new KvNotACounterError(key, Number(notCounter[1]));
      if (message.includes('SPINEL_OVERFLOW')) throw new KvCounterOverflowError(key);
      throw err;
    }
  }

  async compareAndSwap(key: string, expected: Uint8Array | undefined, value: Uint8Array): Promise<boolean> {
    checkKey(key, this.#limits);
    checkValue(value, this.#limits);
    const mode = expected === undefined ? '0' : '1';
    const swapped = await this.#run(() =>
      this.#client.spinelCas(key, mode, expected === undefined ? Buffer.alloc(0) : asBuffer(expected), asBuffer(value)));
    return swapped === 1;
  }

  /** Closes the connection; later calls fail with `KV_STORE_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // QUIT on a client that never connected (or is reconnecting) would wait for a connection.
    if (this.#client.status !== 'ready') {
      this.#client.disconnect();
      return;
    }
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  async #run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new KvStoreClosedError(`Redis store "${this.label}"`);
    try {
      return await op();
    } catch (err) {
      if (err instanceof KvError) throw err;
      throw new KvBackendError(`Redis key-value store "${this.label}" (${this.#where}) failed: ${(err as Error).message}`, err);
    }
  }
}

function checkExec(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err !== null) throw err;
}

function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
