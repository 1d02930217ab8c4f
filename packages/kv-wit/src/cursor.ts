import { KvInvalidCursorError } from './errors.js';

/**
 * Cursors are opaque to callers: base64url of a small JSON document. Each backend puts
 * what it needs to resume in `state`; `prefix` binds the cursor to the listing it came from.
 */
interface CursorDocument<S> {
  v: 1;
  b: string;
  p: string;
  s: S;
}

/** Encodes a backend's resume state as an opaque cursor string. */
export function encodeCursor<S>(backend: string, prefix: string, state: S): string {
  const doc: CursorDocument<S> = { v: 1, b: backend, p: prefix, s: state };
  return Buffer.from(JSON.stringify(doc), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor} for the same backend and prefix. */
export function decodeCursor<S>(cursor: string, backend: string, prefix: string, isState: (s: unknown) => s is S): S {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new KvInvalidCursorError('not a cursor returned by list-keys');
  }
  if (typeof doc !== 'object' || doc === null) throw new KvInvalidCursorError('not a cursor returned by list-keys');
  const d = doc as Partial<CursorDocument<unknown>>;
  if (d.v !== 1 || typeof d.b !== 'string' || typeof d.p !== 'string') throw new KvInvalidCursorError('not a cursor returned by list-keys');
  if (d.b !== backend) throw new KvInvalidCursorError(`it was made by the ${d.b} backend, not ${backend}`);
  if (d.p !== prefix) throw new KvInvalidCursorError('it was made for a different prefix');
  if (!isState(d.s)) throw new KvInvalidCursorError('its state is malformed');
  return d.s;
}
