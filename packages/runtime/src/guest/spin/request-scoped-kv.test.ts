import { MemoryKvStore, createKvHost } from '@spinel/kv-wit';
import { describe, expect, it } from 'vitest';
import { createRequestScopedKv } from './request-scoped-kv.js';

type Handle = { get(key: string): Uint8Array | undefined; set(key: string, value: Uint8Array): void };
type StoreClass = { open(label: string): Handle };

function payload(fn: () => unknown): unknown {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err;
  }
}

describe('request-scoped key-value imports', () => {
  const store = new MemoryKvStore('default');
  const make = (): ReturnType<typeof createRequestScopedKv> => createRequestScopedKv(() => createKvHost({ allowedLabels: ['default'], stores: new Map([['default', store]]) }));
  const enc = new TextEncoder();

  it('keeps one import object across requests while a handle of one request is refused in the next', () => {
    const kv = make();
    const ns = kv.imports['fermyon:spin/key-value'] as unknown as { Store: StoreClass & (new () => never) };
    const Store = ns.Store;

    kv.begin();
    const first = Store.open('default');
    // jco's glue checks host-returned handles against the class it captured at instantiation.
    expect(first instanceof Store).toBe(true);
    first.set('k', enc.encode('v1'));
    expect(kv.openHandles().stores).toBe(1);
    kv.end();
    expect(kv.openHandles().stores).toBe(0);

    kv.begin();
    expect(kv.imports['fermyon:spin/key-value']).toBe(ns);
    expect(payload(() => first.get('k'))).toEqual({ tag: 'no-such-store' });
    const second = Store.open('default');
    expect(second instanceof Store).toBe(true);
    expect(new TextDecoder().decode(second.get('k'))).toBe('v1');
    expect(payload(() => Store.open('secret'))).toEqual({ tag: 'access-denied' });
    kv.end();
  });

  it('refuses a wasi:keyvalue bucket of an earlier request in the batch and atomics functions too', () => {
    const kv = make();
    const open = (kv.imports['wasi:keyvalue/store'] as { open(l: string): Handle }).open;
    const Bucket = (kv.imports['wasi:keyvalue/store'] as { Bucket: new () => never }).Bucket;
    const { getMany } = kv.imports['wasi:keyvalue/batch'] as { getMany(b: Handle, keys: string[]): unknown };
    const { increment } = kv.imports['wasi:keyvalue/atomics'] as { increment(b: Handle, k: string, d: bigint): bigint };
    kv.begin();
    const bucket = open('default');
    expect(bucket instanceof Bucket).toBe(true);
    expect(increment(bucket, 'n', 2n)).toBe(2n);
    kv.end();
    kv.begin();
    expect(payload(() => getMany(bucket, ['n']))).not.toBe('no error');
    expect(payload(() => increment(bucket, 'n', 1n))).not.toBe('no error');
    expect(increment(open('default'), 'n', 1n)).toBe(3n);
    kv.end();
  });

  it('makes compare-and-swap handles through the stable Cas class, valid within their request only', () => {
    const kv = make();
    const open = (kv.imports['wasi:keyvalue/store'] as { open(l: string): Handle }).open;
    const atomics = kv.imports['wasi:keyvalue/atomics'] as { Cas: { new: (b: Handle, k: string) => { current(): Uint8Array | undefined } }; swap(cas: unknown, v: Uint8Array): void };
    kv.begin();
    const bucket = open('default');
    bucket.set('c', enc.encode('10'));
    const cas = atomics.Cas.new(bucket, 'c');
    expect(cas instanceof (atomics.Cas as unknown as new () => never)).toBe(true);
    expect(new TextDecoder().decode(cas.current())).toBe('10');
    atomics.swap(cas, enc.encode('11'));
    expect(new TextDecoder().decode(bucket.get('c'))).toBe('11');
    const stale = atomics.Cas.new(bucket, 'c');
    kv.end();
    kv.begin();
    expect(payload(() => atomics.swap(stale, enc.encode('12')))).not.toBe('no error');
    expect(new TextDecoder().decode(open('default').get('c'))).toBe('11');
    kv.end();
  });

  it('does not let a guest construct a resource directly', () => {
    const kv = make();
    const Store = (kv.imports['fermyon:spin/key-value'] as unknown as { Store: new () => unknown }).Store;
    expect(() => new Store()).toThrow(TypeError);
  });
});
