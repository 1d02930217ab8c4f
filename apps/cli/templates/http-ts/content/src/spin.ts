// Typed helpers for Spin's host interfaces: key-value stores, variables and outbound HTTP.
// Host errors are rethrown as Errors that say what failed (`access-denied` when the store
// is not listed in key_value_stores, for example).
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { get } from 'fermyon:spin/variables@2.0.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A key-value store the component lists in `key_value_stores`. */
export class KvStore {
  private readonly store: Store;

  constructor(readonly label: string) {
    this.store = call(() => Store.open(label), `open key-value store '${label}'`);
  }

  /** The raw value of a key, or undefined when it is absent. */
  get(key: string): Uint8Array | undefined {
    return call(() => this.store.get(key), `get '${key}'`) ?? undefined;
  }

  /** A value as text. */
  getText(key: string): string | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : decoder.decode(value);
  }

  /** A value stored with setJson; the type is the caller's promise. */
  getJson<T>(key: string): T | undefined {
    const text = this.getText(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /** Stores bytes or text. */
  set(key: string, value: Uint8Array | string): void {
    call(() => this.store.set(key, typeof value === 'string' ? encoder.encode(value) : value), `set '${key}'`);
  }

  /** Stores a value as JSON. */
  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    call(() => this.store.delete(key), `delete '${key}'`);
  }

  exists(key: string): boolean {
    return call(() => this.store.exists(key), `check '${key}'`);
  }

  keys(): string[] {
    return call(() => this.store.getKeys(), 'list keys');
  }
}

/** Opens a key-value store (the component must list the label in key_value_stores). */
export function openKv(label = 'default'): KvStore {
  return new KvStore(label);
}

/** A component variable (`[component.<id>.variables]`). */
export function variable(name: string): string {
  return call(() => get(name), `read variable '${name}'`);
}

/**
 * fetch() that returns the parsed JSON body and throws on a non-2xx status. The host must be
 * listed in the component's allowed_outbound_hosts.
 */
export async function fetchJson<T>(url: string | URL, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${String(url)} answered ${response.status}`);
  return (await response.json()) as T;
}

/** Serves requests with `handler` (one request per instance, as Spin runs components). */
export function serve(handler: (request: Request) => Response | Promise<Response>): void {
  addEventListener('fetch', (event) => {
    const fetchEvent = event as FetchEvent;
    fetchEvent.respondWith(Promise.resolve().then(() => handler(fetchEvent.request)));
  });
}

function call<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (err) {
    const payload = (err as { payload?: { tag: string; val?: unknown } | string }).payload;
    const detail = payload === undefined ? String(err) : typeof payload === 'object' ? `${payload.tag}${payload.val === undefined ? '' : `: ${String(payload.val)}`}` : payload;
    throw new Error(`Could not ${what}: ${detail}`);
  }
}
