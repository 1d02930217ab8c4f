import { KvError } from '../errors.js';

/**
 * jco's glue lowers a host function's `result` error from whatever the function throws:
 * a thrown non-Error value (or any value with a `payload` property) becomes the `err`
 * payload, and a thrown `Error` without `payload` traps the guest. So WIT errors are
 * thrown as plain variant objects, `{ tag: 'access-denied' }` or `{ tag: 'other', val }`.
 */
export type SpinKvError =
  | { tag: 'store-table-full' }
  | { tag: 'no-such-store' }
  | { tag: 'access-denied' }
  | { tag: 'other'; val: string };

/** `fermyon:spin/key-value` (unversioned) error variant. */
export type LegacyKvError =
  | { tag: 'store-table-full' }
  | { tag: 'no-such-store' }
  | { tag: 'access-denied' }
  | { tag: 'invalid-store' }
  | { tag: 'no-such-key' }
  | { tag: 'io'; val: string };

/** `wasi:keyvalue/store` error variant. */
export type WasiKvError = { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };

/** Converts a store failure to `other(message)`; anything that is not ours is a host bug and traps. */
export function otherError(err: unknown): { tag: 'other'; val: string } {
  if (err instanceof KvError) return { tag: 'other', val: err.message };
  throw err;
}
