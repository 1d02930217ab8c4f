// Helpers for Spin's host interfaces: key-value stores, variables and outbound HTTP.
// Errors from the host arrive as exceptions whose `payload` names what went wrong
// (`access-denied` when the store is not listed in key_value_stores, for example).
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { get } from 'fermyon:spin/variables@2.0.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A key-value store the component lists in `key_value_stores`. */
export class KvStore {
  /** @param {string} label */
  constructor(label) {
    this.label = label;
    this.store = call(() => Store.open(label), `open key-value store '${label}'`);
  }

  /** The raw value of a key, or undefined when it is absent. @param {string} key @returns {Uint8Array | undefined} */
  get(key) {
    return call(() => this.store.get(key), `get '${key}'`) ?? undefined;
  }

  /** A value as text. @param {string} key @returns {string | undefined} */
  getText(key) {
    const value = this.get(key);
    return value === undefined ? undefined : decoder.decode(value);
  }

  /** A value stored with setJson. @param {string} key @returns {unknown} */
  getJson(key) {
    const text = this.getText(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** Stores bytes or text. @param {string} key @param {Uint8Array | string} value */
  set(key, value) {
    call(() => this.store.set(key, typeof value === 'string' ? encoder.encode(value) : value), `set '${key}'`);
  }

  /** Stores a value as JSON. @param {string} key @param {unknown} value */
  setJson(key, value) {
    this.set(key, JSON.stringify(value));
  }

  /** @param {string} key */
  delete(key) {
    call(() => this.store.delete(key), `delete '${key}'`);
  }

  /** @param {string} key @returns {boolean} */
  exists(key) {
    return call(() => this.store.exists(key), `check '${key}'`);
  }

  /** @returns {string[]} */
  keys() {
    return call(() => this.store.getKeys(), 'list keys');
  }
}

/** Opens a key-value store (the component must list the label in key_value_stores). */
export function openKv(label = 'default') {
  return new KvStore(label);
}

/** A component variable (`[component.<id>.variables]`). @param {string} name @returns {string} */
export function variable(name) {
  return call(() => get(name), `read variable '${name}'`);
}

/**
 * fetch() that returns the parsed JSON body and throws on a non-2xx status. The host must be
 * listed in the component's allowed_outbound_hosts.
 * @param {string | URL} url @param {RequestInit} [init] @returns {Promise<unknown>}
 */
export async function fetchJson(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}`);
  return response.json();
}

/** Serves requests with `handler` (one request per instance, as Spin runs components). @param {(request: Request) => Response | Promise<Response>} handler */
export function serve(handler) {
  addEventListener('fetch', (event) => event.respondWith(Promise.resolve().then(() => handler(event.request))));
}

function call(fn, what) {
  try {
    return fn();
  } catch (err) {
    const payload = err?.payload;
    const detail = payload === undefined ? String(err) : typeof payload === 'object' ? `${payload.tag}${payload.val === undefined ? '' : `: ${payload.val}`}` : String(payload);
    throw new Error(`Could not ${what}: ${detail}`);
  }
}
