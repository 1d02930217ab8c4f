import type { KvHost } from '@spinel/kv-wit';

/** The key-value interfaces a guest imports (keys without versions, as the engine's registry uses them). */
const KV_INTERFACES = ['fermyon:spin/key-value', 'wasi:keyvalue/store', 'wasi:keyvalue/batch', 'wasi:keyvalue/atomics'] as const;

type Namespace = Record<string, unknown>;
type Fn = (...args: unknown[]) => unknown;
type ClassLike = Fn & { prototype: object };

/** Key-value imports built once, over a host that is replaced for every request. */
export interface RequestScopedKv {
  /** Import objects by interface key; the same objects for every request. */
  imports: Record<string, Namespace>;
  /** Starts a request: handles of earlier requests are already released. */
  begin(): void;
  /** Ends a request: every store and compare-and-swap handle it opened is released. */
  end(): void;
  /** Open handles of the current request (0 between requests). */
  openHandles(): { stores: number; cas: number };
}

/**
 * Key-value imports that do not change between requests, so the engine can keep one glue build
 * (and its import objects) for many fresh instances. jco's glue captures the resource classes
 * (`Store`, `Bucket`, `Cas`) once and checks host-returned handles with `instanceof`; here each
 * class is a stable facade whose static functions go to the current request's host, and every
 * request's host has its classes' prototypes chained under the facade's, so its handles pass the
 * check. Handles belong to the host of the request that opened them: that host is disposed when
 * the request ends, so using such a handle later fails with `no-such-store` (as after a close).
 */
export function createRequestScopedKv(makeHost: () => KvHost): RequestScopedKv {
  let current: KvHost | undefined;
  const facades = new Map<string, ClassLike>();
  const chained = new WeakSet<object>();

  const host = (): KvHost => {
    if (current === undefined) {
      current = makeHost();
      chain(current);
    }
    return current;
  };
  const namespaceOf = (h: KvHost, key: string): Namespace => ((h.imports as unknown as Record<string, Namespace>)[key] ?? {});

  /** Puts the host's resource classes' prototypes under the facades', once per host. */
  const chain = (h: KvHost): void => {
    for (const key of KV_INTERFACES) {
      const ns = namespaceOf(h, key);
      for (const [name, facade] of facades) {
        if (!name.startsWith(`${key}#`)) continue;
        const cls = ns[name.slice(key.length + 1)] as ClassLike | undefined;
        if (cls === undefined || chained.has(cls.prototype)) continue;
        Object.setPrototypeOf(cls.prototype, facade.prototype);
        chained.add(cls.prototype);
      }
    }
  };

  // The shapes come from one host made up front (and disposed at once: it never serves a guest).
  const shape = makeHost();
  const imports: Record<string, Namespace> = {};
  for (const key of KV_INTERFACES) {
    const src = namespaceOf(shape, key);
    const out: Namespace = {};
    for (const [name, value] of Object.entries(src)) {
      if (typeof value !== 'function') continue;
      if (/^[A-Z]/.test(name)) out[name] = facadeClass(key, name, value as ClassLike);
      else out[name] = (...args: unknown[]): unknown => (namespaceOf(host(), key)[name] as Fn)(...args);
    }
    imports[key] = out;
  }
  shape.dispose();

  function facadeClass(key: string, name: string, template: ClassLike): ClassLike {
    const facade = function resource(): never {
      throw new TypeError(`use ${name}'s static functions`);
    } as unknown as ClassLike;
    Object.defineProperty(facade, 'name', { value: name });
    for (const prop of Object.getOwnPropertyNames(template)) {
      if (prop === 'length' || prop === 'name' || prop === 'prototype') continue;
      if (typeof (template as unknown as Namespace)[prop] !== 'function') continue;
      Object.defineProperty(facade, prop, {
        value: (...args: unknown[]): unknown => ((namespaceOf(host(), key)[name] as unknown as Namespace)[prop] as Fn)(...args),
      });
    }
    // An object the glue makes from the prototype itself holds no handle: its methods reach the
    // current host's, which answer as for a closed handle.
    for (const prop of Reflect.ownKeys(template.prototype)) {
      if (prop === 'constructor') continue;
      const method = (template.prototype as Record<PropertyKey, unknown>)[prop];
      if (typeof method !== 'function') continue;
      Object.defineProperty(facade.prototype, prop, {
        value(this: unknown, ...args: unknown[]): unknown {
          const cls = namespaceOf(host(), key)[name] as ClassLike;
          return ((cls.prototype as Record<PropertyKey, unknown>)[prop] as Fn).apply(this, args);
        },
        writable: true,
        configurable: true,
      });
    }
    facades.set(`${key}#${name}`, facade);
    return facade;
  }

  const release = (): void => {
    const h = current;
    current = undefined;
    h?.dispose();
  };
  return {
    imports,
    begin: release,
    end: release,
    openHandles: () => current?.openHandles() ?? { stores: 0, cas: 0 },
  };
}
