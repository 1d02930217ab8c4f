import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '@spinel/test-utils';
import type { RedisServer } from '@spinel/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KvLimits } from './limits.js';
import { MemoryKvStore } from './memory-store.js';
import { openRedisKvStore } from './redis-store.js';
import { openSqliteKvDatabase } from './sqlite-store.js';
import { toAsyncStore } from './store.js';
import type { KvStore } from './store.js';

/** Makes a fresh, empty store; `close` releases it. */
type Backend = (limits?: Partial<KvLimits>) => Promise<{ store: KvStore; close: () => Promise<void> }>;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

function conformance(name: string, backend: Backend): void {
  describe(`${name} store conformance`, () => {
    let store: KvStore;
    let close: (() => Promise<void>) | undefined;
    const open = async (limits?: Partial<KvLimits>): Promise<KvStore> => {
      await close?.();
      const made = await backend(limits);
      store = made.store;
      close = made.close;
      return store;
    };
    afterEach(async () => {
      await close?.();
      close = undefined;
    });

    it('gets absent keys as undefined, overwrites on set, deletes idempotently', async () => {
      await open();
      expect(await store.get('missing')).toBeUndefined();
      expect(await store.exists('missing')).toBe(false);
      await store.set('k', bytes('one'));
      await store.set('k', bytes('two'));
      expect(text(await store.get('k'))).toBe('two');
      expect(await store.exists('k')).toBe(true);
      await store.delete('k');
      await store.delete('k');
      expect(await store.get('k')).toBeUndefined();
    });

    it('round-trips any bytes: empty values, NUL bytes, all 256 byte values, empty and non-ASCII keys', async () => {
      await open();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.set('empty', new Uint8Array(0));
      await store.set('nul', Uint8Array.of(0, 0, 1, 0));
      await store.set('all', all);
      await store.set('', bytes('empty key'));
      await store.set('clé/ключ/🔑', bytes('unicode'));
      const empty = await store.get('empty');
      expect(empty).toBeDefined();
      expect(empty?.byteLength).toBe(0);
      expect(await store.exists('empty')).toBe(true);
      expect([...(await store.get('nul')) ?? []]).toEqual([0, 0, 1, 0]);
      expect(Buffer.from((await store.get('all')) ?? []).equals(Buffer.from(all))).toBe(true);
      expect(text(await store.get(''))).toBe('empty key');
      expect(text(await store.get('clé/ключ/🔑'))).toBe('unicode');
      expect((await store.getKeys()).sort()).toEqual(['', 'all', 'clé/ключ/🔑', 'empty', 'nul'].sort());
    });

    it('pages through keys with bounded pages and an opaque cursor, honouring a prefix', async () => {
      await open();
      const entries: Array<[string, Uint8Array]> = [];
      for (let i = 0; i < 1234; i += 1) entries.push([`item:${String(i).padStart(5, '0')}`, bytes(String(i))]);
      for (let i = 0; i < 50; i += 1) entries.push([`other:${i}`, bytes('x')]);
      entries.push(['item*[odd]?', bytes('glob characters in a key')]);
      await store.setMany(entries);

      const seen = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listKeys({ prefix: 'item:', limit: 100, cursor });
        expect(page.keys.length).toBeLessThanOrEqual(100);
        for (const key of page.keys) {
          expect(key.startsWith('item:')).toBe(true);
          seen.add(key);
        }
        cursor = page.cursor;
        pages += 1;
        expect(pages).toBeLessThan(100);
      } while (cursor !== undefined);
      expect(seen.size).toBe(1234);
      expect(pages).toBeGreaterThanOrEqual(13);

      const glob = await store.listKeys({ prefix: 'item*' });
      expect(glob.keys).toEqual(['item*[odd]?']);
      expect(glob.cursor).toBeUndefined();

      const everything = new Set<string>();
      cursor = undefined;
      do {
        const page = await store.listKeys({ limit: 1000, cursor });
        expect(page.keys.length).toBeLessThanOrEqual(1000);
        page.keys.forEach((k) => everything.add(k));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(everything.size).toBe(1285);

      expect((await store.listKeys({ prefix: 'nothing-' })).keys).toEqual([]);
      expect(await codeOf(store.listKeys({ cursor: 'not-a-cursor' }))).toBe('KV_INVALID_CURSOR');
      const first = await store.listKeys({ prefix: 'item:', limit: 10 });
      expect(first.cursor).toBeDefined();
      expect(await codeOf(store.listKeys({ prefix: 'other:', cursor: first.cursor }))).toBe('KV_INVALID_CURSOR');
      expect(await codeOf(store.listKeys({ limit: 0 }))).toBe('KV_INVALID_ARGUMENT');
    });

    it('get-many answers every key in order, duplicates included, undefined when absent', async () => {
      await open();
      await store.setMany([['a', bytes('A')], ['b', bytes('B')]]);
      const got = await store.getMany(['b', 'missing', 'a', 'b']);
      expect(got.map(([k, v]) => [k, text(v)])).toEqual([['b', 'B'], ['missing', undefined], ['a', 'A'], ['b', 'B']]);
      expect(await store.getMany([])).toEqual([]);
      await store.setMany([['empty', new Uint8Array(0)], ['nul', Uint8Array.of(0, 0)]]);
      const mixed = await store.getMany(['empty', 'a', 'missing', 'nul']);
      expect(mixed.map(([, v]) => (v === undefined ? undefined : [...v]))).toEqual([[], [65], undefined, [0, 0]]);
      expect((await store.getMany(['none', 'either'])).map(([, v]) => v)).toEqual([undefined, undefined]);
    });

    it('set-many applies in order (last duplicate wins) and writes nothing when one entry is invalid', async () => {
      await open({ maxValueBytes: 16 });
      await store.setMany([['d', bytes('first')], ['e', bytes('E')], ['d', bytes('last')]]);
      expect(text(await store.get('d'))).toBe('last');
      expect(await codeOf(store.setMany([['f', bytes('ok')], ['g', new Uint8Array(17)]]))).toBe('KV_VALUE_TOO_LARGE');
      expect(await store.exists('f')).toBe(false);
      await store.setMany([]);
    });

    it('delete-many skips absent keys and tolerates duplicates', async () => {
      await open();
      await store.setMany([['x', bytes('1')], ['y', bytes('2')], ['z', bytes('3')]]);
      await store.deleteMany(['x', 'absent', 'x', 'z']);
      expect((await store.getKeys()).sort()).toEqual(['y']);
      await store.deleteMany([]);
    });

    it('increments 8-byte little-endian counters, missing counts as 0, refuses non-counters and overflow', async () => {
      await open();
      expect(await store.increment('n', 5n)).toBe(5n);
      expect(await store.increment('n', -7n)).toBe(-2n);
      expect([...(await store.get('n')) ?? []]).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      // A counter written by Spin (LE bytes) is read as such.
      await store.set('spin', Uint8Array.of(42, 0, 0, 0, 0, 0, 0, 0));
      expect(await store.increment('spin', 0n)).toBe(42n);
      await store.set('big', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f));
      expect(await codeOf(store.increment('big', 1n))).toBe('KV_COUNTER_OVERFLOW');
      expect(await store.increment('big', -1n)).toBe((1n << 63n) - 2n);
      await store.set('text', bytes('abc'));
      expect(await codeOf(store.increment('text', 1n))).toBe('KV_NOT_A_COUNTER');
      expect(text(await store.get('text'))).toBe('abc');
    });

    it('compare-and-swap writes only when the value is still the expected one', async () => {
      await open();
      expect(await store.compareAndSwap('c', undefined, bytes('v1'))).toBe(true);
      expect(await store.compareAndSwap('c', undefined, bytes('again'))).toBe(false);
      expect(await store.compareAndSwap('c', bytes('wrong'), bytes('v2'))).toBe(false);
      expect(await store.compareAndSwap('c', bytes('v1'), bytes('v2'))).toBe(true);
      expect(text(await store.get('c'))).toBe('v2');
      await store.set('e', new Uint8Array(0));
      expect(await store.compareAndSwap('e', undefined, bytes('x'))).toBe(false);
      expect(await store.compareAndSwap('e', new Uint8Array(0), bytes('x'))).toBe(true);
    });

    it('enforces the key and value size limits with coded errors', async () => {
      await open({ maxKeyBytes: 8, maxValueBytes: 4 });
      expect(await codeOf(store.set('123456789', bytes('v')))).toBe('KV_KEY_TOO_LARGE');
      expect(await codeOf(store.set('ééééé', bytes('v')))).toBe('KV_KEY_TOO_LARGE');
      expect(await codeOf(store.set('k', bytes('12345')))).toBe('KV_VALUE_TOO_LARGE');
      expect(await codeOf(store.get('123456789'))).toBe('KV_KEY_TOO_LARGE');
      await store.set('12345678', bytes('1234'));
      expect(text(await store.get('12345678'))).toBe('1234');
    });
  });
}

conformance('memory', async (limits) => ({
  store: toAsyncStore(new MemoryKvStore('default', limits === undefined ? {} : { limits })),
  close: async () => {},
}));

conformance('sqlite', async (limits) => {
  const dir = await mkdtemp(join(tmpdir(), 'spinel-kv-'));
  const db = openSqliteKvDatabase(join(dir, 'nested', 'sqlite_key_value.db'), limits === undefined ? {} : { limits });
  return {
    store: toAsyncStore(db.store('default')),
    close: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('redis', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  it('fails with KV_BACKEND, and no password in the message, when Redis is unreachable', async () => {
    const store = openRedisKvStore('redis://user:hunter2@127.0.0.1:1/0', { connectTimeoutMs: 500 });
    const err = await store.get('k').then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(err?.code).toBe('KV_BACKEND');
    expect(err?.message).not.toContain('hunter2');
    await store.close();
    expect(await codeOf(store.get('k'))).toBe('KV_STORE_CLOSED');
  });

  conformance('redis', async (limits) => {
    await admin.flushall();
    const store = openRedisKvStore(server.url, limits === undefined ? {} : { limits });
    return { store, close: () => store.close() };
  });
});
