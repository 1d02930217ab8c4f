import { describe, expect, it } from 'vitest';
import { MemoryKvStore } from '../memory-store.js';
import { openSqliteKvDatabase } from '../sqlite-store.js';
import { createKvStoreManager } from '../store-manager.js';
import { createKvHost } from './create-kv-host.js';
import type { KvHostOptions, WasiCas } from './create-kv-host.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));

/** What the guest would see: the thrown variant payload, as jco's glue lowers it. */
function payload(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) throw new Error(`a host call threw an Error (the guest would trap): ${err.message}`);
    return err;
  }
  throw new Error('expected the call to fail');
}

function host(options: Partial<KvHostOptions> = {}) {
  const stores = new Map([['default', new MemoryKvStore('default')], ['other', new MemoryKvStore('other')]]);
  return { stores, ...createKvHost({ allowedLabels: ['default', 'unconfigured'], stores, ...options }) };
}

describe('fermyon:spin/key-value@2.0.0', () => {
  it('opens allowed labels and reads and writes through the Store resource', () => {
    const { imports } = host();
    const { Store } = imports['fermyon:spin/key-value@2.0.0'];
    const store = Store.open('default');
    expect(store).toBeInstanceOf(Store);
    expect(store.get('k')).toBeUndefined();
    store.set('k', bytes('v'));
    expect(text(store.get('k'))).toBe('v');
    expect(store.exists('k')).toBe(true);
    expect(store.getKeys()).toEqual(['k']);
    store.delete('k');
    store.delete('k');
    expect(store.exists('k')).toBe(false);
    expect(imports['fermyon:spin/key-value'].Store).toBe(Store);
  });

  it("answers with Spin's error variants", () => {
    const { imports } = host({ maxOpenStores: 2 });
    const { Store } = imports['fermyon:spin/key-value@2.0.0'];
    // Defined but not listed by the component: access-denied, as in Spin.
    expect(payload(() => Store.open('other'))).toEqual({ tag: 'access-denied' });
    expect(payload(() => Store.open('nope'))).toEqual({ tag: 'access-denied' });
    expect(payload(() => Store.open('unconfigured'))).toEqual({ tag: 'no-such-store' });
    Store.open('default');
    Store.open('default');
    expect(payload(() => Store.open('default'))).toEqual({ tag: 'store-table-full' });
  });

  it('accepts a store manager as the lookup: undefined labels are no-such-store, Redis-without-bridge is other', () => {
    const manager = createKvStoreManager({
      definitions: new Map([['remote', { type: 'redis', url: 'redis://127.0.0.1:1' }]]),
    });
    const { imports } = createKvHost({ allowedLabels: ['default', 'remote', 'ghost'], stores: (label) => manager.syncStore(label) });
    const { Store } = imports['fermyon:spin/key-value@2.0.0'];
    Store.open('default').set('k', bytes('v'));
    expect(payload(() => Store.open('ghost'))).toEqual({ tag: 'no-such-store' });
    expect((payload(() => Store.open('remote')) as { tag: string; val: string }).val).toMatch(/Redis, which is asynchronous/);
    expect((payload(() => imports['fermyon:spin/key-value'].open('remote')) as { tag: string }).tag).toBe('io');
    void manager.close();
  });

  it('turns store failures into other(message) naming the reason', () => {
    const stores = new Map([['default', new MemoryKvStore('default', { limits: { maxValueBytes: 3 } })]]);
    const { imports } = createKvHost({ allowedLabels: ['default'], stores });
    const store = imports['fermyon:spin/key-value@2.0.0'].Store.open('default');
    const err = payload(() => store.set('k', bytes('toolong'))) as { tag: string; val: string };
    expect(err.tag).toBe('other');
    expect(err.val).toMatch(/7 bytes, over the limit of 3/);
  });

  it('releases a dropped handle and refuses every handle once the instance is disposed', () => {
    const kv = host({ maxOpenStores: 1 });
    const { Store } = kv.imports['fermyon:spin/key-value@2.0.0'];
    const first = Store.open('default');
    expect(kv.openHandles().stores).toBe(1);
    // jco's glue calls Symbol.dispose (or Symbol.for('dispose')) when the guest drops the resource.
    (first as unknown as Record<symbol, () => void>)[Symbol.for('dispose')]?.();
    expect(kv.openHandles().stores).toBe(0);
    expect(payload(() => first.get('k'))).toEqual({ tag: 'no-such-store' });
    const second = Store.open('default');
    kv.dispose();
    kv.dispose();
    expect(kv.openHandles()).toEqual({ stores: 0, cas: 0 });
    expect(payload(() => second.get('k'))).toEqual({ tag: 'no-such-store' });
    expect(payload(() => Store.open('default'))).toEqual({ tag: 'no-such-store' });
  });

  it('keeps handle tables per instance: classes of one instance do not accept another instance', () => {
    const a = host();
    const b = host();
    expect(a.imports['fermyon:spin/key-value@2.0.0'].Store).not.toBe(b.imports['fermyon:spin/key-value@2.0.0'].Store);
    const store = a.imports['fermyon:spin/key-value@2.0.0'].Store.open('default');
    expect(store instanceof b.imports['fermyon:spin/key-value@2.0.0'].Store).toBe(false);
    b.dispose();
    store.set('still', bytes('works'));
    expect(text(store.get('still'))).toBe('works');
  });
});

describe('fermyon:spin/key-value (Spin 1.x)', () => {
  it('uses u32 handles, no-such-key for absent keys, invalid-store after close', () => {
    const { imports } = host();
    const kv = imports['fermyon:spin/key-value'];
    const handle = kv.open('default');
    expect(typeof handle).toBe('number');
    expect(payload(() => kv.get(handle, 'missing'))).toEqual({ tag: 'no-such-key' });
    kv.set(handle, 'k', bytes(''));
    expect(kv.get(handle, 'k').byteLength).toBe(0);
    expect(kv.exists(handle, 'k')).toBe(true);
    expect(kv.getKeys(handle)).toEqual(['k']);
    kv.delete(handle, 'k');
    kv.close(handle);
    kv.close(handle);
    expect(payload(() => kv.get(handle, 'k'))).toEqual({ tag: 'invalid-store' });
    expect(payload(() => kv.get(12345, 'k'))).toEqual({ tag: 'invalid-store' });
    expect(payload(() => kv.open('other'))).toEqual({ tag: 'access-denied' });
  });

  it('maps store failures to io(message)', () => {
    const stores = new Map([['default', new MemoryKvStore('default', { limits: { maxKeyBytes: 2 } })]]);
    const kv = createKvHost({ allowedLabels: ['default'], stores }).imports['fermyon:spin/key-value'];
    const handle = kv.open('default');
    expect((payload(() => kv.set(handle, 'long', bytes('v'))) as { tag: string }).tag).toBe('io');
  });
});

describe('wasi:keyvalue@0.2.0-draft2', () => {
  it('opens buckets and pages list-keys with a real cursor', () => {
    const { imports } = host({ listPageSize: 3 });
    const { open, Bucket } = imports['wasi:keyvalue/store@0.2.0-draft2'];
    const bucket = open('default');
    expect(bucket).toBeInstanceOf(Bucket);
    for (let i = 0; i < 7; i += 1) bucket.set(`k${i}`, bytes(String(i)));
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = bucket.listKeys(cursor);
      expect(page.keys.length).toBeLessThanOrEqual(3);
      keys.push(...page.keys);
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(keys.sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    expect((payload(() => bucket.listKeys('garbage')) as { tag: string; val: string }).val).toMatch(/invalid list cursor/);
    expect(payload(() => open('other'))).toEqual({ tag: 'access-denied' });
  });

  it('maps a full table to other("store table full")', () => {
    const { imports } = host({ maxOpenStores: 1 });
    const { open } = imports['wasi:keyvalue/store'];
    open('default');
    expect(payload(() => open('default'))).toEqual({ tag: 'other', val: 'store table full' });
  });

  it('batches: get-many in order with undefined for absent keys, set-many last-wins, delete-many', () => {
    const { imports } = host();
    const bucket = imports['wasi:keyvalue/store'].open('default');
    const { getMany, setMany, deleteMany } = imports['wasi:keyvalue/batch'];
    setMany(bucket, [['a', bytes('1')], ['b', bytes('2')], ['a', bytes('3')]]);
    expect(getMany(bucket, ['a', 'zz', 'b']).map(([k, v]) => [k, text(v)])).toEqual([['a', '3'], ['zz', undefined], ['b', '2']]);
    deleteMany(bucket, ['a', 'zz']);
    expect(getMany(bucket, ['a', 'b']).map(([, v]) => text(v))).toEqual([undefined, '2']);
    expect(getMany(bucket, [])).toEqual([]);
  });

  it('increments s64 counters as bigint and swaps with a fresh handle on conflict', () => {
    const db = openSqliteKvDatabase(':memory:');
    const { imports, openHandles } = createKvHost({ allowedLabels: ['default'], stores: new Map([['default', db.store('default')]]) });
    const bucket = imports['wasi:keyvalue/store'].open('default');
    const { increment, swap, Cas } = imports['wasi:keyvalue/atomics@0.2.0-draft2'];
    expect(increment(bucket, 'n', 10n)).toBe(10n);
    expect(increment(bucket, 'n', -3n)).toBe(7n);

    const cas = Cas.new(bucket, 'c');
    expect(cas).toBeInstanceOf(Cas);
    expect(cas.current()).toBeUndefined();
    swap(cas, bytes('one'));
    expect(text(bucket.get('c'))).toBe('one');
    expect(openHandles().cas).toBe(0);

    const stale = Cas.new(bucket, 'c');
    bucket.set('c', bytes('changed'));
    const failure = payload(() => swap(stale, bytes('lost'))) as { tag: string; val: WasiCas };
    expect(failure.tag).toBe('cas-failed');
    expect(failure.val).toBeInstanceOf(Cas);
    expect(text(failure.val.current())).toBe('changed');
    expect(text(bucket.get('c'))).toBe('changed');
    swap(failure.val, bytes('retried'));
    expect(text(bucket.get('c'))).toBe('retried');
    // A consumed handle is gone.
    expect(payload(() => swap(stale, bytes('x')))).toEqual({ tag: 'store-error', val: { tag: 'no-such-store' } });

    bucket.set('t', bytes('abc'));
    expect((payload(() => increment(bucket, 't', 1n)) as { val: string }).val).toMatch(/not an 8-byte little-endian counter/);
    db.close();
    expect((payload(() => bucket.get('c')) as { val: string }).val).toMatch(/closed/);
  });

  it('limits open compare-and-swap handles', () => {
    const { imports } = host({ maxOpenCas: 1 });
    const bucket = imports['wasi:keyvalue/store'].open('default');
    const { Cas } = imports['wasi:keyvalue/atomics'];
    Cas.new(bucket, 'a');
    expect(payload(() => Cas.new(bucket, 'b'))).toEqual({ tag: 'other', val: 'too many compare_and_swaps opened' });
  });
});
